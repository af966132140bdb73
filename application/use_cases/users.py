"""Users of the API and the pages (admin): add one (its token is shown once), list them, remove one, change its role,
disable or enable it, give it a new token or password; every user changes their own password; and find the user
behind a token.

Roles are checked here, not in the HTTP layer, so a refused attempt is audited the same way from every entrypoint.
Every change ends the affected user's web sessions at once (docs/adr/0024-users-lifecycle.md); the last enabled admin
cannot be removed, demoted or disabled. Audit records never hold a password, token or hash."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from application.attempts import Attempt
from application.deps import Deps, UseCase
from application.errors import (
    InvalidInput,
    LastAdmin,
    UsernameTaken,
    UserNotFound,
    WeakPassword,
    WrongPassword,
)
from application.last_seen import record_seen
from application.ports import CredentialHasher, SessionStore, SignInFailures, User
from domain.passwords import password_weakness
from domain.roles import Actor, Permission, Role

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


def check_password(password: str, username: str) -> None:
    """WeakPassword unless `password` meets the policy (domain/passwords.py)."""
    weakness = password_weakness(password, username)
    if weakness is not None:
        raise WeakPassword(weakness)


def enabled_admins(users: Sequence[User]) -> int:
    return sum(u.role is Role.ADMIN and not u.disabled for u in users)


@dataclass(frozen=True, slots=True)
class NewUser:
    user: User
    token: str
    """Shown once: only its hash is stored."""
    password: str
    generated_password: bool

    def __repr__(self) -> str:
        return f"NewUser(user={self.user.username!r}, role={self.user.role.value!r}, token='***', password='***')"


class AddUser:
    def __init__(self, deps: Deps, hasher: CredentialHasher) -> None:
        self.deps = deps
        self.hasher = hasher

    async def execute(self, actor: Actor, username: str, role: Role, password: str | None = None) -> NewUser:
        async with Attempt(self.deps, actor, "user.add", ("user", username[:64])) as attempt:
            attempt.authorize(Permission.ADMINISTER)
            if not USERNAME.match(username):
                raise InvalidInput("username", "1-64 characters: letters, digits, '.', '_', '@', '-'.")
            if password is not None:
                check_password(password, username)
            generated = password is None
            password = password or self.hasher.new_password()
            token = self.hasher.new_token()
            password_hash = await asyncio.to_thread(self.hasher.hash_password, password)  # argon2: off the loop
            now = self.deps.clock.now()
            user = User(
                uuid.uuid4().hex,
                username,
                role,
                password_hash,
                self.hasher.hash_token(token),
                now,
                password_changed_at=now,
            )
            async with self.deps.uow() as uow:
                if not await uow.users.add(user):
                    raise UsernameTaken()
                await attempt.record(uow, user_id=user.id, role=role.value)
                await uow.commit()
            return NewUser(user, token, password, generated)


class ListUsers(UseCase):
    async def execute(self, actor: Actor) -> list[User]:
        async with Attempt(self.deps, actor, "user.list", ("users", "*")) as attempt:
            attempt.authorize(Permission.ADMINISTER)
            async with self.deps.uow(read_only=True) as uow:
                return await uow.users.list()


@dataclass(frozen=True, slots=True)
class UserRow:
    """A user as the admin's list shows them."""

    user: User
    unlockable: bool
    """Unlock would do something: the username is held back, or has failed sign-ins still counted (ADR 0029)."""


def unlockable(failures: SignInFailures | None, now: datetime, forget_after: timedelta) -> bool:
    """A username's count matters while it holds sign-ins back or its last failure is younger than `forget_after`
    (the sign-in policy's: an older count starts afresh at the next failure, so clearing it changes nothing)."""
    if failures is None or failures.count <= 0:
        return False
    held = failures.locked_until is not None and failures.locked_until > now
    return held or failures.last_at > now - forget_after


