"""`make bench`: the figures of docs/performance.md, measured as a user would, on SQLite and on PostgreSQL.

For each backend: seed 100,000 runs over 2,000 customers (each mapped), 10,000 linked tickets (held by the simulator
too) and 100,000 audit records through the project's own tables and row mappers (bulk inserts); start `backupchecks
serve` on a free loopback port against the Autotask simulator; then measure, next to `GET /health` in the same run,
the pages operators open signed in (Run Checks, Customers, a run's page, Audit) and the API lists (each filter, first
page and page 5, customers, audit, a run's detail) at 1 and 8 clients; the SQL statements per HTTP request (counted
in this process on the same database); `audit verify` and the exports at 10,000 and at 100,000 audit records with
the server's peak memory; ticket creation at 0 and 200 ms of simulated Autotask latency (p50 and p99); `tickets
refresh` (the first, full read; with nothing changed; with 9,000 tickets changed in Autotask); and the time from
`serve` to the first `/health`.

Prints a table and writes var/bench/report.json (git-ignored). PostgreSQL runs when BACKUPCHECKS_TEST_POSTGRES_URL
names a server where this user may create databases. Knobs: BENCH_SCALE (0.1 for a quick look), BENCH_BACKENDS
(`sqlite,postgres`), BENCH_SERVER_ROOT (a checkout whose `.venv/bin/backupchecks` serves instead: "before" figures).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from dependency_injector import providers
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from adapters.audit_key import audit_key_from_file
from adapters.autotask_simulator import Fault, Simulator, running_simulator
from adapters.sql import SqlStorage, default_database_url, rows
from adapters.sql import tables as t
from adapters.sql.migrate import upgrade
from application.use_cases.settings import SettingsChange
from application.use_cases.users import NewUser
from domain.audit import AuditEntry, AuditKey, AuditRecord, Outcome, chain
from domain.draft import external_id
from domain.mapping import CompanyLookup, CompanyMapping
from domain.roles import Actor, Role
from domain.runs import Customer, ObjectStatus, Run, RunObject, RunStatus
from domain.settings import Environment
from domain.tickets import Ticket, TicketLink, TicketStatus
from entrypoints.asgi import create_app
from entrypoints.container import Config, Container, close
from entrypoints.demo import _defaults

SCALE = float(os.environ.get("BENCH_SCALE") or 1)
RUNS, CUSTOMERS, LINKS, AUDIT = (
    max(floor, int(n * SCALE)) for n, floor in ((100_000, 300), (2_000, 10), (10_000, 10), (100_000, 100))
)
"""Floors keep a tiny scale (CI runs BENCH_SCALE=0.01) meaningful: 300 runs leave 10 creates per measurement."""
FIRST_AUDIT = AUDIT // 10
"""Audit records present for the first verify/export; the rest are added before the second (10×)."""
QUICK = SCALE < 0.1
REQUESTS_ONE_CLIENT = 10 if QUICK else 40
REQUESTS_PER_CLIENT = 4 if QUICK else 15
"""Requests per page at 1 client, and per client at 8 (fewer below BENCH_SCALE=0.1: a smoke run's figures say
little, and CI runs one)."""
CLIENTS = 8
CREATES = min(40, RUNS // 30)
"""Creates per measurement (each third of the runs holds RUNS // 30 warnings, the runs created for)."""
CHANGES = min(LINKS, max(10, int(9_000 * SCALE)))
"""Tickets changed in Autotask before the last `tickets refresh` (9,000 of the 10,000 at full scale)."""
WEB_USER, WEB_PASSWORD = "bench-web", "a long bench web password"
REPORT = Path("var/bench/report.json")
SIM_USER, SIM_SECRET, SIM_TRACKING = "bench@example.com", "bench-secret", "BENCHTRACKING"
SECRET_KEY = "bench-secret-key"
COMPANY_BASE = 10_000
NOW = datetime(2026, 6, 1, 2, 10, tzinfo=UTC)
BENCH = Actor("bench", Role.ADMIN)
OBJECTS = (RunObject("HV01", ObjectStatus.ERROR, "VM", "Snapshot failed"), RunObject("USB Disk", ObjectStatus.SUCCESS))
STATUSES = (RunStatus.SUCCESS,) * 6 + (RunStatus.WARNING, RunStatus.ERROR, RunStatus.MISSED, RunStatus.ERROR)


class TenantClock:
    """The simulator's clock: `behind` real time. Until the changes the refreshes measure, an hour behind, so the
    seeded and created tickets were last changed before the status poll's margin (ADR 0031), as tickets made before
    the last poll would have been; the refresh phase's changes are stamped at real time."""

    def __init__(self) -> None:
        self.behind = timedelta(hours=1)

    def __call__(self) -> datetime:
        return datetime.now(UTC) - self.behind


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ------------------------------------------------------------------------------------------------------- seeding


def run_of(n: int) -> Run:
    return Run(
        f"run-{n:06}",
        f"cust-{n % CUSTOMERS:04}",
        f"Job {n % 7}",
        "Veeam Backup & Replication",
        "Backup job",
        NOW - timedelta(minutes=n),
        STATUSES[n % len(STATUSES)],
        OBJECTS,
        ("Job finished.",),
    )


async def insert(conn: Any, table: sa.Table, items: Sequence[dict[str, Any]], batch: int = 5_000) -> None:
    for start in range(0, len(items), batch):
        await conn.execute(sa.insert(table), list(items[start : start + batch]))


async def seed_audit(url: str, key: AuditKey, count: int) -> None:
    """`count` more audit records, chained after the log's head and signed with the server's audit `key`."""
    storage = SqlStorage(url, key)
    try:
        async with storage.engine.begin() as conn:
            head = await conn.execute(sa.select(t.audit_records).order_by(t.audit_records.c.seq.desc()).limit(1))
            row = head.mappings().first()
            last: AuditRecord | None = None if row is None else rows.audit_from(row)
            records = []
            for n in range(count):
                entry = AuditEntry(
                    NOW + timedelta(seconds=n),
                    "bench",
                    "operator",
                    "run.get",
                    "run",
                    f"run-{n % RUNS:06}",
                    Outcome.OK,
                    {"customer_id": f"cust-{n % CUSTOMERS:04}"},
                )
                last = chain(last, entry, key)
                records.append(rows.audit_row(last))
            await insert(conn, t.audit_records, records)
    finally:
        await storage.dispose()


async def seed(url: str) -> None:
    """Customers, mappings and runs in bulk (the audit log and the linked tickets separately: see seed_audit and
    seed_links)."""
    storage = SqlStorage(url)
    try:
        async with storage.engine.begin() as conn:
            await insert(
                conn, t.customers, [rows.flat_row(Customer(f"cust-{i:04}", f"Customer {i}")) for i in range(CUSTOMERS)]
            )
            await insert(
                conn,
                t.company_mappings,
                [
                    rows.flat_row(
                        CompanyMapping.from_lookup(
                            f"cust-{i:04}", CompanyLookup.found(COMPANY_BASE + i, f"Company {i}", is_active=True), NOW
                        )
                    )
                    for i in range(CUSTOMERS)
                ],
            )
            await insert(conn, t.runs, [rows.run_row(run_of(n)) for n in range(RUNS)])
        if storage.engine.dialect.name == "postgresql":  # the statistics autovacuum gathers after a bulk load
            async with storage.engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(sa.text("ANALYZE"))
    finally:
        await storage.dispose()


async def seed_links(url: str, sim: Simulator) -> None:
    """LINKS error runs linked to tickets the simulator holds (created in it directly, as an earlier create would
    have), the links inserted in bulk; then the database's statistics, as autovacuum would gather them."""
    storage = SqlStorage(url)
    try:
        async with storage(read_only=True) as uow:
            settings = await uow.settings.get()
        due = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        linked = [n for n in range(RUNS) if STATUSES[n % len(STATUSES)] is RunStatus.ERROR][:LINKS]
        links = []
        for n in linked:
            run_id, company = f"run-{n:06}", COMPANY_BASE + n % CUSTOMERS
            external = external_id(settings.installation_id, run_id)
            ticket_id = sim.create_ticket(
                {
                    "companyID": company,
                    "title": f"[Backupchecks] Customer {n % CUSTOMERS}",
                    "status": 1,
                    "priority": settings.priority_error_id,
                    "queueID": settings.default_queue_id,
                    "dueDateTime": due,
                    "externalID": external,
                }
            )
            number = sim.tickets[ticket_id]["ticketNumber"]
            link = TicketLink.reserve(run_id, external, "bench", NOW)
            links.append(rows.link_row(link.linked(Ticket(ticket_id, number, None, TicketStatus(1, "New", NOW)))))
        async with storage.engine.begin() as conn:
            await insert(conn, t.ticket_links, links)
        if storage.engine.dialect.name == "postgresql":
            async with storage.engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(sa.text("ANALYZE"))
    finally:
        await storage.dispose()


async def configure(config: Config) -> str:
    """An admin token, and the integration enabled against the simulator with defaults from its picklists."""
    container = Container()
    container.config.override(providers.Object(config))
    try:
        admin: NewUser = await container.add_user().execute(BENCH, "bench-admin", Role.ADMIN)
        await container.add_user().execute(BENCH, WEB_USER, Role.ADMIN, password=WEB_PASSWORD)
        settings = {
            "enabled": True,
            "environment": Environment.SANDBOX,
            "api_username": SIM_USER,
            "tracking_identifier": SIM_TRACKING,
            "allow_resolve": True,
            "backupchecks_base_url": "http://bench.example",
            "status_sync_minutes": 0,  # `refreshes` measures the first poll; the scheduler would run it at start
        }
        await container.update_settings().execute(BENCH, SettingsChange(settings, api_password=SIM_SECRET))
        picklists = await container.get_picklists().execute(BENCH, refresh=True)
        await container.update_settings().execute(BENCH, SettingsChange(_defaults(picklists)))
        return admin.token
    finally:
        await close(container)


async def sign_in(client: httpx.AsyncClient) -> None:
    """The web user signed in on `client` (its session cookie kept by the client)."""
    found = re.search(r'name="_csrf" value="([^"]+)"', (await client.get("/sign-in")).text)
    if found is None:
        raise RuntimeError("the sign-in page holds no CSRF token")
    form = {"_csrf": found[1], "username": WEB_USER, "password": WEB_PASSWORD}
    answer = await client.post("/sign-in", data=form, follow_redirects=False)
    if answer.status_code != 303:
        raise RuntimeError(f"sign-in refused: {answer.status_code} {answer.text[:300]}")


def web_pages() -> dict[str, str]:
    return {
        "Run Checks": "/runs",
        "Run Checks, customer filter": f"/runs?f=1&status=error&status=warning&customer=cust-{7 % CUSTOMERS:04}",
        "Customers": "/customers",
        "run page": "/runs/run-000007",
        "Audit page": "/audit",
    }


def api_lists() -> dict[str, str]:
    return {
        "runs": "/api/v1/runs",
        "runs?status=error,warning": "/api/v1/runs?status=error,warning",
        "runs?has_ticket=true": "/api/v1/runs?has_ticket=true",
        "customers": "/api/v1/customers",
        "audit": "/api/v1/audit",
        "run detail": "/api/v1/runs/run-000007",
    }


def sized_lists() -> dict[str, str]:
    """The API lists at their smallest and largest page: their statements do not depend on the page's size."""
    return {f"{name} limit={n}": f"/api/v1/{name}?limit={n}" for name in ("runs", "customers") for n in (1, 500)}


async def count_statements(config: Config, token: str) -> dict[str, int]:
    """SQL statements per HTTP request, the session or token check included (the same figure tests/perf asserts):
    this checkout's app, in this process, on the bench's database; each page opened once before it is counted."""
    container = Container()
    container.config.override(providers.Object(config))
    storage = container.storage()
    assert isinstance(storage, SqlStorage)
    sent: list[str] = []
    sa.event.listen(storage.engine.sync_engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    counts: dict[str, int] = {}
    transport = httpx.ASGITransport(app=create_app(container))  # type: ignore[arg-type]  # Litestar types its scopes
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bench.example") as web:
            await sign_in(web)
            for name, path in web_pages().items():
                await timed(web, "GET", path)
                sent.clear()
                await timed(web, "GET", path)
                counts[name] = len(sent)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://bench.example", headers=headers) as api:
            await timed(api, "GET", "/api/v1/runs")  # the token's first use may record it as seen
            for name, path in {**api_lists(), **sized_lists()}.items():
                sent.clear()
                await timed(api, "GET", path)
                counts[name] = len(sent)
    finally:
        await close(container)
    return counts


# -------------------------------------------------------------------------------------------------------- server


def server_command() -> tuple[list[str], Path]:
    root = Path(os.environ.get("BENCH_SERVER_ROOT") or Path.cwd()).resolve()
    return [str(root / ".venv/bin/backupchecks"), "serve", "--host", "127.0.0.1"], root


@asynccontextmanager
async def serving(config: Config, zone_url: str) -> AsyncIterator[tuple[str, subprocess.Popen[bytes], float]]:
    """`backupchecks serve` on a free port: its base URL, its process and the seconds to the first /health."""
    port = free_port()
    command, root = server_command()
    env = {  # none of the caller's own BACKUPCHECKS_* (an audit key or database URL would not be the bench's)
        **{name: value for name, value in os.environ.items() if not name.startswith("BACKUPCHECKS_")},
        "BACKUPCHECKS_DATA_DIR": str(config.data_dir),
        "BACKUPCHECKS_SECRET_KEY": SECRET_KEY,
        "BACKUPCHECKS_AUTOTASK_ZONE_URL": zone_url,
        "BACKUPCHECKS_BASE_URL": "http://bench.example",
    }
    if config.database_url:
        env["BACKUPCHECKS_DATABASE_URL"] = config.database_url
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    output = config.data_dir / "server.log"
    with output.open("wb") as sink:
        process = subprocess.Popen([*command, "--port", str(port)], cwd=root, env=env, stdout=sink, stderr=sink)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=2) as client:
            while True:
                if process.poll() is not None or time.perf_counter() - started > 60:
                    raise RuntimeError(f"the server did not start: {output.read_text()[-2000:]}")
                try:
                    if (await client.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.02)
        yield base, process, time.perf_counter() - started
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def peak_mib(process: subprocess.Popen[bytes]) -> float:
    """The server's peak resident memory so far (VmHWM), in MiB."""
    status = Path(f"/proc/{process.pid}/status").read_text()
    line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


# ------------------------------------------------------------------------------------------------------- timing


def summary(latencies: list[float], seconds: float) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
        "per_second": round(len(ordered) / seconds, 1),
        "requests": len(ordered),
    }


