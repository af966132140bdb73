"""Web sessions and failed sign-in counts in the service's own database (a `SessionStore`): every instance sees them."""

from __future__ import annotations

import dataclasses
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
        async with self._storage() as uow:
            row = (await uow.execute(sa.select(t.web_sessions).where(t.web_sessions.c.id_hash == id_hash))).first()
        return None if row is None else WebSession(**row._mapping)

    async def touch(self, id_hash: str, at: datetime) -> None:
        c = t.web_sessions.c
        await self._write(sa.update(t.web_sessions).where(c.id_hash == id_hash).values(last_seen_at=at))

    async def remove(self, id_hash: str) -> None:
        await self._write(sa.delete(t.web_sessions).where(t.web_sessions.c.id_hash == id_hash))

    async def remove_unused_since(self, last_seen_before: datetime) -> None:
        await self._write(sa.delete(t.web_sessions).where(t.web_sessions.c.last_seen_at < last_seen_before))

    async def failures(self, username: str) -> SignInFailures | None:
        c = t.sign_in_failures.c
        async with self._storage() as uow:
            statement = sa.select(c.count, c.last_at, c.locked_until).where(c.username == username)
            row = (await uow.execute(statement)).first()
        return None if row is None else SignInFailures(**row._mapping)

    async def forget_failures_before(self, last_at: datetime) -> None:
        await self._write(sa.delete(t.sign_in_failures).where(t.sign_in_failures.c.last_at < last_at))

    async def set_failures(self, username: str, failures: SignInFailures | None) -> None:
        delete = sa.delete(t.sign_in_failures).where(t.sign_in_failures.c.username == username)
        if failures is None:
            await self._write(delete)
        else:
            await self._write(
                delete, sa.insert(t.sign_in_failures).values(username=username, **dataclasses.asdict(failures))
            )
