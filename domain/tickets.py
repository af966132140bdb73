"""The link between a run and its one Autotask ticket, and the rule for resolving it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

CLOSING_NOTE = "Ticket resolved via Backupchecks after verification that the backup issue is no longer present."
CLOSING_NOTE_TITLE = "Resolved via Backupchecks"
STATUS_COMPLETE = 5
"""Autotask's system status *Complete*: a ticket with it is closed."""


class LinkState(StrEnum):
    PENDING = "pending"
    LINKED = "linked"
    RESOLVED = "resolved"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class TicketStatus:
    """The last known status of a ticket, as read from the PSA at `read_at`."""

    value: int
    label: str
    read_at: datetime

    @property
    def closed(self) -> bool:
        return self.value == STATUS_COMPLETE


@dataclass(frozen=True, slots=True)
class Ticket:
    """The Autotask ticket a link holds once linked: every part known, none optional."""

    id: int
    number: str
    url: str | None
    status: TicketStatus


@dataclass(frozen=True, slots=True)
class TicketLink:
    """The one ticket of a run.

    `pending` is a reservation: it is written (guarded by a unique run id) before the PSA is asked to create anything.
    `attempt` counts creation attempts; `ambiguous` says the last attempt's outcome is unknown and must be looked up
    by `external_id` before anything is created again. `version` grows with every change: storage writes a link only
    over the version it was derived from (compare-and-set), so concurrent callers never overwrite each other.
    `ticket` is present once linked (and stays on a linked ticket later resolved or deleted); a pending link whose
    ticket Autotask created but whose facts could not be read yet holds only its id, `unread_ticket_id`.
    """

    run_id: str
    state: LinkState
    external_id: str
    created_by: str
    created_at: datetime
    attempt: int = 1
    ambiguous: bool = False
    ticket: Ticket | None = None
    unread_ticket_id: int | None = None
    time_entries: int = 0
    closing_note_id: int | None = None
    closing_note_attempted: bool = False
    closing_note_claimed_at: datetime | None = None
    completion_sent: bool = False
    """Backupchecks asked the PSA to complete the ticket (after its note); a closed ticket is then its own doing."""
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    version: int = 1
    reconcile_claimed_at: datetime | None = None
    """One caller is looking up an earlier attempt's ticket (since then); the others answer what is stored."""

    # The ticket's parts as the pages and the HTTP answer print them (None before it is linked).
    @property
    def ticket_id(self) -> int | None:
        return self.unread_ticket_id if self.ticket is None else self.ticket.id

    @property
    def ticket_number(self) -> str | None:
        return None if self.ticket is None else self.ticket.number

    @property
    def url(self) -> str | None:
        return None if self.ticket is None else self.ticket.url

    @property
    def status(self) -> TicketStatus | None:
        return None if self.ticket is None else self.ticket.status

    def _next(self, **changes: Any) -> TicketLink:
        return replace(self, version=self.version + 1, **changes)

    @classmethod
    def reserve(cls, run_id: str, external_id: str, actor: str, at: datetime) -> TicketLink:
        return cls(run_id=run_id, state=LinkState.PENDING, external_id=external_id, created_by=actor, created_at=at)

    def retaken(self, actor: str, at: datetime) -> TicketLink:
        """A new creation attempt on a reservation whose previous attempt is known to have created nothing."""
        if self.state is not LinkState.PENDING:
            raise ValueError("only a pending link can be retaken")
        return self._next(
            attempt=self.attempt + 1, ambiguous=False, created_by=actor, created_at=at, reconcile_claimed_at=None
        )

    def reconcile_claimed(self, at: datetime) -> TicketLink:
        """A caller takes the look-up of an earlier attempt's ticket; others keep off until it ends or grows stale."""
        return self._next(reconcile_claimed_at=at)

    def reconcile_unclaimed(self) -> TicketLink:
        return self._next(reconcile_claimed_at=None)

    def reconcile_in_flight(self, now: datetime, stale_after_seconds: float) -> bool:
        at = self.reconcile_claimed_at
        return at is not None and (now - at).total_seconds() < stale_after_seconds

    def outcome_unknown(self) -> TicketLink:
        return self._next(ambiguous=True)

    def created_unread(self, ticket_id: int) -> TicketLink:
        """The PSA created the ticket but its facts could not be read yet: still pending, the id remembered."""
        return self._next(ambiguous=True, unread_ticket_id=ticket_id)

    def linked(self, ticket: Ticket) -> TicketLink:
        if self.state is not LinkState.PENDING:
            raise ValueError("only a pending link can be linked")
        return self._next(
            state=LinkState.LINKED,
            ambiguous=False,
            ticket=ticket,
            unread_ticket_id=None,
            time_entries=0,
            reconcile_claimed_at=None,
        )

    def observed(self, ticket: Ticket, time_entries: int) -> TicketLink:
        """The ticket and its time-entry count as just read from the PSA (a URL it does not answer is kept); a link
        marked deleted whose ticket the PSA shows again is linked again: Autotask is authoritative."""
        state = LinkState.LINKED if self.state is LinkState.DELETED else self.state
        if not ticket.url:
            ticket = replace(ticket, url=self.url)
        return self._next(ticket=ticket, time_entries=time_entries, state=state)

    def completion_sending(self, sent: bool = True) -> TicketLink:
        """Mark (or, after a completion that surely failed, unmark) that the PSA was asked to complete the ticket."""
        return self._next(completion_sent=sent)

    def with_status(self, ticket: Ticket, status: TicketStatus) -> TicketLink:
        """`ticket` (this link's) with the status just read."""
        return self._next(ticket=replace(ticket, status=status))

    def gone(self) -> TicketLink:
        """The ticket no longer exists in the PSA."""
        return self._next(state=LinkState.DELETED)

    def note_claimed(self, at: datetime) -> TicketLink:
        """A resolve is about to add the closing note; others keep off until it ends or the claim grows stale."""
        return self._next(closing_note_attempted=True, closing_note_claimed_at=at)

    def note_unclaimed(self, sent_at: datetime | None = None) -> TicketLink:
        """The attempt failed: the claim ends, but the note may exist, so the next attempt looks for it first.
        `sent_at`: when a note POST that Autotask may still apply began (ADR 0036); it stays as the claim's time, so
        the next attempt waits for the claim to grow stale, then only looks the note up until Autotask's window ends."""
        return self._next(closing_note_claimed_at=sent_at)

    def note_added(self, note_id: int) -> TicketLink:
        return self._next(closing_note_id=note_id, closing_note_attempted=True, closing_note_claimed_at=None)

    def note_in_flight(self, now: datetime, stale_after_seconds: float) -> bool:
        at = self.closing_note_claimed_at
        return at is not None and (now - at).total_seconds() < stale_after_seconds

    def resolved(self, ticket: Ticket, actor: str, status: TicketStatus) -> TicketLink:
        return self._next(
            state=LinkState.RESOLVED,
            ticket=replace(ticket, status=status),
            resolved_by=actor,
            resolved_at=status.read_at,
        )

    def same_reconcile_claim(self, claimed: TicketLink) -> bool:
        """Still under the reconciliation claim `claimed` took (nobody retook or released it since)."""
        return self.reconcile_claimed_at == claimed.reconcile_claimed_at

    def same_note_claim(self, claimed: TicketLink) -> bool:
        """Still under the closing-note claim `claimed` took."""
        return self.closing_note_claimed_at == claimed.closing_note_claimed_at

    def linked_with_note(self, note_id: int | None) -> bool:
        """Linked, and carrying exactly this closing note: the resolve that added it may go on."""
        return self.state is LinkState.LINKED and self.closing_note_id == note_id

    # Amendments applied by compare-and-set: each answers None when the stored link no longer allows it.
    def reconcile_released(self, claimed: TicketLink) -> TicketLink | None:
        """The reconciliation claim `claimed` took, released (unless someone else holds it now)."""
        return self.reconcile_unclaimed() if self.same_reconcile_claim(claimed) else None

    def note_released(self, claimed: TicketLink, sent_at: datetime | None = None) -> TicketLink | None:
        """The closing-note claim `claimed` took, released after a failed call (unless someone else holds it now);
        `sent_at` as in `note_unclaimed`."""
        return self.note_unclaimed(sent_at) if self.same_note_claim(claimed) else None

    def note_recorded(self, claimed: TicketLink, note_id: int) -> TicketLink | None:
        """The note added under the claim `claimed` took, recorded (unless someone else holds it now)."""
        return self.note_added(note_id) if self.same_note_claim(claimed) else None

    def recounted(self, time_entries: int) -> TicketLink | None:
        """The live time-entry count stored on a linked ticket."""
        return self._next(time_entries=time_entries) if self.state is LinkState.LINKED else None

    def completion_claimed(self, note_id: int | None) -> TicketLink | None:
        """The completion about to be sent, marked, while the link is linked with this resolve's note."""
        return self.completion_sending() if self.linked_with_note(note_id) else None

    def resolution(self, actor: str, status: TicketStatus, note_id: int | None) -> TicketLink | None:
        """Resolved by `actor`, while the link is linked with this resolve's note."""
        ticket = self.ticket
        return self.resolved(ticket, actor, status) if ticket is not None and self.linked_with_note(note_id) else None

    def lost_completion(self) -> TicketStatus | None:
        """The closed status Autotask shows when Backupchecks sent the completion and the ticket is closed with no
        time entries: the answer to that completion was lost, and the resolution only needs recording. None
        otherwise."""
        ticket = self.ticket
        if ticket is None or not (self.completion_sent and self.time_entries == 0 and self.state is LinkState.LINKED):
            return None
        return ticket.status if ticket.status.closed else None

    def stale(self, now: datetime, after_seconds: float) -> bool:
        """A pending reservation nobody finished (a crash between reserving and recording)."""
        return self.state is LinkState.PENDING and (now - self.created_at).total_seconds() >= after_seconds


