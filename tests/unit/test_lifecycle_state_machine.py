"""A hypothesis state machine over the ticket lifecycle: the real use cases on a store and the fake PSA, driven by
operators (create, create again, concurrent creates, resolve, concurrent resolves, polling), by people in Autotask
(time entries, closing, deleting) and by failures (lost answers, timeouts, rejections), with a crash-and-wait clock.

Invariants after every step:
- never two tickets for a run (by externalID), and a run's linked ticket never changes;
- never completed by Backupchecks while the ticket had time entries;
- the closing note is added at most once per ticket, internal, and before Backupchecks changes the status.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from adapters.fake_psa.fake import LANDS_LATER, LOST_ANSWER
from application.errors import UseCaseError
from application.ports import PsaRejected, PsaUnavailable
from application.use_cases.create_ticket import CreateTicket
from application.use_cases.refresh_tickets import RefreshTickets
from application.use_cases.resolve_ticket import ResolveTicket
from domain.draft import external_id
from domain.tickets import CLOSING_NOTE
from tests.storage_backends import backend_params, storage_backend
from tests.support import OPERATOR, UseCaseWorld, make_run

RUNS = ("run-1", "run-2")
INTERNAL = 2
FAULTS: dict[str, list[Any]] = {
    "create_ticket": [
        LOST_ANSWER,
        LANDS_LATER,
        PsaUnavailable("read timeout", maybe_applied=True),
        PsaUnavailable("429", throttled=True),
        PsaRejected("Missing Required Field: queueID"),
    ],
    "get_ticket": [PsaUnavailable("timeout")],
    "find_ticket_by_external_id": [PsaUnavailable("timeout")],
    "count_time_entries": [PsaUnavailable("timeout")],
    "add_ticket_note": [LOST_ANSWER, PsaUnavailable("connection reset")],
    "find_ticket_note": [PsaUnavailable("timeout")],
    "complete_ticket": [LOST_ANSWER, PsaUnavailable("timeout")],
    "get_tickets": [PsaUnavailable("timeout")],
}


class TicketLifecycle(RuleBasedStateMachine):
    backend = "memory"

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.storage = storage_backend(self.backend)
        self.world = UseCaseWorld(uow=self.loop.run_until_complete(self.storage.__aenter__()))
        self.linked: dict[str, int] = {}
        self.creates_when_known: dict[str, int] = {}
        self.installation = ""

    def run(self, *coroutines: Any) -> list[Any]:
        async def together() -> list[Any]:
            return await asyncio.gather(*coroutines, return_exceptions=True)

        results = self.loop.run_until_complete(together())
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, UseCaseError):
                raise result
        return results

    def teardown(self) -> None:
        self.loop.run_until_complete(self.storage.__aexit__(None, None, None))
        self.loop.close()

    @initialize()
    def setup(self) -> None:
        async def seed() -> str:
            await self.world.configure()
            for run_id in RUNS:
                await self.world.seed(make_run(run_id))
            async with self.world.uow() as uow:
                return (await uow.settings.get()).installation_id

        self.installation = self.loop.run_until_complete(seed())

    def ticket_of(self, run_id: str) -> int | None:
        found = self.world.psa.tickets_with_external_id(external_id(self.installation, run_id))
        return found[0].id if found else None

    # -- operators -----------------------------------------------------------------------------------------------
    @rule(run_id=st.sampled_from(RUNS), callers=st.integers(min_value=1, max_value=3))
    def create(self, run_id: str, callers: int) -> None:
        self.run(*(CreateTicket(self.world.deps).execute(OPERATOR, run_id) for _ in range(callers)))

    @rule(run_id=st.sampled_from(RUNS), callers=st.integers(min_value=1, max_value=2))
    def resolve(self, run_id: str, callers: int) -> None:
        self.run(*(ResolveTicket(self.world.deps).execute(OPERATOR, run_id) for _ in range(callers)))

    @rule()
    def poll(self) -> None:
        self.run(RefreshTickets(self.world.deps).execute(OPERATOR))

    # -- people in Autotask --------------------------------------------------------------------------------------
    @rule(run_id=st.sampled_from(RUNS))
    def add_time_entry(self, run_id: str) -> None:
        ticket = self.ticket_of(run_id)
        if ticket is not None:
            self.world.psa.add_time_entry(ticket)

    @rule(run_id=st.sampled_from(RUNS))
    def close_in_autotask(self, run_id: str) -> None:
        ticket = self.ticket_of(run_id)
        if ticket is not None:
            self.world.psa.set_status(ticket, 5)

    @rule(run_id=st.sampled_from(RUNS))
    def delete_in_autotask(self, run_id: str) -> None:
        ticket = self.ticket_of(run_id)
        if ticket is not None:
            self.world.psa.delete_ticket(ticket)

    # -- failures and time ---------------------------------------------------------------------------------------
    @rule(operation=st.sampled_from(sorted(FAULTS)), data=st.data())
    def fail_next(self, operation: str, data: st.DataObject) -> None:
        self.world.psa.fail_next(operation, data.draw(st.sampled_from(FAULTS[operation])))

    @precondition(lambda self: any(self.world.psa.faults.values()))
    @rule()
    def faults_pass(self) -> None:
        self.world.psa.faults.clear()

    @rule(seconds=st.sampled_from([5, 130]))
    def time_passes(self, seconds: int) -> None:
        if seconds >= 120:  # what Autotask accepted is processed within the stale timeout (ADR 0002's assumption)
            self.world.psa.settle()
        self.world.clock.advance(seconds)

    # -- invariants ----------------------------------------------------------------------------------------------
    @invariant()
    def one_ticket_per_run(self) -> None:
        for run_id in RUNS:
            assert len(self.world.psa.tickets_with_external_id(external_id(self.installation, run_id))) <= 1

    @invariant()
    def no_create_once_a_ticket_is_known(self) -> None:
        """A ticket deleted by a person in Autotask is not re-created once Backupchecks knows its id; only an
        attempt whose answer was lost, and whose ticket was deleted before it could be found, may be made again."""
        creates = [e.detail for e in self.world.psa.events if e.kind == "create"]
        for run_id, known_at in self.creates_when_known.items():
            assert creates.count(external_id(self.installation, run_id)) == known_at, "a run got a second ticket"

    @invariant()
    def linked_ticket_never_changes(self) -> None:
        async def links() -> dict[str, Any]:
            async with self.world.uow() as uow:
                return await uow.tickets.get_many(list(RUNS))

        for run_id, link in self.loop.run_until_complete(links()).items():
            if link.ticket_id is not None:
                assert self.linked.setdefault(run_id, link.ticket_id) == link.ticket_id
                creates = [e.detail for e in self.world.psa.events if e.kind == "create"]
                self.creates_when_known.setdefault(run_id, creates.count(link.external_id))

    @invariant()
    def completed_only_without_time_entries_and_after_one_internal_note(self) -> None:
        seen_time: set[int] = set()
        notes: dict[int, int] = {}
        for event in self.world.psa.events:
            if event.kind == "time_entry":
                seen_time.add(event.ticket_id)
            elif event.kind == "note":
                notes[event.ticket_id] = notes.get(event.ticket_id, 0) + 1
                assert event.detail == str(INTERNAL), "the closing note was not internal"
                assert notes[event.ticket_id] == 1, "a second closing note"
            elif event.kind == "status":
                assert event.ticket_id not in seen_time, "completed while time entries exist"
                assert notes.get(event.ticket_id) == 1, "completed before the closing note"
        for ticket in self.world.psa.tickets.values():
            assert all(n.description == CLOSING_NOTE for n in ticket.notes)


TicketLifecycle.TestCase.settings = settings(
    max_examples=200, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_ticket_lifecycle_in_memory = TicketLifecycle.TestCase


@pytest.mark.parametrize("backend", backend_params(("sqlite", "postgres")))
def test_ticket_lifecycle_on_sql_storage(backend: str) -> None:
    machine = type(f"TicketLifecycle_{backend}", (TicketLifecycle,), {"backend": backend})
    settings_ = settings(
        max_examples=20, stateful_step_count=20, deadline=None, suppress_health_check=list(HealthCheck)
    )
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(machine, settings=settings_)
