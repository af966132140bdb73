"""Poll the status of linked tickets in bulk: snapshots refreshed, tickets completed or deleted in Autotask noticed.
Pending links are settled too, so a scheduled refresh heals a crash with no operator: one whose earlier attempt may
have created a ticket (ambiguous, or stale) is looked up by the ticket id kept, else by `externalID`, and linked; a
reservation Autotask has no ticket for is released once its attempt can no longer be applied (`attempt_settled`), so
the run offers its create again.

The bulk poll (no `run_ids`) asks Autotask only for our tickets changed since the last complete poll started (the
JobStore's `status_sync` cursor, less a safety margin), so with nothing changed it costs one request however many
tickets are linked (docs/adr/0031-polling-by-changes-since.md). It reads every linked ticket in full, as `run_ids`
always do, on the first poll (no cursor), on the first poll of each UTC day (a changes query cannot see a ticket
deleted in Autotask), and when the tenant refuses the changes query."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial

from application.attempts import Attempt
from application.deps import Deps
from application.duplicate_tickets import report_duplicates
from application.page_refresh import RUN_CHECKS, at_most_every
from application.ports import STATUS_SYNC, JobStore, PsaError, PsaGateway, PsaRejected, TicketFacts
from application.psa_connection import connected, psa_error
from application.reconciliation import STALE_AFTER_SECONDS, NothingFound, TicketFound, attempt_settled, reconcile
from domain.draft import external_id_prefix
from domain.picklists import Picklists
from domain.roles import Actor, Permission
from domain.tickets import LinkState, TicketLink, TicketStatus

ACTION = "ticket.refresh"
MARGIN = timedelta(minutes=5)
"""A changes poll asks for what changed since its cursor less this: Autotask's clock and ours differ, and a change
stamped while the last poll ran (or in the second it started) is read again rather than lost."""
PAGE_EVERY = timedelta(minutes=1)
"""Run Checks re-reads its shown tickets in the background at most this often (the scheduled status sync keeps every
link fresh in between)."""


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
    full: bool = True
    """Every linked ticket was read; False: only those Autotask says changed since the last poll (the others are
    known unchanged)."""


class RefreshTickets:
    """`jobs` holds the bulk poll's cursor; without it every poll reads every linked ticket."""

    def __init__(
        self, deps: Deps, *, stale_after_seconds: float = STALE_AFTER_SECONDS, jobs: JobStore | None = None
    ) -> None:
        self.deps = deps
        self.stale_after_seconds = stale_after_seconds
        self.jobs = jobs

    async def on_page_view(self, actor: Actor, run_ids: Sequence[str]) -> bool:
        """After Run Checks is sent: a quiet refresh of the shown tickets, at most once per PAGE_EVERY across
        processes (a failure is logged); True when this view ran it."""
        work = partial(self.execute, actor, run_ids, quiet=True)
        return await at_most_every(self.jobs, RUN_CHECKS, PAGE_EVERY, self.deps.clock, work)

    async def execute(
        self, actor: Actor, run_ids: Sequence[str] | None = None, *, quiet: bool = False
    ) -> TicketsRefreshed:
        """`quiet` (a page view re-reading what it shows): a refresh that changed nothing writes no audit record."""
        async with Attempt(self.deps, actor, ACTION, ("tickets", "*")) as attempt:
            attempt.authorize(Permission.MANAGE_TICKETS)
            started = self.deps.clock.now()
            settings, gateway = await connected(self.deps)
            since = await self._since(started) if run_ids is None else None
            async with self.deps.uow(read_only=True) as uow:
                if run_ids is None:
                    links, pending = await uow.tickets.list_open(), await uow.tickets.list_pending()
                else:
                    chosen = (await uow.tickets.get_many(run_ids)).values()
                    links = [x for x in chosen if x.state is LinkState.LINKED]
                    pending = [x for x in chosen if x.state is LinkState.PENDING]
            settled, released = await self._settle(attempt, pending, gateway)
            await report_duplicates(attempt, gateway, links)
            ids = [x.ticket_id for x in links if x.ticket_id is not None]
            changes = None
            if since is not None:
                changes = await _changes(gateway, external_id_prefix(settings.installation_id), since, links)
            found, labels = changes if changes is not None else await _read(gateway, ids)
            polled = links if changes is None else [x for x in links if x.ticket_id in found]
            updates = _updates(polled, found, labels, self.deps.clock.now())
            summary = TicketsRefreshed(
                len(links) + len(pending), 0, 0, gateway.calls, settled, released, changes is None
            )
            summary, recorded = await self._apply(attempt, updates, summary, quiet=quiet)
            if not recorded:
                return summary
            if run_ids is None and self.jobs is not None:
                await self.jobs.note(STATUS_SYNC, {"cursor": started})  # complete: the next poll asks from here
            return summary

    async def _apply(
        self, attempt: Attempt, updates: list[tuple[TicketLink, TicketLink]], summary: TicketsRefreshed, *, quiet: bool
    ) -> tuple[TicketsRefreshed, bool]:
        """Store each (new, old) link over the version it was read at, in one compare-and-set statement per batch (a
        link changed meanwhile keeps its change), with the audit record of the counts; quiet and nothing changed:
        no write at all. The summary with the counts, and whether it was recorded."""
        if quiet and not (updates or summary.settled or summary.released):
            return summary, False
        async with self.deps.uow() as uow:
            won = await uow.tickets.update_many([(new, old.version) for new, old in updates])
            deleted = sum(1 for new, _ in updates if new.run_id in won and new.state is LinkState.DELETED)
            summary = replace(summary, changed=len(won) - deleted, deleted=deleted)
            if quiet and not (summary.changed or deleted or summary.settled or summary.released):
                return summary, False
            await attempt.record(
                uow,
                checked=summary.checked,
                changed=summary.changed,
                deleted=deleted,
                autotask_calls=summary.autotask_calls,
                settled=summary.settled,
                released=summary.released,
                full=summary.full,
            )
            await uow.commit()
        return summary, True

    async def _since(self, now: datetime) -> datetime | None:
        """Since when the bulk poll asks Autotask for changes, or None to read every linked ticket: no cursor (the
        first poll), or a cursor of another UTC day (the first poll of each day reads in full, which finds the
        tickets deleted in Autotask that a changes query cannot see)."""
        state = await self.jobs.get(STATUS_SYNC) if self.jobs is not None else None
        cursor = state.cursor if state is not None else None
        if cursor is None or cursor.astimezone(UTC).date() != now.astimezone(UTC).date():
            return None
        return cursor - MARGIN

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
            settled += isinstance(found, TicketFound)
            if (
                isinstance(found, NothingFound)
                and found.released
                and attempt_settled(link, now, self.stale_after_seconds)
            ):
                released += await self._release(attempt, found.released)
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


