"""Web sessions in memory (a `SessionStore` for tests and the in-memory store)."""

from __future__ import annotations

import dataclasses
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

    async def remove_unused_since(self, last_seen_before: datetime) -> None:
        self.sessions = {k: v for k, v in self.sessions.items() if v.last_seen_at >= last_seen_before}

    async def failures(self, username: str) -> SignInFailures | None:
        return self._failures.get(username)

    async def forget_failures_before(self, last_at: datetime) -> None:
        self._failures = {k: v for k, v in self._failures.items() if v.last_at >= last_at}

    async def set_failures(self, username: str, failures: SignInFailures | None) -> None:
        if failures is None:
            self._failures.pop(username, None)
        else:
            self._failures[username] = failures
