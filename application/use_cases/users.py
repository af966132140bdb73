"""Users of the API (admin): add one (its token is shown once), list them, remove one; and find the user behind a token.

Roles are checked here, not in the HTTP layer, so a refused attempt is audited the same way from every entrypoint."""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass

from application.attempts import Attempt
from application.deps import Deps, UseCase
from application.errors import InvalidInput, LastAdmin, UsernameTaken, UserNotFound
from application.ports import CredentialHasher, User
from domain.roles import Actor, Permission, Role

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
PASSWORD_MIN, PASSWORD_MAX = 12, 256


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
            if password is not None and not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
                raise InvalidInput("password", f"A password needs {PASSWORD_MIN} to {PASSWORD_MAX} characters.")
            generated = password is None
            password = password or self.hasher.new_password()
            token = self.hasher.new_token()
            password_hash = await asyncio.to_thread(self.hasher.hash_password, password)  # argon2: off the loop
            user = User(
                uuid.uuid4().hex, username, role, password_hash, self.hasher.hash_token(token), self.deps.clock.now()
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


class RemoveUser(UseCase):
    async def execute(self, actor: Actor, user_id: str) -> User:
        """Remove by id (the HTTP API) — the command line passes the id of the named user."""
        async with Attempt(self.deps, actor, "user.remove", ("user", user_id[:64])) as attempt:
            attempt.authorize(Permission.ADMINISTER)
            async with self.deps.uow() as uow:
                users = await uow.users.list()
                user = next((u for u in users if u.id == user_id), None)
                if user is not None and user.role is Role.ADMIN and sum(u.role is Role.ADMIN for u in users) == 1:
                    raise LastAdmin()
                if user is None or not await uow.users.remove(user_id):
                    raise UserNotFound()
                await attempt.record(uow, username=user.username, role=user.role.value)
                await uow.commit()
            return user


class Authenticate:
    """The actor behind an API token, or None. Not audited: without a known user there is no actor to record."""

    def __init__(self, deps: Deps, hasher: CredentialHasher) -> None:
        self.deps = deps
        self.hasher = hasher

    async def execute(self, token: str) -> Actor | None:
        if not token:
            return None
        async with self.deps.uow(read_only=True) as uow:
            user = await uow.users.by_token_hash(self.hasher.hash_token(token))
        return None if user is None else Actor(user.username, user.role)
