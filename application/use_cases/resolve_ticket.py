"""Resolve a run's ticket from Backupchecks: only when Autotask holds no time entries on it (re-checked live), after
adding the fixed internal closing note exactly once, then setting the status to Complete.

Steps: check the stored snapshot → observe the ticket live → (finish a completion whose answer was lost) → the
resolution policy on live facts → closing note → re-count time entries → complete → record. The policy, the time-entry
rule included, is `domain.tickets.decide_resolve`, applied by `_refuse_unless_resolvable` on live facts (once before
the note, once on the re-count right before completing)."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime
from functools import partial

from application.attempts import Attempt
from application.deps import Deps
from application.errors import DENIED, TicketBusy, UseCaseError
from application.ports import NoteDraft, PsaError, PsaGateway, PsaUnavailable, UnitOfWork
from application.psa_connection import connect, psa_error, within
from application.reconciliation import settle_seconds
from application.tenant_facts import observe_rights, rights_stale
from application.ticket_links import Stored, amend_link, observe, replace_link
from domain.audit import Outcome
from domain.picklists import Picklists, closing_note_refusal, closing_note_type, internal_publish
from domain.roles import Actor, Permission
from domain.settings import RIGHTS_RECHECK_SECONDS, AutotaskSettings
from domain.tickets import (
    CLOSING_NOTE,
    CLOSING_NOTE_TITLE,
    DENY_MESSAGES,
    STATUS_COMPLETE,
    DenyReason,
    TicketLink,
    TicketStatus,
    decide_resolve,
    refused_on_snapshot,
)

ACTION = "ticket.resolve"


def denied(reason: DenyReason) -> UseCaseError:
    return DENIED[reason](DENY_MESSAGES[reason])


class ResolveTicket:
    def __init__(self, deps: Deps, *, stale_after_seconds: float = 120.0) -> None:
        self.deps = deps
        self.stale_after_seconds = stale_after_seconds

    async def execute(self, actor: Actor, run_id: str) -> TicketLink:
        async with Attempt(self.deps, actor, ACTION, ("run", run_id)) as attempt:
            attempt.authorize(Permission.MANAGE_TICKETS)
            link, ticket_id, settings = await self._check_snapshot(run_id)
            gateway = connect(self.deps, settings)
            settings = await self._check_rights(settings, gateway)
            observed, picklists = await self._observe_live(link, ticket_id, gateway)
            if (closed := observed.lost_completion()) is not None and settings.allow_resolve:
                # Backupchecks sent the completion and the ticket is closed: that answer was lost. Finish the record.
                return await self._record(attempt, observed, closed, completed_earlier=True)
            self._refuse_unless_resolvable(observed, settings, picklists, time_entries=observed.time_entries)
            noted = await self._closing_note(observed, ticket_id, gateway, settings, picklists)
            sending = await self._recount(noted, ticket_id, gateway, settings, picklists)
            status = await self._complete(sending, ticket_id, gateway, picklists)
            return await self._record(attempt, sending, status)

    async def _check_snapshot(self, run_id: str) -> tuple[TicketLink, int, AutotaskSettings]:
        """Refuse on the stored link what live facts cannot change (no ticket, deleted, switched off, busy). The link,
        its ticket's id and the settings."""
        async with self.deps.uow(read_only=True) as uow:
            link = await uow.tickets.get(run_id)
            settings = await uow.settings.get()
        reason = refused_on_snapshot(decide_resolve(link, may_resolve=True, allow_resolve=settings.allow_resolve), link)
        if reason is not None or link is None or link.ticket_id is None:  # the last two: refused above as no_ticket
            raise denied(reason or DenyReason.NO_TICKET)
        if link.note_in_flight(self.deps.clock.now(), self.stale_after_seconds):
            raise TicketBusy()
        return link, link.ticket_id, settings

    async def _check_rights(self, settings: AutotaskSettings, gateway: PsaGateway) -> AutotaskSettings:
        """Whether the API user sees every time entry, read again when the last reading is over an hour old (or
        there is none): a count of 0 proves "no time entries" only then."""
        if rights_stale(settings, self.deps.clock.now(), RIGHTS_RECHECK_SECONDS):
            try:
                settings = await observe_rights(self.deps, settings, gateway)
            except PsaError as error:
                raise psa_error(error).failed(stage="rights") from error
        if settings.time_entries_visible is False:
            raise denied(DenyReason.TIME_ENTRIES_UNVERIFIABLE)
        return settings

    async def _observe_live(
        self, link: TicketLink, ticket_id: int, gateway: PsaGateway
    ) -> tuple[TicketLink, Picklists]:
        """The ticket's live status and time entries, stored over the snapshot (unless someone changed it)."""
        try:
            observed = await observe(self.deps, gateway, link, ticket_id)
            picklists = await gateway.picklists()
        except PsaError as error:
            raise psa_error(error).failed(stage="check") from error
        if not await replace_link(self.deps, observed, link):
            raise TicketBusy()
        return observed, picklists

    @staticmethod
    def _refuse_unless_resolvable(
        link: TicketLink, settings: AutotaskSettings, picklists: Picklists, **details: int | None
    ) -> None:
        """The resolution policy on live facts (time entries, closed, deleted), then the closing note's settings."""
        reason = decide_resolve(link, may_resolve=True, allow_resolve=settings.allow_resolve).reason
        if reason is None and link.closing_note_id is None:
            reason = closing_note_refusal(settings, picklists)
        if reason is not None:
            raise denied(reason).noting(**details)

    async def _closing_note(
        self, link: TicketLink, ticket_id: int, gateway: PsaGateway, settings: AutotaskSettings, picklists: Picklists
    ) -> TicketLink:
        """Add the closing note once, internal. The attempt is claimed (compare-and-set) and committed before the
        call, and the call has a deadline shorter than a claim's life, so no concurrent resolve can add a second one.
        After an attempt whose outcome is unknown the note is looked up on the ticket instead of being added again,
        and while Autotask may still apply that attempt (ADR 0036: its send plus 300 s) it is only looked up: not
        found yet, the resolve answers `409 ticket_busy` and the attempt's time is kept."""
        if link.closing_note_id is not None:
            return link
        note = NoteDraft(
            CLOSING_NOTE_TITLE,
            CLOSING_NOTE,
            closing_note_type(settings.note_type_id, picklists),
            internal_publish(settings.note_publish_id, picklists),
        )
        now = self.deps.clock.now()
        sent_at = link.closing_note_claimed_at  # set on an idle link: a note POST Autotask may apply began then
        pending = sent_at is not None and (now - sent_at).total_seconds() < settle_seconds(self.stale_after_seconds)
        claimed = link.note_claimed(now)
        if link.note_in_flight(now, self.stale_after_seconds) or not await replace_link(self.deps, claimed, link):
            raise TicketBusy()
        try:
            note_id = await within(
                self.stale_after_seconds / 2, self._find_or_add(gateway, link, ticket_id, note, pending)
            )
        except PsaError as error:
            if not pending and isinstance(error, PsaUnavailable) and error.maybe_applied:
                sent_at = now  # this attempt's POST may have been sent: Autotask's window starts again
            await amend_link(self.deps, claimed, partial(TicketLink.note_released, claimed=claimed, sent_at=sent_at))
            raise psa_error(error).failed(stage="closing_note") from error
        if note_id is None:  # only looked up, and not there yet: Autotask may still apply the earlier POST
            await amend_link(self.deps, claimed, partial(TicketLink.note_released, claimed=claimed, sent_at=sent_at))
            raise self._note_pending(now, sent_at)
        noted = await amend_link(
            self.deps, claimed, partial(TicketLink.note_recorded, claimed=claimed, note_id=note_id)
        )
        if not isinstance(noted, Stored):
            raise TicketBusy()
        return noted.link

    async def _recount(
        self, noted: TicketLink, ticket_id: int, gateway: PsaGateway, settings: AutotaskSettings, picklists: Picklists
    ) -> TicketLink:
        """Time may have been logged while the note was added: count once more right before closing, and claim the
        completion (so a lost answer can be finished later)."""
        try:
            entries = await gateway.count_time_entries(ticket_id)
        except PsaError as error:
            raise psa_error(error).failed(stage="complete") from error
        if entries:
            await amend_link(self.deps, noted, partial(TicketLink.recounted, time_entries=entries))
            self._refuse_unless_resolvable(
                replace(noted, time_entries=entries),
                settings,
                picklists,
                time_entries=entries,
                closing_note_id=noted.closing_note_id,
            )
        sending = await amend_link(
            self.deps, noted, partial(TicketLink.completion_claimed, note_id=noted.closing_note_id)
        )
        if not isinstance(sending, Stored):
            raise TicketBusy()
        return sending.link

    async def _complete(
        self, sending: TicketLink, ticket_id: int, gateway: PsaGateway, picklists: Picklists
    ) -> TicketStatus:
        """Set the status to Complete, within half the stale timeout. No read after the PATCH: Autotask answered that
        it set exactly this status (resolve costs 5 requests)."""
        try:
            await within(self.stale_after_seconds / 2, gateway.complete_ticket(ticket_id, STATUS_COMPLETE))
        except PsaError as error:
            if not (isinstance(error, PsaUnavailable) and error.maybe_applied):  # surely not completed
                await amend_link(self.deps, sending, partial(TicketLink.completion_sending, sent=False))
            raise psa_error(error).failed(stage="complete", closing_note_id=sending.closing_note_id) from error
        return TicketStatus(STATUS_COMPLETE, picklists.status_label(STATUS_COMPLETE), self.deps.clock.now())

    async def _record(self, attempt: Attempt, link: TicketLink, status: TicketStatus, **details: bool) -> TicketLink:
        """Record the resolution and its audit record in one transaction."""

        async def log(uow: UnitOfWork) -> None:
            await attempt.record(
                uow, Outcome.OK, ticket_id=link.ticket_id, closing_note_id=link.closing_note_id, **details
            )

        resolution = partial(
            TicketLink.resolution, actor=attempt.actor.name, status=status, note_id=link.closing_note_id
        )
        resolved = await amend_link(self.deps, link, resolution, log)
        if not isinstance(resolved, Stored):
            raise TicketBusy().failed(ticket_id=link.ticket_id)
        return resolved.link

    @staticmethod
    async def _find_or_add(
        gateway: PsaGateway, link: TicketLink, ticket_id: int, note: NoteDraft, pending: bool
    ) -> int | None:
        """The note an earlier attempt added, else a new one; None when an earlier attempt may still be applied
        (`pending`) and the note is not there yet."""
        found = await gateway.find_ticket_note(ticket_id, note.description) if link.closing_note_attempted else None
        if found is not None or pending:
            return found
        return await gateway.add_ticket_note(ticket_id, note)

    def _note_pending(self, now: datetime, sent_at: datetime | None) -> TicketBusy:
        """409 ticket_busy while an earlier note POST may still be applied, saying when to try again."""
        waited = 0.0 if sent_at is None else (now - sent_at).total_seconds()
        wait = math.ceil(settle_seconds(self.stale_after_seconds) - waited)
        return TicketBusy(f"Autotask may still add the closing note sent earlier; try again in {wait} s.").failed(
            stage="closing_note"
        )
