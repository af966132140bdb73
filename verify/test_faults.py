"""The fault matrix: every simulator fault × create, resolve, mapping refresh and ticket refresh (the fault on the
operation's first Autotask call, and the write faults on its write). After each: no 500, a clear `code` on every
refusal, an audit record for every failure and none for a success, no second ticket, no second note, no lost link, the
mapping untouched; then the operation, retried with no fault, settles."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from typing import Any

import httpx
import pytest

from adapters.autotask_simulator import Fault
from adapters.autotask_simulator.simulator import FAULT_KINDS
from verify.conftest import AUTOTASK_TIMEOUT, SETTLE_AFTER, Stack, record

OPERATIONS = ("create", "resolve", "mapping_refresh", "ticket_refresh")
ACTIONS = {
    "create": "ticket.create",
    "resolve": "ticket.resolve",
    "mapping_refresh": "mapping.refresh",
    "ticket_refresh": "ticket.refresh",
}
WRITES = {"create": [("Tickets", "POST")], "resolve": [("Tickets", "POST"), ("Tickets", "PATCH")]}
WRITE_FAULTS = ("timeout", "lost_answer", "server_error")
CASES = [(kind, op, None, None) for kind, op in itertools.product(sorted(FAULT_KINDS), OPERATIONS)] + [
    (kind, op, entity, method) for op, writes in WRITES.items() for entity, method in writes for kind in WRITE_FAULTS
]
OUTCOMES: Counter[str] = Counter()
_serial = itertools.count()


def fault(kind: str, entity: str | None, method: str | None) -> Fault:
    seconds = {"latency": 0.3, "timeout": AUTOTASK_TIMEOUT + 0.5}.get(kind, 0.0)
    return Fault(kind, entity=entity, method=method, seconds=seconds, retry_after=1 if kind == "throttle" else None)


def audit_after(stack: Stack, seq: int, action: str) -> list[dict[str, Any]]:
    answer = stack.call("GET", "/api/v1/audit", stack.admin, params={"action": action, "limit": 500})
    assert answer.status_code == 200, answer.text
    return [r for r in answer.json()["items"] if r["seq"] > seq]


def last_seq(stack: Stack) -> int:
    out = stack.call("GET", "/api/v1/audit/verify", stack.admin).json()
    assert out["ok"], out  # the keyed chain holds through every fault
    return int(out["last_seq"] or 0)


def operate(stack: Stack, op: str, run_id: str) -> httpx.Response:
    if op == "create":
        return stack.call("POST", f"/api/v1/runs/{run_id}/autotask-ticket")
    if op == "resolve":
        return stack.call("POST", f"/api/v1/runs/{run_id}/autotask-ticket/resolve")
    if op == "mapping_refresh":
        return stack.call("POST", "/api/v1/customers/cust-verify/autotask-mapping/refresh")
    return stack.call("POST", "/api/v1/autotask/tickets/refresh", json={})


def settle(stack: Stack, op: str, run_id: str) -> httpx.Response:
    """Retry with no fault until the operation has its end (a lost or late write may need SETTLE_AFTER to settle)."""
    deadline = time.monotonic() + SETTLE_AFTER * 2
    while True:
        answer = operate(stack, op, run_id)
        done = answer.status_code in (200, 201) or (
            op == "resolve" and answer.status_code == 409 and answer.json()["code"] == "already_closed"
        )
        if done or time.monotonic() > deadline:
            return answer
        time.sleep(0.3)


@pytest.mark.parametrize(
    ("kind", "op", "entity", "method"), CASES, ids=[f"{k}-{o}-{e or 'first'}-{m or 'call'}" for k, o, e, m in CASES]
)
def test_fault(stack: Stack, kind: str, op: str, entity: str | None, method: str | None) -> None:
    (run_id,) = stack.seed_runs(f"fault-{next(_serial)}", 1)
    ticket_id = None
    if op in ("resolve", "ticket_refresh"):
        made = stack.call("POST", f"/api/v1/runs/{run_id}/autotask-ticket")
        assert made.status_code == 201, made.text
        ticket_id = made.json()["ticket_id"]
    seq = last_seq(stack)
    stack.sim.inject(fault(kind, entity, method))
    try:
        answer = operate(stack, op, run_id)
    finally:
        stack.sim.clear_faults()
    OUTCOMES[f"{answer.status_code}"] += 1
    assert answer.status_code != 500 and answer.status_code < 600, answer.text
    records = audit_after(stack, seq, ACTIONS[op])
    failures = [r for r in records if r["outcome"] != "ok"]
    if answer.status_code >= 400:
        assert answer.json().get("code"), answer.text
        assert failures, f"{answer.status_code} {answer.json()['code']} without an audit record"
    else:
        assert not failures, f"a success with failure records: {failures}"
    assert not [r for r in records if r["details"].get("code") == "link_changed"]
    mapping = stack.call("GET", "/api/v1/customers").json()["items"]
    assert next(c for c in mapping if c["id"] == "cust-verify")["autotask"]["status"] == "ok"  # never invalidated

    settled = settle(stack, op, run_id)
    assert settled.status_code in (200, 201) or (op == "resolve" and settled.json()["code"] == "already_closed"), (
        settled.text
    )
    if op in ("create", "resolve", "ticket_refresh"):
        link = stack.link(run_id)
        assert link is not None and link["state"] in ("linked", "resolved")  # no lost link
        assert stack.tickets_for(run_id) == 1  # no second ticket
        ticket_id = ticket_id or link["ticket_id"]
    if op == "resolve":
        assert ticket_id is not None
        assert stack.notes_on(ticket_id) == 1 and stack.sim.tickets[ticket_id]["status"] == 5  # no second note


def test_fault_matrix_is_reported() -> None:
    record(
        "faults",
        kinds=len(FAULT_KINDS),
        operations=len(OPERATIONS),
        cases=len(CASES),
        first_answers=dict(sorted(OUTCOMES.items())),
    )
    assert sum(OUTCOMES.values()) == len(CASES)
