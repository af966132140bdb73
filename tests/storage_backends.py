"""Fresh, migrated, empty stores for tests, one per backend: memory, SQLite (a temp file) and PostgreSQL (a uniquely
named database on the server in BACKUPCHECKS_TEST_POSTGRES_URL, dropped afterwards).

    @pytest.fixture(params=backend_params())
    async def uow_factory(request):
        async with storage_backend(request.param) as factory:
            yield factory

PostgreSQL runs whenever BACKUPCHECKS_TEST_POSTGRES_URL is set. If the server is unreachable the test skips, or fails
when BACKUPCHECKS_TEST_POSTGRES_REQUIRED=1.
"""

from __future__ import annotations

import asyncio
import os
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


@asynccontextmanager
async def empty_database(name: str) -> AsyncIterator[str]:
    """The URL of a new, empty (unmigrated) database for `sqlite` or `postgres`, removed afterwards."""
    if name == "sqlite":
        with tempfile.TemporaryDirectory(prefix="backupchecks-test-") as directory:
            yield default_database_url(Path(directory))
        return
    if name not in ("postgres", PSYCOPG):
        raise ValueError(f"no database for backend {name!r}")
    server = postgres_url(name)
    if server is None:
        pytest.skip(POSTGRES_HOWTO)
    admin = create_async_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    database = f"backupchecks_test_{uuid.uuid4().hex[:16]}"
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{database}"'))
    except Exception as error:  # the server is down, refuses us, or the user may not create databases
        await admin.dispose()
        message = f"PostgreSQL at {make_url(server).render_as_string(hide_password=True)} unusable: {error}"
        if os.environ.get(POSTGRES_REQUIRED_ENV) == "1":
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield make_url(server).set(database=database).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        await admin.dispose()


@asynccontextmanager
async def storage_backend(name: str) -> AsyncIterator[UnitOfWorkFactory]:
    """A fresh, migrated, empty store: a MemoryStore, or a SqlStorage (it has `.url` and `.engine`)."""
    if name == "memory":
        yield cast(UnitOfWorkFactory, MemoryStore())  # MemoryUnitOfWork's concrete repo attributes vs. the Protocol's
        return
    async with empty_database(name) as url:
        await asyncio.to_thread(upgrade, url)
        storage = SqlStorage(url)
        try:
            yield storage
        finally:
            await storage.dispose()
