"""Every role against every endpoint, as docs/product.md's roles table says; refusals are 403 and audited, unknown
callers are 401 and not audited."""

from __future__ import annotations

from typing import Any

import pytest

from domain.audit import Outcome
from domain.roles import Role
from tests.http.conftest import Client, HttpWorld, call, map_and_ticket

ADMIN = {Role.ADMIN}
MANAGERS = {Role.ADMIN, Role.OPERATOR}
EVERYONE = set(Role)
RUN = {
    "customer_id": "c1",
    "job_name": "Nightly",
    "backup_software": "Veeam",
    "backup_type": "Backup job",
    "run_at": "2026-01-16T02:10:00Z",
    "status": "error",
}

# (method, path, body, roles allowed, status when allowed)
MATRIX: list[tuple[str, str, Any, set[Role], int]] = [
    ("PUT", "/api/v1/customers/c9", {"name": "New customer"}, ADMIN, 201),
    ("GET", "/api/v1/customers", None, EVERYONE, 200),
    ("PUT", "/api/v1/runs/r-new", RUN, ADMIN, 201),
    ("GET", "/api/v1/runs", None, EVERYONE, 200),
    ("GET", "/api/v1/runs/r-err", None, EVERYONE, 200),
    ("GET", "/api/v1/autotask/companies?search=acme", None, MANAGERS, 200),
    ("PUT", "/api/v1/customers/c2/autotask-mapping", {"company_id": 101}, MANAGERS, 200),
    ("DELETE", "/api/v1/customers/c1/autotask-mapping", None, MANAGERS, 204),
    ("POST", "/api/v1/customers/c1/autotask-mapping/refresh", None, MANAGERS, 200),
    ("POST", "/api/v1/customers/c1/autotask-mapping/confirm", None, MANAGERS, 200),
    ("POST", "/api/v1/autotask/mappings/refresh", None, MANAGERS, 200),
    ("POST", "/api/v1/runs/r-warn/autotask-ticket", None, MANAGERS, 201),
    ("GET", "/api/v1/runs/r-err/autotask-ticket", None, EVERYONE, 200),
    ("POST", "/api/v1/runs/r-err/autotask-ticket/resolve", None, MANAGERS, 200),
    ("POST", "/api/v1/autotask/tickets/refresh", {}, MANAGERS, 200),
    ("GET", "/api/v1/settings/autotask", None, ADMIN, 200),
    ("PUT", "/api/v1/settings/autotask", {"allow_resolve": False}, ADMIN, 200),
    ("POST", "/api/v1/settings/autotask/test-connection", None, ADMIN, 200),
    ("POST", "/api/v1/settings/autotask/validate", None, ADMIN, 200),
    ("GET", "/api/v1/settings/autotask/picklists", None, ADMIN, 200),
    ("GET", "/api/v1/settings/autotask/usage", None, ADMIN, 200),
    ("POST", "/api/v1/users", {"username": "newbie", "role": "reporter"}, ADMIN, 201),
    ("GET", "/api/v1/users", None, ADMIN, 200),
    ("DELETE", "/api/v1/users/reporter", None, ADMIN, 204),
    ("GET", "/api/v1/audit", None, ADMIN, 200),
    ("GET", "/api/v1/audit/export?format=csv", None, ADMIN, 200),
    ("GET", "/api/v1/audit/verify", None, ADMIN, 200),
]
IDS = [f"{m} {p.removeprefix('/api/v1')}" for m, p, *_ in MATRIX]


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
@pytest.mark.parametrize(("method", "path", "body", "allowed", "expected"), MATRIX, ids=IDS)
async def test_role_matrix(
    client: Client,
    world: HttpWorld,
    role: Role,
    method: str,
    path: str,
    body: Any,
    allowed: set[Role],
    expected: int,
) -> None:
    await map_and_ticket(client, world)
    before = len(world.store.audit)
    response = await call(client, world, role, method, path, body)
    if role in allowed:
        assert response.status_code == expected, response.text
        return
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "forbidden"
    denied = [r.entry for r in world.store.audit[before:]]
    assert len(denied) == 1
    assert (denied[0].actor, denied[0].actor_role, denied[0].outcome) == (role.value, role.value, Outcome.DENIED)


@pytest.mark.parametrize(("method", "path", "body", "allowed", "expected"), MATRIX, ids=IDS)
async def test_unknown_or_missing_token_is_401_and_not_audited(
    client: Client,
    world: HttpWorld,
    method: str,
    path: str,
    body: Any,
    allowed: set[Role],
    expected: int,
) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic YWRtaW46YWRtaW4="}):
        kwargs: dict[str, Any] = {"headers": headers} if body is None else {"headers": headers, "json": body}
        response = await client.request(method, path, **kwargs)
        assert response.status_code == 401, response.text
        assert response.json()["code"] == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"
    assert world.store.audit == []
