"""Item 10 of issue 21 end to end: the use cases with the real Autotask client and the simulator over HTTP, the
simulator applying a create up to Autotask's 300 s after it answered a timeout. One ticket, linked; or, when Autotask
applies it later still, a duplicate that is reported (docs/adr/0034-late-applied-creates.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from adapters.autotask_simulator import Fault, Simulator
from application.deps import Deps
from application.errors import AutotaskUnavailable
from application.use_cases.create_ticket import Created, CreateTicket
from application.use_cases.refresh_tickets import RefreshTickets
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
