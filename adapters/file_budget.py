"""The in-flight budget shared by every process on one host through lock files: the embedded SQLite deployment, where
each `serve --workers N` worker and each `backupchecks` command run by cron is a process of its own.

A slot is an exclusive `flock` on one of `size` files per key, `<folder>/<key>.<n>.lock` (n in 0..size-1; the folder
0700 beside the SQLite database, the files 0600), taken without blocking (`LOCK_NB`) on a descriptor opened for it and
held for the length of the request. Waiters queue in arrival order within a process, and only the head of the queue
tries (ADR 0026). Across processes a turnstile decides: a head takes a slot only while it holds the exclusive lock on
`<key>.turn.lock`, and keeps it while it waits, so a slot freed in any process goes to that head (polled every few
milliseconds, at once when the slot frees in its own process) and no newcomer of another process barges past it.
Heads of other processes poll for the turnstile with a short jittered backoff. A lock belongs to its open file
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
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

from adapters.files import PRIVATE_FILE, private_dir
from adapters.slot_queue import SlotQueue
from application.errors import StorageUnavailable

BUDGET_FOLDER = "budget"
"""The folder of lock files, beside the SQLite database."""
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_:-]{1,128}")
_OPEN_FLAGS = os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
log = logging.getLogger("backupchecks.budget")
T = TypeVar("T")


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
        self._queue = SlotQueue()

    def _lock(self, path: Path, shared: bool = False) -> int | None:
        """The descriptor of `path`, locked (exclusively, or `shared`), or None when another holds it so."""
        fd = os.open(path, _OPEN_FLAGS, PRIVATE_FILE)
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _turnstile_unwanted(self, name: str) -> int | None:
        """The turnstile, locked, when no head of another process waits for it (none holds `<key>.want.lock`
        shared); None otherwise, or when it is held."""
        check = self._lock(self.folder / f"{name}.want.lock")
        if check is None:
            return None
        try:
            return self._lock(self.folder / f"{name}.turn.lock")
        finally:
            _close(check)

    def _usable(self, call: Callable[[], T]) -> T:
        """`call`, with a folder or file that cannot be used (read-only, full, not ours) raised as
        StorageUnavailable (503), as a database that does not answer is."""
        try:
            if not self._prepared:
                private_dir(self.folder)
                self._prepared = True
            return call()
        except OSError as error:
            self._prepared = False  # made again next time (a folder removed meanwhile)
            raise StorageUnavailable(
                f"The in-flight budget's lock files in {self.folder} cannot be used: {error.strerror or error}."
            ) from None

    def _take(self, name: str) -> int | None:
        """The descriptor of a slot's file, locked, or None when all are taken."""
        for slot in range(self.size):
            fd = self._lock(self.folder / f"{name}.{slot}.lock")
            if fd is not None:
                return fd
        return None

    async def _taken(self, name: str) -> int:
        """A slot, for the head of this process's queue: first the turnstile (at once only when no head of another
        process waits for it; else as one of its waiters, marked by a shared lock on `<key>.want.lock`), then the
        first slot that frees."""
        turnstile = self._usable(lambda: self._turnstile_unwanted(name))
        want: int | None = None
        delay = self.poll_seconds
        try:
            while turnstile is None:
                await self._queue.pause(name, delay * random.uniform(0.5, 1.5))
                delay = min(delay * 1.5, self.max_poll_seconds)
                if want is None:
                    want = self._usable(lambda: self._lock(self.folder / f"{name}.want.lock", shared=True))
                turnstile = self._usable(lambda: self._lock(self.folder / f"{name}.turn.lock"))
        finally:
            if want is not None:
                _close(want)
        try:
            while (fd := self._usable(lambda: self._take(name))) is None:
                await self._queue.pause(name, self.poll_seconds * random.uniform(0.5, 1.5))
            return fd
        finally:
            _close(turnstile)

    def _release(self, name: str, fd: int) -> None:
        """Unlock and close, then wake this process's head for the key. Logged, never raised: the request that
        held the slot keeps its answer."""
        _close(fd)
        self._queue.released(name)

    @asynccontextmanager
    async def slot(self, key: str, timeout: float) -> AsyncIterator[None]:
        name = lock_name(key)
        async with asyncio.timeout(timeout), self._queue.turn(name):
            fd = await self._taken(name)
        try:
            yield
        finally:
            self._release(name, fd)


def _close(fd: int) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    except OSError as error:
        log.warning("in-flight lock released by closing its file: %s", type(error).__name__)
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)


def sqlite_budget_folder(database: str | None) -> Path | None:
    """The lock folder beside a SQLite database file (`<its folder>/budget`), None for a database in memory (one
    process's own)."""
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(database).resolve().parent / BUDGET_FOLDER