async def timed(client: httpx.AsyncClient, method: str, path: str, expect: int = 200) -> float:
    started = time.perf_counter()
    answer = await client.request(method, path)
    elapsed = (time.perf_counter() - started) * 1000
    if answer.status_code != expect:
        raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.text[:300]}")
    return elapsed


async def load(
    client: httpx.AsyncClient, paths: dict[str, str], web: httpx.AsyncClient, pages: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """Each API path (on `client`, with its token) and page (on `web`, signed in) at 1 client (interleaved with
    /health, round after round) and at 8 clients (each in turn, /health first), with its ratios to /health in the
    same run."""
    every = {**{name: (client, path) for name, path in paths.items()}, **{n: (web, p) for n, p in pages.items()}}
    figures: dict[str, dict[str, Any]] = {name: {} for name in every}
    one: dict[str, list[float]] = {name: [] for name in every}
    spent = dict.fromkeys(every, 0.0)
    for _ in range(REQUESTS_ONE_CLIENT):
        for name, (on, path) in every.items():
            elapsed = await timed(on, "GET", path)
            one[name].append(elapsed)
            spent[name] += elapsed / 1000
    for name in every:
        figures[name]["1"] = summary(one[name], spent[name])
    for name, (on, path) in every.items():
        latencies: list[float] = []

        async def worker(on: httpx.AsyncClient = on, path: str = path, latencies: list[float] = latencies) -> None:
            for _ in range(REQUESTS_PER_CLIENT):
                latencies.append(await timed(on, "GET", path))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CLIENTS)))
        figures[name][str(CLIENTS)] = summary(latencies, time.perf_counter() - started)
    for name in every:
        for clients in ("1", str(CLIENTS)):
            health = figures["health"][clients]
            figures[name][clients]["p50_ratio"] = round(figures[name][clients]["p50_ms"] / health["p50_ms"], 1)
            figures[name][clients]["p99_ratio"] = round(figures[name][clients]["p99_ms"] / health["p99_ms"], 1)
    return figures


