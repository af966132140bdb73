"""Signing in to the web pages with a username and password, resuming a session, signing out.

Sessions live server-side (a `SessionStore`); the browser holds only the session id, of which only a hash is stored.
Failed sign-ins are counted atomically per client address and per username (docs/adr/0029-sign-in-throttling.md):
past a threshold each further failure holds that address (or username) back for a delay that doubles up to a cap,
instead of a hard lock. A username's hold does not apply to an address that has not failed, so guessing at a username
cannot lock its owner out. Refusals are audited, folded per username (ADR 0008)."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from application.attempts import Attempt, write_denial
from application.deps import Deps
from application.errors import SignInDisabled, SignInFailed, SignInLocked, SignInRefused, UserNotFound
from application.last_seen import note_seen, record_seen
from application.ports import CredentialHasher, SessionStore, SignInFailures, WebSession
from domain.audit import AuditEntry, Outcome
from domain.roles import Actor, Permission
from domain.settings import AutotaskSettings

TOUCH_EVERY = timedelta(minutes=1)
"""A session's last-seen time is written at most this often (not on every page)."""


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)
    address_after: int = 5
    """Failures in a row from one client address before it is held back."""
    username_after: int = 10
    """Failures in a row for one username (from any address that has failed) before it is held back."""
    first_hold: timedelta = timedelta(seconds=30)
    """The first hold; each further failure doubles it, up to `longest_hold`."""
    longest_hold: timedelta = timedelta(minutes=15)
    forget_after: timedelta = timedelta(hours=1)
    """A count with no failure for this long starts afresh."""

    def hold(self, count: int, after: int) -> timedelta | None:
        """How long the `count`-th failure in a row holds its key back (None below the threshold)."""
        if count < after:
            return None
        return min(self.first_hold * float(2 ** min(count - after, 20)), self.longest_hold)


@dataclass(frozen=True, slots=True)
class SignedIn:
    actor: Actor
    session_id: str
    """For the browser's cookie only: never stored, logged or audited."""

    def __repr__(self) -> str:
        return f"SignedIn(actor={self.actor!r}, session_id='***')"


