"""The budget shared by the processes of one host through lock files (adapters/file_budget.py), as real processes meet
it: two processes of eight holders each never hold more than 3 of a key at once, a process killed with SIGKILL while
holding frees its slots, the files are private and name no secret, and the container picks it for a SQLite file. The
guarantees it shares with the other budgets are in test_in_flight_budget.py."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import re
import signal
import stat
import sys
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.autotask import AutotaskConnector
from adapters.autotask.budget import LocalBudget
from adapters.autotask_simulator import Fault, Simulator, running_simulator
from adapters.file_budget import FileLockBudget, lock_name
from adapters.memory import MemoryStore
from adapters.sql import SqlStorage
from adapters.sql.budget import AdvisoryLockBudget
from application.errors import StorageUnavailable
from application.ports import Credentials
from domain.draft import TicketDraft
from domain.settings import ApiLogLevel, Environment
from entrypoints.container import make_budget
from tests.storage_backends import backend_params, empty_database

KEY = "0123456789abcdef:Tickets"
HOLDERS = 8
USERNAME, SECRET, TRACKING = "api@example.com", "s3cret", "TRACKING01"
SPAWN = multiprocessing.get_context("spawn")


def _holders(folder: str, log: str, start: Any, hold: float) -> None:
    """One process: after the start barrier, HOLDERS parallel requests on KEY, each writing `+ pid` to the shared log
    once it holds its slot and `- pid` before it lets go (O_APPEND: each line one atomic write)."""
    budget = FileLockBudget(Path(folder))
    out = os.open(log, os.O_WRONLY | os.O_APPEND)
    tag = str(os.getpid())

    async def request() -> None:
        async with budget.slot(KEY, timeout=60.0):
            os.write(out, f"+ {tag}\n".encode())
            await asyncio.sleep(hold)
            os.write(out, f"- {tag}\n".encode())

    async def main() -> None:
        await asyncio.gather(*(request() for _ in range(HOLDERS)))

    start.wait(60)
    asyncio.run(main())
    os.close(out)


def test_two_processes_of_eight_holders_never_hold_more_than_three(tmp_path: Path) -> None:
    """Each holder's `+ … -` lies inside the time it held its slot, so the log never shows more holders than there
    were: the count is exact, whatever the timing."""
    log = tmp_path / "holders.log"
    log.touch()
    start = SPAWN.Barrier(2)
    processes = [
        SPAWN.Process(target=_holders, args=(str(tmp_path / "budget"), str(log), start, 0.05)) for _ in range(2)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [p.exitcode for p in processes] == [0, 0]
    events = [line.split() for line in log.read_text().splitlines()]
    held = peak = 0
    mixed = False
    holding: Counter[str] = Counter()
    for sign, pid in events:
        held += 1 if sign == "+" else -1
        holding[pid] += 1 if sign == "+" else -1
        peak = max(peak, held)
        mixed = mixed or sum(1 for n in holding.values() if n > 0) == 2
    print(f"\npeak held at once: {peak}; both processes holding at once: {mixed}")
    assert held == 0 and peak <= 3
    assert Counter(pid for sign, pid in events if sign == "+") == {str(p.pid): HOLDERS for p in processes}


def _hold_all(folder: str, held: Any) -> None:
    """One process taking every slot of KEY, then sleeping until it is killed."""

    async def main() -> None:
        budget = FileLockBudget(Path(folder))
        async with AsyncExitStack() as stack:
            for _ in range(3):
                await stack.enter_async_context(budget.slot(KEY, timeout=10.0))
            held.set()
            await asyncio.sleep(600)

    asyncio.run(main())


async def test_a_process_killed_while_holding_frees_its_slots(tmp_path: Path) -> None:
    folder = tmp_path / "budget"
    held = SPAWN.Event()
    process = SPAWN.Process(target=_hold_all, args=(str(folder), held), daemon=True)
    process.start()
    try:
        assert await asyncio.to_thread(held.wait, 60)
        budget = FileLockBudget(folder)
        with pytest.raises(TimeoutError):  # the other process holds all three
            async with budget.slot(KEY, timeout=0.2):
                pass

        async def waiter() -> None:
            async with budget.slot(KEY, timeout=30.0):
                pass

        waiting = asyncio.ensure_future(waiter())  # polling while the holder dies
        os.kill(process.pid or 0, signal.SIGKILL)  # no cleanup, no finally: only the kernel closes its files
        await asyncio.to_thread(process.join, 30)
        assert process.exitcode == -signal.SIGKILL
        await waiting
        async with AsyncExitStack() as stack:  # all three are free again
            for _ in range(3):
                await stack.enter_async_context(budget.slot(KEY, timeout=5.0))
    finally:
        if process.is_alive():
            process.kill()
            process.join(10)


async def test_a_cancelled_waiter_takes_nothing(tmp_path: Path) -> None:
    budget = FileLockBudget(tmp_path / "budget")
    async with AsyncExitStack() as stack:
        for _ in range(3):
            await stack.enter_async_context(budget.slot(KEY, timeout=1.0))

        async def waiter() -> None:
            async with budget.slot(KEY, timeout=30.0):
                raise AssertionError("never reached while the three are held")

        waiting = asyncio.ensure_future(waiter())
        await asyncio.sleep(0.05)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
    async with AsyncExitStack() as stack:
        for _ in range(3):
            await stack.enter_async_context(budget.slot(KEY, timeout=1.0))


async def test_files_are_private_and_a_key_that_is_not_plain_is_named_by_its_digest(tmp_path: Path) -> None:
    folder = tmp_path / "budget"
    folder.mkdir(mode=0o755)
    budget = FileLockBudget(folder)
    odd = "../not/a/name s3cret"
    async with budget.slot(KEY, timeout=1.0), budget.slot(odd, timeout=1.0):
        pass
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700  # narrowed
    names = sorted(p.name for p in folder.iterdir())
    stems = (KEY, lock_name(odd))
    assert names == sorted(f"{stem}.{part}.lock" for stem in stems for part in ("0", "turn", "want"))
    assert lock_name(odd).startswith("sha256.") and "s3cret" not in lock_name(odd)
    assert all(stat.S_IMODE(p.stat().st_mode) & 0o077 == 0 for p in folder.iterdir())
    assert list(tmp_path.iterdir()) == [folder]  # nothing escaped the folder


async def test_an_unusable_folder_is_storage_unavailable(tmp_path: Path) -> None:
    (tmp_path / "not-a-folder").write_text("")
    blocked = FileLockBudget(tmp_path / "not-a-folder" / "budget")
    with pytest.raises(StorageUnavailable, match="lock files"):
        async with blocked.slot(KEY, timeout=1.0):
            pass
    (tmp_path / "not-a-folder").unlink()  # the folder can be made now: the same budget makes it and serves
    async with blocked.slot(KEY, timeout=1.0):
        pass
    folder = tmp_path / "budget"
    folder.mkdir()
    (folder / f"{KEY}.0.lock").symlink_to(tmp_path / "elsewhere")  # never followed
    with pytest.raises(StorageUnavailable):
        async with FileLockBudget(folder).slot(KEY, timeout=1.0):
            pass
    assert not (tmp_path / "elsewhere").exists()


def test_it_says_so_off_linux(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    with pytest.raises(RuntimeError, match="needs Linux"):
        FileLockBudget(tmp_path)


DRAFT = TicketDraft(
    company_id=100,
    title="[Backupchecks] Acme - Nightly - Error",
    description="Backup failed",
    status=1,
    priority=2,
    queue_id=8,
    issue_type_id=None,
    sub_issue_type_id=None,
    source_id=None,
    external_id="bc-file",
    due_at=datetime(2026, 1, 16, 2, 10, tzinfo=UTC),
)


async def test_two_connectors_on_one_folder_stay_under_the_limit_and_name_no_secret(tmp_path: Path) -> None:
    """Two Autotask clients with budgets of their own on one folder (two processes on one SQLite file, say): the
    simulator never sees a 4th request in flight on Tickets, and the lock files are named by the digest of the
    tracking identifier and the entity only."""
    sim = Simulator.seeded(username=USERNAME, secret=SECRET, integration_code=TRACKING)
    credentials = Credentials(Environment.SANDBOX, USERNAME, SECRET, TRACKING, ApiLogLevel.ERRORS)
    folder = tmp_path / "budget"
    with running_simulator(sim) as zone_url:
        connectors = [AutotaskConnector(zone_discovery_urls=[zone_url], budget=FileLockBudget(folder)) for _ in "ab"]
        try:
            sim.inject(Fault("latency", entity="Tickets", method="POST", seconds=0.05, times=None))
            gateways = [c.connect(credentials) for c in connectors]
            drafts = [replace(DRAFT, external_id=f"bc-file-{i}") for i in range(8)]
            await asyncio.gather(*(gateways[i % 2].create_ticket(d) for i, d in enumerate(drafts)))
            await gateways[0].search_companies("Acme")
        finally:
            for connector in connectors:
                await connector.aclose()
    assert len(sim.tickets) == 8
    assert sim.peak_in_flight["Tickets"] == 3 and sim.thread_refusals["Tickets"] == 0
    names = [p.name for p in folder.iterdir()]
    assert {"Tickets", "Companies"} <= {re.sub(r"\.\d\.lock$", "", n).partition(":")[2] for n in names}
    assert all(re.fullmatch(r"[0-9a-f]{16}:[A-Za-z]+\.([0-2]|turn|want)\.lock", n) for n in names), names
    assert not any(word.lower() in n.lower() for n in names for word in (USERNAME, SECRET, TRACKING))


@pytest.mark.parametrize("backend", [pytest.param("sqlite", id="sqlite"), *backend_params(("postgres",))])
async def test_the_container_picks_the_budget_by_storage(backend: str, tmp_path: Path) -> None:
    assert type(make_budget(MemoryStore())) is LocalBudget
    memory = SqlStorage("sqlite+aiosqlite:///:memory:")
    try:
        assert type(make_budget(memory)) is LocalBudget  # a database in memory is one process's own
    finally:
        await memory.dispose()
    if backend == "sqlite":
        storage = SqlStorage(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'backupchecks.sqlite3'}")
        try:
            budget = make_budget(storage)
            assert isinstance(budget, FileLockBudget) and budget.folder == (tmp_path / "data" / "budget").resolve()
        finally:
            await storage.dispose()
        return
    async with empty_database(backend) as url:
        storage = SqlStorage(url)
        try:
            assert type(make_budget(storage)) is AdvisoryLockBudget
        finally:
            await storage.dispose()
