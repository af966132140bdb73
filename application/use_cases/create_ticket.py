"""Create the one Autotask ticket of a run, exactly once (docs/adr/0002-exactly-one-ticket-per-run.md).

1. Reserve: a pending link for the run is committed first; the storage's unique run id lets one caller win.
2. Create in Autotask with the run's `externalID`, outside any transaction.
3. Record: linked on success; reservation released when Autotask surely created nothing; kept and marked ambiguous
   when the outcome is unknown.
4. Before any new attempt on an ambiguous or stale reservation, look the `externalID` up in Autotask: a ticket found is
   linked, never created again. One caller at a time does that look-up (`reconcile`); the others answer what is stored.
   A reservation is retaken only once Autotask can no longer apply its attempt (`attempt_settled`: the send deadline
   plus Autotask's 300 s processing window), right after a look-up found nothing (ADR 0034).

Steps of `execute`: load → refuse (domain.draft.ticket_refusal) → reconcile an earlier attempt → reserve or retake →
send → record."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from application.attempts import Attempt
from application.deps import Deps
from application.errors import LinkChanged, StorageUnavailable, UseCaseError
from application.ports import PsaError, PsaGateway, PsaUnavailable
from application.psa_connection import connect, psa_error, within
from application.reconciliation import (
    STALE_AFTER_SECONDS,
    Busy,
    NothingFound,
    TicketFound,
    attempt_settled,
    reconcile,
)
from application.ticket_drafts import Loaded, load, refusal_error, ticket_draft
from application.ticket_links import recorded, replace_link, stored
from domain.audit import Outcome
from domain.draft import TicketDraft, ticket_refusal
from domain.roles import Actor, Permission
from domain.tickets import LinkState, TicketLink

ACTION = "ticket.create"
LOGGER = logging.getLogger("backupchecks.tickets")


class Created(StrEnum):
    CREATED = "created"
    """This call created the ticket (HTTP 201)."""
    EXISTING = "existing"
    """The run already had its ticket (HTTP 200)."""
    PENDING = "pending"
    """Another call is creating it, or its outcome is being reconciled (HTTP 202)."""


@dataclass(frozen=True, slots=True)
class CreateTicketResult:
    link: TicketLink
    outcome: Created


def _settled(link: TicketLink) -> CreateTicketResult:
    return CreateTicketResult(link, Created.PENDING if link.state is LinkState.PENDING else Created.EXISTING)


class CreateTicket:
    def __init__(
        self, deps: Deps, *, stale_after_seconds: float = STALE_AFTER_SECONDS, base_url: str | None = None
    ) -> None:
        self.deps = deps
        self.stale_after_seconds = stale_after_seconds
        self.base_url = base_url
        """This service's public URL (BACKUPCHECKS_BASE_URL): the run reference when the settings name none."""

    async def execute(self, actor: Actor, run_id: str) -> CreateTicketResult:
        async with Attempt(self.deps, actor, ACTION, ("run", run_id)) as attempt:
            attempt.authorize(Permission.MANAGE_TICKETS)
            loaded = await load(self.deps, run_id)
            link = loaded.link
            if link is not None and link.state is not LinkState.PENDING:
                return CreateTicketResult(link, Created.EXISTING)
            refusal = ticket_refusal(loaded.run, loaded.mapping, loaded.settings)
            gateway = self._connect(loaded)
            if link is not None and (link.ambiguous or self._stale(link)):
                # An earlier attempt's ticket may exist: link it whatever has changed since (it must not be orphaned).
                match await reconcile(attempt, link, gateway, self.stale_after_seconds):
                    case TicketFound(found):
                        return CreateTicketResult(found, Created.EXISTING)
                    case NothingFound(TicketLink() as released):
                        link = released
                    case Busy(current) | NothingFound(current):  # another caller's: answer what is stored
                        return _settled(current or link)
            if refusal is not None:
                raise refusal_error(refusal, loaded).noting(customer_id=loaded.run.customer_id)
            draft = ticket_draft(self.deps, loaded, self.base_url)
            reserved = await self._reserve_or_retake(attempt, run_id, link, draft)
            if not isinstance(reserved, TicketLink):
                return reserved
            ticket_id = await self._send(attempt, reserved, draft, gateway)
            return await self._record(attempt, reserved, ticket_id, gateway)

    def _connect(self, loaded: Loaded) -> PsaGateway:
        try:
            return connect(self.deps, loaded.settings)
        except UseCaseError as error:
            raise error.noting(customer_id=loaded.run.customer_id) from None

    def _stale(self, link: TicketLink) -> bool:
        return link.stale(self.deps.clock.now(), self.stale_after_seconds)

    async def _reserve_or_retake(
        self, attempt: Attempt, run_id: str, link: TicketLink | None, draft: TicketDraft
    ) -> TicketLink | CreateTicketResult:
        """The link this call may create the ticket for: a new reservation, or a stale one retaken. Otherwise the
        answer for the caller (another call holds it)."""
        now = self.deps.clock.now()
        if link is None:
            reservation = TicketLink.reserve(run_id, draft.external_id, attempt.actor.name, now)
            async with self.deps.uow() as uow:
                if await uow.tickets.reserve(reservation):
                    await uow.commit()
                    return reservation
                current = await uow.tickets.get(run_id)
            return _settled(current or reservation)
        if not attempt_settled(link, now, self.stale_after_seconds):  # in flight, or Autotask may still apply it: wait
            return CreateTicketResult(link, Created.PENDING)
        retaken = link.retaken(attempt.actor.name, now)
        if not await replace_link(self.deps, retaken, link):
            return _settled(await stored(self.deps, link) or link)  # someone else moved the link on first
        return retaken

    async def _send(self, attempt: Attempt, link: TicketLink, draft: TicketDraft, gateway: PsaGateway) -> int:
        """Create, within half the stale timeout: no other caller retakes the reservation until that deadline and
        Autotask's processing window after it have passed. A failure keeps the reservation (ambiguous) when the ticket
        may exist, else releases it."""
        try:
            return await within(self.stale_after_seconds / 2, gateway.create_ticket(draft))
        except PsaError as error:
            maybe_created = isinstance(error, PsaUnavailable) and error.maybe_applied
            async with self.deps.uow() as uow:
                if maybe_created:
                    await uow.tickets.update(link.outcome_unknown(), link.version)
                else:
                    await uow.tickets.release(link.run_id, link.version)
                failure = await attempt.record_failure(
                    uow, psa_error(error).noting(attempt=link.attempt, outcome_unknown=maybe_created)
                )
                await uow.commit()
            raise failure from error

    async def _link(self, attempt: Attempt, link: TicketLink, new: TicketLink) -> bool:
        """Store the link to the ticket Autotask created, with its audit record. When the database does not answer,
        the log names the run and the ticket (the audit log lives in that database); the reservation stays, so the
        next create or ticket refresh finds the ticket by its `externalID` and links it, audited `reconciled`."""
        try:
            async with self.deps.uow() as uow:
                done = await uow.tickets.update(new, link.version)
                if done:
                    await attempt.record(
                        uow,
                        ticket_id=new.ticket_id,
                        state=new.state.value,
                        ticket_number=new.ticket_number,
                        reconciled=False,
                        attempt=link.attempt,
                    )
                    await uow.commit()
                return done
        except StorageUnavailable:
            LOGGER.warning(
                "ticket %s (%s) was created in Autotask for run %s but the database did not answer: not recorded yet,"
                " the next create or ticket refresh links it by its externalID",
                new.ticket_id,
                new.ticket_number,
                link.run_id,
            )
            raise

    async def _record(
        self, attempt: Attempt, link: TicketLink, ticket_id: int, gateway: PsaGateway
    ) -> CreateTicketResult:
        """Link the ticket Autotask holds. If its facts cannot be read now, the reservation stays ambiguous but keeps
        the ticket id, so the next call reads that ticket instead of creating one; a ticket Autotask no longer has
        leaves the link `deleted` (never a second ticket)."""
        try:
            facts = await gateway.get_ticket(ticket_id)
            labels = await gateway.picklists()
        except PsaError as error:
            async with self.deps.uow() as uow:
                await uow.tickets.update(link.created_unread(ticket_id), link.version)
                failure = await attempt.record_failure(uow, psa_error(error).noting(ticket_id=ticket_id))
                await uow.commit()
            raise failure from error
        new = recorded(link, ticket_id, facts, labels, self.deps.clock.now())
        if await self._link(attempt, link, new):
            return CreateTicketResult(new, Created.CREATED)
        current = await stored(self.deps, link)
        if current is None or current.ticket_id != ticket_id:
            # Someone else moved the link on to something else meanwhile: the ticket may need a person's look.
            async with self.deps.uow() as uow:
                await attempt.record(
                    uow, Outcome.FAILED, code=LinkChanged.code, ticket_id=ticket_id, attempt=link.attempt
                )
                await uow.commit()
        return _settled(current or link)
