"""Issue 21 items 6 and 11: what the settings, the query parameters and the settings form accept, on the API and the
web pages: credentials HTTP headers can carry, page positions in ASCII digits, authorisation before conversion."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from domain.roles import Role
from tests.http.conftest import HttpWorld, call
from tests.http.test_hardening import audit_records

Client = AsyncTestClient  # type: ignore[type-arg]
A, OP = Role.ADMIN, Role.OPERATOR
WEB_PASSWORD = "a long enough web password"
SETTINGS = "/api/v1/settings/autotask"
SETTINGS_FORM = {
    "enabled": "on",
    "environment": "sandbox",
    "api_username": "api@example.com",
    "tracking_identifier": "TRACKING01",
    "ticket_due_hours": "24",
    "api_log_level": "errors",
}
"""The settings form as the page sends it (picklists left empty: none)."""


async def sign_in(client: Any, world: HttpWorld, role: Role) -> None:
    """The web session of `role`'s user (given a password first): the client keeps its cookie."""
    user = world.store.users[role.value]
    world.store.users[role.value] = replace(user, password_hash=world.container.hasher().hash_password(WEB_PASSWORD))
    await web_sign_in(client, role)


async def web_sign_in(client: Any, role: Role) -> None:
    form = {"_csrf": _csrf((await client.get("/sign-in")).text), "username": role.value, "password": WEB_PASSWORD}
    answer = await client.post("/sign-in", data=form, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/runs", answer.text


def _csrf(html: str) -> str:
    found = re.search(r'name="_csrf" value="([^"]+)"', html)
    assert found is not None
    return found[1]


async def page_csrf(client: Any) -> str:
    """A CSRF token of the signed-in session (every page's forms carry the same one)."""
    return _csrf((await client.get("/runs")).text)


# --------------------------------------------------------------------------- item 6: credentials HTTP headers carry
UNSENDABLE = [
    ("api_password", "pässwörd"),
    ("api_password", "two words"),
    ("api_username", "api user@example.com"),
    ("api_username", "api@exämple.com"),
    ("tracking_identifier", "TRACKING\u00a001"),
    ("tracking_identifier", "TRACKING-Ω"),
]


@pytest.mark.parametrize(("name", "value"), UNSENDABLE)
async def test_a_credential_an_http_header_cannot_carry_is_422_setting_invalid(
    client: Client, world: HttpWorld, name: str, value: str
) -> None:
    before = world.store.settings["autotask"]
    r = await call(client, world, A, "PUT", SETTINGS, {name: value})
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["code"] == "setting_invalid" and "visible ASCII" in problem["detail"]
    assert problem["errors"] == [{"field": name, "message": problem["detail"]}]
    assert world.store.settings["autotask"] == before  # nothing stored
    (record,) = await audit_records(world, "settings.update")
    assert (record.outcome.value, record.details["code"]) == ("denied", "setting_invalid")
    assert value not in str(record.details)  # a password never reaches the audit log


async def test_visible_ascii_credentials_are_stored(client: Client, world: HttpWorld) -> None:
    body = {"api_username": "api@example.com", "api_password": "p@ss~W0rd!#$%&*", "tracking_identifier": "TRACK-01"}
    r = await call(client, world, A, "PUT", SETTINGS, body)
    assert r.status_code == 200, r.text
    r = await call(client, world, A, "PUT", SETTINGS, {"api_username": "", "tracking_identifier": ""})
    assert r.status_code == 200, r.text  # empty still clears them


async def test_a_stored_password_http_cannot_carry_answers_clearly_never_500(client: Client, world: HttpWorld) -> None:
    """A password stored before the check: every Autotask call answered 500 (UnicodeEncodeError building headers)."""
    world.configure(api_password_sealed=world.box.seal("pässwörd"))
    r = await call(client, world, A, "POST", f"{SETTINGS}/test-connection")
    assert r.status_code == 200 and r.json()["code"] == "not_configured", r.text
    assert "stored Autotask API password" in r.json()["message"] and "enter it again" in r.json()["message"]
    r = await call(client, world, A, "PUT", "/api/v1/customers/c1/autotask-mapping", {"company_id": 100})
    assert r.status_code == 409 and r.json()["code"] == "integration_disabled", r.text


async def test_the_settings_page_says_why_a_credential_is_refused(client: Client, world: HttpWorld) -> None:
    await sign_in(client, world, A)
    before = world.store.settings["autotask"]
    form = {**SETTINGS_FORM, "_csrf": await page_csrf(client)}
    answer = await client.post("/settings/autotask", data={**form, "api_password": "pässwörd"})
    assert answer.status_code == 200 and "Not done (saving the settings): The API password may hold only" in _text(
        answer
    )
    assert world.store.settings["autotask"] == before


def _text(answer: Any) -> str:
    return re.sub(r"\s+", " ", str(answer.text))
