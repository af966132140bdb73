"""The ports: what the use cases need from the outside, as Protocols. Adapters implement them."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import TracebackType
from typing import Protocol, Self

from domain.audit import AuditEntry, AuditKey, AuditRecord, Outcome
from domain.draft import TicketDraft
from domain.mapping import CompanyMapping, MappingStatus
from domain.picklists import Picklists
from domain.roles import Role
from domain.runs import Customer, Run, RunStatus
from domain.settings import ApiLogLevel, AutotaskSettings, Environment
from domain.tickets import TicketLink

# --------------------------------------------------------------------------------------------------------------- PSA


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


@dataclass(frozen=True, slots=True)
class Access:
    """What the API user can query, per area the integration relies on: how many records it sees, or None when the
    PSA refused (a missing right)."""

    tickets: int | None
    time_entries: int | None
    notes: int | None
    companies: int | None


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

    async def access(self) -> Access:
        """Count what the API user can see of tickets, time entries, notes and companies (one request each)."""
        ...


class PsaConnector(Protocol):
    """Hands out a gateway for a set of credentials (cached zone and picklists stay with the credentials).

    Once the PSA refuses a set of credentials, their gateways refuse every call without asking the PSA again (real
    tenants lock API users after repeated failed logins), until the credentials change or `fresh=True` (an admin's
    Test connection) tries them once more."""

    def connect(self, credentials: Credentials, *, fresh: bool = False) -> PsaGateway: ...


class InFlightBudget(Protocol):
    """The PSA's cap on concurrent requests, shared by every worker and process using one tracking identifier.
    `slot(key)` waits (polling, up to `timeout` seconds) until fewer than the cap's requests hold `key`, and holds one
    slot for the body of the `async with`; it raises TimeoutError when none frees in time."""

    def slot(self, key: str, timeout: float) -> AbstractAsyncContextManager[None]: ...


# ----------------------------------------------------------------------------------------------------- repositories


@dataclass(frozen=True, slots=True)
class RunQuery:
    statuses: frozenset[RunStatus] = frozenset()
    customer_id: str | None = None
    has_ticket: bool | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50
    after: tuple[datetime, str] | None = None
    """Keyset cursor: the (run_at, id) of the last run already seen; runs come newest first."""


@dataclass(frozen=True, slots=True)
class AuditQuery:
    action: str | None = None
    actor: str | None = None
    customer_id: str | None = None
    run_id: str | None = None
    outcome: Outcome | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50
    after_seq: int | None = None


@dataclass(frozen=True, slots=True)
class User:
    id: str
    username: str
    role: Role
    password_hash: str | None
    token_hash: str
    created_at: datetime


class CustomerRepository(Protocol):
    async def get(self, customer_id: str) -> Customer | None: ...
    async def get_many(self, customer_ids: Sequence[str]) -> dict[str, Customer]:
        """Bulk read in one query (per 1,000 ids); ids missing from the answer do not exist."""
        ...
    async def save(self, customer: Customer) -> bool:
        """Insert or update; True when it was new."""
        ...
    async def list(self, limit: int = 50, after: str | None = None) -> list[Customer]: ...


class RunRepository(Protocol):
    async def get(self, run_id: str) -> Run | None: ...
    async def save(self, run: Run) -> bool:
        """Insert or update (objects and messages replaced); True when it was new."""
        ...
    async def query(self, query: RunQuery) -> list[Run]: ...


class MappingRepository(Protocol):
    async def get(self, customer_id: str) -> CompanyMapping | None: ...
    async def get_many(self, customer_ids: Sequence[str]) -> dict[str, CompanyMapping]:
        """Bulk read in one query (per 1,000 ids); customers missing from the answer have no mapping."""
        ...
    async def save(self, mapping: CompanyMapping) -> None:
        """Insert or replace (an operator's explicit mapping or clearing)."""
        ...
    async def update(self, mapping: CompanyMapping, expected_version: int) -> bool:
        """Compare-and-set: store `mapping` only if the stored one's version is still `expected_version`."""
        ...
    async def list(self, statuses: frozenset[MappingStatus] = frozenset()) -> list[CompanyMapping]: ...


class TicketLinkRepository(Protocol):
    async def get(self, run_id: str) -> TicketLink | None: ...
    async def get_many(self, run_ids: Sequence[str]) -> dict[str, TicketLink]: ...
    async def reserve(self, link: TicketLink) -> bool:
        """Insert a pending link unless the run already has one. False when another holds the run (the database's
        unique constraint decides, across processes)."""
        ...
    async def update(self, link: TicketLink, expected_version: int) -> bool:
        """Compare-and-set: store `link` only if the stored link's version is still `expected_version` (and lock
        the row until the unit of work ends). False when someone else changed it first or it is gone."""
        ...
    async def release(self, run_id: str, expected_version: int) -> bool:
        """Drop a pending reservation (at `expected_version`) whose creation surely failed."""
        ...
    async def list_open(self) -> list[TicketLink]:
        """Links whose ticket may still change in the PSA (state linked)."""
        ...
    async def list_pending(self) -> list[TicketLink]:
        """Reservations (state pending): their ticket may exist in the PSA after a crash or a lost answer."""
        ...


class SettingsRepository(Protocol):
    async def get(self) -> AutotaskSettings: ...
    async def save(self, settings: AutotaskSettings) -> None: ...


class UserRepository(Protocol):
    async def add(self, user: User) -> bool:
        """False when the username is taken."""
        ...
    async def by_token_hash(self, token_hash: str) -> User | None: ...
    async def by_username(self, username: str) -> User | None: ...
    async def list(self) -> list[User]: ...
    async def remove(self, user_id: str) -> bool: ...


class AuditLog(Protocol):
    key: AuditKey
    """The installation's audit key: it signs every appended record and checks the chain."""

    async def append(self, entry: AuditEntry) -> AuditRecord:
        """Chain the entry after the last record. Records are never updated or deleted."""
        ...
    async def query(self, query: AuditQuery) -> list[AuditRecord]: ...
    async def all(self) -> list[AuditRecord]:
        """Every record in seq order (for verification)."""
        ...


class UnitOfWork(Protocol):
    """One transaction. `async with uow:` begins it; leaving without `commit()` rolls it back."""

    customers: CustomerRepository
    runs: RunRepository
    mappings: MappingRepository
    tickets: TicketLinkRepository
    settings: SettingsRepository
    users: UserRepository
    audit: AuditLog

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False) -> UnitOfWork:
        """A new unit of work. `read_only=True`: it only reads, so it takes no write lock (on SQLite a deferred
        transaction that runs beside a writer) and its `commit()` raises RuntimeError."""
        ...


