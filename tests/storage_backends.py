"""Fresh, migrated, empty stores for tests, one per backend: memory, SQLite (a temp file) and PostgreSQL (a uniquely
named database on the server in BACKUPCHECKS_TEST_POSTGRES_URL, dropped afterwards).

Alembic runs once per backend and test process, into a template (a SQLite file, a PostgreSQL template database dropped
when the process exits); each store is a copy of it (`CREATE DATABASE … TEMPLATE …`) with an installation id of its own,
as a migration would have given it. The migrations themselves are proven on empty databases (tests/contract/storage).

    @pytest.fixture(params=backend_params())
    async def uow_factory(request):
        async with storage_backend(request.param) as factory:
            yield factory

PostgreSQL runs whenever BACKUPCHECKS_TEST_POSTGRES_URL is set. If the server is unreachable the test skips, or fails
when BACKUPCHECKS_TEST_POSTGRES_REQUIRED=1.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from adapters.audit_anchor import FileAnchor
from adapters.audit_key import HeldAuditKeys
from adapters.memory import MemoryStore
from adapters.sql import SqlStorage, default_database_url
from adapters.sql.migrate import upgrade
from application.ports import UnitOfWorkFactory

POSTGRES_URL_ENV = "BACKUPCHECKS_TEST_POSTGRES_URL"
POSTGRES_REQUIRED_ENV = "BACKUPCHECKS_TEST_POSTGRES_REQUIRED"
ALL_BACKENDS = ("memory", "sqlite", "postgres")
SQL_BACKENDS = ("sqlite", "postgres")
PSYCOPG = "postgres-psycopg"
"""The PostgreSQL server of BACKUPCHECKS_TEST_POSTGRES_URL reached through psycopg 3 instead of the URL's driver."""
CONTRACT_BACKENDS = (*ALL_BACKENDS, PSYCOPG)
CONTRACT_SQL_BACKENDS = (*SQL_BACKENDS, PSYCOPG)
POSTGRES_HOWTO = (
    f"PostgreSQL tests are off: set {POSTGRES_URL_ENV}=postgresql+asyncpg://postgres@127.0.0.1:5432/postgres "
    f"(a server where this user may CREATE DATABASE) to run them, and {POSTGRES_REQUIRED_ENV}=1 to fail when it is down"
)


def postgres_url(name: str = "postgres") -> str | None:
    """The server URL for backend `name` ("postgres": as configured; PSYCOPG: the same with the psycopg driver)."""
    url = os.environ.get(POSTGRES_URL_ENV) or None
    if url is None or name != PSYCOPG:
        return url
    return make_url(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def backend_names(names: tuple[str, ...] = ALL_BACKENDS) -> list[str]:
    """The backends that can run here (PostgreSQL only when its URL is set)."""
    return [name for name in names if not name.startswith("postgres") or postgres_url()]


def backend_params(names: tuple[str, ...] = ALL_BACKENDS) -> list[Any]:
    """`pytest.param`s for `@pytest.fixture(params=…)` or `parametrize`: every name, PostgreSQL skipped with the
    reason how to enable it when its URL is unset."""
    skip = pytest.mark.skip(reason=POSTGRES_HOWTO)
    return [pytest.param(n, id=n, marks=[] if n in backend_names(names) else [skip]) for n in names]


async def execute_on_server(server: str, statement: str) -> None:
    """Run one statement on a PostgreSQL server outside any transaction (CREATE or DROP DATABASE)."""
    admin = create_async_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with admin.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await admin.dispose()


async def _create_postgres_database(name: str, prefix: str, template: str | None = None) -> tuple[str, str]:
    """(server URL, name) of a new database on backend `name`'s server: empty, or a copy of `template`. The test skips
    (or fails, when required) if the server is unusable."""
    if name not in ("postgres", PSYCOPG):
        raise ValueError(f"no database for backend {name!r}")
    server = postgres_url(name)
    if server is None:
        pytest.skip(POSTGRES_HOWTO)
    database = f"{prefix}_{uuid.uuid4().hex[:16]}"
    copy = "" if template is None else f' TEMPLATE "{template}"'
    try:
        await execute_on_server(server, f'CREATE DATABASE "{database}"{copy}')
    except Exception as error:  # the server is down, refuses us, or the user may not create databases
        message = f"PostgreSQL at {make_url(server).render_as_string(hide_password=True)} unusable: {error}"
        if os.environ.get(POSTGRES_REQUIRED_ENV) == "1":
            pytest.fail(message)
        pytest.skip(message)
    return server, database


def _database_url(server: str, database: str) -> str:
    return make_url(server).set(database=database).render_as_string(hide_password=False)


async def _drop_postgres_database(server: str, database: str) -> None:
    await execute_on_server(server, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@asynccontextmanager
async def empty_database(name: str, *, template: str | None = None) -> AsyncIterator[str]:
    """The URL of a new database for `sqlite` or `postgres`, removed afterwards: empty (unmigrated), or a copy of
    `template` (a SQLite file, a PostgreSQL database name)."""
    if name == "sqlite":
        with tempfile.TemporaryDirectory(prefix="backupchecks-test-") as directory:
            url = default_database_url(Path(directory))
            if template is not None:
                shutil.copyfile(template, make_url(url).database or "")
            yield url
        return
    server, database = await _create_postgres_database(name, "backupchecks_test", template)
    try:
        yield _database_url(server, database)
    finally:
        await _drop_postgres_database(server, database)


_TEMPLATES: dict[str, str] = {}
"""Backend name → its migrated template in this process (a SQLite file path, a PostgreSQL database name)."""


async def migrated_template(name: str) -> str:
    """This process's migrated template for backend `name`, made on first use and removed when the process exits."""
    if name not in _TEMPLATES:
        if name == "sqlite":
            directory = tempfile.mkdtemp(prefix="backupchecks-template-")
            atexit.register(shutil.rmtree, directory, True)
            url = default_database_url(Path(directory))
            await asyncio.to_thread(upgrade, url)
            _TEMPLATES[name] = make_url(url).database or ""
        else:
            server, database = await _create_postgres_database(name, f"backupchecks_template_{os.getpid()}")
            atexit.register(lambda: asyncio.run(_drop_postgres_database(server, database)))
            await asyncio.to_thread(upgrade, _database_url(server, database))
            _TEMPLATES[name] = database
    return _TEMPLATES[name]


@asynccontextmanager
async def storage_backend(name: str, anchor_file: Path | None = None) -> AsyncIterator[UnitOfWorkFactory]:
    """A fresh, migrated, empty store: a MemoryStore, or a SqlStorage (it has `.url` and `.engine`) on a copy of the
    migrated template with an installation id of its own; its audit chain anchored in `anchor_file` when given."""
    keys = HeldAuditKeys()
    anchor = None if anchor_file is None else FileAnchor(anchor_file, keys)
    if name == "memory":
        # MemoryUnitOfWork's concrete repo attributes vs. the Protocol's
        yield cast(UnitOfWorkFactory, MemoryStore(audit_keys=keys, audit_anchor=anchor))
        return
    async with empty_database(name, template=await migrated_template(name)) as url:
        storage = SqlStorage(url, keys, anchor)
        try:
            async with storage.engine.begin() as conn:
                await conn.execute(text("UPDATE autotask_settings SET installation_id = :id"), {"id": uuid.uuid4().hex})
            yield storage
        finally:
            await storage.dispose()