class ListUserRows:
    """The Users page's list: ListUsers, each user with whether Unlock would do anything."""

    def __init__(self, deps: Deps, store: SessionStore, forget_after: timedelta) -> None:
        self.deps = deps
        self.store = store
        self.forget_after = forget_after

    async def execute(self, actor: Actor) -> list[UserRow]:
        users = await ListUsers(self.deps).execute(actor)
        now = self.deps.clock.now()
        failures = await self.store.failures_of([f"user:{u.username}" for u in users])
        return [UserRow(u, unlockable(failures.get(f"user:{u.username}"), now, self.forget_after)) for u in users]


class RemoveUser(UseCase):
    async def execute(self, actor: Actor, user_id: str) -> User:
        """Remove by id (the HTTP API) — the command line passes the id of the named user."""
        async with Attempt(self.deps, actor, "user.remove", ("user", user_id[:64])) as attempt:
            attempt.authorize(Permission.ADMINISTER)
            async with self.deps.uow() as uow:
                users = await uow.users.list(for_update=True)  # the last enabled admin rule holds
                user = next((u for u in users if u.id == user_id), None)
                if user is not None and user.role is Role.ADMIN and not user.disabled and enabled_admins(users) == 1:
                    raise LastAdmin()
                if user is None or not await uow.users.remove(user_id):
                    raise UserNotFound()
                await attempt.record(uow, username=user.username, role=user.role.value)
                await uow.commit()
            return user


class UpdateUser:
    """An admin changes a user's role or disables or enables it; the user's web sessions end at once."""

    def __init__(self, deps: Deps, sessions: SessionStore) -> None:
        self.deps = deps
        self.sessions = sessions

    async def execute(self, actor: Actor, user_id: str, role: Role | None = None, disabled: bool | None = None) -> User:
        async with Attempt(self.deps, actor, "user.update", ("user", user_id[:64])) as attempt:
            attempt.authorize(Permission.ADMINISTER)
            async with self.deps.uow() as uow:
                users = await uow.users.list(for_update=True)  # the last enabled admin rule holds
                user = next((u for u in users if u.id == user_id), None)
                if user is None:
                    raise UserNotFound()
                changed = dataclasses.replace(
                    user,
                    role=user.role if role is None else role,
                    disabled=user.disabled if disabled is None else disabled,
                )
                if changed == user:
                    return user
                was_admin = user.role is Role.ADMIN and not user.disabled
                still_admin = changed.role is Role.ADMIN and not changed.disabled
                if was_admin and not still_admin and enabled_admins(users) == 1:
                    raise LastAdmin().noting(username=user.username)
                if not await uow.users.update(changed):
                    raise UserNotFound()
                await attempt.record(
                    uow,
                    username=user.username,
                    role_before=user.role.value,
                    role=changed.role.value,
                    disabled_before=user.disabled,
                    disabled=changed.disabled,
                )
                await uow.commit()
            await self.sessions.remove_user_sessions(user.id)
            return changed


@dataclass(frozen=True, slots=True)
class NewSecret:
    """A user's new token or password, shown once."""

    user: User
    secret: str
    generated: bool = True

    def __repr__(self) -> str:
        return f"NewSecret(user={self.user.username!r}, secret='***')"


class RotateToken:
    """An admin gives a user a new API token (shown once): the old one stops working at once, and so do the user's
    web sessions."""

    def __init__(self, deps: Deps, hasher: CredentialHasher, sessions: SessionStore) -> None:
        self.deps = deps
        self.hasher = hasher
        self.sessions = sessions

    async def execute(self, actor: Actor, user_id: str) -> NewSecret:
        async with Attempt(self.deps, actor, "user.token", ("user", user_id[:64])) as attempt:
            attempt.authorize(Permission.ADMINISTER)
            token = self.hasher.new_token()
            async with self.deps.uow() as uow:
                user = await uow.users.get(user_id)
                if user is None:
                    raise UserNotFound()
                changed = dataclasses.replace(user, token_hash=self.hasher.hash_token(token))
                if not await uow.users.update(changed):
                    raise UserNotFound()
                await attempt.record(uow, username=user.username)
                await uow.commit()
            await self.sessions.remove_user_sessions(user.id)
            return NewSecret(changed, token)


