"""Web sessions in memory (a `SessionStore` for tests and the in-memory store)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from application.ports import SignInFailures, WebSession


class MemorySessionStore:
    def __init__(self) -> None:
        self.sessions: dict[str, WebSession] = {}
        self._failures: dict[str, SignInFailures] = {}

    async def add(self, session: WebSession) -> None:
        self.sessions[session.id_hash] = session

    async def get(self, id_hash: str) -> WebSession | None:
        return self.sessions.get(id_hash)

    async def touch(self, id_hash: str, at: datetime) -> None:
        if id_hash in self.sessions:
            self.sessions[id_hash] = dataclasses.replace(self.sessions[id_hash], last_seen_at=at)

    async def remove(self, id_hash: str) -> None:
        self.sessions.pop(id_hash, None)

    async def remove_user_sessions(self, user_id: str, keep: str | None = None) -> int:
        ended = [k for k, v in self.sessions.items() if v.user_id == user_id and k != keep]
        for key in ended:
            del self.sessions[key]
        return len(ended)

    async def remove_unused_since(self, last_seen_before: datetime) -> None:
        self.sessions = {k: v for k, v in self.sessions.items() if v.last_seen_at >= last_seen_before}

    async def failures(self, key: str) -> SignInFailures | None:
        return self._failures.get(key)

    async def failures_of(self, keys: Sequence[str]) -> dict[str, SignInFailures]:
        return {key: self._failures[key] for key in keys if key in self._failures}

    async def count_failure(self, key: str, at: datetime, forget_before: datetime) -> SignInFailures:
        old = self._failures.get(key)
        if old is None or old.last_at < forget_before:
            counted = SignInFailures(1, at)
        else:
            counted = SignInFailures(old.count + 1, at, old.locked_until)
        self._failures[key] = counted
        return counted

    async def hold(self, key: str, until: datetime) -> None:
        old = self._failures.get(key)
        if old is not None and (old.locked_until is None or old.locked_until < until):
            self._failures[key] = dataclasses.replace(old, locked_until=until)

    async def clear_failures(self, key: str) -> None:
        self._failures.pop(key, None)

    async def forget_failures_before(self, last_at: datetime) -> None:
        self._failures = {k: v for k, v in self._failures.items() if v.last_at >= last_at}
