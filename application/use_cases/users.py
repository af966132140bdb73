"""Users of the API (admin): add one (its token is shown once), list them, remove one; and find the user behind a token.

Roles are checked here, not in the HTTP layer, so a refused attempt is audited the same way from every entrypoint."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from application.errors import Conflict, InvalidInput, NotFound
from application.ports import CredentialHasher, User
from application.use_cases.common import Deps, UseCase, audit, authorize, refuse
from domain.audit import Outcome
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
        action, target = "user.add", ("user", username[:64])
        await authorize(self.deps, actor, Permission.ADMINISTER, action, target)
        if not USERNAME.match(username):
            await refuse(self.deps, actor, action, target,
                         InvalidInput("username", "1-64 characters: letters, digits, '.', '_', '@', '-'."))
        if password is not None and not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
            await refuse(self.deps, actor, action, target,
                         InvalidInput("password", f"A password needs {PASSWORD_MIN} to {PASSWORD_MAX} characters."))
        generated = password is None
        password = password or self.hasher.new_password()
        token = self.hasher.new_token()
        user = User(uuid.uuid4().hex, username, role, self.hasher.hash_password(password),
                    self.hasher.hash_token(token), self.deps.clock.now())
        async with self.deps.uow() as uow:
            added = await uow.users.add(user)
            if added:
                await audit(uow, self.deps, actor, action, target, Outcome.OK, user_id=user.id, role=role.value)
                await uow.commit()
        if not added:
            await refuse(self.deps, actor, action, target, Conflict("username_taken", "This username is taken."))
        return NewUser(user, token, password, generated)


class ListUsers(UseCase):
    async def execute(self, actor: Actor) -> list[User]:
        await authorize(self.deps, actor, Permission.ADMINISTER, "user.list", ("users", "*"))
        async with self.deps.uow(read_only=True) as uow:
            return await uow.users.list()


class RemoveUser(UseCase):
    async def execute(self, actor: Actor, user_id: str) -> User:
        """Remove by id (the HTTP API) — the command line passes the id of the named user."""
        action, target = "user.remove", ("user", user_id[:64])
        await authorize(self.deps, actor, Permission.ADMINISTER, action, target)
        async with self.deps.uow() as uow:
            users = await uow.users.list()
            user = next((u for u in users if u.id == user_id), None)
            if user is not None and user.role is Role.ADMIN and sum(u.role is Role.ADMIN for u in users) == 1:
                refusal: Conflict | NotFound | None = Conflict("last_admin", "The last admin cannot be removed.")
            elif user is None or not await uow.users.remove(user_id):
                refusal = NotFound("user_not_found", "No user has this ID.")
            else:
                refusal = None
                await audit(uow, self.deps, actor, action, target, Outcome.OK, username=user.username,
                            role=user.role.value)
                await uow.commit()
        if refusal is not None:
            await refuse(self.deps, actor, action, target, refusal)
        assert user is not None
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
