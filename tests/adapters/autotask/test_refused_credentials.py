"""Refused credentials remembered for every process (docs/adr/0030): two Autotask connectors sharing one store are two
processes (two `serve` workers, or a worker and a cron run of the CLI) on one database. Against the simulator over HTTP,
counting the failed logins it saw: a refused secret costs one login in all until the retry window or an admin's Test
connection; after the window exactly one process retries. The clock is injected; nothing waits."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from adapters.autotask import AutotaskConnector
from adapters.autotask.connector import REFUSAL_RETRY_SECONDS
from adapters.autotask_simulator import Simulator, running_simulator
from adapters.memory.refusals import MemoryRefusedCredentials
from adapters.sql import SqlStorage
from adapters.sql.refusals import SqlRefusedCredentials
from application.errors import AutotaskRejected, StorageUnavailable
from application.ports import (
    AuthFailure,
    Credentials,
    PsaAuthError,
    Refusal,
    RefusedCredentials,
    UnitOfWorkFactory,
)
from application.use_cases.diagnostics import CheckConnection, GetUsage
from domain.settings import ApiLogLevel, Environment
from entrypoints.container import make_refusals
from tests.storage_backends import backend_params, storage_backend
from tests.support import ADMIN, PASSWORD, FixedClock, UseCaseWorld

USER, TRACKING = "api@example.com", "TRACKING01"
SETTINGS = Credentials(Environment.SANDBOX, USER, PASSWORD, TRACKING, ApiLogLevel.ERRORS)
"""What Backupchecks' settings hold."""
OLD = "the secret Autotask still holds"
WINDOW = REFUSAL_RETRY_SECONDS
LOGIN = "GET ThresholdInformation"
"""The call every test makes (`usage()`): the first request that sends the secret."""


@dataclass
class Processes:
    sim: Simulator
    clock: FixedClock
    one: AutotaskConnector
    two: AutotaskConnector
    stores: tuple[RefusedCredentials, RefusedCredentials]
    base: str
    storage: UnitOfWorkFactory

    def another(self) -> AutotaskConnector:
        """A third process on the same store: a cron run of `backupchecks tickets refresh`."""
        return AutotaskConnector(zone_discovery_urls=[self.base], refusals=self.stores[0], clock=self.clock)


@asynccontextmanager
async def processes(backend: str, sim: Simulator) -> AsyncIterator[Processes]:
    """Two connectors sharing the refusals: one in-memory store (one process's), or two SQL storages (two engines and
    pools, as two processes have) on one database."""
    clock = FixedClock()
    with running_simulator(sim) as base:
        async with storage_backend(backend) as storage:
            second = SqlStorage(storage.url) if isinstance(storage, SqlStorage) else None
            stores: tuple[RefusedCredentials, RefusedCredentials]
            if second is None:
                shared = MemoryRefusedCredentials()
                stores = (shared, shared)
            else:
                stores = (make_refusals(storage), make_refusals(second))
            one, two = (AutotaskConnector(zone_discovery_urls=[base], refusals=s, clock=clock) for s in stores)
            try:
                yield Processes(sim, clock, one, two, stores, base, storage)
            finally:
                await one.aclose()
                await two.aclose()
                if second is not None:
                    await second.dispose()


async def refused(connector: AutotaskConnector, credentials: Credentials = SETTINGS) -> PsaAuthError:
    with pytest.raises(PsaAuthError) as caught:
        await connector.connect(credentials).usage()
    return caught.value


@pytest.mark.parametrize("backend", backend_params())
async def test_a_refused_secret_costs_one_login_across_processes_until_the_window(backend: str) -> None:
    async with processes(backend, Simulator(USER, OLD, TRACKING)) as p:
        first = await refused(p.one)
        assert first.failure is AuthFailure.BAD_SECRET
        for connector in (p.two, p.one, p.two, p.another()):  # the other worker, this one again, a cron run
            again = await refused(connector)
            assert again.failure is AuthFailure.BAD_SECRET and "Test connection" in again.message
        assert p.sim.failed_logins == 1 and p.sim.counts[LOGIN] == 1
        assert p.sim.counts["GET zoneInformation"] == 1  # the others did not even look the zone up

        p.clock.advance(WINDOW - 1)
        await refused(p.two)
        await refused(p.another())
        assert p.sim.failed_logins == 1

        p.clock.advance(1)  # the window is over: one retry, by whichever process asks first
        await refused(p.two)
        await refused(p.one)
        await refused(p.another())
        assert p.sim.failed_logins == 2  # the retry started the window again

        p.clock.advance(WINDOW)
        await asyncio.gather(*(refused(c) for c in (p.one, p.two, p.one, p.two)))  # at once: still one
        assert p.sim.failed_logins == 3

        changed = replace(SETTINGS, secret=OLD)  # the admin enters what Autotask holds: another digest, tried
        assert (await p.two.connect(changed).usage()).limit > 0
        assert (await p.one.connect(changed).usage()).limit > 0
        assert p.sim.failed_logins == 3
        await refused(p.one)  # the refused ones stay refused
        assert p.sim.failed_logins == 3


