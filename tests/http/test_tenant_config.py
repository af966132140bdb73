"""Issue 16 over HTTP on the memory store and the fake PSA: the tenant's category, Work Type and UDFs on every ticket,
the draft preview, Test ticket, and no resolve while the API user cannot see every time entry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.fake_psa.fake import LOST_ANSWER
from application.ports import AccessLevel, PsaRejected
from domain.picklists import PicklistValue, TicketUdf, UdfChoice
from domain.roles import Role
from tests.http.conftest import CREDENTIALS, Client, HttpWorld, app_on_backend, call, map_and_ticket
from tests.http.test_contract import problem
from tests.storage_backends import backend_params

A, OP, R = Role.ADMIN, Role.OPERATOR, Role.REPORTER
BASE = "/api/v1/settings/autotask"


async def test_every_new_ticket_carries_the_category_work_type_and_udfs(client: Client, world: HttpWorld) -> None:
    change = {"ticket_category_id": 3, "work_type_id": 30, "ticket_udfs": {"Backup Reference": "BC-1", "Tier": "1"}}
    saved = (await call(client, world, A, "PUT", BASE, change)).json()
    assert {k: saved[k] for k in change} == change
    await map_and_ticket(client, world)
    ticket = next(iter(world.psa.tickets.values()))
    assert (ticket.category_id, ticket.work_type_id) == (3, 30)
    assert dict(ticket.udfs) == {"Backup Reference": "BC-1", "Tier": "1"}


async def test_bad_udf_settings_are_refused_and_nothing_is_stored(client: Client, world: HttpWorld) -> None:
    before = world.store.settings["autotask"]
    for udfs in ({"": "x"}, {"x" * 101: "y"}, {f"f{i}": "v" for i in range(51)}, {"a": 5}, ["a"]):
        response = await call(client, world, A, "PUT", BASE, {"ticket_udfs": udfs, "work_type_id": 30})
        assert response.status_code in (400, 422), response.text
    assert world.store.settings["autotask"] == before


async def test_the_draft_is_exactly_what_the_create_sends(client: Client, world: HttpWorld) -> None:
    world.configure(ticket_category_id=3, work_type_id=30, ticket_udfs=(("Tier", "1"),))
    await call(client, world, OP, "PUT", "/api/v1/customers/c1/autotask-mapping", {"company_id": 100})
    draft = (await call(client, world, OP, "GET", "/api/v1/runs/r-err/autotask-ticket/draft")).json()
    assert draft["title"] == "[Backupchecks] Acme - Nightly - Error" and draft["company_id"] == 100
    assert (draft["company_name"], draft["queue_id"], draft["queue_label"]) == ("Acme BV", 29683481, "Monitoring Alert")
    assert (draft["ticket_category_id"], draft["work_type_id"], draft["user_defined_fields"]) == (3, 30, {"Tier": "1"})
    assert world.psa.tickets == {}  # a preview sends nothing
    await call(client, world, OP, "POST", "/api/v1/runs/r-err/autotask-ticket")
    ticket = next(iter(world.psa.tickets.values()))
    assert (ticket.title, ticket.description, ticket.external_id) == (
        draft["title"],
        draft["description"],
        draft["external_id"],
    )
    problem(await call(client, world, OP, "GET", "/api/v1/runs/r-ok/autotask-ticket/draft"), 409, "run_not_ticketable")
    problem(await call(client, world, OP, "GET", "/api/v1/runs/r-c2/autotask-ticket/draft"), 409, "mapping_missing")
    problem(await call(client, world, R, "GET", "/api/v1/runs/r-err/autotask-ticket/draft"), 403, "forbidden")
    problem(await call(client, world, OP, "GET", "/api/v1/runs/nope/autotask-ticket/draft"), 404, "run_not_found")
    world.configure(enabled=False)
    problem(
        await call(client, world, OP, "GET", "/api/v1/runs/r-err/autotask-ticket/draft"), 409, "integration_disabled"
    )


async def test_test_ticket_creates_notes_once_internally_and_completes(client: Client, world: HttpWorld) -> None:
    world.psa.add_company(0, "Example MSP Ltd")
    answer = (await call(client, world, A, "POST", f"{BASE}/test-ticket")).json()
    assert answer["ok"] is True and [s["step"] for s in answer["steps"]] == ["create", "note", "complete"]
    writes = ("create_ticket", "get_ticket", "add_ticket_note", "complete_ticket", "find_ticket_by_external_id")
    assert [world.psa.calls[op] for op in writes] == [1, 1, 1, 1, 0]
    (ticket,) = world.psa.tickets.values()
    assert ticket.company_id == 0 and ticket.status == 5 and answer["ticket_number"] == ticket.number
    assert [(n.description, n.publish) for n in ticket.notes] == [(ticket.notes[0].description, 2)]
    records = [r for r in world.store.audit if r.entry.action == "settings.test_ticket"]
    assert records[-1].entry.outcome.value == "ok" and records[-1].entry.details["ticket_id"] == ticket.id
    problem(await call(client, world, OP, "POST", f"{BASE}/test-ticket"), 403, "forbidden")


async def test_a_refused_test_ticket_shows_autotasks_words_and_leaves_nothing(client: Client, world: HttpWorld) -> None:
    world.psa.add_company(0, "Example MSP Ltd")
    world.psa.fail_next("create_ticket", PsaRejected("billingCodeID is required.; on record number [0]."))
    answer = (await call(client, world, A, "POST", f"{BASE}/test-ticket")).json()
    assert answer["ok"] is False and [s["step"] for s in answer["steps"]] == ["create"]
    assert "billingCodeID is required" in answer["steps"][0]["message"] and world.psa.tickets == {}
    records = [r for r in world.store.audit if r.entry.action == "settings.test_ticket"]
    assert records[-1].entry.outcome.value == "failed" and records[-1].entry.details["failed_step"] == "create"


async def test_an_unanswered_test_ticket_create_is_found_and_completed(client: Client, world: HttpWorld) -> None:
    world.psa.add_company(0, "Example MSP Ltd")
    world.psa.fail_next("create_ticket", LOST_ANSWER)
    answer = (await call(client, world, A, "POST", f"{BASE}/test-ticket", {"company_id": 100})).json()
    (ticket,) = world.psa.tickets.values()
    assert answer["ok"] is True and ticket.company_id == 100 and ticket.status == 5
    assert "found by its externalID" in answer["steps"][0]["message"]


async def test_a_failing_note_still_completes_the_test_ticket(client: Client, world: HttpWorld) -> None:
    world.psa.add_company(0, "Example MSP Ltd")
    world.psa.fail_next("add_ticket_note", PsaRejected("Title is required for notes of this category."))
    answer = (await call(client, world, A, "POST", f"{BASE}/test-ticket")).json()
    assert answer["ok"] is False and [(s["step"], s["ok"]) for s in answer["steps"]] == [
        ("create", True),
        ("note", False),
        ("complete", True),
    ]
    assert "Title is required" in answer["steps"][1]["message"]
    assert all(t.status == 5 for t in world.psa.tickets.values())


async def test_restricted_time_entries_mean_no_resolve_over_http(client: Client, world: HttpWorld) -> None:
    await map_and_ticket(client, world)
    world.psa.add_company(0, "Example MSP Ltd")
    every = world.psa.rights
    world.psa.rights = replace(every, time_entries=replace(every.time_entries, query=AccessLevel.LIMITED))
    tested = (await call(client, world, A, "POST", f"{BASE}/test-connection")).json()
    assert tested["missing_rights"] == ["see_all_time_entries"] and tested["tenant"]["company_name"]
    view = (await call(client, world, OP, "GET", "/api/v1/runs/r-err/autotask-ticket")).json()
    assert view["resolve"]["allowed"] is False and view["resolve"]["reason"] == "time_entries_unverifiable"
    body = problem(
        await call(client, world, OP, "POST", "/api/v1/runs/r-err/autotask-ticket/resolve"),
        409,
        "time_entries_unverifiable",
    )
    assert "time entr" in body["detail"]
    assert all(t.notes == [] and t.status == 1 for t in world.psa.tickets.values())
    settings: dict[str, Any] = (await call(client, world, A, "GET", BASE)).json()
    assert settings["time_entries_visible"] is False and settings["tenant_name"] == "Example MSP Ltd"


async def test_credentials_without_an_environment_are_refused(client: Client, world: HttpWorld) -> None:
    world.store.settings["autotask"] = replace(
        world.store.settings["autotask"], environment=None, api_username="", api_password_sealed=None
    )
    body = problem(
        await call(client, world, A, "PUT", BASE, {"api_username": "api@example.com"}), 422, "setting_invalid"
    )
    assert "environment" in str(body)
    saved = (await call(client, world, A, "PUT", BASE, {"api_username": "a@b.c", "environment": "production"})).json()
    assert saved["environment"] == "production"


async def test_picklists_offer_active_work_types_categories_and_udfs(client: Client, world: HttpWorld) -> None:
    v = PicklistValue
    world.psa.picklist_data = replace(
        world.psa.picklist_data,
        ticket_categories=(v(1, "Standard", is_default=True), v(3, "Backupchecks (API only)")),
        work_types=(v(30, "Remote support"), v(31, "Retired", is_active=False)),
        ticket_udfs=(
            TicketUdf("Backup Reference", "Backup reference", is_required=True),
            TicketUdf("Tier", "Tier", default_value="1", choices=(UdfChoice("1", "Gold"),)),
        ),
    )
    lists = (await call(client, world, A, "GET", f"{BASE}/picklists?refresh=true")).json()
    assert [w["id"] for w in lists["work_types"]] == [30]  # active Work Types only
    assert [c["label"] for c in lists["ticket_categories"]] == ["Standard", "Backupchecks (API only)"]
    assert lists["ticket_udfs"] == [
        {"name": "Backup Reference", "label": "Backup reference", "is_required": True},
        {
            "name": "Tier",
            "label": "Tier",
            "is_required": False,
            "default_value": "1",
            "values": [{"value": "1", "label": "Gold", "is_active": True}],
        },
    ]
    checked = (await call(client, world, A, "POST", f"{BASE}/validate")).json()
    assert checked["ok"] is False
    assert {(p["setting"], p.get("warning", False)) for p in checked["problems"]} == {
        ("ticket_udfs", False),
        ("work_type_id", True),
    }


@pytest.fixture(params=backend_params())
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[HttpWorld, httpx.AsyncClient]]:
    async with app_on_backend(request.param, tmp_path) as served:
        yield served


async def test_the_tenant_settings_and_what_was_observed_persist_on_every_backend(
    backend: tuple[HttpWorld, httpx.AsyncClient],
) -> None:
    """Memory, SQLite and PostgreSQL: the UDF object keeps its order, the observed rights refuse a resolve, a test
    ticket is made, noted and completed, and changing a credential forgets what was observed."""
    world, client = backend
    username, password, tracking = CREDENTIALS
    settings = {
        "enabled": True,
        "environment": "sandbox",
        "api_username": username,
        "api_password": password,
        "tracking_identifier": tracking,
        "default_queue_id": 29683481,
        "priority_error_id": 1,
        "priority_warning_id": 2,
        "ticket_category_id": 3,
        "work_type_id": 30,
        "ticket_udfs": {"Zeta": "z", "Backup Reference": "BC-1"},
    }
    put = await client.put(BASE, json=settings, headers=world.auth(A))
    assert put.status_code == 200, put.text
    world.psa.add_company(0, "Example MSP Ltd")
    world.psa.restrict("time_entries", query=AccessLevel.LIMITED)
    tested = (await client.post(f"{BASE}/test-connection", headers=world.auth(A))).json()
    assert tested["missing_rights"] == ["see_all_time_entries"]
    stored = (await client.get(BASE, headers=world.auth(A))).json()
    assert list(stored["ticket_udfs"].items()) == [("Zeta", "z"), ("Backup Reference", "BC-1")]
    assert (stored["tenant_name"], stored["time_entries_visible"]) == ("Example MSP Ltd", False)
    proof = (await client.post(f"{BASE}/test-ticket", headers=world.auth(A))).json()
    assert proof["ok"] is True
    (ticket,) = world.psa.tickets.values()
    assert (ticket.category_id, ticket.work_type_id, ticket.status) == (3, 30, 5)
    await client.put(BASE, json={"tracking_identifier": "OTHER01"}, headers=world.auth(A))
    forgotten = (await client.get(BASE, headers=world.auth(A))).json()
    assert (forgotten["tenant_name"], forgotten["time_entries_visible"], forgotten["rights_checked_at"]) == (None,) * 3