class DenyReason(StrEnum):
    NO_TICKET = "no_ticket"
    TICKET_DELETED = "ticket_deleted"
    ALREADY_CLOSED = "already_closed"
    TIME_ENTRIES_PRESENT = "time_entries_present"
    TIME_ENTRIES_UNVERIFIABLE = "time_entries_unverifiable"
    RESOLVING_DISABLED = "resolving_disabled"
    FORBIDDEN = "forbidden"
    NOTE_TYPE_MISSING = "note_type_missing"
    NOTE_PUBLISH_NOT_INTERNAL = "note_publish_not_internal"


DENY_MESSAGES: dict[DenyReason, str] = {
    DenyReason.NO_TICKET: "This run has no Autotask ticket.",
    DenyReason.TICKET_DELETED: "The ticket no longer exists in Autotask.",
    DenyReason.ALREADY_CLOSED: "The ticket is already closed in Autotask.",
    DenyReason.TIME_ENTRIES_PRESENT: "The ticket has time entries in Autotask; resolve it there.",
    DenyReason.TIME_ENTRIES_UNVERIFIABLE: "The Autotask API user may not see every time entry, so Backupchecks "
    "cannot prove the ticket has none: resolve it in Autotask, or give the API user's security level full access to "
    "time entries and run Test connection.",
    DenyReason.RESOLVING_DISABLED: "Resolving tickets from Backupchecks is turned off in the settings.",
    DenyReason.FORBIDDEN: "Your role may not resolve tickets.",
    DenyReason.NOTE_TYPE_MISSING: "No usable note type for the closing note: the configured one is not active in "
    "Autotask, or none is set and Autotask has no default. Choose one in the settings.",
    DenyReason.NOTE_PUBLISH_NOT_INTERNAL: "The closing note must be internal, and the configured publish value is not "
    "an active internal one in Autotask (co-managed values are not internal): "
    "choose one in the settings.",
}


