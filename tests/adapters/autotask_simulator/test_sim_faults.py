"""Injected faults, request counting, the hourly budget, the thread limit, and real HTTP through running_simulator."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from adapters.autotask_simulator import Fault, Simulator, create_app, running_simulator
from tests.asgi import asgi_transport
from tests.support import FixedClock

from .conftest import API, HEADERS, TICKET, create_ticket

IN_QUERY = {"filter": [{"op": "in", "field": "id", "value": [100, 101]}]}


async def test_latency_answers_normally(client: httpx.AsyncClient, sim: Simulator) -> None:
    sim.inject(Fault("latency", seconds=0.01))
    assert (await client.get(f"{API}/Companies/100")).status_code == 200
    assert sim.faults == []


async def test_server_error_is_a_plain_503_and_is_used_up(client: httpx.AsyncClient, sim: Simulator) -> None:
    sim.inject(Fault("server_error", times=2))
    for _ in range(2):
        response = await client.get(f"{API}/Companies/100")
        assert response.status_code == 503 and response.headers["content-type"].startswith("text/plain")
    assert (await client.get(f"{API}/Companies/100")).status_code == 200


@pytest.mark.parametrize("retry_after", [None, 7])
async def test_throttle(client: httpx.AsyncClient, sim: Simulator, retry_after: int | None) -> None:
    sim.inject(Fault("throttle", retry_after=retry_after))
    response = await client.get(f"{API}/Companies/100")
    assert response.status_code == 429
    assert response.headers.get("Retry-After") == (None if retry_after is None else "7")


async def test_thread_limit_fault(client: httpx.AsyncClient, sim: Simulator) -> None:
    sim.inject(Fault("thread_limit"))  # the README's 500 variant, as before
    response = await client.get(f"{API}/Companies/100")
    assert response.status_code == 500 and "Thread Threshold Exceeded (Itgenatr005)" in response.json()["errors"][0]


async def test_faults_respect_entity_method_and_stickiness(client: httpx.AsyncClient, sim: Simulator) -> None:
    sim.inject(Fault("server_error", entity="Tickets", method="POST", times=None))
    assert (await client.get(f"{API}/Companies/100")).status_code == 200
    assert (await client.get(f"{API}/Tickets/1")).json() == {"item": None}
    for _ in range(3):
        assert (await client.post(f"{API}/Tickets", json=TICKET)).status_code == 503
    assert sim.tickets == {}
    sim.clear_faults()
    assert (await client.post(f"{API}/Tickets", json=TICKET)).status_code == 200


async def test_zone_discovery_is_hit_only_when_named(client: httpx.AsyncClient, sim: Simulator) -> None:
    sim.inject(Fault("server_error", times=None))
    zone = "/atservicesrest/v1.0/zoneInformation?user=api@example.com"
    assert (await client.get(zone)).status_code == 200
    sim.clear_faults()
    sim.inject(Fault("server_error", entity="zoneInformation"))
    assert (await client.get(zone)).status_code == 503


async def test_lost_answer_applies_the_create_then_answers_504(client: httpx.AsyncClient, sim: Simulator) -> None:
    sim.inject(Fault("lost_answer", entity="Tickets", method="POST", seconds=0.01))
    response = await client.post(f"{API}/Tickets", json={**TICKET, "externalID": "bc-run-1"})
    assert response.status_code == 504
    [ticket] = sim.tickets.values()
    assert ticket["externalID"] == "bc-run-1"
    found = await client.post(
        f"{API}/Tickets/query", json={"filter": [{"op": "eq", "field": "externalID", "value": "bc-run-1"}]}
    )
    assert [i["id"] for i in found.json()["items"]] == [ticket["id"]]


async def test_late_apply_answers_504_and_creates_the_ticket_seconds_later_by_its_clock() -> None:
    clock = FixedClock()
    sim = Simulator.seeded(clock=clock.now)
    transport = asgi_transport(create_app(sim))
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test", headers=HEADERS) as late:
        sim.inject(Fault("late_apply", entity="Tickets", method="POST", seconds=200))
        assert (await late.post(f"{API}/Tickets", json={**TICKET, "externalID": "bc-late"})).status_code == 504
        query = {"filter": [{"op": "eq", "field": "externalID", "value": "bc-late"}]}
        clock.advance(199)
        assert (await late.post(f"{API}/Tickets/query", json=query)).json()["items"] == [] and sim.tickets == {}
        clock.advance(1)
        [ticket] = (await late.post(f"{API}/Tickets/query", json=query)).json()["items"]  # applied before answering
    assert ticket["externalID"] == "bc-late" and list(sim.tickets) == [ticket["id"]] and sim.apply_due() == 0


async def test_patch_refused_leaves_put_working(client: httpx.AsyncClient, sim: Simulator) -> None:
    ticket_id = await create_ticket(client)
    sim.inject(Fault("patch_refused", times=None))
    refused = await client.patch(f"{API}/Tickets", json={"id": ticket_id, "status": 5})
    assert refused.status_code == 405 and "'PATCH'" in refused.json()["Message"]
    assert sim.tickets[ticket_id]["status"] == 1
    item = (await client.get(f"{API}/Tickets/{ticket_id}")).json()["item"]
    assert (await client.put(f"{API}/Tickets", json={**item, "status": 5})).status_code == 200
    assert sim.tickets[ticket_id]["status"] == 5 and sim.faults  # sticky, still there


async def test_in_refused_hits_only_queries_using_in(client: httpx.AsyncClient, sim: Simulator) -> None:
    sim.inject(Fault("in_refused", entity="Companies", times=None))
    assert (
        await client.post(f"{API}/Companies/query", json={"filter": [{"op": "eq", "field": "id", "value": 100}]})
    ).status_code == 200
    nested = {"filter": [{"op": "or", "items": IN_QUERY["filter"]}]}
    for body in (IN_QUERY, nested):
        response = await client.post(f"{API}/Companies/query", json=body)
        assert response.status_code == 500 and response.json()["errors"]


async def test_timeout_outlasts_a_short_client_timeout_over_real_http() -> None:
    sim = Simulator.seeded()
    with running_simulator(sim) as zone_base:
        sim.inject(Fault("timeout", entity="Companies", seconds=1.0))
        async with httpx.AsyncClient(headers=HEADERS, timeout=0.1) as client:
            with pytest.raises(httpx.ReadTimeout):
                await client.get(f"{zone_base}/v1.0/Companies/100")


async def test_counts_key_requests_by_method_and_template(client: httpx.AsyncClient, sim: Simulator) -> None:
    await client.get("/atservicesrest/v1.0/zoneInformation", params={"user": "api@example.com"})
    ticket_id = await create_ticket(client)
    await client.get(f"{API}/Tickets/{ticket_id}")
    await client.get(f"{API}/tickets/{ticket_id}")
    await client.patch(f"{API}/Tickets", json={"id": ticket_id, "priority": 1})
    await client.post(f"{API}/Tickets/query", json={"filter": [{"op": "exist", "field": "id"}]})
    await client.post(f"{API}/Tickets/{ticket_id}/Notes", json={"description": "n", "noteType": 1, "publish": 2})
    await client.post(
        f"{API}/TimeEntries/query/count", json={"filter": [{"op": "eq", "field": "ticketID", "value": ticket_id}]}
    )
    await client.get(f"{API}/Tickets/entityInformation/fields")
    await client.get(f"{API}/Companies/100", headers={"Secret": "wrong"})  # refused requests count too
    assert dict(sim.counts) == {
        "GET zoneInformation": 1,
        "POST Tickets": 1,
        "GET Tickets/{id}": 2,
        "PATCH Tickets": 1,
        "POST Tickets/query": 1,
        "POST Tickets/{id}/Notes": 1,
        "POST TimeEntries/query/count": 1,
        "GET Tickets/entityInformation/fields": 1,
        "GET Companies/{id}": 1,
    }


async def test_the_hourly_budget_throttles_and_recovers() -> None:
    now = [datetime(2026, 1, 15, 2, 0, tzinfo=UTC)]
    sim = Simulator.seeded(request_threshold=3, clock=lambda: now[0])
    transport = asgi_transport(create_app(sim))
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test", headers=HEADERS) as client:
        for _ in range(2):
            assert (await client.get(f"{API}/Companies/100")).status_code == 200
        usage = (await client.get(f"{API}/ThresholdInformation")).json()
        assert usage == {
            "externalRequestThreshold": 3,
            "requestThresholdTimeframe": 60,
            "currentTimeframeRequestCount": 3,
        }
        over = await client.get(f"{API}/Companies/100")
        assert over.status_code == 429 and over.headers["Retry-After"] == "3600"
        now[0] += timedelta(minutes=30)
        assert (await client.get(f"{API}/Companies/100")).headers["Retry-After"] == "1800"
        now[0] += timedelta(minutes=31)
        assert (await client.get(f"{API}/Companies/100")).status_code == 200


async def test_at_most_three_concurrent_requests_per_endpoint(client: httpx.AsyncClient, sim: Simulator) -> None:
    sim.inject(Fault("latency", entity="Companies", seconds=0.3, times=None))
    answers = await asyncio.gather(
        *(client.get(f"{API}/Companies/{100 + n}") for n in range(4)),
        client.get(f"{API}/Tickets/entityInformation/fields"),
    )
    codes = sorted(a.status_code for a in answers[:4])
    assert codes == [200, 200, 200, 429] and answers[4].status_code == 200
    assert "thread threshold of 3 threads" in next(a for a in answers if a.status_code == 429).json()["errors"][0]


async def test_real_http_round_trip_through_zone_discovery() -> None:
    sim = Simulator.seeded()
    with running_simulator(sim) as zone_base:
        assert zone_base.startswith("http://127.0.0.1:") and zone_base.endswith("/atservicesrest")
        async with httpx.AsyncClient(headers=HEADERS) as client:
            zone = (await client.get(f"{zone_base}/v1.0/zoneInformation", params={"user": "api@example.com"})).json()
            api = zone["url"] + "V1.0"
            assert zone["url"] == zone_base.replace("atservicesrest", "ATServicesRest") + "/"
            created = (await client.post(f"{api}/Tickets", json=TICKET)).json()["itemId"]
            item = (await client.get(f"{api}/Tickets/{created}")).json()["item"]
            assert item["title"] == TICKET["title"] and sim.tickets[created]["ticketNumber"] == item["ticketNumber"]
    assert sim.counts["POST Tickets"] == 1


def test_unknown_fault_kinds_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault("gremlins")
