"""The simulated Autotask tenant: companies, tickets, notes, time entries, field documents, faults and counters."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .fields import EntitySchema, Record, format_time, load_document, simple_document
from .query import compile_filter

FAULT_KINDS = frozenset(
    {
        "latency",
        "server_error",
        "throttle",
        "thread_limit",
        "timeout",
        "lost_answer",
        "patch_refused",
        "in_refused",
        "forbidden",
        "null_item",
    }
)
COMPLETE = 5
SEED_COMPANIES = (
    (100, "Acme Corporation", True),
    (101, "Globex Benelux B.V.", True),
    (102, "Initech Ltd", True),
    (103, "Umbrella Health Care", True),
    (104, "Stark Logistics (closed)", False),
    (105, "Wayne Enterprises", True),
)
COMPANIES_FIELDS = simple_document(
    ("id", "long", True, True), ("companyName", "string", True, False), ("isActive", "boolean", True, False)
)
TIME_ENTRIES_FIELDS = simple_document(
    ("id", "long", True, True),
    ("ticketID", "integer", False, False),
    ("dateWorked", "datetime", True, False),
    ("hoursWorked", "decimal", True, False),
    ("summaryNotes", "string", False, False),
    ("createDateTime", "datetime", False, True),
)


class ApiError(Exception):
    """An answer other than success: `status` with `{"errors": [...]}`."""

    def __init__(self, status: int, *errors: str) -> None:
        super().__init__("; ".join(errors))
        self.status = status
        self.errors = list(errors)


@dataclass
class Fault:
    """A misbehaviour to inject; `times=None` keeps it until `clear_faults()`.

    Kinds: "latency" (sleep `seconds`, then answer normally); "timeout" (sleep `seconds`, then do the work and answer:
    a client with a shorter timeout gives up while the write still lands); "lost_answer" (do the work, sleep `seconds`,
    answer 504); "server_error" (503 text/plain); "throttle" (429, `Retry-After` when `retry_after` is set);
    "thread_limit" (500 with a thread-limit message); "patch_refused" (PATCH answers 405); "in_refused" (a query
    using the `in` operator answers 500); "forbidden" (500 saying the user lacks adequate permissions, as tenants
    answer more often than 403); "null_item" (a GET of a missing id answers `200 {"item": null}`, not 404).
    Faults act after authentication; the first matching fault is used.

    `entity`/`method` restrict it (entity as in the path: "Tickets", "Companies", "TicketNotes", "zoneInformation"...).
    Zone discovery is only hit by a fault that names `entity="zoneInformation"`.
    """

    kind: str
    entity: str | None = None
    method: str | None = None
    times: int | None = 1
    seconds: float = 0.0
    retry_after: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {sorted(FAULT_KINDS)}")

    def hits(self, entity: str, method: str, uses_in: bool) -> bool:
        if self.entity is None and entity == "zoneInformation":
            return False
        if self.entity is not None and self.entity.lower() != entity.lower():
            return False
        if self.method is not None and self.method.upper() != method:
            return False
        if self.kind == "patch_refused":
            return method == "PATCH"
        if self.kind == "null_item":
            return method == "GET"
        return uses_in if self.kind == "in_refused" else True


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


class Simulator:
    """One Autotask tenant database as seen through the REST API. Not global: make one per test or demo."""

    def __init__(
        self,
        username: str = "api@example.com",
        secret: str = "s3cret",
        integration_code: str = "TRACKING01",
        *,
        tickets_fields: dict[str, Any] | None = None,
        ticket_notes_fields: dict[str, Any] | None = None,
        request_threshold: int = 10_000,
        max_concurrent_per_endpoint: int | None = 3,
        clock: Callable[[], datetime] | None = None,
        zone_name: str = "Simulator Zone",
        ci: int = 30595,
        require_due_date: bool = True,
        require_queue: bool = True,
        null_items: bool = True,
        auth_failure_status: int = 401,
        next_page_get: bool = True,
        own_company_name: str = "Simulated MSP",
    ) -> None:
        self.username = username
        self._secret_digest = _digest(secret)
        self.integration_code = integration_code
        self.zone_name, self.ci = zone_name, ci
        self.request_threshold = request_threshold
        self.threshold_timeframe_minutes = 60
        self.max_concurrent_per_endpoint = max_concurrent_per_endpoint
        """Autotask's thread limit: requests in flight per tracking identifier and entity (the first path segment:
        `Tickets/{id}/Notes` draws on `Tickets`), whatever the method."""
        self.require_due_date = require_due_date
        """No ticket category supplies a due date: a create without `dueDateTime` is refused (as seen in 2026)."""
        self.require_queue = require_queue
        """A ticket needs a queue, or both an assigned resource and its role (enforced although the fields document
        does not flag `queueID` required)."""
        self.null_items = null_items
        """A missing (or unseen) item answers `200 {"item": null}`, as live tenants do; False: `404` with `errors`."""
        if auth_failure_status not in (401, 500):
            raise ValueError("auth_failure_status is 401 or 500")
        self.auth_failure_status = auth_failure_status
        """What a wrong username or secret answers: `401` with an empty body, or `500` with `errors` (as tenants
        answer an unknown username)."""
        self.next_page_get = next_page_get
        """A GET of a `nextPageUrl`/`prevPageUrl` is served (real clients do it); False: `405`, as the README says."""
        self.hidden: dict[str, str] = {}
        """Entities the API user's security level cannot see: "forbidden" (queries refused for lack of permission)
        or "zero" (queries answer nothing, as Autotask does for time entries)."""
        self._clock = clock or (lambda: datetime.now(UTC))
        self.schemas = {
            "Companies": EntitySchema("Companies", COMPANIES_FIELDS),
            "Tickets": EntitySchema("Tickets", tickets_fields or load_document("tickets_fields.json")),
            "TicketNotes": EntitySchema(
                "TicketNotes", ticket_notes_fields or load_document("ticket_notes_fields.json")
            ),
            "TimeEntries": EntitySchema("TimeEntries", TIME_ENTRIES_FIELDS),
        }
        self.companies: dict[int, Record] = {}
        self.tickets: dict[int, Record] = {}
        self.notes: dict[int, Record] = {}
        self.time_entries: dict[int, Record] = {}
        self.counts: Counter[str] = Counter()
        self.faults: list[Fault] = []
        self._lock = threading.RLock()
        self._ids = {"Tickets": 7000, "TicketNotes": 29_000, "TimeEntries": 51_000}
        self._numbers: Counter[str] = Counter()
        self._budget: deque[datetime] = deque()
        self.in_flight: Counter[str] = Counter()
        self.peak_in_flight: Counter[str] = Counter()
        """Per entity: the most requests ever in flight at once (admitted or refused)."""
        self.thread_refusals: Counter[str] = Counter()
        """Per entity: requests refused for the thread limit."""
        self.add_company(0, own_company_name)  # the tenant's own company

    def __repr__(self) -> str:  # never show the secret
        return f"Simulator(username={self.username!r}, tickets={len(self.tickets)}, companies={len(self.companies)})"

    @classmethod
    def seeded(cls, **options: Any) -> Simulator:
        """The default credentials plus companies 100-105 (104 inactive)."""
        sim = cls(**options)
        for company_id, name, active in SEED_COMPANIES:
            sim.add_company(company_id, name, active)
        return sim

    # --- driving the tenant directly ------------------------------------------------------------------------------
    def now(self) -> datetime:
        return self._clock()

    def secret_matches(self, secret: str) -> bool:
        return hmac.compare_digest(self._secret_digest, _digest(secret))

    def add_company(self, company_id: int, name: str, active: bool = True) -> None:
        with self._lock:
            self.companies[company_id] = {"id": company_id, "companyName": name, "isActive": active}

    def rename_company(self, company_id: int, name: str) -> None:
        with self._lock:
            self.companies[company_id]["companyName"] = name

    def deactivate_company(self, company_id: int) -> None:
        with self._lock:
            self.companies[company_id]["isActive"] = False

    def delete_company(self, company_id: int) -> None:
        with self._lock:
            del self.companies[company_id]

    def add_time_entry(self, ticket_id: int, hours: float = 1.0) -> int:
        with self._lock:
            if ticket_id not in self.tickets:
                raise KeyError(f"no ticket {ticket_id}")
            entry_id = self._next_id("TimeEntries")
            stamp = format_time(self.now())
            self.time_entries[entry_id] = {
                "id": entry_id,
                "ticketID": ticket_id,
                "dateWorked": stamp,
                "hoursWorked": float(hours),
                "summaryNotes": None,
                "createDateTime": stamp,
            }
            return entry_id

    def set_ticket_status(self, ticket_id: int, status: int) -> None:
        with self._lock:
            ticket = self.tickets[ticket_id]
            previous = ticket["status"]
            ticket["status"] = status
            self._touch_ticket(ticket, previous)

    def delete_ticket(self, ticket_id: int) -> None:
        with self._lock:
            del self.tickets[ticket_id]

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def set_field_required(self, entity: str, field: str, required: bool = True) -> None:
        """Make the tenant require (or stop requiring) a field, e.g. `("Tickets", "queueID")`."""
        self.schemas[entity].set_required(field, required)

    def set_picklist_active(self, entity: str, field: str, value: int | str, active: bool) -> None:
        self.schemas[entity].set_picklist_active(field, value, active)

    # --- request bookkeeping (used by the app) ------------------------------------------------------------------
    def take_fault(self, entity: str, method: str, uses_in: bool) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.hits(entity, method, uses_in):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self.faults.remove(fault)
                    return fault
            return None

    def admit(self) -> int | None:
        """Count one request against the hourly budget; None if admitted, else seconds until a slot frees."""
        with self._lock:
            now = self.now()
            window = timedelta(minutes=self.threshold_timeframe_minutes)
            while self._budget and now - self._budget[0] >= window:
                self._budget.popleft()
            if len(self._budget) >= self.request_threshold:
                return max(1, int((self._budget[0] + window - now).total_seconds()))
            self._budget.append(now)
            return None

    def threshold_information(self) -> dict[str, int]:
        with self._lock:
            return {
                "externalRequestThreshold": self.request_threshold,
                "requestThresholdTimeframe": self.threshold_timeframe_minutes,
                "currentTimeframeRequestCount": len(self._budget),
            }

    # --- the API's operations ---------------------------------------------------------------------------------------
    def store(self, entity: str) -> dict[int, Record]:
        return {
            "Companies": self.companies,
            "Tickets": self.tickets,
            "TicketNotes": self.notes,
            "TimeEntries": self.time_entries,
        }[entity]

    def get(self, entity: str, item_id: int) -> Record | None:
        with self._lock:
            record = self.store(entity).get(item_id)
            return dict(record) if record is not None else None

    def query(self, entity: str, conditions: Any) -> list[Record]:
        predicate = compile_filter(self.schemas[entity], conditions)
        if self.hidden.get(entity) == "forbidden":
            raise ApiError(500, "User does not have adequate permissions to query this entity.")
        if self.hidden.get(entity) == "zero":
            return []
        with self._lock:
            store = self.store(entity)
            return [dict(store[i]) for i in sorted(store) if predicate(store[i])]

    def create_ticket(self, body: Record) -> int:
        schema = self.schemas["Tickets"]
        with self._lock:
            ticket = schema.empty_record()
            for spec in schema.document["fields"]:  # tenant defaults fill optional picklists left out
                default = next((p for p in spec.get("picklistValues") or [] if p["isDefaultValue"]), None)
                if default is not None and not spec["isRequired"] and not spec["isReadOnly"]:
                    ticket[spec["name"]] = int(default["value"])
            changed, errors = schema.apply(ticket, body, skip=frozenset({"ticketNumber"}))
            self._validate_ticket(ticket, changed | {"companyID"}, errors, creating=True)
            self._tenant_rules(ticket)
            ticket_id = self._next_id("Tickets")
            now = self.now()
            day = now.strftime("%Y%m%d")
            self._numbers[day] += 1
            ticket.update(id=ticket_id, ticketNumber=f"T{day}.{self._numbers[day]:04d}", createDate=format_time(now))
            self._touch_ticket(ticket, None)
            self.tickets[ticket_id] = ticket
            return ticket_id

    def update_ticket(self, body: Record, replace: bool) -> int:
        """PATCH (only the fields sent) or PUT (omitted writable fields become null)."""
        schema = self.schemas["Tickets"]
        item_id = next((v for k, v in body.items() if str(k).lower() == "id"), None)
        with self._lock:
            try:
                existing = self.tickets[int(item_id)]  # type: ignore[arg-type]
            except (KeyError, TypeError, ValueError):
                raise ApiError(404, f"Ticket with id {item_id} was not found.") from None
            ticket = dict(existing)
            if replace:
                ticket.update({name: None for name in schema.writable() if name != "ticketNumber"})
            changed, errors = schema.apply(ticket, body, skip=frozenset({"ticketNumber"}))
            changed = {n for n in changed if ticket[n] != existing.get(n)}
            self._validate_ticket(ticket, changed, errors, creating=False)
            self._touch_ticket(ticket, existing["status"])
            self.tickets[existing["id"]] = ticket
            return int(existing["id"])

    def create_note(self, ticket_id: int, body: Record) -> int:
        schema = self.schemas["TicketNotes"]
        with self._lock:
            ticket = self.tickets.get(ticket_id)
            if ticket is None:
                raise ApiError(404, f"Ticket with id {ticket_id} was not found.")
            note = schema.empty_record()
            changed, errors = schema.apply(note, body, skip=frozenset({"ticketID"}))
            note["ticketID"] = ticket_id
            errors = errors or schema.missing_required(note) + schema.value_errors(note, changed)
            if errors:
                raise ApiError(500, *errors)
            note_id = self._next_id("TicketNotes")
            stamp = format_time(self.now())
            note.update(id=note_id, createDateTime=stamp, lastActivityDate=stamp)
            self.notes[note_id] = note
            ticket["lastActivityDate"] = stamp
            return note_id

    def _validate_ticket(self, ticket: Record, changed: set[str], errors: list[str], creating: bool) -> None:
        if errors:  # a value that does not convert fails deserialisation, before any validation
            raise ApiError(500, *errors)
        schema = self.schemas["Tickets"]
        errors = schema.missing_required(ticket) + schema.value_errors(ticket, changed)
        company_id = ticket.get("companyID")
        if "companyID" in changed and company_id is not None:
            company = self.companies.get(company_id)
            if company is None:
                errors.append(f"Value '{company_id}' for field 'companyID' does not reference an existing Company.")
            elif creating and not company["isActive"]:
                errors.append(
                    f"Company {company_id} ({company['companyName']}) is inactive: tickets cannot be created for it."
                )
        if errors:
            raise ApiError(500, *errors)

    def _tenant_rules(self, ticket: Record) -> None:
        """Rules live tenants enforce on a new ticket that the fields document does not flag as required."""
        if (
            self.require_queue
            and ticket.get("queueID") is None
            and (ticket.get("assignedResourceID") is None or ticket.get("assignedResourceRoleID") is None)
        ):
            raise ApiError(
                500,
                "assignedResourceID, assignedResourceRoleID, and queueID cannot all be empty. Supply a "
                "queueID or both an assignedResourceID and assignedResourceRoleID.",
            )
        if self.require_due_date and ticket.get("dueDateTime") is None:
            raise ApiError(500, "dueDateTime is required.; on record number [0].")

    def _touch_ticket(self, ticket: Record, previous_status: int | None) -> None:
        stamp = format_time(self.now())
        ticket["lastActivityDate"] = stamp
        if ticket["status"] == COMPLETE and previous_status != COMPLETE:
            ticket["completedDate"] = stamp
        elif ticket["status"] != COMPLETE:
            ticket["completedDate"] = None

    def _next_id(self, entity: str) -> int:
        self._ids[entity] += 1
        return self._ids[entity]
