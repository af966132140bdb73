"""A database outage in the middle of a request answers `503 database_unavailable` (as /ready does), not a 500 with a
traceback; a value the database refuses is a 4xx. The storage adapter raises the port's errors (ADR 0013)."""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from dependency_injector import providers
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from adapters.credentials import token_hash
from adapters.sql import SqlStorage
from application.errors import StorageRefused, StorageUnavailable
from application.ports import User
from domain.roles import Role
from entrypoints.http.app import create_app
from tests.http.conftest import AT, NO_DELAY, make_world
from tests.storage_backends import backend_params, postgres_url, storage_backend


async def _break(name: str, storage: SqlStorage) -> None:
    """Take the database away under the running app: the SQLite file's directory moved away, or the PostgreSQL
    database dropped (its connections terminated)."""
    url = make_url(storage.url)
    if name == "sqlite":
        assert url.database is not None
        folder = Path(url.database).parent
        shutil.move(folder, folder.with_name(folder.name + "-gone"))
        await storage.dispose()  # the pool's open connections would still read the moved file
        return
    server = postgres_url(name)
    assert server is not None
    admin = create_async_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'DROP DATABASE "{url.database}" WITH (FORCE)'))
    finally:
        await admin.dispose()


def _restore(name: str, storage: SqlStorage) -> None:
    if name == "sqlite":
        folder = Path(str(make_url(storage.url).database)).parent
        shutil.move(folder.with_name(folder.name + "-gone"), folder)


@pytest.mark.parametrize("name", backend_params(("sqlite", "postgres")))
async def test_a_database_outage_mid_run_answers_503_database_unavailable(
    name: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with storage_backend(name) as storage:
        assert isinstance(storage, SqlStorage)
        world = make_world(tmp_path)
        world.container.storage.override(providers.Object(storage))
        async with storage() as uow:
            await uow.users.add(User("op", "op", Role.OPERATOR, None, token_hash(world.tokens[Role.OPERATOR]), AT))
            await uow.commit()
        await storage.dispose()  # the app serves from its own event loop: no connection of this one in the pool
        headers = world.auth(Role.OPERATOR)
        async with AsyncTestClient(create_app(world.container, throttle=NO_DELAY)) as client:
            before = await client.get("/api/v1/runs/r-1", headers=headers)
            assert before.status_code == 404 and before.json()["code"] == "run_not_found"
            await _break(name, storage)
            try:
                caplog.set_level(logging.ERROR)
                answers: list[Any] = [
                    await client.get("/api/v1/runs/r-1", headers=headers),
                    await client.get("/api/v1/runs", headers=headers),
                    await client.put("/api/v1/customers/c9", headers=headers, json={"name": "C"}),
                ]
                ready = await client.get("/ready")
                client.cookies.set("bc_session", "a-session-the-database-must-look-up")
                page = await client.get("/runs")
            finally:
                _restore(name, storage)
                # The app's connections belong to its own event loop: close them there, before it stops.
                await asyncio.to_thread(client.blocking_portal.call, storage.dispose)
        for answer in answers:
            assert answer.status_code == 503, answer.text
            assert answer.json()["code"] == StorageUnavailable.code == "database_unavailable"
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert "Traceback" not in answer.text and "sqlalchemy" not in answer.text.lower()
        assert ready.status_code == 503
        assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")  # the web pages too
        assert "The database is not answering" in page.text and "Traceback" not in page.text
        assert "unhandled error" not in caplog.text  # an outage is not a bug: no traceback logged as one


@pytest.mark.parametrize("name", backend_params(("sqlite", "postgres")))
async def test_a_refused_value_leaves_the_unit_of_work_as_storage_refused(name: str) -> None:
    async with storage_backend(name) as storage:
        assert isinstance(storage, SqlStorage)
        async with storage() as uow:
            await uow.users.add(User("u-1", "alice", Role.ADMIN, None, "hash-1", AT))
            await uow.commit()
        duplicate = sa.insert(
            sa.table("users", *(sa.column(c) for c in ("id", "username", "role", "token_hash", "created_at")))
        )
        with pytest.raises(StorageRefused) as refused:
            async with storage() as uow:
                await uow.execute(
                    duplicate.values(id="u-1", username="bob", role="admin", token_hash="hash-2", created_at=AT)
                )
        assert refused.value.code == "value_refused" and isinstance(refused.value, ValueError)
        assert "hash-2" not in str(refused.value)
        async with storage(read_only=True) as uow:  # nothing half-written
            assert [u.username for u in await uow.users.list()] == ["alice"]
