from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from application.ports import (
    AccessLevel,
    ApiUsage,
    AuthFailure,
    Company,
    CompanyPage,
    Credentials,
    EntityRights,
    NoteDraft,
    PsaAuthError,
    PsaError,
    PsaForbidden,
    PsaNotFound,
    PsaRejected,
    PsaUnavailable,
    Rights,
    TicketFacts,
    Zone,
)
from domain.draft import DESCRIPTION_MAX, EXTERNAL_ID_MAX, TITLE_MAX, TicketDraft
from domain.picklists import Picklists, PicklistValue

TICKET_LINK = "Autotask/AutotaskExtend/ExecuteCommand.aspx?Code=OpenTicketDetail&TicketID="
"""Appended to the zone's web URL, as Autotask's own ticket links are."""
IN_BATCH = 400
"""Ids per bulk read, as the Autotask adapter's `in` queries carry."""
PAGE_SIZE = 500
"""Items per page of a query answer, as Autotask pages them."""
LOST_ANSWER = "lost_answer"
"""A fault for `create_ticket` and `add_ticket_note`: the PSA applies the change, then the answer is lost."""
QUEUE_RULE = (
    "assignedResourceID, assignedResourceRoleID, and queueID cannot all be empty. Supply a queueID or both "
    "an assignedResourceID and assignedResourceRoleID."
)
LANDS_LATER = "lands_later"
"""A fault for `create_ticket`: the caller times out, and the ticket appears in the PSA only two calls later (a
create still being processed when the caller gave up)."""


@dataclass
class FakeNote:
    id: int
    title: str
    description: str
    note_type: int | None
    publish: int | None


@dataclass
class FakeTicket:
    id: int
    number: str
    company_id: int
    title: str
    description: str
    status: int
    priority: int | None
    queue_id: int | None
    external_id: str | None
    due_at: datetime | None = None
    notes: list[FakeNote] = field(default_factory=list)
    time_entries: int = 0
    category_id: int | None = None
    """`ticketCategory` as sent (None: Autotask's default category)."""
    work_type_id: int | None = None
    """`billingCodeID` as sent."""
    udfs: dict[str, str] = field(default_factory=dict)
    """`userDefinedFields` as sent, by name."""
    modified_at: datetime | None = None
    """Autotask's `lastTrackedModificationDateTime`: set on create and on every change of the ticket, its notes and
    its time entries (from the PSA's clock)."""


@dataclass
class Landing:
    calls_left: int
    ticket: FakeTicket


@dataclass(frozen=True)
class PsaEvent:
    """One change the PSA applied, in order: ('create', ticket), ('note', ticket), ('status', ticket),
    ('time_entry', ticket)."""

    kind: str
    ticket_id: int
    detail: str = ""


ALL_RIGHTS = EntityRights(AccessLevel.FULL, AccessLevel.FULL, AccessLevel.FULL)


def full_rights() -> Rights:
    return Rights(ALL_RIGHTS, ALL_RIGHTS, ALL_RIGHTS, ALL_RIGHTS)


def default_picklists() -> Picklists:
    v = PicklistValue
    return Picklists(
        queues=(v(29682833, "Client Portal"), v(29683481, "Monitoring Alert"), v(29683482, "Old queue", False)),
        issue_types=(v(11, "Backup"), v(12, "Network")),
        sub_issue_types=(
            v(111, "Backup failed", True, 11),
            v(112, "Backup warning", True, 11),
            v(121, "VPN", True, 12),
        ),
        sources=(v(4, "Monitoring Alert"), v(2, "Phone")),
        priorities=(v(1, "High"), v(2, "Medium"), v(3, "Low"), v(4, "Critical")),
        statuses=(v(1, "New"), v(5, "Complete"), v(7, "Waiting Customer"), v(8, "In Progress")),
        note_types=(v(1, "Task Summary", is_default=True), v(3, "Task Notes")),
        note_publish=(v(1, "All Autotask Users"), v(2, "Internal Only"), v(4, "Internal & Co-Managed")),
        required_ticket_fields=frozenset({"companyID", "title", "status", "priority"}),
    )


