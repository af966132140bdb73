"""The service's own scheduled work (docs/adr/0022): the status sync every `status_sync_minutes` and a check of every
mapping every `mapping_check_hours`, run inside `serve` with no cron. Each job runs in one process at a time across
every process and host sharing the database: it holds the job's lease (JobStore), renewed while it runs and taken over
by another process once its holder died. Background work pauses while the tenant's hourly API budget is at 75 % or
more (operators' clicks never do). The command line's refresh commands take the same lease."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from application.attempts import Attempt
from application.deps import Deps
from application.errors import UseCaseError
from application.ports import MAPPING_CHECK, STATUS_SYNC, ApiUsage, JobState, JobStore, PsaError
from application.psa_connection import connect
from domain.audit import Outcome
from domain.roles import Actor, Role
from domain.settings import AutotaskSettings

LOGGER = logging.getLogger("backupchecks.scheduler")
SYSTEM = Actor("system", Role.ADMIN)
"""Who the scheduled work acts as, in the audit log."""
JOBS = (STATUS_SYNC, MAPPING_CHECK)
PAUSE_AT = 0.75
"""Share of the tenant's hourly request limit from which background work waits (Autotask slows every integration
from 50 % and cuts the tenant off at 100 %)."""

Runner = Callable[[Actor], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class Timing:
    lease_seconds: float = 120.0
    """How long a lease holds without renewal: a dead holder's job is taken over after this."""
    tick_seconds: float = 15.0
    """How often each process looks for due work."""
    usage_every_seconds: float = 300.0
    """The tenant's usage (one request) is read at most this often."""
    minute_seconds: float = 60.0
    """Seconds per minute of the settings' intervals (tests shorten it; nothing else should)."""


def every(settings: AutotaskSettings, job: str, timing: Timing) -> timedelta | None:
    """The job's interval from the settings; None when it is switched off (0)."""
    minutes = settings.status_sync_minutes if job == STATUS_SYNC else settings.mapping_check_hours * 60
    return timedelta(seconds=minutes * timing.minute_seconds) if minutes else None


@dataclass(frozen=True, slots=True)
class JobRun:
    status: str
    """`ran`, `failed`, or `held` (another process runs it)."""
    result: dict[str, Any] | None = None
    failure: UseCaseError | None = None


class LeaseLost(Exception):
    """Another process took the job over (this one's lease ran out while it worked)."""


