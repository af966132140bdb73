"""The web session store and failed sign-in counts."""

from __future__ import annotations

from collections.abc import Sequence
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
    """Consecutive failed sign-ins counted under one key (`address:<ip>` or `user:<name>`), and until when sign-ins
    under it are held back."""

    count: int
    last_at: datetime
    locked_until: datetime | None = None


class SessionStore(Protocol):
    """Server-side web sessions and failed sign-in counts, in the service's own database (shared by its instances)."""

    async def add(self, session: WebSession) -> None: ...
    async def get(self, id_hash: str) -> WebSession | None: ...
    async def touch(self, id_hash: str, at: datetime) -> None: ...
    async def remove(self, id_hash: str) -> None: ...
    async def remove_user_sessions(self, user_id: str, keep: str | None = None) -> int:
        """End every session of this user at once, but the one whose id hash is `keep`; how many ended."""
        ...

    async def remove_unused_since(self, last_seen_before: datetime) -> None:
        """Drop the sessions idle since before this time (they can no longer be resumed)."""
        ...

    async def failures(self, key: str) -> SignInFailures | None: ...
    async def failures_of(self, keys: Sequence[str]) -> dict[str, SignInFailures]:
        """The counts under these keys, in one read (a key with none is absent)."""
        ...

    async def count_failure(self, key: str, at: datetime, forget_before: datetime) -> SignInFailures:
        """Count one more failure under `key` in one atomic statement (parallel failures all count), starting afresh
        when its last failure was before `forget_before`; the count after it."""
        ...

    async def hold(self, key: str, until: datetime) -> None:
        """Hold sign-ins under `key` back until then (a later hold already set stays)."""
        ...

    async def clear_failures(self, key: str) -> None: ...
    async def forget_failures_before(self, last_at: datetime) -> None:
        """Drop the counts whose last failure is older (their hold, if any, is over)."""
        ...
