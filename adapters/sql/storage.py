"""Engines, the unit of work and its factory."""

from __future__ import annotations

import asyncio
from contextlib import suppress
from contextvars import ContextVar, Token
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sqlalchemy import event, exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql import Executable, TableClause

from adapters.audit_key import held_keys
from adapters.files import private_file
from adapters.sql.errors import port_error, quiet_driver_logs, translated
from adapters.sql.repositories import (
    SqlAudit,
    SqlCustomers,
    SqlMappings,
    SqlRuns,
    SqlSettings,
    SqlTicketLinks,
    SqlUsers,
)
from application.ports import (
    AuditAnchorStore,
    AuditKeys,
    AuditLog,
    CustomerRepository,
    MappingRepository,
    RunRepository,
    SettingsRepository,
    TicketLinkRepository,
    UserRepository,
)
from domain.audit import AuditKey

SQLITE_BUSY_TIMEOUT_SECONDS = 30.0
"""How long a unit of work waits for SQLite's write lock before it gives up (StorageUnavailable)."""
SQLITE_LOCK_POLL_SECONDS = 0.05
"""SQLite waits for a lock inside the driver's thread, where a cancellation cannot reach it: each BEGIN IMMEDIATE
waits at most this long there, and the unit of work retries from the event loop until the busy timeout is spent."""
CLEANUP_TIMEOUT_SECONDS = 10.0
"""A rollback that takes longer (a hung server) throws its connection away instead."""
READ_ONLY = "backupchecks_read_only"
"""The connection execution option that marks a read-only unit of work."""
_open_sqlite: ContextVar[AsyncEngine | None] = ContextVar("open_sqlite_unit_of_work", default=None)
"""The SQLite engine on which this task already holds a unit of work: a second one would wait for the first's
write lock forever, so it is refused at once instead."""


def default_database_url(data_dir: Path) -> str:
    """The embedded default: one SQLite file in the data directory."""
    return f"sqlite+aiosqlite:///{Path(data_dir).resolve() / 'backupchecks.sqlite3'}"


