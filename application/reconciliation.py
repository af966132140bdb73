"""Settle a pending link whose earlier attempt may have created a ticket: look it up in Autotask by the ticket id kept,
else by `externalID`, and link what is found. At most one caller reconciles a link at a time (a claim on the link,
taken by compare-and-set and committed before any Autotask call); the others answer what is stored and write nothing.
Both the create (before a new attempt) and the ticket refresh (healing a crash with no operator) use it.

A pending link whose attempt may have been sent is retaken (create) or released (refresh) only once Autotask can no
longer apply that attempt (`attempt_settled`), and right after a look-up found nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from application.attempts import Attempt
from application.ports import PsaError, PsaGateway, TicketFacts, UnitOfWork
from application.psa_connection import psa_error, within
from application.ticket_links import amend_link, recorded, replace_link, stored
from domain.picklists import Picklists
from domain.tickets import TicketLink

STALE_AFTER_SECONDS = 120.0
"""The default of BACKUPCHECKS_TICKET_STALE_AFTER: an attempt older than this is looked up by its `externalID` even
when nobody marked its outcome unknown (a crashed process's); every Autotask write runs under half of it."""
AUTOTASK_PROCESSING_SECONDS = 300.0
"""How long after a POST was sent Autotask may still apply it: its own request timeout (it keeps working on a request
the client gave up on until then; "Limits" of the Autotask REST API facts). A create that timed out for us may make
its ticket appear this late."""


def attempt_settled(link: TicketLink, now: datetime, stale_after_seconds: float) -> bool:
    """Whether no send of the link's current attempt can still be applied by Autotask: its send deadline (half the
    stale timeout after the attempt began) plus Autotask's processing window have passed. A stale timeout below its
    default shrinks the window in proportion (so tests tell the whole story in seconds); it never grows past 300 s."""
    return link.stale(now, settle_seconds(stale_after_seconds))


def settle_seconds(stale_after_seconds: float) -> float:
    """How long after an Autotask write began it may still be applied (see `attempt_settled`): 360 s by default."""
    window = AUTOTASK_PROCESSING_SECONDS * min(1.0, stale_after_seconds / STALE_AFTER_SECONDS)
    return max(stale_after_seconds, stale_after_seconds / 2 + window)


class Found(StrEnum):
    BUSY = "busy"
    """Another caller reconciles the link, or changed it first: `link` is what is stored now."""
    TICKET = "ticket"
    """Autotask holds (or held) the earlier attempt's ticket: `link` is linked to it (or deleted)."""
    NOTHING = "nothing"
    """Autotask has no ticket for the link (yet): `link` is the stored link, claim released (None when gone)."""


@dataclass(frozen=True, slots=True)
class Reconciled:
    found: Found
    link: TicketLink | None


async def _look_up(gateway: PsaGateway, link: TicketLink) -> tuple[int, TicketFacts | None, Picklists] | None:
    if link.ticket_id is not None:  # created, only its read-back failed
        ticket_id, facts = link.ticket_id, await gateway.get_ticket(link.ticket_id)
    elif (facts := await gateway.find_ticket_by_external_id(link.external_id)) is not None:
        ticket_id = facts.ticket_id
    else:
        return None
    return ticket_id, facts, await gateway.picklists()


async def reconcile(attempt: Attempt, link: TicketLink, gateway: PsaGateway, stale_after_seconds: float) -> Reconciled:
    """Look the earlier attempt's ticket up, holding the link's reconciliation claim. A failed look-up releases the
    claim and is raised (audited as failed on the run, stage `reconcile`)."""
    deps, on_run = attempt.deps, attempt.on(("run", link.run_id))
    now = deps.clock.now()
    if link.reconcile_in_flight(now, stale_after_seconds):
        return Reconciled(Found.BUSY, link)
    claimed = link.reconcile_claimed(now)
    if not await replace_link(deps, claimed, link):
        return Reconciled(Found.BUSY, await stored(deps, link))

    async with on_run:
        try:  # within half the claim's life: nobody retakes the claim while this look-up runs
            answer = await within(stale_after_seconds / 2, _look_up(gateway, claimed))
        except PsaError as error:
            await amend_link(deps, claimed, lambda current: current.reconcile_released(claimed))
            raise psa_error(error).failed(stage="reconcile") from error
    if answer is None:
        return Reconciled(
            Found.NOTHING, await amend_link(deps, claimed, lambda current: current.reconcile_released(claimed))
        )
    ticket_id, facts, labels = answer
    new = recorded(claimed, ticket_id, facts, labels, deps)

    async def log(uow: UnitOfWork) -> None:
        await on_run.record(
            uow,
            ticket_id=ticket_id,
            state=new.state.value,
            ticket_number=new.ticket_number,
            reconciled=True,
            attempt=claimed.attempt,
        )

    settled = await amend_link(
        deps,
        claimed,
        lambda current: (
            recorded(current, ticket_id, facts, labels, deps) if current.same_reconcile_claim(claimed) else None
        ),
        log,
    )
    if settled is None:
        return Reconciled(Found.BUSY, await stored(deps, link))
    return Reconciled(Found.TICKET, settled)
