"""The repositories. They run statements through their unit of work (as `Statements`) and never commit."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from adapters.audit_key import signing_key
from adapters.sql import rows
from adapters.sql import tables as t
from adapters.sql.statements import Statements
from application.ports import AuditAnchorStore, AuditKeys, AuditQuery, CustomerQuery, MappingFilter, RunQuery, User
from domain.audit import AuditEntry, AuditKeyring, AuditRecord, chain
from domain.mapping import CompanyMapping, MappingStatus
from domain.runs import Customer, Run
from domain.settings import AutotaskSettings
from domain.tickets import LinkState, TicketLink

AUDIT_LOCK_KEY = 0x62636175646974  # "bcaudit": the PostgreSQL advisory lock that serializes audit appends
IN_CHUNK = 1000  # ids per IN (…) list, well under every driver's parameter limit
SWAP_PARAMETERS = 30_000
"""Bound parameters per batched compare-and-set statement: under SQLite's 32,766 and asyncpg's 32,767."""


class _Repo:
    def __init__(self, uow: Statements) -> None:
        self._uow = uow

    async def _rows(self, statement: sa.Select[Any]) -> list[RowMapping]:
        return list((await self._uow.execute(statement)).mappings())

    async def _row(self, statement: sa.Select[Any]) -> RowMapping | None:
        return (await self._uow.execute(statement)).mappings().first()

    async def _by_keys(self, key: sa.Column[str], keys: Sequence[str]) -> list[RowMapping]:
        """The rows of `key`'s table whose `key` is one of `keys`: one query per IN_CHUNK distinct keys."""
        ids = sorted(set(keys))
        found: list[RowMapping] = []
        for start in range(0, len(ids), IN_CHUNK):
            found += await self._rows(sa.select(key.table).where(key.in_(ids[start : start + IN_CHUNK])))
        return found

    async def _insert_new(self, table: sa.Table, row: dict[str, Any]) -> bool:
        """Insert unless a row with the same key (or another unique value) exists; True when inserted. On PostgreSQL
        a concurrent uncommitted insert of the same key makes this wait for that transaction's end."""
        statement = self._uow.insert(table).values(row).on_conflict_do_nothing().returning(*table.primary_key)
        return (await self._uow.execute(statement)).first() is not None

    async def _swap_many(self, key: sa.Column[str], changes: Sequence[tuple[dict[str, Any], int]]) -> set[str]:
        """Compare-and-set many rows of `key`'s table: each row is stored only where the stored one's `version` is
        still its expected version, so a concurrent change is never overwritten (on PostgreSQL a concurrent writer
        of a row waits for its lock, then the version is checked again, as in a single-row UPDATE). One
        `WITH new AS (VALUES …) UPDATE … FROM new … RETURNING key` per SWAP_PARAMETERS bound values, rows in key
        order (two batches lock their common rows in the same order); the keys stored. Each value is cast to its
        column's type: PostgreSQL types a VALUES column of NULLs only as text."""
        if not changes:
            return set()
        table, names = key.table, list(changes[0][0])
        columns = [sa.column(name, table.c[name].type) for name in names]
        columns.append(sa.column("expected_version", sa.Integer))
        ordered = sorted(changes, key=lambda change: str(change[0][key.name]))
        per_batch = max(1, SWAP_PARAMETERS // len(columns))
        stored: set[str] = set()
        for start in range(0, len(ordered), per_batch):
            batch = ordered[start : start + per_batch]
            new = sa.values(*columns, name="new").data([(*(r[n] for n in names), v) for r, v in batch]).cte("new")
            statement = (
                sa.update(table)
                .where(key == new.c[key.name], table.c.version == new.c.expected_version)
                .values({name: sa.cast(new.c[name], table.c[name].type) for name in names if name != key.name})
                .returning(key)
            )
            stored.update((await self._uow.execute(statement)).scalars())
        return stored

    async def _upsert(self, table: sa.Table, row: dict[str, Any]) -> bool:
        """Insert or update by primary key; True when it was new."""
        if await self._insert_new(table, row):
            return True
        key = [column == row[column.name] for column in table.primary_key]
        await self._uow.execute(sa.update(table).where(*key).values(row))
        return False


class SqlCustomers(_Repo):
    async def get(self, customer_id: str) -> Customer | None:
        row = await self._row(sa.select(t.customers).where(t.customers.c.id == customer_id))
        return None if row is None else rows.customer_from(row)

    async def get_many(self, customer_ids: Sequence[str]) -> dict[str, Customer]:
        return {row["id"]: rows.customer_from(row) for row in await self._by_keys(t.customers.c.id, customer_ids)}

    async def save(self, customer: Customer) -> bool:
        return await self._upsert(t.customers, rows.flat_row(customer))

    async def query(self, query: CustomerQuery) -> list[Customer]:
        c = t.customers.c
        statement = sa.select(t.customers).where(*_customer_where(query)).order_by(c.id).limit(query.limit)
        if query.after is not None:
            statement = statement.where(c.id > query.after)
        return [rows.customer_from(row) for row in await self._rows(statement)]

    async def count(self, query: CustomerQuery) -> int:
        statement = sa.select(sa.func.count()).select_from(t.customers).where(*_customer_where(query))
        return int((await self._uow.execute(statement)).scalar_one())

    async def list(self, limit: int = 50, after: str | None = None) -> list[Customer]:
        statement = sa.select(t.customers).order_by(t.customers.c.id).limit(limit)
        if after is not None:
            statement = statement.where(t.customers.c.id > after)
        return [rows.customer_from(row) for row in await self._rows(statement)]


def _customer_where(query: CustomerQuery) -> list[sa.ColumnElement[bool]]:
    """The conditions of a customers query: a case-insensitive LIKE on name or id (its wildcards escaped), and the
    mapping filter as an EXISTS on the customer's mapping."""
    c, m = t.customers.c, t.company_mappings.c
    where: list[sa.ColumnElement[bool]] = []
    if query.search:
        text = query.search.lower()
        where.append(sa.or_(c.name.icontains(text, autoescape=True), c.id.icontains(text, autoescape=True)))
    if query.mapping is MappingFilter.UNMAPPED:
        where.append(~sa.exists().where(m.customer_id == c.id, m.company_id.is_not(None)))
    elif query.mapping is not None:
        where.append(sa.exists().where(m.customer_id == c.id, m.status == MappingStatus(query.mapping.value)))
    return where


class SqlRuns(_Repo):
    async def get(self, run_id: str) -> Run | None:
        row = await self._row(sa.select(t.runs).where(t.runs.c.id == run_id))
        return None if row is None else rows.run_from(row)

    async def save(self, run: Run) -> bool:
        return await self._upsert(t.runs, rows.run_row(run))

    async def query(self, query: RunQuery) -> list[Run]:
        c = t.runs.c
        where: list[sa.ColumnElement[bool]] = []
        if query.statuses:
            where.append(c.status.in_(sorted(query.statuses)))
        if query.customer_id is not None:
            where.append(c.customer_id == query.customer_id)
        if query.since is not None:
            where.append(c.run_at >= query.since)
        if query.until is not None:
            where.append(c.run_at < query.until)
        if query.has_ticket is not None:
            linked = sa.exists().where(t.ticket_links.c.run_id == c.id)
            where.append(linked if query.has_ticket else ~linked)
        if query.after is not None:  # a row-value comparison: an index condition on (run_at, id), not a filter
            where.append(sa.tuple_(c.run_at, c.id) < sa.tuple_(*query.after, types=[c.run_at.type, c.id.type]))
        statement = sa.select(t.runs).where(*where).order_by(c.run_at.desc(), c.id.desc()).limit(query.limit)
        return [rows.run_from(row) for row in await self._rows(statement)]


class SqlMappings(_Repo):
    async def get(self, customer_id: str) -> CompanyMapping | None:
        row = await self._row(sa.select(t.company_mappings).where(t.company_mappings.c.customer_id == customer_id))
        return None if row is None else rows.mapping_from(row)

    async def get_many(self, customer_ids: Sequence[str]) -> dict[str, CompanyMapping]:
        found = await self._by_keys(t.company_mappings.c.customer_id, customer_ids)
        return {row["customer_id"]: rows.mapping_from(row) for row in found}

    async def save(self, mapping: CompanyMapping) -> None:
        await self._upsert(t.company_mappings, rows.flat_row(mapping))

    async def update(self, mapping: CompanyMapping, expected_version: int) -> bool:
        """One UPDATE … WHERE version = expected, like ticket links: exactly one concurrent writer wins."""
        c = t.company_mappings.c
        statement = sa.update(t.company_mappings).where(
            c.customer_id == mapping.customer_id, c.version == expected_version
        )
        return (await self._uow.execute(statement.values(rows.flat_row(mapping)))).rowcount == 1

    async def update_many(self, changes: Sequence[tuple[CompanyMapping, int]]) -> set[str]:
        key = t.company_mappings.c.customer_id
        return await self._swap_many(key, [(rows.flat_row(mapping), expected) for mapping, expected in changes])

    async def list(self, statuses: frozenset[MappingStatus] = frozenset()) -> list[CompanyMapping]:
        c = t.company_mappings.c
        statement = sa.select(t.company_mappings).order_by(c.customer_id)
        if statuses:
            statement = statement.where(c.status.in_(sorted(statuses)))
        return [rows.mapping_from(row) for row in await self._rows(statement)]


class SqlTicketLinks(_Repo):
    async def get(self, run_id: str) -> TicketLink | None:
        row = await self._row(sa.select(t.ticket_links).where(t.ticket_links.c.run_id == run_id))
        return None if row is None else rows.link_from(row)

    async def get_many(self, run_ids: Sequence[str]) -> dict[str, TicketLink]:
        return {row["run_id"]: rows.link_from(row) for row in await self._by_keys(t.ticket_links.c.run_id, run_ids)}

    async def reserve(self, link: TicketLink) -> bool:
        return await self._insert_new(t.ticket_links, rows.link_row(link))

    async def update(self, link: TicketLink, expected_version: int) -> bool:
        """One UPDATE … WHERE version = expected: on PostgreSQL a concurrent writer waits for the row lock and then
        re-checks the version, so exactly one of them wins."""
        c = t.ticket_links.c
        statement = sa.update(t.ticket_links).where(c.run_id == link.run_id, c.version == expected_version)
        return (await self._uow.execute(statement.values(rows.link_row(link)))).rowcount == 1

    async def update_many(self, changes: Sequence[tuple[TicketLink, int]]) -> set[str]:
        key = t.ticket_links.c.run_id
        return await self._swap_many(key, [(rows.link_row(link), expected) for link, expected in changes])

    async def release(self, run_id: str, expected_version: int) -> bool:
        c = t.ticket_links.c
        where = [c.run_id == run_id, c.state == LinkState.PENDING, c.version == expected_version]
        return (await self._uow.execute(sa.delete(t.ticket_links).where(*where))).rowcount == 1

    async def list_open(self) -> list[TicketLink]:
        c = t.ticket_links.c
        statement = sa.select(t.ticket_links).where(c.state == LinkState.LINKED).order_by(c.run_id)
        return [rows.link_from(row) for row in await self._rows(statement)]

    async def list_pending(self) -> list[TicketLink]:
        c = t.ticket_links.c
        statement = sa.select(t.ticket_links).where(c.state == LinkState.PENDING).order_by(c.run_id)
        return [rows.link_from(row) for row in await self._rows(statement)]


class SqlSettings(_Repo):
    """The one settings row; the migration creates it with this database's random installation id."""

    async def get(self) -> AutotaskSettings:
        row = await self._row(sa.select(t.settings).where(t.settings.c.id == t.SETTINGS_ROW_ID))
        if row is None:
            raise LookupError("the settings row is missing: run `backupchecks db upgrade`")
        return rows.settings_from(row)

    async def save(self, settings: AutotaskSettings) -> None:
        current = await self.get()
        if settings.installation_id != current.installation_id:
            raise ValueError("the installation id belongs to the database and cannot change")
        statement = sa.update(t.settings).where(t.settings.c.id == t.SETTINGS_ROW_ID)
        await self._uow.execute(statement.values(rows.settings_row(settings)))


class SqlUsers(_Repo):
    async def add(self, user: User) -> bool:
        return await self._insert_new(t.users, rows.flat_row(user))

    async def _first(self, where: sa.ColumnElement[bool]) -> User | None:
        row = await self._row(sa.select(t.users).where(where).order_by(t.users.c.username).limit(1))
        return None if row is None else rows.user_from(row)

    async def by_token_hash(self, token_hash: str) -> User | None:
        return await self._first(t.users.c.token_hash == token_hash)

    async def by_username(self, username: str) -> User | None:
        return await self._first(t.users.c.username == username)

    async def get(self, user_id: str) -> User | None:
        return await self._first(t.users.c.id == user_id)

    async def list(self, *, for_update: bool = False) -> list[User]:
        statement = sa.select(t.users).order_by(t.users.c.username)
        if for_update:  # PostgreSQL locks the rows; SQLite's write transaction already excludes other writers
            statement = statement.with_for_update()
        return [rows.user_from(row) for row in await self._rows(statement)]

    async def update(self, user: User) -> bool:
        kept = {"id", "username", "created_at", "last_seen_at"}
        values = {k: v for k, v in rows.flat_row(user).items() if k not in kept}
        statement = sa.update(t.users).where(t.users.c.id == user.id).values(values)
        return (await self._uow.execute(statement)).rowcount == 1

    async def seen(self, user_id: str, at: datetime, every: timedelta) -> bool:
        c = t.users.c
        stale = sa.or_(c.last_seen_at.is_(None), c.last_seen_at <= at - every)
        statement = sa.update(t.users).where(c.id == user_id, stale).values(last_seen_at=at)
        return (await self._uow.execute(statement)).rowcount == 1

    async def remove(self, user_id: str) -> bool:
        return (await self._uow.execute(sa.delete(t.users).where(t.users.c.id == user_id))).rowcount == 1


class SqlAudit(_Repo):
    """Append-only: no update or delete here, and database triggers refuse them. Appends are serialized: on
    PostgreSQL by a transaction-scoped advisory lock taken before reading the chain's head, on SQLite by the write
    lock every unit of work holds (BEGIN IMMEDIATE). The primary key on seq refuses a fork in any case."""

    def __init__(self, uow: Statements, keys: AuditKeys, anchor: AuditAnchorStore | None) -> None:
        super().__init__(uow)
        self.keys = keys
        self.anchor = anchor
        self._appended: AuditRecord | None = None

    def ended(self, *, committed: bool) -> None:
        """The transaction ended: when it committed appended records, the anchor moves to the last of them."""
        appended, self._appended = self._appended, None
        if committed and appended is not None and self.anchor is not None:
            self.anchor.advance(appended)

    async def append(self, entry: AuditEntry) -> AuditRecord:
        if entry.at.tzinfo is None or entry.at.utcoffset() is None:
            raise ValueError("audit entries need a timezone-aware time")
        entry = dataclasses.replace(entry, at=entry.at.astimezone(UTC))  # the hash covers the stored (UTC) form
        await self._lock_head()
        row = await self._row(sa.select(t.audit_records).order_by(t.audit_records.c.seq.desc()).limit(1))
        head = None if row is None else rows.audit_from(row)
        record = chain(head, entry, signing_key(self.keys, head))
        await self._uow.execute(sa.insert(t.audit_records).values(rows.audit_row(record)))
        self._appended = record
        return record

    async def _lock_head(self) -> None:
        if self._uow.dialect == "postgresql":
            await self._uow.execute(sa.select(sa.func.pg_advisory_xact_lock(AUDIT_LOCK_KEY)))

    async def rotate_key(self) -> AuditKeyring:
        await self._lock_head()  # no append of another process is between reading the head and signing it
        return self.keys.rotate()

    async def query(self, query: AuditQuery) -> list[AuditRecord]:
        c = t.audit_records.c
        q = query
        conditions: list[tuple[object, Callable[[], sa.ColumnElement[bool]]]] = [
            (q.action, lambda: c.action == q.action),
            (q.actor, lambda: c.actor == q.actor),
            (q.outcome, lambda: c.outcome == q.outcome),
            (
                q.customer_id,
                lambda: sa.or_(
                    c.details_customer_id == q.customer_id,
                    sa.and_(c.target_type == "customer", c.target_id == q.customer_id),
                ),
            ),
            (q.run_id, lambda: sa.and_(c.target_type == "run", c.target_id == q.run_id)),
            (q.since, lambda: c.at >= q.since),
            (q.until, lambda: c.at < q.until),
            (q.after_seq, lambda: c.seq < q.after_seq if q.newest_first else c.seq > q.after_seq),
        ]
        where = [condition() for value, condition in conditions if value is not None]
        order = c.seq.desc() if q.newest_first else c.seq
        statement = sa.select(t.audit_records).where(*where).order_by(order).limit(query.limit)
        return [rows.audit_from(row) for row in await self._rows(statement)]

    async def all(self) -> list[AuditRecord]:
        statement = sa.select(t.audit_records).order_by(t.audit_records.c.seq)
        return [rows.audit_from(row) for row in await self._rows(statement)]