async def page_five(client: httpx.AsyncClient, path: str) -> str:
    """The URL of page 5 of `path` (50 a page), reached through the cursors (the last page if there are fewer)."""
    first = f"{path}{'&' if '?' in path else '?'}limit=50"
    url = first
    for _ in range(4):
        cursor = (await client.get(url)).json()["next_cursor"]
        if cursor is None:
            break
        url = f"{first}&cursor={cursor}"
    return url


async def audit_walks(client: httpx.AsyncClient, process: subprocess.Popen[bytes]) -> dict[str, float]:
    figures = {}
    started = time.perf_counter()
    answer = (await client.get("/api/v1/audit/verify", timeout=600)).json()
    figures["verify_s"] = round(time.perf_counter() - started, 2)
    if not answer.get("ok"):
        raise RuntimeError(f"audit verify failed: {answer}")
    figures["records"] = answer["records"]
    for fmt in ("jsonl", "csv"):
        started, size = time.perf_counter(), 0
        async with client.stream("GET", f"/api/v1/audit/export?format={fmt}", timeout=600) as stream:
            async for chunk in stream.aiter_bytes():
                size += len(chunk)
        figures[f"export_{fmt}_s"] = round(time.perf_counter() - started, 2)
        figures[f"export_{fmt}_mib"] = round(size / 2**20, 1)
    figures["server_peak_mib"] = round(peak_mib(process), 1)
    return figures


