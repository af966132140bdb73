"""Two `serve` processes on one PostgreSQL, many concurrent creates per run, simulator latency on: one ticket per
run, and after an attempt whose answer was lost one reconciliation, with no audit record calling for a person."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx

from adapters.autotask_simulator import Fault
from verify.conftest import Stack, record

RUNS = 8
CALLERS = 40


async def burst(stack: Stack, run_id: str, callers: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=60, headers=stack.headers()) as client:
        return await asyncio.gather(
            *(
                client.post(f"{stack.servers[i % len(stack.servers)].url}/api/v1/runs/{run_id}/autotask-ticket")
                for i in range(callers)
            )
        )


async def settled(stack: Stack, run_id: str) -> bool:
    """The run's link ends linked: at once, or once a create of unknown outcome is reconciled (stale after 3 s)."""
    for _ in range(20):
        final = stack.call("POST", f"/api/v1/runs/{run_id}/autotask-ticket")
        if final.status_code in (200, 201) and final.json()["state"] == "linked":
            return True
        await asyncio.sleep(0.5)
    return False


def tickets_of(stack: Stack, run_ids: list[str]) -> dict[str, int]:
    """How many tickets Autotask holds for each run (by the externalID of the ticket its link names)."""
    return {run_id: stack.tickets_for(run_id) for run_id in run_ids}


async def test_concurrent_creates_on_two_servers_make_one_ticket_per_run(stack: Stack) -> None:
    while len(stack.servers) < 2:
        stack.start()
    runs = stack.seed_runs("conc", RUNS)
    stack.sim.inject(Fault("latency", seconds=0.05, times=None))
    started = time.monotonic()
    try:
        answers = {run_id: await burst(stack, run_id, CALLERS) for run_id in runs}
    finally:
        stack.sim.clear_faults()
    elapsed = time.monotonic() - started
    statuses = Counter(a.status_code for run_answers in answers.values() for a in run_answers)
    # A 503 is allowed only as Autotask unavailable: on a loaded machine a create can outlast the servers' 2 s Autotask
    # timeout, and its outcome is then unknown; the link stays pending and is reconciled, never created twice.
    assert set(statuses) <= {200, 201, 202, 503}, statuses
    unavailable = [a for run_answers in answers.values() for a in run_answers if a.status_code == 503]
    assert all(a.json()["code"] == "autotask_unavailable" for a in unavailable)
    for run_id, run_answers in answers.items():
        assert sum(a.status_code == 201 for a in run_answers) <= 1, run_id
        assert await settled(stack, run_id), run_id
    assert tickets_of(stack, runs) == dict.fromkeys(runs, 1)
    records = [r for r in stack.audit() if r["action"] == "ticket.create" and r["target_id"] in runs]
    assert sorted(r["target_id"] for r in records if r["outcome"] == "ok") == sorted(runs)
    assert sum(r["outcome"] == "failed" for r in records) == len(unavailable)
    record(
        "concurrency",
        runs=RUNS,
        callers_per_run=CALLERS,
        servers=2,
        requests=RUNS * CALLERS,
        statuses=dict(sorted(statuses.items())),
        tickets=RUNS,
        seconds=round(elapsed, 1),
    )


async def test_a_lost_answer_is_reconciled_once_across_servers(stack: Stack) -> None:
    while len(stack.servers) < 2:
        stack.start()
    runs = stack.seed_runs("lost", 3)
    lookups = 0
    for run_id in runs:
        stack.sim.inject(Fault("lost_answer", entity="Tickets", method="POST"))
        first = stack.call("POST", f"/api/v1/runs/{run_id}/autotask-ticket")
        assert first.status_code == 503 and first.json()["code"] == "autotask_unavailable"
        stack.sim.inject(Fault("latency", seconds=0.2, times=None))
        before = stack.sim.counts["GET Tickets/query"] + stack.sim.counts["POST Tickets/query"]
        try:
            answers = await burst(stack, run_id, CALLERS)
        finally:
            stack.sim.clear_faults()
        lookups += stack.sim.counts["GET Tickets/query"] + stack.sim.counts["POST Tickets/query"] - before
        assert {a.status_code for a in answers} <= {200, 202}
        final = stack.call("POST", f"/api/v1/runs/{run_id}/autotask-ticket")
        assert final.status_code == 200 and final.json()["state"] == "linked"
    assert tickets_of(stack, runs) == dict.fromkeys(runs, 1)
    records = [r for r in stack.audit() if r["action"] == "ticket.create" and r["target_id"] in runs]
    assert not [r for r in records if r["details"].get("code") == "link_changed"]
    assert Counter((r["outcome"], r["details"].get("reconciled")) for r in records) == {
        ("failed", None): 3,
        ("ok", True): 3,
    }
    assert lookups == len(runs)  # one look-up by externalID per reconciliation, whatever the callers
    record(
        "reconciliation", runs=len(runs), callers_per_run=CALLERS, externalid_lookups=lookups, link_changed_records=0
    )
