"""The PSA port over Autotask's REST API v1.0 (see docs/adr/0004-talking-to-autotask.md): the connector, which
holds what is shared (HTTP client, in-flight budget, per-credentials zone and picklists) and hands out gateways
(`gateway.py`: the entity operations) over the calls of `calls.py` (zone discovery, refused credentials, query,
paging, `in` batches)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import timedelta

import httpx

from adapters.clock import SystemClock
from adapters.memory.refusals import MemoryRefusedCredentials
from application.ports import Clock, Credentials, InFlightBudget, RefusedCredentials
from domain.settings import Environment

from .budget import LocalBudget
from .calls import Tenant
from .gateway import AutotaskGateway
from .transport import Transport, redact_httpx_log

PRODUCTION_DISCOVERY = (
    "https://webservices.autotask.net/atservicesrest",
    "https://webservices2.autotask.net/atservicesrest",
)
SANDBOX_DISCOVERY = tuple(reversed(PRODUCTION_DISCOVERY))
"""Both hosts answer for every zone; a sandbox is asked at webservices2 first (where Autotask's pre-release and sandbox
databases have lived), production at webservices first. Each falls back to the other."""
REFUSAL_RETRY_SECONDS = 30 * 60
"""Credentials Autotask refused are tried once more after this long, by one process of all those sharing the refusals
(a new API user or secret can take a while to reach every Autotask server; then it heals without an admin)."""
LOGGER_NAME = "backupchecks.autotask"


class AutotaskConnector:
    """Hands out gateways; holds the HTTP client, the in-flight budget and, per credentials, zone and picklists
    (docs/adr/0007-autotask-as-real-tenants-are.md).

    `budget` is shared by every process using the tracking identifier (the container passes the PostgreSQL one when
    instances share a database; by default one process's `LocalBudget(max_in_flight)`). `deadline` bounds a request's
    wait for a slot and its thread-limit retries; `timeout` bounds each HTTP exchange.

    `refusals` remembers the credentials Autotask refused, for every process sharing it (the container passes the
    database's; by default this process's memory): they are not sent again until they change, an admin's Test
    connection (`fresh=True`) tries them, or `refusal_retry_seconds` passed since they were last tried, when one
    process of all takes one retry (docs/adr/0030-refused-credentials-remembered-in-the-database.md). `clock` tells
    that time."""

    def __init__(
        self,
        *,
        zone_discovery_urls: Sequence[str] | None = None,
        timeout: float = 30.0,
        max_in_flight: int = 3,
        budget: InFlightBudget | None = None,
        deadline: float = 30.0,
        retries: int = 3,
        backoff_base: float = 0.5,
        zone_ttl_seconds: float = 4 * 3600,
        transport: httpx.AsyncBaseTransport | None = None,
        logger: logging.Logger | None = None,
        on_request: Callable[[str, str], None] | None = None,
        refusals: RefusedCredentials | None = None,
        refusal_retry_seconds: float = REFUSAL_RETRY_SECONDS,
        clock: Clock | None = None,
    ) -> None:
        self.zone_discovery_urls = tuple(zone_discovery_urls) if zone_discovery_urls else None
        self.zone_ttl_seconds = zone_ttl_seconds
        self.refusals: RefusedCredentials = refusals if refusals is not None else MemoryRefusedCredentials()
        self.refusal_retry = timedelta(seconds=refusal_retry_seconds)
        self.clock: Clock = clock or SystemClock()
        self._timeout = timeout
        self._httpx_transport = transport
        self._client: httpx.AsyncClient | None = None
        self._tenants: dict[str, Tenant] = {}
        self.logger = logger or logging.getLogger(LOGGER_NAME)
        redact_httpx_log()
        self.transport = Transport(
            self._http,
            self.logger,
            retries,
            backoff_base,
            budget or LocalBudget(max_in_flight),
            deadline,
            on_request,
        )

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout, transport=self._httpx_transport)
        return self._client

    def discovery_urls(self, environment: Environment) -> tuple[str, ...]:
        if self.zone_discovery_urls:
            return self.zone_discovery_urls
        return SANDBOX_DISCOVERY if environment is Environment.SANDBOX else PRODUCTION_DISCOVERY

    def connect(self, credentials: Credentials, *, fresh: bool = False) -> AutotaskGateway:
        """A gateway for the credentials. Nothing is asked here (of Autotask or the refusals): its first call does."""
        return AutotaskGateway(self, credentials, self._tenants.setdefault(credentials.digest, Tenant()), fresh=fresh)

    def forget(self, credentials: Credentials) -> None:
        """Drop the cached zone and picklists of the credentials (a refusal stays: only its store forgets it)."""
        self._tenants.pop(credentials.digest, None)

    def clear(self) -> None:
        self._tenants.clear()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
