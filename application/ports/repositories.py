"""The storage ports: repositories, the audit log and the unit of work that owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import TracebackType
from typing import Protocol, Self

from domain.audit import Anchor, AuditEntry, AuditKeyring, AuditRecord, Outcome
from domain.mapping import CompanyMapping, MappingStatus
from domain.roles import Role
from domain.runs import Customer, Run, RunStatus
from domain.settings import AutotaskSettings
from domain.tickets import TicketLink


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


class MappingFilter(StrEnum):
    """A customers list's `mapping` filter: a mapping status, or `unmapped` (no company: never mapped, or cleared)."""

    OK = "ok"
    RENAMED = "renamed"
    MISSING = "missing"
    INVALID = "invalid"
    UNMAPPED = "unmapped"


@dataclass(frozen=True, slots=True)
class CustomerQuery:
    search: str | None = None
    """Part of the customer's name or id, matched case-insensitively (in the database)."""
    mapping: MappingFilter | None = None
    """`missing`: a mapping cleared (status missing); `unmapped`: no company at all (never mapped, or cleared)."""
    limit: int = 50
    after: str | None = None
    """Keyset cursor: the id of the last customer already seen; customers come by id."""


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
    """Records beyond this one in the walk's direction (a page's keyset)."""
    newest_first: bool = False
    """Descending seq (the API's and the Audit page's default); exports and verification walk ascending."""


@dataclass(frozen=True, slots=True)
class User:
    id: str
    username: str
    role: Role
    password_hash: str | None
    token_hash: str
    created_at: datetime
    disabled: bool = False
    """A disabled user's token and sessions do not work and it cannot sign in (its audit trail stays)."""
    password_changed_at: datetime | None = None
    last_seen_at: datetime | None = None
    """When the user last authenticated (sign-in, session, API token), to the minute: see `UserRepository.seen`."""


class CustomerRepository(Protocol):
    async def get(self, customer_id: str) -> Customer | None: ...
    async def get_many(self, customer_ids: Sequence[str]) -> dict[str, Customer]:
        """Bulk read in one query (per 1,000 ids); ids missing from the answer do not exist."""
        ...

    async def save(self, customer: Customer) -> bool:
        """Insert or update; True when it was new."""
        ...

    async def query(self, query: CustomerQuery) -> list[Customer]:
        """The customers the query selects, by id, in one statement (the mapping filter joins in the database)."""
        ...

    async def count(self, query: CustomerQuery) -> int:
        """How many customers the query selects (its limit and cursor ignored), in one statement."""
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

    async def update_many(self, changes: Sequence[tuple[CompanyMapping, int]]) -> set[str]:
        """`update` for many (mapping, expected version) pairs in one statement per batch (a bounded number,
        whatever the count): each is stored only over its expected version; the customer ids stored."""
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

    async def update_many(self, changes: Sequence[tuple[TicketLink, int]]) -> set[str]:
        """`update` for many (link, expected version) pairs in one statement per batch (a bounded number, whatever
        the count): each is stored only over its expected version, so no concurrent change is overwritten; the run
        ids stored."""
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
    async def get(self, user_id: str) -> User | None: ...
    async def list(self, *, for_update: bool = False) -> list[User]:
        """`for_update`: lock the users until the unit of work ends, so a rule over all of them (the last enabled admin)
        holds against a concurrent change."""
        ...

    async def update(self, user: User) -> bool:
        """Replace the stored user of this id (its username, creation and last-seen times stay); False when it is
        gone."""
        ...

    async def seen(self, user_id: str, at: datetime, every: timedelta) -> bool:
        """Record that the user authenticated `at`, unless it was last seen less than `every` before: the comparison
        is the UPDATE's own condition, so requests racing in several processes write it once. True when written."""
        ...

    async def remove(self, user_id: str) -> bool: ...


class AuditAnchorStore(Protocol):
    """Where the chain's signed head is kept outside the database (docs/adr/0028-audit-anchor.md)."""

    def read(self) -> Anchor | None:
        """The anchor, None when none was written yet; ValueError when what is kept is not an anchor."""
        ...

    def advance(self, record: AuditRecord) -> None:
        """Move the anchor to a committed record (never backwards; failures are logged, not raised)."""
        ...


class AuditKeys(Protocol):
    """Where the installation's audit keys are kept, outside the database (docs/adr/0033-audit-key-rotation.md)."""

    def ring(self) -> AuditKeyring:
        """The keys as this process last read them: the current one signs new records."""
        ...

    def reload(self) -> AuditKeyring:
        """The keys read again from where they are kept: another process may have rotated them."""
        ...

    def rotate(self) -> AuditKeyring:
        """Keep a new key beside the old ones (they stay, retired, to check their records) and answer the new ring.
        KeyRotationUnavailable when the keys are not kept where this process can write them (a passphrase given in
        the environment)."""
        ...


class AuditLog(Protocol):
    keys: AuditKeys
    """The installation's audit keys: the current one signs every appended record; all of them check the chain."""
    anchor: AuditAnchorStore | None
    """Where the chain's head is anchored (None: nowhere, e.g. in tests)."""

    async def append(self, entry: AuditEntry) -> AuditRecord:
        """Chain the entry after the last record. Records are never updated or deleted."""
        ...

    async def rotate_key(self) -> AuditKeyring:
        """Under the chain's head lock, start a new key (`keys.rotate()`): the next record appended, in this unit of
        work and in every process after it, is signed with it. The key file changes at once, whether or not the unit
        of work commits (a new key with no record under it yet is harmless: epochs only move forward)."""
        ...

    async def query(self, query: AuditQuery) -> list[AuditRecord]: ...
    async def all(self) -> list[AuditRecord]:
        """Every record in seq order (for verification)."""
        ...


class UnitOfWork(Protocol):
    """One transaction. `async with uow:` begins it; leaving without `commit()` rolls it back. A database failure that
    leaves it (or keeps it from beginning) is StorageUnavailable (the database did not answer) or StorageRefused (it
    refused a value); nothing of it is stored."""

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
