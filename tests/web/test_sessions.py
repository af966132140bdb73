"""Sign-in, sessions and CSRF without a browser: the use case with a clock the test moves, and the app's cookies."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from dependency_injector import providers
from litestar.testing import AsyncTestClient

from adapters.credentials import Argon2Credentials
from adapters.memory.sessions import MemorySessionStore
from application.ports import User
from application.use_cases.web_sessions import Sessions, SignInRefused
from domain.roles import Role
from entrypoints.container import Config
from entrypoints.http.app import create_app
from tests.http.conftest import make_world
from tests.support import T0, UseCaseWorld

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


async def test_failed_sign_ins_are_audited_and_lock_the_username_for_a_while() -> None:
    world, sessions, _ = await _world_with_user()
    for attempt in range(1, 6):
        with pytest.raises(SignInRefused) as refused:
            await sessions.sign_in("oscar", f"wrong {attempt}")
        assert refused.value.code == "sign_in_failed"
    assert "locked for 15 minutes" in refused.value.message
    with pytest.raises(SignInRefused) as refused:
        await sessions.sign_in("oscar", PASSWORD)  # even the right password, while locked
    assert refused.value.code == "sign_in_locked"
    world.clock.advance(15 * 60 + 1)
    assert (await sessions.sign_in("oscar", PASSWORD)).actor.name == "oscar"
    with pytest.raises(SignInRefused):
        await sessions.sign_in("nobody", PASSWORD)
    denied = [a for a in await _audit(world) if a[1] == "denied"]
    assert len(denied) == 7
    assert all("wrong" not in d[2] and PASSWORD not in d[2] for d in denied)  # never a password in the audit log


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
