from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Generic, Protocol, Self, TypeVar

from adapters.audit_key import HeldAuditKeys, signing_key
from application.ports import (
    AuditAnchorStore,
    AuditKeys,
    AuditLog,
    AuditQuery,
    CustomerQuery,
    CustomerRepository,
    MappingFilter,
    MappingRepository,
    RunQuery,
    RunRepository,
    SettingsRepository,
    TicketLinkRepository,
    User,
    UserRepository,
)
from domain.audit import AuditEntry, AuditKeyring, AuditRecord, chain
from domain.mapping import CompanyMapping, MappingStatus
from domain.runs import Customer, Run
from domain.settings import AutotaskSettings
from domain.tickets import LinkState, TicketLink

_open_in_task: ContextVar[MemoryStore | None] = ContextVar("memory_uow_open", default=None)


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


VersionedT = TypeVar("VersionedT", bound=Versioned)
K = TypeVar("K")
V = TypeVar("V")
_DELETED: Any = object()


@dataclass
class MemoryStore:
    """The committed state, shared by every unit of work made from it."""

    customers: dict[str, Customer] = field(default_factory=dict)
    runs: dict[str, Run] = field(default_factory=dict)
    mappings: dict[str, CompanyMapping] = field(default_factory=dict)
    links: dict[str, TicketLink] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    audit: list[AuditRecord] = field(default_factory=list)
    settings: dict[str, AutotaskSettings] = field(default_factory=dict)
    audit_keys: AuditKeys = field(default_factory=HeldAuditKeys)
    audit_anchor: AuditAnchorStore | None = None
    commits: int = 0
    _lock_owners: dict[object, object] = field(default_factory=dict)
    _released: asyncio.Condition | None = None

    def __post_init__(self) -> None:
        if not self.settings:
            self.settings["autotask"] = AutotaskSettings(installation_id=uuid.uuid4().hex)

    def unit_of_work(self, *, read_only: bool = False) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self, read_only=read_only)

    __call__ = unit_of_work

    async def _acquire(self, key: object, owner: object) -> None:
        if self._released is None:
            self._released = asyncio.Condition()
        async with self._released:
            await self._released.wait_for(lambda: self._lock_owners.get(key, owner) is owner)
            self._lock_owners[key] = owner

    async def _release_all(self, owner: object) -> None:
        if self._released is None:
            return
        async with self._released:
            for key in [k for k, o in self._lock_owners.items() if o is owner]:
                del self._lock_owners[key]
            self._released.notify_all()


class _Table(Generic[K, V]):
    """A committed dict seen through this unit of work's uncommitted writes."""

    def __init__(self, committed: dict[K, V]) -> None:
        self.committed = committed
        self.writes: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        if key in self.writes:
            value = self.writes[key]
            return None if value is _DELETED else value
        return self.committed.get(key)

    def put(self, key: K, value: V) -> None:
        self.writes[key] = value

    def get_many(self, keys: Sequence[K]) -> dict[K, V]:
        found = {key: self.get(key) for key in keys}
        return {k: v for k, v in found.items() if v is not None}

    def delete(self, key: K) -> None:
        self.writes[key] = _DELETED

    def swap(self: _Table[K, VersionedT], key: K, value: VersionedT, expected_version: int) -> bool:
        """Compare-and-set on the stored value's `version` (the caller holds the row's lock)."""
        current = self.get(key)
        if current is None or current.version != expected_version:
            return False
        self.put(key, value)
        return True

    def values(self) -> Iterator[V]:
        for key in {**self.committed, **self.writes}:
            value = self.get(key)
            if value is not None:
                yield value

    def apply(self) -> None:
        for key, value in self.writes.items():
            if value is _DELETED:
                self.committed.pop(key, None)
            else:
                self.committed[key] = value
        self.writes.clear()


class _Repo:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow


