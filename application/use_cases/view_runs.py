"""Runs as the Run Checks page shows them: with the customer's name, the ticket link and what the caller may do."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, TypeAlias

from application.attempts import Attempt
from application.deps import UseCase
from application.duplicate_tickets import duplicate_ticket_ids
from application.errors import RunNotFound
from application.ports import RunQuery, UnitOfWork
from domain.draft import TicketRefusal, ticket_refusal
from domain.mapping import CompanyMapping
from domain.roles import Actor, Permission
from domain.runs import Run
from domain.settings import AutotaskSettings
from domain.tickets import DenyReason, LinkState, TicketLink, decide_resolve

CreateBlocked: TypeAlias = Literal["forbidden", "integration_disabled"] | TicketRefusal
"""Every reason a ticketless run offers no create: the codes of Forbidden, NotConfigured and each TicketRefusal (a
closed set, so a page that words them is checked for a missing one by mypy)."""


@dataclass(frozen=True, slots=True)
class RunView:
    run: Run
    customer_name: str
    ticket: TicketLink | None
    actions: tuple[str, ...]
    resolve_blocked_reason: DenyReason | None
    create_blocked_reason: CreateBlocked | None = None
    """Why no ticket can be created for this ticketless run (`forbidden`, `integration_disabled`, `mapping_missing`,
    `mapping_invalid`, `run_not_ticketable`, `ticket_settings_incomplete`), so the page can say so before anyone
    clicks."""
    duplicate_ticket_ids: tuple[int, ...] = ()
    """Every ticket Autotask holds with this run's `externalID`, when it holds more than one (only the run's own view
    reads them; docs/adr/0034-late-applied-creates.md)."""


def create_blocked(
    actor: Actor, run: Run, mapping: CompanyMapping | None, settings: AutotaskSettings
) -> CreateBlocked | None:
    """The code of the refusal CreateTicket would give (the same rule: domain.draft.ticket_refusal), or None."""
    if not actor.may(Permission.MANAGE_TICKETS):
        return "forbidden"
    if not settings.enabled or not settings.has_credentials:
        return "integration_disabled"
    return ticket_refusal(run, mapping, settings)


def run_view(
    actor: Actor,
    run: Run,
    customer_name: str,
    mapping: CompanyMapping | None,
    link: TicketLink | None,
    settings: AutotaskSettings,
) -> RunView:
    """The run with what the caller may do now, and why creating or resolving is not offered."""
    actions: list[str] = []
    create_reason = create_blocked(actor, run, mapping, settings) if link is None else None
    if link is None and create_reason is None:
        actions.append("create_ticket")
    if link is not None and link.url and link.state in (LinkState.LINKED, LinkState.RESOLVED):
        actions.append("open_ticket")
    resolve_reason = None
    if link is not None and link.state is not LinkState.PENDING:
        decision = decide_resolve(
            link,
            may_resolve=actor.may(Permission.MANAGE_TICKETS),
            allow_resolve=settings.allow_resolve,
            time_entries_visible=settings.time_entries_visible,
        )
        if decision.allowed:
            actions.append("resolve_ticket")
        resolve_reason = decision.reason
    return RunView(run, customer_name, link, tuple(actions), resolve_reason, create_reason)


async def _views(uow: UnitOfWork, actor: Actor, runs: list[Run], settings: AutotaskSettings | None) -> list[RunView]:
    """A constant number of statements whatever the number of runs: settings (unless given), then links, customers
    and mappings in one query each."""
    settings = await uow.settings.get() if settings is None else settings
    links = await uow.tickets.get_many([r.id for r in runs])
    customer_ids = sorted({r.customer_id for r in runs})
    customers = await uow.customers.get_many(customer_ids)
    mappings = await uow.mappings.get_many(customer_ids)
    views = []
    for run in runs:
        customer = customers.get(run.customer_id)
        views.append(
            run_view(
                actor,
                run,
                customer.name if customer else run.customer_id,
                mappings.get(run.customer_id),
                links.get(run.id),
                settings,
            )
        )
    return views


class ListRuns(UseCase):
    async def execute(self, actor: Actor, query: RunQuery, settings: AutotaskSettings | None = None) -> list[RunView]:
        """`settings`: as the caller read them this request (a web page's session check), else read here."""
        await Attempt(self.deps, actor, "run.list", ("runs", "*")).authorized(Permission.VIEW_RUNS)
        async with self.deps.uow(read_only=True) as uow:
            return await _views(uow, actor, await uow.runs.query(query), settings)


class GetRun(UseCase):
    async def execute(self, actor: Actor, run_id: str, settings: AutotaskSettings | None = None) -> RunView:
        """`settings` as ListRuns'."""
        await Attempt(self.deps, actor, "run.get", ("run", run_id)).authorized(Permission.VIEW_RUNS)
        async with self.deps.uow(read_only=True) as uow:
            run = await uow.runs.get(run_id)
            if run is None:
                raise RunNotFound(run_id)
            view = (await _views(uow, actor, [run], settings))[0]
            if view.ticket is None or view.ticket.attempt < 2:  # only a retaken reservation can make a second one
                return view
            return replace(view, duplicate_ticket_ids=await duplicate_ticket_ids(uow, run_id))
