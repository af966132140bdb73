"""The scheduled jobs' state in the service's own database (a `JobStore`): every process and host sees one lease per
job. Each take, renewal and finish is one compare-and-set statement on `version`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from adapters.sql import tables as t
from adapters.sql.storage import SqlStorage
from application.ports import JobState

FIELDS = tuple(c.name for c in t.job_leases.columns)


class SqlJobStore:
    def __init__(self, storage: SqlStorage) -> None:
        self._storage = storage

    async def get(self, job: str) -> JobState | None:
        async with self._storage(read_only=True) as uow:
            row = (await uow.execute(sa.select(t.job_leases).where(t.job_leases.c.job == job))).first()
        return None if row is None else JobState(**row._mapping)

    async def take(
        self, job: str, holder: str, now: datetime, until: datetime, *, due: bool = False
    ) -> JobState | None:
        c = t.job_leases.c
        free = sa.or_(c.holder.is_(None), c.holder == holder, c.lease_expires_at.is_(None), c.lease_expires_at <= now)
        if due:
            free = sa.and_(free, sa.or_(c.next_run_at.is_(None), c.next_run_at <= now))
        async with self._storage() as uow:
            await uow.execute(uow.insert(t.job_leases).values(job=job, version=0).on_conflict_do_nothing())
            statement = (
                sa.update(t.job_leases)
                .where(c.job == job, free)
                .values(holder=holder, lease_expires_at=until, version=c.version + 1, last_started_at=now)
                .returning(*t.job_leases.columns)
            )
            row = (await uow.execute(statement)).first()
            await uow.commit()
        return None if row is None else JobState(**row._mapping)

    async def renew(self, state: JobState, until: datetime) -> JobState | None:
        c = t.job_leases.c
        async with self._storage() as uow:
            statement = (
                sa.update(t.job_leases)
                .where(c.job == state.job, c.version == state.version)
                .values(lease_expires_at=until, version=c.version + 1)
                .returning(*t.job_leases.columns)
            )
            row = (await uow.execute(statement)).first()
            await uow.commit()
        return None if row is None else JobState(**row._mapping)

    async def finish(self, state: JobState, changes: dict[str, Any]) -> bool:
        c = t.job_leases.c
        values = {**_known(changes), "holder": None, "lease_expires_at": None, "version": c.version + 1}
        async with self._storage() as uow:
            statement = (
                sa.update(t.job_leases)
                .where(c.job == state.job, c.version == state.version)
                .values(values)
                .returning(c.job)
            )
            done = (await uow.execute(statement)).first() is not None
            await uow.commit()
        return done

    async def note(self, job: str, changes: dict[str, Any]) -> None:
        async with self._storage() as uow:
            await uow.execute(uow.insert(t.job_leases).values(job=job, version=0).on_conflict_do_nothing())
            await uow.execute(sa.update(t.job_leases).where(t.job_leases.c.job == job).values(_known(changes)))
            await uow.commit()


def _known(changes: dict[str, Any]) -> dict[str, Any]:
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise ValueError(f"not a job field: {sorted(unknown)}")
    return changes
