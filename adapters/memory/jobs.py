"""The scheduled jobs' state in memory (a `JobStore` for tests and the in-memory store)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from application.ports import JobState


class MemoryJobStore:
    def __init__(self) -> None:
        self.jobs: dict[str, JobState] = {}

    async def get(self, job: str) -> JobState | None:
        return self.jobs.get(job)

    async def take(
        self, job: str, holder: str, now: datetime, until: datetime, *, due: bool = False
    ) -> JobState | None:
        current = self.jobs.get(job, JobState(job))
        if current.held(now) and current.holder != holder:
            return None
        if due and current.next_run_at is not None and current.next_run_at > now:
            return None
        taken = dataclasses.replace(
            current, holder=holder, lease_expires_at=until, version=current.version + 1, last_started_at=now
        )
        self.jobs[job] = taken
        return taken

    async def renew(self, state: JobState, until: datetime) -> JobState | None:
        current = self.jobs.get(state.job)
        if current is None or current.version != state.version:
            return None
        renewed = dataclasses.replace(current, lease_expires_at=until, version=current.version + 1)
        self.jobs[state.job] = renewed
        return renewed

    async def finish(self, state: JobState, changes: dict[str, Any]) -> bool:
        current = self.jobs.get(state.job)
        if current is None or current.version != state.version:
            return False
        self.jobs[state.job] = dataclasses.replace(
            current, **changes, holder=None, lease_expires_at=None, version=current.version + 1
        )
        return True

    async def note(self, job: str, changes: dict[str, Any]) -> None:
        self.jobs[job] = dataclasses.replace(self.jobs.get(job, JobState(job)), **changes)
