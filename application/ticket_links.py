"""Amendments of a stored ticket link (compare-and-set on its version, re-read and re-applied when someone else wrote
first) and what a live read of its ticket makes of it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from application.deps import Deps
from application.ports import PsaGateway, TicketFacts, UnitOfWork
from domain.picklists import Picklists
from domain.tickets import TicketLink, TicketStatus


async def amend_link(
    deps: Deps,
    link: TicketLink,
    change: Callable[[TicketLink], TicketLink | None],
    on_stored: Callable[[UnitOfWork], Awaitable[None]] | None = None,
    attempts: int = 5,
) -> TicketLink | None:
    """Apply `change` to the stored link by compare-and-set; when someone else wrote first, re-read and apply it to
    what is stored now. `on_stored` writes in the same transaction (the audit record of the change). None when
    `change` no longer applies (it answers None) or the link is gone."""
    current: TicketLink | None = link
    for _ in range(attempts):
        if current is None or (new := change(current)) is None:
            return None
        async with deps.uow() as uow:
            if await uow.tickets.update(new, current.version):
                if on_stored is not None:
                    await on_stored(uow)
                await uow.commit()
                return new
            current = await uow.tickets.get(link.run_id)
    return None


async def replace_link(deps: Deps, new: TicketLink, old: TicketLink) -> bool:
    """Store `new` over `old` in its own transaction, unless someone changed the link since `old` was read."""
    return await amend_link(deps, old, lambda _: new, attempts=1) is not None


async def stored(deps: Deps, link: TicketLink) -> TicketLink | None:
    """The link of `link`'s run as stored now."""
    async with deps.uow(read_only=True) as uow:
        return await uow.tickets.get(link.run_id)


async def observe(deps: Deps, gateway: PsaGateway, link: TicketLink) -> TicketLink:
    """The link with the ticket's live status and time-entry count, or marked deleted when Autotask has it no more."""
    assert link.ticket_id is not None
    facts = await gateway.get_ticket(link.ticket_id)
    if facts is None:
        return link.gone()
    entries = await gateway.count_time_entries(link.ticket_id)
    labels = await gateway.picklists()
    return link.observed(
        TicketStatus(facts.status, labels.status_label(facts.status), deps.clock.now()),
        entries,
        facts.ticket_number,
        facts.url,
    )


def recorded(link: TicketLink, ticket_id: int, facts: TicketFacts | None, labels: Picklists, deps: Deps) -> TicketLink:
    """`link` linked to the ticket Autotask holds, or marked deleted when Autotask no longer has it."""
    if facts is None:
        return link.created_unread(ticket_id).gone()
    status = TicketStatus(facts.status, labels.status_label(facts.status), deps.clock.now())
    return link.linked(facts.ticket_id, facts.ticket_number, facts.url, status)
