"""Two `serve` processes on one SQLite file (the embedded default: no BACKUPCHECKS_DATABASE_URL) share Autotask's
thread budget through the lock files beside the database (docs/adr/0023-one-thread-budget-across-processes.md).

8 parallel company searches per server (16 at once), each one `POST Companies/query` at Autotask, the simulator
answering each after 300 ms and refusing a 4th request in flight on an entity: every search answers 200, the simulator
never sees more than 3 in flight on Companies and refuses none, so each search cost exactly one request. The peak is
printed and recorded (docs/performance.md)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import httpx
import pytest

from adapters.autotask_simulator import Fault, Simulator
from verify.conftest import Stack, configure, record

SEARCHES_PER_SERVER = 8
LATENCY = 0.3
QUERY = "POST Companies/query"


@dataclass
class SqliteStack(Stack):
    """The stack on the embedded SQLite default in the data folder (each `serve` migrates it at start)."""

    @property
    def env(self) -> dict[str, str]:
        env = super().env
        del env["BACKUPCHECKS_DATABASE_URL"]
        return env


@pytest.fixture(scope="module")
def sqlite_stack(simulator: tuple[Simulator, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteStack]:
    sim, zone_url = simulator
    built = SqliteStack("", sim, zone_url, tmp_path_factory.mktemp("verify-sqlite"))
    with ExitStack() as cleanup:
        cleanup.callback(built.stop_all)
        built.start()
        configure(built)
        built.start()
        yield built


async def test_two_servers_on_one_sqlite_file_never_exceed_three_in_flight(sqlite_stack: SqliteStack) -> None:
    stack, sim = sqlite_stack, sqlite_stack.sim
    for server in stack.servers:  # each server discovers its zone once (zone discovery is exempt from the budget)
        warm = stack.call("GET", "/api/v1/autotask/companies", server=server, params={"search": "Acme"})
        assert warm.status_code == 200, warm.text
    assert (stack.data_dir / "budget").is_dir()  # the lock files beside backupchecks.sqlite3
    sim.peak_in_flight.clear()
    sim.thread_refusals.clear()
    before = sim.counts[QUERY]
    sim.inject(Fault("latency", entity="Companies", seconds=LATENCY, times=None))
    started = time.monotonic()
    try:
        async with httpx.AsyncClient(headers=stack.headers(), timeout=60) as client:
            answers = await asyncio.gather(
                *(
                    client.get(f"{stack.servers[i % 2].url}/api/v1/autotask/companies", params={"search": "Acme"})
                    for i in range(2 * SEARCHES_PER_SERVER)
                )
            )
    finally:
        sim.clear_faults()
    elapsed = time.monotonic() - started
    statuses = Counter(a.status_code for a in answers)
    requests = sim.counts[QUERY] - before
    peak, refusals = sim.peak_in_flight["Companies"], sim.thread_refusals["Companies"]
    print(
        f"\n2 servers on one SQLite file × {SEARCHES_PER_SERVER} searches: {dict(statuses)}; peak in flight on "
        f"Companies: {peak}; thread-limit refusals: {refusals}; Companies/query requests: {requests}; {elapsed:.2f} s"
    )
    record(
        "host budget (SQLite, 2 servers)",
        searches=2 * SEARCHES_PER_SERVER,
        latency_ms=int(LATENCY * 1000),
        peak_in_flight=peak,
        thread_refusals=refusals,
        requests=requests,
        seconds=round(elapsed, 2),
    )
    assert statuses == {200: 2 * SEARCHES_PER_SERVER}, [a.text for a in answers if a.status_code != 200]
    assert peak <= 3 and refusals == 0
    assert requests == 2 * SEARCHES_PER_SERVER  # none refused, so none sent twice
