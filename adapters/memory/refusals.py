"""Refused PSA credentials in memory (a `RefusedCredentials` for one process: tests, the in-memory store, and an
Autotask connector given no store)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from application.ports import AuthFailure, Refusal


class MemoryRefusedCredentials:
    """Every method runs without awaiting, so each is atomic among the tasks of one event loop."""

    def __init__(self) -> None:
        self.refusals: dict[str, Refusal] = {}

    async def get(self, digest: str) -> Refusal | None:
        return self.refusals.get(digest)

    async def remember(self, digest: str, failure: AuthFailure, message: str, at: datetime) -> None:
        self.refusals[digest] = Refusal(AuthFailure(failure), message, at)

    async def take_retry(self, digest: str, seen: datetime, at: datetime) -> bool:
        refusal = self.refusals.get(digest)
        if refusal is None or refusal.refused_at != seen:
            return False
        self.refusals[digest] = dataclasses.replace(refusal, refused_at=at)
        return True

    async def forget(self, digest: str) -> None:
        self.refusals.pop(digest, None)
