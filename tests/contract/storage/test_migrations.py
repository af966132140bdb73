"""Migrations up and down, the schema they make against the tables the code uses, the audit log's guards, and
errors that never leak SQLAlchemy."""

from __future__ import annotations

import asyncio
import logging
import traceback
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.sql import SqlStorage, rows
from adapters.sql.migrate import downgrade, upgrade
from adapters.sql.tables import audit_records, metadata
from domain.audit import GENESIS_HASH, AuditRecord, unkeyed_hash, verify_chain
from tests.contract.storage import samples as s
from tests.storage_backends import CONTRACT_SQL_BACKENDS, PSYCOPG, backend_params, empty_database, storage_backend

SQL = backend_params(CONTRACT_SQL_BACKENDS)
APP_TABLES = {t.name for t in metadata.sorted_tables}


async def table_names(url: str) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names())) - {"alembic_version"}
    finally:
        await engine.dispose()


async def schema_diff(url: str) -> list[Any]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c, opts={"compare_type": True}), metadata)
            )
    finally:
        await engine.dispose()


@pytest.mark.parametrize("name", SQL)
async def test_empty_to_head_to_base_to_head(name: str) -> None:
    async with empty_database(name) as url:
        assert await table_names(url) == set()
        await asyncio.to_thread(upgrade, url)
        assert await table_names(url) == APP_TABLES
        assert await schema_diff(url) == []  # the migration makes exactly the tables the code uses
        storage = SqlStorage(url)
        try:
            async with storage() as uow:
                first_installation = (await uow.settings.get()).installation_id
                await uow.customers.save(s.customer())
                await uow.audit.append(s.entry())
                await uow.commit()
        finally:
            await storage.dispose()
        await asyncio.to_thread(downgrade, url, "base")
        assert await table_names(url) == set()
        await asyncio.to_thread(upgrade, url)
        await asyncio.to_thread(upgrade, url)  # already at head: nothing to do
        storage = SqlStorage(url)
        try:
            async with storage() as uow:
                assert await uow.customers.get("c-1") is None
                assert await uow.audit.all() == []
                assert (await uow.settings.get()).installation_id != first_installation
        finally:
            await storage.dispose()


@pytest.mark.parametrize("name", SQL)
@pytest.mark.parametrize("statement", ["UPDATE audit_records SET actor = 'mallory'", "DELETE FROM audit_records"])
async def test_the_database_refuses_to_change_audit_records(name: str, statement: str) -> None:
    async with storage_backend(name) as storage:
        assert isinstance(storage, SqlStorage)
        async with storage() as uow:
            await uow.audit.append(s.entry())
            await uow.commit()
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            async with storage.engine.begin() as conn:
                await conn.execute(sa.text(statement))
        async with storage() as uow:
            records = await uow.audit.all()
        ring = storage.audit_keys.ring()
        assert len(records) == 1 and records[0].entry.actor == "alice" and verify_chain(records, ring).ok


@pytest.mark.parametrize("name", backend_params(("postgres", PSYCOPG)))
async def test_postgres_refuses_truncating_the_audit_log(name: str) -> None:
    async with storage_backend(name) as storage:
        assert isinstance(storage, SqlStorage)
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            async with storage.engine.begin() as conn:
                await conn.execute(sa.text("TRUNCATE audit_records"))


# aiosqlite's worker thread posts the failed connect's result after the migration's own event loop has closed; the
# error under test is still raised (asserted below), the thread's late report is noise.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
async def test_unreachable_databases_raise_connection_error() -> None:
    for url in (
        "sqlite+aiosqlite:////nonexistent-dir/x/backupchecks.sqlite3",
        "postgresql+asyncpg://postgres@127.0.0.1:9/backupchecks",
        "postgresql+psycopg://postgres@127.0.0.1:9/backupchecks",
    ):
        storage = SqlStorage(url)
        try:
            with pytest.raises(ConnectionError):
                async with storage() as uow:
                    await uow.customers.get("c-1")
        finally:
            await storage.dispose()
        with pytest.raises(ConnectionError):
            await asyncio.to_thread(upgrade, url)


