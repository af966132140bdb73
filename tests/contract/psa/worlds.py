"""The only backend-specific code of the PSA contract: how each backend's world is seeded and made to misbehave.

A world hands out gateways (through the backend's own connector) and changes the PSA behind their back the way a
person in Autotask would.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Protocol

from adapters.autotask import AutotaskConnector
from adapters.autotask_simulator import Fault, Simulator, running_simulator
from adapters.fake_psa import FakeConnector, FakePsa
from adapters.fake_psa.fake import LOST_ANSWER
from application.ports import AccessLevel, Credentials, PsaConnector, PsaGateway, PsaUnavailable
from domain.settings import ApiLogLevel, Environment

USERNAME, SECRET, TRACKING = "api@example.com", "s3cret", "TRACKING01"
GOOD = Credentials(Environment.SANDBOX, USERNAME, SECRET, TRACKING, ApiLogLevel.ERRORS)


class ShiftedClock:
    """The PSA's clock: real time, moved on by `later` (so a test puts minutes between changes)."""

    def __init__(self) -> None:
        self.shift = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.shift

    def later(self, minutes: float) -> datetime:
        self.shift += timedelta(minutes=minutes)
        return self.now()


class PsaWorld(Protocol):
    name: str

    @property
    def connector(self) -> PsaConnector: ...

    def gateway(self, credentials: Credentials = GOOD) -> PsaGateway: ...
    def add_company(self, company_id: int, name: str, *, active: bool = True) -> None: ...
    def rename_company(self, company_id: int, name: str) -> None: ...
    def deactivate_company(self, company_id: int) -> None: ...
    def delete_ticket(self, ticket_id: int) -> None: ...
    def add_time_entry(self, ticket_id: int) -> None: ...
    def set_status(self, ticket_id: int, status: int) -> None: ...
    def break_company_reads(self) -> None:
        """Every company read answers 'unavailable' until `heal()`."""

    def heal(self) -> None: ...
    def lose_next_create_answer(self) -> None:
        """The next ticket creation is applied, and its answer lost."""

    def tickets_with_external_id(self, external_id: str) -> int: ...
    def due_at(self, ticket_id: int) -> datetime | None: ...
    def requests(self) -> int:
        """Requests that reached the PSA so far."""

    def restrict(self, area: str, *, create: AccessLevel | None = None, query: AccessLevel | None = None) -> None:
        """The API user's security level on `area` ("tickets", "notes", "time_entries", "companies")."""

    def later(self, minutes: float) -> datetime:
        """The PSA's clock moved on by `minutes`; answers its time now."""


class FakeWorld:
    name = "fake"

    def __init__(self) -> None:
        self.clock = ShiftedClock()
        self.psa = FakePsa(accept=(USERNAME, SECRET, TRACKING), clock=self.clock.now)
        self.connector = FakeConnector(self.psa)

    def later(self, minutes: float) -> datetime:
        return self.clock.later(minutes)

    def gateway(self, credentials: Credentials = GOOD) -> PsaGateway:
        return self.connector.connect(credentials)

    def add_company(self, company_id: int, name: str, *, active: bool = True) -> None:
        self.psa.add_company(company_id, name, active=active)

    def rename_company(self, company_id: int, name: str) -> None:
        self.psa.rename_company(company_id, name)

    def deactivate_company(self, company_id: int) -> None:
        self.psa.deactivate_company(company_id)

    def delete_ticket(self, ticket_id: int) -> None:
        self.psa.delete_ticket(ticket_id)

    def add_time_entry(self, ticket_id: int) -> None:
        self.psa.add_time_entry(ticket_id)

    def set_status(self, ticket_id: int, status: int) -> None:
        self.psa.set_status(ticket_id, status)

    def break_company_reads(self) -> None:
        self.psa.fail_next("get_company", *[PsaUnavailable("Service Unavailable")] * 100)

    def heal(self) -> None:
        self.psa.faults.clear()

    def lose_next_create_answer(self) -> None:
        self.psa.fail_next("create_ticket", LOST_ANSWER)

    def tickets_with_external_id(self, external_id: str) -> int:
        return len(self.psa.tickets_with_external_id(external_id))

    def due_at(self, ticket_id: int) -> datetime | None:
        return self.psa.tickets[ticket_id].due_at

    def requests(self) -> int:
        return self.psa.total_calls

    def restrict(self, area: str, *, create: AccessLevel | None = None, query: AccessLevel | None = None) -> None:
        self.psa.restrict(area, create=create, query=query)


