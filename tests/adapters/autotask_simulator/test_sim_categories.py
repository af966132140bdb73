"""Ticket categories (what each requires of a new ticket and fills in) and Work Types (`BillingCodes` of use type 1):
the `ticketCategory` picklist, `TicketCategories`, `TicketCategoryFieldDefaults`, `BillingCodes`, and the creates they
refuse. Over real HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from adapters.autotask_simulator import Simulator

from .conftest import API, TICKET, create_ticket

EVERYTHING = {"filter": [{"op": "exist", "field": "id"}]}
WORK_TYPES = {
    "filter": [{"op": "eq", "field": "useType", "value": 1}, {"op": "eq", "field": "isActive", "value": True}]
}


async def refused(live: httpx.AsyncClient, body: dict[str, Any]) -> list[str]:
    response = await live.post(f"{API}/Tickets", json=body)
    assert response.status_code == 500, response.text
    errors: list[str] = response.json()["errors"]
    return errors


async def test_the_ticket_category_picklist_and_the_categories_agree(live: httpx.AsyncClient) -> None:
    fields = (await live.get(f"{API}/Tickets/entityInformation/fields")).json()["fields"]
    picks = next(f for f in fields if f["name"] == "ticketCategory")["picklistValues"]
    assert [(p["value"], p["label"], p["isActive"], p["isDefaultValue"]) for p in picks] == [
        ("1", "Standard", True, True),
        ("2", "AEM Alert", True, False),
        ("3", "Backupchecks (API only)", True, False),
        ("4", "Datto Alert", False, False),
    ]
    categories = (await live.post(f"{API}/TicketCategories/query", json=EVERYTHING)).json()["items"]
    assert [(c["id"], c["name"], c["isActive"], c["isApiOnly"], c["isGlobalDefault"]) for c in categories] == [
        (1, "Standard", True, False, True),
        (2, "AEM Alert", True, False, False),
        (3, "Backupchecks (API only)", True, True, False),
        (4, "Datto Alert", False, False, False),
    ]
    api_only = await live.get(
        f"{API}/TicketCategories/query", params={"search": '{"filter":[{"op":"eq","field":"isApiOnly","value":true}]}'}
    )
    assert [c["id"] for c in api_only.json()["items"]] == [3]
    item = (await live.get(f"{API}/TicketCategories/3")).json()["item"]
    assert {k: item[k] for k in ("id", "name", "nickname", "isActive", "isApiOnly", "isGlobalDefault")} == {
        "id": 3,
        "name": "Backupchecks (API only)",
        "nickname": "BC-API",
        "isActive": True,
        "isApiOnly": True,
        "isGlobalDefault": False,
    }
    assert (await live.get(f"{API}/TicketCategories/99")).json() == {"item": None}


async def test_field_defaults_hold_one_record_per_category_with_nulls_where_none_is_given(
    live: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.set_category_rules(
        3,
        requires={"billingCodeID"},
        defaults={"queueID": 29683325, "workTypeID": 29682803, "priority": 2, "issueTypeID": 40, "sourceID": 8},
        udf_defaults={"Customer Tier": "2"},
    )
    records = (await live.post(f"{API}/TicketCategoryFieldDefaults/query", json=EVERYTHING)).json()["items"]
    assert [r["ticketCategoryID"] for r in records] == [1, 2, 3, 4]
    standard, _, api_only, _ = records
    assert {k: v for k, v in standard.items() if k not in ("id", "ticketCategoryID", "userDefinedFields")} == {
        "queueID": None,
        "workTypeID": None,
        "priority": None,
        "issueTypeID": None,
        "subIssueTypeID": None,
        "sourceID": None,
        "status": None,
        "ticketTypeID": None,
        "title": None,
        "description": None,
        "estimatedHours": None,
        "purchaseOrderNumber": None,
        "resolution": None,
        "serviceLevelAgreementID": None,
        "organizationalLevelAssociationID": None,
    }
    assert (api_only["queueID"], api_only["workTypeID"], api_only["priority"]) == (29683325, 29682803, 2)
    assert (api_only["issueTypeID"], api_only["sourceID"], api_only["status"]) == (40, 8, None)
    assert api_only["userDefinedFields"] == [
        {"name": "Backup Reference", "value": None},
        {"name": "Customer Tier", "value": "2"},
    ]
    assert "requires" not in str(api_only) and "billingCodeID" not in api_only  # requirements show nowhere
    by_category = await live.post(
        f"{API}/TicketCategoryFieldDefaults/query",
        json={"filter": [{"op": "eq", "field": "ticketCategoryID", "value": 3}]},
    )
    assert by_category.json()["items"] == [api_only]
    assert (await live.get(f"{API}/TicketCategoryFieldDefaults/{api_only['id']}")).json()["item"] == api_only


async def test_a_ticket_without_a_category_gets_the_tenants_or_the_api_users_default(
    live: httpx.AsyncClient, sim: Simulator
) -> None:
    assert sim.tickets[await create_ticket(live)]["ticketCategory"] == 1
    assert sim.tickets[await create_ticket(live, ticketCategory=2)]["ticketCategory"] == 2
    sim.api_user_category = 3
    assert sim.tickets[await create_ticket(live)]["ticketCategory"] == 3
    sim.api_user_category = 4  # an inactive default category refuses every create that leaves the category out
    assert await refused(live, TICKET) == ["Picklist value '4' (Datto Alert) for field 'ticketCategory' is inactive."]


@pytest.mark.parametrize(
    ("category", "message"),
    [
        (4, "Picklist value '4' (Datto Alert) for field 'ticketCategory' is inactive."),
        (99, "Invalid picklist value '99' for field 'ticketCategory': not in the Tickets picklist."),
    ],
)
async def test_an_inactive_or_unknown_category_is_refused(
    live: httpx.AsyncClient, sim: Simulator, category: int, message: str
) -> None:
    assert await refused(live, {**TICKET, "ticketCategory": category}) == [message]
    assert sim.tickets == {}


async def test_a_category_requiring_a_work_type_refuses_a_create_without_one(
    live: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.set_category_rules(1, requires={"billingCodeID", "issueType"})
    assert await refused(live, TICKET) == [
        "billingCodeID is required.; on record number [0].",
        "issueType is required.; on record number [0].",
    ]
    ticket_id = await create_ticket(live, billingCodeID=29682801, issueType=40)
    assert sim.tickets[ticket_id]["billingCodeID"] == 29682801
    assert sim.tickets[await create_ticket(live, ticketCategory=2)]["ticketCategory"] == 2  # 2 requires nothing


async def test_a_categorys_defaults_fill_what_the_create_leaves_out(live: httpx.AsyncClient, sim: Simulator) -> None:
    sim.set_category_rules(
        3,
        requires={"billingCodeID", "queueID"},
        defaults={
            "queueID": 29748501,
            "workTypeID": 29682803,
            "priority": 1,
            "issueTypeID": 40,
            "subIssueTypeID": 273,
            "sourceID": 8,
            "status": 8,
        },
    )
    bare = {"companyID": 100, "title": "From the category", "ticketCategory": 3, "dueDateTime": TICKET["dueDateTime"]}
    ticket = sim.tickets[await create_ticket(live, **{k: None for k in TICKET if k not in bare}, **bare)]
    assert (ticket["queueID"], ticket["billingCodeID"], ticket["priority"], ticket["status"]) == (
        29748501,
        29682803,
        1,
        8,
    )
    assert (ticket["issueType"], ticket["subIssueType"], ticket["source"]) == (40, 273, 8)
    sent = sim.tickets[await create_ticket(live, ticketCategory=3, priority=3, billingCodeID=29682801)]
    assert (sent["priority"], sent["billingCodeID"], sent["queueID"]) == (3, 29682801, 29683325)  # what is sent wins


async def test_a_category_can_require_udfs_and_give_them_defaults(live: httpx.AsyncClient, sim: Simulator) -> None:
    sim.set_category_rules(3, udfs_required={"Backup Reference"})
    assert await refused(live, {**TICKET, "ticketCategory": 3}) == [
        "User-defined field 'Backup Reference' is required.; on record number [0]."
    ]
    udfs = [{"name": "Backup Reference", "value": "job-42"}]
    ticket_id = await create_ticket(live, ticketCategory=3, userDefinedFields=udfs)
    assert sim.udf_values[ticket_id]["Backup Reference"] == "job-42"
    sim.set_category_rules(3, udfs_required={"Backup Reference"}, udf_defaults={"backup reference": "from category"})
    ticket_id = await create_ticket(live, ticketCategory=3)
    assert sim.udf_values[ticket_id]["Backup Reference"] == "from category"


async def test_new_categories_and_bad_rules(live: httpx.AsyncClient, sim: Simulator) -> None:
    sim.add_ticket_category(10, "Monitoring (API)", api_only=True, default=True, nickname="MON")
    assert sim.tickets[await create_ticket(live)]["ticketCategory"] == 10
    item = (await live.get(f"{API}/TicketCategories/10")).json()["item"]
    assert (item["isApiOnly"], item["isGlobalDefault"], item["nickname"]) == (True, True, "MON")
    assert (await live.get(f"{API}/TicketCategories/1")).json()["item"]["isGlobalDefault"] is False
    for bad in ({"requires": {"nope"}}, {"defaults": {"nopeID": 1}}, {"udfs_required": {"No Such UDF"}}):
        with pytest.raises(KeyError):
            sim.set_category_rules(1, **bad)


async def test_billing_codes_query_get_and_count(live: httpx.AsyncClient) -> None:
    work_types = (await live.post(f"{API}/BillingCodes/query", json=WORK_TYPES)).json()["items"]
    assert [(c["id"], c["name"]) for c in work_types] == [
        (29682801, "Remote Support"),
        (29682802, "Onsite Support"),
        (29682803, "Backup Monitoring"),
    ]
    everything = (await live.post(f"{API}/BillingCodes/query", json=EVERYTHING)).json()["items"]
    assert {c["useType"] for c in everything} == {1, 2, 4} and any(not c["isActive"] for c in everything)
    assert (await live.post(f"{API}/BillingCodes/query/count", json=WORK_TYPES)).json() == {"queryCount": 3}
    item = (await live.get(f"{API}/BillingCodes/29682821")).json()["item"]
    assert {k: item[k] for k in ("id", "name", "description", "useType", "isActive")} == {
        "id": 29682821,
        "name": "Mileage",
        "description": "Expense code: mileage",
        "useType": 4,
        "isActive": True,
    }
    fields = (await live.get(f"{API}/BillingCodes/entityInformation/fields")).json()["fields"]
    assert {"id", "name", "useType", "isActive"} <= {f["name"] for f in fields}
    assert (await live.post(f"{API}/BillingCodes", json={"name": "x"})).status_code == 405


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (12345, "Value '12345' for field 'billingCodeID' does not reference an existing BillingCode."),
        (
            29682821,
            "Value '29682821' for field 'billingCodeID' is not a Work Type: BillingCode 29682821 (Mileage) has "
            "useType 4, a ticket needs useType 1.",
        ),
        (
            29682804,
            "Value '29682804' for field 'billingCodeID' references an inactive Work Type (Legacy Helpdesk (retired)).",
        ),
    ],
)
async def test_a_tickets_work_type_must_be_an_active_billing_code_of_use_type_1(
    live: httpx.AsyncClient, sim: Simulator, code: int, message: str
) -> None:
    assert await refused(live, {**TICKET, "billingCodeID": code}) == [message]
    ticket_id = await create_ticket(live, billingCodeID=29682802)
    patch = await live.patch(f"{API}/Tickets", json={"id": ticket_id, "billingCodeID": code})
    assert (patch.status_code, patch.json()) == (500, {"errors": [message]})
    sim.set_category_rules(1, defaults={"billingCodeID": code})  # a category's bad default is refused too
    assert await refused(live, TICKET) == [message]


async def test_new_and_retired_work_types(live: httpx.AsyncClient, sim: Simulator) -> None:
    sim.add_billing_code(40, "Project Work")
    sim.set_billing_code_active(29682801, False)
    ids = [c["id"] for c in (await live.post(f"{API}/BillingCodes/query", json=WORK_TYPES)).json()["items"]]
    assert ids == [40, 29682802, 29682803]
    assert sim.tickets[await create_ticket(live, billingCodeID=40)]["billingCodeID"] == 40
