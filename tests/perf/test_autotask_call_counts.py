"""Autotask's request budget per operation, counted by the simulator over real HTTP (counts are deterministic):
refresh all mappings ⌈N/400⌉ plus one read per company missing from the answer, bulk ticket status refresh ⌈N/400⌉,
create 2 — for N = 1, 100 and 2,000. The scheduled status poll: ⌈N/400⌉ the first time (and once a UTC day), then
one request for what changed since the last poll (plus one per further 500 changed tickets) — for N = 10, 1,000 and
10,000 links."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import pytest

from adapters.autotask import AutotaskConnector
from adapters.autotask_simulator import Simulator, running_simulator
from adapters.memory.jobs import MemoryJobStore
from application.deps import Deps
from application.psa_connection import connect
from application.use_cases.create_ticket import Created, CreateTicket
from application.use_cases.refresh_all_mappings import RefreshAllMappings
from application.use_cases.refresh_tickets import RefreshTickets, TicketsRefreshed
from domain.draft import external_id
from domain.mapping import CompanyLookup, CompanyMapping, MappingStatus
from domain.runs import Customer
from domain.tickets import STATUS_COMPLETE, LinkState, Ticket, TicketLink, TicketStatus
from entrypoints.demo import _defaults
from tests.support import OPERATOR, PASSWORD, T0, UseCaseWorld, make_run

SIZES = (1, 100, 2_000)
POLL_SIZES = (10, 1_000, 10_000)
IN_BATCH = 400
COMPANY_BASE = 10_000
POLL_MINUTES = 15


@dataclass
class Tenant:
    world: UseCaseWorld
    sim: Simulator
    deps: Deps
    jobs: MemoryJobStore = field(default_factory=MemoryJobStore)
    """The status poll's cursor."""

    def requests(self) -> int:
        return sum(self.sim.counts.values())


@asynccontextmanager
async def tenant(clock: Callable[[UseCaseWorld], Callable[[], datetime]] | None = None) -> AsyncIterator[Tenant]:
    """The use cases on a memory store, talking to the simulator through the real Autotask adapter (the simulator's
    clock `clock(world)` when given, else real time)."""
    world = UseCaseWorld()
    sim = Simulator(secret=PASSWORD, request_threshold=100_000, clock=clock(world) if clock else None)
    with running_simulator(sim) as zone_base:
        connector = AutotaskConnector(zone_discovery_urls=[zone_base])
        try:
            deps = replace(world.deps, psa=connector)
            await world.configure()
            async with world.uow(read_only=True) as uow:
                settings = await uow.settings.get()
            await world.configure(**_defaults(await connect(deps, settings).picklists()))  # zone, picklists cached
            yield Tenant(world, sim, deps)
        finally:
            await connector.aclose()


def companies(t: Tenant, n: int) -> Iterator[int]:
    for i in range(n):
        t.sim.add_company(COMPANY_BASE + i, f"Company {i}")
        yield COMPANY_BASE + i


async def mapped_fleet(t: Tenant, n: int, *, with_runs: bool = False) -> list[int]:
    """`n` companies in Autotask, each mapped to a customer of its own (with a run each if `with_runs`)."""
    ids = list(companies(t, n))
    async with t.world.uow() as uow:
        for i, company_id in enumerate(ids):
            await uow.customers.save(Customer(f"cust-{i:05}", f"Customer {i}"))
            lookup = CompanyLookup.found(company_id, f"Company {i}", is_active=True)
            await uow.mappings.save(CompanyMapping.from_lookup(f"cust-{i:05}", lookup, T0))
            if with_runs:
                await uow.runs.save(make_run(f"run-{i:05}", f"cust-{i:05}"))
        await uow.commit()
    return ids


