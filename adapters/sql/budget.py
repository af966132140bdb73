"""The in-flight budget shared through PostgreSQL: every process on one database draws on the same slots.

A slot is a session-level advisory lock `pg_try_advisory_lock(k, n)`, `k` a digest of the key and `n` the slot
(0..size-1), held on a connection of its own for the length of the request and released after. A process that dies
loses its connection, and PostgreSQL frees its locks with it. No table, no migration.
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

from adapters.sql.errors import port_errors

_TRY = sa.text("SELECT pg_try_advisory_lock(:key, :slot)")
_UNLOCK = sa.text("SELECT pg_advisory_unlock(:key, :slot)")
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

    async def _take(self, key: int) -> tuple[AsyncConnection, int] | None:
        """A slot's lock on a connection of its own, or None when all are taken. A database that does not answer
        raises StorageUnavailable (503), like every other storage call."""
        with port_errors():
            connection = await self.engine.connect()
            try:
                connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
                for slot in range(self.size):
                    if (await connection.execute(_TRY, {"key": key, "slot": slot})).scalar():
                        return connection, slot
            except BaseException:
                await connection.invalidate()  # a lock may have been taken: the closed session frees it
                raise
            await connection.close()
        return None

    @asynccontextmanager
    async def slot(self, key: str, timeout: float) -> AsyncIterator[None]:
        digest = lock_key(key)
        taken = None
        async with asyncio.timeout(timeout):
            delay = self.poll_seconds
            while (taken := await self._take(digest)) is None:
                await asyncio.sleep(delay * random.uniform(0.5, 1.5))
                delay = min(delay * 1.5, 0.25)
        connection, slot = taken
        try:
            yield
        finally:
            await _release(connection, digest, slot)


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
