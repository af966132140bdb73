"""The scheduled jobs' shared state: one lease per job (so one process runs it at a time, across every process and
host sharing the database), what its last run did, and the status sync's cursor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

STATUS_SYNC, MAPPING_CHECK = "status_sync", "mapping_check"
"""The scheduled jobs, by the names their lease rows carry."""


@dataclass(frozen=True, slots=True)
class JobState:
    job: str
    holder: str | None = None
    """The process running it now (None: nobody)."""
    lease_expires_at: datetime | None = None
    version: int = 0
    """Compare-and-set guard: every take, renewal and finish moves it on."""
    last_started_at: datetime | None = None
    last_finished_at: datetime | None = None
    last_result: dict[str, Any] | None = None
    last_error: str | None = None
    paused_reason: str | None = None
    next_run_at: datetime | None = None
    cursor: datetime | None = None
    """The status sync's: when the last complete poll started (it asks Autotask for changes since then)."""

    def held(self, now: datetime) -> bool:
        return self.holder is not None and self.lease_expires_at is not None and self.lease_expires_at > now


class JobStore(Protocol):
    """In the service's own database; every statement atomic (compare-and-set on `version`)."""

    async def get(self, job: str) -> JobState | None: ...

    async def take(
        self, job: str, holder: str, now: datetime, until: datetime, *, due: bool = False
    ) -> JobState | None:
        """The lease for `holder` until `until` when nobody holds it (or its holder's lease ran out, or `holder` has
        it already); None when another process holds it. With `due`, only while the job is due (`next_run_at`
        unset or not after `now`): a process that saw it due just before another finished it does not run it again."""
        ...

    async def renew(self, state: JobState, until: datetime) -> JobState | None:
        """The lease kept until `until`; None when it was lost meanwhile (taken over after expiry)."""
        ...

    async def finish(self, state: JobState, changes: dict[str, Any]) -> bool:
        """Release the lease and store `changes` (JobState fields: results, errors, next run, cursor) only if the
        lease is still the one in `state`."""
        ...

    async def note(self, job: str, changes: dict[str, Any]) -> None:
        """Store `changes` (a pause, the next run) whoever holds the lease; the row is made when missing."""
        ...
