"""Runs as the Run Checks page shows them: with the customer's name, the ticket link and what the caller may do."""

from __future__ import annotations

from dataclasses import dataclass

from application.errors import NotFound
from application.ports import RunQuery, UnitOfWork
from application.use_cases.common import UseCase, authorize
from domain.mapping import CompanyMapping
from domain.roles import Actor, Permission
from domain.runs import Customer, Run
from domain.settings import AutotaskSettings
from domain.tickets import DenyReason, LinkState, TicketLink, decide_resolve


@dataclass(frozen=True, slots=True)
class RunView:
    run: Run
    customer_name: str
    ticket: TicketLink | None
    actions: tuple[str, ...]
    resolve_blocked_reason: DenyReason | None


def run_actions(actor: Actor, run: Run, mapping: CompanyMapping | None, link: TicketLink | None,
                settings: AutotaskSettings) -> tuple[tuple[str, ...], DenyReason | None]:
    """What the caller may do with this run now, and why resolving is not offered (when there is a ticket)."""
    actions: list[str] = []
    may_manage = actor.may(Permission.MANAGE_TICKETS)
    if (link is None and may_manage and settings.enabled and run.status.ticketable
            and mapping is not None and not mapping.blocks_tickets):
        actions.append("create_ticket")
    if link is not None and link.url and link.state in (LinkState.LINKED, LinkState.RESOLVED):
        actions.append("open_ticket")
    reason = None
    if link is not None and link.state is not LinkState.PENDING:
        decision = decide_resolve(link, may_resolve=may_manage, allow_resolve=settings.allow_resolve)
        if decision.allowed:
            actions.append("resolve_ticket")
        reason = decision.reason
    return tuple(actions), reason


async def _views(uow: UnitOfWork, actor: Actor, runs: list[Run]) -> list[RunView]:
    settings = await uow.settings.get()
    links = await uow.tickets.get_many([r.id for r in runs])
    customers: dict[str, Customer | None] = {}
    mappings: dict[str, CompanyMapping | None] = {}
    for customer_id in {r.customer_id for r in runs}:
        customers[customer_id] = await uow.customers.get(customer_id)
        mappings[customer_id] = await uow.mappings.get(customer_id)
    views = []
    for run in runs:
        customer = customers[run.customer_id]
        link = links.get(run.id)
        actions, reason = run_actions(actor, run, mappings[run.customer_id], link, settings)
        views.append(RunView(run, customer.name if customer else run.customer_id, link, actions, reason))
    return views


class ListRuns(UseCase):
    async def execute(self, actor: Actor, query: RunQuery) -> list[RunView]:
        await authorize(self.deps, actor, Permission.VIEW_RUNS, "run.list", ("runs", "*"))
        async with self.deps.uow() as uow:
            return await _views(uow, actor, await uow.runs.query(query))


class GetRun(UseCase):
    async def execute(self, actor: Actor, run_id: str) -> RunView:
        await authorize(self.deps, actor, Permission.VIEW_RUNS, "run.get", ("run", run_id))
        async with self.deps.uow() as uow:
            run = await uow.runs.get(run_id)
            if run is None:
                raise NotFound("run_not_found", f"No run has ID {run_id!r}.")
            return (await _views(uow, actor, [run]))[0]