@dataclass(frozen=True, slots=True)
class Visit:
    """A resumed session's actor, with the settings read in the same unit of work as its user: every page shows
    which Autotask they reach, and a page that needs them reads them no more."""

    actor: Actor
    settings: AutotaskSettings


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

    async def sign_in(
        self, username: str, password: str, replacing: str | None = None, address: str | None = None
    ) -> SignedIn:
        """A new session (a new id: any session the browser had is ended), or an audited SignInRefused. `address` is
        the client's address (its failures are counted and held back apart from the username's)."""
        username = username.strip()[:64]
        keys = (f"address:{(address or 'unknown')[:64]}", f"user:{username}")
        now = self.deps.clock.now()
        found = await self.store.failures_of(keys)
        from_address, for_user = (found.get(key) for key in keys)
        if _held(from_address, now):
            raise await self._refused(username, _locked("from this address", from_address, now))
        if from_address is not None and _held(for_user, now):  # a clean address is not held back by the username
            raise await self._refused(username, _locked("for this username", for_user, now))
        async with self.deps.uow(read_only=True) as uow:
            user = await uow.users.by_username(username) if username else None
        stored_hash = user.password_hash if user is not None else None

        def verify() -> bool:  # unknown users cost an argon2 verification too, so timing tells nothing
            return self.hasher.verify_password(stored_hash or self.hasher.dummy_hash(), password[:256])

        valid = await asyncio.to_thread(verify) and stored_hash is not None  # argon2: off the event loop
        if user is None or not valid:
            raise await self._failed(username, keys, now)
        if user.disabled:  # told only to whoever knows the password
            raise await self._refused(username, SignInDisabled())
        for key, failures in zip(keys, (from_address, for_user), strict=True):
            if failures is not None:
                await self.store.clear_failures(key)
        if replacing:
            await self.store.remove(self.hasher.hash_token(replacing))
        await self.store.remove_unused_since(now - self.policy.idle)  # sessions nobody can resume any more
        session_id = self.hasher.new_token()
        await self.store.add(WebSession(self.hasher.hash_token(session_id), user.id, user.username, now, now))
        actor = Actor(user.username, user.role)
        async with self.deps.uow() as uow:
            await Attempt(self.deps, actor, "session.sign_in", ("user", user.username)).record(uow)
            await note_seen(uow, user, now)
            await uow.commit()
        return SignedIn(actor, session_id)

    async def unlock(self, actor: Actor, username: str) -> None:
        """An admin lifts the hold on a username (and forgets its failures); audited."""
        async with Attempt(self.deps, actor, "user.unlock", ("user", username)) as attempt:
            attempt.authorize(Permission.ADMINISTER)
            async with self.deps.uow(read_only=True) as uow:
                if await uow.users.by_username(username) is None:
                    raise UserNotFound("No user has this username.")
            await self.store.clear_failures(f"user:{username}")
            async with self.deps.uow() as uow:
                await attempt.record(uow)
                await uow.commit()

    async def resume(self, session_id: str) -> Actor | None:
        """The actor of a live session, or None (unknown, timed out, or its user removed or disabled)."""
        visit = await self.visit(session_id)
        return None if visit is None else visit.actor

    async def visit(self, session_id: str) -> Visit | None:
        """A live session's actor and the settings (its user and them in one read-only unit of work), or None as
        `resume`."""
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
        async with self.deps.uow(read_only=True) as uow:
            user = await uow.users.by_username(session.username)
            settings = await uow.settings.get()
        live = user if user is not None and user.id == session.user_id and not user.disabled else None
        if live is None:
            await self.store.remove(id_hash)
            return None
        await record_seen(self.deps, live, now)
        if now - session.last_seen_at >= TOUCH_EVERY:
            await self.store.touch(id_hash, now)
        return Visit(Actor(live.username, live.role), settings)

    async def sign_out(self, session_id: str) -> None:
        actor = await self.resume(session_id)
        await self.store.remove(self.hasher.hash_token(session_id))
        if actor is not None:
            async with self.deps.uow() as uow:
                await Attempt(self.deps, actor, "session.sign_out", ("user", actor.name)).record(uow)
                await uow.commit()

    async def _failed(self, username: str, keys: tuple[str, str], now: datetime) -> SignInRefused:
        """Count the failure under the address and the username (holding either back past its threshold); the
        audited refusal, to raise."""
        forget_before = now - self.policy.forget_after
        held: list[timedelta] = []
        counts: list[int] = []
        for key, after in zip(keys, (self.policy.address_after, self.policy.username_after), strict=True):
            counted = await self.store.count_failure(key, now, forget_before)
            counts.append(counted.count)
            hold = self.policy.hold(counted.count, after)
            if hold is not None:
                await self.store.hold(key, now + hold)
                held.append(hold)
        await self.store.forget_failures_before(forget_before)  # made-up names pile up otherwise
        message = "Wrong username or password."
        if held:
            message += f" Too many failed sign-ins: wait {_duration(max(held))} before trying again."
        error = SignInFailed(message)
        return await self._refused(username, error, address_failures=counts[0], username_failures=counts[1])

    async def _refused(self, username: str, error: SignInRefused, **details: int) -> SignInRefused:
        """Audit a refused sign-in (the claimed username is the actor; it has no role), folded with that username's
        other refusals of the window; `error`, to raise."""
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
        await write_denial(self.deps, entry)
        return error


def _held(failures: SignInFailures | None, now: datetime) -> bool:
    return failures is not None and failures.locked_until is not None and failures.locked_until > now


def _locked(where: str, failures: SignInFailures | None, now: datetime) -> SignInLocked:
    until = failures.locked_until if failures is not None else None
    wait = until - now if until is not None else timedelta()
    return SignInLocked(f"Too many failed sign-ins {where}: wait {_duration(wait)} before trying again.")


def _duration(wait: timedelta) -> str:
    seconds = max(1, round(wait.total_seconds()))
    if seconds < 90:
        return f"{seconds} second{'s' * (seconds != 1)}"
    minutes = round(seconds / 60)
    return f"{minutes} minutes"