class MemoryCustomers(_Repo):
    async def get(self, customer_id: str) -> Customer | None:
        return self._uow.t_customers.get(customer_id)

    async def get_many(self, customer_ids: Sequence[str]) -> dict[str, Customer]:
        return self._uow.t_customers.get_many(customer_ids)

    async def save(self, customer: Customer) -> bool:
        await self._uow.lock(("customer", customer.id))
        new = self._uow.t_customers.get(customer.id) is None
        self._uow.t_customers.put(customer.id, customer)
        return new

    async def query(self, query: CustomerQuery) -> list[Customer]:
        items = [c for c in self._selected(query) if query.after is None or c.id > query.after]
        return sorted(items, key=lambda c: c.id)[: query.limit]

    async def count(self, query: CustomerQuery) -> int:
        return len(self._selected(query))

    def _selected(self, query: CustomerQuery) -> list[Customer]:
        text = (query.search or "").lower()

        def keep(customer: Customer) -> bool:
            if text and text not in customer.name.lower() and text not in customer.id.lower():
                return False
            if query.mapping is None:
                return True
            mapping = self._uow.t_mappings.get(customer.id)
            if query.mapping is MappingFilter.UNMAPPED:
                return mapping is None or mapping.company_id is None
            return mapping is not None and mapping.status.value == query.mapping.value

        return [c for c in self._uow.t_customers.values() if keep(c)]

    async def list(self, limit: int = 50, after: str | None = None) -> list[Customer]:
        items = sorted(self._uow.t_customers.values(), key=lambda c: c.id)
        return [c for c in items if after is None or c.id > after][:limit]


class MemoryRuns(_Repo):
    async def get(self, run_id: str) -> Run | None:
        return self._uow.t_runs.get(run_id)

    async def save(self, run: Run) -> bool:
        await self._uow.lock(("run", run.id))
        new = self._uow.t_runs.get(run.id) is None
        self._uow.t_runs.put(run.id, run)
        return new

    async def query(self, query: RunQuery) -> list[Run]:
        def keep(run: Run) -> bool:
            if query.statuses and run.status not in query.statuses:
                return False
            if query.customer_id is not None and run.customer_id != query.customer_id:
                return False
            if query.since is not None and run.run_at < query.since:
                return False
            if query.until is not None and run.run_at >= query.until:
                return False
            if query.has_ticket is not None and (self._uow.t_links.get(run.id) is not None) != query.has_ticket:
                return False
            return query.after is None or (run.run_at, run.id) < query.after

        runs = sorted(filter(keep, self._uow.t_runs.values()), key=lambda r: (r.run_at, r.id), reverse=True)
        return runs[: query.limit]


class MemoryMappings(_Repo):
    async def get(self, customer_id: str) -> CompanyMapping | None:
        return self._uow.t_mappings.get(customer_id)

    async def get_many(self, customer_ids: Sequence[str]) -> dict[str, CompanyMapping]:
        return self._uow.t_mappings.get_many(customer_ids)

    async def save(self, mapping: CompanyMapping) -> None:
        await self._uow.lock(("mapping", mapping.customer_id))
        self._uow.t_mappings.put(mapping.customer_id, mapping)

    async def update(self, mapping: CompanyMapping, expected_version: int) -> bool:
        await self._uow.lock(("mapping", mapping.customer_id))
        return self._uow.t_mappings.swap(mapping.customer_id, mapping, expected_version)

    async def update_many(self, changes: Sequence[tuple[CompanyMapping, int]]) -> set[str]:
        ordered = sorted(changes, key=lambda change: change[0].customer_id)  # locks in key order, as SQL takes them
        return {mapping.customer_id for mapping, expected in ordered if await self.update(mapping, expected)}

    async def list(self, statuses: frozenset[MappingStatus] = frozenset()) -> list[CompanyMapping]:
        items = sorted(self._uow.t_mappings.values(), key=lambda m: m.customer_id)
        return [m for m in items if not statuses or m.status in statuses]


