"""Web sessions and failed sign-in counts in the service's own database (a `SessionStore`): every instance sees them."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from adapters.sql import tables as t
from adapters.sql.storage import SqlStorage
from application.ports import SignInFailures, WebSession


class SqlSessionStore:
    def __init__(self, storage: SqlStorage) -> None:
        self._storage = storage

    async def _write(self, *statements: sa.Executable) -> None:
        async with self._storage() as uow:
            for statement in statements:
                await uow.execute(statement)
            await uow.commit()

    async def add(self, session: WebSession) -> None:
        await self._write(sa.insert(t.web_sessions).values(dataclasses.asdict(session)))

    async def get(self, id_hash: str) -> WebSession | None:
        async with self._storage(read_only=True) as uow:
            row = (await uow.execute(sa.select(t.web_sessions).where(t.web_sessions.c.id_hash == id_hash))).first()
        return None if row is None else WebSession(**row._mapping)

    async def touch(self, id_hash: str, at: datetime) -> None:
        c = t.web_sessions.c
        await self._write(sa.update(t.web_sessions).where(c.id_hash == id_hash).values(last_seen_at=at))

    async def remove(self, id_hash: str) -> None:
        await self._write(sa.delete(t.web_sessions).where(t.web_sessions.c.id_hash == id_hash))

    async def remove_user_sessions(self, user_id: str, keep: str | None = None) -> int:
        c = t.web_sessions.c
        statement = sa.delete(t.web_sessions).where(c.user_id == user_id)
        if keep is not None:
            statement = statement.where(c.id_hash != keep)
        async with self._storage() as uow:
            ended = (await uow.execute(statement)).rowcount
            await uow.commit()
        return int(ended)

    async def remove_unused_since(self, last_seen_before: datetime) -> None:
        await self._write(sa.delete(t.web_sessions).where(t.web_sessions.c.last_seen_at < last_seen_before))

    async def failures(self, key: str) -> SignInFailures | None:
        c = t.sign_in_failures.c
        async with self._storage(read_only=True) as uow:
            statement = sa.select(c.count, c.last_at, c.locked_until).where(c.username == key)
            row = (await uow.execute(statement)).first()
        return None if row is None else SignInFailures(**row._mapping)

    async def failures_of(self, keys: Sequence[str]) -> dict[str, SignInFailures]:
        c = t.sign_in_failures.c
        if not keys:
            return {}
        async with self._storage(read_only=True) as uow:
            statement = sa.select(c.username, c.count, c.last_at, c.locked_until).where(c.username.in_(keys))
            rows = (await uow.execute(statement)).all()
        return {row.username: SignInFailures(row._mapping["count"], row.last_at, row.locked_until) for row in rows}

    async def count_failure(self, key: str, at: datetime, forget_before: datetime) -> SignInFailures:
        table = t.sign_in_failures
        c = table.c
        stale = c.last_at < forget_before
        async with self._storage() as uow:
            insert = uow.insert(table).values(username=key, count=1, last_at=at, locked_until=None)
            statement = insert.on_conflict_do_update(
                index_elements=[c.username],
                set_={
                    "count": sa.case((stale, 1), else_=c.count + 1),
                    "locked_until": sa.case((stale, None), else_=c.locked_until),
                    "last_at": at,
                },
            ).returning(c.count, c.last_at, c.locked_until)
            row = (await uow.execute(statement)).one()
            await uow.commit()
        return SignInFailures(**row._mapping)

    async def hold(self, key: str, until: datetime) -> None:
        c = t.sign_in_failures.c
        later = sa.or_(c.locked_until.is_(None), c.locked_until < until)
        await self._write(sa.update(t.sign_in_failures).where(c.username == key, later).values(locked_until=until))

    async def clear_failures(self, key: str) -> None:
        await self._write(sa.delete(t.sign_in_failures).where(t.sign_in_failures.c.username == key))

    async def forget_failures_before(self, last_at: datetime) -> None:
        await self._write(sa.delete(t.sign_in_failures).where(t.sign_in_failures.c.last_at < last_at))
