"""The PSA port over Autotask's REST API v1.0 (see docs/adr/0004-talking-to-autotask.md)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from adapters.clock import SystemClock
from adapters.memory.refusals import MemoryRefusedCredentials
from application.errors import StorageError
from application.ports import (
    AccessLevel,
    ApiUsage,
    AuthFailure,
    Clock,
    Company,
    CompanyPage,
    Credentials,
    EntityRights,
    InFlightBudget,
    NoteDraft,
    PsaAuthError,
    PsaError,
    PsaForbidden,
    PsaNotFound,
    PsaRejected,
    PsaUnavailable,
    RefusedCredentials,
    Rights,
    TicketFacts,
    Zone,
)
from domain.draft import TicketDraft
from domain.picklists import Picklists
from domain.settings import Environment

from .budget import LocalBudget
from .transport import Request, Transport, Unauthorized, redact_httpx_log
from .wire import (
    WORK_TYPE_USE,
    CompanyWire,
    CountAnswer,
    CreateAnswer,
    EntityInformationAnswer,
    FieldsAnswer,
    NoteWire,
    QueryAnswer,
    ThresholdInformation,
    TicketWire,
    UdfsAnswer,
    ZoneInformation,
    convert,
    to_picklists,
)

PRODUCTION_DISCOVERY = (
    "https://webservices.autotask.net/atservicesrest",
    "https://webservices2.autotask.net/atservicesrest",
)
SANDBOX_DISCOVERY = tuple(reversed(PRODUCTION_DISCOVERY))
"""Both hosts answer for every zone; a sandbox is asked at webservices2 first (where Autotask's pre-release and sandbox
databases have lived), production at webservices first. Each falls back to the other."""
PAGE_SIZE = 500
IN_CHUNK = 400
"""Autotask fails a query with more than about 500 conditions (each `in` value counts one)."""
MODIFIED = "lastTrackedModificationDateTime"
"""Autotask moves it on every tracked change of a ticket (its fields, notes, time entries); queryable."""
IN_RETRY_SECONDS = 15 * 60
"""After a tenant refused the `in` operator, tickets are read one by one for this long, then `in` is tried again."""
REFUSAL_RETRY_SECONDS = 30 * 60
"""Credentials Autotask refused are tried once more after this long, by one process of all those sharing the refusals
(a new API user or secret can take a while to reach every Autotask server; then it heals without an admin)."""
LOGGER_NAME = "backupchecks.autotask"
T = TypeVar("T")
_IN_REFUSED = re.compile(
    r"""(?ix)
    ['"`]in['"`]                                                  # quoted: "Operator 'in' is not supported"
    | \bin\s+operator\b                                            # "The in operator ...", "IN operator not allowed"
    | \boperator\s*[:=]?\s*in\s*(?:$|[.,;!)]|\s(?:is|isn't|not)\b)   # "Invalid filter operator: in", "... operator in"
    """
)
"""A refusal that names the `in` operator, in any of the phrasings tenants use (and not any other rejection of the
query: "Error in query" or "Field 'status' not found in entity" merely contain the word)."""


@dataclass
class _Tenant:
    """What the connector remembers for one set of credentials."""

    zone: Zone | None = None
    zone_expires: float = 0.0
    picklists: Picklists | None = None
    picklists_read: asyncio.Lock = field(default_factory=asyncio.Lock)
    """One read of the field documents at a time: concurrent first callers share it."""
    in_refused_until: float = 0.0


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
        self._tenants: dict[str, _Tenant] = {}
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
        return AutotaskGateway(self, credentials, self._tenants.setdefault(credentials.digest, _Tenant()), fresh=fresh)

    def forget(self, credentials: Credentials) -> None:
        """Drop the cached zone and picklists of the credentials (a refusal stays: only its store forgets it)."""
        self._tenants.pop(credentials.digest, None)

    def clear(self) -> None:
        self._tenants.clear()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _same_origin(url: str, base: str) -> bool:
    def origin(u: str) -> tuple[str, str]:
        scheme, _, rest = u.partition("://")
        return scheme.lower(), rest.split("/", 1)[0].lower()

    return "://" in url and origin(url) == origin(base)


def _eq(field: str, value: Any) -> dict[str, Any]:
    return {"op": "eq", "field": field, "value": value}


def _wire_time(value: datetime) -> str:
    """A time as Autotask takes it in a filter: UTC, whole seconds, `Z`."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _changed_after(item: dict[str, Any], after: datetime) -> bool:
    """Whether a ticket in a changes answer changed after `after`: its `lastTrackedModificationDateTime` (with or
    without fractional seconds; no offset is UTC) is later, or missing or unreadable (the change is read rather than
    lost)."""
    raw = next((v for k, v in item.items() if k.lower() == MODIFIED.lower()), None)
    try:
        at = datetime.fromisoformat(str(raw).strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return True
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)) > after


class AutotaskGateway:
    """The PSA gateway over Autotask. Before its first request it asks the connector's refusals whether Autotask
    refused these credentials (once per gateway): refused ones send nothing, unless this gateway may try them once
    more (`fresh`, or the retry window passed and it took the retry); that try's first authenticated answer decides,
    the refusal forgotten by every process on success or remembered anew on failure. Concurrent calls of one gateway
    wait for that answer, so one try is one login."""

    def __init__(
        self, connector: AutotaskConnector, credentials: Credentials, tenant: _Tenant, *, fresh: bool = False
    ) -> None:
        self._connector = connector
        self._credentials = credentials
        self._tenant = tenant
        self._calls = 0
        self._gate_key = hashlib.sha256(credentials.tracking_identifier.encode()).hexdigest()[:16]
        """The in-flight budget is per tracking identifier; its digest names it (the identifier is a credential)."""
        self._digest = credentials.digest
        self._fresh = fresh
        self._admitted = False
        """The refusals were asked: none stood in the way (or this gateway's try of refused credentials succeeded)."""
        self._trying = False
        """These credentials were refused, and this gateway tries them once more: its first authenticated answer
        decides."""
        self._refused: PsaAuthError | None = None
        """Refused (remembered or just now): this gateway sends nothing more."""
        self._admission = asyncio.Lock()
        self._try_lock = asyncio.Lock()

    @property
    def calls(self) -> int:
        return self._calls

    def _count(self) -> None:
        self._calls += 1

    # -- plumbing ------------------------------------------------------------------------------------------------------
    async def _send(self, request: Request, *, tenant: str | None) -> Any:
        c = self._credentials
        return await self._connector.transport.send(
            request,
            tenant=tenant,
            log_level=c.log_level,
            secrets=(c.secret, c.username, c.tracking_identifier),
            count=self._count,
        )

    async def zone(self) -> Zone:
        return (await self._zone())[0]

    async def _zone(self) -> tuple[Zone, bool]:
        """The zone, and whether it was discovered just now (rather than cached)."""
        tenant = self._tenant
        await self._admit()
        if tenant.zone is None or time.monotonic() >= tenant.zone_expires:
            try:
                tenant.zone = await self._discover()
            except PsaAuthError as error:
                await self._refuse(error)
                raise
            tenant.zone_expires = time.monotonic() + self._connector.zone_ttl_seconds
            return tenant.zone, True
        return tenant.zone, False

    # -- refused credentials -------------------------------------------------------------------------------------------
    async def _admit(self) -> None:
        """Raise the refusal when these credentials may not be sent. Asks the connector's refusals once per gateway
        (a database that does not answer raises StorageUnavailable: nothing is sent then either)."""
        if self._refused is not None:
            raise self._refusal(self._refused)
        if self._admitted or self._trying:
            return
        async with self._admission:
            if self._refused is not None:
                raise self._refusal(self._refused)
            if self._admitted or self._trying:
                return
            connector = self._connector
            refusal = await connector.refusals.get(self._digest)
            if refusal is None:
                self._admitted = True
                return
            now = connector.clock.now()
            if self._fresh:  # an admin's Test connection tries; pushing `refused_at` keeps the window's retry off
                await connector.refusals.take_retry(self._digest, refusal.refused_at, now)
                self._start_try()
                return
            if now - refusal.refused_at >= connector.refusal_retry and await connector.refusals.take_retry(
                self._digest, refusal.refused_at, now
            ):
                connector.logger.info(
                    "Autotask refused these credentials %s ago: trying them once more", now - refusal.refused_at
                )
                self._start_try()
                return
            self._refused = PsaAuthError(refusal.failure, refusal.message)
            raise self._refusal(self._refused)

    def _start_try(self) -> None:
        self._trying = True
        self._tenant.zone = None  # discovered afresh, so a 401 is believed at once: one try costs one login

    def _refusal(self, refused: PsaAuthError) -> PsaAuthError:
        minutes = self._connector.refusal_retry.total_seconds() / 60
        return PsaAuthError(
            refused.failure,
            f"{refused.message} (Autotask refused these credentials; Backupchecks stops using them, so the API user is "
            f"not locked, until they change in the settings or an admin runs Test connection; one process tries them "
            f"once more {minutes:g} minutes after the last try.)",
        )

    async def _refuse(self, error: PsaAuthError) -> None:
        """Autotask refused the credentials: this gateway sends nothing more, and every process learns it."""
        self._refused, self._trying, self._admitted = error, False, False
        try:
            await self._connector.refusals.remember(
                self._digest, error.failure, error.message, self._connector.clock.now()
            )
        except StorageError as lost:  # Autotask's answer is what the caller must hear
            self._connector.logger.warning("the refusal of Autotask credentials was not stored: %s", lost)

    async def _accepted(self) -> None:
        """Autotask answered refused credentials after authenticating them: no process refuses them any more."""
        self._trying, self._admitted = False, True
        try:
            await self._connector.refusals.forget(self._digest)
        except StorageError as lost:  # the answer (a ticket created, say) must reach the caller
            self._connector.logger.warning("an old refusal of Autotask credentials was not forgotten: %s", lost)

    async def _discover(self) -> Zone:
        """Ask each discovery host in turn (any failure, a 404 included, moves on to the next); the user is unknown
        only when every host that answered says so."""
        failures: list[PsaError] = []
        for base in self._connector.discovery_urls(self._credentials.environment):
            url = f"{base.rstrip('/')}/v1.0/zoneInformation?user={quote(self._credentials.username)}"
            try:
                answer = await self._send(Request("GET", url, "GET zoneInformation"), tenant=None)
                return convert(answer, ZoneInformation).to_zone()
            except PsaError as error:
                failures.append(error)
        auth = [f for f in failures if isinstance(f, PsaAuthError)]
        if auth and len(auth) == len([f for f in failures if not isinstance(f, PsaNotFound)]):
            raise auth[0]
        unavailable = [f for f in failures if isinstance(f, PsaUnavailable)]
        if unavailable:
            raise unavailable[0]
        raise PsaUnavailable("Zone discovery failed at every host: " + "; ".join(f.message[:200] for f in failures))

    def _headers(self) -> dict[str, str]:
        c = self._credentials
        return {
            "ApiIntegrationCode": c.tracking_identifier,
            "UserName": c.username,
            "Secret": c.secret,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }

    async def _call(
        self, method: str, path: str, endpoint: str, body: Any = None, *, write: bool = False, absolute: bool = False
    ) -> Any:
        """One API call; a 401 with a cached zone re-discovers it once (the tenant may have moved) before it is
        believed. Refused credentials are remembered: no further call is made with them (see the class)."""
        await self._admit()
        if self._trying:
            async with self._try_lock:  # the other calls of this gateway wait for the try's answer
                await self._admit()
                if self._trying:
                    try:
                        answer = await self._authenticated(method, path, endpoint, body, write, absolute)
                    except (PsaNotFound, PsaForbidden, PsaRejected):  # authenticated, and refused on the merits
                        await self._accepted()
                        raise
                    await self._accepted()
                    return answer
        return await self._authenticated(method, path, endpoint, body, write, absolute)

    async def _authenticated(
        self, method: str, path: str, endpoint: str, body: Any, write: bool, absolute: bool
    ) -> Any:
        while True:
            zone, fresh = await self._zone()
            url = path if absolute else zone.api_url + path
            try:
                return await self._send(
                    Request(method, url, f"{method} {endpoint}", body, write, self._headers()), tenant=self._gate_key
                )
            except Unauthorized as error:
                if not fresh and not self._trying:  # a try of refused credentials is one login, never two
                    self._tenant.zone = None
                    continue
                refused = PsaAuthError(AuthFailure.BAD_SECRET, error.message)
                await self._refuse(refused)
                raise refused from None
            except PsaAuthError as error:
                await self._refuse(error)
                raise

    async def _item(self, entity: str, item_id: int) -> dict[str, Any] | None:
        """The raw item (keys as Autotask sent them), or None when it does not exist."""
        try:
            answer = await self._call("GET", f"{entity}/{item_id}", f"{entity}/{{id}}")
        except PsaNotFound:
            return None
        found = [v for k, v in answer.items() if k.lower() == "item"] if isinstance(answer, dict) else []
        if not found or not isinstance(found[0], dict | None):  # `"item": null` is a 404; no `item` is no answer
            raise PsaUnavailable(f"Autotask answered GET {entity}/{item_id} without an item.")
        return found[0]

    async def _query(self, entity: str, filters: list[dict[str, Any]]) -> list[Any]:
        """Every item matching the filter (all pages: the same body POSTed to `nextPageUrl`, as Autotask documents; a
        GET there answers 405). The link is sent exactly as Autotask wrote it, URL-encoded JSON (`?paging=%7b…%7d`, and
        `&search=…` on some tenants) included: nothing here decodes or rebuilds it, and httpx sends its escapes as
        given. Only a link on the zone's own origin is followed: the credentials go nowhere else."""
        body: dict[str, Any] = {"filter": filters}
        items: list[Any] = []
        path, absolute, seen = f"{entity}/query", False, set()
        while True:
            page = convert(await self._call("POST", path, f"{entity}/query", body, absolute=absolute), QueryAnswer)
            items += page.items or []
            next_url = page.page_details.next_page_url if page.page_details else None
            if not next_url or next_url in seen:
                return items
            if not _same_origin(next_url, (await self.zone()).api_url):  # the credentials go only to the zone
                raise PsaUnavailable(f"Autotask answered a next page off its own host: {next_url[:200]!r}.")
            seen.add(next_url)
            path, absolute = next_url, True

    async def _by_ids(
        self, entity: str, ids: Sequence[int], one: Callable[[int], Awaitable[dict[str, Any] | None]]
    ) -> list[Any]:
        """The raw items whose id is in `ids` (see `_in_chunks`); `one` reads an id (None: not in the answer)."""

        async def listed(item_id: int) -> list[Any]:
            item = await one(item_id)
            return [] if item is None else [item]

        return await self._in_chunks(entity, "id", ids, listed)

    async def _in_chunks(
        self, entity: str, field: str, values: Sequence[Any], one: Callable[[Any], Awaitable[list[Any]]]
    ) -> list[Any]:
        """The raw items whose `field` is in `values`: one `in` query per IN_CHUNK values, its answer checked against
        the chunk (an operator Autotask ignored answers unfiltered; items' keys are lower case). On a tenant whose
        answer names the `in` operator, `one` query per value for IN_RETRY_SECONDS, then `in` is tried again."""
        unique = list(dict.fromkeys(values))
        items: list[Any] = []
        for start in range(0, len(unique), IN_CHUNK):
            chunk = unique[start : start + IN_CHUNK]
            if time.monotonic() >= self._tenant.in_refused_until:
                try:
                    answer = await self._query(entity, [{"op": "in", "field": field, "value": chunk}])
                except PsaRejected as error:
                    if not _IN_REFUSED.search(error.message):
                        raise
                    self._tenant.in_refused_until = time.monotonic() + IN_RETRY_SECONDS
                else:
                    wanted = set(chunk)
                    items += [i for i in answer if isinstance(i, dict) and i.get(field.lower()) in wanted]
                    continue
            for value in chunk:
                items += await one(value)
        return items

    async def _create(self, path: str, endpoint: str, body: dict[str, Any]) -> int:
        answer = await self._call("POST", path, endpoint, {k: v for k, v in body.items() if v is not None}, write=True)
        return convert(answer, CreateAnswer, maybe_applied=True).item_id

    def _facts(self, ticket: Any, zone: Zone) -> TicketFacts:
        return convert(ticket, TicketWire).to_facts(zone.web_url)

    # -- companies -----------------------------------------------------------------------------------------------------
    async def get_company(self, company_id: int) -> Company:
        item = await self._item("Companies", company_id)
        if item is None:
            raise PsaNotFound(f"Company {company_id} was not found in Autotask.")
        return convert(item, CompanyWire).to_company()

    async def get_companies(self, company_ids: Sequence[int]) -> dict[int, Company]:
        async def visible(company_id: int) -> dict[str, Any] | None:
            try:  # as in an `in` query's answer, a company hidden from this user is simply missing
                return await self._item("Companies", company_id)
            except PsaForbidden:
                return None

        items = await self._by_ids("Companies", company_ids, visible)
        return {c.id: c for c in (convert(i, CompanyWire).to_company() for i in items)}

    async def search_companies(self, text: str, limit: int = 50, after_id: int | None = None) -> CompanyPage:
        """Companies whose name contains `text` (see `_company_page`)."""
        condition = {"op": "contains", "field": "companyName", "value": text}
        return await self._company_page(condition, lambda c: text.casefold() in c.name.casefold(), limit, after_id)

    async def active_companies(self, limit: int = 500, after_id: int | None = None) -> CompanyPage:
        """Active companies (see `_company_page`)."""
        condition = {"op": "eq", "field": "isActive", "value": True}
        return await self._company_page(condition, lambda c: c.is_active, limit, after_id)

    async def _company_page(
        self, condition: dict[str, Any], matches: Callable[[Company], bool], limit: int, after_id: int | None
    ) -> CompanyPage:
        """One page of Autotask's answer to `condition` (it pages by id and ignores sorting): `maxRecords` = `limit`,
        ids above `after_id`; more exist when Autotask names a next page. Items that do not `match` are dropped (an
        operator Autotask ignored would answer unfiltered)."""
        limit = max(1, min(limit, PAGE_SIZE))
        filters: list[dict[str, Any]] = [condition]
        if after_id is not None:
            filters.append({"op": "gt", "field": "id", "value": after_id})
        body = {"filter": filters, "maxRecords": limit}
        page = convert(await self._call("POST", "Companies/query", "Companies/query", body), QueryAnswer)
        companies = [convert(i, CompanyWire).to_company() for i in page.items or []]
        shown = [c for c in companies if matches(c) and (after_id is None or c.id > after_id)][:limit]
        more = bool(page.page_details and page.page_details.next_page_url) and bool(companies)
        return CompanyPage(shown, max(c.id for c in companies) if more else None)

    # -- tickets -------------------------------------------------------------------------------------------------------
    async def create_ticket(self, draft: TicketDraft) -> int:
        fields = {
            "companyID": draft.company_id,
            "title": draft.title,
            "description": draft.description,
            "status": draft.status,
            "priority": draft.priority,
            "queueID": draft.queue_id,
            "issueType": draft.issue_type_id,
            "subIssueType": draft.sub_issue_type_id,
            "source": draft.source_id,
            "externalID": draft.external_id,
            "dueDateTime": draft.due_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ticketCategory": draft.category_id,
            "billingCodeID": draft.work_type_id,
            "userDefinedFields": [{"name": name, "value": value} for name, value in draft.udfs] or None,
        }
        return await self._create("Tickets", "Tickets", fields)

    async def get_ticket(self, ticket_id: int) -> TicketFacts | None:
        item = await self._item("Tickets", ticket_id)
        return None if item is None else self._facts(item, await self.zone())

    async def get_tickets(self, ticket_ids: Sequence[int]) -> dict[int, TicketFacts]:
        items = await self._by_ids("Tickets", ticket_ids, lambda ticket_id: self._item("Tickets", ticket_id))
        if not items:
            return {}
        zone = await self.zone()
        return {f.ticket_id: f for f in (self._facts(i, zone) for i in items)}

    async def find_ticket_by_external_id(self, external_id: str) -> TicketFacts | None:
        items = await self._query("Tickets", [_eq("externalID", external_id)])
        if not items:
            return None
        zone = await self.zone()
        exact = [f for f in (self._facts(i, zone) for i in items) if f.external_id == external_id]
        return min(exact, key=lambda f: f.ticket_id) if exact else None  # Autotask's eq may ignore case; we may not

    async def tickets_by_external_ids(self, external_ids: Sequence[str]) -> list[TicketFacts]:
        async def one(external_id: str) -> list[Any]:
            return await self._query("Tickets", [_eq("externalID", external_id)])

        wanted = set(external_ids)  # Autotask's `in` and `eq` may ignore case; we may not
        items = await self._in_chunks("Tickets", "externalID", external_ids, one)
        if not items:
            return []
        zone = await self.zone()
        return [f for f in (self._facts(i, zone) for i in items) if f.external_id in wanted]

    async def changed_tickets(self, external_id_prefix: str, since: datetime) -> list[TicketFacts]:
        """One paged query: `externalID beginsWith` the prefix and `lastTrackedModificationDateTime gt` `since`
        (rounded down to the second, as Autotask takes times: a change in that second is read again, never lost).
        The answer is checked here too (an operator Autotask ignored answers unfiltered): only tickets whose
        externalID begins with the prefix (without case) and that changed after `since` are kept."""
        after = since.astimezone(UTC).replace(microsecond=0)
        filters = [
            {"op": "beginsWith", "field": "externalID", "value": external_id_prefix},
            {"op": "gt", "field": MODIFIED, "value": _wire_time(after)},
        ]
        items = [i for i in await self._query("Tickets", filters) if isinstance(i, dict) and _changed_after(i, after)]
        if not items:
            return []
        zone, prefix = await self.zone(), external_id_prefix.casefold()
        facts = (self._facts(i, zone) for i in items)
        return [f for f in facts if (f.external_id or "").casefold().startswith(prefix)]

    async def count_time_entries(self, ticket_id: int) -> int:
        answer = await self._call(
            "POST", "TimeEntries/query/count", "TimeEntries/query/count", {"filter": [_eq("ticketID", ticket_id)]}
        )
        return convert(answer, CountAnswer).query_count

    async def complete_ticket(self, ticket_id: int, status: int) -> None:
        """PATCH only the status (docs/adr/0007: no PUT fallback; a PUT of the ticket as read back fails on real
        tenants). One request; Autotask's answer names the ticket it changed."""
        answer = await self._call("PATCH", "Tickets", "Tickets", {"id": ticket_id, "status": status}, write=True)
        if convert(answer, CreateAnswer, maybe_applied=True).item_id != ticket_id:
            raise PsaUnavailable(
                f"Autotask answered the PATCH of ticket {ticket_id} naming another item.", maybe_applied=True
            )

    # -- notes ---------------------------------------------------------------------------------------------------------
    async def add_ticket_note(self, ticket_id: int, note: NoteDraft) -> int:
        fields = {
            "ticketID": ticket_id,
            "title": note.title,
            "description": note.description,
            "noteType": note.note_type,
            "publish": note.publish,
        }
        return await self._create(f"Tickets/{ticket_id}/Notes", "Tickets/{id}/Notes", fields)

    async def find_ticket_note(self, ticket_id: int, description: str) -> int | None:
        """Asked by ticket only and matched here: descriptions are long text that tenants may not filter on, and a
        server-side match could ignore case or spacing where we need the exact text."""
        items = await self._query("TicketNotes", [_eq("ticketID", ticket_id)])
        notes = sorted(
            n.id
            for n in (convert(i, NoteWire) for i in items)
            if n.description == description and n.ticket_id == ticket_id
        )
        return notes[0] if notes else None

    # -- tenant facts --------------------------------------------------------------------------------------------------
    async def picklists(self, *, refresh: bool = False) -> Picklists:
        """The tenant's picklists and configuration, 5 requests (then cached per credentials): the Tickets and
        TicketNotes field documents, the ticket UDFs, the Work Types (`BillingCodes` of use type 1, every page) and the
        ticket categories' defaults (`TicketCategoryFieldDefaults`, every page)."""
        tenant = self._tenant
        if tenant.picklists is not None and not refresh:
            return tenant.picklists
        known = tenant.picklists
        async with tenant.picklists_read:
            if tenant.picklists is None or (refresh and tenant.picklists is known):  # else read meanwhile: reuse it
                tickets = await self._fields("Tickets/entityInformation/fields", FieldsAnswer)
                notes = await self._fields("TicketNotes/entityInformation/fields", FieldsAnswer)
                udfs = await self._optional(self._fields("Tickets/entityInformation/userDefinedFields", UdfsAnswer))
                work_types = await self._optional(self._query("BillingCodes", [_eq("useType", WORK_TYPE_USE)]))
                defaults = await self._optional(
                    self._query("TicketCategoryFieldDefaults", [{"op": "gt", "field": "id", "value": 0}])
                )
                tenant.picklists = to_picklists(tickets, notes, udfs, work_types, defaults)
            return tenant.picklists

    async def _fields(self, path: str, kind: type[T]) -> T:
        return convert(await self._call("GET", path, path), kind)

    @staticmethod
    async def _optional(call: Awaitable[T]) -> T | None:
        """A tenant fact not every API user may read: a tenant answering 404 or 403 (no right to the entity, or a
        tenant or simulator without it) yields None, so the other picklists still work (and nothing is known of that
        fact). Anything else, an unreachable Autotask first, still fails the read."""
        try:
            return await call
        except (PsaNotFound, PsaForbidden):
            return None

    async def rights(self) -> Rights:
        """What the API user's security level allows on Tickets, TicketNotes, TimeEntries and Companies: one
        `{Entity}/entityInformation` request each (4). An entity whose information is refused (403) is out of reach
        altogether: no rights on it."""

        async def entity(name: str) -> EntityRights:
            try:
                answer = await self._call("GET", f"{name}/entityInformation", f"{name}/entityInformation")
            except PsaForbidden:
                return EntityRights(AccessLevel.NONE, AccessLevel.NONE, AccessLevel.NONE)
            return convert(answer, EntityInformationAnswer).info.to_rights()

        return Rights(
            await entity("Tickets"), await entity("TicketNotes"), await entity("TimeEntries"), await entity("Companies")
        )

    async def usage(self) -> ApiUsage:
        answer = await self._call("GET", "ThresholdInformation", "ThresholdInformation")
        return convert(answer, ThresholdInformation).to_usage()


__all__ = ["PRODUCTION_DISCOVERY", "SANDBOX_DISCOVERY", "AutotaskConnector", "AutotaskGateway"]