@pytest.mark.parametrize("backend", backend_params())
async def test_test_connection_in_one_process_clears_the_refusal_for_the_other(backend: str) -> None:
    """The new secret had not reached Autotask yet; once it has, an admin's Test connection (served by one worker)
    makes it usable in the other at once, without a failed login."""
    async with processes(backend, Simulator(USER, OLD, TRACKING)) as p:
        await refused(p.one)
        p.sim.set_secret(PASSWORD)  # it has reached Autotask now
        await refused(p.two)  # not asked: known to be refused
        assert p.sim.failed_logins == 1 and p.sim.counts[LOGIN] == 1

        assert (await p.two.connect(SETTINGS, fresh=True).usage()).limit > 0  # Test connection tries once more
        assert await p.stores[0].get(SETTINGS.digest) is None  # forgotten for every process
        assert (await p.one.connect(SETTINGS).usage()).limit > 0
        assert (await p.another().connect(SETTINGS).usage()).limit > 0
        assert p.sim.failed_logins == 1


@pytest.mark.parametrize("backend", backend_params())
async def test_a_failed_test_connection_costs_one_login_and_starts_the_window_again(backend: str) -> None:
    async with processes(backend, Simulator(USER, OLD, TRACKING)) as p:
        await refused(p.one)
        p.clock.advance(WINDOW - 60)
        with pytest.raises(PsaAuthError):
            await p.two.connect(SETTINGS, fresh=True).usage()
        assert p.sim.failed_logins == 2
        p.clock.advance(60)  # the first refusal's window is over, but the admin's try was just now
        await refused(p.one)
        await refused(p.two)
        assert p.sim.failed_logins == 2
        stored = await p.stores[1].get(SETTINGS.digest)
        assert stored is not None and stored.refused_at == p.clock.now() - timedelta(seconds=60)


@pytest.mark.parametrize("backend", backend_params())
async def test_after_the_window_one_retry_heals_a_propagation_delay_for_every_process(backend: str) -> None:
    async with processes(backend, Simulator(USER, OLD, TRACKING)) as p:
        await refused(p.one)
        p.sim.set_secret(PASSWORD)  # reached Autotask; nobody runs Test connection
        p.clock.advance(WINDOW)
        assert (await p.two.connect(SETTINGS).usage()).limit > 0  # the one retry: it works now
        assert await p.stores[0].get(SETTINGS.digest) is None  # forgotten for every process
        for connector in (p.one, p.two, p.another()):
            assert (await connector.connect(SETTINGS).usage()).limit > 0
        assert p.sim.failed_logins == 1 and p.sim.counts[LOGIN] == 5  # the refusal, the retry, three uses


@pytest.mark.parametrize("backend", backend_params())
async def test_an_unknown_username_costs_one_zone_look_up_across_processes(backend: str) -> None:
    async with processes(backend, Simulator(USER, PASSWORD, TRACKING)) as p:
        unknown = replace(SETTINGS, username="nobody@example.com")
        for connector in (p.one, p.two, p.another()):
            assert (await refused(connector, unknown)).failure is AuthFailure.UNKNOWN_USER
        assert p.sim.counts["GET zoneInformation"] == 1 and p.sim.failed_logins == 0


