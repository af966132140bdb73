from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from adapters.autotask_simulator import Simulator, create_app, running_simulator
from tests.asgi import asgi_transport

API = "/ATServicesRest/V1.0"
HEADERS = {"UserName": "api@example.com", "Secret": "s3cret", "ApiIntegrationCode": "TRACKING01"}
# the seeded tenant's queue 29683325 is "Helpdesk Queue"; issue type 40 "Backup" has sub-issue types below it
TICKET = {
    "companyID": 100,
    "title": "[Backupchecks] Acme - Nightly - Error",
    "status": 1,
    "priority": 2,
    "queueID": 29683325,
    "dueDateTime": "2026-01-16T02:10:00Z",
}


@pytest.fixture
def sim() -> Simulator:
    return Simulator.seeded()


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    transport = asgi_transport(create_app(sim))
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test", headers=HEADERS) as c:
        yield c


@pytest.fixture
async def live(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `sim` served over real HTTP on 127.0.0.1 (base URL: the server's root)."""
    with running_simulator(sim) as zone_base:
        root = zone_base.removesuffix("/atservicesrest")
        async with httpx.AsyncClient(base_url=root, headers=HEADERS) as c:
            yield c


async def create_ticket(client: httpx.AsyncClient, **fields: Any) -> int:
    response = await client.post(f"{API}/Tickets", json={**TICKET, **fields})
    assert response.status_code == 200, response.text
    item_id: int = response.json()["itemId"]
    return item_id
