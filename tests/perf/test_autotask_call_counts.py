"""Autotask's request budget per operation, counted by the simulator over real HTTP (counts are deterministic):
refresh all mappings ⌈N/400⌉ plus one read per company missing from the answer, bulk ticket status refresh ⌈N/400⌉,
create 2 — for N = 1, 100 and 2,000."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

import pytest

from adapters.autotask import AutotaskConnector
from adapters.autotask_simulator import Simulator, running_simulator
from application.deps import Deps
from application.psa_connection import connect
from application.use_cases.create_ticket import Created, CreateTicket
from application.use_cases.refresh_all_mappings import RefreshAllMappings
from application.use_cases.refresh_tickets import RefreshTickets
from domain.mapping import CompanyLookup, CompanyMapping, MappingStatus
from domain.runs import Customer
from domain.tickets import LinkState, TicketLink, TicketStatus
from entrypoints.demo import _defaults
from tests.support import OPERATOR, PASSWORD, T0, UseCaseWorld, make_run

SIZES = (1, 100, 2_000)
IN_BATCH = 400
COMPANY_BASE = 10_000


@dataclass
class Tenant:
    world: UseCaseWorld
    sim: Simulator
    deps: Deps

    def requests(self) -> int:
        return sum(self.sim.counts.values())


@asynccontextmanager
async def tenant() -> AsyncIterator[Tenant]:
    """The use cases on a memory store, talking to the simulator through the real Autotask adapter."""
    world = UseCaseWorld()
    sim = Simulator(secret=PASSWORD, request_threshold=100_000)
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
                await uow.tickets.reserve(link.linked(ticket_id, f"T{i}", None, TicketStatus(1, "New", T0)))
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