@dataclass
class FakePsa:
    """The PSA's world: companies, tickets with notes and time entries, picklists, and the faults to play.

    `faults[operation]` is a queue: each call of that operation takes the next fault, if any (a PsaError to raise, or
    LOST_ANSWER). `accept` names the credentials that work (None: any).
    """

    companies: dict[int, Company] = field(default_factory=dict)
    inaccessible: set[int] = field(default_factory=set)
    tickets: dict[int, FakeTicket] = field(default_factory=dict)
    picklist_data: Picklists = field(default_factory=default_picklists)
    accept: tuple[str, str, str] | None = None
    zone_info: Zone = field(
        default_factory=lambda: Zone(
            "Fake Zone", "https://fake.psa.invalid/atservicesrest/", "https://fake.psa.invalid/"
        )
    )
    usage_limit: int = 10_000
    rights: Rights = field(default_factory=full_rights)
    """What the API user's security level allows per entity (`rights()`); `restrict` narrows it."""
    events: list[PsaEvent] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    faults: dict[str, deque[PsaError | str]] = field(default_factory=lambda: defaultdict(deque))
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    """The PSA's own clock, which stamps every change of a ticket (tests hand it theirs, or one running behind)."""
    _next_id: int = 1000
    _next_note: int = 5000
    _landing: list[Landing] = field(default_factory=list)

    # -- seeding and inspection ----------------------------------------------------------------------------------
    def add_company(self, company_id: int, name: str, *, active: bool = True) -> Company:
        company = Company(company_id, name, active)
        self.companies[company_id] = company
        return company

    def rename_company(self, company_id: int, name: str) -> None:
        c = self.companies[company_id]
        self.companies[company_id] = Company(c.id, name, c.is_active)

    def deactivate_company(self, company_id: int) -> None:
        c = self.companies[company_id]
        self.companies[company_id] = Company(c.id, c.name, False)

    def settle(self) -> None:
        """Every create still in progress lands now (Autotask finishes what it accepted)."""
        for landing in self._landing:
            self.touch(landing.ticket)
            self.tickets[landing.ticket.id] = landing.ticket
            self.events.append(PsaEvent("create", landing.ticket.id, landing.ticket.external_id or ""))
        self._landing.clear()

    def restrict(
        self,
        area: str,
        *,
        create: AccessLevel | None = None,
        query: AccessLevel | None = None,
        update: AccessLevel | None = None,
    ) -> None:
        """Narrow (or widen) the API user's rights on one area ("tickets", "notes", "time_entries", "companies");
        the actions not named keep their level."""
        current: EntityRights = getattr(self.rights, area)
        changes = {k: v for k, v in (("create", create), ("query", query), ("update", update)) if v is not None}
        self.rights = replace(self.rights, **{area: replace(current, **changes)})

    def fail_next(self, operation: str, *faults: PsaError | str) -> None:
        self.faults[operation].extend(faults)

    def add_time_entry(self, ticket_id: int) -> None:
        self.tickets[ticket_id].time_entries += 1
        self.touch(self.tickets[ticket_id])
        self.events.append(PsaEvent("time_entry", ticket_id))

    def set_status(self, ticket_id: int, status: int) -> None:
        """Someone changes the status in Autotask itself."""
        self.tickets[ticket_id].status = status
        self.touch(self.tickets[ticket_id])

    def touch(self, ticket: FakeTicket) -> None:
        """The ticket changed now (its tracked modification time moves)."""
        ticket.modified_at = self.clock()

    def delete_ticket(self, ticket_id: int) -> None:
        """Someone deletes the ticket in Autotask (the API cannot, a person can)."""
        del self.tickets[ticket_id]

    def tickets_with_external_id(self, external_id: str) -> list[FakeTicket]:
        return [t for t in self.tickets.values() if t.external_id == external_id]

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id


class FakeConnector:
    def __init__(self, psa: FakePsa) -> None:
        self.psa = psa
        self.refused: dict[Credentials, PsaAuthError] = {}
        """Credentials the PSA refused: their gateways call it no more until `connect(..., fresh=True)`."""

    def connect(self, credentials: Credentials, *, fresh: bool = False) -> FakeGateway:
        if fresh:
            self.refused.pop(credentials, None)
        return FakeGateway(self.psa, credentials, self.refused)


