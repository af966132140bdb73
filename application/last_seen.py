"""When a user was last seen: recorded as they authenticate (a sign-in, a session resumed, an API token), at most
once a minute per user, so authenticating stays a read. Shared by the token check and the web sessions."""

from __future__ import annotations

from datetime import datetime, timedelta

from application.deps import Deps
from application.ports import UnitOfWork, User

SEEN_EVERY = timedelta(minutes=1)
"""A user's last-seen time is written at most this often."""


def due(user: User, now: datetime) -> bool:
    """The user's last-seen time is older than SEEN_EVERY (or unset): worth a write."""
    return user.last_seen_at is None or now - user.last_seen_at >= SEEN_EVERY


async def note_seen(uow: UnitOfWork, user: User, now: datetime) -> None:
    """Record `user` as seen `now` through `uow` (the caller commits) when it is due; nothing otherwise. The
    repository compares again in its UPDATE, so concurrent requests write it once."""
    if due(user, now):
        await uow.users.seen(user.id, now, SEEN_EVERY)


async def record_seen(deps: Deps, user: User, now: datetime) -> None:
    """Record `user` as seen `now` in its own write unit of work when it is due; no transaction otherwise (the
    authentication around it stays a read)."""
    if due(user, now):
        async with deps.uow() as uow:
            await note_seen(uow, user, now)
            await uow.commit()