async def _changes(
    gateway: PsaGateway, prefix: str, since: datetime, links: Sequence[TicketLink]
) -> tuple[dict[int, TicketFacts], Picklists | None] | None:
    """The tickets of `links` that changed in Autotask after `since` (one query, whatever the number of links), and
    the labels of their statuses when one's differs from its link's; None when the tenant refuses the query (the
    caller reads every ticket instead)."""
    ours = {x.ticket.id: x.ticket for x in links if x.ticket is not None}
    if not ours:
        return {}, None
    try:
        try:
            answer = await gateway.changed_tickets(prefix, since)
        except PsaRejected:
            return None
        found = {f.ticket_id: f for f in answer if f.ticket_id in ours}
        moved = any(ours[i].status.value != f.status for i, f in found.items())
        return found, await gateway.picklists() if moved else None
    except PsaError as error:
        raise psa_error(error) from error


def _updates(
    links: Sequence[TicketLink], found: dict[int, TicketFacts], labels: Picklists | None, now: datetime
) -> list[tuple[TicketLink, TicketLink]]:
    """(new, old) for each link whose ticket is gone or has another status now."""
    updates: list[tuple[TicketLink, TicketLink]] = []
    for link in links:
        if (ticket := link.ticket) is None:
            continue
        facts = found.get(ticket.id)
        if facts is None:
            updates.append((link.gone(), link))
        elif facts.status != ticket.status.value and labels is not None:  # labels are read whenever a status moved
            status = TicketStatus(facts.status, labels.status_label(facts.status), now)
            updates.append((link.with_status(ticket, status), link))
    return updates