async def creates(
    client: httpx.AsyncClient, sim: Simulator, first: int, latency: float, clients: int
) -> dict[str, float]:
    """CREATES tickets on distinct ticketless runs (`clients` at once) at `latency` seconds per Autotask request."""
    sim.clear_faults()
    if latency:
        sim.inject(Fault("latency", seconds=latency, times=None))
    runs = iter(n for n in range(first, RUNS) if STATUSES[n % len(STATUSES)] is RunStatus.WARNING)
    todo = [next(runs) for _ in range(CREATES)]
    latencies: list[float] = []

    async def worker(mine: list[int]) -> None:
        for n in mine:
            latencies.append(await timed(client, "POST", f"/api/v1/runs/run-{n:06}/autotask-ticket", 201))

    requests_before = sum(sim.counts.values())
    started = time.perf_counter()
    await asyncio.gather(*(worker(todo[i::clients]) for i in range(clients)))
    elapsed = time.perf_counter() - started
    sim.clear_faults()
    return {
        **summary(latencies, elapsed),
        "autotask_requests_per_create": (sum(sim.counts.values()) - requests_before) / CREATES,
    }


async def refreshes(client: httpx.AsyncClient, sim: Simulator, clock: TenantClock) -> dict[str, dict[str, float]]:
    """`POST /api/v1/autotask/tickets/refresh` (what `backupchecks tickets refresh` does): the first (a full read:
    the scheduler's status sync is off, so no poll ran before), then with nothing changed (the tickets last changed
    an hour ago by the tenant's clock), then with CHANGES tickets moved to In Progress in Autotask meanwhile."""
    figures = {}
    linked = sorted(i for i, ticket in sim.tickets.items() if str(ticket.get("title")).startswith("[Backupchecks]"))
    for name, changes in (("first (full read)", 0), ("nothing changed", 0), (f"{CHANGES} changed", CHANGES)):
        if changes:
            clock.behind = timedelta()  # the changes are made now, after the last poll started
        for ticket_id in linked[:changes]:
            sim.set_ticket_status(ticket_id, 8)  # In Progress
        before = sum(sim.counts.values())
        started = time.perf_counter()
        answer = await client.post("/api/v1/autotask/tickets/refresh", timeout=600)
        seconds = time.perf_counter() - started
        if answer.status_code != 200:
            raise RuntimeError(f"tickets refresh: {answer.status_code} {answer.text[:300]}")
        body = answer.json()
        figures[name] = {
            "seconds": round(seconds, 2),
            "autotask_requests": sum(sim.counts.values()) - before,
            "checked": body.get("checked"),
            "changed": body.get("changed"),
        }
    return figures


