"""Error translation, retries and their limits, the concurrency cap, logging without secrets, and the metrics hook."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import quote

import httpx
import pytest
import respx

from adapters.autotask import AutotaskConnector
from application.ports import (
    AuthFailure,
    NoteDraft,
    PsaAuthError,
    PsaError,
    PsaForbidden,
    PsaNotFound,
    PsaRejected,
    PsaUnavailable,
)
from domain.settings import ApiLogLevel

from .conftest import API, CODE, DISCOVERY, SECRET, USER, ZONE_ANSWER, RecordingConnector, creds
from .test_operations import DRAFT, ticket

THREAD_LIMIT = {"errors": ["Thread limit exceeded: at most 3 concurrent requests per endpoint are allowed."]}
THRESHOLD_MSG = {"errors": ["Request threshold of 10000 per 60 minutes exceeded."]}


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(403, json={"errors": ["Forbidden"]}),
        httpx.Response(500, json={"errors": ["User does not have adequate permissions to query this entity."]}),
    ],
)
async def test_forbidden(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector, answer: httpx.Response
) -> None:
    router.get(API + "Companies/100").mock(return_value=answer)
    with pytest.raises(PsaForbidden) as caught:
        await connector.connect(creds()).get_company(100)
    assert caught.value.message == answer.json()["errors"][0]


async def test_rejection_keeps_autotask_words_and_is_not_retried(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector
) -> None:
    route = router.post(API + "Tickets").respond(500, json={"errors": ["Missing Required Field: priority", "Bad"]})
    with pytest.raises(PsaRejected) as caught:
        await connector.connect(creds()).create_ticket(DRAFT)
    assert caught.value.message == "Missing Required Field: priority; Bad"
    assert route.call_count == 1


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(429),
        httpx.Response(500, json=THREAD_LIMIT),
        httpx.Response(500, json=THRESHOLD_MSG),
        httpx.Response(503, text="Service Unavailable"),
        httpx.ReadTimeout("slow"),
        httpx.ConnectError("refused"),
    ],
)
async def test_reads_are_retried_then_succeed(
    router: respx.MockRouter,
    zone: respx.Route,
    connector: RecordingConnector,
    failure: httpx.Response | httpx.TransportError,
) -> None:
    ok = httpx.Response(200, json={"item": ticket(1)})
    route = router.get(API + "Tickets/1").mock(side_effect=[failure, failure, ok])
    gateway = connector.connect(creds())
    assert (await gateway.get_ticket(1)) is not None
    assert route.call_count == 3 and gateway.calls == 4  # zone discovery + three attempts
    assert len(connector.sleeps) == 2 and connector.sleeps[0] > 0


async def test_retry_after_is_honoured_and_exhausted_throttling_says_so(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector
) -> None:
    route = router.get(API + "Tickets/1").respond(429, headers={"Retry-After": "7"})
    with pytest.raises(PsaUnavailable) as caught:
        await connector.connect(creds()).get_ticket(1)
    assert caught.value.throttled and not caught.value.maybe_applied
    assert route.call_count == 4 and connector.sleeps == [7.0, 7.0, 7.0]


async def test_a_retry_after_beyond_the_wait_limit_is_reported_at_once(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector
) -> None:
    route = router.get(API + "Tickets/1").respond(
        429, json={"errors": ["Request threshold exceeded."]}, headers={"Retry-After": "1800"}
    )
    with pytest.raises(PsaUnavailable) as caught:
        await connector.connect(creds()).get_ticket(1)
    assert caught.value.throttled and caught.value.message == "Request threshold exceeded."
    assert route.call_count == 1 and connector.sleeps == []


async def test_backoff_grows(router: respx.MockRouter, zone: respx.Route) -> None:
    conn = AutotaskConnector(backoff_base=1.0, retries=3)
    sleeps: list[float] = []

    async def record(seconds: float) -> None:
        sleeps.append(seconds)

    conn.transport.sleep = record
    router.get(API + "Tickets/1").respond(503)
    with pytest.raises(PsaUnavailable) as caught:
        await conn.connect(creds()).get_ticket(1)
    assert not caught.value.throttled
    assert 0.5 <= sleeps[0] <= 1.5 and 1.0 <= sleeps[1] <= 3.0 and 2.0 <= sleeps[2] <= 6.0
    await conn.aclose()


@pytest.mark.parametrize(
    ("failure", "maybe_applied"),
    [
        (httpx.ReadTimeout("sent, no answer"), True),
        (httpx.Response(504, text="Gateway Timeout"), True),
        (httpx.Response(500, text=""), True),
        (httpx.RemoteProtocolError("dropped"), True),
    ],
)
async def test_a_write_that_may_have_landed_is_never_retried(
    router: respx.MockRouter,
    zone: respx.Route,
    connector: RecordingConnector,
    failure: httpx.Response | httpx.TransportError,
    maybe_applied: bool,
) -> None:
    route = router.post(API + "Tickets").mock(side_effect=[failure, httpx.Response(200, json={"itemId": 2})])
    with pytest.raises(PsaUnavailable) as caught:
        await connector.connect(creds()).create_ticket(DRAFT)
    assert caught.value.maybe_applied is maybe_applied
    assert route.call_count == 1


@pytest.mark.parametrize("failure", [httpx.ConnectError("refused"), httpx.ConnectTimeout("no connection")])
async def test_a_write_surely_not_received_says_so_and_may_be_retried(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector, failure: httpx.TransportError
) -> None:
    note = router.post(API + "Tickets/1/Notes").mock(side_effect=failure)
    connector.transport.retries = 1
    with pytest.raises(PsaUnavailable) as caught:
        await connector.connect(creds()).add_ticket_note(1, NoteDraft("t", "d", 1, 2))
    assert caught.value.maybe_applied is False
    assert note.call_count == 2  # resent once: the PSA said it did not take it


@pytest.mark.parametrize("refusal", [httpx.Response(429), httpx.Response(500, json=THREAD_LIMIT)])
async def test_thread_limit_refusals_of_a_create_are_retried_until_the_deadline(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector, refusal: httpx.Response
) -> None:
    """A thread-limit refusal was not processed: a create is sent again (beyond `retries`) with growing waits,
    until the request's deadline would pass; then it fails as throttled, surely not created."""
    clock = [0.0]

    async def wait(seconds: float) -> None:
        connector.sleeps.append(seconds)
        clock[0] += seconds

    connector.transport.sleep, connector.transport.now, connector.transport.deadline = wait, lambda: clock[0], 20.0
    create = router.post(API + "Tickets").mock(side_effect=[refusal] * 3 + [httpx.Response(200, json={"itemId": 9})])
    assert await connector.connect(creds()).create_ticket(DRAFT) == 9
    assert create.call_count == 4 and len(connector.sleeps) == 3
    create.mock(return_value=refusal)
    connector.sleeps.clear()
    with pytest.raises(PsaUnavailable) as caught:
        await connector.connect(creds()).create_ticket(DRAFT)
    assert caught.value.throttled and not caught.value.maybe_applied
    assert 0 < sum(connector.sleeps) <= 20.0 and max(connector.sleeps) <= 4.0 * 1.5
    assert create.call_count == 4 + len(connector.sleeps) + 1


