"""A database outage in the middle of a request answers `503 database_unavailable` (as /ready does), not a 500 with a
traceback; a value the database refuses is a 4xx. The storage adapter raises the port's errors (ADR 0013)."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from dependency_injector import providers
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import make_url

from adapters.credentials import token_hash
from adapters.sql import SqlStorage
from application.errors import StorageRefused, StorageUnavailable
from application.ports import AuditQuery, UnitOfWork, User
from application.use_cases.create_ticket import Created, CreateTicket
from domain.picklists import Picklists
from domain.roles import Role
from entrypoints.asgi import create_app
from tests.http.conftest import AT, NO_DELAY, make_world
from tests.storage_backends import backend_params, execute_on_server, postgres_url, storage_backend
from tests.support import OPERATOR, PASSWORD, UseCaseWorld


async def _break(name: str, storage: SqlStorage, how: str) -> None:
    """Take the database away under the running app: the SQLite file's directory moved away, or the PostgreSQL
    database dropped (its connections terminated), or refusing connections as in a restart or failover (new ones
    refused with SQLSTATE 55000, the open ones terminated)."""
    url = make_url(storage.url)
    if name == "sqlite":
        assert url.database is not None
        folder = Path(url.database).parent
        shutil.move(folder, folder.with_name(folder.name + "-gone"))
        await storage.dispose()  # the pool's open connections would still read the moved file
        return
    server = postgres_url(name)
    assert server is not None
    if how == "refusing":
        await execute_on_server(server, f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS false')
        await execute_on_server(
            server, f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{url.database}'"
        )
        return
    await execute_on_server(server, f'DROP DATABASE "{url.database}" WITH (FORCE)')


async def _restore(name: str, storage: SqlStorage, how: str) -> None:
    url = make_url(storage.url)
    if name == "sqlite":
        folder = Path(str(url.database)).parent
        shutil.move(folder.with_name(folder.name + "-gone"), folder)
    elif how == "refusing":
        server = postgres_url(name)
        assert server is not None
        await execute_on_server(server, f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS true')


OUTAGES = [
    *(
        pytest.param(p.values[0], "gone", id=f"{p.id}-gone", marks=p.marks)
        for p in backend_params(("sqlite", "postgres"))
    ),
    *(
        pytest.param("postgres", "refusing", id="postgres-refusing", marks=p.marks)
        for p in backend_params(("postgres",))
    ),
]


@pytest.mark.parametrize(("name", "how"), OUTAGES)
async def test_a_database_outage_mid_run_answers_503_database_unavailable(
    name: str, how: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
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
            await _break(name, storage, how)
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
                await _restore(name, storage, how)
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


async def test_a_ticket_created_while_the_database_stops_answering_is_logged_then_healed_and_audited(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Autotask created the ticket, then the database failed before the link was stored: the caller gets the
    storage error (503 on HTTP), the log names the run and the ticket, and the next attempt once the reservation is
    stale links that ticket by its externalID (audited `reconciled`), never creating a second."""
    world = UseCaseWorld()
    await world.configure()
    await world.seed()
    down = False

    def storage(*, read_only: bool = False) -> UnitOfWork:
        if down:
            raise StorageUnavailable("the database did not answer")
        return world.uow(read_only=read_only)

    def outage_after(picklists: Callable[[], Awaitable[Picklists]]) -> Callable[[], Awaitable[Picklists]]:
        async def then_down() -> Picklists:
            nonlocal down
            answer = await picklists()
            down = True  # Autotask has answered; storing the link is next
            return answer

        return then_down

    deps = replace(world.deps_with(picklists=outage_after), uow=storage)
    caplog.set_level(logging.WARNING, logger="backupchecks.tickets")
    with pytest.raises(StorageUnavailable):
        await CreateTicket(deps).execute(OPERATOR, "run-1")
    (ticket_id,) = world.psa.tickets
    assert f"ticket {ticket_id} " in caplog.text and "run run-1" in caplog.text and PASSWORD not in caplog.text
    down = False
    world.clock.advance(121)
    healed = await CreateTicket(world.deps).execute(OPERATOR, "run-1")
    assert healed.outcome is Created.EXISTING and healed.link.ticket_id == ticket_id and len(world.psa.tickets) == 1
    async with world.uow() as uow:
        (record,) = await uow.audit.query(AuditQuery(action="ticket.create", run_id="run-1"))
    assert record.entry.details["reconciled"] is True and record.entry.details["ticket_id"] == ticket_id