class MemoryTicketLinks(_Repo):
    async def get(self, run_id: str) -> TicketLink | None:
        return self._uow.t_links.get(run_id)

    async def get_many(self, run_ids: Sequence[str]) -> dict[str, TicketLink]:
        return self._uow.t_links.get_many(run_ids)

    async def reserve(self, link: TicketLink) -> bool:
        await self._uow.lock(("link", link.run_id))
        if self._uow.t_links.get(link.run_id) is not None:
            return False
        self._uow.t_links.put(link.run_id, link)
        return True

    async def update(self, link: TicketLink, expected_version: int) -> bool:
        await self._uow.lock(("link", link.run_id))
        return self._uow.t_links.swap(link.run_id, link, expected_version)

    async def update_many(self, changes: Sequence[tuple[TicketLink, int]]) -> set[str]:
        ordered = sorted(changes, key=lambda change: change[0].run_id)  # locks in key order, as SQL takes them
        return {link.run_id for link, expected in ordered if await self.update(link, expected)}

    async def release(self, run_id: str, expected_version: int) -> bool:
        await self._uow.lock(("link", run_id))
        current = self._uow.t_links.get(run_id)
        if current is None or current.state is not LinkState.PENDING or current.version != expected_version:
            return False
        self._uow.t_links.delete(run_id)
        return True

    async def list_open(self) -> list[TicketLink]:
        return self._in_state(LinkState.LINKED)

    async def list_pending(self) -> list[TicketLink]:
        return self._in_state(LinkState.PENDING)

    def _in_state(self, state: LinkState) -> list[TicketLink]:
        return sorted((x for x in self._uow.t_links.values() if x.state is state), key=lambda x: x.run_id)


class MemorySettings(_Repo):
    async def get(self) -> AutotaskSettings:
        settings = self._uow.t_settings.get("autotask")
        assert settings is not None
        return settings

    async def save(self, settings: AutotaskSettings) -> None:
        await self._uow.lock(("settings",))
        if settings.installation_id != (await self.get()).installation_id:
            raise ValueError("the installation id belongs to the database and cannot change")
        self._uow.t_settings.put("autotask", settings)


class MemoryUsers(_Repo):
    async def add(self, user: User) -> bool:
        await self._uow.lock(("username", user.username))
        if await self.by_username(user.username) is not None:
            return False
        self._uow.t_users.put(user.id, user)
        return True

    async def by_token_hash(self, token_hash: str) -> User | None:
        return next((u for u in self._uow.t_users.values() if u.token_hash == token_hash), None)

    async def by_username(self, username: str) -> User | None:
        return next((u for u in self._uow.t_users.values() if u.username == username), None)

    async def get(self, user_id: str) -> User | None:
        return self._uow.t_users.get(user_id)

    async def list(self, *, for_update: bool = False) -> list[User]:
        if for_update:
            await self._uow.lock(("users", "*"))
        return sorted(self._uow.t_users.values(), key=lambda u: u.username)

    async def update(self, user: User) -> bool:
        await self._uow.lock(("user", user.id))
        old = self._uow.t_users.get(user.id)
        if old is None:
            return False
        kept = dataclasses.replace(
            user, username=old.username, created_at=old.created_at, last_seen_at=old.last_seen_at
        )
        self._uow.t_users.put(user.id, kept)
        return True

    async def seen(self, user_id: str, at: datetime, every: timedelta) -> bool:
        await self._uow.lock(("user", user_id))
        user = self._uow.t_users.get(user_id)
        if user is None or (user.last_seen_at is not None and user.last_seen_at > at - every):
            return False
        self._uow.t_users.put(user_id, dataclasses.replace(user, last_seen_at=at))
        return True

    async def remove(self, user_id: str) -> bool:
        await self._uow.lock(("user", user_id))
        if self._uow.t_users.get(user_id) is None:
            return False
        self._uow.t_users.delete(user_id)
        return True


