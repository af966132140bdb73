"""A per-process FIFO queue of the callers waiting for an in-flight slot of one key (ADR 0026).

Every budget (`LocalBudget`, `FileLockBudget`, `AdvisoryLockBudget`) lets only the head of its key's queue try for a
slot; the others wait, in arrival order, for the callers before them to be served (a slot taken, or given up by a
timeout or a cancellation). So within a process slots go in arrival order and no waiter loses again and again to a
newer one. The head sleeps between tries in `pause`, woken at once when a slot of its key is released in this
process (`released`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class SlotQueue:
    """This process's waiters per key, first come first served."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[asyncio.Future[None]]] = {}
        self._wakers: dict[str, asyncio.Future[None]] = {}

    def waiting(self, key: str) -> int:
        """How many callers are queued for `key` (the head included)."""
        return len(self._queues.get(key, ()))

    @asynccontextmanager
    async def turn(self, key: str) -> AsyncIterator[None]:
        """Wait until every earlier caller of `key` has left the queue; the block runs at its head. Leaving (the
        block done, raised, timed out or cancelled, or cancelled while still waiting) hands the head to the next."""
        queue = self._queues.setdefault(key, deque())
        mine = asyncio.get_running_loop().create_future()
        queue.append(mine)
        try:
            if queue[0] is not mine:
                await mine
            yield
        finally:
            head = queue[0] is mine
            queue.remove(mine)
            if not queue:
                if self._queues.get(key) is queue:
                    del self._queues[key]
            elif head and not queue[0].done():
                queue[0].set_result(None)

    async def pause(self, key: str, seconds: float) -> None:
        """The head's sleep between two tries: `seconds`, or less when a slot of `key` is released here meanwhile."""
        waker = self._wakers.get(key)
        if waker is None or waker.done():
            waker = self._wakers[key] = asyncio.get_running_loop().create_future()
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await asyncio.shield(waker)
        finally:
            if waker.done() and self._wakers.get(key) is waker:
                del self._wakers[key]

    def released(self, key: str) -> None:
        """A slot of `key` was released in this process: the head, if it sleeps, tries again now."""
        waker = self._wakers.get(key)
        if waker is not None and not waker.done():
            waker.set_result(None)
