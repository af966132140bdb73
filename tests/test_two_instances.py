"""Issue 8's proof: two `backupchecks serve` processes on one PostgreSQL database share Autotask's thread budget.

Eight operators create tickets for eight runs at once, half through each process, while Autotask (the simulator)
answers every Tickets request after 300 ms and refuses a fourth request in flight on one entity. Every create must
answer 201, and the simulator must never see more than 3 requests in flight on Tickets. Bounded: loopback only, one
attempt, a timeout on every step (about 10 seconds in all). Needs BACKUPCHECKS_TEST_POSTGRES_URL.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager, ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from adapters.autotask_simulator import Fault, Simulator, running_simulator
from adapters.sql.migrate import upgrade
from tests.storage_backends import backend_params, empty_database

BIN = Path(sys.executable).parent / "backupchecks"
USER, SECRET, TRACKING = "api@example.com", "s3cret", "TRACKING01"
CREATES = 8
SETTINGS = {
    "enabled": True,
    "environment": "sandbox",
    "api_username": USER,
    "api_password": SECRET,
    "tracking_identifier": TRACKING,
    "default_queue_id": 29683325,
    "priority_error_id": 2,
    "priority_warning_id": 3,
}
LATENCY = 0.3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(env: dict[str, str], pids: list[int] | None = None) -> Iterator[str]:
    """One `backupchecks serve` process on a free loopback port; its base URL once /ready answers (its pid added to
    `pids`)."""
    port = free_port()
    process = subprocess.Popen(
        [str(BIN), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    if pids is not None:
        pids.append(process.pid)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                assert process.stderr is not None  # a pipe: stderr=PIPE above
                raise RuntimeError(f"serve did not start: {process.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


async def drive(bases: list[str], token: str) -> list[int]:
    """Configure through the first process, then 8 parallel creates spread over both; the status codes."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(headers=headers, timeout=30) as client:
        first = bases[0]
        settings = {**SETTINGS, "allow_resolve": True}
        assert (await client.put(f"{first}/api/v1/settings/autotask", json=settings)).status_code == 200
        assert (await client.put(f"{first}/api/v1/customers/c1", json={"name": "Acme"})).status_code == 201
        mapped = await client.put(f"{first}/api/v1/customers/c1/autotask-mapping", json={"company_id": 100})
        assert mapped.status_code == 200, mapped.text
        for n in range(CREATES):
            run = {
                "customer_id": "c1",
                "job_name": f"Job {n}",
                "backup_software": "Veeam",
                "backup_type": "Backup",
                "run_at": "2026-12-01T02:00:00Z",
                "status": "error",
                "objects": [],
                "messages": ["failed"],
            }
            assert (await client.put(f"{first}/api/v1/runs/run-{n}", json=run)).status_code == 201
        answers = await asyncio.gather(
            *(client.post(f"{bases[n % 2]}/api/v1/runs/run-{n}/autotask-ticket") for n in range(CREATES))
        )
        return [a.status_code for a in answers]


@pytest.mark.parametrize("backend", backend_params(("postgres",)))
def test_two_processes_on_one_postgresql_never_exceed_three_in_flight(backend: str, tmp_path: Path) -> None:
    sim = Simulator.seeded(username=USER, secret=SECRET, integration_code=TRACKING)
    with ExitStack() as stack:
        url = stack.enter_context(_sync(empty_database(backend)))
        upgrade(url)
        zone_url = stack.enter_context(running_simulator(sim))
        env = {
            **os.environ,
            "BACKUPCHECKS_DATABASE_URL": url,
            "BACKUPCHECKS_SECRET_KEY": "issue-8-two-instances",
            "BACKUPCHECKS_AUTOTASK_ZONE_URL": zone_url,
            "BACKUPCHECKS_DATA_DIR": str(tmp_path),
            "BACKUPCHECKS_SCHEDULER": "off",  # only the operators' creates reach Autotask here
        }
        token = admin_token(env)
        bases = [stack.enter_context(serving(env)) for _ in range(2)]
        sim.inject(Fault("latency", entity="Tickets", seconds=LATENCY, times=None))
        statuses = asyncio.run(drive(bases, token))
    peak, refusals = sim.peak_in_flight["Tickets"], sim.thread_refusals["Tickets"]
    print(
        f"\ncreates: {statuses}; peak in flight on Tickets: {peak}; thread-limit refusals: {refusals}; "
        f"tickets: {len(sim.tickets)}; requests: {dict(sim.counts)}"
    )
    assert statuses == [201] * CREATES
    assert len(sim.tickets) == CREATES and sorted(t["externalID"] for t in sim.tickets.values()) == sorted(
        {t["externalID"] for t in sim.tickets.values()}
    )
    assert peak <= 3 and refusals == 0


@contextmanager
def _sync(manager: AbstractAsyncContextManager[str]) -> Iterator[str]:
    """An async context manager (the test database) entered from this synchronous test."""
    loop = asyncio.new_event_loop()
    try:
        value = loop.run_until_complete(manager.__aenter__())
        try:
            yield value
        finally:
            loop.run_until_complete(manager.__aexit__(None, None, None))
    finally:
        loop.close()


