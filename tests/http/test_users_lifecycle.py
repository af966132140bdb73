"""A user's lifecycle over the API (issue 19): role change, disabling and enabling, a new token, an admin's password
reset, one's own password; every change ends the user's web sessions at once, is audited without a secret, and the last
enabled admin stays."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from litestar.testing import AsyncTestClient

from domain.roles import Role
from tests.http.conftest import Client, HttpWorld, SharedApp, call

A, OP, R = Role.ADMIN, Role.OPERATOR, Role.REPORTER
WEB_PASSWORD = "a long enough web password"


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = dict(response.json())
    assert body["code"] == code, body
    return body


async def signed_in(shared_app: SharedApp, world: HttpWorld, role: Role, password: str = WEB_PASSWORD) -> Client:
    """A browser of its own with a web session of `role`'s user (given `password` first when it has none)."""
    user = world.store.users[role.value]
    if user.password_hash is None:
        hashed = world.container.hasher().hash_password(password)
        world.store.users[role.value] = replace(user, password_hash=hashed)
    browser = AsyncTestClient(shared_app.app)
    await browser.__aenter__()
    assert await sign_in(browser, role.value, password) == 303
    return browser


async def sign_in(browser: Client, username: str, password: str) -> int:
    page = (await browser.get("/sign-in")).text
    found = re.search(r'name="_csrf" value="([^"]+)"', page)
    assert found is not None
    form = {"_csrf": found[1], "username": username, "password": password}
    return (await browser.post("/sign-in", data=form, follow_redirects=False)).status_code


async def in_session(browser: Client) -> bool:
    return (await browser.get("/runs", follow_redirects=False)).status_code == 200


def audited(world: HttpWorld, action: str) -> list[dict[str, Any]]:
    return [
        dict(r.entry.details) | {"_outcome": r.entry.outcome.value}
        for r in world.store.audit
        if r.entry.action == action
    ]


async def test_role_change_and_disabling_end_the_users_sessions_and_a_disabled_token_answers_401_at_once(
    client: Client, world: HttpWorld, shared_app: SharedApp
) -> None:
    browser = await signed_in(shared_app, world, OP)
    try:
        r = await call(client, world, A, "PATCH", "/api/v1/users/operator", {"role": "reporter"})
        assert r.status_code == 200, r.text
        assert r.json()["role"] == "reporter" and r.json()["disabled"] is False
        assert not await in_session(browser)  # the change ended the session at once
        assert (await call(client, world, OP, "GET", "/api/v1/runs")).status_code == 200  # the token still works
        problem(
            await call(client, world, OP, "PUT", "/api/v1/customers/c1/autotask-mapping", {"company_id": 100}),
            403,
            "forbidden",
        )

        assert await sign_in(browser, "operator", WEB_PASSWORD) == 303
        r = await call(client, world, A, "PATCH", "/api/v1/users/operator", {"disabled": True})
        assert r.status_code == 200 and r.json()["disabled"] is True
        assert (await call(client, world, OP, "GET", "/api/v1/runs")).status_code == 401
        assert not await in_session(browser)
        assert await sign_in(browser, "operator", WEB_PASSWORD) == 401  # refused, the page says why
        listed = (await call(client, world, A, "GET", "/api/v1/users")).json()["items"]
        assert next(u for u in listed if u["username"] == "operator")["disabled"] is True

        r = await call(client, world, A, "PATCH", "/api/v1/users/operator", {"disabled": False, "role": "operator"})
        assert r.status_code == 200 and r.json()["role"] == "operator" and r.json()["disabled"] is False
        assert (await call(client, world, OP, "GET", "/api/v1/runs")).status_code == 200
        assert await sign_in(browser, "operator", WEB_PASSWORD) == 303
    finally:
        await browser.__aexit__(None, None, None)
    records = audited(world, "user.update")
    assert [(d["role"], d["disabled"]) for d in records] == [
        ("reporter", False),
        ("reporter", True),
        ("operator", False),
    ]
    problem(await call(client, world, A, "PATCH", "/api/v1/users/nobody", {"disabled": True}), 404, "user_not_found")
    problem(await call(client, world, A, "PATCH", "/api/v1/users/operator", {"role": "boss"}), 400, "invalid_input")


