"""README facts the simulator missed at first: `in` lists of at most 500 values, times with and without fractional
seconds, permission refusals as 500 "adequate permissions", and a missing item answered as `200 {"item": null}`."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from adapters.autotask_simulator import Fault, Simulator, create_app
from tests.asgi import asgi_transport

from .conftest import API, HEADERS, TICKET, create_ticket


async def test_an_in_list_holds_at_most_500_values(client: httpx.AsyncClient) -> None:
    ok = await client.post(
        f"{API}/Companies/query", json={"filter": [{"op": "in", "field": "id", "value": list(range(500))}]}
    )
    assert ok.status_code == 200 and [i["id"] for i in ok.json()["items"]] == [0, 100, 101, 102, 103, 104, 105]
    big = await client.post(
        f"{API}/Companies/query",
        json={"filter": [{"op": "or", "items": [{"op": "in", "field": "id", "value": list(range(501))}]}]},
    )
    assert big.status_code == 500 and "500" in big.json()["errors"][0]


@pytest.mark.parametrize(
    ("moment", "shown"),
    [
        (datetime(2026, 1, 15, 2, 10, 0, tzinfo=UTC), "2026-01-15T02:10:00Z"),
        (datetime(2026, 1, 15, 2, 10, 0, 430000, tzinfo=UTC), "2026-01-15T02:10:00.43Z"),
        (datetime(2026, 1, 15, 2, 10, 0, 123456, tzinfo=UTC), "2026-01-15T02:10:00.123Z"),
    ],
)
async def test_times_come_with_and_without_fractional_seconds(moment: datetime, shown: str) -> None:
    sim = Simulator.seeded(clock=lambda: moment)
    transport = asgi_transport(create_app(sim))
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test", headers=HEADERS) as client:
        ticket_id = await create_ticket(client)
        item = (await client.get(f"{API}/Tickets/{ticket_id}")).json()["item"]
        assert item["createDate"] == shown and item["lastActivityDate"] == shown
        for value in ("2026-01-15T02:09:59Z", "2026-01-15T02:09:59.9999999Z", "2026-01-15T02:09:59.5+00:00"):
            found = await client.post(
                f"{API}/Tickets/query", json={"filter": [{"op": "gt", "field": "createDate", "value": value}]}
            )
            assert [i["id"] for i in found.json()["items"]] == [ticket_id], value


async def test_a_permission_fault_is_a_500_about_adequate_permissions(
    client: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.inject(Fault("forbidden", entity="Tickets", method="POST"))
    refused = await client.post(f"{API}/Tickets", json=TICKET)
    assert refused.status_code == 500 and "adequate permissions" in refused.json()["errors"][0]
    assert sim.tickets == {}


async def test_a_null_item_fault_answers_a_missing_id_with_200_and_null(
    client: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.inject(Fault("null_item", entity="Tickets", times=None))
    ticket_id = await create_ticket(client)
    missing = await client.get(f"{API}/Tickets/999")
    assert (missing.status_code, missing.json()) == (200, {"item": None})
    assert (await client.get(f"{API}/Tickets/{ticket_id}")).json()["item"]["id"] == ticket_id