@pytest.mark.parametrize("n", SIZES)
async def test_refresh_all_mappings_costs_one_in_query_per_400_plus_a_read_per_missing_company(n: int) -> None:
    async with tenant() as t:
        ids = await mapped_fleet(t, n)
        gone = ids[1::100]  # deleted in Autotask: missing from the bulk answer, each confirmed by a read of its own
        for company_id in gone:
            t.sim.delete_company(company_id)
        t.sim.rename_company(ids[0], "Renamed")
        before = t.requests()
        summary = await RefreshAllMappings(t.deps).execute(OPERATOR)
        assert t.requests() - before == summary.autotask_calls == math.ceil(n / IN_BATCH) + len(gone)
        assert (summary.checked, summary.renamed, summary.invalid) == (n, 1, len(gone))
        async with t.world.uow(read_only=True) as uow:
            first = await uow.mappings.get("cust-00000")
        assert first is not None and (first.status, first.company_name) == (MappingStatus.RENAMED, "Renamed")


@pytest.mark.parametrize("n", SIZES)
async def test_bulk_ticket_status_refresh_costs_one_in_query_per_400_tickets(n: int) -> None:
    async with tenant() as t:
        company = next(companies(t, 1))
        async with t.world.uow(read_only=True) as uow:
            settings = await uow.settings.get()
        async with t.world.uow() as uow:
            for i in range(n):
                ticket_id = t.sim.create_ticket(
                    {
                        "companyID": company,
                        "title": f"T{i}",
                        "status": 1,
                        "priority": settings.priority_error_id,
                        "queueID": settings.default_queue_id,
                        "dueDateTime": "2026-01-16T02:10:00Z",
                    }
                )
                link = TicketLink.reserve(f"run-{i:05}", f"bc:x:{i}", "oscar", T0)
                await uow.tickets.reserve(link.linked(Ticket(ticket_id, f"T{i}", None, TicketStatus(1, "New", T0))))
            await uow.commit()
        before = t.requests()
        summary = await RefreshTickets(t.deps).execute(OPERATOR)
        assert t.requests() - before == summary.autotask_calls == math.ceil(n / IN_BATCH)
        assert (summary.checked, summary.changed, summary.deleted) == (n, 0, 0)


@pytest.mark.parametrize("n", SIZES)
async def test_creating_a_ticket_costs_two_requests_whatever_the_size_of_the_fleet(n: int) -> None:
    async with tenant() as t:
        await mapped_fleet(t, n, with_runs=True)
        for run_id in dict.fromkeys(("run-00000", f"run-{n - 1:05}")):  # the first and the last run
            before = t.requests()
            result = await CreateTicket(t.deps).execute(OPERATOR, run_id)
            assert (result.outcome, result.link.state) == (Created.CREATED, LinkState.LINKED)
            assert t.requests() - before == 2


def same_clock(world: UseCaseWorld) -> Callable[[], datetime]:
    return world.clock.now


async def linked_fleet(t: Tenant, n: int, *, closed: int = 0) -> list[int]:
    """`n` tickets made in Autotask an hour ago, each linked to a run; the first `closed` closed in Autotask with a
    time entry (so Backupchecks may not resolve them: they stay linked), as an earlier poll saw them."""
    company = next(companies(t, 1))
    async with t.world.uow(read_only=True) as uow:
        settings = await uow.settings.get()
    t.world.clock.at = T0 - timedelta(hours=1)
    ids: list[int] = []
    async with t.world.uow() as uow:
        for i in range(n):
            run_id = f"run-{i:05}"
            ticket_id = t.sim.create_ticket(
                {
                    "companyID": company,
                    "title": f"T{i}",
                    "status": STATUS_COMPLETE if i < closed else 1,
                    "priority": settings.priority_error_id,
                    "queueID": settings.default_queue_id,
                    "dueDateTime": "2026-01-16T02:10:00Z",
                    "externalID": external_id(settings.installation_id, run_id),
                }
            )
            if i < closed:
                t.sim.add_time_entry(ticket_id)
            status = TicketStatus(5, "Complete", T0) if i < closed else TicketStatus(1, "New", T0)
            link = TicketLink.reserve(run_id, external_id(settings.installation_id, run_id), "oscar", T0)
            await uow.tickets.reserve(link.linked(Ticket(ticket_id, f"T{i}", None, status)))
            ids.append(ticket_id)
        await uow.commit()
    t.world.clock.at = T0
    return ids


