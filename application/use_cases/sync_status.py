"""What the service's own scheduled work did and will do (any signed-in role: it holds no secret)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from application.attempts import Attempt
from application.deps import Deps
from application.ports import STATUS_SYNC, JobStore
from application.scheduler import JOBS
from domain.roles import Actor, Permission
from domain.settings import AutotaskSettings


@dataclass(frozen=True, slots=True)
class JobView:
    every_minutes: int
    """0: switched off in the settings."""
    last_run_at: datetime | None
    next_run_at: datetime | None
    last_result: dict[str, Any] | None
    last_error: str | None
    paused_reason: str | None
    running: bool


class GetSyncStatus:
    def __init__(self, deps: Deps, jobs: JobStore) -> None:
        self.deps = deps
        self.jobs = jobs

    async def execute(self, actor: Actor, settings: AutotaskSettings | None = None) -> dict[str, JobView]:
        """`settings`: as the caller read them this request (a web page's session check), else read here."""
        await Attempt(self.deps, actor, "sync.get", ("jobs", "*")).authorized(Permission.VIEW_RUNS)
        if settings is None:
            async with self.deps.uow(read_only=True) as uow:
                settings = await uow.settings.get()
        now = self.deps.clock.now()
        views = {}
        for job in JOBS:
            state = await self.jobs.get(job)
            minutes = settings.status_sync_minutes if job == STATUS_SYNC else settings.mapping_check_hours * 60
            views[job] = JobView(
                minutes,
                state.last_started_at if state else None,
                None if not minutes else (state.next_run_at if state and state.next_run_at else now),
                state.last_result if state else None,
                state.last_error if state else None,
                state.paused_reason if state else None,
                bool(state and state.held(now)),
            )
        return views
