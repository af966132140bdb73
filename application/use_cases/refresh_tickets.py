"""Poll the status of linked tickets in bulk: snapshots refreshed, tickets completed or deleted in Autotask noticed.
Pending links are settled too, so a scheduled refresh heals a crash with no operator: one whose earlier attempt may
have created a ticket (ambiguous, or stale) is looked up by the ticket id kept, else by `externalID`, and linked; a
stale reservation Autotask has no ticket for is released (no attempt can land any more: each runs under a deadline of
half the stale timeout), so the run offers its create again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from application.attempts import Attempt
from application.deps import Deps
from application.ports import PsaError, PsaGateway, TicketFacts
from application.psa_connection import connected, psa_error
from application.reconciliation import Found, reconcile
from domain.picklists import Picklists
from domain.roles import Actor, Permission
from domain.tickets import LinkState, TicketLink, TicketStatus

ACTION = "ticket.refresh"


@dataclass(frozen=True, slots=True)
class TicketsRefreshed:
    checked: int
    changed: int
    deleted: int
    autotask_calls: int
    settled: int = 0
    """Pending links linked to the ticket an earlier attempt created (or marked deleted when it is gone since)."""
    released: int = 0
    """Stale reservations Autotask has no ticket for, dropped."""


class RefreshTickets:
    def __init__(self, deps: Deps, *, stale_after_seconds: float = 120.0) -> None:
        self.deps = deps
        self.stale_after_seconds = stale_after_seconds

    async def execute(self, actor: Actor, run_ids: Sequence[str] | None = None) -> TicketsRefreshed:
        async with Attempt(self.deps, actor, ACTION, ("tickets", "*")) as attempt:
            attempt.authorize(Permission.MANAGE_TICKETS)
            _, gateway = await connected(self.deps)
            async with self.deps.uow(read_only=True) as uow:
                if run_ids is None:
                    links, pending = await uow.tickets.list_open(), await uow.tickets.list_pending()
                else:
                    chosen = (await uow.tickets.get_many(run_ids)).values()
                    links = [x for x in chosen if x.state is LinkState.LINKED]
                    pending = [x for x in chosen if x.state is LinkState.PENDING]
            settled, released = await self._settle(attempt, pending, gateway)
            found, labels = await _read(gateway, [x.ticket_id for x in links if x.ticket_id is not None])
            changed = deleted = 0
            async with self.deps.uow() as uow:
                for new, old in _updates(links, found, labels, self.deps.clock.now()):
                    if await uow.tickets.update(new, old.version):
                        deleted += new.state is LinkState.DELETED
                        changed += new.state is not LinkState.DELETED
                summary = TicketsRefreshed(
                    len(links) + len(pending), changed, deleted, gateway.calls, settled, released
                )
                await attempt.record(
                    uow,
                    checked=summary.checked,
                    changed=changed,
                    deleted=deleted,
                    autotask_calls=summary.autotask_calls,
                    settled=settled,
                    released=released,
                )
                await uow.commit()
            return summary

    async def _settle(self, attempt: Attempt, pending: Sequence[TicketLink], gateway: PsaGateway) -> tuple[int, int]:
        """Settle the pending links an earlier attempt may have left behind; one in flight (a create running now,
        or another caller's reconciliation) is left alone."""
        settled = released = 0
        now = self.deps.clock.now()
        for link in pending:
            stale = link.stale(now, self.stale_after_seconds)
            if not (link.ambiguous or stale):
                continue
            found = await reconcile(attempt, link, gateway, self.stale_after_seconds)
            settled += found.found is Found.TICKET
            if found.found is Found.NOTHING and found.link is not None and stale:
                released += await self._release(attempt, found.link)
        return settled, released

    async def _release(self, attempt: Attempt, link: TicketLink) -> bool:
        async with self.deps.uow() as uow:
            done = await uow.tickets.release(link.run_id, link.version)
            if done:
                await attempt.on(("run", link.run_id)).record(
                    uow, released=True, attempt=link.attempt, reason="no ticket in Autotask for a stale reservation"
                )
                await uow.commit()
        return done


async def _read(gateway: PsaGateway, ids: list[int]) -> tuple[dict[int, TicketFacts], Picklists | None]:
    """The tickets Autotask holds of `ids` (a missing one confirmed one by one before calling it deleted), and the
    labels of their statuses."""
    try:
        found = await gateway.get_tickets(ids) if ids else {}
        for missing in (i for i in ids if i not in found):
            facts = await gateway.get_ticket(missing)
            if facts is not None:
                found[missing] = facts
        return found, await gateway.picklists() if found else None
    except PsaError as error:
        raise psa_error(error) from error


def _updates(
    links: Sequence[TicketLink], found: dict[int, TicketFacts], labels: Picklists | None, now: datetime
) -> list[tuple[TicketLink, TicketLink]]:
    """(new, old) for each link whose ticket is gone or has another status now."""
    updates: list[tuple[TicketLink, TicketLink]] = []
    for link in links:
        assert link.ticket_id is not None
        facts = found.get(link.ticket_id)
        if facts is None:
            updates.append((link.gone(), link))
        elif link.status is None or facts.status != link.status.value:
            assert labels is not None
            updates.append((link.with_status(TicketStatus(facts.status, labels.status_label(facts.status), now)), link))
    return updates
