"""What a tenant's configuration adds: ticket categories, Work Types, ticket UDFs and the categories' defaults in the
picklists; the API user's rights per entity; a ticket's category, Work Type and UDFs on create."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import pytest
import respx

from application.ports import AccessLevel, EntityRights, PsaAuthError, PsaError, PsaRejected, PsaUnavailable
from domain.picklists import CategoryDefaults, PicklistValue, TicketUdf, UdfChoice

from .conftest import API, Configuration, RecordingConnector, creds, fixture
from .test_operations import DRAFT, body, page

FULL, LIMITED, NONE = AccessLevel.FULL, AccessLevel.LIMITED, AccessLevel.NONE
UDFS = {
    "fields": [
        {
            "name": "Backup Job",
            "label": "Backup job",
            "dataType": "string",
            "isRequired": False,
            "defaultValue": None,
            "isPickList": False,
            "picklistValues": None,
        },
        {
            "name": "Customer Impact",
            "label": "Customer impact",
            "dataType": "integer",
            "isRequired": True,
            "defaultValue": None,
            "isPickList": True,
            "picklistValues": [
                {"value": "1", "label": "Low", "isDefaultValue": False, "sortOrder": 1, "isActive": True},
                {"value": 2, "label": "High", "isDefaultValue": False, "sortOrder": 2, "isActive": True},
                {"value": "3", "label": "Legacy", "isDefaultValue": False, "sortOrder": 3, "isActive": False},
            ],
        },
        {"Name": "Contract Ref", "Label": "Contract", "IsRequired": True, "DefaultValue": "N/A"},
        {"name": "Reviewed", "isRequired": False, "defaultValue": ""},
    ]
}
BILLING_PAGE_2 = API + "BillingCodes/query/next?paging=%7b%22pageSize%22%3a500%2c%22lastId%22%3a29682802%7d"
WORK_TYPES_1 = [
    {"id": 29682801, "name": "Remote Support", "isActive": True, "useType": 1},
    {"id": 29682802, "name": "Old Work", "isActive": False, "useType": 1},
]
WORK_TYPES_2 = [
    {"id": 29682803, "name": "Onsite", "isActive": True, "useType": 1},
    {"id": 29682900, "name": "Mileage", "isActive": True, "useType": 3},  # not a work type: dropped
]
DEFAULTS_PAGE_2 = API + "TicketCategoryFieldDefaults/query/next?paging=%7b%22pageSize%22%3a500%7d"
CATEGORY_DEFAULTS_1: list[dict[str, Any]] = [
    {
        "id": 1,
        "ticketCategoryID": 3,
        "queueID": 29683481,
        "workTypeID": None,
        "priority": 2,
        "issueTypeID": None,
        "subIssueTypeID": None,
        "sourceID": 4,
        "status": 1,
        "title": "ignored: not a field Backupchecks checks",
        "userDefinedFields": [{"name": "Customer Impact", "value": "1"}, {"name": "Backup Job", "value": None}],
    },
]
CATEGORY_DEFAULTS_2: list[dict[str, Any]] = [
    {
        "Id": 2,
        "TicketCategoryID": 100,
        "WorkTypeID": 29682801,
        "IssueTypeID": 11,
        "SubIssueTypeID": 111,
        "Status": None,
        "UserDefinedFields": [],
    },
    {"id": 3, "ticketCategoryID": 101},  # a category that fills nothing
    {"id": 4, "ticketCategoryID": 100, "billingCodeID": None, "queueID": 5},  # merged into category 100
]


def configured(configuration: Configuration, router: Any) -> tuple[respx.Route, respx.Route]:
    """The configuration answers, each query in two pages; answers the routes of the second pages."""
    configuration.udfs.respond(200, json=UDFS)
    configuration.billing_codes.respond(200, json=page(WORK_TYPES_1, BILLING_PAGE_2))
    configuration.category_defaults.respond(200, json=page(CATEGORY_DEFAULTS_1, DEFAULTS_PAGE_2))
    return (
        router.post(BILLING_PAGE_2).respond(200, json=page(WORK_TYPES_2)),
        router.post(DEFAULTS_PAGE_2).respond(200, json=page(CATEGORY_DEFAULTS_2)),
    )


@pytest.fixture
def fields(router: respx.MockRouter) -> None:
    router.get(API + "Tickets/entityInformation/fields").respond(200, json=fixture("tickets-fields-real-tenant.json"))
    router.get(API + "TicketNotes/entityInformation/fields").respond(
        200, json=fixture("ticketnotes-fields-pascalcase.json")
    )


async def test_picklists_read_the_tenant_configuration_in_five_requests(
    router: respx.MockRouter,
    zone: respx.Route,
    connector: RecordingConnector,
    configuration: Configuration,
    fields: None,
) -> None:
    billing_2, defaults_2 = configured(configuration, router)
    gateway = connector.connect(creds())
    await gateway.zone()
    p = await gateway.picklists()
    assert gateway.calls == 1 + 5 + 2  # zone; five reads; the second pages of the two queries
    categories = {c.id: c for c in p.ticket_categories}
    assert len(categories) == 20 and categories[3] == PicklistValue(3, "Standard", True, None, True)
    assert [c.id for c in p.ticket_categories if c.is_default] == [3]
    assert categories[1].is_active is False
    assert p.work_types == (
        PicklistValue(29682801, "Remote Support"),
        PicklistValue(29682802, "Old Work", False),
        PicklistValue(29682803, "Onsite"),
    )
    assert p.ticket_udfs == (
        TicketUdf("Backup Job", "Backup job"),
        TicketUdf(
            "Customer Impact",
            "Customer impact",
            is_required=True,
            choices=(UdfChoice("1", "Low"), UdfChoice("2", "High"), UdfChoice("3", "Legacy", False)),
        ),
        TicketUdf("Contract Ref", "Contract", is_required=True, default_value="N/A"),
        TicketUdf("Reviewed", "Reviewed"),  # an empty default is no default
    )
    assert p.category_defaults == (
        CategoryDefaults(3, frozenset({"queueid", "priority", "source", "status"}), frozenset({"Customer Impact"})),
        CategoryDefaults(100, frozenset({"billingcodeid", "issuetype", "subissuetype", "queueid"})),
        CategoryDefaults(101),
    )
    assert body(configuration.billing_codes) == {"filter": [{"op": "eq", "field": "useType", "value": 1}]}
    assert body(configuration.category_defaults) == {"filter": [{"op": "gt", "field": "id", "value": 0}]}
    assert body(billing_2) == body(configuration.billing_codes)  # every page: the same body POSTed to nextPageUrl
    assert body(defaults_2) == body(configuration.category_defaults)
    assert await gateway.picklists() is p and gateway.calls == 8  # cached
    await gateway.picklists(refresh=True)
    assert gateway.calls == 8 + 7


@pytest.mark.parametrize(
    "refusal",
    [
        httpx.Response(404, json={"errors": ["No HTTP resource was found that matches the request URI."]}),
        httpx.Response(403, json={"errors": ["Forbidden"]}),
        httpx.Response(500, json={"errors": ["User does not have adequate permissions to query this entity."]}),
    ],
    ids=["404", "403", "500-permissions"],
)
async def test_a_tenant_refusing_the_configuration_reads_still_has_picklists(
    router: respx.MockRouter,
    zone: respx.Route,
    connector: RecordingConnector,
    configuration: Configuration,
    fields: None,
    refusal: httpx.Response,
) -> None:
    """No right to BillingCodes or TicketCategoryFieldDefaults (or a tenant, or simulator, without them): nothing is
    known of them, and the rest of the picklists still work."""
    for route in (configuration.udfs, configuration.billing_codes, configuration.category_defaults):
        route.mock(return_value=refusal)
    gateway = connector.connect(creds())
    p = await gateway.picklists()
    assert (p.work_types, p.category_defaults, p.ticket_udfs) == ((), (), ())
    assert len(p.queues) == 29 and len(p.ticket_categories) == 20
    assert gateway.calls == 1 + 5


@pytest.mark.parametrize("failing", ["udfs", "billing_codes", "category_defaults"])
async def test_an_unreachable_autotask_still_fails_the_picklists(
    router: respx.MockRouter,
    zone: respx.Route,
    connector: RecordingConnector,
    configuration: Configuration,
    fields: None,
    failing: str,
) -> None:
    connector.transport.retries = 0
    getattr(configuration, failing).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(PsaUnavailable):
        await connector.connect(creds()).picklists()
    getattr(configuration, failing).respond(503, text="Service Unavailable")
    with pytest.raises(PsaUnavailable):
        await connector.connect(creds()).picklists()


async def test_other_refusals_of_the_configuration_reads_are_not_swallowed(
    router: respx.MockRouter,
    zone: respx.Route,
    connector: RecordingConnector,
    configuration: Configuration,
    fields: None,
) -> None:
    configuration.billing_codes.respond(401)
    with pytest.raises(PsaAuthError):
        await connector.connect(creds()).picklists()
    configuration.billing_codes.respond(500, json={"errors": ["Unable to find field 'useType'."]})
    with pytest.raises(PsaRejected):
        await connector.connect(creds(secret="other")).picklists()


@pytest.mark.parametrize(
    ("route", "answer"),
    [
        ("udfs", {"fields": "none"}),
        ("udfs", {"fields": [{"label": "nameless"}]}),
        ("billing_codes", page([{"name": "no id"}])),
        ("billing_codes", page([{"id": 1, "useType": "general"}])),
        ("category_defaults", page([{"id": 1, "ticketCategoryID": "abc"}])),
        ("category_defaults", page([{"id": 1, "ticketCategoryID": 3, "userDefinedFields": "x"}])),
    ],
)
async def test_malformed_configuration_answers_are_unavailable(
    router: respx.MockRouter,
    zone: respx.Route,
    connector: RecordingConnector,
    configuration: Configuration,
    fields: None,
    route: str,
    answer: Any,
) -> None:
    getattr(configuration, route).respond(200, json=answer)
    with pytest.raises(PsaUnavailable):
        await connector.connect(creds()).picklists()


# -- rights --------------------------------------------------------------------------------------------------------


def info(name: str, **values: Any) -> dict[str, Any]:
    base = {
        "name": name,
        "canCreate": True,
        "canUpdate": True,
        "canDelete": False,
        "canQuery": True,
        "hasUserDefinedFields": True,
        "supportsWebhookCallouts": True,
        "userAccessForCreate": "All",
        "userAccessForQuery": "All",
        "userAccessForUpdate": "All",
        "userAccessForDelete": "None",
    }
    return {"info": {**base, **values}}


async def test_rights_read_each_entity_in_four_requests(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector
) -> None:
    routes = {
        "Tickets": router.get(API + "Tickets/entityInformation").respond(
            200, json=info("Ticket", userAccessForUpdate="Mine")
        ),
        "TicketNotes": router.get(API + "TicketNotes/entityInformation").respond(
            200, json=info("TicketNote", canUpdate=False, userAccessForQuery="all")
        ),
        "TimeEntries": router.get(API + "TimeEntries/entityInformation").respond(
            200, json=info("TimeEntry", canCreate=False, userAccessForQuery="Restricted", userAccessForUpdate="None")
        ),
        "Companies": router.get(API + "Companies/entityInformation").respond(
            200,
            json={"Info": {"Name": "Account", "CanCreate": True, "CanQuery": True, "CanUpdate": True}},  # no levels
        ),
    }
    gateway = connector.connect(creds())
    await gateway.zone()
    rights = await gateway.rights()
    assert gateway.calls == 1 + 4 and all(r.call_count == 1 for r in routes.values())
    assert rights.tickets == EntityRights(create=FULL, query=FULL, update=LIMITED)
    assert rights.notes == EntityRights(create=FULL, query=FULL, update=NONE)
    assert rights.time_entries == EntityRights(create=NONE, query=LIMITED, update=NONE)
    assert rights.companies == EntityRights(create=FULL, query=FULL, update=FULL)  # absent levels: full


@pytest.mark.parametrize(
    ("can", "access", "level"),
    [
        (True, "All", FULL),
        (True, "ALL", FULL),
        (True, "None", NONE),
        (True, "none", NONE),
        (True, "Mine", LIMITED),
        (True, "Restricted", LIMITED),
        (True, "MineAndCompanyTickets", LIMITED),
        (True, 3, LIMITED),  # a level we cannot read is not full
        (True, None, FULL),
        (False, "All", NONE),
        (False, None, NONE),
        (None, "All", FULL),
    ],
)
async def test_each_action_maps_can_and_user_access_to_a_level(
    router: respx.MockRouter,
    zone: respx.Route,
    connector: RecordingConnector,
    can: bool,
    access: str,
    level: AccessLevel,
) -> None:
    answer = info("Ticket", canQuery=can, userAccessForQuery=access)
    for entity in ("Tickets", "TicketNotes", "TimeEntries", "Companies"):
        router.get(API + f"{entity}/entityInformation").respond(200, json=answer)
    rights = await connector.connect(creds()).rights()
    assert {rights.tickets.query, rights.notes.query, rights.time_entries.query, rights.companies.query} == {level}


async def test_rights_on_an_entity_refused_altogether_are_none(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector
) -> None:
    for entity in ("Tickets", "TicketNotes", "Companies"):
        router.get(API + f"{entity}/entityInformation").respond(200, json=info(entity))
    router.get(API + "TimeEntries/entityInformation").respond(
        500, json={"errors": ["User does not have adequate permissions."]}
    )
    rights = await connector.connect(creds()).rights()
    assert rights.time_entries == EntityRights(NONE, NONE, NONE)
    assert rights.tickets == EntityRights(FULL, FULL, FULL)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, json={}),
        httpx.Response(200, json={"info": None}),
        httpx.Response(200, json={"info": {"canQuery": "sometimes"}}),
        httpx.Response(200, html="<h1>Maintenance</h1>"),
        httpx.Response(404, json={"errors": ["not found"]}),
    ],
)
async def test_rights_without_a_usable_answer_fail(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector, answer: httpx.Response
) -> None:
    connector.transport.retries = 0
    router.get(API + "Tickets/entityInformation").mock(return_value=answer)
    with pytest.raises(PsaError):  # a port error, never a guess at the rights
        await connector.connect(creds()).rights()


# -- create --------------------------------------------------------------------------------------------------------


async def test_create_sends_category_work_type_and_udfs(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector
) -> None:
    route = router.post(API + "Tickets").respond(200, json={"itemId": 7001})
    draft = dataclasses.replace(
        DRAFT, category_id=100, work_type_id=29682801, udfs=(("Customer Impact", "2"), ("Backup Job", "Nightly"))
    )
    assert await connector.connect(creds()).create_ticket(draft) == 7001
    sent = body(route)
    assert (sent["ticketCategory"], sent["billingCodeID"]) == (100, 29682801)
    assert sent["userDefinedFields"] == [
        {"name": "Customer Impact", "value": "2"},
        {"name": "Backup Job", "value": "Nightly"},
    ]
    assert sent["externalID"] == DRAFT.external_id and "issueType" not in sent  # None fields still omitted


async def test_create_omits_category_work_type_and_udfs_when_not_set(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector
) -> None:
    route = router.post(API + "Tickets").respond(200, json={"itemId": 7001})
    await connector.connect(creds()).create_ticket(DRAFT)
    assert not {"ticketCategory", "billingCodeID", "userDefinedFields"} & set(body(route))
