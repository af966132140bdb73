"""A run's ticket link with its resolve eligibility; optionally re-read from Autotask first."""

from __future__ import annotations

from dataclasses import dataclass

from application.attempts import Attempt
from application.deps import UseCase
from application.errors import NoTicket, UseCaseError
from application.ports import PsaError, UnitOfWork
from application.psa_connection import connect, psa_error
from application.ticket_links import observe, replace_link
from domain.picklists import closing_note_refusal
from domain.roles import Actor, Permission
from domain.settings import AutotaskSettings
from domain.tickets import LinkState, ResolveDecision, TicketLink, decide_resolve


@dataclass(frozen=True, slots=True)
class TicketView:
    link: TicketLink
    resolve: ResolveDecision


class GetTicket(UseCase):
    async def execute(self, actor: Actor, run_id: str, *, refresh: bool = False) -> TicketView:
        """`refresh` re-reads status and time entries from Autotask (spending API calls and changing the stored
        snapshot, so it takes the ticket permission and is audited); a link once marked deleted comes back if
        Autotask shows the ticket again."""
        attempt = Attempt(self.deps, actor, "ticket.refresh" if refresh else "ticket.get", ("run", run_id))
        await attempt.authorized(Permission.MANAGE_TICKETS if refresh else Permission.VIEW_RUNS)
        async with self.deps.uow(read_only=True) as uow:
            link = await uow.tickets.get(run_id)
            settings = await uow.settings.get()
        if link is None:
            raise NoTicket()  # not audited: reading is not an attempt at anything
        if refresh and link.state is not LinkState.PENDING and (ticket_id := link.ticket_id) is not None:
            async with attempt:
                link = await self._refresh(attempt, link, ticket_id, settings)
        may = actor.may(Permission.MANAGE_TICKETS)
        decision = decide_resolve(
            link,
            may_resolve=may,
            allow_resolve=settings.allow_resolve,
            time_entries_visible=settings.time_entries_visible,
        )
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

    async def _refresh(
        self, attempt: Attempt, link: TicketLink, ticket_id: int, settings: AutotaskSettings
    ) -> TicketLink:
        deps = self.deps
        try:
            observed = await observe(deps, connect(deps, settings), link, ticket_id)
        except PsaError as error:
            raise psa_error(error) from error

        async def log(uow: UnitOfWork, stored: bool = True) -> None:
            await attempt.record(
                uow,
                state=observed.state.value,
                status=observed.status.value if observed.status else None,
                time_entries=observed.time_entries,
                stored=stored,
            )

        if await replace_link(deps, observed, link, log):
            return observed
        async with deps.uow() as uow:  # someone changed the link meanwhile: answer what is stored now
            current = await uow.tickets.get(link.run_id)
            await log(uow, stored=False)
            await uow.commit()
        return current or link
