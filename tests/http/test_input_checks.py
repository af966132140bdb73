"""Issue 21 items 6 and 11: what the settings, the query parameters and the settings form accept, on the API and the
web pages: credentials HTTP headers can carry, page positions in ASCII digits, authorisation before conversion."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from domain.roles import Role
from entrypoints.shared.pagination import encode_cursor
from tests.http.conftest import Client, HttpWorld, app_on_backend, call
from tests.http.test_hardening import audit_records
from tests.storage_backends import backend_params

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


def _flash(answer: Any) -> Any:
    """What the page a redirect leads to will say (the flash cookie the answer sets)."""
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("bc_flash="))
    return json.loads(base64.urlsafe_b64decode(cookie.split(";")[0].removeprefix("bc_flash=")))


def _text(answer: Any) -> str:
    return re.sub(r"\s+", " ", str(answer.text))


# ------------------------------------------------------------------- item 11: page positions in ASCII digits only
NOT_A_POSITION = ["١٢", "²", "𝟗", str(10**30), str(2**63), "-1", "+1", " 1", "1e3", "0x10"]


@pytest.fixture(params=backend_params())
async def web_backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[HttpWorld, Any]]:
    """An app on a fresh memory, SQLite or PostgreSQL store whose users may sign in to the pages, the admin signed in
    (which writes the first audit record)."""
    async with app_on_backend(request.param, tmp_path, WEB_PASSWORD) as (world, client):
        await web_sign_in(client, A)
        yield world, client


async def test_the_audit_page_reads_after_in_ascii_digits_only_never_500(web_backend: tuple[HttpWorld, Any]) -> None:
    """`/audit?after=` used str.isdigit: `²` is a digit int() cannot read, `١٢` one it reads, 10**30 one no database
    column holds (500 on SQLite and PostgreSQL). Anything but ASCII digits up to 2**63-1 is ignored, as the page
    ignores every filter value it cannot read."""
    _, client = web_backend
    first = await client.get("/audit")
    assert first.status_code == 200 and "session.sign_in" in first.text
    for after in NOT_A_POSITION:
        page = await client.get("/audit", params={"after": after})
        assert page.status_code == 200, (after, page.text[:300])
        assert "session.sign_in" in page.text, after  # the first page, as without `after`
        export = await client.get("/audit/export", params={"after": after})
        assert export.status_code == 200 and "session.sign_in" in export.text, after
    assert "session.sign_in" not in (await client.get("/audit", params={"after": "1"})).text  # digits still page
    assert (await client.get("/audit", params={"after": str(2**63 - 1)})).status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        {"cursor": encode_cursor(10**30)},
        {"cursor": encode_cursor(2**63)},
        {"cursor": encode_cursor("١٢")},
        {"cursor": encode_cursor(-1)},
        {"cursor": "١٢"},
        {"limit": "١٢"},
        {"limit": str(10**30)},
    ],
)
async def test_the_api_reads_cursors_and_limits_strictly(client: Client, world: HttpWorld, query: Any) -> None:
    r = await client.get("/api/v1/audit", params=query, headers=world.auth(A))
    assert r.status_code == 400 and r.json()["code"] == "invalid_input", r.text
    assert r.json()["errors"][0]["field"] in query


@pytest.mark.parametrize("key", ["a\x00b", "x" * 256])
async def test_a_cursor_key_no_id_or_name_can_be_is_400(client: Client, world: HttpWorld, key: str) -> None:
    for path in ("/api/v1/customers", "/api/v1/users"):
        r = await client.get(path, params={"cursor": encode_cursor(key)}, headers=world.auth(A))
        assert r.status_code == 400 and r.json()["errors"] == [
            {"field": "cursor", "message": "This cursor is not valid; start again without one."}
        ], r.text


@pytest.mark.parametrize("company_id", ["١٢", "²", str(10**30), str(2**31), "0", "-5"])
async def test_the_mapping_form_reads_the_company_id_in_ascii_digits(
    client: Client, world: HttpWorld, company_id: str
) -> None:
    await sign_in(client, world, OP)
    form = {"_csrf": await page_csrf(client), "company_id": company_id}
    answer = await client.post("/customers/c2/map", data=form)
    assert answer.status_code == 200 and "Enter the Autotask company ID (a whole number)." in answer.text
    assert world.store.mappings.get("c2") is None


# ------------------------------------------------------- item 11: the settings form authorises before it converts
UNCONVERTIBLE = {**SETTINGS_FORM, "ticket_due_hours": "soon", "default_queue_id": "queue"}


@pytest.mark.parametrize("form", [SETTINGS_FORM, UNCONVERTIBLE], ids=["convertible", "unconvertible"])
async def test_a_non_admin_saving_the_settings_form_is_forbidden_and_audited_whatever_it_holds(
    client: Client, world: HttpWorld, form: dict[str, str]
) -> None:
    await sign_in(client, world, OP)
    before = world.store.settings["autotask"]
    form = {**form, "_csrf": await page_csrf(client)}
    answer = await client.post("/settings/autotask", data=form, follow_redirects=False)
    assert answer.status_code == 303 and _flash(answer) == {
        "kind": "error",
        "text": "Not done (saving the settings): Your role may not do this.",
    }
    assert world.store.settings["autotask"] == before
    (record,) = await audit_records(world, "settings.update")
    assert (record.actor, record.outcome.value, record.details["code"]) == ("operator", "denied", "forbidden")


async def test_an_admin_saving_an_unconvertible_settings_form_hears_which_value_and_it_is_audited(
    client: Client, world: HttpWorld
) -> None:
    await sign_in(client, world, A)
    before = world.store.settings["autotask"]
    answer = await client.post("/settings/autotask", data={**UNCONVERTIBLE, "_csrf": await page_csrf(client)})
    # Issue 18: each value the form could not read has a sentence beside its field and keeps what was typed; msgspec's
    # own text is never shown.
    assert answer.status_code == 400 and "Expected `" not in answer.text and "Nothing was saved" in answer.text
    assert re.search(r'<select id="default_queue_id"[^>]* aria-invalid="true"', answer.text)
    assert '<option value="queue" selected>' in answer.text  # the picklist keeps the value it was sent
    assert 'id="ticket_due_hours" name="ticket_due_hours" type="number" inputmode="numeric" value="soon"' in answer.text
    for name in ("default_queue_id", "ticket_due_hours"):
        assert f'<p class="field-error" id="{name}-error">Enter a whole number (an ID or a count).</p>' in answer.text
    assert 'value="api@example.com"' in answer.text and 'value="TRACKING01"' in answer.text
    assert world.store.settings["autotask"] == before
    (record,) = await audit_records(world, "settings.update")
    assert (record.actor, record.outcome.value, record.details["code"]) == ("admin", "denied", "invalid_input")


@pytest.mark.parametrize(
    ("path", "field", "words"),
    [
        ("/api/v1/runs?status=bogus", "status", "Run statuses, comma-separated: success, warning, error, missed."),
        ("/api/v1/runs?since=yesterday", "since", "A date and time in RFC 3339 with its offset, such as"),
        ("/api/v1/runs?cursor=%21%21", "cursor", "The previous page's next_cursor, exactly as it was given."),
        ("/api/v1/customers?search=a%01b", "search", "One line of text, without control characters."),
    ],
)
async def test_a_pattern_mismatch_says_what_is_allowed_not_the_regex(
    client: Client, world: HttpWorld, path: str, field: str, words: str
) -> None:
    answer = await call(client, world, Role.OPERATOR, "GET", path)
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["code"] == "invalid_input"
    [error] = body["errors"]
    assert error["field"] == field and error["message"].startswith(words), error
    assert "regex" not in answer.text and "^" not in answer.text


async def test_a_body_pattern_mismatch_says_what_is_allowed(client: Client, world: HttpWorld) -> None:
    bad = {"backupchecks_base_url": "ftp://example.com"}
    answer = await call(client, world, Role.ADMIN, "PUT", "/api/v1/settings/autotask", bad)
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "invalid_input"
    assert answer.json()["errors"] == [
        {"field": "backupchecks_base_url", "message": "An http:// or https:// URL on one line."}
    ], answer.text
