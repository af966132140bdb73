"""Signing in to the web pages with a username and password, resuming a session, signing out.

Sessions live server-side (a `SessionStore`); the browser holds only the session id, of which only a hash is stored.
Failed sign-ins are audited and, after `lock_after` in a row, lock the username for `lock_for`."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from application.attempts import Attempt
from application.deps import Deps
from application.errors import SignInFailed, SignInLocked, SignInRefused
from application.ports import CredentialHasher, SessionStore, SignInFailures, WebSession
from domain.audit import AuditEntry, Outcome
from domain.roles import Actor

DUMMY_PASSWORD = "not-a-password-of-anyone"
TOUCH_EVERY = timedelta(minutes=1)
"""A session's last-seen time is written at most this often (not on every page)."""


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)
    lock_after: int = 5
    lock_for: timedelta = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class SignedIn:
    actor: Actor
    session_id: str
    """For the browser's cookie only: never stored, logged or audited."""

    def __repr__(self) -> str:
        return f"SignedIn(actor={self.actor!r}, session_id='***')"


def csrf_token(session_id: str) -> str:
    """The session's CSRF token: derived from the session id, so nothing more is stored and no other session's
    token fits."""
    return hashlib.sha256(b"backupchecks-csrf:" + session_id.encode()).hexdigest()


class Sessions:
    def __init__(
        self, deps: Deps, hasher: CredentialHasher, store: SessionStore, policy: SessionPolicy | None = None
    ) -> None:
        self.deps = deps
        self.hasher = hasher
        self.store = store
        self.policy = policy or SessionPolicy()
        self._dummy_hash: str | None = None

    async def sign_in(self, username: str, password: str, replacing: str | None = None) -> SignedIn:
        """A new session (a new id: any session the browser had is ended), or an audited SignInRefused."""
        username = username.strip()[:64]
        now = self.deps.clock.now()
        failures = await self.store.failures(username)
        if failures is not None and failures.locked_until is not None:
            if failures.locked_until > now:
                minutes = max(1, round((failures.locked_until - now).total_seconds() / 60))
                locked = SignInLocked(
                    f"Too many failed sign-ins: this username is locked for {minutes} more "
                    f"minute{'s' * (minutes != 1)}."
                )
                raise await self._refused(username, locked)
            failures = None  # the lock is over: count afresh
        async with self.deps.uow() as uow:
            user = await uow.users.by_username(username) if username else None
        stored_hash = user.password_hash if user is not None else None
        # Unknown users cost an argon2 verification too, so timing does not tell which usernames exist.
        valid = (
            await asyncio.to_thread(self.hasher.verify_password, stored_hash or await self._dummy(), password[:256])
            and stored_hash is not None
        )  # argon2: off the event loop
        if user is None or not valid:
            raise await self._failed(username, failures, now)
        if failures is not None:
            await self.store.set_failures(username, None)
        if replacing:
            await self.store.remove(self.hasher.hash_token(replacing))
        await self.store.remove_unused_since(now - self.policy.idle)  # sessions nobody can resume any more
        session_id = self.hasher.new_token()
        await self.store.add(WebSession(self.hasher.hash_token(session_id), user.id, user.username, now, now))
        actor = Actor(user.username, user.role)
        async with self.deps.uow() as uow:
            await Attempt(self.deps, actor, "session.sign_in", ("user", user.username)).record(uow)
            await uow.commit()
        return SignedIn(actor, session_id)

    async def resume(self, session_id: str) -> Actor | None:
        """The actor of a live session, or None (unknown, timed out, or its user removed)."""
        if not session_id or len(session_id) > 256:
            return None
        id_hash = self.hasher.hash_token(session_id)
        session = await self.store.get(id_hash)
        if session is None:
            return None
        now = self.deps.clock.now()
        if now - session.created_at > self.policy.absolute or now - session.last_seen_at > self.policy.idle:
            await self.store.remove(id_hash)
            return None
        async with self.deps.uow() as uow:
            user = await uow.users.by_username(session.username)
        if user is None or user.id != session.user_id:
            await self.store.remove(id_hash)
            return None
        if now - session.last_seen_at >= TOUCH_EVERY:
            await self.store.touch(id_hash, now)
        return Actor(user.username, user.role)

    async def sign_out(self, session_id: str) -> None:
        actor = await self.resume(session_id)
        await self.store.remove(self.hasher.hash_token(session_id))
        if actor is not None:
            async with self.deps.uow() as uow:
                await Attempt(self.deps, actor, "session.sign_out", ("user", actor.name)).record(uow)
                await uow.commit()

    async def _failed(self, username: str, failures: SignInFailures | None, now: datetime) -> SignInRefused:
        """Count the failure (locking the username after `lock_after` in a row); the audited refusal, to raise."""
        count = (failures.count if failures is not None else 0) + 1
        locked = now + self.policy.lock_for if count >= self.policy.lock_after else None
        await self.store.set_failures(username, SignInFailures(count, now, locked))
        await self.store.forget_failures_before(now - self.policy.lock_for)  # made-up names pile up otherwise
        message = "Wrong username or password."
        if locked is not None:
            minutes = round(self.policy.lock_for.total_seconds() / 60)
            message += f" Too many failed sign-ins: this username is locked for {minutes} minutes."
        return await self._refused(username, SignInFailed(message), failures=count, locked=locked is not None)

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await asyncio.to_thread(self.hasher.hash_password, DUMMY_PASSWORD)
        return self._dummy_hash

    async def _refused(self, username: str, error: SignInRefused, **details: int | bool) -> SignInRefused:
        """Audit a refused sign-in (the claimed username is the actor; it has no role); `error`, to raise."""
        entry = AuditEntry(
            self.deps.clock.now(),
            username or "-",
            "anonymous",
            "session.sign_in",
            "user",
            username or "-",
            Outcome.DENIED,
            {"code": error.code, **details},
        )
        async with self.deps.uow() as uow:
            await uow.audit.append(entry)
            await uow.commit()
        return error