class ResetPassword:
    """An admin sets a user's password (it must meet the policy) or has one generated (shown once); every web session
    of that user ends."""

    def __init__(self, deps: Deps, hasher: CredentialHasher, sessions: SessionStore) -> None:
        self.deps = deps
        self.hasher = hasher
        self.sessions = sessions

    async def execute(self, actor: Actor, user_id: str, password: str | None = None) -> NewSecret:
        async with Attempt(self.deps, actor, "user.password_reset", ("user", user_id[:64])) as attempt:
            attempt.authorize(Permission.ADMINISTER)
            async with self.deps.uow(read_only=True) as uow:
                user = await uow.users.get(user_id)
            if user is None:
                raise UserNotFound()
            if password is not None:
                check_password(password, user.username)
            generated = password is None
            password = password or self.hasher.new_password()
            password_hash = await asyncio.to_thread(self.hasher.hash_password, password)
            async with self.deps.uow() as uow:
                current = await uow.users.get(user_id)
                if current is None:
                    raise UserNotFound()
                changed = dataclasses.replace(
                    current, password_hash=password_hash, password_changed_at=self.deps.clock.now()
                )
                if not await uow.users.update(changed):
                    raise UserNotFound()
                await attempt.record(uow, username=user.username, generated=generated)
                await uow.commit()
            await self.sessions.remove_user_sessions(user.id)
            return NewSecret(changed, password, generated)


class ChangeOwnPassword:
    """Every user changes their own password, giving the current one; their other web sessions end (`keep_session`:
    the raw id of the session the change came from, which goes on)."""

    def __init__(self, deps: Deps, hasher: CredentialHasher, sessions: SessionStore) -> None:
        self.deps = deps
        self.hasher = hasher
        self.sessions = sessions

    async def execute(
        self, actor: Actor, current_password: str, new_password: str, keep_session: str | None = None
    ) -> None:
        async with Attempt(self.deps, actor, "user.password_change", ("user", actor.name)) as attempt:
            async with self.deps.uow(read_only=True) as uow:
                user = await uow.users.by_username(actor.name)
            if user is None or user.disabled:
                raise UserNotFound("Your user no longer exists or is disabled.")
            stored = user.password_hash

            def verify() -> bool:
                return self.hasher.verify_password(stored or self.hasher.dummy_hash(), current_password[:256])

            if not await asyncio.to_thread(verify) or stored is None:
                raise WrongPassword()
            check_password(new_password, user.username)
            if new_password == current_password:
                raise WeakPassword("The new password is the current one: choose another.")
            password_hash = await asyncio.to_thread(self.hasher.hash_password, new_password)
            async with self.deps.uow() as uow:
                current = await uow.users.get(user.id)
                if current is None or current.password_hash != stored:
                    raise WrongPassword("The password was changed meanwhile: sign in again.")
                changed = dataclasses.replace(
                    current, password_hash=password_hash, password_changed_at=self.deps.clock.now()
                )
                await uow.users.update(changed)
                await attempt.record(uow)
                await uow.commit()
            keep = self.hasher.hash_token(keep_session) if keep_session else None
            await self.sessions.remove_user_sessions(user.id, keep=keep)


class Authenticate:
    """The actor behind an API token, or None. Not audited: without a known user there is no actor to record. A read,
    except once a minute per user, when the user's last-seen time is written."""

    def __init__(self, deps: Deps, hasher: CredentialHasher) -> None:
        self.deps = deps
        self.hasher = hasher

    async def execute(self, token: str) -> Actor | None:
        if not token:
            return None
        async with self.deps.uow(read_only=True) as uow:
            user = await uow.users.by_token_hash(self.hasher.hash_token(token))
        if user is None or user.disabled:
            return None
        now = self.deps.clock.now()
        await record_seen(self.deps, user, now)
        return Actor(user.username, user.role)
