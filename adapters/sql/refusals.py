"""Refused PSA credentials in the service's own database (a `RefusedCredentials`): every process and the CLI on the
database see them. Table `refused_credentials` (migration 0007), by digest only, never the credentials."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from adapters.sql import tables as t
from adapters.sql.storage import SqlStorage
from application.ports import AuthFailure, Refusal


class SqlRefusedCredentials:
    """Each method is one short unit of work of its own, outside any use case's: a database that does not answer is
    the storage port's StorageUnavailable, a refused value StorageRefused, as everywhere."""

    def __init__(self, storage: SqlStorage) -> None:
        self._storage = storage

    async def get(self, digest: str) -> Refusal | None:
        c = t.refused_credentials.c
        async with self._storage(read_only=True) as uow:
            statement = sa.select(c.failure, c.message, c.refused_at).where(c.digest == digest)
            row = (await uow.execute(statement)).first()
        return None if row is None else Refusal(AuthFailure(row.failure), row.message, row.refused_at)

    async def remember(self, digest: str, failure: AuthFailure, message: str, at: datetime) -> None:
        table = t.refused_credentials
        values = {"failure": AuthFailure(failure).value, "message": message, "refused_at": at}
        async with self._storage() as uow:
            insert = uow.insert(table).values(digest=digest, **values)
            await uow.execute(insert.on_conflict_do_update(index_elements=[table.c.digest], set_=values))
            await uow.commit()

    async def take_retry(self, digest: str, seen: datetime, at: datetime) -> bool:
        """One UPDATE guarded by the `refused_at` read: on PostgreSQL a second writer waits for the first's row lock,
        then finds the row changed and updates nothing; on SQLite writers queue for the database lock."""
        c = t.refused_credentials.c
        async with self._storage() as uow:
            statement = (
                sa.update(t.refused_credentials).where(c.digest == digest, c.refused_at == seen).values(refused_at=at)
            )
            moved = (await uow.execute(statement)).rowcount
            await uow.commit()
        return moved == 1

    async def forget(self, digest: str) -> None:
        async with self._storage() as uow:
            await uow.execute(sa.delete(t.refused_credentials).where(t.refused_credentials.c.digest == digest))
            await uow.commit()