@dataclass(frozen=True, slots=True)
class ResolveDecision:
    allowed: bool
    reason: DenyReason | None = None

    @property
    def message(self) -> str | None:
        return None if self.reason is None else DENY_MESSAGES[self.reason]


LIVE_REASONS = (DenyReason.TIME_ENTRIES_PRESENT, DenyReason.ALREADY_CLOSED)
"""Reasons only live facts from Autotask decide: the stored snapshot may be old."""


def refused_on_snapshot(decision: ResolveDecision, link: TicketLink | None) -> DenyReason | None:
    """The reason a resolve is refused on the stored snapshot alone, before asking Autotask: a linked ticket is
    re-checked live for the reasons only Autotask knows now (time entries, closed)."""
    reason = decision.reason
    if reason in LIVE_REASONS and link is not None and link.state is LinkState.LINKED:
        return None
    return reason


def decide_resolve(
    link: TicketLink | None, *, may_resolve: bool, allow_resolve: bool, time_entries_visible: bool | None = True
) -> ResolveDecision:
    """The mandatory resolution policy, on the facts the link holds (the resolve use case refreshes them live first).
    `time_entries_visible` False (the API user sees only some time entries) refuses: no count could prove "none";
    None (not checked yet) lets the resolve use case check."""
    if not may_resolve:
        return ResolveDecision(False, DenyReason.FORBIDDEN)
    if not allow_resolve:
        return ResolveDecision(False, DenyReason.RESOLVING_DISABLED)
    if link is None or link.state is LinkState.PENDING or link.ticket_id is None:
        return ResolveDecision(False, DenyReason.NO_TICKET)
    if link.state is LinkState.DELETED:
        return ResolveDecision(False, DenyReason.TICKET_DELETED)
    if link.state is LinkState.RESOLVED or (link.ticket is not None and link.ticket.status.closed):
        return ResolveDecision(False, DenyReason.ALREADY_CLOSED)
    if time_entries_visible is False:
        return ResolveDecision(False, DenyReason.TIME_ENTRIES_UNVERIFIABLE)
    if link.time_entries > 0:
        return ResolveDecision(False, DenyReason.TIME_ENTRIES_PRESENT)
    return ResolveDecision(True)
