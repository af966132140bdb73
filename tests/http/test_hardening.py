"""HTTP hardening (ADR 0008): control characters refused and audited on every backend, body depth and size limits,
security headers, the protected /metrics, failed authentication slowed, repeated denials folded with their count."""

from __future__ import annotations

import csv
import io
import logging
import secrets
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers
from litestar.testing import AsyncTestClient

from application.denials import DenialFolder
from application.errors import NotFound
from application.ports import AuditQuery, UnitOfWorkFactory
from domain.audit import AuditEntry, Outcome
from domain.roles import Actor, Role
from entrypoints.asgi import create_app
from entrypoints.container import Config
from entrypoints.http.hardening import MAX_BODY_BYTES, MAX_JSON_DEPTH, AuthThrottle, too_deep
from tests.http.conftest import AT, NO_DELAY, Client, HttpWorld, app_on_backend, call
from tests.storage_backends import backend_params

A, OP, R = Role.ADMIN, Role.OPERATOR, Role.REPORTER
RUN = {
    "customer_id": "c1",
    "job_name": "Nightly",
    "backup_software": "Veeam",
    "backup_type": "Backup job",
    "run_at": "2026-01-16T02:10:00Z",
    "status": "error",
}


# ------------------------------------------------------------------------------------- control characters, 3 backends


@pytest.fixture(params=backend_params())
async def backend_world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[HttpWorld, Any]]:
    """An app on a fresh memory, SQLite or PostgreSQL store with the three users and customer c1 (made over HTTP)."""
    async with app_on_backend(request.param, tmp_path) as (world, client):
        r = await call(client, world, A, "PUT", "/api/v1/customers/c1", {"name": "Acme"})
        assert r.status_code == 201, r.text
        yield world, client


async def audit_records(world: HttpWorld, action: str) -> list[Any]:
    storage: UnitOfWorkFactory = world.container.storage()
    async with storage() as uow:
        return [r.entry for r in await uow.audit.query(AuditQuery(action=action, limit=500))]


CONTROL_CASES = [  # (role, method, path, body): ids in paths and queries, one-line text in bodies
    (R, "GET", "/api/v1/runs/a%00b", None),
    (R, "GET", "/api/v1/runs/a%01b/autotask-ticket", None),
    (R, "PUT", "/api/v1/runs/a%00b", RUN),  # refused before the role check: still audited
    (A, "PUT", "/api/v1/runs/r1", {**RUN, "job_name": "Night\x00ly"}),
    (A, "PUT", "/api/v1/runs/r1", {**RUN, "customer_id": "c\x1b1"}),
    (A, "PUT", "/api/v1/runs/r1", {**RUN, "messages": ["fine", "not\x00fine"]}),
    (A, "PUT", "/api/v1/runs/r1", {**RUN, "objects": [{"name": "vm\x7f", "status": "error"}]}),
    (A, "PUT", "/api/v1/customers/c%00", {"name": "Acme"}),
    (A, "PUT", "/api/v1/customers/c2", {"name": "Ac\nme"}),  # a name is one line
    (A, "PUT", "/api/v1/customers/c2", {"name": "Ac\u0085me"}),  # C1 controls too
    (R, "GET", "/api/v1/runs?customer_id=c%001", None),
    (A, "GET", "/api/v1/audit?actor=ad%00min", None),
    (OP, "GET", "/api/v1/autotask/companies?search=Ac%00me", None),
    (A, "POST", "/api/v1/users", {"username": "eve\x00", "role": "reporter"}),
    (A, "PUT", "/api/v1/settings/autotask", {"api_username": "api\x00@example.com"}),
    (OP, "POST", "/api/v1/autotask/tickets/refresh", {"run_ids": ["r\x00"]}),
    (A, "DELETE", "/api/v1/users/u%00", None),
]


