"""The calls under every Autotask operation: zone discovery, refused credentials, one authenticated call, a
query with its pages, reads by ids in `in` batches, a create (docs/adr/0004-talking-to-autotask.md)."""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from application.errors import StorageError
from application.ports import (
    AuthFailure,
    Credentials,
    PsaAuthError,
    PsaError,
    PsaForbidden,
    PsaNotFound,
    PsaRejected,
    PsaUnavailable,
    Zone,
)
from domain.picklists import Picklists

from .transport import Request, Unauthorized
from .wire import CreateAnswer, QueryAnswer, ZoneInformation, convert

if TYPE_CHECKING:
    from .connector import AutotaskConnector

IN_CHUNK = 400
"""Autotask fails a query with more than about 500 conditions (each `in` value counts one)."""
IN_RETRY_SECONDS = 15 * 60
"""After a tenant refused the `in` operator, tickets are read one by one for this long, then `in` is tried again."""
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
class Tenant:
    """What the connector remembers for one set of credentials."""

    zone: Zone | None = None
    zone_expires: float = 0.0
    picklists: Picklists | None = None
    picklists_read: asyncio.Lock = field(default_factory=asyncio.Lock)
    """One read of the field documents at a time: concurrent first callers share it."""
    in_refused_until: float = 0.0


def _same_origin(url: str, base: str) -> bool:
    def origin(u: str) -> tuple[str, str]:
        scheme, _, rest = u.partition("://")
        return scheme.lower(), rest.split("/", 1)[0].lower()

    return "://" in url and origin(url) == origin(base)


def eq(field: str, value: Any) -> dict[str, Any]:
    return {"op": "eq", "field": field, "value": value}


class AutotaskCalls:
    """How a gateway reaches Autotask (its entity operations are `gateway.AutotaskGateway`). Before its first request it
    asks the connector's refusals whether Autotask refused these credentials (once per gateway): refused ones send
    nothing, unless this gateway may try them once more (`fresh`, or the retry window passed and it took the retry);
    that try's first authenticated answer decides, the refusal forgotten by every process on success or remembered
    anew on failure. Concurrent calls of one gateway wait for that answer, so one try is one login."""

    def __init__(
        self, connector: AutotaskConnector, credentials: Credentials, tenant: Tenant, *, fresh: bool = False
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
