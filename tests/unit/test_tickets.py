"""Create, read, resolve and poll tickets through the use cases, on memory storage and the fake PSA."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

import pytest

from adapters.fake_psa.fake import LANDS_LATER, LOST_ANSWER
from application.errors import (
    AutotaskRejected,
    AutotaskUnavailable,
    Conflict,
    Forbidden,
    NotConfigured,
    NotFound,
    UseCaseError,
)
from application.ports import NoteDraft, PsaRejected, PsaUnavailable, TicketFacts
from application.use_cases.create_ticket import Created, CreateTicket
from application.use_cases.get_ticket import GetTicket
from application.use_cases.refresh_tickets import RefreshTickets
from application.use_cases.resolve_ticket import ResolveTicket
from domain.audit import Outcome
from domain.draft import TicketDraft, external_id
from domain.mapping import MappingStatus
from domain.runs import RunStatus
from domain.tickets import CLOSING_NOTE, LinkState
from tests.storage_backends import backend_params, storage_backend
from tests.support import OPERATOR, REPORTER, UseCaseWorld, make_run

EVERY_BACKEND = pytest.mark.parametrize("world", backend_params(), indirect=True)
"""For tests of concurrency and of what a crash leaves stored: memory, SQLite, PostgreSQL (when configured). The other
use-case tests run on memory; the storage contract suite proves the SQL stores keep what memory keeps."""


@pytest.fixture
async def world(request: pytest.FixtureRequest) -> AsyncIterator[UseCaseWorld]:
    """The use cases on the memory store, or on the backend `EVERY_BACKEND` names."""
    async with storage_backend(getattr(request, "param", "memory")) as storage:
        w = UseCaseWorld(uow=storage)
        await w.configure()
        await w.seed()
        yield w


async def audit_of(w: UseCaseWorld, action: str) -> list[tuple[Outcome, object]]:
    async with w.uow() as uow:
        records = await uow.audit.all()
    return [(r.entry.outcome, r.entry.details.get("code")) for r in records if r.entry.action == action]


async def test_create_makes_one_ticket_with_the_draft(world: UseCaseWorld) -> None:
    result = await CreateTicket(world.deps).execute(OPERATOR, "run-1")
    assert result.outcome is Created.CREATED
    link = result.link
    assert link.state is LinkState.LINKED and link.ticket_number and link.url and link.created_by == "oscar"
    assert link.status is not None and (link.status.value, link.status.label) == (1, "New")
    ticket = world.psa.tickets[link.ticket_id or 0]
    assert ticket.company_id == 100 and ticket.title == "[Backupchecks] Acme - Nightly VMs - Error"
    assert ticket.priority == 1 and ticket.queue_id == 29683481
    async with world.uow() as uow:
        assert ticket.external_id == external_id((await uow.settings.get()).installation_id, "run-1")
        assert await uow.tickets.get("run-1") == link
    assert await audit_of(world, "ticket.create") == [(Outcome.OK, None)]


async def test_reference_falls_back_to_the_service_url() -> None:
    w = UseCaseWorld()
    await w.configure(backupchecks_base_url=None)
    await w.seed()
    link = (await CreateTicket(w.deps, base_url="https://bc.example.net").execute(OPERATOR, "run-1")).link
    assert w.psa.tickets[link.ticket_id or 0].description.endswith("Reference: https://bc.example.net/runs/run-1")


async def test_create_again_returns_the_same_ticket_without_calling_autotask(world: UseCaseWorld) -> None:
    first = await CreateTicket(world.deps).execute(OPERATOR, "run-1")
    calls = world.psa.calls["create_ticket"]
    again = await CreateTicket(world.deps).execute(OPERATOR, "run-1")
    assert again.outcome is Created.EXISTING and again.link == first.link
    assert world.psa.calls["create_ticket"] == calls == 1


@EVERY_BACKEND
async def test_concurrent_creates_make_exactly_one_ticket(world: UseCaseWorld) -> None:
    results = await asyncio.gather(*(CreateTicket(world.deps).execute(OPERATOR, "run-1") for _ in range(12)))
    assert len(world.psa.tickets) == 1
    assert [r.outcome for r in results].count(Created.CREATED) == 1
    assert {r.outcome for r in results} <= {Created.CREATED, Created.PENDING, Created.EXISTING}


@pytest.mark.parametrize(
    ("setup", "error", "code"),
    [
        ("disabled", NotConfigured, "integration_disabled"),
        ("unmapped", Conflict, "mapping_missing"),
        ("invalid", Conflict, "mapping_invalid"),
        ("success", Conflict, "run_not_ticketable"),
        ("unknown_run", NotFound, "run_not_found"),
    ],
)
async def test_create_refusals_are_audited_and_create_nothing(setup: str, error: type[UseCaseError], code: str) -> None:
    w = UseCaseWorld()
    await w.configure(enabled=setup != "disabled")
    run_id = "run-1"
    if setup == "unmapped":
        await w.seed(company_id=None)
    elif setup == "success":
        await w.seed(make_run(status=RunStatus.SUCCESS))
    elif setup != "unknown_run":
        await w.seed()
    if setup == "invalid":
        async with w.uow() as uow:
            m = await uow.mappings.get("cust-1")
            assert m is not None
            await uow.mappings.save(replace(m, status=MappingStatus.INVALID, status_reason="gone"))
            await uow.commit()
    with pytest.raises(error) as caught:
        await CreateTicket(w.deps).execute(OPERATOR, run_id)
    assert caught.value.code == code
    assert not w.psa.tickets and w.psa.calls["create_ticket"] == 0
    assert await audit_of(w, "ticket.create") == [(Outcome.DENIED, code)]
    async with w.uow() as uow:
        assert await uow.tickets.get(run_id) is None


async def test_reporter_may_not_create(world: UseCaseWorld) -> None:
    with pytest.raises(Forbidden):
        await CreateTicket(world.deps).execute(REPORTER, "run-1")
    assert not world.psa.tickets and await audit_of(world, "ticket.create") == [(Outcome.DENIED, "forbidden")]


async def test_rejected_create_releases_the_reservation(world: UseCaseWorld) -> None:
    world.psa.fail_next("create_ticket", PsaRejected("Missing Required Field: queueID"))
    with pytest.raises(AutotaskRejected, match="queueID"):
        await CreateTicket(world.deps).execute(OPERATOR, "run-1")
    async with world.uow() as uow:
        assert await uow.tickets.get("run-1") is None
    assert await audit_of(world, "ticket.create") == [(Outcome.FAILED, "autotask_rejected")]
    assert (await CreateTicket(world.deps).execute(OPERATOR, "run-1")).outcome is Created.CREATED


async def test_unavailable_before_sending_releases_the_reservation(world: UseCaseWorld) -> None:
    world.psa.fail_next("create_ticket", PsaUnavailable("429 Too Many Requests", throttled=True))
    with pytest.raises(AutotaskUnavailable):
        await CreateTicket(world.deps).execute(OPERATOR, "run-1")
    async with world.uow() as uow:
        assert await uow.tickets.get("run-1") is None
    assert world.psa.calls["find_ticket_by_external_id"] == 0


async def test_lost_answer_is_reconciled_by_external_id_never_created_twice(world: UseCaseWorld) -> None:
    world.psa.fail_next("create_ticket", LOST_ANSWER)
    with pytest.raises(AutotaskUnavailable):
        await CreateTicket(world.deps).execute(OPERATOR, "run-1")
    async with world.uow() as uow:
        link = await uow.tickets.get("run-1")
    assert link is not None and link.state is LinkState.PENDING and link.ambiguous
    result = await CreateTicket(world.deps).execute(OPERATOR, "run-1")
    assert result.outcome is Created.EXISTING and result.link.state is LinkState.LINKED
    assert len(world.psa.tickets) == 1 and world.psa.calls["create_ticket"] == 1
    assert result.link.ticket_id == next(iter(world.psa.tickets))


async def test_ambiguous_attempt_that_created_nothing_is_retried_once_looked_up(world: UseCaseWorld) -> None:
    world.psa.fail_next("create_ticket", PsaUnavailable("read timeout", maybe_applied=True))
    with pytest.raises(AutotaskUnavailable):
        await CreateTicket(world.deps).execute(OPERATOR, "run-1")
    waiting = await CreateTicket(world.deps).execute(OPERATOR, "run-1")  # it may still land: no new attempt yet
    assert waiting.outcome is Created.PENDING and world.psa.calls["create_ticket"] == 1
    world.clock.advance(121)  # stale, but Autotask may apply the POST until 300 s after its send deadline
    waiting = await CreateTicket(world.deps).execute(OPERATOR, "run-1")
    assert waiting.outcome is Created.PENDING and world.psa.calls["create_ticket"] == 1
    world.clock.advance(239)  # 360 s: the send deadline (60 s) and Autotask's 300 s have passed
    result = await CreateTicket(world.deps).execute(OPERATOR, "run-1")
    assert result.outcome is Created.CREATED and result.link.attempt == 2
    assert world.psa.calls["find_ticket_by_external_id"] == 3 and len(world.psa.tickets) == 1


async def test_a_create_still_landing_is_found_not_repeated(world: UseCaseWorld) -> None:
    world.psa.fail_next("create_ticket", LANDS_LATER)
    with pytest.raises(AutotaskUnavailable):
        await CreateTicket(world.deps).execute(OPERATOR, "run-1")
    assert not world.psa.tickets
    first = await CreateTicket(world.deps).execute(OPERATOR, "run-1")  # lookup: not there yet → wait
    assert first.outcome is Created.PENDING and not world.psa.tickets
    second = await CreateTicket(world.deps).execute(OPERATOR, "run-1")  # it has landed: found and linked
    assert second.outcome is Created.EXISTING and second.link.state is LinkState.LINKED
    assert len(world.psa.tickets) == 1 and world.psa.calls["create_ticket"] == 1


async def test_a_create_that_hangs_counts_as_outcome_unknown(world: UseCaseWorld) -> None:
    async def never(draft: TicketDraft) -> int:
        await asyncio.Event().wait()
        return 0

    deps = world.deps_with(create_ticket=lambda _: never)
    with pytest.raises(AutotaskUnavailable, match=r"no answer within 0\.05 seconds"):
        await CreateTicket(deps, stale_after_seconds=0.1).execute(OPERATOR, "run-1")
    async with world.uow() as uow:
        link = await uow.tickets.get("run-1")
    assert link is not None and link.state is LinkState.PENDING and link.ambiguous


async def test_failed_read_back_keeps_the_reservation_for_reconciliation(world: UseCaseWorld) -> None:
    world.psa.fail_next("get_ticket", PsaUnavailable("timeout"))
    with pytest.raises(AutotaskUnavailable):
        await CreateTicket(world.deps).execute(OPERATOR, "run-1")
    result = await CreateTicket(world.deps).execute(OPERATOR, "run-1")
    assert result.outcome is Created.EXISTING and len(world.psa.tickets) == 1


@EVERY_BACKEND
async def test_in_flight_reservation_answers_pending_until_stale(world: UseCaseWorld) -> None:
    """A crash between reserving and recording leaves a pending link: others wait, then reconcile."""
    from domain.tickets import TicketLink

    async with world.uow() as uow:
        settings = await uow.settings.get()
        await uow.tickets.reserve(
            TicketLink.reserve("run-1", external_id(settings.installation_id, "run-1"), "crashed", world.clock.now())
        )
        await uow.commit()
    pending = await CreateTicket(world.deps).execute(OPERATOR, "run-1")
    assert pending.outcome is Created.PENDING and not world.psa.tickets
    world.clock.advance(360)  # the crashed attempt may have been sent: Autotask's 300 s window after its deadline
    done = await CreateTicket(world.deps).execute(OPERATOR, "run-1")
    assert done.outcome is Created.CREATED and len(world.psa.tickets) == 1


async def created(world: UseCaseWorld) -> int:
    link = (await CreateTicket(world.deps).execute(OPERATOR, "run-1")).link
    assert link.ticket_id is not None
    return link.ticket_id


async def test_resolve_adds_internal_note_then_completes(world: UseCaseWorld) -> None:
    ticket_id = await created(world)
    link = await ResolveTicket(world.deps).execute(OPERATOR, "run-1")
    assert link.state is LinkState.RESOLVED and link.resolved_by == "oscar"
    assert link.status is not None and (link.status.value, link.status.label) == (5, "Complete")
    ticket = world.psa.tickets[ticket_id]
    assert [(n.description, n.publish, n.note_type) for n in ticket.notes] == [(CLOSING_NOTE, 2, 3)]
    kinds = [e.kind for e in world.psa.events if e.ticket_id == ticket_id]
    assert kinds == ["create", "note", "status"]
    assert await audit_of(world, "ticket.resolve") == [(Outcome.OK, None)]


async def test_resolve_refused_while_time_entries_exist(world: UseCaseWorld) -> None:
    ticket_id = await created(world)
    world.psa.add_time_entry(ticket_id)
    with pytest.raises(Conflict) as caught:
        await ResolveTicket(world.deps).execute(OPERATOR, "run-1")
    assert caught.value.code == "time_entries_present"
    assert world.psa.tickets[ticket_id].status == 1 and not world.psa.tickets[ticket_id].notes
    view = await GetTicket(world.deps).execute(OPERATOR, "run-1")
    assert not view.resolve.allowed and view.resolve.reason and view.resolve.reason.value == "time_entries_present"


async def test_resolve_checks_time_entries_live_not_from_the_snapshot(world: UseCaseWorld) -> None:
    ticket_id = await created(world)
    view = await GetTicket(world.deps).execute(OPERATOR, "run-1")
    assert view.resolve.allowed
    world.psa.add_time_entry(ticket_id)  # added in Autotask after the page was drawn
    with pytest.raises(Conflict, match="time entries"):
        await ResolveTicket(world.deps).execute(OPERATOR, "run-1")


@pytest.mark.parametrize(
    ("setup", "code"),
    [("disabled", "resolving_disabled"), ("closed", "already_closed"), ("deleted", "ticket_deleted")],
)
async def test_resolve_refusals(world: UseCaseWorld, setup: str, code: str) -> None:
    ticket_id = await created(world)
    if setup == "disabled":
        await world.configure(allow_resolve=False)
    elif setup == "closed":
        world.psa.set_status(ticket_id, 5)
    else:
        world.psa.delete_ticket(ticket_id)
    with pytest.raises(Conflict) as caught:
        await ResolveTicket(world.deps).execute(OPERATOR, "run-1")
    assert caught.value.code == code
    assert await audit_of(world, "ticket.resolve") == [(Outcome.DENIED, code)]
    if setup == "deleted":
        async with world.uow() as uow:
            link = await uow.tickets.get("run-1")
        assert link is not None and link.state is LinkState.DELETED


async def test_resolve_without_ticket_and_by_reporter(world: UseCaseWorld) -> None:
    with pytest.raises(NotFound) as caught:
        await ResolveTicket(world.deps).execute(OPERATOR, "run-1")
    assert caught.value.code == "no_ticket"
    await created(world)
    with pytest.raises(Forbidden):
        await ResolveTicket(world.deps).execute(REPORTER, "run-1")


async def test_retry_after_failed_completion_adds_no_second_note(world: UseCaseWorld) -> None:
    ticket_id = await created(world)
    world.psa.fail_next("complete_ticket", PsaUnavailable("timeout"))
    with pytest.raises(AutotaskUnavailable):
        await ResolveTicket(world.deps).execute(OPERATOR, "run-1")
    link = await ResolveTicket(world.deps).execute(OPERATOR, "run-1")
    assert link.state is LinkState.RESOLVED and len(world.psa.tickets[ticket_id].notes) == 1


async def test_lost_note_answer_is_found_by_text_not_added_again(world: UseCaseWorld) -> None:
    ticket_id = await created(world)
    world.psa.fail_next("add_ticket_note", LOST_ANSWER)
    with pytest.raises(AutotaskUnavailable):
        await ResolveTicket(world.deps).execute(OPERATOR, "run-1")
    await ResolveTicket(world.deps).execute(OPERATOR, "run-1")
    assert len(world.psa.tickets[ticket_id].notes) == 1 and world.psa.tickets[ticket_id].status == 5
    assert world.psa.calls["find_ticket_note"] == 1


@EVERY_BACKEND
async def test_concurrent_resolves_add_one_note(world: UseCaseWorld) -> None:
    ticket_id = await created(world)
    results = await asyncio.gather(
        *(ResolveTicket(world.deps).execute(OPERATOR, "run-1") for _ in range(6)), return_exceptions=True
    )
    assert len(world.psa.tickets[ticket_id].notes) == 1 and world.psa.tickets[ticket_id].status == 5
    assert any(not isinstance(r, BaseException) for r in results)
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, BaseException))


async def test_get_ticket_for_reporter_and_refresh(world: UseCaseWorld) -> None:
    ticket_id = await created(world)
    view = await GetTicket(world.deps).execute(REPORTER, "run-1")
    assert view.link.ticket_number and not view.resolve.allowed and view.resolve.reason
    assert view.resolve.reason.value == "forbidden"
    world.psa.set_status(ticket_id, 8)
    fresh = await GetTicket(world.deps).execute(OPERATOR, "run-1", refresh=True)
    assert fresh.link.status is not None and fresh.link.status.label == "In Progress"
    with pytest.raises(NotFound):
        await GetTicket(world.deps).execute(OPERATOR, "nope")


async def test_polling_notices_changes_and_deletions(world: UseCaseWorld) -> None:
    await world.seed(make_run("run-2"))
    await world.seed(make_run("run-3"))
    ids = [(await CreateTicket(world.deps).execute(OPERATOR, r)).link.ticket_id for r in ("run-1", "run-2", "run-3")]
    world.psa.set_status(ids[0] or 0, 5)
    world.psa.delete_ticket(ids[1] or 0)
    before = world.psa.calls["get_tickets"]
    summary = await RefreshTickets(world.deps).execute(OPERATOR)
    assert (summary.checked, summary.changed, summary.deleted) == (3, 1, 1)
    # one bulk read, one read confirming the deletion, the (cached) status labels
    assert world.psa.calls["get_tickets"] - before == 1 and summary.autotask_calls == 3
    async with world.uow() as uow:
        links = await uow.tickets.get_many(["run-1", "run-2", "run-3"])
    assert links["run-1"].status is not None and links["run-1"].status.closed
    assert links["run-2"].state is LinkState.DELETED and links["run-3"].state is LinkState.LINKED
    again = await RefreshTickets(world.deps).execute(OPERATOR, ["run-1", "run-2"])
    assert (again.checked, again.changed, again.deleted) == (1, 0, 0)


async def test_closing_note_must_be_internal(world: UseCaseWorld) -> None:
    ticket_id = await created(world)
    await world.configure(note_publish_id=1)  # "All Autotask Users"
    with pytest.raises(Conflict) as caught:
        await ResolveTicket(world.deps).execute(OPERATOR, "run-1")
    assert caught.value.code == "note_publish_not_internal"
    assert not world.psa.tickets[ticket_id].notes and world.psa.tickets[ticket_id].status == 1
    await world.configure(note_publish_id=None)  # none configured: the tenant's internal value is used
    await ResolveTicket(world.deps).execute(OPERATOR, "run-1")
    assert [n.publish for n in world.psa.tickets[ticket_id].notes] == [2]


async def test_time_logged_while_the_note_is_added_stops_the_completion(world: UseCaseWorld) -> None:
    ticket_id = await created(world)

    def time_during(add: Any) -> Any:
        async def note_then_time(ticket: int, note: NoteDraft) -> int:
            note_id: int = await add(ticket, note)
            world.psa.add_time_entry(ticket)  # a technician logs time at that moment
            return note_id

        return note_then_time

    with pytest.raises(Conflict) as caught:
        await ResolveTicket(world.deps_with(add_ticket_note=time_during)).execute(OPERATOR, "run-1")
    assert caught.value.code == "time_entries_present"
    assert world.psa.tickets[ticket_id].status == 1 and world.psa.calls["complete_ticket"] == 0


async def test_lost_completion_answer_is_finished_on_retry(world: UseCaseWorld) -> None:
    ticket_id = await created(world)
    world.psa.fail_next("complete_ticket", LOST_ANSWER)
    with pytest.raises(AutotaskUnavailable):
        await ResolveTicket(world.deps).execute(OPERATOR, "run-1")
    link = await ResolveTicket(world.deps).execute(OPERATOR, "run-1")
    assert link.state is LinkState.RESOLVED and link.resolved_by == "oscar"
    assert world.psa.calls["complete_ticket"] == 1 and len(world.psa.tickets[ticket_id].notes) == 1
    assert [o for o, _ in await audit_of(world, "ticket.resolve")] == [Outcome.FAILED, Outcome.OK]


async def test_refreshing_a_ticket_takes_the_ticket_permission_and_can_revive_a_deleted_link(
    world: UseCaseWorld,
) -> None:
    ticket_id = await created(world)
    with pytest.raises(Forbidden):
        await GetTicket(world.deps).execute(REPORTER, "run-1", refresh=True)
    hidden = world.psa.tickets.pop(ticket_id)  # e.g. the API user briefly lost access to it
    assert (await GetTicket(world.deps).execute(OPERATOR, "run-1", refresh=True)).link.state is LinkState.DELETED
    world.psa.tickets[ticket_id] = hidden
    view = await GetTicket(world.deps).execute(OPERATOR, "run-1", refresh=True)
    assert view.link.state is LinkState.LINKED and view.resolve.allowed
    assert [o for o, _ in await audit_of(world, "ticket.refresh")] == [Outcome.DENIED, Outcome.OK, Outcome.OK]


async def test_polling_confirms_a_ticket_missing_from_the_bulk_answer(world: UseCaseWorld) -> None:
    await created(world)

    async def nothing(ticket_ids: Sequence[int]) -> dict[int, TicketFacts]:
        return {}

    summary = await RefreshTickets(world.deps_with(get_tickets=lambda _: nothing)).execute(OPERATOR)
    assert (summary.checked, summary.deleted) == (1, 0)


async def test_a_note_call_that_hangs_ends_by_its_deadline_and_is_looked_up_next_time(world: UseCaseWorld) -> None:
    ticket_id = await created(world)

    async def never(ticket: int, note: NoteDraft) -> int:
        await asyncio.Event().wait()
        return 0

    with pytest.raises(AutotaskUnavailable, match="no answer within"):
        await ResolveTicket(world.deps_with(add_ticket_note=lambda _: never), stale_after_seconds=0.1).execute(
            OPERATOR, "run-1"
        )
    async with world.uow() as uow:
        link = await uow.tickets.get("run-1")
    assert link is not None and link.closing_note_attempted and link.closing_note_claimed_at is None
    await ResolveTicket(world.deps).execute(OPERATOR, "run-1")
    assert world.psa.calls["find_ticket_note"] == 1 and len(world.psa.tickets[ticket_id].notes) == 1


async def test_a_ticket_closed_by_a_person_is_not_recorded_as_resolved_by_backupchecks(world: UseCaseWorld) -> None:
    ticket_id = await created(world)

    def time_during(add: Any) -> Any:
        async def note_then_time(ticket: int, note: NoteDraft) -> int:
            note_id: int = await add(ticket, note)
            world.psa.add_time_entry(ticket)
            return note_id

        return note_then_time

    with pytest.raises(Conflict, match="time entries"):
        await ResolveTicket(world.deps_with(add_ticket_note=time_during)).execute(OPERATOR, "run-1")
    world.psa.set_status(ticket_id, 5)  # a technician closes it in Autotask
    with pytest.raises(Conflict) as caught:
        await ResolveTicket(world.deps).execute(OPERATOR, "run-1")
    assert caught.value.code == "already_closed"
    async with world.uow() as uow:
        link = await uow.tickets.get("run-1")
    assert link is not None and link.state is LinkState.LINKED and link.resolved_by is None


async def test_an_earlier_attempts_ticket_is_linked_even_if_the_run_changed_since(world: UseCaseWorld) -> None:
    world.psa.fail_next("create_ticket", LOST_ANSWER)
    with pytest.raises(AutotaskUnavailable):
        await CreateTicket(world.deps).execute(OPERATOR, "run-1")
    async with world.uow() as uow:
        await uow.runs.save(make_run(status=RunStatus.SUCCESS))  # core re-reports the run as a success
        await uow.commit()
    result = await CreateTicket(world.deps).execute(OPERATOR, "run-1")
    assert result.outcome is Created.EXISTING and result.link.state is LinkState.LINKED
    assert len(world.psa.tickets) == 1


async def test_a_revived_link_gets_its_number_and_url(world: UseCaseWorld) -> None:
    def gone_once(read: Any) -> Any:
        calls = []

        async def first_none(ticket_id: int) -> TicketFacts | None:
            calls.append(ticket_id)
            return None if len(calls) == 1 else await read(ticket_id)

        return first_none

    deps = world.deps_with(get_ticket=gone_once)
    link = (await CreateTicket(deps).execute(OPERATOR, "run-1")).link
    assert link.state is LinkState.DELETED and link.ticket_number is None
    view = await GetTicket(world.deps).execute(OPERATOR, "run-1", refresh=True)
    assert view.link.state is LinkState.LINKED and view.link.ticket_number and view.link.url


@EVERY_BACKEND
async def test_one_caller_reconciles_while_fifty_ask_at_once(world: UseCaseWorld) -> None:
    """After an attempt whose answer was lost, 50 concurrent creates spend the Autotask look-ups of one
    reconciliation, and none of them writes an audit record that calls for a person."""
    world.psa.fail_next("create_ticket", LOST_ANSWER)
    with pytest.raises(AutotaskUnavailable):
        await CreateTicket(world.deps).execute(OPERATOR, "run-1")

    def slow(find: Callable[[str], Awaitable[TicketFacts | None]]) -> Callable[[str], Awaitable[TicketFacts | None]]:
        async def finding(external: str) -> TicketFacts | None:
            await asyncio.sleep(0.05)  # the others arrive while the look-up runs
            return await find(external)

        return finding

    deps = world.deps_with(find_ticket_by_external_id=slow)
    before = dict(world.psa.calls)
    results = await asyncio.gather(*(CreateTicket(deps).execute(OPERATOR, "run-1") for _ in range(50)))
    spent = {name: world.psa.calls[name] - before.get(name, 0) for name in world.psa.calls}
    # the calls of one reconciliation: the look-up by externalID and the status labels
    assert {name: count for name, count in spent.items() if count} == {"find_ticket_by_external_id": 1, "picklists": 1}
    assert {r.outcome for r in results} <= {Created.EXISTING, Created.PENDING}
    assert sum(r.outcome is Created.EXISTING and r.link.state is LinkState.LINKED for r in results) >= 1
    assert len(world.psa.tickets) == 1 and world.psa.calls["create_ticket"] == 1
    assert await audit_of(world, "ticket.create") == [(Outcome.FAILED, "autotask_unavailable"), (Outcome.OK, None)]
    again = await CreateTicket(world.deps).execute(OPERATOR, "run-1")
    assert again.outcome is Created.EXISTING and again.link.reconcile_claimed_at is None


@EVERY_BACKEND
async def test_a_reconciliation_cut_short_is_taken_over_once_its_claim_is_stale(world: UseCaseWorld) -> None:
    world.psa.fail_next("create_ticket", LOST_ANSWER)
    with pytest.raises(AutotaskUnavailable):
        await CreateTicket(world.deps).execute(OPERATOR, "run-1")
    async with world.uow() as uow:  # a process took the claim, then died
        link = await uow.tickets.get("run-1")
        assert link is not None
        await uow.tickets.update(link.reconcile_claimed(world.clock.now()), link.version)
        await uow.commit()
    waiting = await CreateTicket(world.deps).execute(OPERATOR, "run-1")
    assert waiting.outcome is Created.PENDING and world.psa.calls["find_ticket_by_external_id"] == 0
    world.clock.advance(121)
    done = await CreateTicket(world.deps).execute(OPERATOR, "run-1")
    assert done.outcome is Created.EXISTING and done.link.state is LinkState.LINKED and len(world.psa.tickets) == 1


@EVERY_BACKEND
async def test_ticket_refresh_settles_what_a_crash_left_pending(world: UseCaseWorld) -> None:
    """A lost answer (ticket in Autotask), a failed read-back (ticket id kept), a crash before the call (stale, nothing
    in Autotask) and a create in flight: the refresh links the first two, releases the third, leaves the fourth."""
    from domain.tickets import TicketLink

    for run_id in ("run-2", "run-3", "run-4"):
        await world.seed(make_run(run_id))
    world.psa.fail_next("create_ticket", LOST_ANSWER)
    with pytest.raises(AutotaskUnavailable):
        await CreateTicket(world.deps).execute(OPERATOR, "run-1")
    world.psa.fail_next("get_ticket", PsaUnavailable("timeout"))
    with pytest.raises(AutotaskUnavailable):
        await CreateTicket(world.deps).execute(OPERATOR, "run-2")
    async with world.uow() as uow:
        settings = await uow.settings.get()
        await uow.tickets.reserve(
            TicketLink.reserve("run-3", external_id(settings.installation_id, "run-3"), "crashed", world.clock.now())
        )
        await uow.commit()
    world.clock.advance(360)
    async with world.uow() as uow:
        await uow.tickets.reserve(
            TicketLink.reserve("run-4", external_id(settings.installation_id, "run-4"), "in-flight", world.clock.now())
        )
        await uow.commit()
    summary = await RefreshTickets(world.deps).execute(OPERATOR)
    assert (summary.checked, summary.settled, summary.released) == (4, 2, 1)
    async with world.uow() as uow:
        links = await uow.tickets.get_many(["run-1", "run-2", "run-3", "run-4"])
    assert links["run-1"].state is links["run-2"].state is LinkState.LINKED and "run-3" not in links
    assert links["run-4"].state is LinkState.PENDING and len(world.psa.tickets) == 2
    assert world.psa.calls["create_ticket"] == 2
    done = await CreateTicket(world.deps).execute(OPERATOR, "run-3")
    assert done.outcome is Created.CREATED and len(world.psa.tickets) == 3