async def test_one_try_is_one_login_even_when_a_gateways_calls_run_at_once() -> None:
    """Within one process: a try after the window (or Test connection) with a cached zone still costs one login, and
    the calls of one gateway made together wait for the try's answer instead of each sending the secret."""
    async with processes("memory", Simulator(USER, OLD, TRACKING)) as p:
        p.sim.set_secret(PASSWORD)
        assert (await p.one.connect(SETTINGS).usage()).limit > 0  # the zone is cached in `one` now
        p.sim.set_secret(OLD)
        await refused(p.one)  # a cached zone: re-discovered once, as for a moved tenant
        logins = p.sim.failed_logins
        p.clock.advance(WINDOW)
        gateway = p.one.connect(SETTINGS)
        outcomes = await asyncio.gather(gateway.usage(), gateway.get_ticket(1), gateway.usage(), return_exceptions=True)
        assert all(isinstance(o, PsaAuthError) for o in outcomes)
        assert p.sim.failed_logins == logins + 1
        with pytest.raises(PsaAuthError):
            await p.one.connect(SETTINGS, fresh=True).usage()
        assert p.sim.failed_logins == logins + 2  # Test connection: one more login, not two


@pytest.mark.parametrize("backend", backend_params(("sqlite", "postgres")))
async def test_the_database_holds_a_digest_never_the_credentials(backend: str) -> None:
    async with processes(backend, Simulator(USER, OLD, TRACKING)) as p:
        await refused(p.one)
        assert isinstance(p.stores[0], SqlRefusedCredentials) and isinstance(p.storage, SqlStorage)
        async with p.storage.engine.connect() as conn:
            rows = (await conn.execute(sa.text("SELECT * FROM refused_credentials"))).all()
        assert len(rows) == 1 and rows[0].digest == SETTINGS.digest and len(SETTINGS.digest) == 64
        text = repr(tuple(rows[0]))
        assert PASSWORD not in text and USER not in text and TRACKING not in text
        assert rows[0].failure == "bad_secret"


class BrokenStore(MemoryRefusedCredentials):
    """A store whose database went away after `get`: remembering and forgetting fail."""

    lost = False

    async def get(self, digest: str) -> Refusal | None:
        if self.lost:
            raise StorageUnavailable("storage unavailable: gone")
        return await super().get(digest)

    async def remember(self, digest: str, failure: AuthFailure, message: str, at: datetime) -> None:
        raise StorageUnavailable("storage unavailable: gone")

    async def forget(self, digest: str) -> None:
        raise StorageUnavailable("storage unavailable: gone")


async def test_a_lost_database_sends_nothing_and_never_hides_autotasks_answer() -> None:
    store = BrokenStore()
    clock = FixedClock()
    sim = Simulator(USER, OLD, TRACKING)
    with running_simulator(sim) as base:
        connector = AutotaskConnector(zone_discovery_urls=[base], refusals=store, clock=clock)
        try:
            first = await refused(connector)  # Autotask's refusal, not the storage error, though it was not stored
            assert first.failure is AuthFailure.BAD_SECRET
            store.refusals[SETTINGS.digest] = Refusal(AuthFailure.BAD_SECRET, "Unauthorized", clock.now())
            sim.set_secret(PASSWORD)
            assert (await connector.connect(SETTINGS, fresh=True).usage()).limit > 0  # not forgotten, still answered
            store.lost = True
            sent = sum(sim.counts.values())
            with pytest.raises(StorageUnavailable):  # not known whether refused: not sent
                await connector.connect(SETTINGS).usage()
            assert sum(sim.counts.values()) == sent
        finally:
            await connector.aclose()


async def test_the_use_cases_test_connection_in_one_worker_clears_the_other() -> None:
    """The same through the use cases: Usage fails in one worker, Test connection (another worker) succeeds once the
    secret has reached Autotask, and the first worker's next use works, one failed login in all."""
    world = UseCaseWorld()
    await world.configure()
    sim = Simulator(USER, OLD, TRACKING)
    shared = MemoryRefusedCredentials()
    with running_simulator(sim) as base:
        one, two = (AutotaskConnector(zone_discovery_urls=[base], refusals=shared) for _ in range(2))
        first, second = (dataclasses.replace(world.deps, psa=c) for c in (one, two))
        try:
            for deps in (first, second, first):
                with pytest.raises(AutotaskRejected):
                    await GetUsage(deps).execute(ADMIN)
            assert sim.failed_logins == 1
            sim.set_secret(PASSWORD)
            result = await CheckConnection(second).execute(ADMIN)
            assert result.ok, result.message
            assert (await GetUsage(first).execute(ADMIN)).limit > 0
            assert sim.failed_logins == 1
        finally:
            await one.aclose()
            await two.aclose()
