"""The `make verify` harness: real processes on loopback. A fresh PostgreSQL database per module, the Autotask
simulator (in this process, on a free port, so faults can be switched on), and `backupchecks serve` processes on free
ports, killed and restarted at will. Figures the modules measure are printed at the end of the session
(docs/reliability.md, docs/adr/0010-verify-harness.md)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from adapters.autotask_simulator import Simulator, running_simulator
from tests.storage_backends import execute_on_server

POSTGRES_ENV = "BACKUPCHECKS_TEST_POSTGRES_URL"
DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
SIM_USER, SIM_SECRET, SIM_TRACKING = "api@example.com", "s3cret", "TRACKING01"
STALE_AFTER = 3.0
"""BACKUPCHECKS_TICKET_STALE_AFTER of the servers: each Autotask write runs under half of it, so a crashed create is
settled by a refresh this many seconds later."""
SETTLE_AFTER = 3 * STALE_AFTER
"""When a crashed or timed-out create's reservation may be retaken or released: its send deadline (STALE_AFTER / 2)
plus Autotask's processing window, which a stale timeout below the default of 120 s shrinks in proportion (300 s at
120 s, 7.5 s here; application/reconciliation.py `attempt_settled`)."""
AUTOTASK_TIMEOUT = 2.0
BIN = Path(sys.executable).parent
FIGURES: dict[str, dict[str, Any]] = {}
"""Section → figures, printed at the end of the session (and copied into docs/reliability.md)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """A new PostgreSQL database for the module, dropped afterwards."""
    server = os.environ.get(POSTGRES_ENV) or DEFAULT_POSTGRES
    name = f"backupchecks_verify_{uuid.uuid4().hex[:12]}"
    asyncio.run(execute_on_server(server, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(execute_on_server(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def simulator() -> Iterator[tuple[Simulator, str]]:
    sim = Simulator.seeded(username=SIM_USER, secret=SIM_SECRET, integration_code=SIM_TRACKING)
    with running_simulator(sim) as zone_url:
        yield sim, zone_url


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Stack:
    """One PostgreSQL database, the simulator, and `serve` processes sharing both."""

    database_url: str
    sim: Simulator
    zone_url: str
    data_dir: Path
    servers: list[Server] = field(default_factory=list)
    admin: str = ""
    operator: str = ""

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "BACKUPCHECKS_DATABASE_URL": self.database_url,
            "BACKUPCHECKS_DATA_DIR": str(self.data_dir),
            "BACKUPCHECKS_SECRET_KEY": "verify secret key",
            "BACKUPCHECKS_AUDIT_KEY": "verify audit key",
            "BACKUPCHECKS_AUTOTASK_ZONE_URL": self.zone_url,
            "BACKUPCHECKS_AUTOTASK_TIMEOUT": str(AUTOTASK_TIMEOUT),
            "BACKUPCHECKS_TICKET_STALE_AFTER": str(STALE_AFTER),
        }

    def cli(self, *argv: str) -> tuple[int, str]:
        done = self.cli_process(*argv)
        return done.returncode, done.stdout.decode()

    def cli_process(self, *argv: str) -> subprocess.CompletedProcess[bytes]:
        """`backupchecks ARGV` against this stack's database, its stdout and stderr kept apart."""
        return subprocess.run(
            [str(BIN / "backupchecks"), *argv], env=self.env, capture_output=True, timeout=120, check=False
        )

    def start(self) -> Server:
        port = free_port()
        log = self.data_dir / f"serve-{port}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(BIN / "backupchecks"), "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        server = Server(port, process, log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"serve exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{server.url}/health", timeout=1).status_code == 200:
                    self.servers.append(server)
                    return server
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"serve did not start: {log.read_text()[-2000:]}")

    def kill(self, server: Server) -> None:
        """kill -9: no shutdown, no cleanup, whatever was in flight stays as it was."""
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=10)
        self.servers.remove(server)

    def stop_all(self) -> None:
        for server in list(self.servers):
            server.process.terminate()
            try:
                server.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.process.kill()
            self.servers.remove(server)

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.operator}"}

    def call(
        self, method: str, path: str, token: str | None = None, server: Server | None = None, **kwargs: Any
    ) -> httpx.Response:
        base = (server or self.servers[0]).url
        return httpx.request(method, base + path, headers=self.headers(token), timeout=30, **kwargs)

    def audit(self) -> list[dict[str, Any]]:
        code, out = self.cli("audit", "export")
        assert code == 0
        return [json.loads(line) for line in out.splitlines()]

    def link(self, run_id: str) -> dict[str, Any] | None:
        answer = self.call("GET", f"/api/v1/runs/{run_id}")
        assert answer.status_code == 200, answer.text
        link: dict[str, Any] | None = answer.json()["ticket"]
        return link

    def tickets_for(self, run_id: str) -> int:
        """Autotask's tickets carrying the externalID of the run's linked ticket (0 when the run has none)."""
        link = self.link(run_id)
        if link is None or link.get("ticket_id") is None:
            return 0
        external = self.sim.tickets[link["ticket_id"]]["externalID"]
        return sum(t.get("externalID") == external for t in list(self.sim.tickets.values()))

    def notes_on(self, ticket_id: int) -> int:
        return sum(n.get("ticketID") == ticket_id for n in list(self.sim.notes.values()))

    def seed_runs(self, prefix: str, count: int, customer: str = "cust-verify") -> list[str]:
        ids = [f"{prefix}-{i}" for i in range(count)]
        for run_id in ids:
            answer = self.call(
                "PUT",
                f"/api/v1/runs/{run_id}",
                self.admin,
                json={
                    "customer_id": customer,
                    "job_name": "Nightly",
                    "backup_software": "Veeam",
                    "backup_type": "Backup",
                    "run_at": "2026-12-01T02:10:00Z",
                    "status": "error",
                    "objects": [{"name": "vm-1", "status": "error", "message": "snapshot failed"}],
                    "messages": [],
                },
            )
            assert answer.status_code in (200, 201), answer.text
        return ids


