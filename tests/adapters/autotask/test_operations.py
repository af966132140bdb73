"""Every endpoint the gateway uses, with Autotask's envelopes and shapes."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from adapters.autotask import AutotaskConnector
from application.ports import NoteDraft, PsaNotFound, PsaRejected, PsaUnavailable
from domain.draft import TicketDraft

from .conftest import API, WEB, ZONE_ANSWER, Configuration, RecordingConnector, creds, fixture

TICKET_URL = WEB + "Autotask/AutotaskExtend/ExecuteCommand.aspx?Code=OpenTicketDetail&TicketID="


def ticket(ticket_id: int, status: int = 1, **more: Any) -> dict[str, Any]:
    return {
        "id": ticket_id,
        "ticketNumber": f"T20260115.{ticket_id:04d}",
        "status": status,
        "externalID": f"bc-{ticket_id}",
        **more,
    }


def page(items: list[dict[str, Any]], next_url: str | None = None) -> dict[str, Any]:
    return {
        "items": items,
        "pageDetails": {"count": len(items), "requestCount": 500, "prevPageUrl": None, "nextPageUrl": next_url},
    }


def body(route: respx.Route, n: int = -1) -> Any:
    return json.loads(route.calls[n].request.content)


DRAFT = TicketDraft(
    company_id=100,
    title="[Backupchecks] Acme - Nightly - Error",
    description="Job failed",
    status=1,
    priority=2,
    queue_id=29683481,
    issue_type_id=None,
    sub_issue_type_id=None,
    source_id=4,
    external_id="bc-inst-abc",
    due_at=datetime(2026, 1, 16, 2, 10, tzinfo=UTC),
)


async def test_get_company_and_not_found(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector
) -> None:
    router.get(API + "Companies/100").respond(200, json={"item": {"id": 100, "companyName": "Acme", "isActive": True}})
    router.get(API + "Companies/101").respond(200, json={"Item": {"Id": 101, "CompanyName": "Old", "IsActive": False}})
    router.get(API + "Companies/102").respond(404, json={"errors": ["Company 102 not found"]})
    router.get(API + "Companies/103").respond(200, json={"item": None})
    gateway = connector.connect(creds())
    assert (await gateway.get_company(100)).name == "Acme"
    inactive = await gateway.get_company(101)
    assert (inactive.id, inactive.name, inactive.is_active) == (101, "Old", False)
    for missing in (102, 103):
        with pytest.raises(PsaNotFound):
            await gateway.get_company(missing)


async def test_search_companies_pages_by_id_and_says_when_more_exist(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector
) -> None:
    next_url = API + "Companies/query/next?paging=x"
    route = router.post(API + "Companies/query").mock(
        side_effect=[
            httpx.Response(
                200,
                json=page(
                    [
                        {"id": 1, "companyName": "Acme", "isActive": True},
                        {"id": 2, "companyName": "beta Acme", "isActive": True},
                    ],
                    next_url,
                ),
            ),
            httpx.Response(200, json=page([{"id": 3, "companyName": "Acme 3", "isActive": True}])),
        ]
    )
    gateway = connector.connect(creds())
    first = await gateway.search_companies("acme", limit=2)
    assert [c.id for c in first.companies] == [1, 2] and first.after_id == 2
    assert body(route, 0) == {"filter": [{"op": "contains", "field": "companyName", "value": "acme"}], "maxRecords": 2}
    second = await gateway.search_companies("acme", limit=2, after_id=first.after_id)
    assert [c.id for c in second.companies] == [3] and second.after_id is None
    assert body(route, 1)["filter"][1] == {"op": "gt", "field": "id", "value": 2}


async def test_search_drops_what_autotask_did_not_filter(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector
) -> None:
    """An operator Autotask ignores answers unfiltered: only real matches are shown."""
    router.post(API + "Companies/query").respond(
        200, json=page([{"id": 1, "companyName": "Acme"}, {"id": 2, "companyName": "Globex"}])
    )
    found = await connector.connect(creds()).search_companies("acme")
    assert [c.id for c in found.companies] == [1]


async def test_create_ticket_sends_the_draft_without_none_fields(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector
) -> None:
    route = router.post(API + "Tickets").respond(200, json={"itemId": 7001})
    assert await connector.connect(creds()).create_ticket(DRAFT) == 7001
    assert body(route) == {
        "companyID": 100,
        "title": DRAFT.title,
        "description": "Job failed",
        "status": 1,
        "priority": 2,
        "queueID": 29683481,
        "source": 4,
        "externalID": "bc-inst-abc",
        "dueDateTime": "2026-01-16T02:10:00Z",
    }


async def test_get_ticket_builds_the_web_link_and_none_when_missing(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector
) -> None:
    router.get(API + "Tickets/7001").respond(200, json={"item": ticket(7001, 8)})
    router.get(API + "Tickets/7002").respond(404)
    gateway = connector.connect(creds())
    facts = await gateway.get_ticket(7001)
    assert facts is not None
    assert (facts.ticket_number, facts.status, facts.external_id) == ("T20260115.7001", 8, "bc-7001")
    assert facts.url == TICKET_URL + "7001"
    assert await gateway.get_ticket(7002) is None


async def test_find_ticket_by_external_id(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector
) -> None:
    route = router.post(API + "Tickets/query").mock(
        side_effect=[
            httpx.Response(200, json=page([ticket(7002, externalID="BC-7001"), ticket(7001)])),
            httpx.Response(200, json=page([])),
            httpx.Response(200, json=page([ticket(7002, externalID="BC-7001")])),
        ]
    )
    gateway = connector.connect(creds())
    found = await gateway.find_ticket_by_external_id("bc-7001")
    assert found is not None and found.ticket_id == 7001
    assert body(route, 0) == {"filter": [{"op": "eq", "field": "externalID", "value": "bc-7001"}]}
    assert await gateway.find_ticket_by_external_id("bc-none") is None
    assert await gateway.find_ticket_by_external_id("bc-7001") is None  # Autotask matched ignoring case; we do not


async def test_bulk_read_chunks_by_400_and_follows_next_page_by_post(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector
) -> None:
    next_url = API + "Tickets/query/next?paging=abc"
    first = router.post(API + "Tickets/query").mock(
        side_effect=[
            httpx.Response(200, json=page([ticket(i) for i in range(1, 3)], next_url)),
            httpx.Response(200, json=page([ticket(600), ticket(9999)])),  # 9999 was not asked for: dropped
        ]
    )
    second = router.post(next_url).respond(200, json=page([ticket(3)]))
    ids = [*range(1, 401), 600, 601]
    found = await connector.connect(creds()).get_tickets(ids)
    assert sorted(found) == [1, 2, 3, 600]
    assert body(first, 0)["filter"] == [{"op": "in", "field": "id", "value": list(range(1, 401))}]
    assert body(second) == body(first, 0)  # the next page is the same body POSTed to nextPageUrl
    assert body(first, 1)["filter"][0]["value"] == [600, 601]


async def test_bulk_read_falls_back_to_single_reads_when_in_is_refused_then_tries_in_again(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector
) -> None:
    query = router.post(API + "Tickets/query").respond(500, json={"errors": ["Operator 'in' is not supported."]})
    router.get(API + "Tickets/1").respond(200, json={"item": ticket(1)})
    router.get(API + "Tickets/2").respond(404)
    assert sorted(await connector.connect(creds()).get_tickets([1, 2])) == [1]
    assert sorted(await connector.connect(creds()).get_tickets([1, 2])) == [1]
    assert query.call_count == 1  # refused once, then remembered for these credentials
    await connector.connect(creds(secret="other")).get_tickets([1])
    assert query.call_count == 2
    connector.connect(creds())._tenant.in_refused_until = 0.0  # the retry period is over
    query.respond(200, json=page([ticket(1)]))
    assert sorted(await connector.connect(creds()).get_tickets([1, 2])) == [1]
    assert query.call_count == 3


async def test_a_bulk_read_refusal_that_does_not_name_the_operator_is_no_fallback(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector
) -> None:
    router.post(API + "Tickets/query").respond(500, json={"errors": ["Unable to find field 'id'."]})
    single = router.get(API + "Tickets/1").respond(200, json={"item": ticket(1)})
    with pytest.raises(PsaRejected):
        await connector.connect(creds()).get_tickets([1])
    assert single.call_count == 0


async def test_time_entry_count(router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector) -> None:
    route = router.post(API + "TimeEntries/query/count").respond(200, json={"queryCount": 3})
    assert await connector.connect(creds()).count_time_entries(7001) == 3
    assert body(route) == {"filter": [{"op": "eq", "field": "ticketID", "value": 7001}]}


async def test_note_is_posted_under_the_ticket_and_found_by_exact_text(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector
) -> None:
    post = router.post(API + "Tickets/7001/Notes").respond(200, json={"itemId": 9001})
    router.post(API + "TicketNotes/query").respond(
        200,
        json=page(
            [
                {"id": 9002, "ticketID": 7001, "description": "closing note."},
                {"id": 9001, "ticketID": 7001, "description": "closing note"},
            ]
        ),
    )
    gateway = connector.connect(creds())
    note = NoteDraft("Resolved", "closing note", note_type=1, publish=2)
    assert await gateway.add_ticket_note(7001, note) == 9001
    assert body(post) == {
        "ticketID": 7001,
        "title": "Resolved",
        "description": "closing note",
        "noteType": 1,
        "publish": 2,
    }
    assert await gateway.find_ticket_note(7001, "closing note") == 9001
    assert await gateway.find_ticket_note(7001, "other") is None


async def test_note_on_a_missing_ticket(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector
) -> None:
    router.post(API + "Tickets/7009/Notes").respond(404, json={"errors": ["Parent not found"]})
    with pytest.raises(PsaNotFound, match="Parent not found"):
        await connector.connect(creds()).add_ticket_note(7009, NoteDraft("t", "d", None, None))


async def test_complete_ticket_patches_only_the_status_in_one_request(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector
) -> None:
    patch = router.patch(API + "Tickets").respond(200, json={"itemId": 7001})
    read = router.get(API + "Tickets/7001").respond(200, json={"item": ticket(7001, 5)})
    gateway = connector.connect(creds())
    await gateway.zone()
    calls = gateway.calls
    await gateway.complete_ticket(7001, 5)
    assert body(patch) == {"id": 7001, "status": 5}
    assert gateway.calls - calls == 1 and read.call_count == 0  # no read after the PATCH


async def test_a_refused_patch_is_reported_and_never_replaced_by_a_put(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector
) -> None:
    """ADR 0007: no PUT fallback (a PUT of the ticket as read back fails on real tenants)."""
    router.patch(API + "Tickets").respond(
        405, json={"Message": "The requested resource does not support http method 'PATCH'."}
    )
    put = router.put(API + "Tickets").respond(200, json={"itemId": 7001})
    with pytest.raises(PsaRejected, match="PATCH"):
        await connector.connect(creds()).complete_ticket(7001, 5)
    assert put.call_count == 0


async def test_complete_a_missing_ticket(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector
) -> None:
    router.patch(API + "Tickets").respond(404, json={"errors": ["not found"]})
    put = router.put(API + "Tickets")
    with pytest.raises(PsaNotFound):
        await connector.connect(creds()).complete_ticket(7009, 5)
    assert put.call_count == 0


async def test_picklists_from_the_real_tenant_fields_document(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector, configuration: Configuration
) -> None:
    tickets = router.get(API + "Tickets/entityInformation/fields").respond(
        200, json=fixture("tickets-fields-real-tenant.json")
    )
    router.get(API + "TicketNotes/entityInformation/fields").respond(
        200, json=fixture("ticketnotes-fields-pascalcase.json")
    )
    gateway = connector.connect(creds())
    p = await gateway.picklists()
    assert len(p.queues) == 29 and len(p.issue_types) == 62 and len(p.sub_issue_types) == 290
    assert len(p.sources) == 14 and len(p.priorities) == 5 and len(p.statuses) == 28
    assert p.status_label(5) == "Complete"
    assert next(s for s in p.statuses if s.id == 9).is_active is False
    server = next(s for s in p.sub_issue_types if s.id == 11)
    assert (server.label, server.parent_id) == ("Server", 4)
    assert all(s.parent_id is not None for s in p.sub_issue_types)
    assert all(q.parent_id is None for q in p.queues)
    assert p.required_ticket_fields == {"companyID", "id", "priority", "status", "title"}
    assert [v.id for v in p.note_types] == [1, 3, 13] and p.note_types[2].is_active is False
    assert any("internal" in v.label.lower() for v in p.note_publish)
    assert await gateway.picklists() is p
    await connector.connect(creds()).picklists()
    assert tickets.call_count == 1  # cached per credentials
    await gateway.picklists(refresh=True)
    assert tickets.call_count == 2


async def test_concurrent_first_callers_share_one_read_of_the_picklists(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector, configuration: Configuration
) -> None:
    tickets = router.get(API + "Tickets/entityInformation/fields").respond(
        200, json=fixture("tickets-fields-real-tenant.json")
    )
    notes = router.get(API + "TicketNotes/entityInformation/fields").respond(
        200, json=fixture("ticketnotes-fields-pascalcase.json")
    )
    gateway = connector.connect(creds())
    results = await asyncio.gather(*(gateway.picklists() for _ in range(5)))
    assert all(r is results[0] for r in results)
    assert (tickets.call_count, notes.call_count) == (1, 1)
    assert (
        configuration.udfs.call_count,
        configuration.billing_codes.call_count,
        configuration.category_defaults.call_count,
    ) == (1, 1, 1)
    assert gateway.calls == 1 + 5  # zone discovery, then the five reads of the tenant's configuration


async def test_usage_in_pascal_case(router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector) -> None:
    router.get(API + "ThresholdInformation").respond(
        200,
        json={"ExternalRequestThreshold": 10000, "RequestThresholdTimeframe": 60, "CurrentTimeframeRequestCount": 7},
    )
    usage = await connector.connect(creds()).usage()
    assert (usage.requests_this_hour, usage.limit, usage.timeframe_minutes) == (7, 10000, 60)


@pytest.mark.parametrize(("limit", "max_records"), [(0, 1), (-3, 1), (1, 1), (50, 50), (800, 500)])
async def test_search_limits_map_to_max_records_within_autotask_range(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector, limit: int, max_records: int
) -> None:
    route = router.post(API + "Companies/query").respond(200, json=page([{"id": 1, "companyName": "A"}]))
    found = await connector.connect(creds()).search_companies("a", limit)
    assert len(found.companies) == 1
    assert body(route)["maxRecords"] == max_records  # Autotask takes 1..500


IN_REFUSALS = [
    "Invalid filter operator: in",
    "Operator 'in' is not supported",
    "Operator 'in' is not supported.",
    'Operator "in" is not supported.',
    "The in operator is not supported",
    "unsupported operator in",
    "'in' is not a valid operator",
    "IN operator not allowed",
    "The operator IN is not supported.",
]
NOT_IN_REFUSALS = [
    "Error in query",
    "Field 'status' not found in entity",
    "Unable to find field 'id'.",
    "Unknown operator in filter",
    "Invalid value 'in progress' for field status.",
]


@pytest.mark.parametrize("message", IN_REFUSALS)
async def test_a_refusal_naming_the_in_operator_falls_back_to_single_reads(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector, message: str
) -> None:
    query = router.post(API + "Tickets/query").respond(500, json={"errors": [message]})
    single = router.get(API + "Tickets/1").respond(200, json={"item": ticket(1)})
    router.get(API + "Tickets/2").respond(404)
    found = await connector.connect(creds()).get_tickets([1, 2])
    assert sorted(found) == [1] and found[1].ticket_number == "T20260115.0001"
    assert query.call_count == 1 and single.call_count == 1


@pytest.mark.parametrize("message", NOT_IN_REFUSALS)
async def test_a_refusal_merely_containing_the_word_in_is_no_fallback(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector, message: str
) -> None:
    router.post(API + "Tickets/query").respond(500, json={"errors": [message]})
    single = router.get(API + "Tickets/1").respond(200, json={"item": ticket(1)})
    with pytest.raises(PsaRejected, match="^" + re.escape(message) + "$"):
        await connector.connect(creds()).get_tickets([1])
    assert single.call_count == 0


PAGING = "%7b%22pageSize%22%3a500%2c%22previousIds%22%3a%5b1%2c2%5d%2c%22nextIds%22%3a%5b3%2c4%5d%7d"
SEARCH = "%7b%22filter%22%3a%5b%7b%22op%22%3a%22in%22%2c%22field%22%3a%22id%22%2c%22value%22%3a%5b1%2c2%2c3%5d%7d%5d%7d"


class Wire(httpx.AsyncBaseTransport):
    """Answers like Autotask and records what went over the wire: method, request target (as raw bytes) and body."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url
        self.sent: list[tuple[str, bytes, bytes]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if "zoneInformation" in request.url.path:
            return httpx.Response(200, json=ZONE_ANSWER)
        self.sent.append((request.method, request.url.raw_path, await request.aread()))
        if len(self.sent) == 1:
            return httpx.Response(200, json=page([ticket(1), ticket(2)], self.next_url))
        return httpx.Response(200, json=page([ticket(3)]))


@pytest.mark.parametrize(
    "next_url",
    [
        API + f"Tickets/query/next?paging={PAGING}",
        API + f"Tickets/query/next?paging={PAGING}&search={SEARCH}",  # as a GET query's link carries it
        API + f"Tickets/query/next?paging={PAGING.upper()}&search={SEARCH}",
        API.replace("webservices5", "WebServices5").replace("V1.0", "v1.0") + f"Tickets/query/next?paging={PAGING}",
    ],
    ids=["paging", "paging-and-search", "upper-case-escapes", "other-casing"],
)
async def test_a_url_encoded_next_page_link_is_followed_exactly_as_given(next_url: str) -> None:
    """Real tenants send next-page links as URL-encoded JSON: the link goes over the wire byte for byte (nothing
    decoded, nothing re-encoded), to the zone's own host, POSTed with the same body (a GET there answers 405)."""
    wire = Wire(next_url)
    conn = AutotaskConnector(transport=wire)
    found = await conn.connect(creds()).get_tickets([1, 2, 3])
    await conn.aclose()
    assert sorted(found) == [1, 2, 3]
    (method1, target1, body1), (method2, target2, body2) = wire.sent
    assert (method1, target1) == ("POST", b"/ATServicesRest/V1.0/Tickets/query")
    assert method2 == "POST" and body2 == body1
    assert target2 == next_url.split("autotask.net", 1)[1].encode()


@pytest.mark.parametrize(
    "next_url",
    [
        f"https://evil.example/ATServicesRest/V1.0/Tickets/query/next?paging={PAGING}",
        f"https://webservices5.autotask.net@evil.example/ATServicesRest/V1.0/Tickets/query/next?paging={PAGING}",
        f"https://webservices5.autotask.net.evil.example/ATServicesRest/V1.0/Tickets/query/next?paging={PAGING}",
        f"http://webservices5.autotask.net/ATServicesRest/V1.0/Tickets/query/next?paging={PAGING}",
    ],
)
async def test_an_encoded_next_page_link_off_the_zone_is_never_followed(next_url: str) -> None:
    wire = Wire(next_url)
    conn = AutotaskConnector(transport=wire)
    with pytest.raises(PsaUnavailable, match="off its own host"):
        await conn.connect(creds()).get_tickets([1, 2, 3])
    await conn.aclose()
    assert len(wire.sent) == 1


async def test_a_missing_ticket_or_company_answered_with_a_null_item_is_missing(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector
) -> None:
    """`200 {"item": null}` is a 404 (records the API user may not see answer so too)."""
    router.get(API + "Tickets/7003").respond(200, json={"item": None})
    router.get(API + "Companies/103").respond(200, json={"Item": None})
    gateway = connector.connect(creds())
    assert await gateway.get_ticket(7003) is None
    with pytest.raises(PsaNotFound):
        await gateway.get_company(103)
