"""The rules real Autotask tenants enforce (issue 8), through the use cases on the fake PSA."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from application.errors import Conflict, InvalidInput, SettingInvalid
from application.ports import AccessLevel, EntityRights
from application.tenant_facts import MISSING_RIGHTS
from application.use_cases.create_ticket import CreateTicket
from application.use_cases.diagnostics import CheckConnection, ValidateConfiguration
from application.use_cases.get_ticket import GetTicket
from application.use_cases.resolve_ticket import ResolveTicket
from application.use_cases.settings import GetSettings, SettingsChange, UpdateSettings
from application.use_cases.view_runs import GetRun
from domain.audit import Outcome
from domain.picklists import PicklistValue
from domain.runs import RunStatus
from domain.settings import RIGHTS_RECHECK_SECONDS, Environment
from domain.tickets import CLOSING_NOTE, DenyReason, LinkState
from tests.support import ADMIN, OPERATOR, T0, UseCaseWorld, make_run
from tests.unit.test_tickets import created


@pytest.fixture
async def world() -> AsyncIterator[UseCaseWorld]:
    w = UseCaseWorld()
    await w.configure()
    await w.seed()
    yield w


# ------------------------------------------------------------------------------------------------------- due date


async def test_every_ticket_is_due_the_configured_hours_after_review(world: UseCaseWorld) -> None:
    ticket_id = await created(world)
    assert world.psa.tickets[ticket_id].due_at == T0 + timedelta(hours=24)  # the default
    await UpdateSettings(world.deps).execute(ADMIN, SettingsChange({"ticket_due_hours": 72}))
    await world.seed(make_run("run-2"))
    second = (await CreateTicket(world.deps).execute(OPERATOR, "run-2")).link.ticket_id
    assert second is not None and world.psa.tickets[second].due_at == T0 + timedelta(hours=72)
    assert (await GetSettings(world.deps).execute(ADMIN)).ticket_due_hours == 72


@pytest.mark.parametrize("hours", [0, -1, 8761, True])
async def test_the_due_hours_are_checked(world: UseCaseWorld, hours: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        await UpdateSettings(world.deps).execute(ADMIN, SettingsChange({"ticket_due_hours": hours}))
    assert caught.value.field == "ticket_due_hours"
    assert (await GetSettings(world.deps).execute(ADMIN)).ticket_due_hours == 24


# ---------------------------------------------------------------------------------------------------------- queue


@pytest.mark.parametrize(
    ("status", "change", "missing"),
    [
        (RunStatus.ERROR, {"default_queue_id": None}, "default_queue_id"),
        (RunStatus.WARNING, {"priority_warning_id": None}, "priority_warning_id"),
    ],
)
async def test_no_create_is_offered_or_sent_until_the_settings_make_a_ticket_autotask_accepts(
    status: RunStatus, change: dict[str, object], missing: str
) -> None:
    w = UseCaseWorld()
    await w.configure(**change)
    await w.seed(make_run(status=status))
    view = await GetRun(w.deps).execute(OPERATOR, "run-1")
    assert view.create_blocked_reason == "ticket_settings_incomplete" and "create_ticket" not in view.actions
    with pytest.raises(Conflict) as caught:
        await CreateTicket(w.deps).execute(OPERATOR, "run-1")
    assert caught.value.code == "ticket_settings_incomplete" and missing in caught.value.message
    assert w.psa.total_calls == 0  # refused before any call to Autotask
    validation = await ValidateConfiguration(w.deps).execute(ADMIN)
    assert missing in {p.setting for p in validation.problems}


# ----------------------------------------------------------------------------------------------- closing note


async def test_with_no_note_type_set_the_tenant_default_is_used(world: UseCaseWorld) -> None:
    ticket_id = await created(world)
    await world.configure(note_type_id=None, note_publish_id=None)
    assert (await GetTicket(world.deps).execute(OPERATOR, "run-1")).resolve.allowed
    link = await ResolveTicket(world.deps).execute(OPERATOR, "run-1")
    assert link.state is LinkState.RESOLVED
    notes = world.psa.tickets[ticket_id].notes
    assert [(n.description, n.note_type, n.publish) for n in notes] == [(CLOSING_NOTE, 1, 2)]  # default, internal


@pytest.mark.parametrize(
    ("change", "lists", "reason"),
    [
        ({"note_type_id": None}, {"note_types": (PicklistValue(3, "Task Notes"),)}, DenyReason.NOTE_TYPE_MISSING),
        ({"note_type_id": 9}, {}, DenyReason.NOTE_TYPE_MISSING),
        ({"note_publish_id": 4}, {}, DenyReason.NOTE_PUBLISH_NOT_INTERNAL),  # "Internal & Co-Managed"
        (
            {"note_publish_id": None},
            {"note_publish": (PicklistValue(1, "All Autotask Users"), PicklistValue(4, "Internal & Co-Managed"))},
            DenyReason.NOTE_PUBLISH_NOT_INTERNAL,
        ),
    ],
)
async def test_an_unusable_closing_note_is_said_before_the_click_and_refused_with_409(
    world: UseCaseWorld, change: dict[str, object], lists: dict[str, Any], reason: DenyReason
) -> None:
    ticket_id = await created(world)
    await world.configure(**change)
    world.psa.picklist_data = replace(world.psa.picklist_data, **lists)
    view = await GetTicket(world.deps).execute(OPERATOR, "run-1")
    assert (view.resolve.allowed, view.resolve.reason) == (False, reason) and view.resolve.message
    with pytest.raises(Conflict) as caught:
        await ResolveTicket(world.deps).execute(OPERATOR, "run-1")
    assert caught.value.code == reason.value
    ticket = world.psa.tickets[ticket_id]
    assert not ticket.notes and ticket.status == 1 and world.psa.calls["add_ticket_note"] == 0


async def test_resolve_costs_five_autotask_requests(world: UseCaseWorld) -> None:
    """Read, count time entries, note, count again, complete: no read after the PATCH (picklists are cached)."""
    await created(world)
    before = dict(world.psa.calls)
    link = await ResolveTicket(world.deps).execute(OPERATOR, "run-1")
    spent = {op: n - before.get(op, 0) for op, n in world.psa.calls.items() if n - before.get(op, 0)}
    spent.pop("picklists")  # the fake counts them; the real connector answers them from its cache
    assert link.state is LinkState.RESOLVED and link.status is not None and link.status.value == 5
    assert spent == {"get_ticket": 1, "count_time_entries": 2, "add_ticket_note": 1, "complete_ticket": 1}
    assert sum(spent.values()) == 5


# --------------------------------------------------------------------------------------------- credentials


async def test_refused_credentials_stop_every_use_until_test_connection(world: UseCaseWorld) -> None:
    deps = world.deps  # one connector, as in the running service
    world.psa.accept = ("api@example.com", "changed-in-autotask", "TRACKING01")
    for _ in range(3):
        with pytest.raises(Exception, match="credentials"):
            await CreateTicket(deps).execute(OPERATOR, "run-1")
    assert world.psa.total_calls == 1  # one failed login, then none
    failed = await CheckConnection(deps).execute(ADMIN)  # tries again, once
    assert (failed.ok, failed.code) == (False, "bad_secret") and world.psa.total_calls == 2
    world.psa.accept = ("api@example.com", "correct horse battery staple", "TRACKING01")
    assert (await CheckConnection(deps).execute(ADMIN)).ok
    assert (await CreateTicket(deps).execute(OPERATOR, "run-1")).link.ticket_id is not None


# ------------------------------------------------------------------------------------------------ API rights


NONE, LIMITED, FULL = AccessLevel.NONE, AccessLevel.LIMITED, AccessLevel.FULL
EVERY = EntityRights(FULL, FULL, FULL)


@pytest.mark.parametrize(
    ("narrowed", "ok", "missing"),
    [
        ({}, True, ()),
        ({"time_entries": EntityRights(FULL, LIMITED, FULL)}, True, ("see_all_time_entries",)),
        ({"time_entries": EntityRights(NONE, NONE, NONE)}, True, ("see_all_time_entries",)),
        ({"tickets": EntityRights(NONE, FULL, LIMITED)}, False, ("create_tickets",)),
        (
            {"notes": EntityRights(NONE, FULL, FULL), "companies": EntityRights(NONE, NONE, NONE)},
            False,
            ("create_notes", "query_companies"),
        ),
    ],
)
async def test_test_connection_names_the_tenant_and_the_missing_rights(
    world: UseCaseWorld, narrowed: dict[str, EntityRights], ok: bool, missing: tuple[str, ...]
) -> None:
    """Limited create or update access (Mine) is enough; time entries must be fully visible or resolving stops."""
    world.psa.add_company(0, "Example MSP Ltd")
    world.psa.rights = replace(world.psa.rights, **narrowed)
    result = await CheckConnection(world.deps).execute(ADMIN)
    assert (result.ok, result.missing_rights, result.tenant_name) == (ok, missing, "Example MSP Ltd")
    assert result.code == ("missing_rights" if missing else None)
    assert "'Example MSP Ltd'" in result.message
    assert all(MISSING_RIGHTS[code] in result.message for code in missing if code != "see_all_time_entries")
    stored = await GetSettings(world.deps).execute(ADMIN)
    assert (stored.tenant_name, stored.time_entries_visible) == (
        "Example MSP Ltd",
        "see_all_time_entries" not in missing,
    )
    async with world.uow() as uow:
        last = [r for r in await uow.audit.all() if r.entry.action == "settings.test_connection"][-1]
    assert last.entry.outcome is (Outcome.OK if ok else Outcome.FAILED)


async def test_time_entries_not_fully_visible_means_no_resolve_offered_or_performed(world: UseCaseWorld) -> None:
    """Autotask answers 0 time entries to a Restricted API user: that must never read as "none"."""
    await created(world)
    world.psa.add_company(0, "Example MSP Ltd")
    world.psa.rights = replace(world.psa.rights, time_entries=EntityRights(FULL, LIMITED, FULL))
    assert (await CheckConnection(world.deps).execute(ADMIN)).ok
    view = await GetTicket(world.deps).execute(OPERATOR, "run-1")
    assert (view.resolve.allowed, view.resolve.reason) == (False, DenyReason.TIME_ENTRIES_UNVERIFIABLE)
    assert "resolve_ticket" not in (await GetRun(world.deps).execute(OPERATOR, "run-1")).actions
    calls = world.psa.total_calls
    with pytest.raises(Conflict) as caught:
        await ResolveTicket(world.deps).execute(OPERATOR, "run-1")
    assert caught.value.code == "time_entries_unverifiable"
    assert world.psa.total_calls == calls  # checked an hour ago at most: no call at all
    ticket = next(iter(world.psa.tickets.values()))
    assert (ticket.notes, ticket.status) == ([], 1)


async def test_a_resolve_reads_the_rights_again_when_the_last_reading_is_an_hour_old(world: UseCaseWorld) -> None:
    await created(world)
    world.psa.rights = replace(world.psa.rights, time_entries=EntityRights(FULL, LIMITED, FULL))
    world.clock.advance(RIGHTS_RECHECK_SECONDS)
    with pytest.raises(Conflict) as caught:
        await ResolveTicket(world.deps).execute(OPERATOR, "run-1")
    assert caught.value.code == "time_entries_unverifiable" and world.psa.calls["rights"] == 1
    assert (await GetSettings(world.deps).execute(ADMIN)).time_entries_visible is False
    world.psa.rights = replace(world.psa.rights, time_entries=EVERY)
    world.clock.advance(RIGHTS_RECHECK_SECONDS)
    assert (await ResolveTicket(world.deps).execute(OPERATOR, "run-1")).state is LinkState.RESOLVED
    assert world.psa.calls["rights"] == 2


async def test_changed_credentials_forget_what_was_observed_of_the_old_tenant(world: UseCaseWorld) -> None:
    world.psa.add_company(0, "Example MSP Ltd")
    await CheckConnection(world.deps).execute(ADMIN)
    await UpdateSettings(world.deps).execute(ADMIN, SettingsChange({"api_username": "other@example.com"}))
    stored = await GetSettings(world.deps).execute(ADMIN)
    assert (stored.tenant_name, stored.time_entries_visible, stored.rights_checked_at) == (None, None, None)


async def test_credentials_need_an_environment_chosen_by_the_admin(world: UseCaseWorld) -> None:
    async with world.uow() as uow:
        settings = await uow.settings.get()
        await uow.settings.save(replace(settings, environment=None, api_username="", tracking_identifier=""))
        await uow.commit()
    with pytest.raises(SettingInvalid) as caught:
        await UpdateSettings(world.deps).execute(ADMIN, SettingsChange({"api_username": "api@example.com"}))
    assert caught.value.field == "environment"
    change = SettingsChange({"api_username": "api@example.com", "environment": Environment.PRODUCTION})
    assert (await UpdateSettings(world.deps).execute(ADMIN, change)).environment is Environment.PRODUCTION


async def test_resolve_costs_five_requests_against_the_simulator_over_http() -> None:
    """The same count with the real client: what the simulator received during one resolve."""
    from adapters.autotask_simulator import Simulator
    from tests.contract.psa.worlds import simulator_world

    sim = Simulator.seeded(username="api@example.com", secret="correct horse battery staple")
    async with simulator_world(sim) as sim_world:
        w = UseCaseWorld()
        await w.configure(
            default_queue_id=29683325,
            default_issue_type_id=None,
            default_sub_issue_type_id=None,
            default_source_id=None,
            priority_error_id=2,
            note_type_id=None,
            note_publish_id=None,
        )
        await w.seed()
        deps = replace(w.deps, psa=sim_world.connector)
        link = (await CreateTicket(deps).execute(OPERATOR, "run-1")).link
        assert link.ticket_id is not None and sim.tickets[link.ticket_id]["dueDateTime"] is not None
        before = sum(sim.counts.values())
        resolved = await ResolveTicket(deps).execute(OPERATOR, "run-1")
        assert resolved.state is LinkState.RESOLVED and sim.tickets[link.ticket_id]["status"] == 5
        assert sum(sim.counts.values()) - before == 5
        note = next(iter(sim.notes.values()))
        assert (note["noteType"], note["publish"]) == (1, 2)  # the tenant's default type; "Internal Project Team"