class MemoryAudit(_Repo):
    """Append-only: there is no update or delete. Appending locks the chain's head until the unit of work ends."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        super().__init__(uow)
        self.keys = uow.store.audit_keys
        self.anchor = uow.store.audit_anchor
        self.pending: list[AuditRecord] = []

    async def append(self, entry: AuditEntry) -> AuditRecord:
        await self._uow.lock(("audit-head",))
        last = self.pending[-1] if self.pending else (self._uow.store.audit[-1] if self._uow.store.audit else None)
        record = chain(last, entry, signing_key(self.keys, last))
        self.pending.append(record)
        return record

    async def rotate_key(self) -> AuditKeyring:
        await self._uow.lock(("audit-head",))
        return self.keys.rotate()

    async def query(self, query: AuditQuery) -> list[AuditRecord]:
        def keep(r: AuditRecord) -> bool:
            e = r.entry
            checks: list[Callable[[], bool]] = [
                lambda: query.action is None or e.action == query.action,
                lambda: query.actor is None or e.actor == query.actor,
                lambda: query.outcome is None or e.outcome == query.outcome,
                lambda: (
                    query.customer_id is None
                    or e.details.get("customer_id") == query.customer_id
                    or (e.target_type == "customer" and e.target_id == query.customer_id)
                ),
                lambda: query.run_id is None or (e.target_type == "run" and e.target_id == query.run_id),
                lambda: query.since is None or e.at >= query.since,
                lambda: query.until is None or e.at < query.until,
                lambda: (
                    query.after_seq is None
                    or (r.seq < query.after_seq if query.newest_first else r.seq > query.after_seq)
                ),
            ]
            return all(check() for check in checks)

        walk = await self.all()
        return [r for r in (reversed(walk) if query.newest_first else walk) if keep(r)][: query.limit]

    async def all(self) -> list[AuditRecord]:
        return [*self._uow.store.audit, *self.pending]


class MemoryUnitOfWork:
    def __init__(self, store: MemoryStore, *, read_only: bool = False) -> None:
        self.store = store
        self.read_only = read_only
        self.committed = False
        self._nesting: Token[MemoryStore | None] | None = None
        self._begin()

    def _begin(self) -> None:
        s = self.store
        self.t_customers: _Table[str, Customer] = _Table(s.customers)
        self.t_runs: _Table[str, Run] = _Table(s.runs)
        self.t_mappings: _Table[str, CompanyMapping] = _Table(s.mappings)
        self.t_links: _Table[str, TicketLink] = _Table(s.links)
        self.t_users: _Table[str, User] = _Table(s.users)
        self.t_settings: _Table[str, AutotaskSettings] = _Table(s.settings)
        self.customers: CustomerRepository = MemoryCustomers(self)
        self.runs: RunRepository = MemoryRuns(self)
        self.mappings: MappingRepository = MemoryMappings(self)
        self.tickets: TicketLinkRepository = MemoryTicketLinks(self)
        self.settings: SettingsRepository = MemorySettings(self)
        self.users: UserRepository = MemoryUsers(self)
        self._audit = MemoryAudit(self)
        self.audit: AuditLog = self._audit

    def _tables(self) -> list[_Table[Any, Any]]:
        return [self.t_customers, self.t_runs, self.t_mappings, self.t_links, self.t_users, self.t_settings]

    async def lock(self, key: object) -> None:
        await self.store._acquire(key, self)

    async def __aenter__(self) -> Self:
        # As on SQLite (one writer at a time), a second unit of work inside an open one is refused: it would deadlock
        # there, so the fast tests catch it here.
        if _open_in_task.get() is self.store:
            raise RuntimeError("a unit of work is already open in this task")
        self._nesting = _open_in_task.set(self.store)
        self._begin()
        self.committed = False
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.rollback()
        if self._nesting is not None:
            _open_in_task.reset(self._nesting)
            self._nesting = None

    async def commit(self) -> None:
        if self.read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        for table in self._tables():
            table.apply()
        self.store.audit.extend(self._audit.pending)
        if self._audit.pending and self.store.audit_anchor is not None:
            self.store.audit_anchor.advance(self._audit.pending[-1])
        self._audit.pending.clear()
        self.store.commits += 1
        self.committed = True
        await self.store._release_all(self)

    async def rollback(self) -> None:
        for table in self._tables():
            table.writes.clear()
        self._audit.pending.clear()
        await self.store._release_all(self)