async def autotask_own_time(zone_url: str) -> float:
    """The simulator's own time for what a create asks of it (POST Tickets, then GET the ticket), p50 in ms."""
    headers = {"UserName": SIM_USER, "Secret": SIM_SECRET, "ApiIntegrationCode": SIM_TRACKING}
    async with httpx.AsyncClient(timeout=10, headers=headers) as client:
        zone = (await client.get(f"{zone_url}/v1.0/zoneInformation", params={"user": SIM_USER})).json()["url"]
        api = zone.rstrip("/") + "/V1.0"
        draft = {
            "companyID": COMPANY_BASE,
            "title": "own time",
            "status": 1,
            "priority": 1,
            "queueID": None,
            "description": "x",
            "dueDateTime": (datetime.now(UTC) + timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        fields = (await client.get(f"{api}/Tickets/entityInformation/fields")).json()["fields"]
        for field in fields:
            if field["name"] in ("priority", "queueID") and field.get("picklistValues"):
                draft[field["name"]] = int(next(v for v in field["picklistValues"] if v["isActive"])["value"])
        times = []
        for _ in range(30):
            started = time.perf_counter()
            created = await client.post(f"{api}/Tickets", json=draft)
            await client.get(f"{api}/Tickets/{created.json()['itemId']}")
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


# ------------------------------------------------------------------------------------------------------ backends


@asynccontextmanager
async def database(name: str, data_dir: Path) -> AsyncIterator[Config]:
    if name == "sqlite":
        yield Config(data_dir=data_dir)
        return
    server = os.environ["BACKUPCHECKS_TEST_POSTGRES_URL"]
    admin = create_async_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    db = f"backupchecks_bench_{uuid.uuid4().hex[:12]}"
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'CREATE DATABASE "{db}"'))
    try:
        yield Config(
            data_dir=data_dir,
            database_url=sa.engine.make_url(server).set(database=db).render_as_string(hide_password=False),
        )
    finally:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        await admin.dispose()


