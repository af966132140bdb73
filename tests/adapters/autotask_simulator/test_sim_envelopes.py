"""Zone discovery, authentication and the {item} / {itemId} envelopes of the simulated Autotask."""

from __future__ import annotations

import httpx

from adapters.autotask_simulator import Simulator

from .conftest import API, TICKET, create_ticket


async def test_zone_discovery_needs_no_credentials_and_points_at_this_server(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/atservicesrest/v1.0/zoneInformation",
        params={"user": "API@example.com"},
        headers={"UserName": "", "Secret": "", "ApiIntegrationCode": ""},
    )
    assert response.status_code == 200
    assert response.json() == {
        "zoneName": "Simulator Zone",
        "url": "http://sim.test/ATServicesRest/",
        "webUrl": "http://sim.test/",
        "ci": 30595,
    }


async def test_zone_discovery_of_an_unknown_user(client: httpx.AsyncClient) -> None:
    response = await client.get("/atservicesrest/v1.0/zoneInformation", params={"user": "nobody@example.com"})
    assert response.status_code == 500
    assert response.json() == {"errors": ["Zone information could not be determined"]}


async def test_api_paths_match_case_insensitively(client: httpx.AsyncClient) -> None:
    for path in (
        "/ATServicesRest/V1.0/Companies/100",
        "/atservicesrest/v1.0/companies/100",
        "/AtServicesRest/v1.0/COMPANIES/100",
    ):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.json()["item"]["companyName"] == "Acme Corporation"


async def test_wrong_secret_and_unknown_user_are_401(client: httpx.AsyncClient) -> None:
    assert (await client.get(f"{API}/Companies/100", headers={"Secret": "wrong"})).status_code == 401
    assert (await client.get(f"{API}/Companies/100", headers={"UserName": "other@example.com"})).status_code == 401
    assert (await client.get(f"{API}/Companies/100", headers={"Secret": ""})).status_code == 401


