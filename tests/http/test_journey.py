"""An operator's day over HTTP, and what the reporter sees of it."""

from __future__ import annotations

from domain.roles import Role
from domain.tickets import CLOSING_NOTE, STATUS_COMPLETE
from tests.http.conftest import Client, HttpWorld, call

OP, REPORTER = Role.OPERATOR, Role.REPORTER


async def test_operator_journey(client: Client, world: HttpWorld) -> None:
    runs = {
        r["id"]: r for r in (await call(client, world, OP, "GET", "/api/v1/runs?status=error,warning")).json()["items"]
    }
    assert runs["r-err"]["actions"] == []  # not mapped yet: nothing to create
    mapped = await call(client, world, OP, "PUT", "/api/v1/customers/c1/autotask-mapping", {"company_id": 100})
    assert mapped.json()["status"] == "ok"
    run = (await call(client, world, OP, "GET", "/api/v1/runs/r-err")).json()
    assert run["actions"] == ["create_ticket"] and run["ticket"] is None

    first = await call(client, world, OP, "POST", "/api/v1/runs/r-err/autotask-ticket")
    assert first.status_code == 201
    again = await call(client, world, OP, "POST", "/api/v1/runs/r-err/autotask-ticket")
    assert again.status_code == 200 and again.json()["ticket_id"] == first.json()["ticket_id"]
    assert len(world.psa.tickets) == 1
    ticket = world.psa.tickets[first.json()["ticket_id"]]
    assert ticket.title == "[Backupchecks] Acme - Nightly - Error" and ticket.company_id == 100

    world.psa.add_time_entry(ticket.id)
    refused = await call(client, world, OP, "POST", "/api/v1/runs/r-err/autotask-ticket/resolve")
    assert refused.status_code == 409 and refused.json()["code"] == "time_entries_present"
    assert ticket.notes == [] and ticket.status != STATUS_COMPLETE
    blocked = (await call(client, world, OP, "GET", "/api/v1/runs/r-err")).json()
    assert blocked["resolve_blocked_reason"] == "time_entries_present" and "resolve_ticket" not in blocked["actions"]

    created = await call(client, world, OP, "POST", "/api/v1/runs/r-warn/autotask-ticket")
    assert created.status_code == 201
    view = (await call(client, world, OP, "GET", "/api/v1/runs/r-warn")).json()
    assert view["actions"] == ["open_ticket", "resolve_ticket"]
    resolved = await call(client, world, OP, "POST", "/api/v1/runs/r-warn/autotask-ticket/resolve")
    assert resolved.status_code == 200
    body = resolved.json()
    assert body["state"] == "resolved" and body["status"]["label"] == "Complete" and body["resolved_by"] == "operator"
    warn_id = created.json()["ticket_id"]
    events = [(e.kind, e.detail) for e in world.psa.events if e.ticket_id == warn_id]
    assert events == [("create", events[0][1]), ("note", "2"), ("status", str(STATUS_COMPLETE))]  # 2: Internal Only
    assert [n.description for n in world.psa.tickets[warn_id].notes] == [CLOSING_NOTE]

    seen = {r["id"]: r for r in (await call(client, world, REPORTER, "GET", "/api/v1/runs")).json()["items"]}
    for run_id in ("r-err", "r-warn"):
        assert seen[run_id]["ticket"]["ticket_number"] and seen[run_id]["ticket"]["url"]
        assert seen[run_id]["actions"] == ["open_ticket"]
    assert seen["r-c2"]["actions"] == [] and seen["r-ok"]["actions"] == []
    as_reporter = (await call(client, world, REPORTER, "GET", "/api/v1/runs/r-err/autotask-ticket")).json()
    assert as_reporter["resolve"]["allowed"] is False and as_reporter["resolve"]["reason"] == "forbidden"
