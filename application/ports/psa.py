"""The PSA port: the gateway to Autotask (or the fake), its errors and the values it answers."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from domain.draft import TicketDraft
from domain.picklists import Picklists
from domain.settings import ApiLogLevel, Environment


class PsaError(Exception):
    """Base of what a PSA gateway raises. `message` keeps the PSA's own words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PsaUnavailable(PsaError):
    """No usable answer: timeout, connection failure, 5xx without a reason, throttling that outlasted the retries.

    `maybe_applied` is True when a request that changes something may have reached the PSA and taken effect
    (a timeout after sending, a lost answer); False when it surely did not (refused connection, 429, thread limit).
    """

    def __init__(self, message: str, *, maybe_applied: bool = False, throttled: bool = False) -> None:
        super().__init__(message)
        self.maybe_applied = maybe_applied
        self.throttled = throttled


class PsaRejected(PsaError):
    """The PSA refused the request (validation, missing required field, bad picklist value). Nothing changed."""


class PsaNotFound(PsaError):
    """The entity does not exist (or the PSA answers as if it did not)."""


class PsaForbidden(PsaError):
    """The API user lacks the permission."""


class AuthFailure(StrEnum):
    UNKNOWN_USER = "unknown_user"
    BAD_SECRET = "bad_secret"
    BAD_TRACKING_IDENTIFIER = "bad_tracking_identifier"


class PsaAuthError(PsaError):
    def __init__(self, failure: AuthFailure, message: str) -> None:
        super().__init__(message)
        self.failure = failure


@dataclass(frozen=True, slots=True)
class Company:
    id: int
    name: str
    is_active: bool


@dataclass(frozen=True, slots=True)
class CompanyPage:
    """One page of a company search, in the PSA's own order (by id: Autotask ignores sorting)."""

    companies: list[Company]
    after_id: int | None
    """Ask for the next page with this; None when no more matches exist."""


class AccessLevel(StrEnum):
    """How much of an entity the API user may reach for one action (Autotask's `userAccessFor…`): `full` is every
    record (`All`), `limited` only some (`Mine`, `Restricted`, …), `none` nothing (or `can…` false)."""

    NONE = "none"
    LIMITED = "limited"
    FULL = "full"


@dataclass(frozen=True, slots=True)
class EntityRights:
    create: AccessLevel
    query: AccessLevel
    update: AccessLevel


@dataclass(frozen=True, slots=True)
class Rights:
    """What the API user's security level allows on each entity the integration relies on
    (`{Entity}/entityInformation`)."""

    tickets: EntityRights
    notes: EntityRights
    time_entries: EntityRights
    companies: EntityRights


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """A ticket as the PSA holds it now."""

    ticket_id: int
    ticket_number: str
    status: int
    url: str | None
    external_id: str | None = None


@dataclass(frozen=True, slots=True)
class NoteDraft:
    title: str
    description: str
    note_type: int | None
    publish: int | None


@dataclass(frozen=True, slots=True)
class Zone:
    name: str
    api_url: str
    web_url: str


@dataclass(frozen=True, slots=True)
class ApiUsage:
    requests_this_hour: int
    limit: int
    timeframe_minutes: int


@dataclass(frozen=True, slots=True)
class Credentials:
    environment: Environment
    username: str
    secret: str
    tracking_identifier: str
    log_level: ApiLogLevel = ApiLogLevel.ERRORS

    def __repr__(self) -> str:  # the secret never reaches a log through repr
        return f"Credentials(environment={self.environment.value!r}, username={self.username!r}, secret='***')"

    @property
    def digest(self) -> str:
        """SHA-256 (hex) naming these credentials: environment, username, secret and tracking identifier, so changed
        credentials (or the same ones in the other environment's database) have another. What is stored or logged
        about credentials is this, never the credentials."""
        parts = (self.environment.value, self.username, self.secret, self.tracking_identifier)
        return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


