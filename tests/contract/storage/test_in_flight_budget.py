"""The in-flight budget (Autotask's 3 requests per tracking identifier and entity): in-process, shared by every
process on one host through lock files (the SQLite deployment), and shared by every process through PostgreSQL advisory
locks. What only the lock files do (real processes, kill -9, names and modes) is in test_file_lock_budget.py."""

from __future__ import annotations

import asyncio
import tempfile
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from adapters.autotask.budget import LocalBudget
from adapters.file_budget import FileLockBudget
from adapters.sql import SqlStorage
from adapters.sql.budget import AdvisoryLockBudget
from application.errors import StorageUnavailable
from application.ports import InFlightBudget
from tests.storage_backends import backend_params, empty_database, execute_on_server, postgres_url

BUDGETS = [*backend_params(("memory",)), pytest.param("host", id="host"), *backend_params(("postgres",))]


@asynccontextmanager
async def budgets(name: str) -> AsyncIterator[tuple[InFlightBudget, InFlightBudget]]:
    """Two budgets as two processes would hold them: one shared in-process budget, two budgets on one folder of lock
    files, or two engines (two pools, two sets of sessions) on one PostgreSQL database."""
    if name == "memory":
        shared = LocalBudget()
        yield shared, shared
        return
    if name == "host":
        with tempfile.TemporaryDirectory() as folder:
            yield FileLockBudget(Path(folder) / "budget"), FileLockBudget(Path(folder) / "budget")
        return
    async with empty_database(name) as url:
        first, second = SqlStorage(url), SqlStorage(url)
        try:
            yield AdvisoryLockBudget(first.engine), AdvisoryLockBudget(second.engine)
        finally:
            await first.dispose()
            await second.dispose()


@pytest.mark.parametrize("name", BUDGETS)
async def test_at_most_three_hold_one_key_across_both(name: str) -> None:
    async with budgets(name) as (one, two):
        holding: Counter[str] = Counter()
        most: Counter[str] = Counter()

        async def request(budget: InFlightBudget, key: str) -> None:
            async with budget.slot(key, timeout=10.0):
                holding[key] += 1
                most[key] = max(most[key], holding[key])
                await asyncio.sleep(0.05)
                holding[key] -= 1

        work = [request((one, two)[i % 2], key) for i in range(8) for key in ("t1:Tickets", "t1:Companies")]
        await asyncio.gather(*work)
        assert most == {"t1:Tickets": 3, "t1:Companies": 3}  # each entity has its own 3, shared by both
        assert sum(holding.values()) == 0


@pytest.mark.parametrize("name", BUDGETS)
async def test_a_full_budget_times_out_and_frees_every_slot_after_use(name: str) -> None:
    async with budgets(name) as (one, two):
        release = asyncio.Event()

        async def hold() -> None:
            async with one.slot("t1:Tickets", timeout=5.0):
                await release.wait()

        holders = [asyncio.ensure_future(hold()) for _ in range(3)]
        await asyncio.sleep(0.2)
        with pytest.raises(TimeoutError):
            async with two.slot("t1:Tickets", timeout=0.3):
                pass
        async with two.slot("t2:Tickets", timeout=1.0):  # another tracking identifier is not held up
            pass
        release.set()
        await asyncio.gather(*holders)
        for _ in range(3):  # all three slots are free again, and a failing request frees its slot too
            with pytest.raises(RuntimeError):
                async with two.slot("t1:Tickets", timeout=1.0):
                    raise RuntimeError("the request failed")
        async with AsyncExitStack() as stack:
            for _ in range(3):
                await stack.enter_async_context(one.slot("t1:Tickets", timeout=1.0))


async def _refuse_connections(url: str, allow: bool) -> None:
    """PostgreSQL restarting or failing over, as a client sees it: the database refuses new connections (SQLSTATE
    55000) and the ones it had are terminated (57P01)."""
    server, database = postgres_url(), make_url(url).database
    assert server is not None
    await execute_on_server(server, f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allow).lower()}')
    if not allow:
        await execute_on_server(
            server,
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}' "
            "AND pid <> pg_backend_pid()",
        )


@pytest.mark.parametrize("name", backend_params(("postgres",)))
async def test_a_database_refusing_connections_is_unavailable_and_a_lost_slot_is_no_error(name: str) -> None:
    async with empty_database(name) as url:
        storage = SqlStorage(url)
        budget = AdvisoryLockBudget(storage.engine)
        try:
            async with budget.slot("t1:Tickets", timeout=5.0):
                await _refuse_connections(url, allow=False)  # the slot's own connection is terminated meanwhile
            # ... and the request that held it keeps its answer: no error on leaving the slot.
            with pytest.raises(StorageUnavailable) as refused:
                async with budget.slot("t1:Tickets", timeout=5.0):
                    pass
            assert refused.value.code == "database_unavailable"
            with pytest.raises(StorageUnavailable):
                async with storage(read_only=True) as uow:
                    await uow.settings.get()
        finally:
            await _refuse_connections(url, allow=True)
            await storage.dispose()
