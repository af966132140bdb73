"""The in-flight budget shared by every process on one host through lock files: the embedded SQLite deployment, where
each `serve --workers N` worker and each `backupchecks` command run by cron is a process of its own.

A slot is an exclusive `flock` on one of `size` files per key, `<folder>/<key>.<n>.lock` (n in 0..size-1; the folder
0700 beside the SQLite database, the files 0600), taken without blocking (`LOCK_NB`) on a descriptor opened for it and
held for the length of the request. When every file of a key is locked the caller polls with a short jittered backoff,
like the PostgreSQL budget, and is woken at once when a slot of its own process frees. A lock belongs to its open file
description: closing the descriptor releases it, and the kernel closes every descriptor of a process that dies
(`kill -9` included), so a slot is never leaked. No call here can block: `open` of a local file and `flock(LOCK_NB)`
return at once.

Keys name their files as they are (the Autotask client's are a digest of the tracking identifier and an entity name:
no secret); a key holding anything but letters, digits, `_`, `-` and `:` is named by its SHA-256 instead. Linux only
(flock on local files); on another system use PostgreSQL (advisory locks) or one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
import random
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from adapters.files import PRIVATE_FILE, private_dir
from application.errors import StorageUnavailable

BUDGET_FOLDER = "budget"
"""The folder of lock files, beside the SQLite database."""
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_:-]{1,128}")
_OPEN_FLAGS = os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
log = logging.getLogger("backupchecks.budget")


def lock_name(key: str) -> str:
    """The stem of a key's lock files: the key itself when it is plain, else `sha256.<hex digest>` (a dot no plain
    key holds, so the two never meet)."""
    if _PLAIN_KEY.fullmatch(key):
        return key
    return "sha256." + hashlib.sha256(key.encode()).hexdigest()


class FileLockBudget:
    """An `InFlightBudget` for every process on one host that uses the same folder."""

    def __init__(
        self, folder: Path, size: int = 3, poll_seconds: float = 0.005, max_poll_seconds: float = 0.05
    ) -> None:
        if not sys.platform.startswith("linux"):
            raise RuntimeError(
                f"FileLockBudget needs Linux (flock on local files), not {sys.platform}: use PostgreSQL "
                "(BACKUPCHECKS_DATABASE_URL) for a budget shared through advisory locks"
            )
        self.folder = folder
        self.size = size
        self.poll_seconds = poll_seconds
        self.max_poll_seconds = max_poll_seconds
        self._prepared = False
        self._waiters: dict[str, set[asyncio.Future[None]]] = {}
        """This process's callers waiting for a key: a slot released here wakes them without waiting for a poll."""

    def _take(self, name: str) -> int | None:
        """The descriptor of a slot's file, locked, or None when all are taken. A folder or file that cannot be used
        (read-only, full, not ours) raises StorageUnavailable (503), as a database that does not answer does."""
        try:
            if not self._prepared:
                private_dir(self.folder)
                self._prepared = True
            for slot in range(self.size):
                fd = os.open(self.folder / f"{name}.{slot}.lock", _OPEN_FLAGS, PRIVATE_FILE)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    continue
                except BaseException:
                    os.close(fd)
                    raise
                return fd
        except OSError as error:
            self._prepared = False  # made again next time (a folder removed meanwhile)
            raise StorageUnavailable(
                f"The in-flight budget's lock files in {self.folder} cannot be used: {error.strerror or error}."
            ) from None
        return None

    async def _wait(self, name: str, seconds: float) -> None:
        """Sleep `seconds`, or less when a slot of `name` is released in this process meanwhile."""
        waiter = asyncio.get_running_loop().create_future()
        waiters = self._waiters.setdefault(name, set())
        waiters.add(waiter)
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await waiter
        finally:
            waiters.discard(waiter)
            if not waiters and self._waiters.get(name) is waiters:
                del self._waiters[name]

    def _release(self, name: str, fd: int) -> None:
        """Unlock and close, then wake this process's waiters for the key. Logged, never raised: the request that
        held the slot keeps its answer."""
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        except OSError as error:
            log.warning("in-flight slot unlocked by closing its file: %s", type(error).__name__)
        finally:
            with contextlib.suppress(OSError):
                os.close(fd)
        for waiter in self._waiters.get(name, ()):
            if not waiter.done():
                waiter.set_result(None)

    @asynccontextmanager
    async def slot(self, key: str, timeout: float) -> AsyncIterator[None]:
        name = lock_name(key)
        async with asyncio.timeout(timeout):
            delay = self.poll_seconds
            while (fd := self._take(name)) is None:
                await self._wait(name, delay * random.uniform(0.5, 1.5))
                delay = min(delay * 1.5, self.max_poll_seconds)
        try:
            yield
        finally:
            self._release(name, fd)


def sqlite_budget_folder(database: str | None) -> Path | None:
    """The lock folder beside a SQLite database file (`<its folder>/budget`), None for a database in memory (one
    process's own)."""
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(database).resolve().parent / BUDGET_FOLDER
