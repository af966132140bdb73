"""GET /api/v1/autotask/sync and the scheduler's settings over HTTP (memory store, fake PSA)."""

from __future__ import annotations

from pathlib import Path

from domain.roles import Role
from tests.http.conftest import CREDENTIALS, Client, HttpWorld, app_on_backend, call
from tests.http.test_contract import problem
from tests.http.test_input_checks import WEB_PASSWORD, web_sign_in

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


async def test_at_75_percent_the_scheduler_pauses_and_the_settings_page_says_why(tmp_path: Path) -> None:
    async with app_on_backend("sqlite", tmp_path, WEB_PASSWORD) as (world, client):
        put = await client.put(
            "/api/v1/settings/autotask",
            json={
                "enabled": True,
                "environment": "sandbox",
                "api_username": CREDENTIALS[0],
                "api_password": CREDENTIALS[1],
                "tracking_identifier": CREDENTIALS[2],
            },
            headers=world.auth(A),
        )
        assert put.status_code == 200, put.text
        world.psa.usage_limit = 100
        world.psa.calls["other integrations"] += 80  # the tenant's hour so far
        assert await world.container.scheduler().tick() == {"status_sync": "paused", "mapping_check": "paused"}
        sync = (await client.get("/api/v1/autotask/sync", headers=world.auth(R))).json()
        assert "API requests this hour" in sync["status_sync"]["paused_reason"]
        await web_sign_in(client, A)
        page = (await client.get("/settings/autotask")).text
        assert "paused: the tenant has used 81 of its 100 API requests this hour" in page
        audit = (await client.get("/api/v1/audit?action=scheduler.pause", headers=world.auth(A))).json()["items"]
        assert len(audit) == 2 and {r["actor"] for r in audit} == {"system"}