@pytest.mark.parametrize("name", SQL)
async def test_database_errors_become_builtin_errors(name: str) -> None:
    async with storage_backend(name) as storage:
        assert isinstance(storage, SqlStorage)
        async with storage() as uow:
            await uow.audit.append(s.entry())
            await uow.commit()
        async with storage() as uow:  # a second record claiming seq 1: the primary key refuses the fork
            with pytest.raises(ValueError, match="constraint"):
                await uow.execute(sa.insert(sa.table("audit_records", sa.column("seq"))).values(seq=1))


async def test_sqlite_refuses_a_nested_unit_of_work_instead_of_deadlocking() -> None:
    async with storage_backend("sqlite") as storage, storage() as outer:
        await outer.customers.save(s.customer())
        with pytest.raises(RuntimeError, match="already open"):
            async with storage():
                pass
        await outer.commit()
    async with storage_backend("sqlite") as storage:
        async with storage():
            pass
        async with storage():  # one after the other is fine
            pass


SECRET = "sealed:v1:SECRET-d41d8cd98f00b204"
MAPPING_WITH_TEXT_IN_A_NUMBER = sa.insert(
    sa.table("company_mappings", *(sa.column(c) for c in ("customer_id", "status", "psa", "company_id")))
).values(customer_id="c-1", status="ok", psa="autotask", company_id=SECRET)
DUPLICATE_USER = sa.insert(
    sa.table("users", *(sa.column(c) for c in ("id", "username", "role", "token_hash", "created_at")))
).values(id="u-1", username="alice", role="admin", token_hash=SECRET, created_at=s.at(0))


def assert_clean(error: BaseException) -> None:
    """A built-in error whose text, and whatever a log would print of it, carries no parameter value."""
    assert type(error).__module__ == "builtins", type(error)
    printed = "".join(traceback.format_exception(error))
    assert SECRET not in printed and "sqlalchemy" not in printed.split("Traceback")[-1].splitlines()[-1].lower()


@pytest.mark.parametrize("name", SQL)
async def test_errors_and_logs_never_carry_parameter_values(name: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with storage_backend(name) as storage:
        assert isinstance(storage, SqlStorage)
        async with storage() as uow:
            await uow.users.add(s.user("u-1", "alice"))
            await uow.commit()
        async with storage() as uow:
            with pytest.raises(ValueError, match="constraint") as duplicate:
                await uow.execute(DUPLICATE_USER)
        assert_clean(duplicate.value)
        if name != "sqlite":  # SQLite stores text in a number column as it is
            async with storage() as uow:
                with pytest.raises(ValueError, match="refused") as refused:
                    await uow.execute(MAPPING_WITH_TEXT_IN_A_NUMBER)
            assert_clean(refused.value)
    assert SECRET not in caplog.text


@pytest.mark.parametrize("name", SQL)
async def test_records_from_before_the_audit_key_stay_checkable_and_lead_the_keyed_chain(name: str) -> None:
    """ADR 0009: records written at revision 0001 (plain SHA-256, no key id) are kept as the chain's prefix; the
    first record appended after `0002_audit_key` is keyed and signs the last of them."""
    async with empty_database(name) as url:
        await asyncio.to_thread(upgrade, url, "0001")
        legacy = AuditRecord(1, s.entry(0), GENESIS_HASH, unkeyed_hash(1, s.entry(0), GENESIS_HASH))
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                row = {k: v for k, v in rows.audit_row(legacy).items() if k != "key_id"}  # no such column at 0001
                await conn.execute(audit_records.insert().values(row))
        finally:
            await engine.dispose()
        await asyncio.to_thread(upgrade, url)
        storage = SqlStorage(url)
        try:
            async with storage() as uow:
                await uow.audit.append(s.entry(1))
                await uow.commit()
            async with storage() as uow:
                records = await uow.audit.all()
        finally:
            await storage.dispose()
    check = verify_chain(records, storage.audit_keys.ring())
    assert check.ok and (check.records, check.unkeyed_records) == (2, 1)
    key_id = storage.audit_keys.ring().current.key_id
    assert [r.key_id for r in records] == [None, key_id] and records[1].prev_hash == legacy.hash