class PsaGateway(Protocol):
    """One PSA (Autotask) seen through the operations Backupchecks needs. PSA-neutral names; Autotask's dialect
    stays in the adapter. `calls` counts the requests this gateway made."""

    @property
    def calls(self) -> int: ...

    async def zone(self) -> Zone: ...

    async def get_company(self, company_id: int) -> Company:
        """Raises PsaNotFound or PsaForbidden."""
        ...

    async def search_companies(self, text: str, limit: int = 50, after_id: int | None = None) -> CompanyPage:
        """Companies whose name contains `text`, at most `limit` (1-500), with ids above `after_id`."""
        ...

    async def active_companies(self, limit: int = 500, after_id: int | None = None) -> CompanyPage:
        """One page (by id, at most 500) of the active companies this API user can see, ids above `after_id`: a bulk
        read of the tenant's companies, one request per page."""
        ...

    async def get_companies(self, company_ids: Sequence[int]) -> dict[int, Company]:
        """Bulk read (one `in` query per batch); an id missing from the answer may not exist or may be hidden from
        this user: `get_company` tells which."""
        ...

    async def create_ticket(self, draft: TicketDraft) -> int:
        """Create and answer the new ticket's id. Raises PsaRejected (nothing created) or PsaUnavailable
        (`maybe_applied` says whether it may have been created)."""
        ...

    async def get_ticket(self, ticket_id: int) -> TicketFacts | None:
        """None when the ticket does not exist (any more)."""
        ...

    async def get_tickets(self, ticket_ids: Sequence[int]) -> dict[int, TicketFacts]:
        """Bulk read; ids missing from the answer do not exist."""
        ...

    async def find_ticket_by_external_id(self, external_id: str) -> TicketFacts | None: ...

    async def tickets_by_external_ids(self, external_ids: Sequence[str]) -> list[TicketFacts]:
        """Every ticket whose external id is one of `external_ids` (exactly), two of one id included: one `in` query
        per 400 ids (Autotask fails a query of about 500 conditions)."""
        ...

    async def changed_tickets(self, external_id_prefix: str, since: datetime) -> list[TicketFacts]:
        """The tickets whose external id begins with `external_id_prefix` (without case, as Autotask compares text)
        that changed after `since` (their status or any other field, a note, a time entry): one paged query, its
        cost growing with what changed, not with how many tickets exist. A deleted ticket is not among them."""
        ...

    async def count_time_entries(self, ticket_id: int) -> int: ...

    async def add_ticket_note(self, ticket_id: int, note: NoteDraft) -> int:
        """Add a note under the ticket; answers the note's id."""
        ...

    async def find_ticket_note(self, ticket_id: int, description: str) -> int | None:
        """The id of a note on the ticket with exactly this text, if any."""
        ...

    async def complete_ticket(self, ticket_id: int, status: int) -> None:
        """Set the ticket's status (and nothing else), in one request. Raises PsaNotFound when it does not exist."""
        ...

    async def picklists(self, *, refresh: bool = False) -> Picklists: ...

    async def usage(self) -> ApiUsage: ...

    async def rights(self) -> Rights:
        """What the API user's security level allows (create, query, update) on tickets, notes, time entries and
        companies (one request each)."""
        ...


class PsaConnector(Protocol):
    """Hands out a gateway for a set of credentials (cached zone and picklists stay with the credentials).

    Once the PSA refuses a set of credentials, their gateways refuse every call without asking the PSA again (real
    tenants lock API users after repeated failed logins), until the credentials change or `fresh=True` (an admin's
    Test connection) tries them once more. The Autotask connector remembers refusals in `RefusedCredentials`, so every
    process sharing the database knows them, and after a retry window lets one of them try once more."""

    def connect(self, credentials: Credentials, *, fresh: bool = False) -> PsaGateway: ...


@dataclass(frozen=True, slots=True)
class Refusal:
    """The PSA refused a set of credentials (known by their digest only): how, in its words, and when it last did (or
    when a process last took the one retry it allows)."""

    failure: AuthFailure
    message: str
    refused_at: datetime


class RefusedCredentials(Protocol):
    """Credentials the PSA refused, by `Credentials.digest`, in the service's own database: every process and the CLI
    see them before they ask the PSA (docs/adr/0030-refused-credentials-remembered-in-the-database.md)."""

    async def get(self, digest: str) -> Refusal | None: ...

    async def remember(self, digest: str, failure: AuthFailure, message: str, at: datetime) -> None:
        """Store the refusal (replacing one stored before), refused at `at`."""
        ...

    async def take_retry(self, digest: str, seen: datetime, at: datetime) -> bool:
        """Claim the one retry of refused credentials, compare-and-set: move `refused_at` from `seen` (as `get` read
        it) to `at`. True only for the caller whose statement moved it; False when another process did first, or the
        refusal was replaced or forgotten meanwhile."""
        ...

    async def forget(self, digest: str) -> None:
        """The credentials worked: no process refuses them any more (nothing happens when none was stored)."""
        ...


class InFlightBudget(Protocol):
    """The PSA's cap on concurrent requests, shared by every worker and process using one tracking identifier.
    `slot(key)` waits (polling, up to `timeout` seconds) until fewer than the cap's requests hold `key`, and holds one
    slot for the body of the `async with`; it raises TimeoutError when none frees in time."""

    def slot(self, key: str, timeout: float) -> AbstractAsyncContextManager[None]: ...