async def test_patch_timeout_is_maybe_applied(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector
) -> None:
    route = router.patch(API + "Tickets").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(PsaUnavailable) as caught:
        await connector.connect(creds()).complete_ticket(1, 5)
    assert caught.value.maybe_applied and route.call_count == 1


class CountingTransport(httpx.AsyncBaseTransport):
    """Answers every ticket read after yielding to the loop, and records how many requests were in flight at once."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.most = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if "zoneInformation" in request.url.path:
            return httpx.Response(200, json=ZONE_ANSWER)
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        for _ in range(5):
            await asyncio.sleep(0)
        self.in_flight -= 1
        return httpx.Response(200, json={"item": ticket(int(request.url.path.rsplit("/", 1)[1]))})


async def test_at_most_three_requests_in_flight_per_endpoint() -> None:
    transport = CountingTransport()
    conn = AutotaskConnector(transport=transport)
    gateway = conn.connect(creds())
    await gateway.zone()
    results = await asyncio.gather(*(gateway.get_ticket(i) for i in range(1, 11)))
    assert [r.ticket_id for r in results if r] == list(range(1, 11))
    assert transport.most == 3
    unlimited = CountingTransport()
    wide = AutotaskConnector(transport=unlimited, max_in_flight=10)
    await asyncio.gather(*(wide.connect(creds()).get_ticket(i) for i in range(1, 11)))
    assert unlimited.most > 3  # the transport would have allowed more: the cap is what held it at 3
    await conn.aclose()
    await wide.aclose()


async def test_secrets_never_reach_the_log(
    router: respx.MockRouter, connector: RecordingConnector, caplog: pytest.LogCaptureFixture
) -> None:
    router.get(DISCOVERY).respond(200, json=ZONE_ANSWER)
    router.get(API + "Tickets/1").respond(200, json={"item": ticket(1)})
    router.post(API + "Tickets").respond(500, json={"errors": [f"User {USER} with secret {SECRET} rejected"]})
    caplog.set_level(logging.DEBUG)  # every logger, httpx's and httpcore's too
    gateway = connector.connect(creds(log_level=ApiLogLevel.REQUESTS))
    await gateway.get_ticket(1)
    with pytest.raises(PsaRejected):
        await gateway.create_ticket(DRAFT)
    text = caplog.text
    assert "GET https://webservices5.autotask.net/ATServicesRest/V1.0/Tickets/1 -> 200" in text
    assert "zoneInformation?user=***" in text and "POST" in text and " ms" in text
    assert SECRET not in text and CODE not in text and DRAFT.description not in text
    assert USER not in text and quote(USER) not in text and "api-user" not in text


@pytest.mark.parametrize(("level", "lines"), [(ApiLogLevel.OFF, 0), (ApiLogLevel.ERRORS, 1), (ApiLogLevel.REQUESTS, 3)])
async def test_log_levels(
    router: respx.MockRouter,
    zone: respx.Route,
    connector: RecordingConnector,
    caplog: pytest.LogCaptureFixture,
    level: ApiLogLevel,
    lines: int,
) -> None:
    router.get(API + "Tickets/1").respond(200, json={"item": ticket(1)})
    router.get(API + "Companies/1").respond(403)
    caplog.set_level(logging.DEBUG, logger="backupchecks.autotask")
    gateway = connector.connect(creds(log_level=level))
    await gateway.get_ticket(1)
    with pytest.raises(PsaForbidden):
        await gateway.get_company(1)
    assert len([r for r in caplog.records if r.name == "backupchecks.autotask"]) == lines


async def test_on_request_reports_endpoint_and_outcome(router: respx.MockRouter, zone: respx.Route) -> None:
    seen: list[tuple[str, str]] = []
    conn = AutotaskConnector(retries=1, backoff_base=0, on_request=lambda e, o: seen.append((e, o)))
    router.get(API + "Tickets/1").mock(side_effect=[httpx.Response(429), httpx.Response(200, json={"item": ticket(1)})])
    router.post(API + "Tickets").mock(side_effect=httpx.ConnectError("down"))
    router.get(API + "Companies/5").respond(404)
    gateway = conn.connect(creds())
    await gateway.get_ticket(1)
    with pytest.raises(PsaUnavailable):
        await gateway.create_ticket(DRAFT)
    with pytest.raises(PsaNotFound):
        await gateway.get_company(5)
    assert seen == [
        ("GET zoneInformation", "ok"),
        ("GET Tickets/{id}", "throttled"),
        ("GET Tickets/{id}", "ok"),
        ("POST Tickets", "unavailable"),
        ("POST Tickets", "unavailable"),
        ("GET Companies/{id}", "error"),
    ]
    await conn.aclose()


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(500, json={"Message": "Thread limit of 3 concurrent requests exceeded."}),
        httpx.Response(500, json={"errors": ["Request threshold exceeded; retry later."]}),
        httpx.Response(429, text="slow down"),
    ],
)
async def test_throttling_worded_as_errors_or_message_is_throttled_and_a_create_retried(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector, answer: httpx.Response
) -> None:
    route = router.post(API + "Tickets").mock(side_effect=[answer, httpx.Response(200, json={"itemId": 9})])
    assert await connector.connect(creds()).create_ticket(DRAFT) == 9
    assert route.call_count == 2 and len(connector.sleeps) == 1


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(500, json={"Message": "An error has occurred."}),
        httpx.Response(500, html="<h1>Runtime Error</h1> thread pool"),
        httpx.Response(502, json={"Message": "Bad gateway"}),
    ],
)
async def test_an_unexplained_500_on_a_create_may_have_applied_and_is_not_retried(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector, answer: httpx.Response
) -> None:
    route = router.post(API + "Tickets").mock(return_value=answer)
    with pytest.raises(PsaUnavailable) as caught:
        await connector.connect(creds()).create_ticket(DRAFT)
    assert caught.value.maybe_applied and not caught.value.throttled and route.call_count == 1


MAINTENANCE = {"Content-Type": "text/html; charset=utf-8"}


async def test_a_200_html_page_answering_a_create_is_no_success_even_if_it_parses(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector
) -> None:
    """During maintenance Autotask answers 200 with an HTML page: the create's outcome is unknown (found again by its
    externalID, as after a timeout), never a ticket id read off the page, and never resent."""
    route = router.post(API + "Tickets").respond(200, content=b'{"itemId": 7001}', headers=MAINTENANCE)
    with pytest.raises(PsaUnavailable, match=r"HTML page.*maintenance\?") as caught:
        await connector.connect(creds()).create_ticket(DRAFT)
    assert caught.value.maybe_applied and not caught.value.throttled
    assert route.call_count == 1


async def test_a_200_html_page_answering_a_read_is_unavailable_surely_not_applied(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector
) -> None:
    route = router.get(API + "Tickets/1").respond(200, content=b'{"item": {"id": 1}}', headers=MAINTENANCE)
    connector.transport.retries = 1
    with pytest.raises(PsaUnavailable, match=r"HTML page.*maintenance\?") as caught:
        await connector.connect(creds()).get_ticket(1)
    assert not caught.value.maybe_applied
    assert route.call_count == 2  # a read may be asked again


@pytest.mark.parametrize("kind", ["text/plain", "application/xml", "application/octet-stream"])
async def test_a_200_in_another_media_type_is_no_success_either(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector, kind: str
) -> None:
    router.post(API + "Tickets").respond(200, content=b'{"itemId": 7001}', headers={"Content-Type": kind})
    with pytest.raises(PsaUnavailable, match=f"{kind}, not JSON") as caught:
        await connector.connect(creds()).create_ticket(DRAFT)
    assert caught.value.maybe_applied


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "application/json; charset=utf-8"},
        {"Content-Type": "Application/JSON"},
        {"Content-Type": "text/json"},
        {"Content-Type": "application/problem+json"},
        {},  # no media type named: judged by the body
    ],
)
async def test_json_media_types_are_read(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector, headers: dict[str, str]
) -> None:
    router.post(API + "Tickets").respond(200, content=b'{"itemId": 7001}', headers=headers)
    assert await connector.connect(creds()).create_ticket(DRAFT) == 7001


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(500, json={"errors": ["Authorization has been denied for this request."]}),
        httpx.Response(500, json={"Message": "Authorization has been denied for this request."}),
        httpx.Response(500, json={"errors": ["Unauthorized"]}),
        httpx.Response(500, json={"errors": ["Invalid credentials."]}),
        httpx.Response(500, json={"errors": ["Invalid user name or password."]}),
        httpx.Response(500, json={"errors": ["The secret is invalid."]}),
        httpx.Response(500, json={"errors": ["Login failed for API user."]}),
        httpx.Response(
            500, json={"errors": ["The user account has been locked. Please see your Autotask Administrator."]}
        ),
    ],
)
async def test_a_bad_credential_answered_with_500_is_the_refused_login_it_is(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector, answer: httpx.Response
) -> None:
    """Wrong secrets answer 401, but some tenants answer 500 with the words of a refused login: the same auth failure
    (not a rejection, not an outage), never retried, and remembered so the API user is not locked."""
    usage = router.get(API + "ThresholdInformation").mock(return_value=answer)
    with pytest.raises(PsaAuthError) as caught:
        await connector.connect(creds()).usage()
    assert caught.value.failure is AuthFailure.BAD_SECRET
    assert usage.call_count == 1 and connector.sleeps == []
    with pytest.raises(PsaAuthError, match="Test connection"):
        await connector.connect(creds()).usage()
    assert usage.call_count == 1


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (httpx.Response(500, json={"Message": "IntegrationCode is invalid."}), PsaAuthError),
        (httpx.Response(500, json={"errors": ["Missing Required Field: priority"]}), PsaRejected),
        (httpx.Response(500, json={"errors": ["The user is not authorized to update tickets."]}), PsaRejected),
        (httpx.Response(500, json={"errors": ["User does not have adequate permissions."]}), PsaForbidden),
        (httpx.Response(500, json={"Message": "An error has occurred."}), PsaUnavailable),
        (httpx.Response(502, html="<h1>401 Unauthorized</h1>"), PsaUnavailable),  # a proxy's page, not Autotask's words
    ],
)
async def test_only_the_words_of_a_refused_login_make_a_500_an_auth_failure(
    router: respx.MockRouter,
    zone: respx.Route,
    connector: RecordingConnector,
    answer: httpx.Response,
    error: type[PsaError],
) -> None:
    router.get(API + "ThresholdInformation").mock(return_value=answer)
    connector.transport.retries = 0
    with pytest.raises(PsaError) as caught:
        await connector.connect(creds()).usage()
    assert type(caught.value) is error or (error is PsaAuthError and isinstance(caught.value, PsaAuthError))
    if isinstance(caught.value, PsaAuthError):
        assert caught.value.failure is AuthFailure.BAD_TRACKING_IDENTIFIER
