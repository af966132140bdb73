"""No response body, log line or audit record holds the Autotask password or an API token; the OpenAPI document
lists every contract path."""

from __future__ import annotations

import json
import logging

import pytest

from domain.roles import Role
from tests.http.conftest import PASSWORD, Client, HttpWorld, call

A, OP = Role.ADMIN, Role.OPERATOR
NEW_PASSWORD = "n3w-Autotask-Secret-value"
REFUSED_PASSWORD = "refused-Secret-in-a-bad-request"
FAILED_TOKEN = "guessed-token-that-matches-no-user"

CONTRACT = {
    "/health": {"get"},
    "/ready": {"get"},
    "/api/v1/users": {"post", "get"},
    "/api/v1/users/{user_id}": {"delete"},
    "/api/v1/customers/{customer_id}": {"put"},
    "/api/v1/customers": {"get"},
    "/api/v1/runs/{run_id}": {"put", "get"},
    "/api/v1/runs": {"get"},
    "/api/v1/autotask/companies": {"get"},
    "/api/v1/customers/{customer_id}/autotask-mapping": {"put", "delete"},
    "/api/v1/customers/{customer_id}/autotask-mapping/refresh": {"post"},
    "/api/v1/customers/{customer_id}/autotask-mapping/confirm": {"post"},
    "/api/v1/autotask/mappings/refresh": {"post"},
    "/api/v1/runs/{run_id}/autotask-ticket": {"post", "get"},
    "/api/v1/runs/{run_id}/autotask-ticket/resolve": {"post"},
    "/api/v1/autotask/tickets/refresh": {"post"},
    "/api/v1/settings/autotask": {"get", "put"},
    "/api/v1/settings/autotask/test-connection": {"post"},
    "/api/v1/settings/autotask/validate": {"post"},
    "/api/v1/settings/autotask/picklists": {"get"},
    "/api/v1/settings/autotask/usage": {"get"},
    "/api/v1/audit": {"get"},
    "/api/v1/audit/export": {"get"},
    "/api/v1/audit/verify": {"get"},
}


async def test_openapi_lists_every_contract_path_with_an_operation_id(client: Client) -> None:
    doc = (await client.get("/schema/openapi.json")).json()
    for path, methods in CONTRACT.items():
        assert path in doc["paths"], path
        assert methods <= set(doc["paths"][path]), path
        assert all(doc["paths"][path][m].get("operationId") for m in methods)
    settings_in = doc["components"]["schemas"]
    assert any("api_password_set" in s.get("properties", {}) for s in settings_in.values())


async def test_openapi_declares_every_status_a_route_answers(client: Client) -> None:
    doc = (await client.get("/schema/openapi.json")).json()
    ticket = "/api/v1/runs/{run_id}/autotask-ticket"
    create, resolve = doc["paths"][ticket]["post"]["responses"], doc["paths"][f"{ticket}/resolve"]["post"]["responses"]
    assert {"201", "200", "202", "401", "403", "404", "409", "502", "503"} <= set(create)
    assert {"200", "401", "403", "404", "409", "502", "503"} <= set(resolve)
    assert "run_not_ticketable" in create["409"]["description"] and "autotask_rejected" in create["502"]["description"]
    assert "time_entries_present" in resolve["409"]["description"]
    link = {"$ref": "#/components/schemas/TicketLinkOut"}
    assert all(create[s]["content"]["application/json"]["schema"] == link for s in ("201", "200", "202"))
    problem_keys = {"type", "title", "status", "detail", "code"}
    assert problem_keys <= set(doc["components"]["schemas"]["Problem"]["properties"])
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            where = f"{method} {path}"
            assert not path.startswith("/api/v1") or "401" in operation["responses"], where
            for status, answer in operation["responses"].items():  # every error answer is a problem document
                if int(status) >= 400:
                    assert answer["content"] == {
                        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                    }, f"{where} {status}"


async def test_no_secret_in_bodies_logs_or_audit(
    client: Client,
    world: HttpWorld,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    bodies: list[str] = []

    async def go(role: Role, method: str, path: str, body: object = None) -> None:
        response = await call(client, world, role, method, path, body)
        assert response.status_code < 500, response.text
        bodies.append(response.text)
        bodies.append(json.dumps(dict(response.headers)))

    await go(A, "PUT", "/api/v1/settings/autotask", {"api_password": NEW_PASSWORD, "api_username": "api@example.com"})
    world.psa.accept = ("api@example.com", NEW_PASSWORD, "TRACKING01")
    await go(A, "GET", "/api/v1/settings/autotask")
    await go(A, "POST", "/api/v1/settings/autotask/test-connection")
    await go(A, "POST", "/api/v1/settings/autotask/validate")
    await go(OP, "PUT", "/api/v1/customers/c1/autotask-mapping", {"company_id": 100})
    await go(OP, "POST", "/api/v1/runs/r-err/autotask-ticket")
    await go(OP, "POST", "/api/v1/runs/r-err/autotask-ticket/resolve")
    await go(Role.REPORTER, "GET", "/api/v1/settings/autotask")
    created = await call(
        client,
        world,
        A,
        "POST",
        "/api/v1/users",
        {"username": "eve", "role": "operator", "password": "a-long-user-password"},
    )
    new_token = created.json()["token"]  # the one answer that shows it, by design
    await go(A, "GET", "/api/v1/users")
    world.psa.accept = ("api@example.com", "something-else", "TRACKING01")
    await go(A, "POST", "/api/v1/settings/autotask/test-connection")  # a failure path, with its message
    await go(A, "PUT", "/api/v1/settings/autotask", {"api_password": ""})
    await go(A, "PUT", "/api/v1/settings/autotask", {"api_password": REFUSED_PASSWORD, "environment": "staging"})
    await go(A, "POST", "/api/v1/users", {"username": "mallory", "role": "boss", "password": REFUSED_PASSWORD})
    for header in (f"Bearer {FAILED_TOKEN}", f"Basic {FAILED_TOKEN}", f"Bearer {FAILED_TOKEN} extra"):  # failed logins
        failed = await client.get("/api/v1/runs", headers={"Authorization": header})
        assert failed.status_code == 401
        bodies.append(failed.text + json.dumps(dict(failed.headers)))
    await go(A, "GET", "/api/v1/audit")
    await go(A, "GET", "/api/v1/audit/export?format=jsonl")
    await go(A, "GET", "/metrics")

    audit = json.dumps([{"entry": repr(r.entry), "details": dict(r.entry.details)} for r in world.store.audit])
    logs = caplog.text + "".join(repr(r.args) for r in caplog.records)
    secrets = [
        PASSWORD,
        NEW_PASSWORD,
        REFUSED_PASSWORD,
        FAILED_TOKEN,
        "a-long-user-password",
        new_token,
        *world.tokens.values(),
    ]
    for secret in secrets:
        for where, text in (("bodies", "".join(bodies)), ("logs", logs), ("audit", audit)):
            assert secret not in text, f"a secret leaked into the {where}"
    assert len(world.store.audit) >= 8
