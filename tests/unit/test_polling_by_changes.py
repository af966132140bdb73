"""The bulk status poll asks Autotask only for what changed since the last complete poll (the JobStore's
`status_sync` cursor, less a safety margin), reads every ticket on the first poll and once a UTC day, and keeps
today's rules for what it finds (memory storage, the fake PSA)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from adapters.memory.jobs import MemoryJobStore
from application.errors import AutotaskUnavailable
from application.ports import STATUS_SYNC, PsaRejected, PsaUnavailable, TicketFacts
from application.use_cases.create_ticket import CreateTicket
from application.use_cases.refresh_tickets import MARGIN, RefreshTickets, TicketsRefreshed
from application.use_cases.resolve_ticket import ResolveTicket
from domain.tickets import STATUS_COMPLETE, LinkState, TicketLink
from tests.support import OPERATOR, T0, UseCaseWorld, make_run

POLL_MINUTES = 15


@pytest.fixture
async def world() -> AsyncIterator[UseCaseWorld]:
    w = UseCaseWorld()
    await w.configure()
    for i in range(3):
        await w.seed(make_run(f"run-{i}"))
        await CreateTicket(w.deps).execute(OPERATOR, f"run-{i}")
    yield w


@pytest.fixture
def jobs() -> MemoryJobStore:
    return MemoryJobStore()


async def poll(world: UseCaseWorld, jobs: MemoryJobStore, *, after_minutes: float = POLL_MINUTES) -> TicketsRefreshed:
    world.clock.advance(after_minutes * 60)
    return await RefreshTickets(world.deps, jobs=jobs).execute(OPERATOR)


async def link(world: UseCaseWorld, run_id: str) -> TicketLink:
    async with world.uow(read_only=True) as uow:
        found = await uow.tickets.get(run_id)
    assert found is not None
    return found


async def ticket_of(world: UseCaseWorld, run_id: str) -> int:
    ticket_id = (await link(world, run_id)).ticket_id
    assert ticket_id is not None
    return ticket_id


async def cursor(jobs: MemoryJobStore) -> datetime | None:
    state = await jobs.get(STATUS_SYNC)
    return None if state is None else state.cursor


async def test_the_first_poll_reads_every_ticket_then_only_what_changed(
    world: UseCaseWorld, jobs: MemoryJobStore
) -> None:
    first = await poll(world, jobs)
    assert first.full and (first.checked, first.changed) == (3, 0)
    assert world.psa.calls["get_tickets"] == 1 and await cursor(jobs) == world.clock.now()
    calls = world.psa.total_calls
    second = await poll(world, jobs)
    assert not second.full and (second.checked, second.changed, second.autotask_calls) == (3, 0, 1)
    assert world.psa.total_calls - calls == 1 and world.psa.calls["changed_tickets"] == 1
    assert world.psa.calls["get_tickets"] == 1 and await cursor(jobs) == world.clock.now()


async def test_a_ticket_closed_then_reopened_in_autotask_is_seen_each_time(
    world: UseCaseWorld, jobs: MemoryJobStore
) -> None:
    await poll(world, jobs)
    await poll(world, jobs)
    ticket_id = await ticket_of(world, "run-1")
    world.clock.advance(60)
    world.psa.set_status(ticket_id, STATUS_COMPLETE)  # closed by a technician in Autotask
    closed = await poll(world, jobs)
    assert not closed.full and closed.changed == 1
    status = (await link(world, "run-1")).status
    assert status is not None and status.closed and (await link(world, "run-1")).state is LinkState.LINKED
    world.clock.advance(60)
    world.psa.set_status(ticket_id, 8)  # reopened: "In Progress"
    reopened = await poll(world, jobs)
    assert not reopened.full and reopened.changed == 1
    status = (await link(world, "run-1")).status
    assert status is not None and (status.value, status.label) == (8, "In Progress")
    quiet = await poll(world, jobs)
    assert (quiet.changed, quiet.autotask_calls) == (0, 1)


async def test_a_change_stamped_by_an_autotask_clock_behind_ours_is_not_missed(
    world: UseCaseWorld, jobs: MemoryJobStore
) -> None:
    asked: list[datetime] = []

    def record(changed: Any) -> Any:
        async def asking(prefix: str, since: datetime) -> list[TicketFacts]:
            asked.append(since)
            found: list[TicketFacts] = await changed(prefix, since)
            return found

        return asking

    world.psa.clock = lambda: world.clock.now() - timedelta(minutes=4)  # Autotask's clock runs 4 minutes behind
    await poll(world, jobs)
    last_start = world.clock.now()
    world.clock.advance(1)  # just after that poll started, by our clock; before it, by Autotask's
    world.psa.set_status(await ticket_of(world, "run-2"), STATUS_COMPLETE)
    world.clock.advance(POLL_MINUTES * 60)
    summary = await RefreshTickets(world.deps_with(changed_tickets=record), jobs=jobs).execute(OPERATOR)
    assert asked == [last_start - MARGIN] and not summary.full and summary.changed == 1
    status = (await link(world, "run-2")).status
    assert status is not None and status.closed


async def test_a_change_while_the_poll_runs_is_read_by_the_next_one(world: UseCaseWorld, jobs: MemoryJobStore) -> None:
    await poll(world, jobs)
    ticket_id = await ticket_of(world, "run-0")

    def close_meanwhile(read: Any) -> Any:
        async def reading(prefix: str, since: datetime) -> list[TicketFacts]:
            found: list[TicketFacts] = await read(prefix, since)
            world.clock.advance(30)
            world.psa.set_status(ticket_id, STATUS_COMPLETE)  # after Autotask answered, before the poll ends
            return found

        return reading

    world.clock.advance(POLL_MINUTES * 60)
    started = world.clock.now()
    during = await RefreshTickets(world.deps_with(changed_tickets=close_meanwhile), jobs=jobs).execute(OPERATOR)
    assert during.changed == 0 and await cursor(jobs) == started  # the time it started, not ended
    after = await poll(world, jobs)
    assert after.changed == 1


async def test_a_deleted_ticket_is_found_by_the_daily_full_read(world: UseCaseWorld, jobs: MemoryJobStore) -> None:
    await poll(world, jobs)
    world.psa.delete_ticket(await ticket_of(world, "run-0"))
    same_day = await poll(world, jobs)
    assert not same_day.full and same_day.deleted == 0
    assert (await link(world, "run-0")).state is LinkState.LINKED
    next_day = await poll(world, jobs, after_minutes=24 * 60)
    assert next_day.full and next_day.deleted == 1
    assert (await link(world, "run-0")).state is LinkState.DELETED
    assert not (await poll(world, jobs)).full


async def test_explicit_runs_are_read_in_full_and_leave_the_cursor(world: UseCaseWorld, jobs: MemoryJobStore) -> None:
    await poll(world, jobs)
    first_cursor = await cursor(jobs)
    world.clock.advance(60)
    world.psa.delete_ticket(await ticket_of(world, "run-1"))
    summary = await RefreshTickets(world.deps, jobs=jobs).execute(OPERATOR, ["run-1"])
    assert summary.full and summary.deleted == 1 and await cursor(jobs) == first_cursor


async def test_a_resolved_link_stays_resolved_when_its_ticket_is_reopened(
    world: UseCaseWorld, jobs: MemoryJobStore
) -> None:
    await poll(world, jobs)
    resolved = await ResolveTicket(world.deps).execute(OPERATOR, "run-0")
    world.clock.advance(60)
    world.psa.set_status(await ticket_of(world, "run-0"), 1)  # reopened in Autotask after Backupchecks resolved it
    summary = await poll(world, jobs)
    assert not summary.full and summary.changed == 0
    assert await link(world, "run-0") == resolved  # today's rule: the bulk poll reads linked tickets only


async def test_a_tenant_refusing_the_changes_query_is_read_in_full(world: UseCaseWorld, jobs: MemoryJobStore) -> None:
    await poll(world, jobs)
    world.psa.fail_next("changed_tickets", PsaRejected("Unable to find field 'lastTrackedModificationDateTime'."))
    world.psa.delete_ticket(await ticket_of(world, "run-2"))
    summary = await poll(world, jobs)
    assert summary.full and summary.deleted == 1 and await cursor(jobs) == world.clock.now()


async def test_a_failed_poll_leaves_the_cursor_where_it_was(world: UseCaseWorld, jobs: MemoryJobStore) -> None:
    await poll(world, jobs)
    before = await cursor(jobs)
    world.psa.fail_next("changed_tickets", PsaUnavailable("Service Unavailable"))
    with pytest.raises(AutotaskUnavailable):
        await poll(world, jobs)
    assert await cursor(jobs) == before
    world.psa.set_status(await ticket_of(world, "run-1"), STATUS_COMPLETE)
    assert (await poll(world, jobs)).changed == 1


async def test_pending_links_are_settled_on_a_changes_poll(world: UseCaseWorld, jobs: MemoryJobStore) -> None:
    await poll(world, jobs)
    await world.seed(make_run("run-9"))
    world.psa.fail_next("create_ticket", "lost_answer")
    with pytest.raises(AutotaskUnavailable):
        await CreateTicket(world.deps).execute(OPERATOR, "run-9")
    summary = await poll(world, jobs)
    assert not summary.full and (summary.checked, summary.settled) == (4, 1)
    assert (await link(world, "run-9")).state is LinkState.LINKED


async def test_without_a_job_store_every_poll_reads_in_full(world: UseCaseWorld) -> None:
    for _ in range(2):
        world.clock.advance(POLL_MINUTES * 60)
        assert (await RefreshTickets(world.deps).execute(OPERATOR)).full
    assert world.psa.calls["get_tickets"] == 2 and world.psa.calls["changed_tickets"] == 0


async def test_nothing_linked_costs_nothing(jobs: MemoryJobStore) -> None:
    w = UseCaseWorld()
    await w.configure()
    await RefreshTickets(w.deps, jobs=jobs).execute(OPERATOR)
    summary = await poll(w, jobs)
    assert (summary.checked, summary.autotask_calls, summary.full) == (0, 0, False)
    assert await cursor(jobs) == T0 + timedelta(minutes=POLL_MINUTES)
