"""A run's ticket link with its resolve eligibility; optionally re-read from Autotask first."""

from __future__ import annotations

from dataclasses import dataclass

from application.errors import NotFound, UseCaseError
from application.ports import PsaError, PsaGateway, UnitOfWork
from application.use_cases.common import Deps, UseCase, amend_link, audit, authorize, connect, psa_error, refuse
from domain.audit import Outcome
from domain.picklists import closing_note_refusal
from domain.roles import Actor, Permission
from domain.settings import AutotaskSettings
from domain.tickets import LinkState, ResolveDecision, TicketLink, TicketStatus, decide_resolve


@dataclass(frozen=True, slots=True)
class TicketView:
    link: TicketLink
    resolve: ResolveDecision


async def observe(deps: Deps, gateway: PsaGateway, link: TicketLink) -> TicketLink:
    """The link with the ticket's live status and time-entry count, or marked deleted when Autotask has it no more."""
    assert link.ticket_id is not None
    facts = await gateway.get_ticket(link.ticket_id)
    if facts is None:
        return link.gone()
    entries = await gateway.count_time_entries(link.ticket_id)
    labels = await gateway.picklists()
    return link.observed(TicketStatus(facts.status, labels.status_label(facts.status), deps.clock.now()), entries,
                         facts.ticket_number, facts.url)


class GetTicket(UseCase):
    async def execute(self, actor: Actor, run_id: str, *, refresh: bool = False) -> TicketView:
        """`refresh` re-reads status and time entries from Autotask (spending API calls and changing the stored
        snapshot, so it takes the ticket permission and is audited); a link once marked deleted comes back if
        Autotask shows the ticket again."""
        deps, target = self.deps, ("run", run_id)
        await authorize(deps, actor, Permission.MANAGE_TICKETS if refresh else Permission.VIEW_RUNS,
                        "ticket.refresh" if refresh else "ticket.get", target)
        async with deps.uow(read_only=True) as uow:
            link = await uow.tickets.get(run_id)
            settings = await uow.settings.get()
        if link is None:
            raise NotFound("no_ticket", "This run has no Autotask ticket.")
        if refresh and link.state is not LinkState.PENDING and link.ticket_id is not None:
            link = await self._refresh(actor, link, settings)
        may = actor.may(Permission.MANAGE_TICKETS)
        decision = decide_resolve(link, may_resolve=may, allow_resolve=settings.allow_resolve)
        if decision.allowed and link.closing_note_id is None:
            decision = await self._note_check(settings, decision)
        return TicketView(link, decision)

    async def _note_check(self, settings: AutotaskSettings, decision: ResolveDecision) -> ResolveDecision:
        """Whether the closing note can be added (a usable note type, an internal publish value), from the tenant's
        picklists (cached by the connector). Unknowable now (Autotask unreachable): the resolve click checks again."""
        try:
            picklists = await connect(self.deps, settings).picklists()
        except (UseCaseError, PsaError):
            return decision
        reason = closing_note_refusal(settings, picklists)
        return decision if reason is None else ResolveDecision(False, reason)

    async def _refresh(self, actor: Actor, link: TicketLink, settings: AutotaskSettings) -> TicketLink:
        deps, action, target = self.deps, "ticket.refresh", ("run", link.run_id)
        try:
            observed = await observe(deps, connect(deps, settings), link)
        except UseCaseError as error:
            await refuse(deps, actor, action, target, error)
        except PsaError as error:
            await refuse(deps, actor, action, target, psa_error(error), Outcome.FAILED)

        async def log(uow: UnitOfWork, stored: bool = True) -> None:
            await audit(uow, deps, actor, action, target, Outcome.OK, state=observed.state.value,
                        status=observed.status.value if observed.status else None,
                        time_entries=observed.time_entries, stored=stored)

        refreshed = await amend_link(deps, link, lambda current: observed if current.version == link.version else None,
                                     log, attempts=1)
        if refreshed is not None:
            return refreshed
        async with deps.uow() as uow:  # someone changed the link meanwhile: answer what is stored now
            current = await uow.tickets.get(link.run_id)
            await log(uow, stored=False)
            await uow.commit()
        return current or link
