"""The in-process in-flight budget: one asyncio semaphore per key (the embedded SQLite and in-memory setups run one
process, so this is every request that shares a tracking identifier)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class LocalBudget:
    """An `InFlightBudget` for one process."""

    def __init__(self, size: int = 3) -> None:
        self.size = size
        self._slots: dict[str, asyncio.Semaphore] = {}

    @asynccontextmanager
    async def slot(self, key: str, timeout: float) -> AsyncIterator[None]:
        semaphore = self._slots.get(key)
        if semaphore is None:
            semaphore = self._slots[key] = asyncio.Semaphore(self.size)
        async with asyncio.timeout(timeout):
            await semaphore.acquire()
        try:
            yield
        finally:
            semaphore.release()
