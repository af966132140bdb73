"""Inputs found by the adversarial review that used to answer 500 or were accepted wrongly: crafted cursors, times whose
offset leaves the calendar, bodies that are not UTF-8 JSON; and the paginated user list."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from domain.roles import Role
from tests.http.conftest import Client, HttpWorld, call
from tests.http.test_contract import problem

A = Role.ADMIN
RUN = {"customer_id": "c1", "job_name": "J", "backup_software": "V", "backup_type": "B", "status": "error"}


def cursor(*keys: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(keys).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/runs?cursor={cursor('not a time', 'r1')}",
        f"/api/v1/runs?cursor={cursor('2026-01-15T02:10:00', 'r1')}",  # no zone
        f"/api/v1/runs?cursor={cursor('9999-12-31T23:59:59-23:59', 'r1')}",
        f"/api/v1/runs?cursor={cursor(1, 2)}",
        f"/api/v1/customers?cursor={cursor(1)}",
        f"/api/v1/users?cursor={cursor(None)}",
        f"/api/v1/audit?cursor={cursor(True)}",
        f"/api/v1/audit?cursor={cursor(2**64)}",
        f"/api/v1/audit?cursor={cursor(-1)}",
    ],
)
async def test_crafted_cursors_are_400(client: Client, world: HttpWorld, path: str) -> None:
    body = problem(await call(client, world, A, "GET", path), 400, "invalid_input")
    assert body["errors"] == [{"field": "cursor", "message": body["detail"]}]


@pytest.mark.parametrize("query", ["since=9999-12-31T23:59:59-23:59", "until=0001-01-01T00:00:00%2B01:00"])
@pytest.mark.parametrize("path", ["/api/v1/runs", "/api/v1/audit"])
async def test_query_times_out_of_range_are_400(client: Client, world: HttpWorld, path: str, query: str) -> None:
    body = problem(await call(client, world, A, "GET", f"{path}?{query}"), 400, "invalid_input")
    assert body["errors"][0]["field"] == query.split("=")[0]


@pytest.mark.parametrize("run_at", ["9999-12-31T23:59:59-10:00", "0001-01-01T00:00:00+01:00"])
async def test_run_at_out_of_range_is_400(client: Client, world: HttpWorld, run_at: str) -> None:
    body = problem(
        await call(client, world, A, "PUT", "/api/v1/runs/r9", {**RUN, "run_at": run_at}), 400, "invalid_input"
    )
    assert body["errors"][0]["field"] == "run_at" and "r9" not in world.store.runs


@pytest.mark.parametrize("media_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
async def test_a_body_of_another_media_type_is_415(client: Client, world: HttpWorld, media_type: str) -> None:
    r = await client.put(
        "/api/v1/customers/c9", content=b'{"name": "x"}', headers={**world.auth(A), "Content-Type": media_type}
    )
    problem(r, 415, "unsupported_media_type")
    assert "c9" not in world.store.customers


async def test_json_media_types_and_a_missing_content_type_are_read_as_json(client: Client, world: HttpWorld) -> None:
    for customer_id, headers in (("c7", {"Content-Type": "application/json; charset=utf-8"}), ("c8", {})):
        r = await client.put(
            f"/api/v1/customers/{customer_id}", content=b'{"name": "x"}', headers={**world.auth(A), **headers}
        )
        assert r.status_code == 201, r.text


@pytest.mark.parametrize("content", [b'{"name": "\xff\xfe"}', b'{"run_ids": ["\xf5"]}'])
async def test_a_body_that_is_not_utf8_is_400(client: Client, world: HttpWorld, content: bytes) -> None:
    for path in ("/api/v1/customers/c9", "/api/v1/autotask/tickets/refresh"):
        method = "PUT" if "customers" in path else "POST"
        r = await client.request(
            method, path, content=content, headers={**world.auth(A), "Content-Type": "application/json"}
        )
        assert problem(r, 400, "invalid_input")["errors"][0]["field"] == "body"


async def test_an_oversized_body_is_413(client: Client, world: HttpWorld) -> None:
    r = await client.put(
        "/api/v1/customers/c9",
        content=b'{"name": "x"}' + b" " * (11 * 1024 * 1024),
        headers={**world.auth(A), "Content-Type": "application/json"},
    )
    problem(r, 413, "payload_too_large")


@pytest.mark.parametrize("header", [b"Bearer \xff\xfe", b"Bearer " + b"x" * 300, b"Bearer a b", b"Bearer\tx", b"\x00"])
async def test_malformed_authorization_is_401(client: Client, header: bytes) -> None:
    problem(await client.get("/api/v1/runs", headers=[(b"authorization", header)]), 401, "unauthorized")


async def test_users_are_paginated(client: Client, world: HttpWorld) -> None:
    seen: list[str] = []
    url = "/api/v1/users?limit=2"
    while url:
        page = (await call(client, world, A, "GET", url)).json()
        assert len(page["items"]) <= 2
        seen += [u["username"] for u in page["items"]]
        url = f"/api/v1/users?limit=2&cursor={page['next_cursor']}" if page["next_cursor"] else ""
    assert seen == ["admin", "operator", "reporter"]
    problem(await call(client, world, A, "GET", "/api/v1/users?limit=0"), 400, "invalid_input")


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/autotask/companies", "search"),  # a required query parameter left out
        ("/api/v1/autotask/companies?search=", "search"),
        ("/api/v1/runs?limit=many", "limit"),
        ("/api/v1/runs?has_ticket=maybe", "has_ticket"),
        ("/api/v1/audit?outcome=won", "outcome"),
    ],
)
async def test_a_bad_query_parameter_is_the_field_named(
    client: Client, world: HttpWorld, path: str, field: str
) -> None:
    body = problem(await call(client, world, A, "GET", path), 400, "invalid_input")
    assert [e["field"] for e in body["errors"]] == [field]
    assert "/api/v1" not in body["errors"][0]["message"]  # not Litestar's "… for path /api/v1/…"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/api/v1/settings/autotask"),
        ("PUT", "/api/v1/customers/c9"),
        ("PUT", "/api/v1/customers/c1/autotask-mapping"),
    ],
)
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "A JSON object is required."),
        (b"{bad", "The body is not valid JSON."),
        (b'{"name": "x",}', "The body is not valid JSON."),
    ],
)
async def test_an_empty_or_malformed_body_gets_a_plain_message(
    client: Client, world: HttpWorld, method: str, path: str, content: bytes, message: str
) -> None:
    headers = {**world.auth(A), "Content-Type": "application/json"}
    r = await client.request(method, path, content=content, headers=headers)
    body = problem(r, 400, "invalid_input")
    assert body["errors"] == [{"field": "body", "message": message}]
    assert "'data'" not in r.text and "byte" not in r.text and "malformed" not in r.text
