"""Ticket validation driven by the tenant's fields document; the real tenant sample and Datto's Postman bodies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.autotask_simulator import Simulator, create_app
from tests.asgi import asgi_transport

from .conftest import API, HEADERS, TICKET, create_ticket

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "autotask"


def postman_body(name: str) -> str:
    collection = json.loads((FIXTURES / "autotask-official-postman-collection-2020-10-29.json").read_text())
    stack: list[dict[str, Any]] = list(collection["item"])
    while stack:
        item = stack.pop()
        stack.extend(item.get("item", []))
        if item.get("name") == name:
            raw: str = item["request"]["body"]["raw"]
            return raw
    raise LookupError(name)


async def errors_of(client: httpx.AsyncClient, body: dict[str, Any]) -> list[str]:
    response = await client.post(f"{API}/Tickets", json=body)
    assert response.status_code == 500, response.text
    errors: list[str] = response.json()["errors"]
    return errors


async def test_the_seeded_tenant_requires_company_title_status_priority(client: httpx.AsyncClient) -> None:
    assert await errors_of(client, {"queueID": 29683325}) == [
        "Missing Required Field: companyID.",
        "Missing Required Field: priority.",
        "Missing Required Field: status.",
        "Missing Required Field: title.",
    ]
    for field in ("companyID", "title", "status", "priority"):
        body = {k: v for k, v in TICKET.items() if k != field}
        assert await errors_of(client, body) == [f"Missing Required Field: {field}."]
    assert await errors_of(client, {**TICKET, "title": ""}) == ["Missing Required Field: title."]


async def test_a_tenant_can_require_more(client: httpx.AsyncClient, sim: Simulator) -> None:
    sim.set_field_required("Tickets", "billingCodeID")
    assert await errors_of(client, TICKET) == ["Missing Required Field: billingCodeID."]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"status": 99}, "Invalid picklist value '99' for field 'status': not in the Tickets picklist."),
        ({"status": 9}, "Picklist value '9' (Waiting Materials) for field 'status' is inactive."),
        ({"priority": 4}, "Invalid picklist value '4' for field 'priority': not in the Tickets picklist."),
        ({"queueID": 29714027}, "Picklist value '29714027' (To be Scheduled) for field 'queueID' is inactive."),
        ({"issueType": 20}, "Picklist value '20' (Backup System) for field 'issueType' is inactive."),
        ({"source": 3}, "Invalid picklist value '3' for field 'source': not in the Tickets picklist."),
        (
            {"issueType": 40, "subIssueType": 11},
            "Value '11' (Server) for field 'subIssueType' is not valid for issueType '40': "
            "it belongs to issueType '4'.",
        ),
        (
            {"subIssueType": 273},
            "Value '273' (Hardware) for field 'subIssueType' is not valid for an empty issueType: "
            "it belongs to issueType '40'.",
        ),
        ({"title": "x" * 256}, "Value for field 'title' exceeds the maximum length of 255 characters (256 given)."),
        (
            {"description": "d" * 8001},
            "Value for field 'description' exceeds the maximum length of 8000 characters (8001 given).",
        ),
        (
            {"externalID": "e" * 51},
            "Value for field 'externalID' exceeds the maximum length of 50 characters (51 given).",
        ),
        ({"priority": "high"}, "Unable to convert value 'high' of field 'priority' to type integer."),
        ({"companyID": 999}, "Value '999' for field 'companyID' does not reference an existing Company."),
        ({"companyID": 104}, "Company 104 (Stark Logistics (closed)) is inactive: tickets cannot be created for it."),
    ],
)
async def test_invalid_values_are_refused(
    client: httpx.AsyncClient, sim: Simulator, fields: dict[str, Any], message: str
) -> None:
    assert await errors_of(client, {**TICKET, **fields}) == [message]
    assert sim.tickets == {}


async def test_limits_are_inclusive_and_valid_picklists_pass(client: httpx.AsyncClient, sim: Simulator) -> None:
    ticket_id = await create_ticket(
        client,
        title="t" * 255,
        description="d" * 8000,
        externalID="e" * 50,
        issueType=40,
        subIssueType=273,
        source=8,
        status=7,
        priority=1,
    )
    assert sim.tickets[ticket_id]["subIssueType"] == 273


async def test_an_update_checks_only_what_changes(client: httpx.AsyncClient, sim: Simulator) -> None:
    ticket_id = await create_ticket(client)
    sim.set_picklist_active("Tickets", "queueID", 29683325, False)  # the tenant retires the ticket's queue
    sim.deactivate_company(100)
    assert (await client.patch(f"{API}/Tickets", json={"id": ticket_id, "status": 5})).status_code == 200
    refused = await client.patch(f"{API}/Tickets", json={"id": ticket_id, "priority": 4, "title": None})
    assert refused.status_code == 500
    assert refused.json()["errors"] == [
        "Missing Required Field: title.",
        "Invalid picklist value '4' for field 'priority': not in the Tickets picklist.",
    ]
    assert sim.tickets[ticket_id]["title"] == TICKET["title"]


async def test_the_real_tenant_fields_document_loads_and_drives_validation() -> None:
    document = json.loads((FIXTURES / "tickets-entityinformation-fields-real-tenant-sample.json").read_text())
    sim = Simulator.seeded(tickets_fields=document)
    transport = asgi_transport(create_app(sim))
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test", headers=HEADERS) as client:
        fields = (await client.get(f"{API}/Tickets/entityInformation/fields")).json()["fields"]
        assert fields == document["fields"] and len(fields) == 75
        assert sorted(f["name"] for f in fields if f["isRequired"] and not f["isReadOnly"]) == [
            "companyID",
            "priority",
            "status",
            "title",
        ]
        assert await create_ticket(client)
        assert await errors_of(client, {**TICKET, "apiVendorID": 4, "status": 10}) == [
            "Picklist value '10' (Dispatched) for field 'status' is inactive."
        ]  # read-only apiVendorID ignored


async def test_the_official_postman_ticket_body_is_accepted(client: httpx.AsyncClient, sim: Simulator) -> None:
    raw = postman_body("Create a Ticket")  # a trailing comma, as Datto ships it; company 0 is the tenant's own
    response = await client.post(
        f"{API}/Tickets",
        content=raw.replace('"companyID": 0', '"companyID": 100'),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    ticket = sim.tickets[response.json()["itemId"]]
    assert (ticket["companyID"], ticket["queueID"], ticket["priority"], ticket["status"]) == (100, 5, 2, 5)
    assert ticket["dueDateTime"] == "2030-03-21T00:00:00Z" and ticket["completedDate"]
    assert (await client.post(f"{API}/Tickets", content=raw)).status_code == 200


async def test_the_official_postman_note_body_is_accepted(client: httpx.AsyncClient, sim: Simulator) -> None:
    ticket_id = await create_ticket(client)
    raw = postman_body("Create a Ticket Note").replace("7865", str(ticket_id))  # an unquoted key, as Datto ships it
    response = await client.post(f"{API}/Tickets/{ticket_id}/Notes", content=raw)
    assert response.status_code == 200, response.text
    note = sim.notes[response.json()["itemId"]]
    assert (note["ticketID"], note["noteType"], note["publish"]) == (ticket_id, 1, 1)
    assert note["title"] == "Postman Ticket Note Create Test Description n"


async def test_a_body_that_is_not_json_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{API}/Tickets", content="{not json")
    assert response.status_code == 500 and response.json() == {"errors": ["The request body is not valid JSON."]}
    assert (await client.post(f"{API}/Tickets", json=[TICKET])).json() == {
        "errors": ["The request body must be a JSON object."]
    }
