"""GET /api/v1/autotask/sync and the scheduler's settings over HTTP (memory store, fake PSA)."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from domain.roles import Role
from tests.http.conftest import HttpWorld, call
from tests.http.test_contract import problem

Client = AsyncTestClient  # type: ignore[type-arg]
A, OP, R = Role.ADMIN, Role.OPERATOR, Role.REPORTER


async def test_sync_shows_each_job_and_its_last_run(client: Client, world: HttpWorld) -> None:
    fresh = (await call(client, world, R, "GET", "/api/v1/autotask/sync")).json()
    assert set(fresh) == {"status_sync", "mapping_check"}
    assert fresh["status_sync"]["every"] == 15 and fresh["mapping_check"]["every"] == 24 * 60
    assert fresh["status_sync"]["last_run_at"] is None and fresh["status_sync"]["running"] is False
    scheduler = world.container.scheduler()
    assert (await scheduler.tick())["status_sync"] == "ran"
    ran = (await call(client, world, R, "GET", "/api/v1/autotask/sync")).json()["status_sync"]
    assert ran["last_run_at"] is not None and ran["next_run_at"] > ran["last_run_at"]
    assert ran["last_result"]["checked"] == 0 and "last_error" not in ran
    records = (await call(client, world, A, "GET", "/api/v1/audit?actor=system")).json()["items"]
    assert [r["action"] for r in records] == ["mapping.refresh_all", "ticket.refresh"]


async def test_the_intervals_are_settings_with_bounds(client: Client, world: HttpWorld) -> None:
    base = "/api/v1/settings/autotask"
    saved = (await call(client, world, A, "PUT", base, {"status_sync_minutes": 0, "mapping_check_hours": 168})).json()
    assert (saved["status_sync_minutes"], saved["mapping_check_hours"]) == (0, 168)
    for bad in ({"status_sync_minutes": 1441}, {"mapping_check_hours": -1}, {"status_sync_minutes": "5"}):
        problem(await call(client, world, A, "PUT", base, bad), 400, "invalid_input")
    off = (await call(client, world, OP, "GET", "/api/v1/autotask/sync")).json()["status_sync"]
    assert off["every"] == 0 and off["next_run_at"] is None
    assert (await world.container.scheduler().tick())["status_sync"] == "off"
