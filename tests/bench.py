"""Benchmarks (`make bench`): speed goals live here, never in tests. Prints one line per benchmark with its goal."""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import replace

from application.use_cases.create_ticket import CreateTicket
from domain.draft import ticket_description
from domain.runs import Customer, ObjectStatus, RunObject
from tests.support import OPERATOR, World, make_run


def measure(name: str, goal_ms: float, repeat: int, action: Callable[[], object]) -> None:
    """Time first (tracemalloc slows Python down), then one traced call for the peak memory."""
    started = time.perf_counter()
    for _ in range(repeat):
        action()
    per_call = (time.perf_counter() - started) * 1000 / repeat
    tracemalloc.start()
    action()
    peak = tracemalloc.get_traced_memory()[1] / 1024 / 1024
    tracemalloc.stop()
    verdict = "ok" if per_call <= goal_ms else "SLOW"
    print(f"{name:<55} {per_call:9.3f} ms/op  (goal ≤ {goal_ms} ms)  peak {peak:6.1f} MiB  {verdict}")


def bench_description() -> None:
    run = replace(make_run(), objects=tuple(RunObject(f"VM{i:05}", ObjectStatus.ERROR, "VM", "Snapshot failed " * 4)
                                            for i in range(20_000)))
    measure("ticket description, run with 20,000 objects", 50, 20,
            lambda: ticket_description(run, Customer("c", "Acme"), "https://bc.example"))


def bench_create_tickets() -> None:
    async def create_many(n: int) -> None:
        world = World()
        await world.configure()
        for i in range(n):
            await world.seed(make_run(f"run-{i}"))
        started = time.perf_counter()
        await asyncio.gather(*(CreateTicket(world.deps).execute(OPERATOR, f"run-{i}") for i in range(n)))
        per = (time.perf_counter() - started) * 1000 / n
        print(f"{'create ticket, memory store + fake PSA, 500 concurrent runs':<55} {per:9.3f} ms/op  (goal ≤ 2 ms)  "
              f"{'ok' if per <= 2 else 'SLOW'}")

    asyncio.run(create_many(500))


if __name__ == "__main__":
    bench_description()
    bench_create_tickets()
