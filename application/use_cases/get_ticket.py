"""A run's ticket link with its resolve eligibility; optionally re-read from Autotask first."""

from __future__ import annotations

from dataclasses import dataclass

from application.errors import NotFound
from application.ports import PsaError, PsaGateway
from application.use_cases.common import Deps, UseCase, authorize, connect, psa_error, replace_link
from domain.roles import Actor, Permission
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
    return link.observed(TicketStatus(facts.status, labels.status_label(facts.status), deps.clock.now()), entries)


class GetTicket(UseCase):
    async def execute(self, actor: Actor, run_id: str, *, refresh: bool = False) -> TicketView:
        await authorize(self.deps, actor, Permission.VIEW_RUNS, "ticket.get", ("run", run_id))
        async with self.deps.uow() as uow:
            link = await uow.tickets.get(run_id)
            settings = await uow.settings.get()
        if link is None:
            raise NotFound("no_ticket", "This run has no Autotask ticket.")
        if refresh and link.state in (LinkState.LINKED, LinkState.RESOLVED):
            try:
                observed = await observe(self.deps, connect(self.deps, settings), link)
            except PsaError as error:
                raise psa_error(error) from error
            if await replace_link(self.deps, observed, link):
                link = observed
        may = actor.may(Permission.MANAGE_TICKETS)
        return TicketView(link, decide_resolve(link, may_resolve=may, allow_resolve=settings.allow_resolve))
