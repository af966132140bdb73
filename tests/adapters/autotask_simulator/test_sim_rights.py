"""The API user's rights: `GET {Entity}/entityInformation` shows them, and the simulator enforces them. A time-entry
query short of "All" sees only the API user's own entries, so a count of 0 proves nothing. Over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from adapters.autotask_simulator import Simulator

from .conftest import API, create_ticket

NOTE = {"description": "n", "noteType": 1, "publish": 2}


def count_body(ticket_id: int) -> dict[str, object]:
    return {"filter": [{"op": "eq", "field": "ticketID", "value": ticket_id}]}


async def test_entity_information_shows_what_the_entity_supports_and_the_users_access(
    live: httpx.AsyncClient,
) -> None:
    tickets = (await live.get(f"{API}/Tickets/entityInformation")).json()
    assert tickets == {
        "info": {
            "name": "Tickets",
            "canCreate": True,
            "canUpdate": True,
            "canDelete": False,
            "canQuery": True,
            "hasUserDefinedFields": True,
            "userAccessForCreate": "All",
            "userAccessForQuery": "All",
            "userAccessForUpdate": "All",
            "userAccessForDelete": "None",
            "supportsWebhookCallouts": True,
        }
    }
    for entity in ("TicketNotes", "TimeEntries", "Companies", "BillingCodes", "TicketCategories"):
        info = (await live.get(f"{API}/{entity.lower()}/entityinformation")).json()["info"]
        assert info["name"] == entity and info["canQuery"] and info["userAccessForQuery"] == "All", entity
    assert (await live.get(f"{API}/TimeEntries/entityInformation")).json()["info"]["canDelete"] is True
    assert (await live.get(f"{API}/Nope/entityInformation")).status_code == 404


async def test_set_access_shows_in_entity_information(live: httpx.AsyncClient, sim: Simulator) -> None:
    sim.set_access("TimeEntries", query="Restricted")
    sim.set_access("Tickets", create="None", update="Mine")
    entries = (await live.get(f"{API}/TimeEntries/entityInformation")).json()["info"]
    tickets = (await live.get(f"{API}/Tickets/entityInformation")).json()["info"]
    assert entries["userAccessForQuery"] == "Restricted" and entries["userAccessForCreate"] == "All"
    assert (tickets["userAccessForCreate"], tickets["userAccessForUpdate"]) == ("None", "Mine")
    with pytest.raises(ValueError, match="unknown access level"):
        sim.set_access("Tickets", query="Everything")
    with pytest.raises(KeyError):
        sim.set_access("Nope", query="All")


async def test_no_create_right_refuses_creates_like_the_forbidden_fault(
    live: httpx.AsyncClient, sim: Simulator
) -> None:
    ticket_id = await create_ticket(live)
    sim.set_access("Tickets", create="None")
    refused = await live.post(f"{API}/Tickets", json={"title": "x"})
    assert (refused.status_code, refused.json()) == (
        500,
        {"errors": ["User does not have adequate permissions to create Tickets."]},
    )
    assert list(sim.tickets) == [ticket_id]
    sim.set_access("TicketNotes", create="None")
    note = await live.post(f"{API}/Tickets/{ticket_id}/Notes", json=NOTE)
    assert note.json() == {"errors": ["User does not have adequate permissions to create TicketNotes."]}
    assert sim.notes == {}


async def test_update_rights_none_refuses_and_mine_allows_only_the_users_own(
    live: httpx.AsyncClient, sim: Simulator
) -> None:
    ticket_id = await create_ticket(live)
    sim.set_access("Tickets", update="None")
    refused = await live.patch(f"{API}/Tickets", json={"id": ticket_id, "status": 5})
    assert refused.json() == {"errors": ["User does not have adequate permissions to update Tickets."]}
    sim.set_access("Tickets", update="Mine")  # the API user made this ticket: it is its own
    assert (await live.patch(f"{API}/Tickets", json={"id": ticket_id, "status": 5})).status_code == 200
    sim.by_api_user["Tickets"].clear()  # as if a person had made it in Autotask
    refused = await live.patch(f"{API}/Tickets", json={"id": ticket_id, "status": 1})
    assert refused.status_code == 500 and "adequate permissions to update" in refused.json()["errors"][0]
    assert sim.tickets[ticket_id]["status"] == 5


@pytest.mark.parametrize("level", ["Mine", "Restricted"])
async def test_time_entries_short_of_all_count_only_the_users_own(
    live: httpx.AsyncClient, sim: Simulator, level: str
) -> None:
    ticket_id = await create_ticket(live)
    entries = [sim.add_time_entry(ticket_id), sim.add_time_entry(ticket_id, hours=2)]  # logged by technicians
    count = await live.post(f"{API}/TimeEntries/query/count", json=count_body(ticket_id))
    assert count.json() == {"queryCount": 2}
    sim.set_access("TimeEntries", query=level)
    count = await live.post(f"{API}/TimeEntries/query/count", json=count_body(ticket_id))
    assert count.json() == {"queryCount": 0}  # the danger: entries exist, the API user cannot see them
    items = (await live.post(f"{API}/TimeEntries/query", json=count_body(ticket_id))).json()["items"]
    assert items == []
    assert (await live.get(f"{API}/TimeEntries/{entries[0]}")).json() == {"item": None}
    own = sim.add_time_entry(ticket_id, by_api_user=True)
    count = await live.post(f"{API}/TimeEntries/query/count", json=count_body(ticket_id))
    assert count.json() == {"queryCount": 1}
    assert (await live.get(f"{API}/TimeEntries/{own}")).json()["item"]["id"] == own


async def test_no_query_right_refuses_queries_and_hides_items(live: httpx.AsyncClient, sim: Simulator) -> None:
    sim.set_access("Companies", query="None")
    refused = await live.post(f"{API}/Companies/query", json={"filter": [{"op": "exist", "field": "id"}]})
    assert (refused.status_code, refused.json()) == (
        500,
        {"errors": ["User does not have adequate permissions to query Companies."]},
    )
    count = await live.post(f"{API}/Companies/query/count", json={"filter": [{"op": "exist", "field": "id"}]})
    assert count.status_code == 500
    assert (await live.get(f"{API}/Companies/100")).json() == {"item": None}  # unseen answers like missing


async def test_tickets_the_api_user_made_are_its_own(live: httpx.AsyncClient, sim: Simulator) -> None:
    ticket_id = await create_ticket(live)
    note_id = (await live.post(f"{API}/Tickets/{ticket_id}/Notes", json=NOTE)).json()["itemId"]
    sim.set_access("Tickets", query="Mine")
    sim.set_access("TicketNotes", query="Mine")
    assert (await live.get(f"{API}/Tickets/{ticket_id}")).json()["item"]["id"] == ticket_id
    notes = await live.post(f"{API}/TicketNotes/query", json=count_body(ticket_id))
    assert [n["id"] for n in notes.json()["items"]] == [note_id]