# ------------------------------------------------------------------------------------ issue 17: the scheduler's lease
MINUTE = 0.5
"""Seconds per minute of the job intervals in these processes: the status sync runs every 0.5 s."""
LEASE = 2.0


def admin_token(env: dict[str, str]) -> str:
    made = subprocess.run(
        [str(BIN), "users", "add", "admin", "--role", "admin", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return str(json.loads(made.stdout)["token"])


def configure_sync(base: str, token: str) -> None:
    settings = {**SETTINGS, "status_sync_minutes": 1, "mapping_check_hours": 0}
    answer = httpx.put(f"{base}/api/v1/settings/autotask", json=settings, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text


def sync_runs(base: str, token: str) -> list[str]:
    """The times of the scheduled status syncs, oldest first, from the audit log (actor `system`)."""
    query: dict[str, str | int] = {"actor": "system", "action": "ticket.refresh", "order": "asc", "limit": 500}
    answer = httpx.get(f"{base}/api/v1/audit", params=query, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    return [r["at"] for r in answer.json()["items"]]


def holder_pid(url: str) -> int | None:
    """The pid in the status sync's lease holder (`host:pid:nonce`) while it is held, read from the database."""
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    async def read() -> str | None:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:
                statement = sa.text("SELECT holder FROM job_leases WHERE job = 'status_sync'")
                row = (await connection.execute(statement)).first()
        finally:
            await engine.dispose()
        return None if row is None else row[0]

    holder = asyncio.run(read())
    return None if holder is None else int(holder.split(":")[1])


def open_tickets(base: str, token: str, count: int) -> None:
    """`count` runs of one mapped customer, each with its ticket (links for the status sync to poll)."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        assert client.put("/api/v1/customers/c1", json={"name": "Acme"}).status_code in (200, 201)
        assert client.put("/api/v1/customers/c1/autotask-mapping", json={"company_id": 100}).status_code == 200
        for n in range(count):
            run = {
                "customer_id": "c1",
                "job_name": f"Job {n}",
                "backup_software": "Veeam",
                "backup_type": "Backup",
                "run_at": "2026-12-01T02:00:00Z",
                "status": "error",
                "objects": [],
                "messages": ["failed"],
            }
            assert client.put(f"/api/v1/runs/run-{n}", json=run).status_code == 201
            assert client.post(f"/api/v1/runs/run-{n}/autotask-ticket").status_code == 201


@pytest.mark.parametrize("backend", backend_params(("sqlite", "postgres")))
def test_two_processes_run_the_status_sync_one_at_a_time_and_take_over_a_dead_holder(
    backend: str, tmp_path: Path
) -> None:
    """Both processes tick every 0.2 s for a job due every 0.5 s: the runs they make between them are never closer
    than the interval (two runners would each run it). Then a slow sync is held by one process, which is killed
    with SIGKILL: the other takes the job over within one lease (2 s)."""
    import signal
    from datetime import datetime

    sim = Simulator.seeded(username=USER, secret=SECRET, integration_code=TRACKING)
    with ExitStack() as stack:
        url = stack.enter_context(_sync(empty_database(backend)))
        upgrade(url)
        zone_url = stack.enter_context(running_simulator(sim))
        env = {
            **os.environ,
            "BACKUPCHECKS_DATABASE_URL": url,
            "BACKUPCHECKS_SECRET_KEY": "issue-17-scheduler",
            "BACKUPCHECKS_AUTOTASK_ZONE_URL": zone_url,
            "BACKUPCHECKS_DATA_DIR": str(tmp_path),
            "BACKUPCHECKS_SCHEDULER_TICK_SECONDS": "0.2",
            "BACKUPCHECKS_SCHEDULER_LEASE_SECONDS": str(LEASE),
            "BACKUPCHECKS_SCHEDULER_MINUTE_SECONDS": str(MINUTE),
        }
        token = admin_token(env)
        pids: list[int] = []
        bases = [stack.enter_context(serving(env, pids)) for _ in range(2)]
        configure_sync(bases[0], token)
        open_tickets(bases[0], token, 3)
        deadline = time.monotonic() + 30
        while len(sync_runs(bases[1], token)) < 6 and time.monotonic() < deadline:
            time.sleep(0.2)
        runs = [datetime.fromisoformat(at) for at in sync_runs(bases[1], token)]
        assert len(runs) >= 6
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(runs)]
        assert min(gaps) >= MINUTE, gaps  # one runner at a time: each run starts an interval after the last ended

        # A slow sync (each Tickets read takes 3 s): kill its holder mid-run; the other process takes it over.
        sim.inject(Fault("latency", entity="Tickets", seconds=3.0, times=None))
        before = len(sync_runs(bases[1], token))
        deadline = time.monotonic() + 30
        pid = holder_pid(url)
        while pid is None and time.monotonic() < deadline:
            time.sleep(0.05)
            pid = holder_pid(url)
        assert pid in pids
        os.kill(pid, signal.SIGKILL)
        survivor = bases[1 - pids.index(pid)]
        killed_at = time.monotonic()
        while len(sync_runs(survivor, token)) <= before and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(sync_runs(survivor, token)) > before
        print(f"\nruns: {len(runs)}, smallest gap {min(gaps):.2f} s; taken over {time.monotonic() - killed_at:.1f} s")