def make_engine(url: str) -> AsyncEngine:
    """An engine for `url`. SQLite gets WAL, a busy timeout and `BEGIN IMMEDIATE` transactions: writers queue for
    the database lock at the start of a unit of work, so a check-then-insert can never race another connection.
    Read-only units of work (the READ_ONLY execution option) begin a deferred transaction instead: with WAL they read
    a snapshot beside the writer and never queue for its lock."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(parsed, hide_parameters=True, pool_pre_ping=True)
    quiet_driver_logs()
    if parsed.database and parsed.database != ":memory:" and Path(parsed.database).parent.is_dir():
        private_file(Path(parsed.database))  # SQLite gives the -wal and -shm files the database file's mode
    engine = create_async_engine(parsed, hide_parameters=True, connect_args={"timeout": SQLITE_LOCK_POLL_SECONDS})

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver must not BEGIN on its own; the "begin" hook does
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_LOCK_POLL_SECONDS * 1000)}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN" if connection.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

    return engine


class SqlUnitOfWork:
    """One transaction on one pooled connection. `async with uow:` begins it; leaving without `commit()` rolls it
    back. After `commit()` the next statement begins a new transaction (also rolled back unless committed).
    A database failure that leaves `async with` (or prevents it) is the storage port's error: StorageUnavailable
    when the database did not answer, StorageRefused when it refused a value. It builds its repositories and is their
    `Statements` (adapters.sql.statements)."""

    def __init__(
        self,
        engine: AsyncEngine,
        audit_keys: AuditKeys,
        anchor: AuditAnchorStore | None = None,
        *,
        read_only: bool = False,
    ) -> None:
        self._engine = engine
        self.read_only = read_only
        self._conn: AsyncConnection | None = None
        self._nesting: Token[AsyncEngine | None] | None = None
        self.committed = False
        self.customers: CustomerRepository = SqlCustomers(self)
        self.runs: RunRepository = SqlRuns(self)
        self.mappings: MappingRepository = SqlMappings(self)
        self.tickets: TicketLinkRepository = SqlTicketLinks(self)
        self.settings: SettingsRepository = SqlSettings(self)
        self.users: UserRepository = SqlUsers(self)
        self._audit = SqlAudit(self, audit_keys, anchor)
        self.audit: AuditLog = self._audit

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    def insert(self, table: TableClause) -> postgresql.Insert | sqlite.Insert:
        """A dialect INSERT (it knows ON CONFLICT)."""
        return postgresql.insert(table) if self.dialect == "postgresql" else sqlite.insert(table)

    async def execute(self, statement: Executable) -> CursorResult[Any]:
        if self._conn is None:
            raise RuntimeError("the unit of work is not open: use `async with uow:`")
        with translated():
            return await self._conn.execute(statement)

    async def __aenter__(self) -> Self:
        if self._conn is not None:
            raise RuntimeError("the unit of work is already open")
        if self.dialect == "sqlite":
            if _open_sqlite.get() is self._engine:
                raise RuntimeError("a unit of work is already open in this task: on SQLite a second would deadlock")
            self._nesting = _open_sqlite.set(self._engine)
        try:
            await self._open()
        except BaseException as error:
            self._forget_nesting()
            if (port := port_error(error)) is not None:
                raise port from error
            raise
        return self

    def _forget_nesting(self) -> None:
        if self._nesting is not None:
            _open_sqlite.reset(self._nesting)
            self._nesting = None

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SQLITE_BUSY_TIMEOUT_SECONDS
        with translated():
            while True:
                conn = await self._engine.connect()
                try:
                    if self.read_only:
                        await conn.execution_options(**{READ_ONLY: True})
                    await conn.begin()
                    break
                except BaseException as error:
                    await _finish(conn)
                    if not (_sqlite_busy(error) and loop.time() < deadline):
                        raise
                await asyncio.sleep(SQLITE_LOCK_POLL_SECONDS)
        self._conn, self.committed = conn, False

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        conn, self._conn = self._conn, None
        self._audit.ended(committed=False)
        self._forget_nesting()
        if conn is not None:
            try:
                with translated():
                    await _finish(conn)
            except Exception as error:
                if exc is None:
                    raise port_error(error) or error from None
        if (port := port_error(exc)) is not None:
            raise port from exc

    async def commit(self) -> None:
        if self._conn is None:
            raise RuntimeError("the unit of work is not open: use `async with uow:`")
        if self.read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        with translated():
            await self._conn.commit()
        self.committed = True
        self._audit.ended(committed=True)

    async def rollback(self) -> None:
        self._audit.ended(committed=False)
        if self._conn is not None:
            with translated():
                await self._conn.rollback()


def _sqlite_busy(error: BaseException) -> bool:
    """SQLite's "database is locked": another connection holds the write lock."""
    orig = getattr(error, "orig", None) if isinstance(error, exc.OperationalError) else None
    return getattr(orig, "sqlite_errorname", None) == "SQLITE_BUSY" or "database is locked" in str(orig or "")


async def _finish(conn: AsyncConnection) -> None:
    """Roll back and hand the connection back to the pool, to the end even when the task is cancelled meanwhile
    (the cancellation is raised afterwards): a cancelled unit of work never leaves a connection in a transaction or
    out of the pool. A rollback that fails or hangs throws the connection away instead."""
    cleanup = asyncio.ensure_future(_rollback_and_close(conn))
    cancelled: asyncio.CancelledError | None = None
    while not cleanup.done():
        try:
            await asyncio.shield(cleanup)
        except asyncio.CancelledError as error:
            cancelled = error
    if cancelled is not None:
        raise cancelled
    cleanup.result()


async def _rollback_and_close(conn: AsyncConnection) -> None:
    try:
        async with asyncio.timeout(CLEANUP_TIMEOUT_SECONDS):
            await conn.rollback()
            await conn.close()
    except BaseException:
        with suppress(Exception):
            await conn.invalidate()
            await conn.close()
        raise


class SqlStorage:
    """The factory of units of work for one database URL (a `UnitOfWorkFactory`). The engine is made here, not at
    import time; `await dispose()` closes its pool. The schema is made by `adapters.sql.migrate.upgrade`. `audit_keys`
    sign the audit chain: a key store, or one key (a fresh random key when none is given: a chain only this instance
    can check)."""

    def __init__(
        self, url: str, audit_keys: AuditKey | AuditKeys | None = None, anchor: AuditAnchorStore | None = None
    ) -> None:
        self.url = url
        self.audit_keys = held_keys(audit_keys)
        self.anchor = anchor
        self.engine = make_engine(url)

    def unit_of_work(self, *, read_only: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.audit_keys, self.anchor, read_only=read_only)

    __call__ = unit_of_work

    async def dispose(self) -> None:
        await self.engine.dispose()