def _pick(values: list[dict[str, Any]], *words: str) -> int:
    active = [v for v in values if v["is_active"]]
    for word in words:
        for value in active:
            if word in value["label"].lower():
                return int(value["id"])
    return int(active[0]["id"])


def configure(stack: Stack) -> None:
    """Users, settings valid for the simulator's picklists, one customer mapped to company 100."""
    code, out = stack.cli("users", "add", "verify-admin", "--role", "admin", "--json")
    assert code == 0, out
    stack.admin = json.loads(out)["token"]
    made = stack.call("POST", "/api/v1/users", stack.admin, json={"username": "verify-op", "role": "operator"})
    assert made.status_code == 201, made.text
    stack.operator = made.json()["token"]
    settings = {
        "enabled": True,
        "environment": "sandbox",
        "api_username": SIM_USER,
        "api_password": SIM_SECRET,
        "tracking_identifier": SIM_TRACKING,
        "allow_resolve": True,
        "backupchecks_base_url": "https://backupchecks.example.com",
    }
    assert stack.call("PUT", "/api/v1/settings/autotask", stack.admin, json=settings).status_code == 200
    p = stack.call("GET", "/api/v1/settings/autotask/picklists", stack.admin).json()
    defaults = {
        "default_queue_id": _pick(p["queues"], "monitor", "alert"),
        "default_issue_type_id": _pick(p["issue_types"], "backup", "monitor"),
        "default_source_id": _pick(p["sources"], "monitor"),
        "priority_error_id": _pick(p["priorities"], "high"),
        "priority_warning_id": _pick(p["priorities"], "medium"),
        "note_type_id": _pick(p["note_types"], "internal", "task"),
        "note_publish_id": _pick(p["note_publish"], "internal"),
    }
    subs = [v for v in p["sub_issue_types"] if v.get("parent_id") in (None, defaults["default_issue_type_id"])]
    if subs:
        defaults["default_sub_issue_type_id"] = _pick(subs, "fail", "backup")
    answer = stack.call("PUT", "/api/v1/settings/autotask", stack.admin, json=defaults)
    assert answer.status_code == 200, answer.text
    assert stack.call("PUT", "/api/v1/customers/cust-verify", stack.admin, json={"name": "Verify"}).status_code in (
        200,
        201,
    )
    mapped = stack.call("PUT", "/api/v1/customers/cust-verify/autotask-mapping", json={"company_id": 100})
    assert mapped.status_code == 200, mapped.text


@pytest.fixture(scope="module")
def stack(
    database_url: str, simulator: tuple[Simulator, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    sim, zone_url = simulator
    built = Stack(database_url, sim, zone_url, tmp_path_factory.mktemp("verify"))
    code, out = built.cli("db", "upgrade")
    assert code == 0, out
    with ExitStack() as cleanup:
        cleanup.callback(built.stop_all)
        built.start()
        configure(built)
        yield built


def record(section: str, **figures: Any) -> None:
    FIGURES.setdefault(section, {}).update(figures)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    terminalreporter.section("verify figures")
    for section, figures in FIGURES.items():
        terminalreporter.write_line(f"{section}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))
