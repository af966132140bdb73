"""Issue 21 item 10 against a real `serve` process on PostgreSQL: the simulator accepts a create, answers 504, and
applies it seconds later (past the servers' stale timeout, within the processing window that timeout scales to).
Operators keep clicking; the run ends with exactly one ticket, linked (docs/adr/0034-late-applied-creates.md)."""

from __future__ import annotations

import time

from adapters.autotask_simulator import Fault
from verify.conftest import SETTLE_AFTER, STALE_AFTER, Stack, record

LATE = STALE_AFTER + 2.0
"""The create lands this long after it was sent: past the stale timeout (when a reservation used to be retaken)."""


def test_a_create_applied_after_the_stale_timeout_yields_one_linked_ticket(stack: Stack) -> None:
    (run_id,) = stack.seed_runs("late-apply", 1)
    stack.sim.inject(Fault("late_apply", entity="Tickets", method="POST", seconds=LATE))
    try:
        first = stack.call("POST", f"/api/v1/runs/{run_id}/autotask-ticket")
    finally:
        stack.sim.clear_faults()
    assert first.status_code == 503 and first.json()["code"] == "autotask_unavailable", first.text
    answers: list[int] = []
    deadline = time.monotonic() + SETTLE_AFTER * 2
    while time.monotonic() < deadline:  # an operator clicking again and again, and a sync now and then
        answers.append(stack.call("POST", f"/api/v1/runs/{run_id}/autotask-ticket").status_code)
        assert stack.call("POST", "/api/v1/autotask/tickets/refresh", json={}).status_code == 200
        if answers[-1] in (200, 201):
            break
        time.sleep(0.5)
    link = stack.link(run_id)
    assert answers[-1] == 200 and link is not None and link["state"] == "linked", answers
    assert stack.tickets_for(run_id) == 1 and 201 not in answers  # found, never created a second time
    record("late_apply", late_seconds=LATE, answers_until_linked=len(answers), tickets=stack.tickets_for(run_id))
