"""The rules live tenants enforce that the fields documents do not show (README: "Rules that live tenants enforce")."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from adapters.autotask_simulator import Fault, Simulator

from .conftest import API, TICKET, create_ticket

QUEUE_RULE = (
    "assignedResourceID, assignedResourceRoleID, and queueID cannot all be empty. Supply a queueID or both "
    "an assignedResourceID and assignedResourceRoleID."
)


async def test_a_ticket_needs_a_due_date(client: httpx.AsyncClient) -> None:
    body = {k: v for k, v in TICKET.items() if k != "dueDateTime"}
    response = await client.post(f"{API}/Tickets", json=body)
    assert (response.status_code, response.json()) == (
        500,
        {"errors": ["dueDateTime is required.; on record number [0]."]},
    )
    ticket_id = await create_ticket(client)
    assert (await client.get(f"{API}/Tickets/{ticket_id}")).json()["item"]["dueDateTime"] == "2026-01-16T02:10:00Z"


async def test_a_category_with_a_due_date_makes_it_optional(sim: Simulator, client: httpx.AsyncClient) -> None:
    sim.require_due_date = False
    body = {k: v for k, v in TICKET.items() if k != "dueDateTime"}
    assert (await client.post(f"{API}/Tickets", json=body)).status_code == 200


@pytest.mark.parametrize("extra", [{}, {"assignedResourceID": 29682885}, {"assignedResourceRoleID": 29682833}])
async def test_a_ticket_needs_a_queue_or_a_resource_and_its_role(
    client: httpx.AsyncClient, extra: dict[str, int]
) -> None:
    body = {**{k: v for k, v in TICKET.items() if k != "queueID"}, **extra}
    response = await client.post(f"{API}/Tickets", json=body)
    assert (response.status_code, response.json()) == (500, {"errors": [QUEUE_RULE]})
    both = {**body, "assignedResourceID": 29682885, "assignedResourceRoleID": 29682833}
    assert (await client.post(f"{API}/Tickets", json=both)).status_code == 200


async def test_unknown_operators_are_silently_ignored(client: httpx.AsyncClient) -> None:
    first, second = await create_ticket(client, externalID="bc-1"), await create_ticket(client, externalID="bc-2")
    body = {"filter": [{"op": "equals", "field": "externalID", "value": "bc-1"}]}
    answer = (await client.post(f"{API}/Tickets/query", json=body)).json()
    assert [i["id"] for i in answer["items"]] == [first, second]  # unfiltered


async def test_missing_items_answer_200_with_a_null_item_or_404(sim: Simulator, client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/Tickets/4242")
    assert (response.status_code, response.json()) == (200, {"item": None})  # as live tenants answer
    sim.null_items = False
    response = await client.get(f"{API}/Tickets/4242")
    assert (response.status_code, response.json()) == (404, {"errors": ["Tickets with id 4242 was not found."]})


async def test_hidden_entities_answer_nothing_or_refuse(sim: Simulator, client: httpx.AsyncClient) -> None:
    ticket_id = await create_ticket(client)
    sim.add_time_entry(ticket_id)
    body = {"filter": [{"op": "eq", "field": "ticketID", "value": ticket_id}]}
    assert (await client.post(f"{API}/TimeEntries/query/count", json=body)).json() == {"queryCount": 1}
    sim.hidden["TimeEntries"] = "zero"
    assert (await client.post(f"{API}/TimeEntries/query/count", json=body)).json() == {"queryCount": 0}
    sim.hidden["TimeEntries"] = "forbidden"
    response = await client.post(f"{API}/TimeEntries/query/count", json=body)
    assert response.status_code == 500 and "permissions" in response.json()["errors"][0]


async def test_the_thread_limit_counts_every_method_on_one_entity(sim: Simulator, client: httpx.AsyncClient) -> None:
    """Three slow requests on Tickets (a read, a query, a note) fill its budget: a fourth of any method is refused
    with the thread-limit answer (429 by default), while another entity is still served."""
    ticket_id = await create_ticket(client)
    sim.inject(Fault("latency", entity="Tickets", times=3, seconds=0.3))
    slow = [
        client.get(f"{API}/Tickets/{ticket_id}"),
        client.post(f"{API}/Tickets/query", json={"filter": [{"op": "eq", "field": "id", "value": ticket_id}]}),
        client.post(f"{API}/Tickets/{ticket_id}/Notes", json={"description": "n", "noteType": 1, "publish": 2}),
    ]
    tasks = [asyncio.ensure_future(c) for c in slow]
    await asyncio.sleep(0.1)
    fourth = await client.get(f"{API}/Tickets/entityInformation/fields")
    other = await client.get(f"{API}/Companies/100")
    answers = await asyncio.gather(*tasks)
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert fourth.status_code == 429 and "thread threshold of 3 threads has been exceeded" in fourth.json()["errors"][0]
    assert other.status_code == 200
    assert (sim.peak_in_flight["Tickets"], sim.thread_refusals["Tickets"]) == (4, 1)
    assert sim.in_flight["Tickets"] == 0