class Scheduler:
    def __init__(
        self, deps: Deps, jobs: JobStore, runners: Mapping[str, Runner], holder: str, timing: Timing | None = None
    ) -> None:
        self.deps = deps
        self.jobs = jobs
        self.runners = runners
        self.holder = holder
        self.timing = timing or Timing()
        self._usage: tuple[ApiUsage, datetime] | None = None

    async def serve(self, stop: asyncio.Event) -> None:
        """Tick until `stop` is set; a failing tick is logged and the loop goes on."""
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:  # the loop must outlive any one failure (a database outage included)
                LOGGER.exception("scheduler tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.timing.tick_seconds)

    async def tick(self) -> dict[str, str]:
        """Run each due job whose lease this process gets; what happened to each (`ran`, `held`, `not_due`, `off`,
        `paused`, `failed`)."""
        async with self.deps.uow(read_only=True) as uow:
            settings = await uow.settings.get()
        return {job: await self._consider(job, settings) for job in JOBS}

    async def _consider(self, job: str, settings: AutotaskSettings) -> str:
        interval = every(settings, job, self.timing)
        if interval is None:
            return "off"
        state = await self.jobs.get(job)
        now = self.deps.clock.now()
        if state is not None and state.next_run_at is not None and state.next_run_at > now:
            return "not_due"
        reason, audited = await self._pause_reason(settings)
        if reason is not None:
            await self._pause(job, state, reason, audited=audited)
            return "paused"
        return (await self.run(job, interval)).status

    async def run(self, job: str, interval: timedelta | None = None, actor: Actor = SYSTEM) -> JobRun:
        """Run `job` now under its lease (the scheduler, or the command line): `held` when another process runs it
        (or, for the scheduler, has just run it: the lease is taken only while the job is due); else `ran` or
        `failed` (the failure stored with the job and logged). Without `interval` (the command line) it runs
        whenever the lease is free, and the next scheduled run stays as it was."""
        now = self.deps.clock.now()
        until = now + timedelta(seconds=self.timing.lease_seconds)
        lease = await self.jobs.take(job, self.holder, now, until, due=interval is not None)
        if lease is None:
            return JobRun("held")
        holder = _Held(lease)
        renewing = asyncio.create_task(self._renew(holder))
        error: str | None = None
        failure: UseCaseError | None = None
        result: dict[str, Any] | None = None
        try:
            outcome = await self.runners[job](actor)
            result = dataclasses.asdict(outcome) if dataclasses.is_dataclass(outcome) else None  # type: ignore[arg-type]
        except UseCaseError as refused:
            failure, error = refused, f"{refused.code}: {refused.message}"
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError, LeaseLost):
                await renewing
        done = self.deps.clock.now()
        changes: dict[str, Any] = {"last_finished_at": done, "last_error": error, "paused_reason": None}
        if result is not None:
            changes["last_result"] = result
        if interval is not None:
            changes["next_run_at"] = done + interval
        if not await self.jobs.finish(holder.state, changes):
            LOGGER.warning("job %s finished after its lease was taken over", job)
        LOGGER.info("job %s %s", job, "failed: " + error if error else "ran", extra={"job": job, "result": result})
        return JobRun("failed" if failure else "ran", result, failure)

    async def _renew(self, holder: _Held) -> None:
        while True:
            await asyncio.sleep(self.timing.lease_seconds / 3)
            until = self.deps.clock.now() + timedelta(seconds=self.timing.lease_seconds)
            renewed = await self.jobs.renew(holder.state, until)
            if renewed is None:
                raise LeaseLost()
            holder.state = renewed

    async def _pause_reason(self, settings: AutotaskSettings) -> tuple[str | None, bool]:
        """Why background work waits now, and whether that is worth an audit record: the integration off (not
        audited: an admin chose it), or the tenant's budget at PAUSE_AT or more (audited)."""
        if not settings.enabled or not settings.has_credentials:
            return "the integration is switched off or its credentials are incomplete", False
        usage = await self._read_usage(settings)
        if usage is not None and usage.limit and usage.requests_this_hour >= PAUSE_AT * usage.limit:
            return (
                f"the tenant has used {usage.requests_this_hour} of its {usage.limit} API requests this hour "
                f"({usage.requests_this_hour * 100 // usage.limit} %, pausing from {PAUSE_AT:.0%}): background work "
                "waits, operators' actions do not"
            ), True
        return None, False

    async def _read_usage(self, settings: AutotaskSettings) -> ApiUsage | None:
        """The tenant's usage, read at most every `usage_every_seconds` (one request each); None when unknown."""
        now = self.deps.clock.now()
        if self._usage is not None and (now - self._usage[1]).total_seconds() < self.timing.usage_every_seconds:
            return self._usage[0]
        try:
            usage = await connect(self.deps, settings).usage()
        except (UseCaseError, PsaError):
            return None
        self._usage = (usage, now)
        return usage

    async def _pause(self, job: str, state: JobState | None, reason: str, *, audited: bool) -> None:
        """Say why the job waits, once per reason (a log line, and an audit record for a budget pause); it stays due,
        so it runs at the first tick after the reason is gone."""
        if state is not None and state.paused_reason == reason:
            return
        await self.jobs.note(job, {"paused_reason": reason})
        LOGGER.warning("job %s paused: %s", job, reason, extra={"job": job})
        if not audited:
            return
        attempt = Attempt(self.deps, SYSTEM, "scheduler.pause", ("job", job))
        async with self.deps.uow() as uow:
            await attempt.record(uow, Outcome.OK, reason=reason)
            await uow.commit()


@dataclass
class _Held:
    state: JobState
