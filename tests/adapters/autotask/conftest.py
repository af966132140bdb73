from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import respx

from adapters.autotask import AutotaskConnector
from application.ports import Credentials
from domain.settings import ApiLogLevel, Environment

FIXTURES = Path(__file__).parent / "fixtures"
DISCOVERY = "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation"
DISCOVERY2 = "https://webservices2.autotask.net/atservicesrest/v1.0/zoneInformation"
API = "https://webservices5.autotask.net/ATServicesRest/V1.0/"
WEB = "https://ww5.autotask.net/"
ZONE_ANSWER = {
    "zoneName": "America West 2",
    "url": "https://webservices5.autotask.net/ATServicesRest/",
    "webUrl": WEB,
    "ci": 5,
}
SECRET = "s3cret-Do-Not-Log"
USER = "api-user@example.com"
CODE = "TRACKING-CODE-01"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def creds(**changes: Any) -> Credentials:
    values: dict[str, Any] = {
        "environment": Environment.PRODUCTION,
        "username": USER,
        "secret": SECRET,
        "tracking_identifier": CODE,
        "log_level": ApiLogLevel.ERRORS,
    }
    values.update(changes)
    return Credentials(**values)


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def zone(router: respx.MockRouter) -> respx.Route:
    return router.get(DISCOVERY).respond(200, json=ZONE_ANSWER)


EMPTY_PAGE = {"items": [], "pageDetails": {"count": 0, "requestCount": 500, "prevPageUrl": None, "nextPageUrl": None}}


@dataclass
class Configuration:
    """The routes of the tenant configuration `picklists()` reads besides the two field documents."""

    udfs: respx.Route
    billing_codes: respx.Route
    category_defaults: respx.Route


@pytest.fixture
def configuration(router: respx.MockRouter) -> Configuration:
    """A tenant without UDFs, work types or category defaults (tests replace the answers they need)."""
    return Configuration(
        router.get(API + "Tickets/entityInformation/userDefinedFields").respond(200, json={"fields": []}),
        router.post(API + "BillingCodes/query").respond(200, json=EMPTY_PAGE),
        router.post(API + "TicketCategoryFieldDefaults/query").respond(200, json=EMPTY_PAGE),
    )


class RecordingConnector(AutotaskConnector):
    """A connector whose waits between retries return at once, each recorded in `sleeps`."""

    def __init__(self) -> None:
        super().__init__(backoff_base=0.01)
        self.sleeps: list[float] = []
        self.transport.sleep = self._no_wait

    async def _no_wait(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@pytest.fixture
async def connector() -> AsyncIterator[RecordingConnector]:
    conn = RecordingConnector()
    yield conn
    await conn.aclose()
