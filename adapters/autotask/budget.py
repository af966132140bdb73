"""The in-process in-flight budget: `size` slots per key (the embedded SQLite and in-memory setups run one process,
so this is every request that shares a tracking identifier), handed out in arrival order (ADR 0026)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from adapters.slot_queue import SlotQueue


class LocalBudget:
    """An `InFlightBudget` for one process. Only the head of a key's FIFO queue waits on its semaphore, so slots go
    to the callers in the order they asked."""

    def __init__(self, size: int = 3) -> None:
        self.size = size
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._queue = SlotQueue()

    @asynccontextmanager
    async def slot(self, key: str, timeout: float) -> AsyncIterator[None]:
        semaphore = self._slots.get(key)
        if semaphore is None:
            semaphore = self._slots[key] = asyncio.Semaphore(self.size)
        async with asyncio.timeout(timeout), self._queue.turn(key):
            await semaphore.acquire()
        try:
            yield
        finally:
            semaphore.release()
