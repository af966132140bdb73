"""Zone discovery, the headers, the credential failures, and what the connector caches per credentials."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest
import respx

from adapters.autotask import AutotaskConnector
from application.ports import AuthFailure, PsaAuthError, PsaGateway, PsaRejected, PsaUnavailable
from domain.settings import Environment

from .conftest import API, CODE, DISCOVERY, DISCOVERY2, SECRET, USER, WEB, ZONE_ANSWER, RecordingConnector, creds

THRESHOLD = {"externalRequestThreshold": 10000, "requestThresholdTimeframe": 60, "currentTimeframeRequestCount": 42}


async def test_discovers_the_zone_and_sends_the_credentials_as_headers(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector
) -> None:
    usage = router.get(API + "ThresholdInformation").respond(200, json=THRESHOLD)
    gateway = connector.connect(creds())
    assert (await gateway.usage()).requests_this_hour == 42
    assert zone.calls.last.request.url.params["user"] == USER
    headers = usage.calls.last.request.headers
    assert (headers["ApiIntegrationCode"], headers["UserName"], headers["Secret"]) == (CODE, USER, SECRET)
    assert headers["Content-Type"] == "application/json"
    assert await gateway.zone() == type(await gateway.zone())("America West 2", API, WEB)
    assert gateway.calls == 2


@pytest.mark.parametrize(
    "url", ["https://webservices5.autotask.net/ATServicesRest", "https://webservices5.autotask.net/ATServicesRest/"]
)
async def test_zone_url_with_or_without_slash_and_pascal_case_keys(
    router: respx.MockRouter, connector: RecordingConnector, url: str
) -> None:
    answer = {"ZoneName": "Z", "Url": url, "WebUrl": "https://ww5.autotask.net", "CI": 5}
    router.get(DISCOVERY).respond(200, json=answer)
    zone = await connector.connect(creds()).zone()
    assert zone.api_url == API  # used as returned: the casing of ATServicesRest is kept
    assert zone.web_url == WEB


async def test_production_asks_webservices_first_and_falls_back_to_webservices2(
    router: respx.MockRouter, connector: RecordingConnector
) -> None:
    first = router.get(DISCOVERY).mock(side_effect=httpx.ConnectError("refused"))
    second = router.get(DISCOVERY2).respond(200, json=ZONE_ANSWER)
    connector.transport.retries = 0
    assert (await connector.connect(creds()).zone()).api_url == API
    assert first.call_count == 1 and second.call_count == 1


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(404, html="<h1>Not Found</h1>"),
        httpx.Response(404, json={"errors": ["No zone"]}),
        httpx.Response(400, json={"errors": ["Bad request"]}),
    ],
)
async def test_any_failure_at_the_first_discovery_host_tries_the_other(
    router: respx.MockRouter, connector: RecordingConnector, failure: httpx.Response
) -> None:
    first = router.get(DISCOVERY).mock(return_value=failure)
    second = router.get(DISCOVERY2).respond(200, json=ZONE_ANSWER)
    assert (await connector.connect(creds()).zone()).api_url == API
    assert first.call_count == 1 and second.call_count == 1


async def test_404_at_every_discovery_host_is_unavailable_not_an_unknown_user(
    router: respx.MockRouter, connector: RecordingConnector
) -> None:
    router.get(DISCOVERY).respond(404)
    router.get(DISCOVERY2).respond(404)
    with pytest.raises(PsaUnavailable, match="every host"):
        await connector.connect(creds()).zone()
    router.get(DISCOVERY2).respond(500, json={"errors": ["Zone information could not be determined"]})
    with pytest.raises(PsaAuthError) as caught:
        await connector.connect(creds(username="other@example.com")).zone()
    assert caught.value.failure is AuthFailure.UNKNOWN_USER  # a 404 elsewhere does not hide what a host said


async def test_sandbox_asks_webservices2_first(router: respx.MockRouter, connector: RecordingConnector) -> None:
    first = router.get(DISCOVERY2).respond(200, json=ZONE_ANSWER)
    other = router.get(DISCOVERY).respond(200, json=ZONE_ANSWER)
    await connector.connect(creds(environment=Environment.SANDBOX)).zone()
    assert first.call_count == 1 and other.call_count == 0


async def test_discovery_hosts_can_be_overridden(router: respx.MockRouter) -> None:
    sim = router.get("http://127.0.0.1:8001/atservicesrest/v1.0/zoneInformation").respond(200, json=ZONE_ANSWER)
    conn = AutotaskConnector(zone_discovery_urls=["http://127.0.0.1:8001/atservicesrest/"])
    await conn.connect(creds()).zone()
    await conn.aclose()
    assert sim.call_count == 1


async def test_unknown_user_is_reported_after_every_host_said_so(
    router: respx.MockRouter, connector: RecordingConnector
) -> None:
    unknown = {"errors": ["Zone information could not be determined"]}
    router.get(DISCOVERY).respond(500, json=unknown)
    router.get(DISCOVERY2).respond(500, json=unknown)
    with pytest.raises(PsaAuthError) as caught:
        await connector.connect(creds()).zone()
    assert caught.value.failure is AuthFailure.UNKNOWN_USER
    assert caught.value.message == "Zone information could not be determined"


async def test_discovery_that_never_answers_is_unavailable(
    router: respx.MockRouter, connector: RecordingConnector
) -> None:
    router.get(DISCOVERY).mock(side_effect=httpx.ConnectError("refused"))
    router.get(DISCOVERY2).respond(500, json={"errors": ["Zone information could not be determined"]})
    with pytest.raises(PsaUnavailable):
        await connector.connect(creds()).zone()


async def test_bad_tracking_identifier(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector
) -> None:
    router.get(API + "ThresholdInformation").respond(500, json={"errors": ["IntegrationCode is invalid."]})
    with pytest.raises(PsaAuthError) as caught:
        await connector.connect(creds()).usage()
    assert caught.value.failure is AuthFailure.BAD_TRACKING_IDENTIFIER
    assert caught.value.message == "IntegrationCode is invalid."


async def test_a_refused_secret_costs_one_login_and_is_not_used_again_until_tried_afresh(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector
) -> None:
    """A zone just discovered is not discovered again on a 401: one failed login, not two. Then no call is made with
    these credentials (real tenants lock API users after repeated failures) until they change or `fresh=True`."""
    usage = router.get(API + "ThresholdInformation").respond(401, json={"Message": "Authorization has been denied."})
    with pytest.raises(PsaAuthError) as caught:
        await connector.connect(creds()).usage()
    assert caught.value.failure is AuthFailure.BAD_SECRET
    assert zone.call_count == 1 and usage.call_count == 1
    calls: list[Callable[[PsaGateway], Awaitable[object]]] = [
        lambda g: g.usage(),
        lambda g: g.get_ticket(1),
        lambda g: g.zone(),
    ]
    for call in calls:
        with pytest.raises(PsaAuthError, match="Test connection") as again:
            await call(connector.connect(creds()))
        assert again.value.failure is AuthFailure.BAD_SECRET
    assert zone.call_count == 1 and usage.call_count == 1  # nothing sent
    usage.respond(200, json=THRESHOLD)
    assert (await connector.connect(creds(secret="changed")).usage()).limit == 10000  # changed settings: allowed
    assert (await connector.connect(creds(), fresh=True).usage()).limit == 10000  # Test connection tries again
    assert (await connector.connect(creds()).usage()).limit == 10000


@pytest.mark.parametrize(
    ("answer", "failure"),
    [
        (httpx.Response(500, json={"errors": ["IntegrationCode is invalid."]}), AuthFailure.BAD_TRACKING_IDENTIFIER),
        (httpx.Response(500, json={"errors": ["Zone information could not be determined"]}), AuthFailure.UNKNOWN_USER),
    ],
)
async def test_other_refused_credentials_are_remembered_too(
    router: respx.MockRouter, connector: RecordingConnector, answer: httpx.Response, failure: AuthFailure
) -> None:
    discovery = router.get(DISCOVERY)
    if failure is AuthFailure.UNKNOWN_USER:
        discovery.mock(return_value=answer)
        router.get(DISCOVERY2).mock(return_value=answer)
        sent = discovery
    else:
        discovery.respond(200, json=ZONE_ANSWER)
        sent = router.get(API + "ThresholdInformation").mock(return_value=answer)
    for _ in range(3):
        with pytest.raises(PsaAuthError) as caught:
            await connector.connect(creds()).usage()
        assert caught.value.failure is failure
    assert sent.call_count == 1


async def test_401_after_a_zone_move_succeeds_at_the_new_zone(
    router: respx.MockRouter, connector: RecordingConnector
) -> None:
    moved = {"zoneName": "Z6", "url": "https://webservices6.autotask.net/ATServicesRest/", "webUrl": WEB}
    router.get(DISCOVERY).mock(side_effect=[httpx.Response(200, json=ZONE_ANSWER), httpx.Response(200, json=moved)])
    old = router.get(API + "ThresholdInformation").mock(
        side_effect=[httpx.Response(200, json=THRESHOLD), httpx.Response(401)]
    )
    new = router.get("https://webservices6.autotask.net/ATServicesRest/V1.0/ThresholdInformation").respond(
        200, json=THRESHOLD
    )
    gateway = connector.connect(creds())
    assert (await gateway.usage()).limit == 10000  # the zone is cached now
    assert (await gateway.usage()).limit == 10000  # the tenant moved: 401 at the old zone, found at the new one
    assert old.call_count == 2 and new.call_count == 1
    assert (await gateway.zone()).name == "Z6"


async def test_zone_is_cached_per_credentials_until_its_ttl(router: respx.MockRouter, zone: respx.Route) -> None:
    router.get(API + "ThresholdInformation").respond(200, json=THRESHOLD)
    conn = AutotaskConnector()
    await conn.connect(creds()).usage()
    await conn.connect(creds()).usage()
    assert zone.call_count == 1
    await conn.connect(creds(secret="another")).usage()  # changed credentials never reuse the cache
    assert zone.call_count == 2
    conn.forget(creds())
    await conn.connect(creds()).usage()
    assert zone.call_count == 3
    conn.clear()
    conn.zone_ttl_seconds = 0  # an expired zone is discovered again
    await conn.connect(creds()).usage()
    await conn.connect(creds()).usage()
    assert zone.call_count == 5
    await conn.aclose()


async def test_nothing_is_created_before_use() -> None:
    conn = AutotaskConnector()
    assert conn._client is None
    await conn.aclose()


@pytest.mark.parametrize(
    "changes",
    [{"secret": "pässwörd-ü"}, {"tracking_identifier": "TRACKING-Ω"}, {"username": "api-ü@example.com"}],
)
async def test_a_credential_http_cannot_carry_is_a_clear_refusal_never_a_traceback(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector, changes: dict[str, str]
) -> None:
    """Issue 21 item 6: headers are ASCII. A credential stored before the settings checked it made httpx raise
    UnicodeEncodeError (a 500, a CLI traceback); it is the adapter's own refusal, not retried, nothing sent."""
    usage = router.get(API + "ThresholdInformation").respond(200, json=THRESHOLD)
    with pytest.raises(PsaRejected, match=r"not sent to Autotask.*only visible ASCII") as caught:
        await connector.connect(creds(**changes)).usage()
    assert usage.call_count == 0 and connector.sleeps == []
    assert not any(value in caught.value.message for value in changes.values())