class FakeGateway:
    def __init__(
        self, psa: FakePsa, credentials: Credentials, refused: dict[Credentials, PsaAuthError] | None = None
    ) -> None:
        self.psa = psa
        self.credentials = credentials
        self.refused = {} if refused is None else refused
        self._calls = 0

    @property
    def calls(self) -> int:
        return self._calls

    def _land(self) -> None:
        """Tickets whose creation was still in progress appear after their countdown of calls."""
        for landing in self.psa._landing:
            landing.calls_left -= 1
        if any(landing.calls_left == 0 for landing in self.psa._landing):
            self.psa.settle()

    def _enter(self, operation: str) -> str | None:
        """Count the call, check credentials, play the next fault. Answers LOST_ANSWER when the change should be
        applied and its answer lost. Credentials refused once are refused again without reaching the PSA."""
        refused = self.refused.get(self.credentials)
        if refused is not None:
            raise PsaAuthError(refused.failure, f"{refused.message} (refused earlier; not sent again)")
        self._calls += 1
        self.psa.calls[operation] += 1
        self._land()
        accept = self.psa.accept
        if accept is not None:
            user, secret, tracking = accept
            c = self.credentials
            failure = None
            if c.username != user:
                failure = PsaAuthError(AuthFailure.UNKNOWN_USER, "Zone information could not be determined")
            elif c.secret != secret:
                failure = PsaAuthError(AuthFailure.BAD_SECRET, "Unauthorized")
            elif c.tracking_identifier != tracking:
                failure = PsaAuthError(AuthFailure.BAD_TRACKING_IDENTIFIER, "IntegrationCode is invalid.")
            if failure is not None:
                self.refused[c] = failure
                raise failure
        queue = self.psa.faults.get(operation)
        if queue:
            fault = queue.popleft()
            if isinstance(fault, PsaError):
                raise fault
            return fault
        return None

    @staticmethod
    def _lost() -> PsaUnavailable:
        return PsaUnavailable("The request timed out after it was sent.", maybe_applied=True)

    def _facts(self, ticket: FakeTicket) -> TicketFacts:
        url = f"{self.psa.zone_info.web_url}{TICKET_LINK}{ticket.id}"
        return TicketFacts(ticket.id, ticket.number, ticket.status, url, ticket.external_id)

    async def zone(self) -> Zone:
        self._enter("zone")
        return self.psa.zone_info

    async def get_company(self, company_id: int) -> Company:
        self._enter("get_company")
        if company_id in self.psa.inaccessible:
            raise PsaForbidden("You do not have adequate permissions to view this company.")
        company = self.psa.companies.get(company_id)
        if company is None:
            raise PsaNotFound(f"Company {company_id} was not found.")
        return company

    def _enter_batches(self, operation: str, ids: Sequence[int | str]) -> None:
        """A bulk read costs one call per IN_BATCH ids, as an `in` query does on Autotask."""
        for _ in range(0, len(set(ids)), IN_BATCH):
            self._enter(operation)

    async def get_companies(self, company_ids: Sequence[int]) -> dict[int, Company]:
        self._enter_batches("get_companies", company_ids)
        visible = (self.psa.companies.get(i) for i in company_ids if i not in self.psa.inaccessible)
        return {c.id: c for c in visible if c is not None}

    async def active_companies(self, limit: int = 500, after_id: int | None = None) -> CompanyPage:
        self._enter("active_companies")
        found = sorted(
            (
                c
                for c in self.psa.companies.values()
                if c.is_active and c.id not in self.psa.inaccessible and (after_id is None or c.id > after_id)
            ),
            key=lambda c: c.id,
        )
        page = found[: max(1, min(limit, 500))]
        return CompanyPage(page, page[-1].id if len(found) > len(page) else None)

    async def search_companies(self, text: str, limit: int = 50, after_id: int | None = None) -> CompanyPage:
        self._enter("search_companies")
        found = sorted(
            (
                c
                for c in self.psa.companies.values()
                if text.lower() in c.name.lower()
                and c.id not in self.psa.inaccessible
                and (after_id is None or c.id > after_id)
            ),
            key=lambda c: c.id,
        )
        page = found[: max(1, min(limit, 500))]
        return CompanyPage(page, page[-1].id if len(found) > len(page) else None)

    async def create_ticket(self, draft: TicketDraft) -> int:
        fault = self._enter("create_ticket")
        problems = []
        if draft.company_id not in self.psa.companies:
            problems.append(f"Company {draft.company_id} does not exist.")
        if len(draft.title) > TITLE_MAX:
            problems.append("Title exceeds 255 characters.")
        if len(draft.description) > DESCRIPTION_MAX:
            problems.append("Description exceeds 8000 characters.")
        if len(draft.external_id) > EXTERNAL_ID_MAX:
            problems.append("ExternalID exceeds 50 characters.")
        if draft.priority is None:
            problems.append("Missing Required Field: priority")
        if draft.queue_id is None:
            problems.append(QUEUE_RULE)
        if draft.due_at.tzinfo is None:
            problems.append("dueDateTime is required.; on record number [0].")
        if draft.status not in {s.id for s in self.psa.picklist_data.statuses}:
            problems.append(f"Value {draft.status} is not a valid status.")
        if problems:
            raise PsaRejected(" ".join(problems))
        ticket_id = self.psa._new_id()
        ticket = FakeTicket(
            id=ticket_id,
            number=f"T20260115.{ticket_id:04d}",
            company_id=draft.company_id,
            title=draft.title,
            description=draft.description,
            status=draft.status,
            priority=draft.priority,
            queue_id=draft.queue_id,
            external_id=draft.external_id,
            due_at=draft.due_at,
            category_id=draft.category_id,
            work_type_id=draft.work_type_id,
            udfs=dict(draft.udfs),
            modified_at=self.psa.clock(),
        )
        if fault == LANDS_LATER:
            self.psa._landing.append(Landing(2, ticket))
            raise self._lost()
        self.psa.tickets[ticket_id] = ticket
        self.psa.events.append(PsaEvent("create", ticket_id, draft.external_id))
        if fault == LOST_ANSWER:
            raise self._lost()
        return ticket_id

    async def get_ticket(self, ticket_id: int) -> TicketFacts | None:
        self._enter("get_ticket")
        ticket = self.psa.tickets.get(ticket_id)
        return None if ticket is None else self._facts(ticket)

    async def get_tickets(self, ticket_ids: Sequence[int]) -> dict[int, TicketFacts]:
        self._enter_batches("get_tickets", ticket_ids)
        return {i: self._facts(self.psa.tickets[i]) for i in ticket_ids if i in self.psa.tickets}

    async def find_ticket_by_external_id(self, external_id: str) -> TicketFacts | None:
        self._enter("find_ticket_by_external_id")
        found = self.psa.tickets_with_external_id(external_id)
        return self._facts(found[0]) if found else None

    async def tickets_by_external_ids(self, external_ids: Sequence[str]) -> list[TicketFacts]:
        self._enter_batches("tickets_by_external_ids", external_ids)
        wanted = set(external_ids)
        return [self._facts(t) for t in self.psa.tickets.values() if t.external_id in wanted]

    async def changed_tickets(self, external_id_prefix: str, since: datetime) -> list[TicketFacts]:
        """One call per page of 500 (at least one), as Autotask's paged answer costs."""
        self._enter("changed_tickets")
        prefix = external_id_prefix.casefold()
        found = [
            t
            for t in sorted(self.psa.tickets.values(), key=lambda t: t.id)
            if (t.external_id or "").casefold().startswith(prefix)
            and t.modified_at is not None
            and t.modified_at > since
        ]
        for _ in range(PAGE_SIZE, len(found), PAGE_SIZE):
            self._enter("changed_tickets")
        return [self._facts(t) for t in found]

    async def count_time_entries(self, ticket_id: int) -> int:
        self._enter("count_time_entries")
        ticket = self.psa.tickets.get(ticket_id)
        return 0 if ticket is None else ticket.time_entries

    async def add_ticket_note(self, ticket_id: int, note: NoteDraft) -> int:
        fault = self._enter("add_ticket_note")
        ticket = self.psa.tickets.get(ticket_id)
        if ticket is None:
            raise PsaNotFound(f"Ticket {ticket_id} was not found.")
        lists = self.psa.picklist_data
        if note.note_type not in {t.id for t in lists.note_types if t.is_active}:
            raise PsaRejected(
                "noteType is required."
                if note.note_type is None
                else f"Value {note.note_type} is not a valid noteType."
            )
        if note.publish not in {p.id for p in lists.note_publish if p.is_active}:
            raise PsaRejected(
                "publish is required."
                if note.publish is None
                else f"Value {note.publish} is not a valid publish value."
            )
        self.psa._next_note += 1
        ticket.notes.append(FakeNote(self.psa._next_note, note.title, note.description, note.note_type, note.publish))
        self.psa.touch(ticket)
        self.psa.events.append(PsaEvent("note", ticket_id, str(note.publish)))
        if fault == LOST_ANSWER:
            raise self._lost()
        return self.psa._next_note

    async def find_ticket_note(self, ticket_id: int, description: str) -> int | None:
        self._enter("find_ticket_note")
        ticket = self.psa.tickets.get(ticket_id)
        notes = [] if ticket is None else [n for n in ticket.notes if n.description == description]
        return notes[0].id if notes else None

    async def complete_ticket(self, ticket_id: int, status: int) -> None:
        fault = self._enter("complete_ticket")
        ticket = self.psa.tickets.get(ticket_id)
        if ticket is None:
            raise PsaNotFound(f"Ticket {ticket_id} was not found.")
        ticket.status = status
        self.psa.touch(ticket)
        self.psa.events.append(PsaEvent("status", ticket_id, str(status)))
        if fault == LOST_ANSWER:
            raise self._lost()

    async def picklists(self, *, refresh: bool = False) -> Picklists:
        self._enter("picklists")
        return self.psa.picklist_data

    async def usage(self) -> ApiUsage:
        self._enter("usage")
        return ApiUsage(self.psa.total_calls, self.psa.usage_limit, 60)

    async def rights(self) -> Rights:
        self._enter("rights")
        return self.psa.rights
