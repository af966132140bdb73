"""A bounded load on PostgreSQL through one `serve` process: runs list, run detail, and creates on distinct runs.
Throughput, p50, p99 and errors are reported (printed and written to docs/reliability.md), not asserted as timings;
only errors are asserted (none)."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

import httpx

from verify.conftest import Stack, record

CONCURRENCY = 8
LIST_REQUESTS = 400
DETAIL_REQUESTS = 400
CREATES = 120


async def measure(
    requests: int,
    send: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]],
    stack: Stack,
    ok: tuple[int, ...] = (200,),
) -> dict[str, float | int]:
    latencies: list[float] = []
    errors = 0
    queue = iter(range(requests))

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        for i in queue:
            started = time.perf_counter()
            answer = await send(client, i)
            latencies.append(time.perf_counter() - started)
            errors += answer.status_code not in ok

    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=stack.servers[0].url, headers=stack.headers(), timeout=60) as client:
        await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "requests": requests,
        "per_second": round(requests / elapsed, 1),
        "p50_ms": round(cuts[49] * 1000, 1),
        "p99_ms": round(cuts[98] * 1000, 1),
        "errors": errors,
    }


async def test_bounded_load_on_postgresql(stack: Stack) -> None:
    runs = stack.seed_runs("load", CREATES)
    listing = await measure(LIST_REQUESTS, lambda c, i: c.get("/api/v1/runs", params={"limit": 50}), stack)
    detail = await measure(DETAIL_REQUESTS, lambda c, i: c.get(f"/api/v1/runs/{runs[i % len(runs)]}"), stack)
    creates = await measure(CREATES, lambda c, i: c.post(f"/api/v1/runs/{runs[i]}/autotask-ticket"), stack, (201,))
    for name, figures in (("load runs list", listing), ("load run detail", detail), ("load creates", creates)):
        record(name, concurrency=CONCURRENCY, **figures)
    assert listing["errors"] == detail["errors"] == creates["errors"] == 0
    assert all(stack.tickets_for(run_id) == 1 for run_id in runs[:10])