async def test_the_last_enabled_admin_cannot_be_demoted_disabled_or_removed(client: Client, world: HttpWorld) -> None:
    for change in ({"role": "operator"}, {"disabled": True}):
        problem(await call(client, world, A, "PATCH", "/api/v1/users/admin", change), 409, "last_admin")
    r = await call(client, world, A, "POST", "/api/v1/users", {"username": "second", "role": "admin"})
    second = r.json()
    assert r.status_code == 201
    second_auth = {"Authorization": f"Bearer {second['token']}"}
    assert (await call(client, world, A, "PATCH", "/api/v1/users/admin", {"disabled": True})).status_code == 200
    # "admin" is disabled: "second" is the last enabled admin now
    for change in ({"role": "reporter"}, {"disabled": True}):
        r = await client.patch(f"/api/v1/users/{second['id']}", json=change, headers=second_auth)
        problem(r, 409, "last_admin")
    problem(await client.delete(f"/api/v1/users/{second['id']}", headers=second_auth), 409, "last_admin")
    assert (await client.delete("/api/v1/users/admin", headers=second_auth)).status_code == 204  # a disabled admin
    outcomes = [d["_outcome"] for d in audited(world, "user.update")]  # repeated refusals are folded (ADR 0008)
    assert outcomes[0] == "denied" and outcomes[1] == "ok" and "denied" in outcomes[2:]


async def test_a_new_token_replaces_the_old_one_at_once(
    client: Client, world: HttpWorld, shared_app: SharedApp
) -> None:
    browser = await signed_in(shared_app, world, R)
    try:
        r = await call(client, world, A, "POST", "/api/v1/users/reporter/token")
        assert r.status_code == 200 and set(r.json()) == {"token"}
        token = r.json()["token"]
        assert (await call(client, world, R, "GET", "/api/v1/runs")).status_code == 401
        assert (await client.get("/api/v1/runs", headers={"Authorization": f"Bearer {token}"})).status_code == 200
        assert not await in_session(browser)
    finally:
        await browser.__aexit__(None, None, None)
    assert token not in str(world.store.audit) and audited(world, "user.token")[0]["username"] == "reporter"
    problem(await call(client, world, A, "POST", "/api/v1/users/nobody/token"), 404, "user_not_found")


async def test_an_admins_password_reset_generates_or_sets_one_and_ends_every_session(
    client: Client, world: HttpWorld, shared_app: SharedApp
) -> None:
    browser = await signed_in(shared_app, world, OP)
    try:
        r = await call(client, world, A, "POST", "/api/v1/users/operator/password")
        assert r.status_code == 200 and set(r.json()) == {"password"}
        generated = r.json()["password"]
        assert not await in_session(browser)
        assert await sign_in(browser, "operator", WEB_PASSWORD) == 401
        assert await sign_in(browser, "operator", generated) == 303
        chosen = "a chosen password for the operator"
        r = await call(client, world, A, "POST", "/api/v1/users/operator/password", {"password": chosen})
        assert r.status_code == 200 and r.json() == {"password": None}
        assert not await in_session(browser)
        assert await sign_in(browser, "operator", chosen) == 303
    finally:
        await browser.__aexit__(None, None, None)
    for weak in ("short", "operator", "Password1234", "aaaaaaaaaaaaaa"):
        r = await call(client, world, A, "POST", "/api/v1/users/operator/password", {"password": weak})
        assert problem(r, 422, "weak_password")["detail"]
    records = audited(world, "user.password_reset")
    assert [d.get("generated") for d in records if d["_outcome"] == "ok"] == [True, False]
    assert generated not in str(world.store.audit) and chosen not in str(world.store.audit)
    assert world.store.users["operator"].password_changed_at is not None