async def test_control_characters_are_400_and_audited_on_every_backend(
    backend_world: tuple[HttpWorld, Any], caplog: pytest.LogCaptureFixture
) -> None:
    world, client = backend_world
    caplog.set_level(logging.ERROR)
    for role, method, path, body in CONTROL_CASES:
        r = await call(client, world, role, method, path, body)
        assert r.status_code == 400, (method, path, r.status_code, r.text)
        assert r.json()["code"] == "invalid_input", r.text
    assert "Traceback" not in caplog.text and "unhandled" not in caplog.text
    records = await audit_records(world, "request.invalid")
    # One record per actor (the same actor's further refusals are folded into the count, never lost).
    assert {(r.actor, r.outcome) for r in records} == {(role.value, Outcome.DENIED) for role in Role}
    assert all(r.details["code"] == "invalid_input" and "\x00" not in str(r.details) for r in records)
    storage: UnitOfWorkFactory = world.container.storage()
    async with storage() as uow:
        assert await uow.runs.get("r1") is None and await uow.customers.get("c2") is None


async def test_multi_line_text_keeps_tab_and_newline(backend_world: tuple[HttpWorld, Any]) -> None:
    world, client = backend_world
    messages = ["line one\nline two\ttabbed\r\n"]
    objects = [{"name": "vm-01", "status": "error", "message": "Snapshot\nfailed\t(3 tries)"}]
    r = await call(client, world, A, "PUT", "/api/v1/runs/r1", {**RUN, "messages": messages, "objects": objects})
    assert r.status_code == 201, r.text
    got = (await call(client, world, R, "GET", "/api/v1/runs/r1")).json()
    assert got["messages"] == messages and got["objects"][0]["message"] == objects[0]["message"]


async def test_the_audit_spells_out_control_characters_it_is_given(backend_world: tuple[HttpWorld, Any]) -> None:
    """Any caller (the command line too) may hand a use case an id with a NUL: the refusal is still stored."""
    world, _ = backend_world
    with pytest.raises(NotFound):
        await world.container.remove_user().execute(Actor("admin", A), "u\x00\x1f")
    records = await audit_records(world, "user.remove")
    assert [r.target_id for r in records] == ["u\\x00\\x1f"]


# --------------------------------------------------------------------------------------------------------- bodies


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1_000, 100_000])
async def test_deep_json_is_400_before_authentication_without_a_traceback(
    client: Client, world: HttpWorld, caplog: pytest.LogCaptureFixture, depth: int
) -> None:
    caplog.set_level(logging.INFO)
    body = '{"name": "x", "extra": ' + "[" * depth + "]" * depth + "}"
    for headers in ({}, world.auth(A)):
        r = await client.put(
            "/api/v1/customers/c9", content=body, headers={**headers, "Content-Type": "application/json"}
        )
        assert r.status_code == 400 and r.json()["code"] == "invalid_input", r.text
        assert f"more than {MAX_JSON_DEPTH} deep" in r.json()["detail"]
    assert "Traceback" not in caplog.text and "unhandled" not in caplog.text


