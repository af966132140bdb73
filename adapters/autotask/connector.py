"""The PSA port over Autotask's REST API v1.0 (see docs/adr/0004-talking-to-autotask.md)."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from application.ports import (
    ApiUsage,
    AuthFailure,
    Company,
    Credentials,
    NoteDraft,
    PsaAuthError,
    PsaForbidden,
    PsaNotFound,
    PsaRejected,
    PsaUnavailable,
    TicketFacts,
    Zone,
)
from domain.draft import TicketDraft
from domain.picklists import Picklists
from domain.settings import Environment

from .http import Exchange, MethodRefused, Request, Unauthorized, redact_httpx_log
from .wire import (
    CompanyWire,
    CountAnswer,
    CreateAnswer,
    FieldsAnswer,
    NoteWire,
    QueryAnswer,
    ThresholdInformation,
    TicketWire,
    ZoneInformation,
    convert,
    to_picklists,
)

PRODUCTION_DISCOVERY = ("https://webservices.autotask.net/atservicesrest",
                        "https://webservices2.autotask.net/atservicesrest")
SANDBOX_DISCOVERY = tuple(reversed(PRODUCTION_DISCOVERY))
"""Both hosts answer for every zone; a sandbox is asked at webservices2 first (where Autotask's pre-release and sandbox
databases have lived), production at webservices first. Each falls back to the other."""
PAGE_SIZE = 500
IN_CHUNK = 400
LOGGER_NAME = "backupchecks.autotask"


@dataclass
class _Tenant:
    """What the connector remembers for one set of credentials."""

    zone: Zone | None = None
    zone_expires: float = 0.0
    picklists: Picklists | None = None
    in_refused: bool = False
    patch_refused: bool = False


def _key(credentials: Credentials) -> str:
    """A digest naming the credentials (the secret is part of it, so a changed secret starts afresh)."""
    parts = (credentials.environment.value, credentials.username, credentials.secret, credentials.tracking_identifier)
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


class AutotaskConnector:
    """Hands out gateways; holds the HTTP client, the concurrency caps and, per credentials, zone and picklists."""

    def __init__(
        self,
        *,
        zone_discovery_urls: Sequence[str] | None = None,
        timeout: float = 30.0,
        max_in_flight: int = 3,
        retries: int = 3,
        backoff_base: float = 0.5,
        zone_ttl_seconds: float = 4 * 3600,
        transport: httpx.AsyncBaseTransport | None = None,
        logger: logging.Logger | None = None,
        on_request: Callable[[str, str], None] | None = None,
    ) -> None:
        self.zone_discovery_urls = tuple(zone_discovery_urls) if zone_discovery_urls else None
        self.zone_ttl_seconds = zone_ttl_seconds
        self._timeout = timeout
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._tenants: dict[str, _Tenant] = {}
        redact_httpx_log()
        self.exchange = Exchange(self._http, logger or logging.getLogger(LOGGER_NAME), retries, backoff_base,
                                 max_in_flight, on_request)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout, transport=self._transport)
        return self._client

    def discovery_urls(self, environment: Environment) -> tuple[str, ...]:
        if self.zone_discovery_urls:
            return self.zone_discovery_urls
        return SANDBOX_DISCOVERY if environment is Environment.SANDBOX else PRODUCTION_DISCOVERY

    def connect(self, credentials: Credentials) -> AutotaskGateway:
        tenant = self._tenants.setdefault(_key(credentials), _Tenant())
        return AutotaskGateway(self, credentials, tenant)

    def forget(self, credentials: Credentials) -> None:
        self._tenants.pop(_key(credentials), None)

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


class AutotaskGateway:
    def __init__(self, connector: AutotaskConnector, credentials: Credentials, tenant: _Tenant) -> None:
        self._connector = connector
        self._credentials = credentials
        self._tenant = tenant
        self._calls = 0
        self._gate_key = hashlib.sha256(credentials.tracking_identifier.encode()).hexdigest()[:16]
        """The concurrency cap is per tracking identifier; its digest names it (the identifier is a credential)."""

    @property
    def calls(self) -> int:
        return self._calls

    def _count(self) -> None:
        self._calls += 1

    # -- plumbing ------------------------------------------------------------------------------------------------------
    async def _exchange(self, request: Request, *, tenant: str | None) -> Any:
        c = self._credentials
        return await self._connector.exchange.send(
            request, tenant=tenant, log_level=c.log_level, secrets=(c.secret, c.username, c.tracking_identifier),
            count=self._count)

    async def zone(self) -> Zone:
        tenant = self._tenant
        if tenant.zone is None or time.monotonic() >= tenant.zone_expires:
            tenant.zone = await self._discover()
            tenant.zone_expires = time.monotonic() + self._connector.zone_ttl_seconds
        return tenant.zone

    async def _discover(self) -> Zone:
        """Ask each discovery host in turn; the user is unknown only when every host that answered says so."""
        failures: list[Exception] = []
        for base in self._connector.discovery_urls(self._credentials.environment):
            url = f"{base.rstrip('/')}/v1.0/zoneInformation?user={quote(self._credentials.username)}"
            try:
                answer = await self._exchange(Request("GET", url, "GET zoneInformation"), tenant=None)
                return convert(answer, ZoneInformation).to_zone()
            except (PsaAuthError, PsaUnavailable) as error:
                failures.append(error)
        unavailable = [f for f in failures if isinstance(f, PsaUnavailable)]
        raise unavailable[0] if unavailable else failures[0]

    def _headers(self) -> dict[str, str]:
        c = self._credentials
        return {"ApiIntegrationCode": c.tracking_identifier, "UserName": c.username, "Secret": c.secret,
                "Content-Type": "application/json", "Accept": "application/json"}

    async def _call(self, method: str, path: str, endpoint: str, body: Any = None, *, write: bool = False,
                    absolute: bool = False) -> Any:
        """One API call; a 401 re-discovers the zone once (the tenant may have moved) before it is believed."""
        rediscovered = False
        while True:
            zone = await self.zone()
            url = path if absolute else zone.api_url + path
            try:
                return await self._exchange(Request(method, url, f"{method} {endpoint}", body, write, self._headers()),
                                            tenant=self._gate_key)
            except Unauthorized as error:
                if rediscovered:
                    raise PsaAuthError(AuthFailure.BAD_SECRET, error.message) from None
                rediscovered = True
                self._tenant.zone = None

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

    async def _query(self, entity: str, filters: list[dict[str, Any]], limit: int | None = None) -> list[Any]:
        """Every item matching the filter (all pages: the same body POSTed to `nextPageUrl`)."""
        body: dict[str, Any] = {"filter": filters}
        if limit is not None:
            body["maxRecords"] = min(limit, PAGE_SIZE)
        items: list[Any] = []
        path, absolute, seen = f"{entity}/query", False, set()
        while True:
            page = convert(await self._call("POST", path, f"{entity}/query", body, absolute=absolute), QueryAnswer)
            items += page.items or []
            next_url = page.page_details.next_page_url if page.page_details else None
            if not next_url or next_url in seen or (limit is not None and len(items) >= limit):
                return items if limit is None else items[:limit]
            if not _same_origin(next_url, (await self.zone()).api_url):  # the credentials go only to the zone
                raise PsaUnavailable(f"Autotask answered a next page off its own host: {next_url[:200]!r}.")
            seen.add(next_url)
            path, absolute = next_url, True

    async def _by_ids(self, entity: str, ids: Sequence[int],
                      one: Callable[[int], Awaitable[dict[str, Any] | None]]) -> list[Any]:
        """The raw items whose id is in `ids`: one `in` query per IN_CHUNK ids; on a tenant that refuses `in`,
        `one` read per id (None: not in the answer)."""
        unique = list(dict.fromkeys(ids))
        items: list[Any] = []
        for start in range(0, len(unique), IN_CHUNK):
            chunk = unique[start:start + IN_CHUNK]
            if not self._tenant.in_refused:
                try:
                    items += await self._query(entity, [{"op": "in", "field": "id", "value": chunk}])
                    continue
                except PsaRejected:
                    self._tenant.in_refused = True  # this tenant refuses `in`: read one by one from now on
            items += [item for item_id in chunk if (item := await one(item_id)) is not None]
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

    async def search_companies(self, text: str, limit: int = 50) -> list[Company]:
        if limit < 1:  # nothing asked: Autotask would refuse maxRecords outside 1..500 anyway
            return []
        items = await self._query("Companies", [{"op": "contains", "field": "companyName", "value": text}], limit)
        companies = [convert(i, CompanyWire).to_company() for i in items]
        return sorted(companies, key=lambda c: c.name.lower())[:limit]

    # -- tickets -------------------------------------------------------------------------------------------------------
    async def create_ticket(self, draft: TicketDraft) -> int:
        fields = {"companyID": draft.company_id, "title": draft.title, "description": draft.description,
                  "status": draft.status, "priority": draft.priority, "queueID": draft.queue_id,
                  "issueType": draft.issue_type_id, "subIssueType": draft.sub_issue_type_id,
                  "source": draft.source_id, "externalID": draft.external_id}
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

    async def count_time_entries(self, ticket_id: int) -> int:
        answer = await self._call("POST", "TimeEntries/query/count", "TimeEntries/query/count",
                                  {"filter": [_eq("ticketID", ticket_id)]})
        return convert(answer, CountAnswer).query_count

    async def complete_ticket(self, ticket_id: int, status: int) -> TicketFacts:
        if not self._tenant.patch_refused:
            try:
                await self._call("PATCH", "Tickets", "Tickets", {"id": ticket_id, "status": status}, write=True)
            except (PsaNotFound, MethodRefused):
                self._tenant.patch_refused = True  # confirmed below: a missing ticket raises PsaNotFound there
            else:
                return await self._ticket_or_missing(ticket_id)
        item = await self._item("Tickets", ticket_id)
        if item is None:
            self._tenant.patch_refused = False
            raise PsaNotFound(f"Ticket {ticket_id} was not found in Autotask.")
        whole = {k: v for k, v in item.items() if k.lower() != "status"}
        whole["status"] = status
        await self._call("PUT", "Tickets", "Tickets", whole, write=True)
        return await self._ticket_or_missing(ticket_id)

    async def _ticket_or_missing(self, ticket_id: int) -> TicketFacts:
        facts = await self.get_ticket(ticket_id)
        if facts is None:
            raise PsaNotFound(f"Ticket {ticket_id} was not found in Autotask.")
        return facts

    # -- notes ---------------------------------------------------------------------------------------------------------
    async def add_ticket_note(self, ticket_id: int, note: NoteDraft) -> int:
        fields = {"ticketID": ticket_id, "title": note.title, "description": note.description,
                  "noteType": note.note_type, "publish": note.publish}
        return await self._create(f"Tickets/{ticket_id}/Notes", "Tickets/{id}/Notes", fields)

    async def find_ticket_note(self, ticket_id: int, description: str) -> int | None:
        """Asked by ticket only and matched here: descriptions are long text that tenants may not filter on, and a
        server-side match could ignore case or spacing where we need the exact text."""
        items = await self._query("TicketNotes", [_eq("ticketID", ticket_id)])
        notes = sorted(n.id for n in (convert(i, NoteWire) for i in items) if n.description == description)
        return notes[0] if notes else None

    # -- tenant facts --------------------------------------------------------------------------------------------------
    async def picklists(self, *, refresh: bool = False) -> Picklists:
        if self._tenant.picklists is None or refresh:
            tickets = await self._call("GET", "Tickets/entityInformation/fields", "Tickets/entityInformation/fields")
            notes = await self._call("GET", "TicketNotes/entityInformation/fields",
                                     "TicketNotes/entityInformation/fields")
            self._tenant.picklists = to_picklists(convert(tickets, FieldsAnswer), convert(notes, FieldsAnswer))
        return self._tenant.picklists

    async def usage(self) -> ApiUsage:
        answer = await self._call("GET", "ThresholdInformation", "ThresholdInformation")
        return convert(answer, ThresholdInformation).to_usage()


__all__ = ["PRODUCTION_DISCOVERY", "SANDBOX_DISCOVERY", "AutotaskConnector", "AutotaskGateway"]
