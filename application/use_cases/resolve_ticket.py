"""Resolve a run's ticket from Backupchecks: only when Autotask holds no time entries on it (re-checked live), after
adding the fixed internal closing note exactly once, then setting the status to Complete."""

from __future__ import annotations

from application.errors import Conflict, NotFound, UseCaseError
from application.ports import NoteDraft, PsaError, PsaGateway, PsaUnavailable, UnitOfWork
from application.use_cases.common import (
    Deps,
    amend_link,
    audit,
    authorize,
    connect,
    psa_error,
    refuse,
    replace_link,
    within,
)
from application.use_cases.get_ticket import observe
from domain.audit import Outcome
from domain.picklists import Picklists, closing_note_refusal, closing_note_type, internal_publish
from domain.roles import Actor, Permission
from domain.settings import AutotaskSettings
from domain.tickets import (
    CLOSING_NOTE,
    CLOSING_NOTE_TITLE,
    DENY_MESSAGES,
    STATUS_COMPLETE,
    DenyReason,
    LinkState,
    ResolveDecision,
    TicketLink,
    TicketStatus,
    decide_resolve,
)

ACTION = "ticket.resolve"
def busy() -> Conflict:
    return Conflict("ticket_busy", "The ticket changed while resolving it; look again and retry.")
# Reasons that only live facts from Autotask decide: the stored snapshot may be old.
_LIVE_REASONS = (DenyReason.TIME_ENTRIES_PRESENT, DenyReason.ALREADY_CLOSED)


def _denied(reason: DenyReason) -> UseCaseError:
    if reason is DenyReason.NO_TICKET:
        return NotFound(reason.value, DENY_MESSAGES[reason])
    return Conflict(reason.value, DENY_MESSAGES[reason])