@pytest.mark.parametrize(
    "web_url",
    [
        "javascript:alert(document.cookie)//",
        "JavaScript://ww5.autotask.net/%0aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "http://ww5.autotask.net/",  # plain http off this computer
        "http://localhost@evil.example/",
        "http://127.0.0.1.evil.example/",
        "https:///no-host",
        "//ww5.autotask.net/",
        "https://ww5.autotask.net/\nx",
    ],
)
async def test_a_zone_whose_web_address_is_not_https_is_refused(
    router: respx.MockRouter, connector: RecordingConnector, web_url: str
) -> None:
    """Issue 21 item 11: every ticket link starts with the zone's webUrl; `javascript:` reached every ticket URL."""
    router.get(DISCOVERY).respond(200, json={**ZONE_ANSWER, "webUrl": web_url})
    router.get(DISCOVERY2).respond(200, json={**ZONE_ANSWER, "webUrl": web_url})
    with pytest.raises(PsaUnavailable, match=r"web address \(webUrl\) that is not https"):
        await connector.connect(creds()).zone()


@pytest.mark.parametrize(
    ("web_url", "kept"),
    [
        ("https://ww5.autotask.net", "https://ww5.autotask.net/"),
        ("HTTPS://ww5.autotask.net/", "HTTPS://ww5.autotask.net/"),
        ("http://127.0.0.1:8001", "http://127.0.0.1:8001/"),  # the simulator, on this computer
        ("http://localhost:8001/", "http://localhost:8001/"),
        ("http://[::1]:8001/", "http://[::1]:8001/"),
        ("", ""),  # no web address: tickets get no link
    ],
)
async def test_an_https_or_loopback_web_address_is_used(
    router: respx.MockRouter, connector: RecordingConnector, web_url: str, kept: str
) -> None:
    router.get(DISCOVERY).respond(200, json={**ZONE_ANSWER, "webUrl": web_url})
    assert (await connector.connect(creds()).zone()).web_url == kept
