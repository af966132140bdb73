"""Issue 16 end to end on the use cases with the real Autotask client and the simulator over HTTP: a tenant whose
default category requires a Work Type and a UDF, Test ticket's calls counted, the tenant and its rights read by Test
connection, and a maintenance page answering a create."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from adapters.autotask_simulator import Fault, Simulator
from application.deps import Deps
from application.errors import AutotaskUnavailable
from application.use_cases.create_ticket import Created, CreateTicket
from application.use_cases.diagnostics import CheckConnection, GetPicklists, ValidateConfiguration
from application.use_cases.test_ticket import MakeTestTicket
from tests.contract.psa.worlds import simulator_world
from tests.support import ADMIN, OPERATOR, UseCaseWorld

STANDARD, WORK_TYPE = 1, 29682803
USER, SECRET = "api@example.com", "correct horse battery staple"


@pytest.fixture
async def tenant() -> AsyncIterator[tuple[Simulator, UseCaseWorld, Deps]]:
    sim = Simulator.seeded(username=USER, secret=SECRET, own_company_name="Example MSP Ltd")
    async with simulator_world(sim) as sim_world:
        world = UseCaseWorld()
        await world.configure(
            default_queue_id=29683325,
            default_issue_type_id=None,
            default_sub_issue_type_id=None,
            default_source_id=None,
            priority_error_id=2,
            priority_warning_id=2,
            note_type_id=None,
            note_publish_id=None,
        )
        await world.seed()
        yield sim, world, replace(world.deps, psa=sim_world.connector)


def demanding(sim: Simulator) -> None:
    """The tenant's default category requires a Work Type and a UDF that has no default."""
    sim.add_ticket_udf("Backup Reference", label="Backup reference", required=True)
    sim.set_category_rules(STANDARD, requires={"billingCodeID"}, udfs_required={"Backup Reference"})


async def test_validate_names_the_work_type_and_the_udf_before_any_ticket(
    tenant: tuple[Simulator, UseCaseWorld, Deps],
) -> None:
    sim, _, deps = tenant
    demanding(sim)
    result = await ValidateConfiguration(deps).execute(ADMIN)
    named = {(p.setting, p.warning) for p in result.problems}
    assert named == {("ticket_udfs", False), ("work_type_id", True)} and not result.ok
    assert any("Backup reference" in p.message for p in result.problems)
    assert not any("dueDateTime" in p.message for p in result.problems)
    assert sim.tickets == {}


async def test_test_ticket_fails_in_autotasks_words_then_proves_the_settings(
    tenant: tuple[Simulator, UseCaseWorld, Deps],
) -> None:
    sim, world, deps = tenant
    demanding(sim)
    refused = await MakeTestTicket(deps).execute(ADMIN)
    assert not refused.ok and [s.step for s in refused.steps] == ["create"]
    assert "billingCodeID" in refused.steps[0].message and sim.tickets == {}  # nothing left open

    async with world.uow() as uow:
        settings = await uow.settings.get()
        await uow.settings.save(replace(settings, work_type_id=WORK_TYPE, ticket_udfs=(("Backup Reference", "BC"),)))
        await uow.commit()
    assert (await ValidateConfiguration(deps).execute(ADMIN)).problems == ()
    await GetPicklists(deps).execute(ADMIN)  # the settings page leaves the picklists (and the zone) cached
    before = sum(sim.counts.values())
    proof = await MakeTestTicket(deps).execute(ADMIN)
    assert proof.ok and [s.step for s in proof.steps] == ["create", "note", "complete"]
    assert sum(sim.counts.values()) - before == 4  # create, read its number, the closing note, complete
    (ticket,) = sim.tickets.values()
    assert (ticket["companyID"], ticket["status"], ticket["billingCodeID"]) == (0, 5, WORK_TYPE)
    (note,) = sim.notes.values()
    assert note["ticketID"] == ticket["id"] and note["publish"] != 1  # once, internal

    link = (await CreateTicket(deps).execute(OPERATOR, "run-1")).link  # every operator ticket carries them
    assert link.ticket_id is not None and sim.tickets[link.ticket_id]["billingCodeID"] == WORK_TYPE
    assert sim.udf_values[link.ticket_id]["Backup Reference"] == "BC"


async def test_test_connection_names_the_tenant_and_restricted_time_entries(
    tenant: tuple[Simulator, UseCaseWorld, Deps],
) -> None:
    sim, _, deps = tenant
    sim.set_access("TimeEntries", query="Restricted")
    result = await CheckConnection(deps).execute(ADMIN)
    assert result.tenant_name == "Example MSP Ltd" and "'Example MSP Ltd'" in result.message
    assert result.ok and result.missing_rights == ("see_all_time_entries",)
    sim.set_access("Tickets", create="None")
    refused = await CheckConnection(deps).execute(ADMIN)
    assert not refused.ok and refused.missing_rights == ("create_tickets", "see_all_time_entries")


@pytest.mark.parametrize("applied", [True, False])
async def test_a_maintenance_page_on_a_create_never_yields_a_second_ticket(
    tenant: tuple[Simulator, UseCaseWorld, Deps], applied: bool
) -> None:
    sim, world, deps = tenant
    sim.inject(Fault("maintenance", entity="Tickets", method="POST", applied=applied))
    with pytest.raises(AutotaskUnavailable) as caught:
        await CreateTicket(deps).execute(OPERATOR, "run-1")
    assert "HTML" in caught.value.message  # not a success, and the ticket may exist: the reservation is kept
    world.clock.advance(600)
    again = await CreateTicket(deps).execute(OPERATOR, "run-1")  # looked up by its externalID before any retry
    assert again.outcome is (Created.EXISTING if applied else Created.CREATED)
    assert len(sim.tickets) == 1