async def test_every_role_changes_its_own_password_and_its_sessions_end(
    client: Client, world: HttpWorld, shared_app: SharedApp
) -> None:
    browser = await signed_in(shared_app, world, R)
    new = "the reporter's new passphrase"
    try:
        body = {"current_password": "not it at all", "new_password": new}
        problem(await call(client, world, R, "POST", "/api/v1/me/password", body), 403, "wrong_password")
        body = {"current_password": WEB_PASSWORD, "new_password": "reporter"}
        problem(await call(client, world, R, "POST", "/api/v1/me/password", body), 422, "weak_password")
        assert await in_session(browser)  # nothing changed yet
        body = {"current_password": WEB_PASSWORD, "new_password": new}
        assert (await call(client, world, R, "POST", "/api/v1/me/password", body)).status_code == 204
        assert not await in_session(browser)
        assert await sign_in(browser, "reporter", WEB_PASSWORD) == 401
        assert await sign_in(browser, "reporter", new) == 303
    finally:
        await browser.__aexit__(None, None, None)
    outcomes = [d["_outcome"] for d in audited(world, "user.password_change")]
    assert sorted(outcomes) == ["denied", "denied", "ok"]  # folded refusals may be written later (ADR 0008)
    assert new not in str(world.store.audit) and WEB_PASSWORD not in str(world.store.audit)
    # a user without a password (token only) has no current password to give
    body = {"current_password": "", "new_password": new}
    problem(await call(client, world, OP, "POST", "/api/v1/me/password", body), 403, "wrong_password")
    assert (await client.post("/api/v1/me/password", json=body)).status_code == 401


async def test_only_an_admin_manages_users(client: Client, world: HttpWorld) -> None:
    for role in (OP, R):
        for method, path, body in (
            ("PATCH", "/api/v1/users/admin", {"disabled": True}),
            ("POST", "/api/v1/users/admin/token", None),
            ("POST", "/api/v1/users/admin/password", None),
        ):
            problem(await call(client, world, role, method, path, body), 403, "forbidden")
    assert (await call(client, world, A, "POST", "/api/v1/users/admin/token")).status_code == 200
    assert (await call(client, world, None, "PATCH", "/api/v1/users/admin", {"disabled": True})).status_code == 401
    assert world.store.users["admin"].disabled is False


async def test_last_seen_shows_in_the_list_and_on_the_users_page(
    client: Client, world: HttpWorld, shared_app: SharedApp
) -> None:
    """Null (the page says "never") until the user authenticates; then the time of the token's use."""

    def last_seen(listed: Any, username: str) -> Any:
        return next(u for u in listed.json()["items"] if u["username"] == username)["last_seen_at"]

    assert last_seen(await call(client, world, A, "GET", "/api/v1/users"), "reporter") is None
    browser = await signed_in(shared_app, world, A)
    try:
        page = (await browser.get("/users")).text
        row = re.search(r'<tr id="user-reporter">.*?</tr>', page, re.S)
        assert row is not None and '<td data-label="Last seen">never</td>' in row[0]
        assert (await call(client, world, R, "GET", "/api/v1/runs")).status_code == 200
        seen = last_seen(await call(client, world, A, "GET", "/api/v1/users"), "reporter")
        assert isinstance(seen, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d.*", seen)
        assert world.store.users["reporter"].last_seen_at is not None
        page = (await browser.get("/users")).text
        row = re.search(r'<tr id="user-reporter">.*?</tr>', page, re.S)
        shown = world.store.users["reporter"].last_seen_at.strftime("%Y-%m-%d %H:%M")
        assert row is not None and f'<td data-label="Last seen">{shown}</td>' in row[0]
    finally:
        await browser.__aexit__(None, None, None)
