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
