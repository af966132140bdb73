"""Malformed answers (not JSON, an HTML page, empty, the wrong shape, missing fields, huge numbers) surface as the
port's own errors, never as msgspec, httpx, KeyError or AttributeError exceptions."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import respx

from adapters.autotask import AutotaskConnector
from application.ports import CompanyPage, NoteDraft, PsaError, PsaUnavailable
from domain.settings import ApiLogLevel

from .conftest import (
    API,
    CODE,
    DISCOVERY,
    DISCOVERY2,
    SECRET,
    USER,
    ZONE_ANSWER,
    Configuration,
    RecordingConnector,
    creds,
)
from .test_operations import DRAFT, page, ticket

HTML = "<html><head><title>Service Unavailable</title></head><body><h1>502 Bad Gateway</h1></body></html>"
HUGE = 10**30

MALFORMED = [
    httpx.Response(200, text="not json at all"),
    httpx.Response(200, html=HTML),
    httpx.Response(200, content=b""),
    httpx.Response(200, json=None),
    httpx.Response(200, json=[1, 2, 3]),
    httpx.Response(200, json="item"),
    httpx.Response(200, json={}),
    httpx.Response(200, json={"unexpected": {"id": 1}}),
    httpx.Response(200, content=b"\xff\xfe\x00garbage"),
]
IDS = ["text", "html", "empty", "null", "list", "string", "empty-object", "other-object", "bad-bytes"]


@pytest.mark.parametrize("answer", MALFORMED, ids=IDS)
async def test_a_malformed_read_is_unavailable(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector, answer: httpx.Response
) -> None:
    router.get(API + "Tickets/1").mock(return_value=answer)
    connector.transport.retries = 0
    with pytest.raises(PsaUnavailable) as caught:
        await connector.connect(creds()).get_ticket(1)
    assert not caught.value.maybe_applied


@pytest.mark.parametrize(
    "item",
    [
        {"item": []},
        {"item": "x"},
        {"item": {"ticketNumber": "T1"}},
        {"item": {"id": "abc"}},
        {"item": {"id": HUGE}},
        {"item": {"id": 1, "status": "Open"}},
        {"item": {"id": 1, "ticketNumber": ["T1"]}},
        {"item": {"id": -(2**64)}},
    ],
    ids=["list", "string", "no-id", "text-id", "huge-id", "text-status", "list-number", "negative-huge-id"],
)
async def test_an_item_of_the_wrong_shape_is_unavailable(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector, item: dict[str, Any]
) -> None:
    router.get(API + "Tickets/1").respond(200, json=item)
    router.get(API + "Companies/1").respond(200, json=item)
    gateway = connector.connect(creds())
    with pytest.raises(PsaUnavailable):
        await gateway.get_ticket(1)
    if "ticketNumber" not in str(item) and "status" not in str(item):
        with pytest.raises(PsaUnavailable):
            await gateway.get_company(1)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, content=b""),
        httpx.Response(200, json={}),
        httpx.Response(200, json={"itemId": None}),
        httpx.Response(200, json={"itemId": "seven"}),
        httpx.Response(200, json={"itemId": HUGE}),
        httpx.Response(200, content=b'{"itemId": 1e400}'),
        httpx.Response(200, html=HTML),
        httpx.Response(200, json=[{"itemId": 7}]),
    ],
    ids=["empty", "no-itemId", "null-itemId", "text-itemId", "huge-itemId", "infinite-itemId", "html", "list"],
)
async def test_a_malformed_create_answer_may_have_applied_and_is_not_retried(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector, answer: httpx.Response
) -> None:
    tickets = router.post(API + "Tickets").mock(return_value=answer)
    notes = router.post(API + "Tickets/1/Notes").mock(return_value=answer)
    gateway = connector.connect(creds())
    creates: list[Callable[[], Awaitable[object]]] = [
        lambda: gateway.create_ticket(DRAFT),
        lambda: gateway.add_ticket_note(1, NoteDraft("t", "d", 1, 2)),
    ]
    for create in creates:
        with pytest.raises(PsaUnavailable) as caught:
            await create()
        assert caught.value.maybe_applied  # a 200 came back: the record may well exist; look for it, never resend
    assert tickets.call_count == 1 and notes.call_count == 1


@pytest.mark.parametrize(
    "answer",
    [
        {"items": None, "pageDetails": None, "queryCount": "many"},
        {"items": {"id": 1}},
        {"items": [1, 2]},
        {"items": [{"id": 1}], "pageDetails": {"nextPageUrl": 5}},
        {"items": [{"noId": 1}]},
        {"queryCount": HUGE},
        {"items": [ticket(1)], "pageDetails": {"nextPageUrl": "http://[not-a-url"}},
        [],
    ],
    ids=["null-items", "object-items", "number-items", "number-next", "no-id", "huge-count", "odd-next-url", "list"],
)
async def test_malformed_query_and_count_answers_are_unavailable(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector, answer: dict[str, Any]
) -> None:
    router.post(API + "Tickets/query").respond(200, json=answer)
    router.post(API + "TicketNotes/query").respond(200, json=answer)
    router.post(API + "Companies/query").respond(200, json=answer)
    router.post(API + "TimeEntries/query/count").respond(200, json=answer)
    gateway = connector.connect(creds())
    calls = [
        gateway.get_tickets([1]),
        gateway.find_ticket_by_external_id("bc-1"),
        gateway.find_ticket_note(1, "d"),
        gateway.search_companies("a"),
        gateway.count_time_entries(1),
    ]
    outcomes: list[object] = []
    for call in calls:
        try:
            outcomes.append(await call)
        except PsaError as error:
            outcomes.append(error)
    assert all(
        isinstance(o, PsaError) or o in ({}, None, []) or (isinstance(o, CompanyPage) and not o.companies)
        for o in outcomes
    ), outcomes
    assert isinstance(outcomes[-1], PsaUnavailable)  # a count needs its number


@pytest.mark.parametrize(
    "answer",
    [
        {"fields": "none"},
        {"fields": [{"name": "status", "picklistValues": "x"}]},
        [],
        {"fields": [{"noName": 1}]},
    ],
    ids=["text-fields", "text-values", "list", "nameless"],
)
async def test_malformed_fields_and_threshold_answers_are_unavailable(
    router: respx.MockRouter,
    zone: respx.Route,
    connector: RecordingConnector,
    configuration: Configuration,
    answer: Any,
) -> None:
    router.get(API + "Tickets/entityInformation/fields").respond(200, json=answer)
    router.get(API + "TicketNotes/entityInformation/fields").respond(200, json=answer)
    router.get(API + "ThresholdInformation").respond(200, json={"externalRequestThreshold": "lots"})
    gateway = connector.connect(creds())
    with pytest.raises(PsaUnavailable):
        await gateway.picklists()
    with pytest.raises(PsaUnavailable):
        await gateway.usage()


@pytest.mark.parametrize(
    "answer",
    [
        {"zoneName": "x"},
        {"url": None},
        {"url": 5},
        [],
        {"url": "ftp://elsewhere/"},
        {"url": ""},
    ],
    ids=["no-url", "null-url", "number-url", "list", "not-http", "empty-url"],
)
async def test_a_malformed_zone_answer_tries_the_other_host_then_is_unavailable(
    router: respx.MockRouter, connector: RecordingConnector, answer: Any
) -> None:
    first = router.get(DISCOVERY).respond(200, json=answer)
    second = router.get(DISCOVERY2).respond(200, html=HTML)
    with pytest.raises(PsaUnavailable):
        await connector.connect(creds()).zone()
    assert first.called and second.called
    router.get(DISCOVERY2).respond(200, json=ZONE_ANSWER)
    assert (await connector.connect(creds()).zone()).api_url.endswith("/V1.0/")


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(500, html=HTML),
        httpx.Response(500, json={"errors": [{"code": 1}]}),
        httpx.Response(500, json={"errors": "one string"}),
        httpx.Response(400, json=[1]),
        httpx.Response(502),
        httpx.Response(500, json={"errors": [], "Message": None}),
        httpx.Response(418, content=b"\xff\xfe"),
    ],
    ids=["html", "object-errors", "string-errors", "list", "empty-502", "empty-errors", "bad-bytes"],
)
async def test_odd_error_answers_are_port_errors(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector, answer: httpx.Response
) -> None:
    router.get(API + "Tickets/1").mock(return_value=answer)
    connector.transport.retries = 0
    with pytest.raises(PsaError):
        await connector.connect(creds()).get_ticket(1)


@pytest.mark.parametrize(
    "next_url",
    [
        "not a url at all",
        "/ATServicesRest/V1.0/Tickets/query/next",
        "https://evil.example.com/ATServicesRest/V1.0/Tickets/query/next",
        "http://webservices5.autotask.net/ATServicesRest/V1.0/Tickets/query/next",
    ],
)
async def test_a_next_page_url_off_the_zone_host_is_never_sent_the_credentials(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector, next_url: str
) -> None:
    router.post(API + "Tickets/query").respond(200, json=page([ticket(1)], next_url))
    with pytest.raises(PsaUnavailable):
        await connector.connect(creds()).find_ticket_by_external_id("bc-1")
    assert [c.request.url.host for c in router.calls] == ["webservices.autotask.net", "webservices5.autotask.net"]


@pytest.mark.parametrize("retry_after", ["Wed, 21 Oct 2015 07:28:00 -0000", "nan", "inf", "-5", "soon", ""])
async def test_odd_retry_after_values_never_break_the_wait(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector, retry_after: str
) -> None:
    route = router.get(API + "Tickets/1").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": retry_after}),
            httpx.Response(200, json={"item": ticket(1)}),
        ]
    )
    assert (await connector.connect(creds()).get_ticket(1)) is not None
    assert route.call_count == 2 and len(connector.sleeps) == 1 and 0 <= connector.sleeps[0] <= 30


async def test_error_messages_raised_to_callers_carry_no_secret(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector
) -> None:
    router.get(API + "Tickets/1").respond(500, json={"errors": [f"Bad login {USER} / {SECRET} / {CODE}"]})
    router.get(API + "Tickets/2").respond(502, html=f"<p>headers: UserName={USER} Secret={SECRET}</p>")
    gateway = connector.connect(creds(log_level=ApiLogLevel.OFF))
    connector.transport.retries = 0
    for ticket_id in (1, 2):
        with pytest.raises(PsaError) as caught:
            await gateway.get_ticket(ticket_id)
        text = f"{caught.value} {caught.value.message} {caught.value!r}"
        assert SECRET not in text and USER not in text and CODE not in text, text


async def test_reprs_show_no_secret(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    router.get(API + "Tickets/1").respond(200, json={"item": ticket(1)})
    gateway = connector.connect(creds())
    await gateway.get_ticket(1)  # fills the zone cache and the concurrency gates
    shown = " ".join(
        repr(x)
        for x in (
            connector,
            gateway,
            creds(),
            connector.transport,
            vars(gateway),
            vars(connector),
            connector.transport.__dict__,
        )
    )
    assert SECRET not in shown and CODE not in shown
    assert USER not in repr(connector) + repr(gateway) + repr(connector.transport)


async def test_unknown_reasons_never_escape_as_httpx_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if "zoneInformation" in request.url.path:
            return httpx.Response(200, json=ZONE_ANSWER)
        raise httpx.DecodingError("bad gzip")

    conn = AutotaskConnector(transport=httpx.MockTransport(handler), retries=0)
    with pytest.raises(PsaUnavailable):
        await conn.connect(creds()).get_ticket(1)
    await conn.aclose()
