"""The web session store and failed sign-in counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class WebSession:
    """A signed-in browser. Only a hash of the session id is stored (its CSRF token is derived from the id)."""

    id_hash: str
    user_id: str
    username: str
    created_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True, slots=True)
class SignInFailures:
    """Consecutive failed sign-ins for one username, and until when it is locked."""

    count: int
    last_at: datetime
    locked_until: datetime | None = None


class SessionStore(Protocol):
    """Server-side web sessions and failed sign-in counts, in the service's own database (shared by its instances)."""

    async def add(self, session: WebSession) -> None: ...
    async def get(self, id_hash: str) -> WebSession | None: ...
    async def touch(self, id_hash: str, at: datetime) -> None: ...
    async def remove(self, id_hash: str) -> None: ...
    async def remove_unused_since(self, last_seen_before: datetime) -> None:
        """Drop the sessions idle since before this time (they can no longer be resumed)."""
        ...

    async def failures(self, username: str) -> SignInFailures | None: ...
    async def set_failures(self, username: str, failures: SignInFailures | None) -> None: ...
    async def forget_failures_before(self, last_at: datetime) -> None:
        """Drop the counts of usernames whose last failure is older (their lock, if any, is over)."""
        ...
