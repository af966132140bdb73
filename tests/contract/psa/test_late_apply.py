"""Item 10 of issue 21 end to end: the use cases with the real Autotask client and the simulator over HTTP, the
simulator applying a create up to Autotask's 300 s after it answered a timeout. One ticket, linked; or, when Autotask
applies it later still, a duplicate that is reported (docs/adr/0034-late-applied-creates.md). The same for the
closing note of a resolve: one note (docs/adr/0036-late-applied-closing-notes.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from adapters.autotask_simulator import Fault, Simulator
from application.deps import Deps
from application.errors import AutotaskUnavailable, TicketBusy
from application.ports import AuditQuery
from application.use_cases.create_ticket import Created, CreateTicket
from application.use_cases.refresh_tickets import RefreshTickets
from application.use_cases.resolve_ticket import ResolveTicket
from application.use_cases.view_runs import GetRun
from domain.tickets import LinkState
from tests.contract.psa.worlds import simulator_world
from tests.support import OPERATOR, PASSWORD, UseCaseWorld


@pytest.fixture
async def tenant() -> AsyncIterator[tuple[Simulator, UseCaseWorld, Deps]]:
    world = UseCaseWorld()
    sim = Simulator.seeded(secret=PASSWORD, clock=world.clock.now)  # one clock for both sides: minutes in a step
    async with simulator_world(sim) as sim_world:
        await world.configure(
            default_queue_id=29683325,
            default_issue_type_id=None,
            default_sub_issue_type_id=None,
            default_source_id=None,
            note_type_id=None,
            note_publish_id=None,
        )
        await world.seed()
        yield sim, world, replace(world.deps, psa=sim_world.connector)


async def test_a_create_autotask_applies_200_s_late_yields_one_linked_ticket(
    tenant: tuple[Simulator, UseCaseWorld, Deps],
) -> None:
    sim, world, deps = tenant
    sim.inject(Fault("late_apply", entity="Tickets", method="POST", seconds=200))
    with pytest.raises(AutotaskUnavailable):
        await CreateTicket(deps).execute(OPERATOR, "run-1")
    for seconds in (150, 40):  # stale (120 s), nothing in Autotask yet: looked up, and no second POST
        world.clock.advance(seconds)
        waiting = await CreateTicket(deps).execute(OPERATOR, "run-1")
        assert waiting.outcome is Created.PENDING and sim.counts["POST Tickets"] == 1
        assert (await RefreshTickets(deps).execute(OPERATOR)).released == 0  # nor is the reservation dropped
    world.clock.advance(10)  # 200 s: Autotask applies it
    found = await CreateTicket(deps).execute(OPERATOR, "run-1")
    assert found.outcome is Created.EXISTING and found.link.state is LinkState.LINKED
    assert list(sim.tickets) == [found.link.ticket_id] and sim.counts["POST Tickets"] == 1
    assert sim.counts["POST Tickets/query"] == 5  # an externalID look-up before each answer


async def test_a_create_applied_after_the_window_is_a_duplicate_reported_once_and_never_linked(
    tenant: tuple[Simulator, UseCaseWorld, Deps],
) -> None:
    sim, world, deps = tenant
    sim.inject(Fault("late_apply", entity="Tickets", method="POST", seconds=400))  # later than Autotask's own 300 s
    with pytest.raises(AutotaskUnavailable):
        await CreateTicket(deps).execute(OPERATOR, "run-1")
    world.clock.advance(360)  # the send deadline and the window have passed, and a look-up finds nothing: retaken
    second = await CreateTicket(deps).execute(OPERATOR, "run-1")
    assert second.outcome is Created.CREATED and second.link.attempt == 2
    assert (await RefreshTickets(deps).execute(OPERATOR)).checked == 1
    world.clock.advance(40)  # the first POST is applied at last
    for _ in range(2):  # the scheduled sync runs this refresh too: reported once, not per sync
        await RefreshTickets(deps).execute(OPERATOR)
    assert len(sim.tickets) == 2
    async with world.uow() as uow:
        records = await uow.audit.query(AuditQuery(action="ticket.duplicate"))
        link = await uow.tickets.get("run-1")
    (record,) = records
    first = next(i for i in sim.tickets if i != second.link.ticket_id)
    ids = sorted([first, second.link.ticket_id or 0])
    assert record.entry.details["ticket_ids"] == ",".join(map(str, ids)) and record.entry.target_id == "run-1"
    assert record.entry.details["ticket_numbers"] == ",".join(sim.tickets[i]["ticketNumber"] for i in ids)
    assert link is not None and link.ticket_id == second.link.ticket_id  # the second is never linked silently
    assert (await GetRun(deps).execute(OPERATOR, "run-1")).duplicate_ticket_ids == tuple(ids)


def notes_on(sim: Simulator, ticket_id: int) -> int:
    return sum(n.get("ticketID") == ticket_id for n in list(sim.notes.values()))


async def resolve_after_a_late_note(sim: Simulator, deps: Deps, late: float) -> int:
    """A ticket for run-1, then a resolve whose note POST Autotask answers 504 and applies `late` seconds later."""
    ticket_id = (await CreateTicket(deps).execute(OPERATOR, "run-1")).link.ticket_id
    assert ticket_id is not None
    sim.inject(Fault("late_apply", entity="Tickets", method="POST", seconds=late))
    with pytest.raises(AutotaskUnavailable):
        await ResolveTicket(deps).execute(OPERATOR, "run-1")
    assert sim.counts["POST Tickets/{id}/Notes"] == 1 and notes_on(sim, ticket_id) == 0
    with pytest.raises(TicketBusy):  # at once: the attempt's claim is kept, no call made (before: a second POST)
        await ResolveTicket(deps).execute(OPERATOR, "run-1")
    return ticket_id


async def test_a_closing_note_applied_seconds_late_is_found_once_the_claim_is_stale(
    tenant: tuple[Simulator, UseCaseWorld, Deps],
) -> None:
    sim, world, deps = tenant
    ticket_id = await resolve_after_a_late_note(sim, deps, late=2)
    world.clock.advance(120)
    resolved = await ResolveTicket(deps).execute(OPERATOR, "run-1")
    assert resolved.state is LinkState.RESOLVED and sim.tickets[ticket_id]["status"] == 5
    assert notes_on(sim, ticket_id) == 1 and sim.counts["POST Tickets/{id}/Notes"] == 1


async def test_a_closing_note_applied_200_s_late_is_waited_for_not_posted_again(
    tenant: tuple[Simulator, UseCaseWorld, Deps],
) -> None:
    sim, world, deps = tenant
    ticket_id = await resolve_after_a_late_note(sim, deps, late=200)
    world.clock.advance(150)  # stale (before: found nothing and posted again), and Autotask may still apply it
    with pytest.raises(TicketBusy, match="may still add the closing note"):
        await ResolveTicket(deps).execute(OPERATOR, "run-1")
    assert sim.counts["POST Tickets/{id}/Notes"] == 1
    world.clock.advance(60)  # 210 s: Autotask applied it
    resolved = await ResolveTicket(deps).execute(OPERATOR, "run-1")
    assert resolved.state is LinkState.RESOLVED and resolved.closing_note_id in sim.notes
    assert notes_on(sim, ticket_id) == 1 and sim.counts["POST Tickets/{id}/Notes"] == 1


async def test_a_closing_note_autotask_never_applies_is_posted_once_its_window_has_passed(
    tenant: tuple[Simulator, UseCaseWorld, Deps],
) -> None:
    sim, world, deps = tenant
    ticket_id = await resolve_after_a_late_note(sim, deps, late=10_000)  # beyond Autotask's 300 s: never, in effect
    world.clock.advance(360)  # the send deadline (60 s) and the window (300 s) have passed: posted again
    resolved = await ResolveTicket(deps).execute(OPERATOR, "run-1")
    assert resolved.state is LinkState.RESOLVED and notes_on(sim, ticket_id) == 1
    assert sim.counts["POST Tickets/{id}/Notes"] == 2