async def poll(t: Tenant, *, after_minutes: float = POLL_MINUTES) -> tuple[TicketsRefreshed, int]:
    """The scheduled poll, `after_minutes` after the last: its summary and the requests it cost."""
    t.world.clock.advance(after_minutes * 60)
    before = t.requests()
    summary = await RefreshTickets(t.deps, jobs=t.jobs).execute(OPERATOR)
    assert t.requests() - before == summary.autotask_calls
    return summary, summary.autotask_calls


@pytest.mark.parametrize("n", POLL_SIZES)
async def test_a_steady_status_poll_with_nothing_changed_costs_one_request(n: int) -> None:
    async with tenant(same_clock) as t:
        await linked_fleet(t, n)
        first, cost = await poll(t, after_minutes=0)
        assert first.full and cost == math.ceil(n / IN_BATCH) and (first.checked, first.changed) == (n, 0)
        for _ in range(3):
            steady, cost = await poll(t)
            assert not steady.full and cost == 1 and (steady.checked, steady.changed, steady.deleted) == (n, 0, 0)
        assert t.sim.counts["POST Tickets/query"] == math.ceil(n / IN_BATCH) + 3


@pytest.mark.parametrize(("closed", "still_open"), [(390, 10), (9_750, 250)])
async def test_tickets_closed_in_autotask_cost_nothing_while_nothing_changes(closed: int, still_open: int) -> None:
    async with tenant(same_clock) as t:
        await linked_fleet(t, closed + still_open, closed=closed)
        await poll(t, after_minutes=0)  # the first poll of the day reads every ticket
        steady, cost = await poll(t)
        assert cost == 1 and (steady.checked, steady.changed) == (closed + still_open, 0)


@pytest.mark.parametrize("n", POLL_SIZES)
async def test_a_ticket_closed_then_reopened_in_autotask_is_seen_for_one_request_each(n: int) -> None:
    async with tenant(same_clock) as t:
        ids = await linked_fleet(t, n)
        await poll(t, after_minutes=0)
        await poll(t)
        t.world.clock.advance(60)
        t.sim.set_ticket_status(ids[-1], STATUS_COMPLETE)
        closed, cost = await poll(t)
        assert (closed.changed, cost) == (1, 1)
        t.world.clock.advance(60)
        t.sim.set_ticket_status(ids[-1], 8)  # reopened: In Progress
        reopened, cost = await poll(t)
        assert (reopened.changed, cost) == (1, 1)
        async with t.world.uow(read_only=True) as uow:
            link = await uow.tickets.get(f"run-{n - 1:05}")
        assert link is not None and link.status is not None and link.status.value == 8
        assert link.state is LinkState.LINKED


async def test_a_change_inside_the_safety_margin_is_not_missed() -> None:
    def behind(world: UseCaseWorld) -> Callable[[], datetime]:
        return lambda: world.clock.now() - timedelta(minutes=4)  # Autotask's clock 4 minutes behind ours

    async with tenant(behind) as t:
        ids = await linked_fleet(t, 1_000)
        await poll(t, after_minutes=0)
        t.world.clock.advance(60)  # after the poll started by our clock, before it by Autotask's
        t.sim.set_ticket_status(ids[500], STATUS_COMPLETE)
        seen, cost = await poll(t)
        assert (seen.full, seen.changed, cost) == (False, 1, 1)


async def test_many_changes_page_by_500_and_the_daily_full_read_finds_deletions() -> None:
    async with tenant(same_clock) as t:
        ids = await linked_fleet(t, 2_000)
        await poll(t, after_minutes=0)
        t.world.clock.advance(60)
        for ticket_id in ids[:1_200]:
            t.sim.set_ticket_status(ticket_id, 8)
        busy, cost = await poll(t)
        assert (busy.changed, cost) == (1_200, 3)  # 1,200 changed tickets: three pages
        t.sim.delete_ticket(ids[-1])
        same_day, cost = await poll(t)
        assert (same_day.deleted, cost) == (0, 1)
        next_day, cost = await poll(t, after_minutes=24 * 60)
        # every ticket read again (5 `in` queries), and the one missing confirmed by a read of its own
        assert next_day.full and (next_day.deleted, cost) == (1, math.ceil(2_000 / IN_BATCH) + 1)
