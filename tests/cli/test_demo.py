"""The demo's seeding against the real stack: SQLite, the Autotask connector and the simulator over HTTP."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from dependency_injector import providers

from adapters.autotask_simulator import Simulator, running_simulator
from application.use_cases.diagnostics import ValidationResult
from application.use_cases.get_ticket import TicketView
from domain.audit import ChainCheck
from domain.roles import Role
from entrypoints.cli import main
from entrypoints.container import Config, Container, close
from entrypoints.demo import DEMO, banner, fresh_database, seed_demo


def test_demo_seeds_every_state_the_demo_promises(tmp_path: Path) -> None:
    url = fresh_database(tmp_path)
    sim = Simulator.seeded()
    with running_simulator(sim) as zone_url:
        container = Container()
        container.config.override(
            providers.Object(
                Config(data_dir=tmp_path, database_url=url, autotask_zone_url=zone_url, base_url="http://demo.test")
            )
        )
        logins = asyncio.run(seed_demo(container, sim, "http://demo.test"))

        async def look() -> tuple[dict[str, str | None], TicketView, ValidationResult, ChainCheck]:
            try:
                customers = await container.list_customers().execute(DEMO)
                statuses = {v.customer.id: v.mapping.status.value if v.mapping else None for v in customers}
                ticket = await container.get_ticket().execute(DEMO, "run-acme-1")
                checked = await container.validate_configuration().execute(DEMO)
                audit = await container.verify_audit().execute(DEMO)
                return statuses, ticket, checked, audit
            finally:
                await close(container)

        container.storage.reset()
        container.psa.reset()
        statuses, ticket, checked, audit = asyncio.run(look())
    assert statuses == {"cust-acme": "ok", "cust-globex": "renamed", "cust-initech": "invalid", "cust-umbrella": None}
    assert ticket.link.time_entries == 1
    assert ticket.resolve.reason is not None and ticket.resolve.reason.value == "time_entries_present"
    assert checked.ok, checked.problems
    assert audit.ok
    assert [x.role for x in logins] == list(Role)
    text = banner("http://demo.test", zone_url, logins)
    assert all(x.token in text and x.password in text for x in logins) and "http://demo.test/api/v1" in text
    assert "Web      http://demo.test/ " in text  # the sign-in page
    assert "/api/v1/runs?status=error,warning,missed'" in text  # missed runs need attention too
    assert len(sim.tickets) == 1
    samples = {
        (s.labels["endpoint"], s.labels["outcome"]): s.value
        for metric in container.metrics().autotask_requests.collect()
        for s in metric.samples
        if s.name.endswith("_total")
    }
    assert samples[("POST Tickets", "ok")] == 1  # the real connector reports each call through on_request


def test_a_demo_on_a_taken_port_changes_nothing_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BACKUPCHECKS_DATA_DIR", str(tmp_path))
    running = tmp_path / "demo.sqlite3"
    running.write_bytes(b"the running demo's database")
    with socket.socket() as holder:  # another demo, listening
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert main(["demo", "--port", str(port)]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # no logins printed that would not work
    assert f"127.0.0.1:{port}" in err and "another demo" in err
    assert running.read_bytes() == b"the running demo's database"
