"""Ticket user-defined fields: `GET Tickets/entityInformation/userDefinedFields`, `userDefinedFields: [{name, value}]`
on create and PATCH (unknown names, picklist values, required ones refused), and every UDF of the tenant on a read.
Over real HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from adapters.autotask_simulator import Simulator, running_simulator

from .conftest import API, HEADERS, TICKET, create_ticket


def udfs(**values: Any) -> list[dict[str, Any]]:
    return [{"name": name.replace("_", " "), "value": value} for name, value in values.items()]


async def refused(live: httpx.AsyncClient, body: dict[str, Any]) -> list[str]:
    response = await live.post(f"{API}/Tickets", json=body)
    assert response.status_code == 500, response.text
    errors: list[str] = response.json()["errors"]
    return errors


async def test_the_udf_document_lists_the_tenants_udfs(live: httpx.AsyncClient) -> None:
    fields = (await live.get(f"{API}/Tickets/entityInformation/userDefinedFields")).json()["fields"]
    reference, tier = fields
    assert {k: reference[k] for k in ("name", "label", "dataType", "isRequired", "defaultValue", "isPickList")} == {
        "name": "Backup Reference",
        "label": "Backup reference",
        "dataType": "string",
        "isRequired": False,
        "defaultValue": None,
        "isPickList": False,
    }
    assert reference["length"] == 100 and reference["picklistValues"] == []
    assert tier["isPickList"] and tier["dataType"] == "integer"
    assert [(p["value"], p["label"], p["isActive"], p["isDefaultValue"]) for p in tier["picklistValues"]] == [
        ("1", "Gold", True, False),
        ("2", "Silver", True, False),
        ("3", "Bronze", True, False),
        ("4", "Legacy", False, False),
    ]
    other = await live.get(f"{API}/Companies/entityInformation/userDefinedFields")
    assert other.json() == {"fields": []}


async def test_a_read_shows_every_udf_with_null_for_unset(live: httpx.AsyncClient, sim: Simulator) -> None:
    ticket_id = await create_ticket(live, userDefinedFields=udfs(Customer_Tier=1))
    item = (await live.get(f"{API}/Tickets/{ticket_id}")).json()["item"]
    assert item["userDefinedFields"] == [
        {"name": "Backup Reference", "value": None},
        {"name": "Customer Tier", "value": "1"},
    ]
    found = await live.post(f"{API}/Tickets/query", json={"filter": [{"op": "eq", "field": "id", "value": ticket_id}]})
    assert found.json()["items"][0]["userDefinedFields"] == item["userDefinedFields"]
    sim.add_ticket_udf("Site", choices={"A": "Amsterdam", "R": "Rotterdam"})  # added later: null on old tickets
    item = (await live.get(f"{API}/Tickets/{ticket_id}")).json()["item"]
    assert item["userDefinedFields"][-1] == {"name": "Site", "value": None}


async def test_udf_values_are_checked_against_the_tenants_definitions(live: httpx.AsyncClient) -> None:
    assert await refused(live, {**TICKET, "userDefinedFields": udfs(Nope="x")}) == [
        "Unable to find user-defined field 'Nope' in the Tickets entity."
    ]
    assert await refused(live, {**TICKET, "userDefinedFields": udfs(Customer_Tier=7)}) == [
        "Invalid picklist value '7' for user-defined field 'Customer Tier'."
    ]
    assert await refused(live, {**TICKET, "userDefinedFields": udfs(Customer_Tier="4")}) == [
        "Picklist value '4' (Legacy) for user-defined field 'Customer Tier' is inactive."
    ]
    assert await refused(live, {**TICKET, "userDefinedFields": udfs(Backup_Reference="r" * 101)}) == [
        "Value for user-defined field 'Backup Reference' exceeds the maximum length of 100 characters (101 given)."
    ]
    assert await refused(live, {**TICKET, "userDefinedFields": {"Backup Reference": "x"}}) == [
        "Unable to convert field 'userDefinedFields': a list of {name, value} objects is expected."
    ]
    assert await refused(live, {**TICKET, "userDefinedFields": [{"value": "x"}]}) == [
        "A user-defined field needs a name."
    ]


async def test_a_required_udf_refuses_a_create_without_a_value_or_a_default(
    live: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.set_udf_required("Backup Reference")
    message = "User-defined field 'Backup Reference' is required.; on record number [0]."
    assert await refused(live, TICKET) == [message]
    assert await refused(live, {**TICKET, "userDefinedFields": udfs(Backup_Reference="")}) == [message]
    ticket_id = await create_ticket(live, UserDefinedFields=[{"Name": "backup reference", "Value": "job-1"}])
    assert sim.udf_values[ticket_id]["Backup Reference"] == "job-1"  # PascalCase keys, any casing of the name
    sim.add_ticket_udf("Contract Ref", required=True, default="CR-0")
    ticket_id = await create_ticket(live, userDefinedFields=udfs(Backup_Reference="job-2"))
    assert sim.udf_values[ticket_id] == {"Backup Reference": "job-2", "Customer Tier": None, "Contract Ref": "CR-0"}
    sim.set_udf_required("Backup Reference", False)
    sim.remove_ticket_udf("Contract Ref")
    assert await create_ticket(live)


async def test_patch_changes_only_the_udfs_sent(live: httpx.AsyncClient, sim: Simulator) -> None:
    ticket_id = await create_ticket(live, userDefinedFields=udfs(Backup_Reference="job-1", Customer_Tier=2))
    response = await live.patch(f"{API}/Tickets", json={"id": ticket_id, "userDefinedFields": udfs(Customer_Tier=3)})
    assert response.status_code == 200
    item = (await live.get(f"{API}/Tickets/{ticket_id}")).json()["item"]
    assert item["userDefinedFields"] == udfs(Backup_Reference="job-1", Customer_Tier="3")
    bad = await live.patch(f"{API}/Tickets", json={"id": ticket_id, "userDefinedFields": udfs(Nope=1)})
    assert bad.json() == {"errors": ["Unable to find user-defined field 'Nope' in the Tickets entity."]}
    sim.set_udf_required("Backup Reference")
    cleared = await live.patch(
        f"{API}/Tickets", json={"id": ticket_id, "userDefinedFields": udfs(Backup_Reference=None)}
    )
    assert cleared.json() == {"errors": ["User-defined field 'Backup Reference' is required.; on record number [0]."]}
    assert (await live.patch(f"{API}/Tickets", json={"id": ticket_id, "status": 5})).status_code == 200
    assert sim.udf_values[ticket_id]["Backup Reference"] == "job-1"


@pytest.mark.parametrize(("value", "stored"), [(42, "42"), ("7", "7")])
async def test_typed_udfs_convert_or_refuse(live: httpx.AsyncClient, sim: Simulator, value: Any, stored: str) -> None:
    sim.add_ticket_udf("Job Count", data_type="integer")
    ticket_id = await create_ticket(live, userDefinedFields=udfs(Job_Count=value))
    assert sim.udf_values[ticket_id]["Job Count"] == stored
    assert await refused(live, {**TICKET, "userDefinedFields": udfs(Job_Count="many")}) == [
        "Unable to convert value 'many' of user-defined field 'Job Count' to type integer."
    ]


async def test_a_tenant_without_udfs() -> None:
    sim = Simulator.seeded(ticket_udfs=[])
    with running_simulator(sim) as zone_base:
        async with httpx.AsyncClient(headers=HEADERS) as client:
            document = (await client.get(f"{zone_base}/v1.0/Tickets/entityInformation/userDefinedFields")).json()
            ticket_id = (await client.post(f"{zone_base}/v1.0/Tickets", json=TICKET)).json()["itemId"]
            item = (await client.get(f"{zone_base}/v1.0/Tickets/{ticket_id}")).json()["item"]
    assert document == {"fields": []} and item["userDefinedFields"] == []