class SimulatorWorld:
    """The real adapter talking HTTP to the Autotask simulator."""

    name = "simulator"

    def __init__(
        self, sim: Simulator, connector: AutotaskConnector, sleeps: list[float], clock: ShiftedClock | None = None
    ) -> None:
        self.sim = sim
        self.connector = connector
        self.clock = clock
        """The simulator's clock, when the world made the simulator."""
        self.sleeps = sleeps
        """The backoff waits the adapter asked for (not waited: the contract runs fast; waits are tested in
        tests/adapters/autotask)."""

    def gateway(self, credentials: Credentials = GOOD) -> PsaGateway:
        return self.connector.connect(credentials)

    def later(self, minutes: float) -> datetime:
        if self.clock is None:
            raise RuntimeError("the simulator was made by the test, with its own clock")
        return self.clock.later(minutes)

    def add_company(self, company_id: int, name: str, *, active: bool = True) -> None:
        self.sim.add_company(company_id, name, active=active)

    def rename_company(self, company_id: int, name: str) -> None:
        self.sim.rename_company(company_id, name)

    def deactivate_company(self, company_id: int) -> None:
        self.sim.deactivate_company(company_id)

    def delete_ticket(self, ticket_id: int) -> None:
        self.sim.delete_ticket(ticket_id)

    def add_time_entry(self, ticket_id: int) -> None:
        self.sim.add_time_entry(ticket_id)

    def set_status(self, ticket_id: int, status: int) -> None:
        self.sim.set_ticket_status(ticket_id, status)

    def break_company_reads(self) -> None:
        self.sim.inject(Fault("server_error", entity="Companies", times=None))

    def heal(self) -> None:
        self.sim.clear_faults()

    def lose_next_create_answer(self) -> None:
        self.sim.inject(Fault("lost_answer", entity="Tickets", method="POST"))

    def tickets_with_external_id(self, external_id: str) -> int:
        return sum(1 for t in self.sim.tickets.values() if t.get("externalID") == external_id)

    def due_at(self, ticket_id: int) -> datetime | None:
        due = self.sim.tickets[ticket_id].get("dueDateTime")
        return None if due is None else datetime.fromisoformat(due.replace("Z", "+00:00"))

    def requests(self) -> int:
        return sum(self.sim.counts.values())

    def restrict(self, area: str, *, create: AccessLevel | None = None, query: AccessLevel | None = None) -> None:
        entity = {"tickets": "Tickets", "time_entries": "TimeEntries", "notes": "TicketNotes", "companies": "Companies"}
        words = {AccessLevel.FULL: "All", AccessLevel.LIMITED: "Restricted", AccessLevel.NONE: "None", None: None}
        self.sim.set_access(entity[area], create=words[create], query=words[query])


@asynccontextmanager
async def simulator_world(sim: Simulator | None = None, *, timeout: float = 30.0) -> AsyncIterator[SimulatorWorld]:
    clock = ShiftedClock() if sim is None else None
    sim = sim if sim is not None else Simulator(clock=clock.now if clock else None)
    sleeps: list[float] = []

    async def record(seconds: float) -> None:
        sleeps.append(seconds)

    with running_simulator(sim) as zone_base:
        connector = AutotaskConnector(zone_discovery_urls=[zone_base], timeout=timeout)
        connector.transport.sleep = record
        connector.transport.now = lambda: time.monotonic() + sum(sleeps)  # time passes in the waits not waited
        try:
            yield SimulatorWorld(sim, connector, sleeps, clock)
        finally:
            await connector.aclose()
