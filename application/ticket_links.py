"""Amendments of a stored ticket link (compare-and-set on its version, re-read and re-applied when someone else wrote
first) and what a live read of its ticket makes of it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from application.deps import Deps
from application.ports import PsaGateway, TicketFacts, UnitOfWork
from domain.picklists import Picklists
from domain.tickets import Ticket, TicketLink, TicketStatus

Change = Callable[[TicketLink], TicketLink | None]
"""A change of a stored link: the new link, or None when the stored link no longer allows it (a named function, or
a `functools.partial` of one, e.g. of a `TicketLink` method)."""
OnStored = Callable[[UnitOfWork], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Stored:
    """The change is stored: `link` is the link as stored now."""

    link: TicketLink


@dataclass(frozen=True, slots=True)
class Declined:
    """The stored link no longer allows the change: `current` is what is stored."""

    current: TicketLink


@dataclass(frozen=True, slots=True)
class Gone:
    """The link is no longer stored."""


@dataclass(frozen=True, slots=True)
class Outrun:
    """Someone else wrote first on every attempt: `current` is what was stored at the last one."""

    current: TicketLink


Amended = Stored | Declined | Gone | Outrun


async def amend_link(
    deps: Deps, link: TicketLink, change: Change, on_stored: OnStored | None = None, attempts: int = 5
) -> Amended:
    """Apply `change` to the stored link by compare-and-set; when someone else wrote first, re-read and apply it to
    what is stored now. `on_stored` writes in the same transaction (the audit record of the change)."""
    current = link
    for _ in range(attempts):
        new = change(current)
        if new is None:
            return Declined(current)
        read = await _store(deps, new, current, on_stored)
        if read is None:
            return Stored(new)
        if isinstance(read, Gone):
            return read
        current = read
    return Outrun(current)


async def _store(deps: Deps, new: TicketLink, old: TicketLink, on_stored: OnStored | None) -> TicketLink | Gone | None:
    """Store `new` over `old`'s version (with what `on_stored` writes); None when stored, else the link stored now."""
    async with deps.uow() as uow:
        if await uow.tickets.update(new, old.version):
            if on_stored is not None:
                await on_stored(uow)
            await uow.commit()
            return None
        current = await uow.tickets.get(old.run_id)
    return Gone() if current is None else current


async def replace_link(deps: Deps, new: TicketLink, old: TicketLink, on_stored: OnStored | None = None) -> bool:
    """Store `new` over `old` in its own transaction, unless someone changed the link since `old` was read."""
    async with deps.uow() as uow:
        if not await uow.tickets.update(new, old.version):
            return False
        if on_stored is not None:
            await on_stored(uow)
        await uow.commit()
    return True


async def stored(deps: Deps, link: TicketLink) -> TicketLink | None:
    """The link of `link`'s run as stored now."""
    async with deps.uow(read_only=True) as uow:
        return await uow.tickets.get(link.run_id)


async def observe(deps: Deps, gateway: PsaGateway, link: TicketLink, ticket_id: int) -> TicketLink:
    """The link with its ticket's (`ticket_id`'s) live status and time-entry count, or marked deleted when Autotask
    has it no more."""
    facts = await gateway.get_ticket(ticket_id)
    if facts is None:
        return link.gone()
    entries = await gateway.count_time_entries(ticket_id)
    labels = await gateway.picklists()
    return link.observed(ticket_of(facts, labels, deps.clock.now()), entries)


def ticket_of(facts: TicketFacts, labels: Picklists, now: datetime) -> Ticket:
    """The ticket as Autotask holds it, its status read `now`."""
    return Ticket(
        facts.ticket_id,
        facts.ticket_number,
        facts.url,
        TicketStatus(facts.status, labels.status_label(facts.status), now),
    )


def recorded(
    link: TicketLink, ticket_id: int, facts: TicketFacts | None, labels: Picklists, now: datetime
) -> TicketLink:
    """`link` linked to the ticket Autotask holds, or marked deleted when Autotask no longer has it."""
    if facts is None:
        return link.created_unread(ticket_id).gone()
    return link.linked(ticket_of(facts, labels, now))
