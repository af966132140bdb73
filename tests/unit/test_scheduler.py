"""The scheduler on the memory store and the fake PSA: due jobs run under their lease, one process at a time; a dead
holder's lease is taken over after it expires; background work pauses at 75 % of the tenant's hourly budget (once
audited) and resumes after; the command line takes the same lease."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from adapters.memory.jobs import MemoryJobStore
from application.ports import MAPPING_CHECK, STATUS_SYNC
from application.scheduler import SYSTEM, Runner, Scheduler, Timing
from application.use_cases.refresh_all_mappings import RefreshAllMappings
from application.use_cases.refresh_tickets import RefreshTickets
from tests.support import UseCaseWorld
from tests.unit.test_tickets import created

TIMING = Timing(lease_seconds=60, tick_seconds=1, usage_every_seconds=300)


def scheduler(world: UseCaseWorld, jobs: MemoryJobStore, holder: str) -> Scheduler:
    runners: dict[str, Runner] = {
        STATUS_SYNC: RefreshTickets(world.deps).execute,
        MAPPING_CHECK: RefreshAllMappings(world.deps).execute,
    }
    return Scheduler(world.deps, jobs, runners, holder, TIMING)


@pytest.fixture
async def world() -> AsyncIterator[UseCaseWorld]:
    w = UseCaseWorld()
    await w.configure()
    await w.seed()
    yield w


async def system_records(world: UseCaseWorld, action: str) -> int:
    async with world.uow() as uow:
        return sum(1 for r in await uow.audit.all() if r.entry.action == action and r.entry.actor == "system")


async def test_due_jobs_run_once_per_interval_as_the_system(world: UseCaseWorld) -> None:
    await created(world)
    jobs = MemoryJobStore()
    first = scheduler(world, jobs, "a")
    assert await first.tick() == {STATUS_SYNC: "ran", MAPPING_CHECK: "ran"}
    assert await first.tick() == {STATUS_SYNC: "not_due", MAPPING_CHECK: "not_due"}
    state = await jobs.get(STATUS_SYNC)
    assert state is not None and state.holder is None and state.last_result is not None
    assert state.last_result["checked"] == 1 and state.next_run_at is not None
    assert await system_records(world, "ticket.refresh") == 1  # one record per run, with its counts
    world.clock.advance(15 * 60)
    assert (await first.tick())[STATUS_SYNC] == "ran"
    assert await system_records(world, "ticket.refresh") == 2


async def test_one_process_at_a_time_and_a_dead_holders_lease_taken_over(world: UseCaseWorld) -> None:
    jobs = MemoryJobStore()
    a, b = scheduler(world, jobs, "a"), scheduler(world, jobs, "b")
    now = world.clock.now()
    assert await jobs.take(STATUS_SYNC, "a", now, now + timedelta(seconds=60)) is not None  # a holds it, then dies
    assert (await b.tick())[STATUS_SYNC] == "held"
    world.clock.advance(61)
    assert (await b.tick())[STATUS_SYNC] == "ran"  # taken over within one expiry
    assert (await a.tick())[STATUS_SYNC] == "not_due"


async def test_parallel_ticks_of_two_processes_run_each_job_once(world: UseCaseWorld) -> None:
    jobs = MemoryJobStore()
    outcomes = await asyncio.gather(*(scheduler(world, jobs, name).tick() for name in ("a", "b")))
    assert sorted(o[STATUS_SYNC] for o in outcomes) in (["held", "ran"], ["not_due", "ran"])
    assert await system_records(world, "ticket.refresh") == 1


async def test_background_work_pauses_at_75_percent_of_the_budget_and_says_why(world: UseCaseWorld) -> None:
    jobs = MemoryJobStore()
    world.psa.usage_limit = 4  # the fake answers its own calls as the hour's usage: 3 of 4 is 75 %
    world.psa.calls["elsewhere"] += 3  # requests other integrations of the tenant made this hour
    work = scheduler(world, jobs, "a")
    assert await work.tick() == {STATUS_SYNC: "paused", MAPPING_CHECK: "paused"}
    assert await work.tick() == {STATUS_SYNC: "paused", MAPPING_CHECK: "paused"}  # usage cached: no second read
    state = await jobs.get(STATUS_SYNC)
    assert state is not None and state.paused_reason is not None and "75%" in state.paused_reason
    assert await system_records(world, "scheduler.pause") == 2  # once per job, not per tick
    assert await system_records(world, "ticket.refresh") == 0
    world.psa.usage_limit = 10_000
    world.clock.advance(TIMING.usage_every_seconds)
    assert (await work.tick())[STATUS_SYNC] == "ran"
    resumed = await jobs.get(STATUS_SYNC)
    assert resumed is not None and resumed.paused_reason is None


async def test_switched_off_jobs_and_integration_do_nothing(world: UseCaseWorld) -> None:
    jobs = MemoryJobStore()
    await world.configure(status_sync_minutes=0, mapping_check_hours=0)
    assert await scheduler(world, jobs, "a").tick() == {STATUS_SYNC: "off", MAPPING_CHECK: "off"}
    await world.configure(enabled=False, status_sync_minutes=15, mapping_check_hours=24)
    assert (await scheduler(world, jobs, "a").tick())[STATUS_SYNC] == "paused"
    assert world.psa.total_calls == 0 and await system_records(world, "scheduler.pause") == 0


async def test_the_command_line_takes_the_same_lease(world: UseCaseWorld) -> None:
    jobs = MemoryJobStore()
    now = world.clock.now()
    await jobs.take(STATUS_SYNC, "serve", now, now + timedelta(seconds=60))
    cli = scheduler(world, jobs, "cli")
    assert (await cli.run(STATUS_SYNC, actor=SYSTEM)).status == "held"
    world.clock.advance(61)
    run = await cli.run(STATUS_SYNC, actor=SYSTEM)
    assert run.status == "ran" and run.result is not None and run.result["checked"] == 0


async def test_a_page_views_recheck_that_changes_nothing_writes_nothing(world: UseCaseWorld) -> None:
    refresh = RefreshAllMappings(world.deps)
    async with world.uow() as uow:
        before = (await uow.mappings.list(), len(await uow.audit.all()))
    quiet = await refresh.execute(SYSTEM, quiet=True)
    async with world.uow() as uow:
        assert (await uow.mappings.list(), len(await uow.audit.all())) == before
    assert quiet.checked == 0 and quiet.autotask_calls == 1
    world.psa.rename_company(100, "Acme Holding B.V.")
    renamed = await refresh.execute(SYSTEM, quiet=True)
    assert (renamed.checked, renamed.renamed) == (1, 1)
    async with world.uow() as uow:
        assert len(await uow.audit.all()) == before[1] + 1
