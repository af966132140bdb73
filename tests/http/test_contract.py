"""Each endpoint of docs/http-api.md with its answers and error codes, over HTTP, on the memory store and fake PSA."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from cryptography.fernet import Fernet
from litestar.testing import AsyncTestClient

from adapters.fake_psa.fake import LOST_ANSWER
from adapters.secret_box import FernetSecretBox
from application.ports import AccessLevel, PsaRejected, PsaUnavailable
from domain.roles import Role
from domain.tickets import TicketLink
from tests.http.conftest import AT, Client, HttpWorld, call, map_and_ticket

A, OP, R = Role.ADMIN, Role.OPERATOR, Role.REPORTER
PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = dict(response.json())
    assert set(body) >= PROBLEM_KEYS and body["code"] == code and body["status"] == status
    return body


async def test_health_and_ready(client: Client) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    assert (await client.get("/ready")).status_code == 200


async def test_ready_is_503_when_the_database_does_not_answer(world: HttpWorld) -> None:
    from dependency_injector import providers

    from entrypoints.asgi import create_app

    def broken() -> Any:
        raise ConnectionRefusedError("database down")

    world.container.storage.override(providers.Object(broken))
    async with AsyncTestClient(create_app(world.container)) as c:
        problem(await c.get("/ready"), 503, "database_unavailable")
        assert (await c.get("/health")).status_code == 200


async def test_customers_put_created_then_updated_and_listed_with_mapping(client: Client, world: HttpWorld) -> None:
    r = await call(client, world, A, "PUT", "/api/v1/customers/c9", {"name": "Umbrella"})
    assert r.status_code == 201
    r = await call(client, world, A, "PUT", "/api/v1/customers/c9", {"name": "Umbrella Corp"})
    assert r.status_code == 200
    await call(client, world, OP, "PUT", "/api/v1/customers/c1/autotask-mapping", {"company_id": 100})
    items = {c["id"]: c for c in (await call(client, world, R, "GET", "/api/v1/customers")).json()["items"]}
    assert items["c9"] == {"id": "c9", "name": "Umbrella Corp", "autotask": None}
    mapping = items["c1"]["autotask"]
    assert {k: mapping[k] for k in ("psa", "company_id", "company_name", "status")} == {
        "psa": "autotask",
        "company_id": 100,
        "company_name": "Acme BV",
        "status": "ok",
    }
    assert mapping["last_synced_at"].endswith("Z")


async def test_customers_paginate_with_an_opaque_cursor(client: Client, world: HttpWorld) -> None:
    seen: list[str] = []
    url = "/api/v1/customers?limit=1"
    while url:
        page = (await call(client, world, R, "GET", url)).json()
        seen += [c["id"] for c in page["items"]]
        url = f"/api/v1/customers?limit=1&cursor={page['next_cursor']}" if page["next_cursor"] else ""
    assert seen == ["c1", "c2"]


async def test_put_run_created_updated_and_unknown_customer(client: Client, world: HttpWorld) -> None:
    run = {
        "customer_id": "c1",
        "job_name": "Nightly",
        "backup_software": "Veeam",
        "backup_type": "Backup job",
        "run_at": "2026-01-16T02:10:00Z",
        "status": "warning",
        "objects": [{"name": "vm-02", "status": "warning", "message": "Retried"}],
        "messages": ["1 warning"],
    }
    assert (await call(client, world, A, "PUT", "/api/v1/runs/r9", run)).status_code == 201
    assert (await call(client, world, A, "PUT", "/api/v1/runs/r9", {**run, "status": "error"})).status_code == 200
    got = (await call(client, world, R, "GET", "/api/v1/runs/r9")).json()
    assert got["status"] == "error" and got["run_at"] == "2026-01-16T02:10:00Z" and got["customer_name"] == "Acme"
    assert got["objects"] == [{"name": "vm-02", "type": None, "status": "warning", "message": "Retried"}]
    problem(
        await call(client, world, A, "PUT", "/api/v1/runs/r10", {**run, "customer_id": "nobody"}),
        422,
        "unknown_customer",
    )


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/runs/r9", {"customer_id": "c1"}, "job_name"),
        (
            "/api/v1/runs/r9",
            {
                "customer_id": "c1",
                "job_name": "J",
                "backup_software": "V",
                "backup_type": "B",
                "run_at": "2026-01-16T02:10:00",
                "status": "error",
            },
            "run_at",
        ),
        (
            "/api/v1/runs/r9",
            {
                "customer_id": "c1",
                "job_name": "J",
                "backup_software": "V",
                "backup_type": "B",
                "run_at": "2026-01-16T02:10:00Z",
                "status": "bad",
            },
            "status",
        ),
        ("/api/v1/runs/" + "x" * 65, {"name": "n"}, "run_id"),
        ("/api/v1/customers/c9", {"name": ""}, "name"),
        ("/api/v1/customers/c9", {"name": "x" * 256}, "name"),
    ],
)
async def test_invalid_bodies_are_400_with_errors(
    client: Client, world: HttpWorld, path: str, body: Any, field: str
) -> None:
    body_out = problem(await call(client, world, A, "PUT", path, body), 400, "invalid_input")
    assert field in {e["field"] for e in body_out["errors"]}, body_out


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("cursor=%21%21", "cursor"),
        ("status=error,nope", "status"),
        ("has_ticket=maybe", "has_ticket"),
        ("since=yesterday", "since"),
    ],
)
async def test_invalid_run_queries_are_400(client: Client, world: HttpWorld, query: str, field: str) -> None:
    body = problem(await call(client, world, R, "GET", f"/api/v1/runs?{query}"), 400, "invalid_input")
    assert body["errors"][0]["field"] == field


async def test_malformed_json_is_400_not_500(client: Client, world: HttpWorld) -> None:
    r = await client.put("/api/v1/customers/c9", content=b"{nope", headers=world.auth(A))
    problem(r, 400, "invalid_input")


async def test_runs_filters_and_pages(client: Client, world: HttpWorld) -> None:
    await map_and_ticket(client, world)

    async def ids(query: str) -> list[str]:
        return [r["id"] for r in (await call(client, world, R, "GET", f"/api/v1/runs?{query}")).json()["items"]]

    assert await ids("status=error,warning") == ["r-c2", "r-warn", "r-err"]
    assert await ids("status=error&customer_id=c1") == ["r-err"]
    assert await ids("has_ticket=true") == ["r-err"]
    assert await ids("has_ticket=false&customer_id=c1") == ["r-ok", "r-warn"]
    assert await ids("since=2026-01-15T02:01:00Z&until=2026-01-15T02:03:00Z") == ["r-ok", "r-warn"]
    seen, cursor = [], None
    while True:
        page = (
            await call(client, world, R, "GET", "/api/v1/runs?limit=3" + (f"&cursor={cursor}" if cursor else ""))
        ).json()
        seen += [r["id"] for r in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == ["r-c2", "r-ok", "r-warn", "r-err"]


async def test_unknown_run_is_404(client: Client, world: HttpWorld) -> None:
    problem(await call(client, world, R, "GET", "/api/v1/runs/nope"), 404, "run_not_found")
    problem(await call(client, world, OP, "POST", "/api/v1/runs/nope/autotask-ticket"), 404, "run_not_found")


async def test_company_search_and_mapping_errors(client: Client, world: HttpWorld) -> None:
    world.psa.add_company(103, "Hidden Inc")
    world.psa.inaccessible.add(103)
    r = await call(client, world, OP, "GET", "/api/v1/autotask/companies?search=o")
    assert r.json() == {
        "items": [
            {"id": 101, "name": "Globex", "is_active": True},
            {"id": 102, "name": "Old Corp", "is_active": False},
        ],
        "next_cursor": None,
        "more": False,
    }
    first = (await call(client, world, OP, "GET", "/api/v1/autotask/companies?search=o&limit=1")).json()
    assert [c["id"] for c in first["items"]] == [101] and first["more"] is True
    after = first["next_cursor"]
    r = await call(client, world, OP, "GET", f"/api/v1/autotask/companies?search=o&limit=1&cursor={after}")
    assert r.json() == {
        "items": [{"id": 102, "name": "Old Corp", "is_active": False}],
        "next_cursor": None,
        "more": False,
    }
    for bad in ("limit=0", "limit=501", "cursor=not-ours"):
        problem(
            await call(client, world, OP, "GET", f"/api/v1/autotask/companies?search=o&{bad}"), 400, "invalid_input"
        )
    problem(await call(client, world, OP, "GET", "/api/v1/autotask/companies"), 400, "invalid_input")
    put = "/api/v1/customers/c2/autotask-mapping"
    problem(await call(client, world, OP, "PUT", put, {"company_id": 999}), 422, "company_not_found")
    problem(await call(client, world, OP, "PUT", put, {"company_id": 102}), 422, "company_inactive")
    problem(await call(client, world, OP, "PUT", put, {"company_id": 103}), 422, "company_inaccessible")
    problem(await call(client, world, OP, "PUT", put, {"company_id": "x"}), 400, "invalid_input")
    problem(
        await call(client, world, OP, "PUT", "/api/v1/customers/zz/autotask-mapping", {"company_id": 100}),
        404,
        "customer_not_found",
    )


async def test_mapping_refresh_confirm_clear_and_bulk_refresh(client: Client, world: HttpWorld) -> None:
    base = "/api/v1/customers/c1/autotask-mapping"
    problem(await call(client, world, OP, "POST", f"{base}/refresh"), 409, "mapping_missing")
    await call(client, world, OP, "PUT", base, {"company_id": 100})
    world.psa.rename_company(100, "Acme Holding BV")
    r = (await call(client, world, OP, "POST", f"{base}/refresh")).json()
    assert (r["status"], r["company_name"], r["previous_company_name"]) == ("renamed", "Acme Holding BV", "Acme BV")
    assert (await call(client, world, OP, "POST", f"{base}/confirm")).json()["status"] == "ok"
    await call(client, world, OP, "PUT", "/api/v1/customers/c2/autotask-mapping", {"company_id": 101})
    world.psa.deactivate_company(101)
    summary = (await call(client, world, OP, "POST", "/api/v1/autotask/mappings/refresh")).json()
    assert {k: summary[k] for k in ("checked", "ok", "renamed", "invalid")} == {
        "checked": 2,
        "ok": 1,
        "renamed": 0,
        "invalid": 1,
    }
    assert summary["autotask_calls"] == 1  # one bulk read; both companies are in its answer
    problem(await call(client, world, OP, "POST", "/api/v1/runs/r-c2/autotask-ticket"), 409, "mapping_invalid")
    assert (await call(client, world, OP, "DELETE", base)).status_code == 204
    customers = (await call(client, world, OP, "GET", "/api/v1/customers")).json()["items"]
    assert customers[0]["autotask"]["status"] == "missing"


async def test_a_permission_answer_leaves_the_mapping_and_its_tickets_alone(client: Client, world: HttpWorld) -> None:
    base = "/api/v1/customers/c1/autotask-mapping"
    await call(client, world, OP, "PUT", base, {"company_id": 100})
    world.psa.inaccessible.add(100)
    problem(await call(client, world, OP, "POST", f"{base}/refresh"), 502, "autotask_permission_denied")
    problem(
        await call(client, world, OP, "POST", "/api/v1/autotask/mappings/refresh"), 502, "autotask_permission_denied"
    )
    customers = (await call(client, world, OP, "GET", "/api/v1/customers")).json()["items"]
    assert next(c for c in customers if c["id"] == "c1")["autotask"]["status"] == "ok"
    assert (await call(client, world, OP, "POST", "/api/v1/runs/r-err/autotask-ticket")).status_code == 201


async def test_ticket_create_refusals(client: Client, world: HttpWorld) -> None:
    create = "/api/v1/runs/{}/autotask-ticket"
    problem(await call(client, world, OP, "POST", create.format("r-err")), 409, "mapping_missing")
    await call(client, world, OP, "PUT", "/api/v1/customers/c1/autotask-mapping", {"company_id": 100})
    problem(await call(client, world, OP, "POST", create.format("r-ok")), 409, "run_not_ticketable")
    world.configure(enabled=False)
    problem(await call(client, world, OP, "POST", create.format("r-err")), 409, "integration_disabled")


async def test_ticket_create_autotask_failures_502_503_then_reconciled(client: Client, world: HttpWorld) -> None:
    await call(client, world, OP, "PUT", "/api/v1/customers/c1/autotask-mapping", {"company_id": 100})
    url = "/api/v1/runs/r-err/autotask-ticket"
    world.psa.fail_next("create_ticket", PsaRejected("Missing Required Field: queueID"))
    assert "queueID" in problem(await call(client, world, OP, "POST", url), 502, "autotask_rejected")["detail"]
    world.psa.fail_next("create_ticket", PsaUnavailable("timed out", maybe_applied=False))
    problem(await call(client, world, OP, "POST", url), 503, "autotask_unavailable")
    assert world.psa.tickets == {}
    world.psa.fail_next("create_ticket", LOST_ANSWER)
    problem(await call(client, world, OP, "POST", url), 503, "autotask_unavailable")
    r = await call(client, world, OP, "POST", url)
    assert r.status_code == 200 and r.json()["state"] == "linked"
    assert len(world.psa.tickets) == 1


async def test_ticket_create_while_another_call_creates_it_is_202_pending(client: Client, world: HttpWorld) -> None:
    await call(client, world, OP, "PUT", "/api/v1/customers/c1/autotask-mapping", {"company_id": 100})
    world.store.links["r-err"] = TicketLink.reserve("r-err", "bc-x", "admin", world.container.clock().now())
    r = await call(client, world, OP, "POST", "/api/v1/runs/r-err/autotask-ticket")
    assert r.status_code == 202 and r.json()["state"] == "pending" and r.json()["ticket_id"] is None
    assert world.psa.tickets == {}


async def test_get_ticket_and_refresh(client: Client, world: HttpWorld) -> None:
    problem(await call(client, world, R, "GET", "/api/v1/runs/r-err/autotask-ticket"), 404, "no_ticket")
    link = await map_and_ticket(client, world)
    world.psa.set_status(link["ticket_id"], 8)
    world.psa.add_time_entry(link["ticket_id"])
    stale = (await call(client, world, OP, "GET", "/api/v1/runs/r-err/autotask-ticket")).json()
    assert stale["status"]["value"] == 1 and stale["resolve"] == {"allowed": True, "reason": None, "message": None}
    fresh = (await call(client, world, OP, "GET", "/api/v1/runs/r-err/autotask-ticket?refresh=true")).json()
    assert fresh["status"] == {"value": 8, "label": "In Progress", "read_at": fresh["status"]["read_at"]}
    assert fresh["resolve"]["allowed"] is False and fresh["resolve"]["reason"] == "time_entries_present"
    world.psa.fail_next("get_ticket", PsaUnavailable("down"))
    problem(
        await call(client, world, OP, "GET", "/api/v1/runs/r-err/autotask-ticket?refresh=true"),
        503,
        "autotask_unavailable",
    )


@pytest.mark.parametrize(
    ("arrange", "status", "code"),
    [
        (lambda w, t: w.configure(allow_resolve=False), 409, "resolving_disabled"),
        (lambda w, t: w.psa.add_time_entry(t), 409, "time_entries_present"),
        (lambda w, t: w.psa.set_status(t, 5), 409, "already_closed"),
        (lambda w, t: w.psa.delete_ticket(t), 409, "ticket_deleted"),
        (lambda w, t: w.configure(note_publish_id=4), 409, "note_publish_not_internal"),  # "Internal & Co-Managed"
        (lambda w, t: w.configure(note_type_id=77), 409, "note_type_missing"),
    ],
)
async def test_resolve_refusals(client: Client, world: HttpWorld, arrange: Any, status: int, code: str) -> None:
    link = await map_and_ticket(client, world)
    arrange(world, link["ticket_id"])
    if code.startswith("note_"):  # known before the click: the ticket view says so
        view = (await call(client, world, OP, "GET", "/api/v1/runs/r-err/autotask-ticket")).json()
        assert (view["resolve"]["allowed"], view["resolve"]["reason"]) == (False, code) and view["resolve"]["message"]
    problem(await call(client, world, OP, "POST", "/api/v1/runs/r-err/autotask-ticket/resolve"), status, code)
    assert world.psa.tickets.get(link["ticket_id"]) is None or world.psa.tickets[link["ticket_id"]].notes == []


async def test_resolve_without_ticket_is_404_and_failures_are_502_503(client: Client, world: HttpWorld) -> None:
    problem(await call(client, world, OP, "POST", "/api/v1/runs/r-err/autotask-ticket/resolve"), 404, "no_ticket")
    await map_and_ticket(client, world)
    world.psa.fail_next("complete_ticket", PsaRejected("Status is read-only"))
    problem(
        await call(client, world, OP, "POST", "/api/v1/runs/r-err/autotask-ticket/resolve"), 502, "autotask_rejected"
    )
    world.psa.fail_next("count_time_entries", PsaUnavailable("throttled", throttled=True))
    problem(
        await call(client, world, OP, "POST", "/api/v1/runs/r-err/autotask-ticket/resolve"), 503, "autotask_unavailable"
    )
    r = await call(client, world, OP, "POST", "/api/v1/runs/r-err/autotask-ticket/resolve")
    assert r.status_code == 200 and r.json()["state"] == "resolved"
    (ticket,) = world.psa.tickets.values()
    assert len(ticket.notes) == 1  # the retry after the partial failure added no second note


async def test_bulk_ticket_refresh(client: Client, world: HttpWorld) -> None:
    link = await map_and_ticket(client, world)
    world.psa.set_status(link["ticket_id"], 7)
    r = (await call(client, world, OP, "POST", "/api/v1/autotask/tickets/refresh", {"run_ids": ["r-err"]})).json()
    assert {k: r[k] for k in ("checked", "changed", "deleted")} == {"checked": 1, "changed": 1, "deleted": 0}
    world.psa.delete_ticket(link["ticket_id"])
    r = (await call(client, world, OP, "POST", "/api/v1/autotask/tickets/refresh")).json()
    assert (r["checked"], r["deleted"]) == (1, 1)
    run = (await call(client, world, OP, "GET", "/api/v1/runs/r-err")).json()
    assert run["ticket"]["state"] == "deleted" and run["resolve_blocked_reason"] == "ticket_deleted"
    assert run["actions"] == []


async def test_the_next_bulk_refresh_asks_autotask_only_for_what_changed(client: Client, world: HttpWorld) -> None:
    link = await map_and_ticket(client, world)
    first = (await call(client, world, OP, "POST", "/api/v1/autotask/tickets/refresh")).json()
    assert first["checked"] == 1 and world.psa.calls["get_tickets"] == 1  # the first poll reads every ticket
    world.psa.set_status(link["ticket_id"], 7)
    second = (await call(client, world, OP, "POST", "/api/v1/autotask/tickets/refresh")).json()
    assert (second["checked"], second["changed"]) == (1, 1)
    assert world.psa.calls["get_tickets"] == 1 and world.psa.calls["changed_tickets"] == 1
    run = (await call(client, world, OP, "GET", "/api/v1/runs/r-err")).json()
    assert run["ticket"]["status"]["value"] == 7


async def test_settings_password_is_write_only(client: Client, world: HttpWorld) -> None:
    url = "/api/v1/settings/autotask"
    got = (await call(client, world, A, "GET", url)).json()
    assert "api_password" not in got and got["api_password_set"] is True
    assert got["closing_note"].startswith("Ticket resolved via Backupchecks")
    changed = (await call(client, world, A, "PUT", url, {"default_queue_id": 29683481, "api_log_level": "off"})).json()
    assert changed["default_queue_id"] == 29683481 and changed["api_password_set"] is True
    assert changed["api_log_level"] == "off"
    sealed_before = world.store.settings["autotask"].api_password_sealed
    await call(client, world, A, "PUT", url, {"api_password": "another-secret-pw"})
    assert world.store.settings["autotask"].api_password_sealed != sealed_before
    sealed = world.store.settings["autotask"].api_password_sealed
    assert sealed is not None and world.box.open(sealed) == "another-secret-pw"
    cleared = (await call(client, world, A, "PUT", url, {"default_queue_id": None})).json()
    assert cleared["default_queue_id"] is None
    echoed = await call(client, world, A, "PUT", url, {**cleared, "installation_id": "other", "allow_resolve": False})
    assert echoed.status_code == 200, echoed.text  # what GET answers can be PUT back; read-only fields are ignored
    assert echoed.json()["installation_id"] == cleared["installation_id"] and echoed.json()["allow_resolve"] is False
    assert got["ticket_due_hours"] == 24
    assert (await call(client, world, A, "PUT", url, {"ticket_due_hours": 72})).json()["ticket_due_hours"] == 72
    assert world.store.settings["autotask"].ticket_due_hours == 72
    for bad, field in (
        ({"environment": "staging"}, "environment"),
        ({"nope": 1}, "nope"),
        ({"api_password": ""}, "api_password"),
        ({"backupchecks_base_url": "ftp://x"}, "backupchecks_base_url"),
        ({"ticket_due_hours": 0}, "ticket_due_hours"),
        ({"ticket_due_hours": 8761}, "ticket_due_hours"),
        ({"ticket_due_hours": 1.5}, "ticket_due_hours"),
    ):
        body = problem(await call(client, world, A, "PUT", url, bad), 400, "invalid_input")
        assert any(field in e["field"] or field in e["message"] for e in body["errors"]), body


async def test_settings_diagnostics(client: Client, world: HttpWorld) -> None:
    base = "/api/v1/settings/autotask"
    ok = (await call(client, world, A, "POST", f"{base}/test-connection")).json()
    assert ok["ok"] is True and ok["zone"]["name"] == "Fake Zone" and "code" not in ok
    await call(client, world, A, "PUT", base, {"api_password": "wrong-password"})
    bad = (await call(client, world, A, "POST", f"{base}/test-connection")).json()
    assert bad["ok"] is False and bad["code"] == "bad_secret" and "zone" not in bad
    world.configure()
    world.psa.add_company(0, "Example MSP Ltd")
    every = world.psa.rights
    world.psa.rights = replace(every, notes=replace(every.notes, create=AccessLevel.NONE))
    rights = (await call(client, world, A, "POST", f"{base}/test-connection")).json()
    assert (rights["ok"], rights["code"], rights["missing_rights"]) == (False, "missing_rights", ["create_notes"])
    assert rights["tenant"] == {"company_name": "Example MSP Ltd"} and "'Example MSP Ltd'" in rights["message"]
    world.psa.rights = every
    assert (await call(client, world, A, "POST", f"{base}/validate")).json() == {"ok": True, "problems": []}
    world.configure(default_queue_id=29683482)
    checked = (await call(client, world, A, "POST", f"{base}/validate")).json()
    assert checked["ok"] is False
    assert checked["problems"][0]["setting"] == "default_queue_id" and "inactive" in checked["problems"][0]["message"]
    picklists = (await call(client, world, A, "GET", f"{base}/picklists")).json()
    assert set(picklists) == {
        "queues",
        "issue_types",
        "sub_issue_types",
        "sources",
        "priorities",
        "statuses",
        "note_types",
        "note_publish",
        "ticket_categories",
        "work_types",
        "ticket_udfs",
    }
    assert {"id": 111, "label": "Backup failed", "is_active": True, "parent_id": 11} in picklists["sub_issue_types"]
    usage = (await call(client, world, A, "GET", f"{base}/usage")).json()
    assert set(usage) == {"requests_this_hour", "limit", "timeframe_minutes"} and usage["limit"] == 10_000
    world.configure(api_username="")
    problem(await call(client, world, A, "GET", f"{base}/usage"), 409, "integration_disabled")


async def test_users_add_list_remove(client: Client, world: HttpWorld) -> None:
    r = await call(client, world, A, "POST", "/api/v1/users", {"username": "dana", "role": "operator"})
    assert r.status_code == 201
    new = r.json()
    assert set(new) >= {"id", "username", "role", "token"} and new["role"] == "operator"
    stored = next(u for u in world.store.users.values() if u.username == "dana")
    assert new["token"] not in repr(stored) and stored.password_hash and stored.password_hash.startswith("$argon2")
    as_dana = await client.get("/api/v1/runs", headers={"Authorization": f"Bearer {new['token']}"})
    assert as_dana.status_code == 200
    problem(
        await call(client, world, A, "POST", "/api/v1/users", {"username": "dana", "role": "reporter"}),
        409,
        "username_taken",
    )
    problem(
        await call(client, world, A, "POST", "/api/v1/users", {"username": "x", "role": "boss"}), 400, "invalid_input"
    )
    problem(
        await call(client, world, A, "POST", "/api/v1/users", {"username": "x", "role": "admin", "password": "short"}),
        422,
        "weak_password",
    )
    listed = (await call(client, world, A, "GET", "/api/v1/users")).json()
    assert [u["username"] for u in listed["items"]] == ["admin", "dana", "operator", "reporter"]
    fields = {"id", "username", "role", "disabled", "created_at", "password_changed_at", "last_seen_at"}
    assert all(set(u) == fields for u in listed["items"])
    assert (await call(client, world, A, "DELETE", f"/api/v1/users/{new['id']}")).status_code == 204
    assert (await client.get("/api/v1/runs", headers={"Authorization": f"Bearer {new['token']}"})).status_code == 401
    problem(await call(client, world, A, "DELETE", f"/api/v1/users/{new['id']}"), 404, "user_not_found")
    problem(await call(client, world, A, "DELETE", "/api/v1/users/admin"), 409, "last_admin")


async def test_audit_query_pages_export_and_verify(client: Client, world: HttpWorld) -> None:
    await map_and_ticket(client, world)
    await call(client, world, R, "POST", "/api/v1/runs/r-err/autotask-ticket/resolve")
    items = (await call(client, world, A, "GET", "/api/v1/audit?run_id=r-err&order=asc")).json()["items"]
    assert [(i["action"], i["actor"], i["outcome"]) for i in items] == [
        ("ticket.create", "operator", "ok"),
        ("ticket.resolve", "reporter", "denied"),
    ]
    newest_first = (await call(client, world, A, "GET", "/api/v1/audit?run_id=r-err")).json()["items"]
    assert newest_first == items[::-1]  # the default: newest first
    assert set(items[0]) >= {
        "seq",
        "at",
        "actor",
        "actor_role",
        "action",
        "target_type",
        "target_id",
        "outcome",
        "details",
    }
    assert [
        i["seq"] for i in (await call(client, world, A, "GET", "/api/v1/audit?outcome=denied")).json()["items"]
    ] == [items[1]["seq"]]
    assert (await call(client, world, A, "GET", "/api/v1/audit?actor=reporter")).json()["items"][0][
        "actor"
    ] == "reporter"
    assert (await call(client, world, A, "GET", "/api/v1/audit?customer_id=c1")).json()["items"][0][
        "action"
    ] == "mapping.set"
    first = (await call(client, world, A, "GET", "/api/v1/audit?limit=2&order=asc")).json()
    rest = (
        await call(client, world, A, "GET", f"/api/v1/audit?limit=2&order=asc&cursor={first['next_cursor']}")
    ).json()
    assert [i["seq"] for i in first["items"] + rest["items"]] == [1, 2, 3]
    newest = (await call(client, world, A, "GET", "/api/v1/audit?limit=2")).json()
    older = (await call(client, world, A, "GET", f"/api/v1/audit?limit=2&cursor={newest['next_cursor']}")).json()
    assert [i["seq"] for i in newest["items"] + older["items"]] == [3, 2, 1]
    csv_export = await call(client, world, A, "GET", "/api/v1/audit/export?format=csv&run_id=r-err")
    assert csv_export.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv_export.headers["content-disposition"]
    lines = csv_export.text.strip().splitlines()
    assert lines[0].startswith("seq,at,actor,actor_role,action") and len(lines) == 3
    jsonl = await call(client, world, A, "GET", "/api/v1/audit/export?format=jsonl")
    import json

    records = [json.loads(line) for line in jsonl.text.strip().splitlines()]
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]  # each export is recorded, this one too
    assert records[-1]["action"] == "audit.export" and records[-1]["details"] == {"format": "jsonl"}
    verified = (await call(client, world, A, "GET", "/api/v1/audit/verify")).json()
    assert verified == {
        "ok": True,
        "records": 5,
        "first_bad_seq": None,
        "last_seq": 5,
        "last_hash": world.store.audit[-1].hash,
        "key_id": world.store.audit_keys.ring().current.key_id,
        "unkeyed_records": 0,
        "fault": None,
        "anchored_seq": None,  # this in-memory store keeps no anchor (the CLI tests check one)
    }
    problem(await call(client, world, A, "GET", "/api/v1/audit/export?format=xml"), 400, "invalid_input")


async def test_audit_verify_finds_an_edited_record(client: Client, world: HttpWorld) -> None:
    from dataclasses import replace

    await map_and_ticket(client, world)
    record = world.store.audit[0]
    world.store.audit[0] = replace(record, entry=replace(record.entry, actor="someone-else"))
    assert (await call(client, world, A, "GET", "/api/v1/audit/verify")).json() == {
        "ok": False,
        "records": 1,
        "first_bad_seq": 1,
        "last_seq": None,
        "last_hash": None,
        "key_id": world.store.audit_keys.ring().current.key_id,
        "unkeyed_records": 0,
        "fault": "broken",
        "anchored_seq": None,
    }


async def test_unknown_route_and_method_are_problems(client: Client, world: HttpWorld) -> None:
    problem(await call(client, world, A, "GET", "/api/v1/nowhere"), 404, "not_found")
    problem(await call(client, world, A, "PATCH", "/api/v1/runs/r-err"), 405, "method_not_allowed")


async def test_a_bug_is_a_generic_500_and_logged(world: HttpWorld, caplog: pytest.LogCaptureFixture) -> None:
    from dependency_injector import providers

    from application.use_cases.view_runs import ListRuns
    from entrypoints.asgi import create_app

    class Broken(ListRuns):
        async def execute(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("internal detail that must not leak")

    world.container.list_runs.override(providers.Object(Broken(world.container.deps())))
    async with AsyncTestClient(create_app(world.container)) as c:
        r = await call(c, world, R, "GET", "/api/v1/runs")
    body = problem(r, 500, "internal_error")
    assert "internal detail" not in r.text and body["detail"]
    assert "internal detail that must not leak" in caplog.text  # the log keeps the traceback


async def test_metrics_and_request_log(client: Client, world: HttpWorld, caplog: pytest.LogCaptureFixture) -> None:
    import json
    import logging

    caplog.set_level(logging.INFO, logger="backupchecks.http")
    await map_and_ticket(client, world)
    await call(client, world, OP, "POST", "/api/v1/runs/r-err/autotask-ticket/resolve")
    text = (await client.get("/metrics", headers=world.auth(A))).text
    assert "backupchecks_tickets_created_total 1.0" in text
    assert "backupchecks_tickets_resolved_total 1.0" in text
    assert (
        'backupchecks_http_request_duration_seconds_count{method="POST",route="/api/v1/runs/{run_id}/'
        'autotask-ticket",status="201"} 1.0' in text
    )
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "backupchecks.http"]
    create = next(line for line in lines if line["route"] == "/api/v1/runs/{run_id}/autotask-ticket")
    assert create["status"] == 201 and create["user"] == "operator" and create["method"] == "POST"
    assert len(create["request_id"]) == 32 and create["duration_ms"] >= 0
    r = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"


def test_at_is_utc() -> None:
    assert AT.utcoffset() is not None


async def test_a_password_sealed_with_another_key_is_409_integration_disabled(client: Client, world: HttpWorld) -> None:
    from cryptography.fernet import Fernet

    from adapters.secret_box import FernetSecretBox

    await call(client, world, OP, "PUT", "/api/v1/customers/c1/autotask-mapping", {"company_id": 100})
    world.configure(api_password_sealed=FernetSecretBox(Fernet.generate_key()).seal("old"))
    body = problem(
        await call(client, world, OP, "POST", "/api/v1/runs/r-err/autotask-ticket"), 409, "integration_disabled"
    )
    assert "enter the password again" in body["detail"]
    assert world.psa.tickets == {}


async def test_tickets_created_counts_each_201_and_nothing_else(client: Client, world: HttpWorld) -> None:
    await map_and_ticket(client, world)  # r-err: 201
    statuses = [
        (await call(client, world, OP, "POST", f"/api/v1/runs/{run_id}/autotask-ticket")).status_code
        for run_id in ("r-err", "r-warn", "r-warn", "r-ok")
    ]
    assert statuses == [200, 201, 200, 409]
    assert "backupchecks_tickets_created_total 2.0" in (await client.get("/metrics", headers=world.auth(A))).text


async def test_a_password_sealed_with_another_key_asks_to_enter_it_again(client: Client, world: HttpWorld) -> None:
    world.store.settings["autotask"] = replace(
        world.store.settings["autotask"], api_password_sealed=FernetSecretBox(Fernet.generate_key()).seal("x")
    )
    result = (await call(client, world, A, "POST", "/api/v1/settings/autotask/test-connection")).json()
    assert (result["ok"], result["code"]) == (False, "not_configured")
    assert "enter the password again" in result["message"]
    body = problem(
        await call(client, world, OP, "POST", "/api/v1/runs/r-err/autotask-ticket"), 409, "integration_disabled"
    )
    assert "enter the password again" in body["detail"]


async def test_runs_say_why_no_ticket_can_be_created(client: Client, world: HttpWorld) -> None:
    unmapped = (await call(client, world, OP, "GET", "/api/v1/runs/r-c2")).json()
    assert (unmapped["actions"], unmapped["create_blocked_reason"]) == ([], "mapping_missing")
    await call(client, world, R, "POST", "/api/v1/runs/r-c2/autotask-ticket")  # refused, and so audited
    verify = (await call(client, world, A, "GET", "/api/v1/audit/verify")).json()
    assert verify["ok"] and verify["last_seq"] == verify["records"] == 1 and len(verify["last_hash"]) == 64