# ----------------------------------------------------------------------------------------------------------- others


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class CredentialHasher(Protocol):
    """Makes and hashes secrets (an adapter: argon2 for passwords, SHA-256 for random tokens)."""

    def new_token(self) -> str: ...
    def new_password(self) -> str: ...
    def hash_token(self, token: str) -> str: ...
    def hash_password(self, password: str) -> str: ...
    def verify_password(self, password_hash: str, password: str) -> bool: ...


class SecretUnreadable(Exception):
    """A sealed secret cannot be opened: the key changed (BACKUPCHECKS_SECRET_KEY, the key file) or it was altered."""


class SecretBox(Protocol):
    """Seals secrets for storage (authenticated encryption) and opens them again (or raises SecretUnreadable)."""

    def seal(self, plaintext: str) -> str: ...
    def open(self, sealed: str) -> str: ...


# ------------------------------------------------------------------------------------------------------ web sessions


@dataclass(frozen=True, slots=True)
class WebSession:
    """A signed-in browser. Only a hash of the session id is stored (its CSRF token is derived from the id)."""

    id_hash: str
    user_id: str
    username: str
    created_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True, slots=True)
class SignInFailures:
    """Consecutive failed sign-ins for one username, and until when it is locked."""

    count: int
    last_at: datetime
    locked_until: datetime | None = None


class SessionStore(Protocol):
    """Server-side web sessions and failed sign-in counts, in the service's own database (shared by its instances)."""

    async def add(self, session: WebSession) -> None: ...
    async def get(self, id_hash: str) -> WebSession | None: ...
    async def touch(self, id_hash: str, at: datetime) -> None: ...
    async def remove(self, id_hash: str) -> None: ...
    async def remove_unused_since(self, last_seen_before: datetime) -> None:
        """Drop the sessions idle since before this time (they can no longer be resumed)."""
        ...
    async def failures(self, username: str) -> SignInFailures | None: ...
    async def set_failures(self, username: str, failures: SignInFailures | None) -> None: ...
    async def forget_failures_before(self, last_at: datetime) -> None:
        """Drop the counts of usernames whose last failure is older (their lock, if any, is over)."""
        ...


__all__ = [
    "Access",
    "ApiUsage",
    "AuditLog",
    "AuditQuery",
    "AuthFailure",
    "Clock",
    "Company",
    "CompanyPage",
    "CredentialHasher",
    "Credentials",
    "CustomerRepository",
    "InFlightBudget",
    "MappingRepository",
    "NoteDraft",
    "PsaAuthError",
    "PsaConnector",
    "PsaError",
    "PsaForbidden",
    "PsaGateway",
    "PsaNotFound",
    "PsaRejected",
    "PsaUnavailable",
    "RunQuery",
    "RunRepository",
    "SecretBox",
    "SecretUnreadable",
    "SessionStore",
    "SettingsRepository",
    "SignInFailures",
    "TicketFacts",
    "TicketLinkRepository",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "User",
    "UserRepository",
    "WebSession",
    "Zone",
]