class ResolveTicket:
    def __init__(self, deps: Deps, *, stale_after_seconds: float = 120.0) -> None:
        self.deps = deps
        self.stale_after_seconds = stale_after_seconds

    async def execute(self, actor: Actor, run_id: str) -> TicketLink:
        deps, target = self.deps, ("run", run_id)
        await authorize(deps, actor, Permission.MANAGE_TICKETS, ACTION, target)
        async with deps.uow(read_only=True) as uow:
            link = await uow.tickets.get(run_id)
            settings = await uow.settings.get()
        first = decide_resolve(link, may_resolve=True, allow_resolve=settings.allow_resolve)
        if first.reason is not None and not (first.reason in _LIVE_REASONS and link and link.state is LinkState.LINKED):
            await refuse(deps, actor, ACTION, target, _denied(first.reason))
        assert link is not None and link.ticket_id is not None
        if link.note_in_flight(deps.clock.now(), self.stale_after_seconds):
            await refuse(deps, actor, ACTION, target, busy())
        try:
            gateway = connect(deps, settings)
        except UseCaseError as error:
            await refuse(deps, actor, ACTION, target, error)
        try:
            observed = await observe(deps, gateway, link)
            picklists = await gateway.picklists()
        except PsaError as error:
            await refuse(deps, actor, ACTION, target, psa_error(error), Outcome.FAILED, stage="check")
        if not await replace_link(deps, observed, link):
            await refuse(deps, actor, ACTION, target, busy())
        decision = decide_resolve(observed, may_resolve=True, allow_resolve=settings.allow_resolve)
        note_refusal = closing_note_refusal(settings, picklists) if observed.closing_note_id is None else None
        if decision.reason is None and note_refusal is not None:
            decision = ResolveDecision(False, note_refusal)
        if (decision.reason is DenyReason.ALREADY_CLOSED and observed.completion_sent
                and observed.time_entries == 0 and observed.state is LinkState.LINKED):
            # Backupchecks sent the completion and the ticket is closed: that answer was lost. Finish the record.
            assert observed.status is not None
            return await self._record(actor, observed, observed.status, completed_earlier=True)
        if decision.reason is not None:
            await refuse(deps, actor, ACTION, target, _denied(decision.reason), time_entries=observed.time_entries)
        noted = await self._closing_note(actor, observed, gateway, settings, picklists)
        assert noted.ticket_id is not None and noted.status is not None
        try:
            # Time may have been logged while the note was added: count once more right before closing.
            entries = await gateway.count_time_entries(noted.ticket_id)
        except PsaError as error:
            await refuse(deps, actor, ACTION, target, psa_error(error), Outcome.FAILED, stage="complete")
        if entries:
            status = noted.status
            await amend_link(deps, noted, lambda current: current.observed(status, entries)
                             if current.state is LinkState.LINKED else None)
            await refuse(deps, actor, ACTION, target, _denied(DenyReason.TIME_ENTRIES_PRESENT), time_entries=entries,
                         closing_note_id=noted.closing_note_id)
        sending = await amend_link(deps, noted, lambda current: current.completion_sending()
                                   if current.state is LinkState.LINKED
                                   and current.closing_note_id == noted.closing_note_id else None)
        if sending is None:
            await refuse(deps, actor, ACTION, target, busy())
        try:
            await within(self.stale_after_seconds / 2, gateway.complete_ticket(noted.ticket_id, STATUS_COMPLETE))
        except PsaError as error:
            if not (isinstance(error, PsaUnavailable) and error.maybe_applied):  # surely not completed
                await amend_link(deps, sending, lambda current: current.completion_sending(False))
            await refuse(deps, actor, ACTION, target, psa_error(error), Outcome.FAILED, stage="complete",
                         closing_note_id=noted.closing_note_id)
        # No read after the PATCH: Autotask answered that it set exactly this status (resolve costs 5 requests).
        status = TicketStatus(STATUS_COMPLETE, picklists.status_label(STATUS_COMPLETE), deps.clock.now())
        return await self._record(actor, sending, status)

    async def _record(self, actor: Actor, link: TicketLink, status: TicketStatus, **details: bool) -> TicketLink:
        """Record the resolution and its audit record in one transaction."""
        deps, target = self.deps, ("run", link.run_id)

        async def log(uow: UnitOfWork) -> None:
            await audit(uow, deps, actor, ACTION, target, Outcome.OK, ticket_id=link.ticket_id,
                        closing_note_id=link.closing_note_id, **details)

        resolved = await amend_link(deps, link, lambda current: current.resolved(actor.name, status)
                                    if current.state is LinkState.LINKED
                                    and current.closing_note_id == link.closing_note_id else None, log)
        if resolved is None:
            await refuse(deps, actor, ACTION, target, busy(), Outcome.FAILED, ticket_id=link.ticket_id)
        return resolved

    async def _closing_note(self, actor: Actor, link: TicketLink, gateway: PsaGateway, settings: AutotaskSettings,
                            picklists: Picklists) -> TicketLink:
        """Add the closing note once, internal. The attempt is claimed (compare-and-set) and committed before the
        call, and the call has a deadline shorter than a claim's life, so no concurrent resolve can add a second one;
        after an attempt whose answer was lost, the note is looked up on the ticket instead of being added again."""
        deps, target = self.deps, ("run", link.run_id)
        if link.closing_note_id is not None:
            return link
        assert link.ticket_id is not None
        note = NoteDraft(CLOSING_NOTE_TITLE, CLOSING_NOTE, closing_note_type(settings.note_type_id, picklists),
                         internal_publish(settings.note_publish_id, picklists))
        claimed = link.note_claimed(deps.clock.now())
        if link.note_in_flight(deps.clock.now(), self.stale_after_seconds) or not await replace_link(
            deps, claimed, link
        ):
            await refuse(deps, actor, ACTION, target, busy())

        def ours(current: TicketLink) -> bool:
            return current.closing_note_claimed_at == claimed.closing_note_claimed_at

        try:
            note_id = await within(self.stale_after_seconds / 2, self._find_or_add(gateway, link, note))
        except PsaError as error:
            await amend_link(deps, claimed, lambda current: current.note_unclaimed() if ours(current) else None)
            await refuse(deps, actor, ACTION, target, psa_error(error), Outcome.FAILED, stage="closing_note")
        noted = await amend_link(deps, claimed, lambda current: current.note_added(note_id) if ours(current) else None)
        if noted is None:
            await refuse(deps, actor, ACTION, target, busy())
        return noted

    @staticmethod
    async def _find_or_add(gateway: PsaGateway, link: TicketLink, note: NoteDraft) -> int:
        assert link.ticket_id is not None
        found = await gateway.find_ticket_note(link.ticket_id, note.description) \
            if link.closing_note_attempted else None
        return found if found is not None else await gateway.add_ticket_note(link.ticket_id, note)
