"""The simulated Autotask tenant: companies, tickets, notes, time entries, field documents, faults and counters."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .fields import EntitySchema, Record, format_time, load_document, simple_document
from .query import compile_filter
from .tenant import (
    ACCESS_LEVELS,
    BILLING_CODES_FIELDS,
    CAPABILITIES,
    FIELD_DEFAULTS_FIELDS,
    FIELD_DEFAULTS_ID_BASE,
    OPERATIONS,
    SEED_BILLING_CODES,
    SEED_CATEGORIES,
    SEED_UDFS,
    TICKET_CATEGORIES_FIELDS,
    WORK_TYPE,
    CategoryRules,
    TicketUdfs,
    billing_code,
    category_records,
    entity_information,
    field_defaults_record,
    permission_refused,
    ticket_field_name,
    udf_definition,
    work_type_errors,
)

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
        "maintenance",
        "late_apply",
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
    "thread_limit" (a thread-limit refusal: `status` 500 (the default, "Thread Threshold Exceeded (Itgenatr005)") or 429
    ("thread threshold of 3 threads has been exceeded")); "patch_refused" (PATCH answers 405); "in_refused" (a query
    using the `in` operator answers 500); "forbidden" (500 saying the user lacks adequate permissions, as tenants
    answer more often than 403); "null_item" (a GET of a missing id answers `200 {"item": null}`, not 404);
    "maintenance" (`200` with `Content-Type: text/html` and Autotask's maintenance page; `applied=True` does the work
    first, so a create lands while its outcome is unknown to the client, as with "lost_answer"); "late_apply" (answer
    504 at once and do the work `seconds` later by the simulator's clock, as Autotask may apply a write it timed out on
    up to 300 s after it was sent: the work is done by the first request after that moment, or `apply_due()`).
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
    status: int | None = None
    applied: bool = False

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {sorted(FAULT_KINDS)}")
        if self.status not in (None, 429, 500):
            raise ValueError("a fault's status is 429 or 500 (thread_limit)")

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
        thread_limit_status: int = 429,
        clock: Callable[[], datetime] | None = None,
        zone_name: str = "Simulator Zone",
        ci: int = 30595,
        require_due_date: bool = True,
        require_queue: bool = True,
        null_items: bool = True,
        auth_failure_status: int = 401,
        next_page_get: bool = True,
        own_company_name: str = "Simulated MSP",
        ticket_udfs: Iterable[Record] | None = None,
        api_user_category: int | None = None,
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
        if thread_limit_status not in (429, 500):
            raise ValueError("thread_limit_status is 429 or 500")
        self.thread_limit_status = thread_limit_status
        """How a request over the thread limit is refused: `429` "thread threshold of 3 threads has been exceeded" (as
        public client fixtures show) or `500` "Thread Threshold Exceeded (Itgenatr005)"."""
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
        self.api_user_category = api_user_category
        """The API user's default ticket category: a create without `ticketCategory` gets it (None: the tenant's
        default, the `ticketCategory` picklist's `isDefaultValue`)."""
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
            "BillingCodes": EntitySchema("BillingCodes", BILLING_CODES_FIELDS),
            "TicketCategories": EntitySchema("TicketCategories", TICKET_CATEGORIES_FIELDS),
            "TicketCategoryFieldDefaults": EntitySchema("TicketCategoryFieldDefaults", FIELD_DEFAULTS_FIELDS),
        }
        self.companies: dict[int, Record] = {}
        self.tickets: dict[int, Record] = {}
        self.notes: dict[int, Record] = {}
        self.time_entries: dict[int, Record] = {}
        self.billing_codes: dict[int, Record] = {c[0]: billing_code(*c) for c in SEED_BILLING_CODES}
        """Work Types are the active ones of use type 1; other use types (materials, expenses, mileage) are not."""
        self.category_rules: dict[int, CategoryRules] = {}
        self.category_extras: dict[int, dict[str, Any]] = {
            cid: {"nickname": nick, "isApiOnly": api_only}
            for cid, (nick, api_only) in (SEED_CATEGORIES.items() if tickets_fields is None else ())
        }
        """Nickname and `isApiOnly` per category (the seeded fields document's categories have them)."""
        self.udfs = TicketUdfs(SEED_UDFS if ticket_udfs is None else ticket_udfs)
        """The tenant's ticket UDFs (`Tickets/entityInformation/userDefinedFields`)."""
        self.udf_values: dict[int, dict[str, str | None]] = {}
        self.access: dict[str, dict[str, str]] = {
            entity: {op: "All" if can else "None" for op, can in zip(OPERATIONS, (c, q, u, d), strict=True)}
            for entity, (c, u, d, q, _, _) in CAPABILITIES.items()
        }
        """The API user's `userAccessFor…` per entity and operation (see `set_access`)."""
        self.by_api_user: defaultdict[str, set[int]] = defaultdict(set)
        """Ids of the records the API user made (what "Mine"/"Restricted" access sees)."""
        self.counts: Counter[str] = Counter()
        self.failed_logins = 0
        """Requests refused for a wrong username or secret (what locks a real tenant's API user when repeated)."""
        self.faults: list[Fault] = []
        self._later: list[tuple[datetime, Callable[[], object]]] = []
        """Work accepted under a "late_apply" fault, and when it is applied."""
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

    def set_secret(self, secret: str) -> None:
        """The API user's secret changes (an admin reset it, or a new one reached this server at last)."""
        with self._lock:
            self._secret_digest = _digest(secret)

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

    def add_time_entry(self, ticket_id: int, hours: float = 1.0, *, by_api_user: bool = False) -> int:
        """A time entry someone logged on the ticket (`by_api_user`: the API user itself, so "Mine" access sees it)."""
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
            self.tickets[ticket_id]["lastTrackedModificationDateTime"] = stamp  # a ticket's time entry changes it
            if by_api_user:
                self.by_api_user["TimeEntries"].add(entry_id)
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

    def apply_later(self, seconds: float, work: Callable[[], object]) -> None:
        """Do `work` once the simulator's clock has moved `seconds` on (see `apply_due`)."""
        with self._lock:
            self._later.append((self.now() + timedelta(seconds=seconds), work))

    def apply_due(self) -> int:
        """Do the late work whose moment has come, in the order it was accepted; answers how many were done."""
        with self._lock:
            now = self.now()
            due = [work for at, work in self._later if at <= now]
            self._later = [(at, work) for at, work in self._later if at > now]
            for work in due:
                work()
            return len(due)

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def set_field_required(self, entity: str, field: str, required: bool = True) -> None:
        """Make the tenant require (or stop requiring) a field, e.g. `("Tickets", "queueID")`."""
        self.schemas[entity].set_required(field, required)

    def set_picklist_active(self, entity: str, field: str, value: int | str, active: bool) -> None:
        self.schemas[entity].set_picklist_active(field, value, active)

    # --- the tenant's configuration -----------------------------------------------------------------------------
    def add_billing_code(
        self, code_id: int, name: str, *, use_type: int = WORK_TYPE, active: bool = True, description: str | None = None
    ) -> None:
        """A BillingCode; use type 1 makes it a Work Type a ticket's `billingCodeID` may name."""
        with self._lock:
            self.billing_codes[code_id] = billing_code(code_id, name, use_type, active, description)

    def set_billing_code_active(self, code_id: int, active: bool) -> None:
        with self._lock:
            self.billing_codes[code_id]["isActive"] = active

    def add_ticket_category(
        self,
        category_id: int,
        name: str,
        *,
        active: bool = True,
        api_only: bool = False,
        default: bool = False,
        nickname: str | None = None,
    ) -> None:
        """A `ticketCategory` picklist value and its TicketCategories record (`default`: the tenant's default)."""
        with self._lock:
            self.schemas["Tickets"].add_picklist_value(
                "ticketCategory", category_id, name, active=active, default=default
            )
            self.category_extras[category_id] = {"nickname": nickname or name, "isApiOnly": api_only}

    def set_category_rules(
        self,
        category_id: int,
        *,
        requires: Iterable[str] = (),
        udfs_required: Iterable[str] = (),
        defaults: Mapping[str, Any] | None = None,
        udf_defaults: Mapping[str, str] | None = None,
    ) -> None:
        """What category `category_id` requires of a new ticket and fills in when omitted (replacing earlier rules).

        Field names are Tickets fields (`billingCodeID`, `queueID`, …) or TicketCategoryFieldDefaults ones
        (`workTypeID` = `billingCodeID`, `issueTypeID` = `issueType`, `subIssueTypeID`, `sourceID`, …); UDFs by name.
        The defaults show in `TicketCategoryFieldDefaults`; the requirements show nowhere, as in Autotask.
        """
        names = self.schemas["Tickets"].names()
        with self._lock:
            self.category_rules[category_id] = CategoryRules(
                requires=frozenset(ticket_field_name(n, names) for n in requires),
                udfs_required=frozenset(self.udfs.spec(n)["name"] for n in udfs_required),
                defaults={ticket_field_name(k, names): v for k, v in (defaults or {}).items()},
                udf_defaults={self.udfs.spec(k)["name"]: v for k, v in (udf_defaults or {}).items()},
            )

    def add_ticket_udf(
        self,
        name: str,
        *,
        label: str | None = None,
        data_type: str = "string",
        required: bool = False,
        default: str | None = None,
        choices: Mapping[str, str] | None = None,
        inactive_choices: Iterable[str] = (),
        length: int | None = None,
    ) -> None:
        """A ticket UDF (replacing one of the same name); `choices` (value: label) makes it a picklist."""
        definition = udf_definition(
            name,
            label=label,
            data_type=data_type,
            required=required,
            default=default,
            choices=choices,
            inactive_choices=inactive_choices,
            length=length,
        )
        with self._lock:
            self.udfs.add(definition)

    def set_udf_required(self, name: str, required: bool = True) -> None:
        with self._lock:
            self.udfs.spec(name)["isRequired"] = required

    def remove_ticket_udf(self, name: str) -> None:
        with self._lock:
            self.udfs.remove(name)

    def set_access(
        self,
        entity: str,
        *,
        create: str | None = None,
        query: str | None = None,
        update: str | None = None,
        delete: str | None = None,
    ) -> None:
        """The API user's access to an entity ("All", "Mine", "Restricted" or "None"), as `entityInformation` shows it
        and as it is enforced: "None" refuses, "Mine"/"Restricted" see only what the API user made."""
        access = self.access[entity]
        levels = {op: v for op, v in zip(OPERATIONS, (create, query, update, delete), strict=True) if v is not None}
        for level in levels.values():
            if level not in ACCESS_LEVELS:
                raise ValueError(f"unknown access level {level!r}; one of {ACCESS_LEVELS}")
        with self._lock:
            access.update(levels)

    def entity_information(self, entity: str) -> dict[str, Any]:
        """The body of `GET /V1.0/{Entity}/entityInformation`."""
        return entity_information(entity, self.access[entity])

    def udf_document(self, entity: str) -> dict[str, Any]:
        """The body of `GET /V1.0/{Entity}/entityInformation/userDefinedFields`."""
        return self.udfs.answer() if entity == "Tickets" else {"fields": []}

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
        if entity == "TicketCategories":
            return {c["id"]: c for c in self._categories()}
        if entity == "TicketCategoryFieldDefaults":
            return {
                FIELD_DEFAULTS_ID_BASE + c["id"]: field_defaults_record(
                    c["id"], self.category_rules.get(c["id"]), self.udfs
                )
                for c in self._categories()
            }
        return {
            "Companies": self.companies,
            "Tickets": self.tickets,
            "TicketNotes": self.notes,
            "TimeEntries": self.time_entries,
            "BillingCodes": self.billing_codes,
        }[entity]

    def get(self, entity: str, item_id: int) -> Record | None:
        """The item as `GET {Entity}/{id}` shows it; None when missing or not visible to the API user."""
        with self._lock:
            record = self.store(entity).get(item_id)
            if record is None or self.access[entity]["query"] == "None" or not self._visible(entity, "query", item_id):
                return None
            return self._render(entity, record)

    def query(self, entity: str, conditions: Any) -> list[Record]:
        predicate = compile_filter(self.schemas[entity], conditions)
        if self.hidden.get(entity) == "forbidden":
            raise ApiError(500, "User does not have adequate permissions to query this entity.")
        if self.hidden.get(entity) == "zero":
            return []
        self._require_access(entity, "query")
        with self._lock:
            store = self.store(entity)
            return [
                self._render(entity, store[i])
                for i in sorted(store)
                if predicate(store[i]) and self._visible(entity, "query", i)
            ]

    def create_ticket(self, body: Record) -> int:
        schema = self.schemas["Tickets"]
        with self._lock:
            self._require_access("Tickets", "create")
            ticket = schema.empty_record()
            changed, errors = schema.apply(ticket, body, skip=frozenset({"ticketNumber"}))
            if errors:  # a value that does not convert fails deserialisation, before any validation
                raise ApiError(500, *errors)
            given, udf_errors = self.udfs.parse(body)
            rules, filled = self._fill_defaults(ticket)
            self._validate_ticket(ticket, changed | filled | {"companyID"}, creating=True, extra=udf_errors)
            udf_values = self.udfs.filled(given, rules)
            self._tenant_rules(ticket, udf_values, rules)
            ticket_id = self._next_id("Tickets")
            now = self.now()
            day = now.strftime("%Y%m%d")
            self._numbers[day] += 1
            ticket.update(id=ticket_id, ticketNumber=f"T{day}.{self._numbers[day]:04d}", createDate=format_time(now))
            self._touch_ticket(ticket, None)
            self.tickets[ticket_id] = ticket
            self.udf_values[ticket_id] = udf_values
            self.by_api_user["Tickets"].add(ticket_id)
            return ticket_id

    def update_ticket(self, body: Record, replace: bool) -> int:
        """PATCH (only the fields sent) or PUT (omitted writable fields become null); UDFs sent are changed."""
        schema = self.schemas["Tickets"]
        item_id = next((v for k, v in body.items() if str(k).lower() == "id"), None)
        with self._lock:
            self._require_access("Tickets", "update")
            try:
                existing = self.tickets[int(item_id)]  # type: ignore[arg-type]
            except (KeyError, TypeError, ValueError):
                raise ApiError(404, f"Ticket with id {item_id} was not found.") from None
            if not self._visible("Tickets", "update", existing["id"]):
                raise ApiError(500, permission_refused("update", "Tickets"))
            ticket = dict(existing)
            if replace:
                ticket.update({name: None for name in schema.writable() if name != "ticketNumber"})
            changed, errors = schema.apply(ticket, body, skip=frozenset({"ticketNumber"}))
            if errors:
                raise ApiError(500, *errors)
            given, udf_errors = self.udfs.parse(body)
            changed = {n for n in changed if ticket[n] != existing.get(n)}
            self._validate_ticket(
                ticket, changed, creating=False, extra=udf_errors + self.udfs.missing(given, among=given)
            )
            self._touch_ticket(ticket, existing["status"])
            self.tickets[existing["id"]] = ticket
            self.udf_values[existing["id"]] = {**self.udf_values.get(existing["id"], {}), **given}
            return int(existing["id"])

    def create_note(self, ticket_id: int, body: Record) -> int:
        schema = self.schemas["TicketNotes"]
        with self._lock:
            self._require_access("TicketNotes", "create")
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
            self.by_api_user["TicketNotes"].add(note_id)
            ticket["lastActivityDate"] = ticket["lastTrackedModificationDateTime"] = stamp  # a note changes it
            return note_id

    def _fill_defaults(self, ticket: Record) -> tuple[CategoryRules | None, set[str]]:
        """A new ticket's category (sent, else the API user's, else the tenant's default), then what that category
        fills in, then the tenant's picklist defaults; returns the category's rules and the fields to check."""
        schema, filled = self.schemas["Tickets"], set()
        if ticket.get("ticketCategory") is None and self.api_user_category is not None:
            ticket["ticketCategory"] = self.api_user_category
            filled.add("ticketCategory")
        category = ticket.get("ticketCategory")
        if category is None:
            category = next(
                (
                    int(p["value"])
                    for p in (schema.field("ticketCategory") or {}).get("picklistValues") or []
                    if p["isDefaultValue"]
                ),
                None,
            )
        rules = self.category_rules.get(category) if category is not None else None
        for name, value in (rules.defaults if rules else {}).items():
            if ticket.get(name) is None:
                ticket[name] = value
                filled.add(name)
        for spec in schema.document["fields"]:  # the tenant's picklist defaults fill optional picklists left out
            default = next((p for p in spec.get("picklistValues") or [] if p["isDefaultValue"]), None)
            if (
                default is not None
                and not spec["isRequired"]
                and not spec["isReadOnly"]
                and ticket.get(spec["name"]) is None
            ):
                ticket[spec["name"]] = int(default["value"])
        return rules, filled

    def _validate_ticket(self, ticket: Record, changed: set[str], *, creating: bool, extra: list[str]) -> None:
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
        if "billingCodeID" in changed and ticket.get("billingCodeID") is not None:
            errors += work_type_errors(ticket["billingCodeID"], self.billing_codes)
        if errors or extra:
            raise ApiError(500, *errors, *extra)

    def _tenant_rules(self, ticket: Record, udf_values: dict[str, str | None], rules: CategoryRules | None) -> None:
        """Rules live tenants enforce on a new ticket that the fields document does not flag as required: what the
        ticket's category requires, required UDFs, a queue (or a resource and its role), a due date."""
        errors = [
            f"{name} is required.; on record number [0]."
            for name in sorted(rules.requires if rules else ())
            if ticket.get(name) in (None, "")
        ]
        errors += self.udfs.missing(udf_values, rules.udfs_required if rules else ())
        if errors:
            raise ApiError(500, *errors)
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

    def _require_access(self, entity: str, operation: str) -> None:
        if self.access[entity][operation] == "None":
            raise ApiError(500, permission_refused(operation, entity))

    def _visible(self, entity: str, operation: str, item_id: int) -> bool:
        """Whether the API user's access lets it see (or change) this record: "Mine"/"Restricted" only its own."""
        return self.access[entity][operation] not in ("Mine", "Restricted") or item_id in self.by_api_user[entity]

    def _render(self, entity: str, record: Record) -> Record:
        """A record as the API shows it: Tickets with every UDF of the tenant, other entities with UDFs with `[]`."""
        if entity == "Tickets":
            return {**record, "userDefinedFields": self.udfs.render(self.udf_values.get(record["id"], {}))}
        return {**record, "userDefinedFields": []} if CAPABILITIES[entity][4] else dict(record)

    def _categories(self) -> list[Record]:
        return category_records(self.schemas["Tickets"].field("ticketCategory"), self.category_extras)

    def _touch_ticket(self, ticket: Record, previous_status: int | None) -> None:
        """A ticket made or changed: its activity and tracked-modification times move (a status poll asks for tickets
        with `lastTrackedModificationDateTime gt` its last run), and its completion date follows its status."""
        stamp = format_time(self.now())
        ticket["lastActivityDate"] = ticket["lastTrackedModificationDateTime"] = stamp
        if ticket["status"] == COMPLETE and previous_status != COMPLETE:
            ticket["completedDate"] = stamp
        elif ticket["status"] != COMPLETE:
            ticket["completedDate"] = None

    def _next_id(self, entity: str) -> int:
        self._ids[entity] += 1
        return self._ids[entity]
