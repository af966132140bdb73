"""Create the one Autotask ticket of a run, exactly once (docs/adr/0002-exactly-one-ticket-per-run.md).

1. Reserve: a pending link for the run is committed first; the storage's unique run id lets one caller win.
2. Create in Autotask with the run's `externalID`, outside any transaction.
3. Record: linked on success; reservation released when Autotask surely created nothing; kept and marked ambiguous
   when the outcome is unknown.
4. Before any new attempt on an ambiguous or stale reservation, look the `externalID` up in Autotask: a ticket found is
   linked, never created again. One caller at a time does that look-up (`reconcile`); the others answer what is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from application.errors import Conflict, NotFound, UseCaseError
from application.ports import PsaError, PsaGateway, PsaUnavailable
from application.use_cases.common import Deps, audit, authorize, connect, psa_error, refuse, replace_link, within
from application.use_cases.reconcile import Found, reconcile, recorded, stored
from domain.audit import Outcome
from domain.draft import TicketDraft, build_ticket_draft, missing_ticket_settings
from domain.mapping import MappingStatus
from domain.roles import Actor, Permission
from domain.tickets import LinkState, TicketLink

ACTION = "ticket.create"


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
    def __init__(self, deps: Deps, *, stale_after_seconds: float = 120.0, base_url: str | None = None) -> None:
        self.deps = deps
        self.stale_after_seconds = stale_after_seconds
        self.base_url = base_url
        """This service's public URL (BACKUPCHECKS_BASE_URL): the run reference when the settings name none."""

    async def execute(self, actor: Actor, run_id: str) -> CreateTicketResult:
        deps, target = self.deps, ("run", run_id)
        await authorize(deps, actor, Permission.MANAGE_TICKETS, ACTION, target)
        async with deps.uow(read_only=True) as uow:
            run = await uow.runs.get(run_id)
            link = await uow.tickets.get(run_id)
            settings = await uow.settings.get()
            customer = await uow.customers.get(run.customer_id) if run else None
            mapping = await uow.mappings.get(run.customer_id) if run else None
        if run is None or customer is None:
            await refuse(deps, actor, ACTION, target, NotFound("run_not_found", f"No run has ID {run_id!r}."))
        if link is not None and link.state is not LinkState.PENDING:
            return CreateTicketResult(link, Created.EXISTING)
        refusal: UseCaseError | None = None
        if mapping is None or mapping.status is MappingStatus.MISSING:
            refusal = Conflict("mapping_missing", "Map this customer to an Autotask company first.")
        elif mapping.status is MappingStatus.INVALID:
            refusal = Conflict("mapping_invalid", mapping.status_reason or "The customer's mapping is invalid.")
        elif not run.status.ticketable:
            refusal = Conflict("run_not_ticketable", "Tickets are created for warning, error and missed runs only.")
        elif missing := missing_ticket_settings(settings, run.status):
            refusal = Conflict("ticket_settings_incomplete", "Autotask would refuse the ticket: set "
                                                            f"{', '.join(missing)} in the Autotask settings first.")
        try:
            gateway = connect(deps, settings)
        except UseCaseError as error:
            await refuse(deps, actor, ACTION, target, error, customer_id=run.customer_id)
        now = deps.clock.now()
        stale = link is not None and link.stale(now, self.stale_after_seconds)
        if link is not None and (link.ambiguous or stale):
            # An earlier attempt's ticket may exist: link it whatever has changed since (it must not be orphaned).
            found = await reconcile(deps, actor, ACTION, link, gateway, self.stale_after_seconds)
            if found.found is Found.TICKET and found.link is not None:
                return CreateTicketResult(found.link, Created.EXISTING)
            if found.found is Found.BUSY or found.link is None:  # another caller's: answer what is stored
                return _settled(found.link or link)
            link = found.link
        if refusal is not None:
            await refuse(deps, actor, ACTION, target, refusal, customer_id=run.customer_id)
        assert mapping is not None
        base_url = settings.backupchecks_base_url or self.base_url
        draft = build_ticket_draft(run, customer, mapping, replace(settings, backupchecks_base_url=base_url), now)

        if link is None:
            reservation = TicketLink.reserve(run_id, draft.external_id, actor.name, now)
            async with deps.uow() as uow:
                won = await uow.tickets.reserve(reservation)
                if won:
                    await uow.commit()
                else:
                    current = await uow.tickets.get(run_id)
            if not won:
                return _settled(current or reservation)
            return await self._create(actor, reservation, draft, gateway)
        if not stale:  # in flight, or a create that timed out and may still land in Autotask: wait
            return CreateTicketResult(link, Created.PENDING)
        retaken = link.retaken(actor.name, now)
        if not await replace_link(deps, retaken, link):
            return await self._current(link)
        return await self._create(actor, retaken, draft, gateway)

    async def _current(self, link: TicketLink) -> CreateTicketResult:
        """Someone else moved the link on first: answer with what it is now."""
        return _settled(await stored(self.deps, link) or link)

    async def _create(self, actor: Actor, link: TicketLink, draft: TicketDraft,
                      gateway: PsaGateway) -> CreateTicketResult:
        deps, target = self.deps, ("run", link.run_id)
        try:
            ticket_id = await self._send(gateway, draft)
        except PsaError as error:
            maybe_created = isinstance(error, PsaUnavailable) and error.maybe_applied
            async with deps.uow() as uow:
                if maybe_created:
                    await uow.tickets.update(link.outcome_unknown(), link.version)
                else:
                    await uow.tickets.release(link.run_id, link.version)
                failure = psa_error(error)
                await audit(uow, deps, actor, ACTION, target, Outcome.FAILED, code=failure.code,
                            message=failure.message, attempt=link.attempt, outcome_unknown=maybe_created)
                await uow.commit()
            raise failure from error
        return await self._record(actor, link, ticket_id, gateway)

    async def _send(self, gateway: PsaGateway, draft: TicketDraft) -> int:
        """Create, within half the stale timeout: no other caller may retake the reservation while this attempt
        can still land in Autotask."""
        return await within(self.stale_after_seconds / 2, gateway.create_ticket(draft))

    async def _record(self, actor: Actor, link: TicketLink, ticket_id: int,
                      gateway: PsaGateway) -> CreateTicketResult:
        """Link the ticket Autotask holds. If its facts cannot be read now, the reservation stays ambiguous but keeps
        the ticket id, so the next call reads that ticket instead of creating one; a ticket Autotask no longer has
        leaves the link `deleted` (never a second ticket)."""
        deps, target = self.deps, ("run", link.run_id)
        try:
            facts = await gateway.get_ticket(ticket_id)
            labels = await gateway.picklists()
        except PsaError as error:
            failure = psa_error(error)
            async with deps.uow() as uow:
                await uow.tickets.update(link.created_unread(ticket_id), link.version)
                await audit(uow, deps, actor, ACTION, target, Outcome.FAILED, code=failure.code,
                            message=failure.message, ticket_id=ticket_id)
                await uow.commit()
            raise failure from error
        new = recorded(link, ticket_id, facts, labels, deps)
        async with deps.uow() as uow:
            done = await uow.tickets.update(new, link.version)
            if done:
                await audit(uow, deps, actor, ACTION, target, Outcome.OK, ticket_id=ticket_id, state=new.state.value,
                            ticket_number=new.ticket_number, reconciled=False, attempt=link.attempt)
                await uow.commit()
        if done:
            return CreateTicketResult(new, Created.CREATED)
        current = await stored(deps, link)
        if current is None or current.ticket_id != ticket_id:
            # Someone else moved the link on to something else meanwhile: the ticket may need a person's look.
            async with deps.uow() as uow:
                await audit(uow, deps, actor, ACTION, target, Outcome.FAILED, code="link_changed",
                            ticket_id=ticket_id, attempt=link.attempt)
                await uow.commit()
        return _settled(current or link)
