"""Runs with two or more Autotask tickets carrying their `externalID` (docs/adr/0034-late-applied-creates.md): found by
the ticket refresh (the scheduled status sync runs it too), audited `ticket.duplicate` on the run once per set of
tickets, shown on the run view. The link is never moved to another ticket: a person decides which one to keep.

Only a retaken reservation sends a second create with one run's `externalID` (the reservation lets one attempt at a
time send), so only linked runs whose ticket came from attempt 2 or later are looked at: none in the usual case, and
then no Autotask call. Their tickets are read with one `in` query per 400 `externalID`s."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from application.attempts import Attempt
from application.ports import AuditQuery, PsaError, PsaGateway, TicketFacts, UnitOfWork
from application.psa_connection import psa_error
from domain.tickets import LinkState, TicketLink

ACTION = "ticket.duplicate"


async def report_duplicates(attempt: Attempt, gateway: PsaGateway, links: Sequence[TicketLink]) -> int:
    """Audit each retaken linked run of `links` that Autotask holds two or more tickets of, unless that set of
    tickets was reported already; answers how many were reported now."""
    retaken = {x.external_id: x for x in links if x.state is LinkState.LINKED and x.attempt > 1}
    if not retaken:
        return 0
    try:
        found = await gateway.tickets_by_external_ids(list(retaken))
    except PsaError as error:
        raise psa_error(error) from error
    tickets: defaultdict[str, list[TicketFacts]] = defaultdict(list)
    for one in found:
        tickets[one.external_id or ""].append(one)
    reported = 0
    for external_id, same in tickets.items():
        if len(same) > 1:
            reported += await _report(attempt, retaken[external_id], sorted(same, key=lambda f: f.ticket_id))
    return reported


async def _report(attempt: Attempt, link: TicketLink, facts: list[TicketFacts]) -> bool:
    ids = tuple(f.ticket_id for f in facts)
    async with attempt.deps.uow() as uow:
        if set(ids) <= set(await duplicate_ticket_ids(uow, link.run_id)):
            return False
        on_run = Attempt(attempt.deps, attempt.actor, ACTION, ("run", link.run_id))
        await on_run.record(
            uow,
            ticket_ids=",".join(map(str, ids)),
            ticket_numbers=",".join(f.ticket_number for f in facts),
            linked_ticket_id=link.ticket_id,
        )
        await uow.commit()
    return True


async def duplicate_ticket_ids(uow: UnitOfWork, run_id: str) -> tuple[int, ...]:
    """The ids of every ticket Autotask was last found holding for the run, when more than one (else empty)."""
    (last,) = await uow.audit.query(AuditQuery(action=ACTION, run_id=run_id, limit=1, newest_first=True)) or (None,)
    ids = last.entry.details.get("ticket_ids") if last is not None else None
    return tuple(int(i) for i in ids.split(",")) if isinstance(ids, str) else ()
