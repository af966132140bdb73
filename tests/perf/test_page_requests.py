"""What one HTTP request costs, counted as the server sees it: the SQL statements sent on the engine during the
request (the session check, every use case it calls and the background work it starts: the ASGI call returns after
that), the Autotask requests at the fake PSA and the audit records written, for the pages operators open and the API
lists, on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from adapters.sql import SqlStorage
from domain.mapping import CompanyLookup, CompanyMapping
from domain.roles import Role
from domain.runs import Customer, RunStatus
from tests.http.conftest import AT, HttpWorld, app_on_backend
from tests.http.test_input_checks import WEB_PASSWORD, web_sign_in
from tests.storage_backends import SQL_BACKENDS, backend_params
from tests.support import make_run

WRITES = re.compile(r"\s*(INSERT|UPDATE|DELETE|BEGIN IMMEDIATE)\b", re.IGNORECASE)


@dataclass
class Served:
    world: HttpWorld
    client: httpx.AsyncClient
    storage: SqlStorage

    @property
    def autotask_requests(self) -> int:
        return self.world.psa.total_calls

    async def audit_records(self) -> int:
        async with self.storage(read_only=True) as uow:
            return len(await uow.audit.all())

    async def seed(self, customers: int, tickets: int = 0) -> None:
        """`customers` customers, each mapped to its own company with one failed run; the first `tickets` runs
        with a ticket made by the operator over HTTP."""
        async with self.storage() as uow:
            await uow.settings.save(self.world.configured(await uow.settings.get()))
            for n in range(customers):
                customer_id, company_id = f"cust-{n:03}", 1000 + n
                self.world.psa.add_company(company_id, f"Company {n}")
                await uow.customers.save(Customer(customer_id, f"Customer {n}"))
                lookup = CompanyLookup.found(company_id, f"Company {n}", is_active=True)
                await uow.mappings.save(CompanyMapping.from_lookup(customer_id, lookup, AT))
                await uow.runs.save(make_run(f"run-{n:03}", customer_id, RunStatus.ERROR))
            await uow.commit()
        for n in range(tickets):
            created = await self.client.post(
                f"/api/v1/runs/run-{n:03}/autotask-ticket", headers=self.world.auth(Role.OPERATOR)
            )
            assert created.status_code == 201, created.text


@pytest.fixture(params=backend_params(SQL_BACKENDS))
async def served(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Served]:
    async with app_on_backend(request.param, tmp_path, WEB_PASSWORD) as (world, client):
        storage = world.container.storage()
        assert isinstance(storage, SqlStorage)
        yield Served(world, client, storage)


@contextmanager
def statements(storage: SqlStorage) -> Iterator[list[str]]:
    """The statements sent on the storage's engine while the block runs."""
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(storage.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(storage.engine.sync_engine, "before_cursor_execute", count)


def writes(sent: list[str]) -> list[str]:
    return [s for s in sent if WRITES.match(s)]


async def test_customers_views_ask_autotask_once_per_interval_and_write_nothing_when_nothing_changed(
    served: Served,
) -> None:
    await served.seed(customers=20)
    await web_sign_in(served.client, Role.OPERATOR)
    records, asked = await served.audit_records(), served.autotask_requests
    with statements(served.storage) as first:
        assert (await served.client.get("/customers")).status_code == 200
    assert served.autotask_requests == asked + 1  # the background re-check: one bulk read of the 20 companies
    assert all("job_leases" in s for s in writes(first) if not s.lstrip().upper().startswith("BEGIN")), first
    for _ in range(3):
        asked = served.autotask_requests
        with statements(served.storage) as sent:
            assert (await served.client.get("/customers")).status_code == 200
        assert (served.autotask_requests, writes(sent)) == (asked, [])
    assert await served.audit_records() == records  # nothing changed: no mapping written, nothing audited


async def test_run_checks_views_refresh_at_most_once_per_interval_and_audit_nothing(served: Served) -> None:
    await served.seed(customers=6, tickets=4)
    await web_sign_in(served.client, Role.OPERATOR)
    records = await served.audit_records()
    assert (await served.client.get("/runs")).status_code == 200  # the first view refreshes the shown tickets
    asked = served.autotask_requests
    for _ in range(4):
        with statements(served.storage) as sent:
            answer = await served.client.get("/runs")
        assert answer.status_code == 200 and "Customer 3" in answer.text
        assert writes(sent) == []
    assert served.autotask_requests == asked  # within the interval no view asks Autotask again
    assert await served.audit_records() == records  # no ticket changed in Autotask: no `ticket.refresh` record


MAX_STATEMENTS = 8
"""Issue 20's goal: every page and list costs at most this many SQL statements per HTTP request (SQLite's `BEGIN`
counts: it is a round trip too), whatever the number of customers, runs and tickets behind it."""

WEB_PAGES = (
    "/runs",
    "/runs?f=1&status=error&status=warning&customer=cust-002&ticket=yes&since=2020-01-01&until=2030-12-31",
    "/runs?f=1&status=error&ticket=no",
    "/runs/run-002",
    "/customers",
    "/customers/cust-002",
    "/audit",
    "/settings/autotask",
    "/users",
)
API_LISTS = (
    "/api/v1/runs",
    "/api/v1/runs?limit=1",
    "/api/v1/runs?limit=500",
    "/api/v1/runs?status=error&customer_id=cust-002&has_ticket=true",
    "/api/v1/runs/run-002",
    "/api/v1/customers",
    "/api/v1/customers?limit=1",
    "/api/v1/customers?limit=500",
    "/api/v1/audit",
)
OVER_GOAL: dict[str, dict[str, int]] = {
    "sqlite": {"/runs": 12, "/runs/": 10, "/customers": 10, "/settings/": 15, "/users": 9},
    "postgresql": {},
}
"""The pages still over the goal, with what they cost now (a ceiling: a page may only get cheaper). Each web page
pays two units of work for the session check (the session; its user with the settings, which the banner, Run Checks,
a run's page and the Settings page's job status use) before its own; SQLite counts each unit's BEGIN. The Users
page reads every user's failed sign-ins (whether Unlock does anything) in one more read of the session store. See
docs/performance.md for what would close the gap."""


def ceiling(backend: str, path: str) -> int:
    """The most `path` may cost: its longest matching prefix's count, else the goal."""
    known = sorted((len(prefix), n) for prefix, n in OVER_GOAL[backend].items() if path.startswith(prefix))
    return known[-1][1] if known else MAX_STATEMENTS


@pytest.mark.parametrize("customers", [3, 40])
async def test_pages_and_lists_cost_a_constant_number_of_statements_per_request(served: Served, customers: int) -> None:
    await served.seed(customers=customers, tickets=3)
    await web_sign_in(served.client, Role.ADMIN)
    for path in WEB_PAGES:
        assert (await served.client.get(path)).status_code == 200, path  # the first view starts its refresh
    costs = {}
    for path in WEB_PAGES:
        with statements(served.storage) as sent:
            answer = await served.client.get(path)
        assert answer.status_code == 200, (path, answer.text)
        costs[path] = len(sent)
    for path in API_LISTS:
        with statements(served.storage) as sent:
            answer = await served.client.get(path, headers=served.world.auth(Role.ADMIN))
        assert answer.status_code == 200, (path, answer.text)
        costs[path] = len(sent)
    backend = served.storage.engine.dialect.name
    over = {p: n for p, n in costs.items() if n > ceiling(backend, p)}
    assert over == {}, "\n".join(f"{n:3} {p}" for p, n in costs.items())
    assert all(costs[p] <= MAX_STATEMENTS for p in API_LISTS)


async def test_the_run_checks_customer_filter_reads_ids_and_names_only(served: Served) -> None:
    await served.seed(customers=40)
    await web_sign_in(served.client, Role.OPERATOR)
    with statements(served.storage) as sent:
        answer = await served.client.get("/runs?f=1&status=error&customer=cust-017")
    assert answer.status_code == 200
    offered = re.findall(r'<option value="(cust-\d+)">Customer \d+</option>', answer.text)
    assert len(offered) == 40 and 'list="customer-choices"' in answer.text and 'value="cust-017"' in answer.text
    assert re.findall(r'data-run="([^"]+)"', answer.text) == ["run-017"]  # the filter still takes the customer id
    flat = [" ".join(s.split()) for s in sent]
    names = [s for s in flat if s.startswith("SELECT customers.id, customers.name FROM customers ORDER BY")]
    mappings = [s for s in flat if "FROM company_mappings" in s]
    assert len(names) == 1 and len(mappings) == 1  # the one mapping read is the shown run's, not the filter's
