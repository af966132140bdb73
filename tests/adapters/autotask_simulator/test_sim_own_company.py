"""The tenant itself: `GET Companies/0` is the tenant's own company (its name tells which database an API user
reaches), and company queries see it like any other. Over real HTTP."""

from __future__ import annotations

import httpx

from adapters.autotask_simulator import Simulator, running_simulator

from .conftest import API, HEADERS


async def test_company_0_is_the_tenant_and_queries_see_it(live: httpx.AsyncClient) -> None:
    own = await live.get(f"{API}/Companies/0")
    assert own.json() == {"item": {"id": 0, "companyName": "Simulated MSP", "isActive": True, "userDefinedFields": []}}
    found = await live.post(
        f"{API}/Companies/query", json={"filter": [{"op": "contains", "field": "companyName", "value": "simulated"}]}
    )
    assert [i["id"] for i in found.json()["items"]] == [0]


async def test_the_tenant_name_is_configurable() -> None:
    sim = Simulator.seeded(own_company_name="Contoso IT (sandbox)")
    with running_simulator(sim) as zone_base:
        async with httpx.AsyncClient(headers=HEADERS) as client:
            item = (await client.get(f"{zone_base}/v1.0/Companies/0")).json()["item"]
    assert item["companyName"] == "Contoso IT (sandbox)"
    sim.rename_company(0, "Contoso IT")
    assert sim.companies[0]["companyName"] == "Contoso IT"
