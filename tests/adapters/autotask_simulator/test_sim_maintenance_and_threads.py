"""Autotask maintenance (`200` with an HTML page: not a success, and for a create the outcome is unknown) and the
thread-limit refusal (`429` "thread threshold of 3 threads has been exceeded" by default, `500` Itgenatr005 as a
switch, and both as a fault). Over real HTTP."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from adapters.autotask_simulator import Fault, Simulator, running_simulator

from .conftest import API, HEADERS, TICKET

THRESHOLD = (
    "API thread threshold of 3 threads has been exceeded for this integration code and the Tickets endpoint. "
    "Retry the request later."
)


def by_external_id(external_id: str) -> dict[str, object]:
    return {"filter": [{"op": "eq", "field": "externalID", "value": external_id}]}


async def test_maintenance_answers_200_with_an_html_page(live: httpx.AsyncClient, sim: Simulator) -> None:
    sim.inject(Fault("maintenance", times=2))
    for path in ("Companies/100", "Tickets/entityInformation/fields"):
        page = await live.get(f"{API}/{path}")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert page.text.startswith("<!DOCTYPE html>") and "scheduled maintenance" in page.text
    assert (await live.get(f"{API}/Companies/100")).json()["item"]["id"] == 100  # used up


async def test_maintenance_on_a_create_that_did_not_land(live: httpx.AsyncClient, sim: Simulator) -> None:
    sim.inject(Fault("maintenance", entity="Tickets", method="POST"))
    page = await live.post(f"{API}/Tickets", json={**TICKET, "externalID": "bc-m-1"})
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert sim.tickets == {}
    found = await live.post(f"{API}/Tickets/query", json=by_external_id("bc-m-1"))
    assert found.json()["items"] == []


async def test_maintenance_on_a_create_that_landed(live: httpx.AsyncClient, sim: Simulator) -> None:
    sim.inject(Fault("maintenance", entity="Tickets", method="POST", applied=True))
    page = await live.post(f"{API}/Tickets", json={**TICKET, "externalID": "bc-m-2"})
    assert page.status_code == 200 and "scheduled maintenance" in page.text  # no itemId: the outcome is unknown
    [ticket] = sim.tickets.values()
    found = await live.post(f"{API}/Tickets/query", json=by_external_id("bc-m-2"))
    assert [i["id"] for i in found.json()["items"]] == [ticket["id"]]  # what a careful client looks for


async def test_maintenance_on_a_patch_that_landed(live: httpx.AsyncClient, sim: Simulator) -> None:
    ticket_id = (await live.post(f"{API}/Tickets", json=TICKET)).json()["itemId"]
    sim.inject(Fault("maintenance", entity="Tickets", method="PATCH", applied=True))
    page = await live.patch(f"{API}/Tickets", json={"id": ticket_id, "status": 5})
    assert "text/html" in page.headers["content-type"] and sim.tickets[ticket_id]["status"] == 5


async def test_over_three_requests_in_flight_answer_429_with_autotasks_words(
    live: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.inject(Fault("latency", entity="Tickets", seconds=0.3, times=None))
    answers = await asyncio.gather(*(live.get(f"{API}/Tickets/{n}") for n in range(5)))
    refused = [a for a in answers if a.status_code != 200]
    assert [a.status_code for a in refused] == [429, 429]
    assert all(a.json() == {"errors": [THRESHOLD]} for a in refused)
    assert "Retry-After" not in refused[0].headers
    assert (sim.thread_refusals["Tickets"], sim.peak_in_flight["Tickets"]) == (2, 4)


async def test_the_thread_refusal_can_be_the_readmes_500() -> None:
    sim = Simulator.seeded(thread_limit_status=500)
    sim.inject(Fault("latency", entity="Companies", seconds=0.3, times=None))
    with running_simulator(sim) as zone_base:
        async with httpx.AsyncClient(headers=HEADERS) as client:
            answers = await asyncio.gather(*(client.get(f"{zone_base}/v1.0/Companies/{100 + n}") for n in range(4)))
    [refused] = [a for a in answers if a.status_code != 200]
    assert refused.status_code == 500 and refused.json()["errors"][0].startswith(
        "Rejected: Thread Threshold Exceeded (Itgenatr005)"
    )
    with pytest.raises(ValueError, match="429 or 500"):
        Simulator(thread_limit_status=503)


@pytest.mark.parametrize(("status", "words"), [(None, "Thread Threshold Exceeded (Itgenatr005)"), (429, THRESHOLD)])
async def test_the_thread_limit_fault_answers_either_way(
    live: httpx.AsyncClient, sim: Simulator, status: int | None, words: str
) -> None:
    sim.inject(Fault("thread_limit", entity="Tickets", method="POST", status=status))
    response = await live.post(f"{API}/Tickets", json=TICKET)
    assert response.status_code == (status or 500) and words in response.json()["errors"][0]
    assert sim.tickets == {}  # a thread-limit refusal was not processed: safe to retry
    assert (await live.post(f"{API}/Tickets", json=TICKET)).status_code == 200
    with pytest.raises(ValueError, match="429 or 500"):
        Fault("thread_limit", status=503)
