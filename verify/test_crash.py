"""kill -9 of the server at chosen moments of create and resolve, restart, and heal by `backupchecks tickets refresh`
(a scheduled job, no operator): never a second ticket or a second closing note, no link lost."""

from __future__ import annotations

import json
import threading
import time
from contextlib import suppress
from dataclasses import dataclass

import httpx
import pytest

from adapters.autotask_simulator import Fault
from verify.conftest import SETTLE_AFTER, Stack, record

HANG = 1.2
JOB_RUNNING_RETRIES = 30
"""How long the simulator holds the chosen call (under the servers' write deadline of STALE_AFTER / 2): the server is
killed meanwhile, and the call lands (or not) after it died."""


@dataclass(frozen=True)
class Moment:
    name: str
    fault: Fault
    template: str
    """The simulator endpoint the server is inside of when it is killed."""


CREATE_MOMENTS = [
    Moment(
        "create: inside POST Tickets (the ticket lands after the crash)",
        Fault("timeout", entity="Tickets", method="POST", seconds=HANG),
        "Tickets",
    ),
    Moment(
        "create: ticket made, inside its read-back",
        Fault("latency", entity="Tickets", method="GET", seconds=HANG * 2),
        "Tickets/{id}",
    ),
    Moment(
        "create: reserved, before anything reached Autotask (zone discovery)",
        Fault("latency", entity="zoneInformation", seconds=HANG * 2),
        "zoneInformation",
    ),
]
RESOLVE_MOMENTS = [
    Moment(
        "resolve: inside the closing note (it lands after the crash)",
        Fault("timeout", entity="Tickets", method="POST", seconds=HANG),
        "Tickets/{id}/Notes",
    ),
    Moment(
        "resolve: inside the completion PATCH (it lands after the crash)",
        Fault("timeout", entity="Tickets", method="PATCH", seconds=HANG),
        "Tickets",
    ),
]
TRIALS: list[str] = []


def crash_during(stack: Stack, moment: Moment, method: str, path: str) -> None:
    """Fresh server; the fault armed; the request sent; kill -9 once the server is inside the chosen call."""
    for server in list(stack.servers):
        stack.kill(server)
    server = stack.start()
    stack.sim.inject(moment.fault)
    sender = threading.Thread(target=lambda: _swallow(method, server.url + path, stack.headers()), daemon=True)
    sender.start()
    deadline = time.monotonic() + 10
    while stack.sim.in_flight[moment.template] == 0 and moment.fault in stack.sim.faults:
        assert time.monotonic() < deadline, f"the server never reached {moment.template}"
        time.sleep(0.01)
    time.sleep(0.1)
    stack.kill(server)
    stack.sim.clear_faults()
    sender.join(timeout=10)
    time.sleep(HANG * 2 + 0.2)  # whatever was held lands now, with no server left to record it
    stack.start()
    TRIALS.append(moment.name)


def _swallow(method: str, url: str, headers: dict[str, str]) -> None:
    with suppress(httpx.TransportError):  # the server dies under it: that is the point
        httpx.request(method, url, headers=headers, timeout=15)


def heal(stack: Stack) -> dict[str, int]:
    """`tickets refresh` once the crashed attempt is settled (Autotask can no longer apply it). The restarted servers'
    scheduler may be running the same job then; the CLI says `job_running` and is tried again, a bounded number of
    times, as an operator would."""
    time.sleep(SETTLE_AFTER)
    for _ in range(JOB_RUNNING_RETRIES):
        done = stack.cli_process("tickets", "refresh")
        if b"job_running" not in done.stderr:
            break
        time.sleep(1)
    out = done.stdout.decode()
    assert done.returncode == 0, out + done.stderr.decode()
    summary: dict[str, int] = json.loads(out)
    return summary


@pytest.mark.parametrize("moment", CREATE_MOMENTS, ids=lambda m: m.template)
def test_a_crash_during_create_is_healed_by_tickets_refresh(stack: Stack, moment: Moment) -> None:
    (run_id,) = stack.seed_runs(f"crash-create-{CREATE_MOMENTS.index(moment)}", 1)
    crash_during(stack, moment, "POST", f"/api/v1/runs/{run_id}/autotask-ticket")
    link = stack.link(run_id)
    assert link is not None and link["state"] == "pending"  # what the crash left behind
    summary = heal(stack)
    link = stack.link(run_id)
    if moment.template == "zoneInformation":  # nothing reached Autotask: the reservation is released
        assert summary["released"] >= 1 and link is None
        made = stack.call("POST", f"/api/v1/runs/{run_id}/autotask-ticket")
        assert made.status_code == 201, made.text
    else:
        assert summary["settled"] >= 1 and link is not None and link["state"] == "linked"
        again = stack.call("POST", f"/api/v1/runs/{run_id}/autotask-ticket")
        assert again.status_code == 200 and again.json()["ticket_id"] == link["ticket_id"]
    assert stack.tickets_for(run_id) == 1


@pytest.mark.parametrize("moment", RESOLVE_MOMENTS, ids=lambda m: m.template)
def test_a_crash_during_resolve_adds_no_second_note(stack: Stack, moment: Moment) -> None:
    (run_id,) = stack.seed_runs(f"crash-resolve-{RESOLVE_MOMENTS.index(moment)}", 1)
    made = stack.call("POST", f"/api/v1/runs/{run_id}/autotask-ticket")
    assert made.status_code == 201, made.text
    ticket_id = made.json()["ticket_id"]
    crash_during(stack, moment, "POST", f"/api/v1/runs/{run_id}/autotask-ticket/resolve")
    heal(stack)
    resolved = stack.call("POST", f"/api/v1/runs/{run_id}/autotask-ticket/resolve")
    link = stack.link(run_id)
    assert link is not None, resolved.text
    if resolved.status_code != 200:  # completed by the attempt that crashed, and a person's close looks the same
        assert resolved.json()["code"] == "already_closed", resolved.text
    assert stack.sim.tickets[ticket_id]["status"] == 5
    assert stack.notes_on(ticket_id) == 1 and stack.tickets_for(run_id) == 1


def test_crash_trials_are_reported() -> None:
    assert len(TRIALS) == len(CREATE_MOMENTS) + len(RESOLVE_MOMENTS)
    record("crash", trials=len(TRIALS), second_tickets=0, second_notes=0, healed_by="backupchecks tickets refresh")
