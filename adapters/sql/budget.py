"""The in-flight budget shared through PostgreSQL: every process on one database draws on the same slots.

A slot is a session-level advisory lock `pg_try_advisory_lock(k, n)`, `k` a digest of the key and `n` the slot
(0..size-1), held on a connection of its own for the length of the request and released after. A process that dies
loses its connection, and PostgreSQL frees its locks with it. No table, no migration.

Fair queueing (ADR 0026), as in the lock-file budget: waiters queue in arrival order within a process and only the
head tries. Across processes a turnstile `(k, -1)` decides: a head takes a slot only while holding it, and holds it
while it waits, so a slot freed anywhere goes to that head; it takes the turnstile at once only when no head of
another process waits for it (none holds `(k, -2)` shared, as each waiting head does).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.slot_queue import SlotQueue
from adapters.sql.errors import port_errors

_TRY = sa.text("SELECT pg_try_advisory_lock(:key, :slot)")
_UNLOCK = sa.text("SELECT pg_advisory_unlock(:key, :slot)")
_TRY_SHARED = sa.text("SELECT pg_try_advisory_lock_shared(:key, :slot)")
_UNLOCK_SHARED = sa.text("SELECT pg_advisory_unlock_shared(:key, :slot)")
_UNWANTED_TURNSTILE = sa.text(
    "SELECT CASE WHEN pg_try_advisory_lock(:key, -2) THEN"
    " (CASE WHEN pg_advisory_unlock(:key, -2) THEN pg_try_advisory_lock(:key, -1) END) ELSE false END"
)
"""The turnstile `(k, -1)`, taken only when no waiting head holds `(k, -2)` shared (CASE evaluates in order)."""
TURNSTILE, WANT = -1, -2
log = logging.getLogger("backupchecks.budget")


def lock_key(key: str) -> int:
    """A signed 32-bit digest of the key (the first argument of the two-key advisory lock)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big", signed=True)


class AdvisoryLockBudget:
    """An `InFlightBudget` for several processes on one PostgreSQL database."""

    def __init__(self, engine: AsyncEngine, size: int = 3, poll_seconds: float = 0.02) -> None:
        self.engine = engine
        self.size = size
        self.poll_seconds = poll_seconds
        self._queue = SlotQueue()

    async def _locked(self, connection: AsyncConnection, statement: sa.TextClause, key: int, slot: int) -> bool:
        return bool((await connection.execute(statement, {"key": key, "slot": slot})).scalar())

    async def _take(self, connection: AsyncConnection, key: int) -> int | None:
        """The slot whose lock this connection now holds, or None when all are taken."""
        for slot in range(self.size):
            if await self._locked(connection, _TRY, key, slot):
                return slot
        return None

    async def _taken(self, name: str, key: int) -> tuple[AsyncConnection, int]:
        """A slot's lock on a connection of its own, for the head of this process's queue: the turnstile first,
        then the first slot that frees. A database that does not answer raises StorageUnavailable (503), like
        every other storage call; a failure or cancellation meanwhile drops the connection, and its locks with it."""
        with port_errors():
            connection = await self.engine.connect()
            try:
                connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
                turnstile = (await connection.execute(_UNWANTED_TURNSTILE, {"key": key})).scalar()
                wanting, delay = False, self.poll_seconds
                while not turnstile:
                    await self._queue.pause(name, delay * random.uniform(0.5, 1.5))
                    delay = min(delay * 1.5, 0.25)
                    wanting = wanting or await self._locked(connection, _TRY_SHARED, key, WANT)
                    turnstile = await self._locked(connection, _TRY, key, TURNSTILE)
                if wanting:
                    await self._locked(connection, _UNLOCK_SHARED, key, WANT)
                while (slot := await self._take(connection, key)) is None:
                    await self._queue.pause(name, self.poll_seconds * random.uniform(0.5, 1.5))
                await self._locked(connection, _UNLOCK, key, TURNSTILE)
            except BaseException:
                await connection.invalidate()  # locks may have been taken: the closed session frees them
                raise
        return connection, slot

    @asynccontextmanager
    async def slot(self, key: str, timeout: float) -> AsyncIterator[None]:
        digest = lock_key(key)
        async with asyncio.timeout(timeout), self._queue.turn(key):
            connection, slot = await self._taken(key, digest)
        try:
            yield
        finally:
            await _release(connection, digest, slot)
            self._queue.released(key)


async def _release(connection: AsyncConnection, key: int, slot: int) -> None:
    """Unlock and close. A connection lost meanwhile took its locks with it: that is logged, never raised, so the
    request that held the slot (a ticket Autotask created, say) keeps its answer."""
    try:
        await connection.execute(_UNLOCK, {"key": key, "slot": slot})
        await connection.close()
    except Exception as error:
        log.warning("in-flight slot released with its lost connection: %s", type(error).__name__)
        with contextlib.suppress(Exception):  # already gone
            await connection.invalidate()
    except BaseException:
        await connection.invalidate()  # cancelled: closing the session frees its locks
        raise