async def bench_backend(name: str) -> dict[str, Any]:
    report: dict[str, Any] = {"backend": name}
    with tempfile.TemporaryDirectory(prefix="backupchecks-bench-") as directory:
        async with database(name, Path(directory)) as config:
            url = config.database_url or default_database_url(config.data_dir)
            config = replace(config, secret_key=SECRET_KEY)
            clock = TenantClock()
            sim = Simulator(
                clock=clock,
                username=SIM_USER,
                secret=SIM_SECRET,
                integration_code=SIM_TRACKING,
                request_threshold=10**9,
                max_concurrent_per_endpoint=None,
            )
            for i in range(CUSTOMERS):
                sim.add_company(COMPANY_BASE + i, f"Company {i}")
            with running_simulator(sim) as zone_url:
                started = time.perf_counter()
                await asyncio.to_thread(upgrade, url)
                await seed(url)
                key = audit_key_from_file(config.data_dir)  # the key file `serve` reads from the same data dir
                await seed_audit(url, key, FIRST_AUDIT)
                served = replace(config, database_url=url, autotask_zone_url=zone_url)
                token = await configure(served)
                await seed_links(url, sim)
                report["seed_s"] = round(time.perf_counter() - started, 1)
                log(
                    f"{name}: seeded {RUNS} runs, {CUSTOMERS} customers, {LINKS} links, {FIRST_AUDIT} audit records "
                    f"in {report['seed_s']} s"
                )
                # counted in this process, so on this checkout's code (not BENCH_SERVER_ROOT's)
                report["statements_per_request"] = (
                    {} if os.environ.get("BENCH_SERVER_ROOT") else await count_statements(served, token)
                )
                async with serving(config, zone_url) as (base, process, start_s):
                    report["start_to_health_s"] = round(start_s, 2)
                    headers = {"Authorization": f"Bearer {token}"}
                    limits = httpx.Limits(max_connections=CLIENTS * 2)
                    async with (
                        httpx.AsyncClient(base_url=base, headers=headers, timeout=120, limits=limits) as client,
                        httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as web,
                    ):
                        await sign_in(web)
                        paths = {"health": "/health", **api_lists()}
                        for filtered in (
                            "/api/v1/runs",
                            "/api/v1/runs?status=error,warning",
                            "/api/v1/runs?has_ticket=true",
                        ):
                            paths[f"{filtered.removeprefix('/api/v1/')} page 5"] = await page_five(client, filtered)
                        log(f"{name}: load")
                        report["pages"] = await load(client, paths, web, web_pages())
                        report["memory_after_load_mib"] = round(peak_mib(process), 1)
                        log(f"{name}: audit walks")
                        report["audit_small"] = await audit_walks(client, process)
                        await seed_audit(url, key, AUDIT - FIRST_AUDIT)
                        report["audit_large"] = await audit_walks(client, process)
                        log(f"{name}: creates")
                        report["autotask_own_ms"] = round(await autotask_own_time(zone_url), 2)
                        one = await creates(client, sim, 0, 0.0, 1)
                        report["create_overhead_ms"] = round(one["p50_ms"] - report["autotask_own_ms"], 2)
                        report["creates"] = {
                            "1 client, 0 ms": one,
                            "8 clients, 0 ms": await creates(client, sim, RUNS // 3, 0.0, CLIENTS),
                            "8 clients, 200 ms": await creates(client, sim, 2 * RUNS // 3, 0.2, CLIENTS),
                        }
                        log(f"{name}: tickets refresh")
                        report["tickets_refresh"] = await refreshes(client, sim, clock)
                    report["server_peak_mib"] = round(peak_mib(process), 1)
    return report


# ------------------------------------------------------------------------------------------------------- report


def table(reports: list[dict[str, Any]]) -> str:
    lines = []
    for r in reports:
        lines.append(
            f"\n== {r['backend']}  (seed {r['seed_s']} s, serve → first /health {r['start_to_health_s']} s, "
            f"server peak {r['server_peak_mib']} MiB)"
        )
        lines.append(
            f"{'request':<34}{'1 client p50/p99 ms':>22}{'×health':>12}{'8 clients p50/p99 ms':>24}"
            f"{'×health':>12}{'req/s 1→8':>16}"
        )
        for name, f in r["pages"].items():
            a, b = f["1"], f[str(CLIENTS)]
            lines.append(
                f"{name:<34}{a['p50_ms']:>11.2f}/{a['p99_ms']:<10.2f}{a['p50_ratio']:>5}/{a['p99_ratio']:<6}"
                f"{b['p50_ms']:>12.2f}/{b['p99_ms']:<11.2f}{b['p50_ratio']:>5}/{b['p99_ratio']:<6}"
                f"{a['per_second']:>8}→{b['per_second']:<8}"
            )
        lines.append(
            "SQL statements per request: " + "; ".join(f"{k} {n}" for k, n in r["statements_per_request"].items())
        )
        for key in ("audit_small", "audit_large"):
            a = r[key]
            lines.append(
                f"audit {a['records']:>7} records: verify {a['verify_s']} s, export jsonl "
                f"{a['export_jsonl_s']} s ({a['export_jsonl_mib']} MiB), csv {a['export_csv_s']} s; "
                f"server peak {a['server_peak_mib']} MiB"
            )
        lines.append(
            f"create: overhead {r['create_overhead_ms']} ms (p50 at 1 client minus the simulator's own "
            f"{r['autotask_own_ms']} ms); "
            + "; ".join(
                f"{k}: {c['per_second']}/s p50/p99 {c['p50_ms']}/{c['p99_ms']} ms, "
                f"{c['autotask_requests_per_create']} requests"
                for k, c in r["creates"].items()
            )
        )
        lines.append(
            "tickets refresh: "
            + "; ".join(
                f"{k}: {f['seconds']} s, {f['autotask_requests']} Autotask requests, {f['changed']} of {f['checked']}"
                for k, f in r["tickets_refresh"].items()
            )
        )
    return "\n".join(lines)


async def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the bench's own requests are not news
    wanted = (os.environ.get("BENCH_BACKENDS") or "sqlite,postgres").split(",")
    if "postgres" in wanted and not os.environ.get("BACKUPCHECKS_TEST_POSTGRES_URL"):
        log(
            "PostgreSQL skipped: set BACKUPCHECKS_TEST_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
        )
        wanted.remove("postgres")
    started = time.perf_counter()
    reports = [await bench_backend(name) for name in wanted]
    print(table(reports))
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(
        json.dumps(
            {
                "scale": SCALE,
                "server_root": str(server_command()[1]),
                "seconds": round(time.perf_counter() - started, 1),
                "backends": reports,
            },
            indent=2,
        )
    )
    print(f"\nreport: {REPORT} ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    asyncio.run(main())
