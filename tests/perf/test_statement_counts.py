"""A page costs a constant number of SQL statements, whatever its size: its runs' customers, mappings and ticket
links are read in one query each (counted on the engine, on SQLite and on PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from adapters.fake_psa.fake import FakeTicket
from adapters.sql import SqlStorage
from application.ports import MappingFilter, RunQuery
from application.use_cases.list_customers import CountCustomers, CustomerView, GetCustomer, ListCustomers
from application.use_cases.refresh_tickets import RefreshTickets
from application.use_cases.view_runs import GetRun, ListRuns, RunView
from domain.mapping import CompanyLookup, CompanyMapping
from domain.runs import Customer, RunStatus
from domain.tickets import STATUS_COMPLETE, Ticket, TicketLink, TicketStatus
from tests.storage_backends import SQL_BACKENDS, backend_params, storage_backend
from tests.support import OPERATOR, T0, UseCaseWorld, make_run

PAGE_SIZES = (1, 50, 500)
RUNS_PAGE_STATEMENTS = 6
"""BEGIN (SQLite), settings, the runs, their links, their customers, their customers' mappings."""
CUSTOMERS_PAGE_STATEMENTS = 3
"""BEGIN (SQLite), the customers, their mappings."""


@pytest.fixture(params=backend_params(SQL_BACKENDS))
async def world(request: pytest.FixtureRequest) -> AsyncIterator[UseCaseWorld]:
    """500 customers, each mapped, each with two runs (an error with a linked ticket, and a success)."""
    async with storage_backend(request.param) as storage:
        world = UseCaseWorld(uow=storage)
        await world.configure()
        async with world.uow() as uow:
            for n in range(max(PAGE_SIZES)):
                customer_id = f"cust-{n:04}"
                await uow.customers.save(Customer(customer_id, f"Customer {n}"))
                lookup = CompanyLookup.found(1000 + n, f"Company {n}", is_active=True)
                await uow.mappings.save(CompanyMapping.from_lookup(customer_id, lookup, T0))
                for suffix, status in (("e", RunStatus.ERROR), ("s", RunStatus.SUCCESS)):
                    run = replace(make_run(f"run-{n:04}-{suffix}", customer_id, status), run_at=T0 - timedelta(hours=n))
                    await uow.runs.save(run)
                link = TicketLink.reserve(f"run-{n:04}-e", f"bc:x:{n}", "oscar", T0)
                await uow.tickets.reserve(link.linked(Ticket(5000 + n, f"T{n}", None, TicketStatus(1, "New", T0))))
            await uow.commit()
        yield world


async def statements(storage: Any, page: Callable[[int], Awaitable[list[Any]]], sizes: tuple[int, ...]) -> list[int]:
    """The SQL statements `page(size)` sends, for each size; each page must hold `size` items."""
    assert isinstance(storage, SqlStorage)
    counts: list[int] = []
    for size in sizes:
        sent: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_args: Any, sent: list[str] = sent) -> None:
            sent.append(statement)

        event.listen(storage.engine.sync_engine, "before_cursor_execute", count)
        try:
            assert len(await page(size)) == size
        finally:
            event.remove(storage.engine.sync_engine, "before_cursor_execute", count)
        counts.append(len(sent))
    return counts


@pytest.mark.parametrize(
    "query",
    [RunQuery(), RunQuery(statuses=frozenset({RunStatus.ERROR})), RunQuery(has_ticket=True)],
    ids=["all", "errors", "with-ticket"],
)
async def test_a_runs_page_costs_the_same_statements_at_every_size(world: UseCaseWorld, query: RunQuery) -> None:
    counts = await statements(
        world.uow, lambda size: ListRuns(world.deps).execute(OPERATOR, replace(query, limit=size)), PAGE_SIZES
    )
    assert counts == [counts[0]] * len(PAGE_SIZES) and counts[0] <= RUNS_PAGE_STATEMENTS


async def test_a_run_detail_costs_no_more_than_a_page(world: UseCaseWorld) -> None:
    async def detail(_size: int) -> list[RunView]:
        return [await GetRun(world.deps).execute(OPERATOR, "run-0007-e")]

    assert await statements(world.uow, detail, (1,)) <= [RUNS_PAGE_STATEMENTS]


async def test_each_view_of_a_full_page_has_its_own_customer_and_ticket(world: UseCaseWorld) -> None:
    views = await ListRuns(world.deps).execute(OPERATOR, RunQuery(limit=500))
    for view in views:
        n = int(view.run.id.split("-")[1])
        assert view.customer_name == f"Customer {n}" and view.create_blocked_reason in (None, "run_not_ticketable")
        assert (view.ticket.ticket_id if view.ticket else None) == (5000 + n if view.run.id.endswith("e") else None)


@pytest.mark.parametrize(
    ("search", "mapping"), [(None, None), ("customer", None), (None, MappingFilter.OK), ("CUST-", MappingFilter.OK)]
)
async def test_a_customers_page_costs_the_same_statements_at_every_size(
    world: UseCaseWorld, search: str | None, mapping: MappingFilter | None
) -> None:
    def page(size: int) -> Awaitable[list[CustomerView]]:
        return ListCustomers(world.deps).execute(OPERATOR, size, search=search, mapping=mapping)

    counts = await statements(world.uow, page, PAGE_SIZES)
    assert counts == [counts[0]] * len(PAGE_SIZES) and counts[0] <= CUSTOMERS_PAGE_STATEMENTS


async def test_one_customer_and_the_count_cost_no_more_than_a_page(world: UseCaseWorld) -> None:
    async def one(_size: int) -> list[CustomerView]:
        return [await GetCustomer(world.deps).execute(OPERATOR, "cust-0499")]

    async def counted(_size: int) -> list[int]:
        return [await CountCustomers(world.deps).execute(OPERATOR, "customer 4", MappingFilter.OK)]

    assert await statements(world.uow, one, (1,)) <= [CUSTOMERS_PAGE_STATEMENTS]
    assert await statements(world.uow, counted, (1,)) <= [2]  # BEGIN (SQLite), the count


async def test_a_bulk_status_refresh_stores_every_change_in_one_statement(world: UseCaseWorld) -> None:
    """500 tickets closed in Autotask: one batched compare-and-set UPDATE of the links, not one per link."""
    for n in range(max(PAGE_SIZES)):
        world.psa.tickets[5000 + n] = FakeTicket(5000 + n, f"T{n}", 1000 + n, "t", "d", STATUS_COMPLETE, 1, 1, None)
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    assert isinstance(world.uow, SqlStorage)
    event.listen(world.uow.engine.sync_engine, "before_cursor_execute", count)
    try:
        refreshed = await RefreshTickets(world.deps).execute(OPERATOR)
    finally:
        event.remove(world.uow.engine.sync_engine, "before_cursor_execute", count)
    assert (refreshed.checked, refreshed.changed) == (500, 500)
    assert len([s for s in sent if s.lstrip().startswith(("UPDATE", "WITH"))]) == 1
    async with world.uow(read_only=True) as uow:
        statuses = {link.status.value for link in await uow.tickets.list_open() if link.status is not None}
    assert statuses == {STATUS_COMPLETE}
