"""Settle a pending link whose earlier attempt may have created a ticket: look it up in Autotask by the ticket id kept,
else by `externalID`, and link what is found. At most one caller reconciles a link at a time (a claim on the link,
taken by compare-and-set and committed before any Autotask call); the others answer what is stored and write nothing.
Both the create (before a new attempt) and the ticket refresh (healing a crash with no operator) use it.

A pending link whose attempt may have been sent is retaken (create) or released (refresh) only once Autotask can no
longer apply that attempt (`attempt_settled`), and right after a look-up found nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from application.attempts import Attempt
from application.ports import PsaError, PsaGateway, TicketFacts, UnitOfWork
from application.psa_connection import psa_error, within
from application.ticket_links import Stored, amend_link, recorded, replace_link, stored
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


@dataclass(frozen=True, slots=True)
class Busy:
    """Another caller reconciles the link, or changed it first: `link` is what is stored now (None: gone)."""

    link: TicketLink | None


@dataclass(frozen=True, slots=True)
class TicketFound:
    """Autotask holds (or held) the earlier attempt's ticket: `link` is linked to it (or marked deleted)."""

    link: TicketLink


@dataclass(frozen=True, slots=True)
class NothingFound:
    """Autotask has no ticket for the link (yet): `released` is the stored link, claim released (None when the link
    is gone or someone else holds the claim now)."""

    released: TicketLink | None


Reconciled = Busy | TicketFound | NothingFound


@dataclass(frozen=True, slots=True)
class _Answer:
    """What Autotask holds of an earlier attempt: the ticket's id and facts (None: deleted since), and the labels."""

    ticket_id: int
    facts: TicketFacts | None
    labels: Picklists


async def _look_up(gateway: PsaGateway, link: TicketLink) -> _Answer | None:
    if link.unread_ticket_id is not None:  # created, only its read-back failed
        ticket_id, facts = link.unread_ticket_id, await gateway.get_ticket(link.unread_ticket_id)
    elif (facts := await gateway.find_ticket_by_external_id(link.external_id)) is not None:
        ticket_id = facts.ticket_id
    else:
        return None
    return _Answer(ticket_id, facts, await gateway.picklists())


def _linked_under(claimed: TicketLink, answer: _Answer, now: datetime, current: TicketLink) -> TicketLink | None:
    """`current` linked to the ticket found, while it is still under the claim `claimed` took."""
    if not current.same_reconcile_claim(claimed):
        return None
    return recorded(current, answer.ticket_id, answer.facts, answer.labels, now)


async def reconcile(attempt: Attempt, link: TicketLink, gateway: PsaGateway, stale_after_seconds: float) -> Reconciled:
    """Look the earlier attempt's ticket up, holding the link's reconciliation claim. A failed look-up releases the
    claim and is raised (audited as failed on the run, stage `reconcile`)."""
    deps = attempt.deps
    now = deps.clock.now()
    if link.reconcile_in_flight(now, stale_after_seconds):
        return Busy(link)
    claimed = link.reconcile_claimed(now)
    if not await replace_link(deps, claimed, link):
        return Busy(await stored(deps, link))
    answer = await _look_up_claimed(attempt, claimed, gateway, stale_after_seconds)
    if answer is None:
        released = await amend_link(deps, claimed, partial(TicketLink.reconcile_released, claimed=claimed))
        return NothingFound(released.link if isinstance(released, Stored) else None)
    return await _settle(attempt, link, claimed, answer)


async def _look_up_claimed(
    attempt: Attempt, claimed: TicketLink, gateway: PsaGateway, stale_after_seconds: float
) -> _Answer | None:
    """The look-up, within half the claim's life (nobody retakes the claim while it runs); a failure releases the
    claim and is raised."""
    async with attempt.on(("run", claimed.run_id)):
        try:
            return await within(stale_after_seconds / 2, _look_up(gateway, claimed))
        except PsaError as error:
            await amend_link(attempt.deps, claimed, partial(TicketLink.reconcile_released, claimed=claimed))
            raise psa_error(error).failed(stage="reconcile") from error


async def _settle(attempt: Attempt, link: TicketLink, claimed: TicketLink, answer: _Answer) -> Reconciled:
    """Link the ticket found (still under the claim), with the audit record of the reconciliation."""
    deps, on_run = attempt.deps, attempt.on(("run", link.run_id))
    now = deps.clock.now()
    new = recorded(claimed, answer.ticket_id, answer.facts, answer.labels, now)

    async def log(uow: UnitOfWork) -> None:
        await on_run.record(
            uow,
            ticket_id=answer.ticket_id,
            state=new.state.value,
            ticket_number=new.ticket_number,
            reconciled=True,
            attempt=claimed.attempt,
        )

    settled = await amend_link(deps, claimed, partial(_linked_under, claimed, answer, now), log)
    if isinstance(settled, Stored):
        return TicketFound(settled.link)
    return Busy(await stored(deps, link))
