"""Changes since: every change of a ticket, of its notes and of its time entries moves the ticket's
`lastTrackedModificationDateTime`, and a status poll asks only for what changed (`externalID beginsWith` our prefix
and `lastTrackedModificationDateTime gt` its last run), over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from adapters.autotask_simulator import Simulator, running_simulator

from .conftest import API, HEADERS, create_ticket

T0 = datetime(2026, 1, 15, 2, 10, tzinfo=UTC)
PREFIX = "bc-1a2b3c4d-"


class Clock:
    def __init__(self) -> None:
        self.at = T0

    def now(self) -> datetime:
        return self.at

    def advance(self, minutes: float) -> datetime:
        self.at += timedelta(minutes=minutes)
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def http(clock: Clock) -> AsyncIterator[tuple[Simulator, httpx.AsyncClient]]:
    sim = Simulator.seeded(clock=clock.now)
    with running_simulator(sim) as zone_base:
        async with httpx.AsyncClient(base_url=zone_base.removesuffix("/atservicesrest"), headers=HEADERS) as client:
            yield sim, client


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


async def changed(client: httpx.AsyncClient, since: datetime, prefix: str = PREFIX) -> list[int]:
    body = {
        "filter": [
            {"op": "beginsWith", "field": "externalID", "value": prefix},
            {"op": "gt", "field": "lastTrackedModificationDateTime", "value": stamp(since)},
        ]
    }
    response = await client.post(f"{API}/Tickets/query", json=body)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def read(client: httpx.AsyncClient, ticket_id: int) -> dict[str, Any]:
    item: dict[str, Any] = (await client.get(f"{API}/Tickets/{ticket_id}")).json()["item"]
    return item


async def test_a_new_ticket_carries_its_tracked_modification_time(http: tuple[Simulator, httpx.AsyncClient]) -> None:
    _, client = http
    ticket_id = await create_ticket(client, externalID=PREFIX + "run-1")
    assert (await read(client, ticket_id))["lastTrackedModificationDateTime"] == stamp(T0)


async def test_status_notes_and_time_entries_each_move_the_tracked_modification_time(
    http: tuple[Simulator, httpx.AsyncClient], clock: Clock
) -> None:
    sim, client = http
    ticket_id = await create_ticket(client, externalID=PREFIX + "run-1")
    patched = clock.advance(5)
    assert (await client.patch(f"{API}/Tickets", json={"id": ticket_id, "status": 5})).status_code == 200
    assert (await read(client, ticket_id))["lastTrackedModificationDateTime"] == stamp(patched)
    noted = clock.advance(5)
    note = {"title": "n", "description": "note", "noteType": 1, "publish": 2}
    assert (await client.post(f"{API}/Tickets/{ticket_id}/Notes", json=note)).status_code == 200
    assert (await read(client, ticket_id))["lastTrackedModificationDateTime"] == stamp(noted)
    worked = clock.advance(5)
    sim.add_time_entry(ticket_id)
    assert (await read(client, ticket_id))["lastTrackedModificationDateTime"] == stamp(worked)
    reopened = clock.advance(5)
    sim.set_ticket_status(ticket_id, 1)  # someone reopens it in Autotask
    assert (await read(client, ticket_id))["lastTrackedModificationDateTime"] == stamp(reopened)


async def test_a_poll_asks_only_for_our_tickets_changed_since_its_last_run(
    http: tuple[Simulator, httpx.AsyncClient], clock: Clock
) -> None:
    sim, client = http
    ours = [await create_ticket(client, externalID=f"{PREFIX}run-{i}") for i in range(3)]
    other = await create_ticket(client, externalID="bc-99999999-run-0")  # another installation's
    unmarked = await create_ticket(client)  # no externalID at all
    assert await changed(client, T0 - timedelta(minutes=5)) == ours
    last_poll = clock.advance(15)
    assert await changed(client, last_poll) == []
    clock.advance(1)
    sim.set_ticket_status(ours[1], 5)
    sim.set_ticket_status(other, 5)
    sim.set_ticket_status(unmarked, 5)
    assert await changed(client, last_poll) == [ours[1]]
    assert await changed(client, last_poll, PREFIX.upper()) == [ours[1]]  # text compares without case, as SQL Server
    sim.add_time_entry(ours[2])
    assert await changed(client, last_poll) == [ours[1], ours[2]]
    assert await changed(client, clock.now()) == []  # `gt`: a change at the very second asked for is not "after"


async def test_a_misspelled_operator_is_ignored_and_the_answer_comes_back_unfiltered(
    http: tuple[Simulator, httpx.AsyncClient],
) -> None:
    _, client = http
    ours = await create_ticket(client, externalID=PREFIX + "run-1")
    other = await create_ticket(client, externalID="someone-else")
    body = {"filter": [{"op": "startsWith", "field": "externalID", "value": PREFIX}]}
    response = await client.post(f"{API}/Tickets/query", json=body)
    assert [i["id"] for i in response.json()["items"]] == [ours, other]