async def test_a_bad_integration_code_is_a_500_with_autotask_message(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/Companies/100", headers={"ApiIntegrationCode": "NOPE"})
    assert response.status_code == 500
    assert response.json() == {"errors": ["IntegrationCode is invalid."]}


async def test_the_secret_is_not_kept_in_plain_text() -> None:
    sim = Simulator(username="u@example.com", secret="very-secret-value", integration_code="X")
    assert "very-secret-value" not in repr(vars(sim)) and "very-secret-value" not in repr(sim)
    assert sim.secret_matches("very-secret-value") and not sim.secret_matches("very-secret-valuE")


async def test_companies_read_rename_deactivate_delete(client: httpx.AsyncClient, sim: Simulator) -> None:
    own = (await client.get(f"{API}/Companies/0")).json()["item"]
    assert own["id"] == 0 and own["isActive"] is True
    assert (await client.get(f"{API}/Companies/104")).json()["item"]["isActive"] is False
    sim.rename_company(101, "Globex International")
    sim.deactivate_company(102)
    sim.delete_company(103)
    assert (await client.get(f"{API}/Companies/101")).json()["item"]["companyName"] == "Globex International"
    assert (await client.get(f"{API}/Companies/102")).json()["item"]["isActive"] is False
    assert (await client.get(f"{API}/Companies/103")).json() == {"item": None}
    sim.add_company(200, "New Customer")
    assert (await client.get(f"{API}/Companies/200")).json()["item"] == {
        "id": 200,
        "companyName": "New Customer",
        "isActive": True,
        "userDefinedFields": [],
    }


async def test_create_then_read_a_ticket(client: httpx.AsyncClient, sim: Simulator) -> None:
    ticket_id = await create_ticket(client, externalID="bc-1")
    item = (await client.get(f"{API}/Tickets/{ticket_id}")).json()["item"]
    assert item["id"] == ticket_id and item["externalID"] == "bc-1" and item["status"] == 1
    assert item["ticketNumber"].startswith("T") and len(item["ticketNumber"]) == len("T20260115.0001")
    assert item["createDate"].endswith("Z") and item["lastActivityDate"] and item["completedDate"] is None
    assert item["ticketType"] == 1 and item["ticketCategory"] == 1  # the tenant's defaults
    assert sim.tickets[ticket_id]["title"] == TICKET["title"]
    second = await create_ticket(client)
    assert sim.tickets[second]["ticketNumber"] != item["ticketNumber"]
    assert (await client.get(f"{API}/Tickets/{second + 1000}")).json() == {"item": None}


async def test_pascal_case_keys_are_accepted_and_answers_are_camel_case(client: httpx.AsyncClient) -> None:
    body = {
        "CompanyID": 101,
        "Title": "Pascal",
        "Status": 1,
        "Priority": 3,
        "QueueID": 29683325,
        "EXTERNALID": "k",
        "DueDateTime": "2026-01-16T02:10:00Z",
    }
    ticket_id = (await client.post(f"{API}/Tickets", json=body)).json()["itemId"]
    item = (await client.get(f"{API}/Tickets/{ticket_id}")).json()["item"]
    assert (item["companyID"], item["title"], item["priority"], item["externalID"]) == (101, "Pascal", 3, "k")
    assert "CompanyID" not in item


async def test_patch_changes_only_the_fields_sent(client: httpx.AsyncClient, sim: Simulator) -> None:
    ticket_id = await create_ticket(client, description="keep me")
    response = await client.patch(f"{API}/Tickets", json={"id": ticket_id, "status": 5})
    assert response.json() == {"itemId": ticket_id}
    ticket = sim.tickets[ticket_id]
    assert ticket["status"] == 5 and ticket["description"] == "keep me" and ticket["completedDate"]
    await client.patch(f"{API}/Tickets", json={"id": ticket_id, "status": 8})
    assert sim.tickets[ticket_id]["completedDate"] is None
    assert (await client.patch(f"{API}/Tickets", json={"id": 1, "status": 5})).status_code == 404


async def test_put_replaces_the_ticket_and_omitted_fields_become_null(
    client: httpx.AsyncClient, sim: Simulator
) -> None:
    ticket_id = await create_ticket(client, description="will vanish", externalID="bc-2")
    number = sim.tickets[ticket_id]["ticketNumber"]
    response = await client.put(f"{API}/Tickets", json={"id": ticket_id, **TICKET, "status": 5})
    assert response.status_code == 200
    ticket = sim.tickets[ticket_id]
    assert ticket["description"] is None and ticket["externalID"] is None and ticket["status"] == 5
    assert ticket["ticketNumber"] == number and ticket["completedDate"]
    missing = await client.put(f"{API}/Tickets", json={"id": ticket_id, "status": 5})
    assert missing.status_code == 500
    assert "Missing Required Field: title." in missing.json()["errors"]


async def test_put_back_of_a_read_ticket_is_accepted(client: httpx.AsyncClient) -> None:
    ticket_id = await create_ticket(client, issueType=40, subIssueType=273)
    item = (await client.get(f"{API}/Tickets/{ticket_id}")).json()["item"]
    response = await client.put(f"{API}/Tickets", json={**item, "status": 5})
    assert response.status_code == 200, response.text
    assert (await client.get(f"{API}/Tickets/{ticket_id}")).json()["item"]["subIssueType"] == 273


async def test_notes_are_created_under_their_ticket_only(client: httpx.AsyncClient, sim: Simulator) -> None:
    ticket_id = await create_ticket(client)
    body = {"title": "Closing", "description": "Resolved via Backupchecks.", "noteType": 1, "publish": 2}
    response = await client.post(f"{API}/Tickets/{ticket_id}/Notes", json=body)
    note_id = response.json()["itemId"]
    assert sim.notes[note_id] | body == sim.notes[note_id] and sim.notes[note_id]["ticketID"] == ticket_id
    assert (await client.get(f"{API}/TicketNotes/{note_id}")).json()["item"]["publish"] == 2
    assert (await client.post(f"{API}/TicketNotes", json={**body, "ticketID": ticket_id})).status_code == 404
    assert (await client.post(f"{API}/Tickets/999999/Notes", json=body)).status_code == 404
    bad = await client.post(f"{API}/Tickets/{ticket_id}/Notes", json={"noteType": 1, "publish": 3})
    assert bad.status_code == 500
    assert bad.json()["errors"] == [
        "Missing Required Field: description.",
        "Invalid picklist value '3' for field 'publish': not in the TicketNotes picklist.",
    ]


async def test_fields_documents(client: httpx.AsyncClient) -> None:
    tickets = (await client.get(f"{API}/Tickets/entityInformation/fields")).json()["fields"]
    status = next(f for f in tickets if f["name"] == "status")
    assert {"value": "5", "label": "Complete"}.items() <= next(
        v for v in status["picklistValues"] if v["value"] == "5"
    ).items()
    notes = (await client.get(f"{API}/ticketnotes/entityinformation/fields")).json()["fields"]
    publish = next(f for f in notes if f["name"] == "publish")
    assert [(v["value"], v["label"]) for v in publish["picklistValues"]] == [
        ("1", "All Autotask Users"),
        ("2", "Internal Project Team"),
        ("4", "Internal & Co-Managed"),
    ]


async def test_time_entries_count_by_ticket(client: httpx.AsyncClient, sim: Simulator) -> None:
    ticket_id, other = await create_ticket(client), await create_ticket(client)
    body = {"filter": [{"op": "eq", "field": "ticketID", "value": ticket_id}]}
    assert (await client.post(f"{API}/TimeEntries/query/count", json=body)).json() == {"queryCount": 0}
    entry = sim.add_time_entry(ticket_id, hours=1.5)
    sim.add_time_entry(other)
    assert (await client.post(f"{API}/TimeEntries/query/count", json=body)).json() == {"queryCount": 1}
    items = (await client.post(f"{API}/TimeEntries/query", json=body)).json()["items"]
    assert [(i["id"], i["hoursWorked"]) for i in items] == [(entry, 1.5)]


async def test_simulator_side_status_change_and_deletion(client: httpx.AsyncClient, sim: Simulator) -> None:
    ticket_id = await create_ticket(client)
    sim.set_ticket_status(ticket_id, 5)
    assert (await client.get(f"{API}/Tickets/{ticket_id}")).json()["item"]["completedDate"]
    sim.delete_ticket(ticket_id)
    assert (await client.get(f"{API}/Tickets/{ticket_id}")).json() == {"item": None}


async def test_unsupported_verbs_answer_405_with_message(client: httpx.AsyncClient) -> None:
    for method, path in (
        ("DELETE", "Tickets/1"),
        ("GET", "Tickets"),
        ("POST", "Companies/100"),
        ("PUT", "Companies"),
        ("GET", "Tickets/1/Notes"),
    ):
        response = await client.request(method, f"{API}/{path}")
        assert response.status_code == 405, (method, path)
        assert response.json() == {"Message": f"The requested resource does not support http method '{method}'."}


async def test_threshold_information_counts_itself(client: httpx.AsyncClient) -> None:
    await client.get(f"{API}/Companies/100")
    first = (await client.get(f"{API}/ThresholdInformation")).json()
    assert first == {
        "externalRequestThreshold": 10000,
        "requestThresholdTimeframe": 60,
        "currentTimeframeRequestCount": 2,
    }
    assert (await client.get(f"{API}/ThresholdInformation")).json()["currentTimeframeRequestCount"] == 3


async def test_ticket_link_page_for_people(client: httpx.AsyncClient, sim: Simulator) -> None:
    ticket_id = await create_ticket(client)
    page = await client.get(
        "/Autotask/AutotaskExtend/ExecuteCommand.aspx", params={"Code": "OpenTicketDetail", "TicketID": ticket_id}
    )
    assert page.status_code == 200 and sim.tickets[ticket_id]["ticketNumber"] in page.text