async def test_a_body_nested_within_the_limit_is_read(client: Client, world: HttpWorld) -> None:
    nested = "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)
    r = await client.put(
        "/api/v1/customers/c9",
        content='{"name": "x", "extra": ' + nested + "}",
        headers={**world.auth(A), "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "extra"  # read, then the unknown field refused


async def test_the_document_declares_the_body_refusals(client: Client) -> None:
    doc = (await client.get("/schema/openapi.json")).json()
    put_run = doc["paths"]["/api/v1/runs/{run_id}"]["put"]["responses"]
    assert {"400", "413", "415"} <= set(put_run) and "413" not in doc["paths"]["/api/v1/runs"]["get"]["responses"]
    assert f"at most {MAX_BODY_BYTES} bytes" in doc["info"]["description"]
    assert doc["components"]["schemas"]["RunIn"]["additionalProperties"] is False


async def test_an_oversized_body_is_413(client: Client, world: HttpWorld) -> None:
    body = '{"name": "' + "x" * MAX_BODY_BYTES + '"}'
    r = await client.put(
        "/api/v1/customers/c9", content=body, headers={**world.auth(A), "Content-Type": "application/json"}
    )
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large", r.text
    assert "c9" not in world.store.customers


async def test_unknown_fields_and_numbers_as_times_are_refused(client: Client, world: HttpWorld) -> None:
    r = await call(client, world, A, "PUT", "/api/v1/runs/r9", {**RUN, "run_at": 0})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "run_at"
    r = await call(client, world, A, "PUT", "/api/v1/runs/r9", {**RUN, "surprise": 1})
    assert r.status_code == 400 and "surprise" in r.text
    r = await call(client, world, R, "GET", "/api/v1/runs?since=0")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "since"
    r = await call(client, world, R, "GET", "/api/v1/runs?since=2026-01-15T02:00:00Z")
    assert r.status_code == 200
    assert "r9" not in world.store.runs


# -------------------------------------------------------------------------------------------------------- headers

SECURITY = {"x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "no-referrer"}


async def test_security_headers_on_every_answer_and_no_store_on_the_api(client: Client, world: HttpWorld) -> None:
    answers = {
        "health": await client.get("/health"),
        "unauthorized": await client.get("/api/v1/runs"),
        "not found": await client.get("/nowhere"),
        "runs": await call(client, world, R, "GET", "/api/v1/runs"),
        "new token": await call(client, world, A, "POST", "/api/v1/users", {"username": "eve", "role": "reporter"}),
        "schema": await client.get("/schema"),
    }
    for name, r in answers.items():
        for header, value in SECURITY.items():
            assert r.headers.get(header) == value, (name, header)
        assert "content-security-policy" in r.headers, name
    for name in ("unauthorized", "runs", "new token"):
        assert answers[name].headers["cache-control"] == "no-store", name
    assert answers["new token"].status_code == 201 and "token" in answers["new token"].json()
    assert "default-src 'none'" in answers["runs"].headers["content-security-policy"]


async def test_options_allows_every_method_of_the_route(client: Client) -> None:
    r = await client.options("/api/v1/runs/r-err")
    assert r.status_code == 204 and set(r.headers["allow"].split(", ")) == {"GET", "PUT", "OPTIONS"}
    r = await client.options("/api/v1/customers/c1/autotask-mapping")
    assert set(r.headers["allow"].split(", ")) == {"PUT", "DELETE", "OPTIONS"}


async def test_the_schema_page_needs_no_internet(client: Client) -> None:
    page = (await client.get("/schema")).text
    assert "swagger-ui-bundle.js" in page and "https://" not in page and "http://" not in page
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js", "favicon-32x32.png"):
        r = await client.get(f"/static/swagger-ui/{asset}")
        assert r.status_code == 200 and len(r.content) > 500, asset


# -------------------------------------------------------------------------------------------------------- metrics


async def test_metrics_need_the_metrics_token_or_an_admin(world: HttpWorld, tmp_path: Path) -> None:
    metrics_token = secrets.token_urlsafe(24)
    world.container.config.override(providers.Object(Config(data_dir=tmp_path, metrics_token=metrics_token)))
    async with AsyncTestClient(create_app(world.container, throttle=NO_DELAY)) as client:
        assert (await client.get("/metrics")).status_code == 401
        assert (await client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 401
        assert (await client.get("/metrics", headers=world.auth(OP))).status_code == 403
        for headers in (world.auth(A), {"Authorization": f"Bearer {metrics_token}"}):
            r = await client.get("/metrics", headers=headers)
            assert r.status_code == 200 and "backupchecks_http_request_duration_seconds" in r.text
            assert r.headers["cache-control"] == "no-store"


# ------------------------------------------------------------------------------------------ failed authentication


class Recorder:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_throttle_doubles_per_client_up_to_the_cap_and_forgets_after_the_window() -> None:
    r = Recorder()
    throttle = AuthThrottle(base=0.1, cap=1.0, window=60, clients=2, clock=r.clock)
    assert [throttle.delay("a") for _ in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert max(throttle.delay("a") for _ in range(5000)) == 1.0  # no overflow however long a client insists
    assert throttle.delay("b") == 0.1  # per client
    r.now += 61
    assert throttle.delay("a") == 0.1  # a quiet window starts over
    throttle.delay("c")  # a third client: the least recently failing one is forgotten
    assert len(throttle._failures) == 2


async def test_wrong_tokens_are_slowed_and_a_right_one_is_not(world: HttpWorld) -> None:
    r = Recorder()
    throttle = AuthThrottle(base=0.05, cap=2.0, clock=r.clock, sleep=r.sleep)
    async with AsyncTestClient(create_app(world.container, throttle=throttle)) as client:
        for _ in range(8):
            assert (await client.get("/api/v1/runs", headers={"Authorization": "Bearer nope"})).status_code == 401
        assert r.slept == [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0]
        assert (await call(client, world, R, "GET", "/api/v1/runs")).status_code == 200
        assert (await client.get("/api/v1/runs")).status_code == 401
        assert r.slept[-1] == 0.05  # a success clears the client's failures


# --------------------------------------------------------------------------------------------------------- denials


def entry(at: datetime, actor: str = "reporter", action: str = "ticket.create") -> AuditEntry:
    return AuditEntry(at, actor, "reporter", action, "run", "r-err", Outcome.DENIED, {"code": "forbidden"})


def test_the_folder_writes_the_first_counts_the_rest_and_hands_back_the_count() -> None:
    folder = DenialFolder(window=timedelta(seconds=60), keys=2)
    assert folder.admit(entry(AT)) == (0, [])
    assert [folder.admit(entry(AT + timedelta(seconds=s))) for s in (1, 2, 3)] == [None, None, None]
    assert folder.admit(entry(AT, action="user.add")) == (0, [])  # another action: its own window
    assert folder.admit(entry(AT + timedelta(seconds=61))) == (3, [])  # after the window: written with the 3 before
    assert folder.admit(entry(AT + timedelta(seconds=62))) is None
    pending = folder.flush()
    assert [(e.action, e.details.get("folded")) for e in pending] == [("ticket.create", None)]  # itself, 0 others
    assert folder.flush() == []


def test_a_forgotten_pair_hands_back_its_count() -> None:
    folder = DenialFolder(window=timedelta(seconds=60), keys=1)
    folder.admit(entry(AT))
    folder.admit(entry(AT + timedelta(seconds=1)))
    folder.admit(entry(AT + timedelta(seconds=2)))
    admitted = folder.admit(entry(AT, actor="operator"))  # room for one pair only: reporter's is written out
    assert admitted is not None
    folded, evicted = admitted
    assert folded == 0 and [(e.actor, e.details.get("folded")) for e in evicted] == [("reporter", 1)]


async def test_repeated_denials_are_folded_and_counted(world: HttpWorld) -> None:
    async with AsyncTestClient(create_app(world.container, throttle=NO_DELAY)) as client:
        for _ in range(50):
            r = await call(client, world, R, "POST", "/api/v1/runs/r-err/autotask-ticket")
            assert r.status_code == 403
        written = [r.entry for r in world.store.audit if r.entry.action == "ticket.create"]
        assert len(written) == 1  # the first; the other 49 wait in the window
    # shutdown flushed the window: every refusal is accounted for
    records = [r.entry for r in world.store.audit if r.entry.action == "ticket.create"]
    assert len(records) == 2 and all(r.outcome is Outcome.DENIED for r in records)
    assert len(records) + sum(int(r.details.get("folded") or 0) for r in records) == 50


async def test_denials_of_another_actor_or_action_are_written(client: Client, world: HttpWorld) -> None:
    await call(client, world, R, "POST", "/api/v1/runs/r-err/autotask-ticket")
    await call(client, world, R, "POST", "/api/v1/runs/r-err/autotask-ticket/resolve")
    await call(client, world, OP, "PUT", "/api/v1/settings/autotask", {"enabled": False})
    denied = {(r.entry.actor, r.entry.action) for r in world.store.audit if r.entry.outcome is Outcome.DENIED}
    assert {("reporter", "ticket.create"), ("reporter", "ticket.resolve"), ("operator", "settings.update")} <= denied


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/settings/autotask", {"enabled": "true"}, "enabled"),
        ("/api/v1/settings/autotask", {"api_password_set": 1}, "api_password_set"),
        ("/api/v1/customers/c1/autotask-mapping", {"company_id": "100"}, "company_id"),
    ],
)
async def test_values_are_taken_as_their_json_type_only(
    client: Client, world: HttpWorld, path: str, body: dict[str, Any], field: str
) -> None:
    r = await call(client, world, A, "PUT", path, body)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == field, r.text
    assert world.store.mappings.get("c1") is None


async def test_an_integral_number_is_an_integer(client: Client, world: HttpWorld) -> None:
    r = await call(client, world, A, "PUT", "/api/v1/customers/c1/autotask-mapping", {"company_id": 100.0})
    assert r.status_code == 200 and r.json()["company_id"] == 100, r.text


async def test_an_unknown_caller_gets_401_before_any_verdict_on_its_query(client: Client) -> None:
    for path in ("/api/v1/audit?cursor=0", "/api/v1/audit/export?since=0", "/api/v1/runs?cursor=0"):
        assert (await client.get(path)).status_code == 401, path


def test_depth_counts_every_array_and_object() -> None:
    def nest(n: int) -> Any:
        value: Any = []
        for _ in range(n - 1):
            value = [value]
        return value

    assert not too_deep(1) and not too_deep([]) and not too_deep(nest(MAX_JSON_DEPTH))
    assert too_deep(nest(MAX_JSON_DEPTH + 1)) and too_deep({"a": nest(MAX_JSON_DEPTH)})


async def test_a_rejected_request_is_still_400_when_its_audit_cannot_be_written(
    world: HttpWorld, caplog: pytest.LogCaptureFixture
) -> None:
    class Unwritable:
        async def execute(self, *_: object) -> None:
            raise ConnectionError("the database does not answer")

    world.container.record_rejected_request.override(providers.Object(Unwritable()))
    async with AsyncTestClient(create_app(world.container, throttle=NO_DELAY)) as client:
        r = await call(client, world, R, "GET", "/api/v1/runs/a%00b")
    assert r.status_code == 400 and r.json()["code"] == "invalid_input"
    assert "could not audit a rejected request on GET /api/v1/runs/{run_id}: ConnectionError" in caplog.text


async def test_the_csv_export_never_writes_a_formula(client: Client, world: HttpWorld) -> None:
    """Issue 21 item 7: anyone can put text into the log through the sign-in username; a spreadsheet opening the CSV
    export must show it as text. The JSON lines export keeps it as stored."""
    page = await client.get("/sign-in")
    csrf = page.text.split('name="_csrf" value="')[1].split('"')[0]
    payloads = ['=HYPERLINK("http://x.invalid","y")', "+1+1", "-2+3", "@SUM(A1)", "\tpad", "\rreturn"]
    for payload in payloads:
        await client.post("/sign-in", data={"_csrf": csrf, "username": payload, "password": "wrong"})
    exported = await call(client, world, A, "GET", "/api/v1/audit/export?format=csv&action=session.sign_in")
    actors = {row["actor"] for row in csv.DictReader(io.StringIO(exported.text))}
    stored = {p.strip() for p in payloads}  # sign-in trims the username: the tab and the carriage return go
    assert (
        actors
        == {"'" + p if p[0] in "=+-@" else p for p in stored}
        == {
            '\'=HYPERLINK("http://x.invalid","y")',
            "'+1+1",
            "'-2+3",
            "'@SUM(A1)",
            "pad",
            "return",
        }
    )
    lines = await call(client, world, A, "GET", "/api/v1/audit/export?format=jsonl&action=session.sign_in")
    assert {line.split('"actor":')[1].split(',"actor_role"')[0] for line in lines.text.splitlines()} >= {'"+1+1"'}
