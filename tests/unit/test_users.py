"""A user's lifecycle in the use cases (issue 19): the password policy, the last enabled admin, a disabled user's token
and sessions, and which sessions a change ends."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from argon2 import PasswordHasher

from adapters.credentials import Argon2Credentials
from adapters.memory import MemoryStore
from adapters.memory.sessions import MemorySessionStore
from application.errors import Forbidden, LastAdmin, SignInRefused, UserNotFound, WeakPassword, WrongPassword
from application.ports import User, WebSession
from application.use_cases.users import (
    AddUser,
    Authenticate,
    ChangeOwnPassword,
    RemoveUser,
    ResetPassword,
    RotateToken,
    UpdateUser,
)
from application.use_cases.web_sessions import Sessions
from domain.passwords import password_weakness
from domain.roles import Actor, Role
from tests.support import ADMIN, T0, UseCaseWorld

HASHER = Argon2Credentials(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
PASSWORD = "a long enough password"


@pytest.mark.parametrize(
    ("password", "username", "why"),
    [
        ("short", "oscar", "at least 12"),
        ("x" * 257, "oscar", "at most 256"),
        ("oscar-the-user", "oscar-the-user", "username"),
        ("OSCAR-THE-USER1", "oscar-the-user", "username"),
        ("Password1234", "oscar", "common"),
        ("abababababababab", "oscar", "common"),
    ],
)
def test_the_password_policy_says_why(password: str, username: str, why: str) -> None:
    weakness = password_weakness(password, username)
    assert weakness is not None and why in weakness


def test_a_good_or_generated_password_passes() -> None:
    assert password_weakness("correct horse battery staple", "oscar") is None
    assert password_weakness("oscar plus a whole sentence", "oscar") is None  # the username inside a long one is fine
    assert all(password_weakness(HASHER.new_password(), "oscar") is None for _ in range(200))


async def _world(*users: User) -> tuple[UseCaseWorld, MemorySessionStore]:
    world = UseCaseWorld()
    async with world.uow() as uow:
        for user in users:
            await uow.users.add(user)
        await uow.commit()
    return world, MemorySessionStore()


def _user(uid: str, name: str, role: Role, disabled: bool = False) -> User:
    return User(uid, name, role, HASHER.hash_password(PASSWORD), HASHER.hash_token(f"token-{uid}"), T0, disabled)


async def _sessions_of(store: MemorySessionStore, user_id: str) -> list[str]:
    return sorted(s.id_hash for s in store.sessions.values() if s.user_id == user_id)


async def test_the_last_enabled_admin_stays_whatever_is_asked() -> None:
    world, store = await _world(_user("a1", "alice", Role.ADMIN), _user("a2", "anna", Role.ADMIN, disabled=True))
    update = UpdateUser(world.deps, store)
    for change in ({"role": Role.OPERATOR}, {"disabled": True}):
        with pytest.raises(LastAdmin):
            await update.execute(ADMIN, "a1", **change)
    with pytest.raises(LastAdmin):
        await RemoveUser(world.deps).execute(ADMIN, "a1")
    await RemoveUser(world.deps).execute(ADMIN, "a2")  # a disabled admin goes
    enabled = await update.execute(ADMIN, "a1", role=Role.ADMIN, disabled=False)  # no change: allowed, not audited
    assert enabled.role is Role.ADMIN and not enabled.disabled
    with pytest.raises(UserNotFound):
        await update.execute(ADMIN, "nobody", disabled=True)
    with pytest.raises(Forbidden):
        await update.execute(Actor("oscar", Role.OPERATOR), "a1", disabled=True)


async def test_disabling_stops_the_token_and_the_sessions_and_enabling_gives_them_back() -> None:
    world, store = await _world(_user("a1", "alice", Role.ADMIN), _user("u1", "oscar", Role.OPERATOR))
    sessions = Sessions(world.deps, HASHER, store)
    signed_in = await sessions.sign_in("oscar", PASSWORD)
    authenticate = Authenticate(world.deps, HASHER)
    assert await authenticate.execute("token-u1") == Actor("oscar", Role.OPERATOR)
    await UpdateUser(world.deps, store).execute(ADMIN, "u1", disabled=True)
    assert await authenticate.execute("token-u1") is None
    assert await sessions.resume(signed_in.session_id) is None and await _sessions_of(store, "u1") == []
    with pytest.raises(SignInRefused, match="disabled"):
        await sessions.sign_in("oscar", PASSWORD)
    with pytest.raises(SignInRefused, match="Wrong username or password"):  # a wrong password is not told more
        await sessions.sign_in("oscar", "not the password")
    await UpdateUser(world.deps, store).execute(ADMIN, "u1", disabled=False)
    assert await authenticate.execute("token-u1") is not None
    assert (await sessions.sign_in("oscar", PASSWORD)).actor.name == "oscar"


async def test_own_password_change_keeps_the_session_it_came_from_only() -> None:
    world, store = await _world(_user("a1", "alice", Role.ADMIN), _user("u1", "oscar", Role.REPORTER))
    sessions = Sessions(world.deps, HASHER, store)
    here, there = [await sessions.sign_in("oscar", PASSWORD) for _ in range(2)]
    change = ChangeOwnPassword(world.deps, HASHER, store)
    rita = Actor("oscar", Role.REPORTER)
    with pytest.raises(WrongPassword):
        await change.execute(rita, "wrong", "a new long passphrase")
    with pytest.raises(WeakPassword):
        await change.execute(rita, PASSWORD, "oscar")
    with pytest.raises(WeakPassword):
        await change.execute(rita, PASSWORD, PASSWORD)
    await change.execute(rita, PASSWORD, "a new long passphrase", keep_session=here.session_id)
    assert await sessions.resume(here.session_id) is not None and await sessions.resume(there.session_id) is None
    with pytest.raises(SignInRefused):
        await sessions.sign_in("oscar", PASSWORD)
    await sessions.sign_in("oscar", "a new long passphrase")
    async with world.uow() as uow:
        user = await uow.users.get("u1")
        records = [r.entry for r in await uow.audit.all() if r.entry.action == "user.password_change"]
    assert user is not None and user.password_changed_at == T0
    assert PASSWORD not in str(records) and "a new long passphrase" not in str(records)


async def test_a_new_token_or_password_ends_the_sessions_and_adding_a_weak_password_is_refused() -> None:
    world, store = await _world(_user("a1", "alice", Role.ADMIN), _user("u1", "oscar", Role.OPERATOR))
    await store.add(WebSession("h" * 64, "u1", "oscar", T0, T0))
    new = await RotateToken(world.deps, HASHER, store).execute(ADMIN, "u1")
    assert await Authenticate(world.deps, HASHER).execute(new.secret) == Actor("oscar", Role.OPERATOR)
    assert await Authenticate(world.deps, HASHER).execute("token-u1") is None
    assert await _sessions_of(store, "u1") == [] and "***" in repr(new) and new.secret not in repr(new)
    await store.add(WebSession("i" * 64, "u1", "oscar", T0, T0))
    reset = await ResetPassword(world.deps, HASHER, store).execute(ADMIN, "u1")
    assert reset.generated and await _sessions_of(store, "u1") == []
    assert (await Sessions(world.deps, HASHER, store).sign_in("oscar", reset.secret)).actor.name == "oscar"
    with pytest.raises(WeakPassword):
        await ResetPassword(world.deps, HASHER, store).execute(ADMIN, "u1", "welcome12345")
    with pytest.raises(WeakPassword):
        await AddUser(world.deps, HASHER).execute(ADMIN, "petra", Role.REPORTER, "petra")
    assert (await AddUser(world.deps, HASHER).execute(ADMIN, "petra", Role.REPORTER)).generated_password


async def test_last_seen_is_recorded_by_token_sign_in_and_session_at_most_once_a_minute() -> None:
    world, store = await _world(_user("a1", "alice", Role.ADMIN), _user("u1", "oscar", Role.OPERATOR))
    memory = world.uow
    assert isinstance(memory, MemoryStore)

    async def seen(user_id: str) -> datetime | None:
        async with world.uow() as uow:
            user = await uow.users.get(user_id)
        assert user is not None
        return user.last_seen_at

    authenticate = Authenticate(world.deps, HASHER)
    assert await seen("u1") is None
    commits = memory.commits
    for _ in range(5):  # five requests within the minute: one write
        assert await authenticate.execute("token-u1") is not None
        world.clock.advance(10)
    assert await seen("u1") == T0 and memory.commits == commits + 1
    world.clock.advance(20)  # a minute after the last write: the next request writes again
    assert await authenticate.execute("token-u1") is not None
    assert await seen("u1") == T0 + timedelta(seconds=70) and memory.commits == commits + 2
    assert await authenticate.execute("not a token") is None and memory.commits == commits + 2

    sessions = Sessions(world.deps, HASHER, store)
    signed_in = await sessions.sign_in("alice", PASSWORD)  # the sign-in records it
    assert await seen("a1") == world.clock.now()
    world.clock.advance(30)
    assert await sessions.resume(signed_in.session_id) is not None
    assert await seen("a1") == world.clock.now() - timedelta(seconds=30)  # within the minute: unchanged
    world.clock.advance(30)
    assert await sessions.resume(signed_in.session_id) is not None
    assert await seen("a1") == world.clock.now()  # a page a minute later: recorded
    assert await seen("u1") == T0 + timedelta(seconds=70)  # another user's time is its own
