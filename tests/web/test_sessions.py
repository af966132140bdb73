"""Sign-in, sessions and CSRF without a browser: the use case with a clock the test moves, and the app's cookies."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from dependency_injector import providers
from litestar.testing import AsyncTestClient

from adapters.credentials import Argon2Credentials
from adapters.memory.sessions import MemorySessionStore
from application.denials import DenialFolder
from application.errors import Forbidden, SignInRefused, UserNotFound
from application.ports import SignInFailures, User
from application.use_cases.users import unlockable
from application.use_cases.web_sessions import SessionPolicy, Sessions
from domain.roles import Actor, Role
from entrypoints.asgi import create_app
from entrypoints.container import Config
from tests.http.conftest import make_world
from tests.support import ADMIN, T0, UseCaseWorld

HASHER = Argon2Credentials(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
PASSWORD = "a long enough password"


async def _world_with_user(role: Role = Role.OPERATOR) -> tuple[UseCaseWorld, Sessions, MemorySessionStore]:
    world = UseCaseWorld()
    async with world.uow() as uow:
        await uow.users.add(User("u1", "oscar", role, HASHER.hash_password(PASSWORD), HASHER.hash_token("t"), T0))
        await uow.commit()
    store = MemorySessionStore()
    return world, Sessions(world.deps, HASHER, store), store


async def _audit(world: UseCaseWorld) -> list[tuple[str, str, str]]:
    async with world.uow() as uow:
        return [(r.entry.action, r.entry.outcome.value, str(dict(r.entry.details))) for r in await uow.audit.all()]


async def test_a_session_ends_when_idle_or_too_old_and_only_its_hash_is_stored() -> None:
    world, sessions, store = await _world_with_user()
    signed = await sessions.sign_in("oscar", PASSWORD)
    assert signed.session_id not in str(store.sessions) and signed.session_id not in repr(signed)
    assert (await sessions.resume(signed.session_id)) == signed.actor
    world.clock.advance(29 * 60)
    assert await sessions.resume(signed.session_id) is not None  # used within the idle timeout: still alive
    world.clock.advance(29 * 60)
    assert await sessions.resume(signed.session_id) is not None
    world.clock.advance(31 * 60)  # idle for longer than 30 minutes
    assert await sessions.resume(signed.session_id) is None
    assert store.sessions == {}

    stale = await sessions.sign_in("oscar", PASSWORD)
    world.clock.advance(31 * 60)
    fresh = await sessions.sign_in("oscar", PASSWORD)
    assert [s.last_seen_at for s in store.sessions.values()] == [world.clock.now()]  # the stale one is cleaned up
    assert await sessions.resume(stale.session_id) is None
    for _ in range(26):  # always active, but 12 hours is the most a session lives
        world.clock.advance(29 * 60)
        alive = await sessions.resume(fresh.session_id)
    assert alive is None


async def test_sign_in_rotates_the_session_and_sign_out_ends_it() -> None:
    world, sessions, _ = await _world_with_user()
    first = await sessions.sign_in("oscar", PASSWORD)
    second = await sessions.sign_in("oscar", PASSWORD, replacing=first.session_id)
    assert second.session_id != first.session_id
    assert await sessions.resume(first.session_id) is None
    await sessions.sign_out(second.session_id)
    assert await sessions.resume(second.session_id) is None
    assert [a for a in await _audit(world) if a[0].startswith("session.")] == [
        ("session.sign_in", "ok", "{}"),
        ("session.sign_in", "ok", "{}"),
        ("session.sign_out", "ok", "{}"),
    ]


async def test_a_removed_user_or_a_changed_role_takes_effect_at_once() -> None:
    world, sessions, _ = await _world_with_user()
    signed = await sessions.sign_in("oscar", PASSWORD)
    async with world.uow() as uow:
        user = await uow.users.by_username("oscar")
        assert user is not None
        await uow.users.remove(user.id)
        await uow.users.add(replace(user, id="u2", role=Role.REPORTER))  # same name, a new user
        await uow.commit()
    assert await sessions.resume(signed.session_id) is None


async def _refused(sessions: Sessions, username: str, password: str, address: str) -> SignInRefused:
    with pytest.raises(SignInRefused) as refused:
        await sessions.sign_in(username, password, address=address)
    return refused.value


async def test_failures_from_an_address_hold_it_back_longer_and_longer_but_not_its_neighbours() -> None:
    world, sessions, store = await _world_with_user()
    for attempt in range(1, 5):
        assert (await _refused(sessions, "oscar", f"wrong {attempt}", "10.0.0.9")).code == "sign_in_failed"
    fifth = await _refused(sessions, "oscar", "wrong 5", "10.0.0.9")
    assert "wait 30 seconds" in fifth.message
    held = await _refused(sessions, "oscar", PASSWORD, "10.0.0.9")  # even the right password, while held back
    assert held.code == "sign_in_locked" and "from this address" in held.message
    assert (await sessions.sign_in("oscar", PASSWORD, address="10.0.0.7")).actor.name == "oscar"  # another address
    world.clock.advance(31)
    assert "wait 60 seconds" in (await _refused(sessions, "oscar", "wrong 6", "10.0.0.9")).message  # doubled
    world.clock.advance(61)
    assert (await sessions.sign_in("oscar", PASSWORD, address="10.0.0.9")).actor.name == "oscar"
    assert await store.failures("address:10.0.0.9") is None  # a success forgets the address's failures
    with pytest.raises(SignInRefused):
        await sessions.sign_in("nobody", PASSWORD)
    denied = [a for a in await _audit(world) if a[1] == "denied"]
    assert len(denied) == 8
    assert all("wrong" not in d[2] and PASSWORD not in d[2] for d in denied)  # never a password in the audit log


async def test_holds_grow_to_fifteen_minutes_and_a_quiet_hour_starts_afresh() -> None:
    world, sessions, store = await _world_with_user()
    for attempt in range(12):
        await _refused(sessions, "nobody", f"wrong {attempt}", "10.0.0.9")
        world.clock.advance(15 * 60 + 1)  # each hold is over by the next guess
    failures = await store.failures("address:10.0.0.9")
    assert failures is not None and failures.count == 12
    assert failures.locked_until == world.clock.now() - timedelta(seconds=1)  # 30 s doubled 7 times, capped at 15 min
    world.clock.advance(3600)
    await _refused(sessions, "nobody", "wrong again", "10.0.0.9")
    failures = await store.failures("address:10.0.0.9")
    assert failures is not None and failures.count == 1 and failures.locked_until is None


async def test_guessing_at_the_only_admin_from_many_addresses_never_locks_the_admin_out() -> None:
    _world, sessions, store = await _world_with_user(Role.ADMIN)
    for attempt in range(30):
        await _refused(sessions, "oscar", f"wrong {attempt}", f"10.0.1.{attempt}")
    held = await store.failures("user:oscar")
    assert held is not None and held.count == 30 and held.locked_until is not None
    # An address that has failed is held back by the username too ...
    assert "for this username" in (await _refused(sessions, "oscar", PASSWORD, "10.0.1.3")).message
    # ... but the admin, from an address that has not failed, signs in.
    assert (await sessions.sign_in("oscar", PASSWORD, address="192.0.2.1")).actor.name == "oscar"
    assert await store.failures("user:oscar") is None


async def test_parallel_wrong_passwords_all_count() -> None:
    _world, sessions, store = await _world_with_user()
    results = await asyncio.gather(
        *(sessions.sign_in("oscar", f"wrong {n}", address="10.0.0.9") for n in range(40)), return_exceptions=True
    )
    assert all(isinstance(r, SignInRefused) for r in results)
    by_address, by_user = await store.failures("address:10.0.0.9"), await store.failures("user:oscar")
    assert by_address is not None and by_address.count == 40 and by_address.locked_until is not None
    assert by_user is not None and by_user.count == 40


async def test_refused_sign_ins_for_one_username_are_folded_into_counted_records() -> None:
    world = UseCaseWorld()
    sessions = Sessions(replace(world.deps, denials=DenialFolder()), HASHER, MemorySessionStore())
    for attempt in range(20):
        await _refused(sessions, "mallory", f"wrong {attempt}", f"10.0.2.{attempt}")
    world.clock.advance(61)
    await _refused(sessions, "mallory", "wrong", "10.0.2.99")
    async with world.uow() as uow:
        records = [r.entry for r in await uow.audit.all()]
    assert [(r.action, r.details.get("folded")) for r in records] == [
        ("session.sign_in", None),
        ("session.sign_in", 19),
    ]


async def test_an_admin_unlocks_a_username_and_others_may_not() -> None:
    world, sessions, store = await _world_with_user()
    for attempt in range(10):
        await _refused(sessions, "oscar", f"wrong {attempt}", "10.0.0.9")
    with pytest.raises(Forbidden):
        await sessions.unlock(Actor("olga", Role.OPERATOR), "oscar")
    with pytest.raises(UserNotFound):
        await sessions.unlock(ADMIN, "nobody")
    await sessions.unlock(ADMIN, "oscar")
    assert await store.failures("user:oscar") is None
    assert ("user.unlock", "ok", "{}") in await _audit(world)


@pytest.mark.parametrize("secure", [False, True])
async def test_cookies_and_csrf_over_http(tmp_path: Path, secure: bool) -> None:
    world = make_world(tmp_path)
    world.container.config.override(providers.Object(Config(data_dir=tmp_path, cookie_secure=secure)))
    world.store.users["operator"] = replace(world.store.users["operator"], password_hash=HASHER.hash_password(PASSWORD))
    base_url = "https://testserver.local" if secure else "http://testserver.local"  # Secure cookies need HTTPS
    async with AsyncTestClient(create_app(world.container), base_url=base_url) as client:
        page = await client.get("/sign-in")
        csrf = re.search(r'name="_csrf" value="([0-9a-f]+)"', page.text)
        assert csrf is not None and "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["x-content-type-options"] == "nosniff" and page.headers["referrer-policy"]
        for token in ({}, {"_csrf": "0" * 64}, {"_csrf": "é"}):  # none, a wrong one, not even ASCII
            refused = await client.post("/sign-in", data={**token, "username": "operator", "password": PASSWORD})
            assert refused.status_code == 403 and "nothing was done" in refused.text
        answer = await client.post(
            "/sign-in", data={"_csrf": csrf[1], "username": "operator", "password": PASSWORD}, follow_redirects=False
        )
        assert answer.status_code == 303 and answer.headers["location"] == "/runs"
        cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("bc_session="))
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and ("Secure" in cookie) is secure
        runs = await client.get("/runs")
        assert runs.status_code == 200 and "Run Checks" in runs.text
        client.cookies.clear()
        client.cookies.set("bc_session", "forged")
        assert (await client.get("/runs", follow_redirects=False)).headers["location"] == "/sign-in"


async def test_a_timed_out_session_cookie_never_blocks_the_sign_in_form(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    world.store.users["operator"] = replace(world.store.users["operator"], password_hash=HASHER.hash_password(PASSWORD))
    async with AsyncTestClient(create_app(world.container), base_url="http://testserver.local") as client:
        client.cookies.set("bc_session", "a-session-that-timed-out")
        page = await client.get("/sign-in")
        csrf = re.search(r'name="_csrf" value="([0-9a-f]+)"', page.text)
        assert csrf is not None
        answer = await client.post(
            "/sign-in", data={"_csrf": csrf[1], "username": "operator", "password": PASSWORD}, follow_redirects=False
        )
        assert answer.status_code == 303 and answer.headers["location"] == "/runs"


async def test_oversized_or_cookieless_forms_are_refused_before_they_are_read(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    async with AsyncTestClient(create_app(world.container), base_url="http://testserver.local") as client:
        big = {"username": "x" * (17 * 1024), "password": "y"}
        assert (await client.post("/sign-in", data=big)).status_code == 403  # no cookie: the body is not read
        page = await client.get("/sign-in")
        csrf = re.search(r'name="_csrf" value="([0-9a-f]+)"', page.text)
        assert csrf is not None
        assert (await client.post("/sign-in", data={**big, "_csrf": csrf[1]})).status_code == 413
        assert (await client.post("/sign-out", data={"_csrf": csrf[1], "x": "y" * (1024 * 1024)})).status_code == 413
        assert all(r.entry.action != "session.sign_in" for r in world.store.audit)  # no password was even checked


async def test_an_admin_unlocks_a_user_from_the_users_page(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    world.store.users["admin"] = replace(world.store.users["admin"], password_hash=HASHER.hash_password(PASSWORD))
    store = world.container.session_store()
    now = world.container.clock().now()
    await store.count_failure("user:reporter", now - timedelta(hours=2), now - timedelta(hours=2))  # forgotten
    async with AsyncTestClient(create_app(world.container), base_url="http://testserver.local") as client:
        page = await client.get("/sign-in")
        csrf = re.search(r'name="_csrf" value="([0-9a-f]+)"', page.text)
        assert csrf is not None
        await client.post("/sign-in", data={"_csrf": csrf[1], "username": "admin", "password": PASSWORD})
        users = await client.get("/users")
        assert "Unlock" not in users.text  # no failed sign-in counted: Unlock would do nothing, so it is not offered
        await store.count_failure("user:operator", now, now - timedelta(hours=1))
        users = await client.get("/users")
        assert re.findall(r'aria-label="Unlock (\w+)"', users.text) == ["operator"]
        csrf = re.search(r'name="_csrf" value="([0-9a-f]+)"', users.text)
        assert csrf is not None
        answer = await client.post("/users/unlock", data={"_csrf": csrf[1], "username": "operator"})
        assert "operator can sign in again" in answer.text
        assert "Unlock" not in answer.text
    assert await store.failures("user:operator") is None


def test_unlock_does_something_while_a_count_holds_or_is_still_counted() -> None:
    policy = SessionPolicy().forget_after
    assert not unlockable(None, T0, policy)
    assert unlockable(SignInFailures(1, T0 - timedelta(minutes=59)), T0, policy)
    assert not unlockable(SignInFailures(3, T0 - timedelta(hours=1)), T0, policy)  # starts afresh: nothing to clear
    assert unlockable(SignInFailures(12, T0 - timedelta(hours=2), locked_until=T0 + timedelta(seconds=1)), T0, policy)


def test_unknown_usernames_verify_against_one_dummy_hash_per_process(tmp_path: Path) -> None:
    container = make_world(tmp_path).container
    first, second = container.sessions(), container.sessions()  # one per request
    assert first is not second and first.hasher is second.hasher
    assert first.hasher.dummy_hash() == second.hasher.dummy_hash()  # made once, not per request
    assert not first.hasher.verify_password(first.hasher.dummy_hash(), "any password at all")
