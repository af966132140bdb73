"""`backupchecks demo`: a fresh SQLite database under the data directory, the Autotask simulator in a thread as the
zone, settings filled in, customers in every mapping state, runs, one ticket with a time entry, and three logins."""

from __future__ import annotations

import asyncio
import socket
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dependency_injector import providers

from adapters.autotask_simulator import Simulator, running_simulator
from adapters.files import private_dir
from adapters.sql.migrate import upgrade
from application.use_cases.settings import SettingsChange
from domain.picklists import Picklists, PicklistValue
from domain.roles import Actor, Role
from domain.runs import Customer, ObjectStatus, Run, RunObject, RunStatus
from domain.settings import Environment
from entrypoints.container import Config, Container, close

DEMO = Actor("demo", Role.ADMIN)
SIM_USER, SIM_SECRET, SIM_TRACKING = "api@example.com", "s3cret", "TRACKING01"
# (customer id, name, Autotask company, what happens to it in Autotask after mapping)
CUSTOMERS = (
    ("cust-acme", "Acme Corporation", 100, None),
    ("cust-globex", "Globex", 101, "renamed"),
    ("cust-initech", "Initech", 102, "deleted"),
    ("cust-umbrella", "Umbrella Health", None, None),
)


@dataclass(frozen=True, slots=True)
class Login:
    username: str
    role: Role
    token: str
    password: str


def _pick(values: tuple[PicklistValue, ...], *words: str) -> int | None:
    active = [v for v in values if v.is_active]
    for word in words:
        found = next((v.id for v in active if word in v.label.lower()), None)
        if found is not None:
            return found
    return active[0].id if active else None


def _defaults(p: Picklists) -> dict[str, int | None]:
    """Defaults valid for the tenant's picklists, chosen by label."""
    issue = _pick(p.issue_types, "backup", "monitor")
    subs = tuple(v for v in p.sub_issue_types if v.parent_id in (None, issue))
    return {
        "default_queue_id": _pick(p.queues, "monitor", "alert", "service"),
        "default_issue_type_id": issue,
        "default_sub_issue_type_id": _pick(subs, "fail", "backup"),
        "default_source_id": _pick(p.sources, "monitor", "alert"),
        "priority_error_id": _pick(p.priorities, "high", "critical"),
        "priority_warning_id": _pick(p.priorities, "medium", "normal"),
        "note_type_id": _pick(p.note_types, "internal", "task", "note"),
        "note_publish_id": _pick(p.note_publish, "internal"),
        "ticket_category_id": _pick(p.ticket_categories, "api only", "backupchecks"),
        "work_type_id": _pick(p.work_types, "backup", "monitor"),
    }


def _runs(now: datetime) -> list[Run]:
    day = now.replace(hour=2, minute=10, second=0, microsecond=0)
    vm = RunObject
    return [
        Run(
            "run-acme-1",
            "cust-acme",
            "Nightly VMs",
            "Veeam Backup & Replication",
            "Backup job",
            day,
            RunStatus.ERROR,
            (
                vm("sql-01", ObjectStatus.ERROR, "VM", "Failed to create snapshot: disk quota exceeded"),
                vm("web-01", ObjectStatus.SUCCESS, "VM"),
                vm("web-02", ObjectStatus.WARNING, "VM", "Retried twice"),
            ),
            ("Processing finished with errors.",),
        ),
        Run(
            "run-acme-2",
            "cust-acme",
            "File server",
            "Veeam Agent for Windows",
            "Backup job",
            day - timedelta(hours=1),
            RunStatus.WARNING,
            (vm("D:\\Shares", ObjectStatus.WARNING, "Volume", "3 files were locked and skipped"),),
            ("Job finished with warnings.",),
        ),
        Run(
            "run-acme-3",
            "cust-acme",
            "Nightly VMs",
            "Veeam Backup & Replication",
            "Backup job",
            day - timedelta(days=1),
            RunStatus.SUCCESS,
            (vm("sql-01", ObjectStatus.SUCCESS, "VM"),),
        ),
        Run(
            "run-globex-1",
            "cust-globex",
            "Microsoft 365",
            "Synology Active Backup",
            "M365 backup",
            day,
            RunStatus.ERROR,
            (vm("finance@globex.example", ObjectStatus.ERROR, "Mailbox", "Throttled by Exchange"),),
            ("1 of 42 mailboxes failed.",),
        ),
        Run(
            "run-initech-1",
            "cust-initech",
            "NAS replication",
            "Synology Hyper Backup",
            "Replication",
            day,
            RunStatus.MISSED,
            (),
            ("No report was received in the expected window.",),
        ),
        Run(
            "run-umbrella-1",
            "cust-umbrella",
            "Daily",
            "Acronis Cyber Protect",
            "Backup plan",
            day,
            RunStatus.ERROR,
            (vm("fs-01", ObjectStatus.ERROR, "Server", "Destination unreachable"),),
            (),
        ),
    ]


async def seed_demo(container: Container, sim: Simulator, base_url: str) -> list[Login]:
    logins = []
    for role in Role:
        new = await container.add_user().execute(DEMO, role.value, role)
        logins.append(Login(role.value, role, new.token, new.password))
    settings = {
        "enabled": True,
        "environment": Environment.SANDBOX,
        "api_username": SIM_USER,
        "tracking_identifier": SIM_TRACKING,
        "allow_resolve": True,
        "backupchecks_base_url": base_url,
    }
    await container.update_settings().execute(DEMO, SettingsChange(settings, api_password=SIM_SECRET))
    picklists = await container.get_picklists().execute(DEMO, refresh=True)
    await container.update_settings().execute(DEMO, SettingsChange(_defaults(picklists)))
    await container.test_connection().execute(DEMO)  # as an admin would: the tenant named, the rights read
    for customer_id, name, company_id, _ in CUSTOMERS:
        await container.put_customer().execute(DEMO, Customer(customer_id, name))
        if company_id is not None:
            await container.map_customer().execute(DEMO, customer_id, company_id)
    for run in _runs(datetime.now(UTC)):
        await container.put_run().execute(DEMO, run)
    ticket = await container.create_ticket().execute(DEMO, "run-acme-1")
    assert ticket.link.ticket_id is not None
    sim.add_time_entry(ticket.link.ticket_id, hours=0.5)
    await container.get_ticket().execute(DEMO, "run-acme-1", refresh=True)
    sim.rename_company(101, "Globex Benelux Holding B.V.")
    sim.delete_company(102)
    await container.refresh_all_mappings().execute(DEMO)
    await close(container)
    return logins


def seeded_container(config: Config, sim: Simulator) -> tuple[Container, list[Login]]:
    """A container on `config` holding the demo data (seeded in its own event loop), ready for a server's loop."""
    container = Container()
    container.config.override(providers.Object(config))
    assert config.base_url is not None
    logins = asyncio.run(seed_demo(container, sim, config.base_url))
    for provider in (container.storage, container.psa):
        provider.reset()  # the seeding's event loop is gone; the server builds its own pool and client
    return container, logins


def fresh_database(data_dir: Path) -> str:
    private_dir(data_dir)
    path = (data_dir / "demo.sqlite3").resolve()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    return url


def cannot_listen(host: str, port: int) -> str | None:
    """Why `host:port` cannot be listened on (say another demo holds it), or None when a server can bind it."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: a closing port is free
            probe.bind((host, port))
    except OSError as error:
        return error.strerror or type(error).__name__
    return None


def run_demo(host: str, port: int, data_dir: Path) -> int:
    import uvicorn

    from entrypoints.asgi import create_app

    reason = cannot_listen(host, port)  # before the database is replaced and logins are printed that would not work
    if reason is not None:
        print(
            f"error: the demo cannot listen on {host}:{port} ({reason}); is another demo running there? Stop it or "
            "choose another --port. Nothing was changed.",
            file=sys.stderr,
        )
        return 2
    url = fresh_database(data_dir)
    base_url = f"http://{host}:{port}"
    sim = demo_simulator()
    with running_simulator(sim) as zone_url:
        container, logins = seeded_container(
            Config(data_dir=data_dir, database_url=url, autotask_zone_url=zone_url, base_url=base_url, scheduler=True),
            sim,
        )
        print(banner(base_url, zone_url, logins), flush=True)
        uvicorn.run(create_app(container), host=host, port=port, access_log=False, log_config=None)
    return 0


def banner(base_url: str, zone_url: str, logins: list[Login]) -> str:
    rows = "\n".join(f"  {x.username:<9} token {x.token}   password {x.password}" for x in logins)
    operator = next(x for x in logins if x.role is Role.OPERATOR)
    return (
        f"\nBackupchecks Autotask demo\n  Web      {base_url}/   (sign in with a username and password below)\n"
        f"  API      {base_url}/api/v1   (OpenAPI: {base_url}/schema)\n"
        f"  Autotask {zone_url} (simulator)\n\nLogins (web: username + password; API: Authorization: Bearer <token>):"
        f"\n{rows}\n\n"
        f"Try:\n  curl -H 'Authorization: Bearer {operator.token}' "
        f"'{base_url}/api/v1/runs?status=error,warning,missed'\n"
        f"  curl -X POST -H 'Authorization: Bearer {operator.token}' "
        f"{base_url}/api/v1/runs/run-acme-2/autotask-ticket\n"
    )


def demo_simulator() -> Simulator:
    """The seeded simulator, accepting the credentials the demo and the simulator banner name."""
    return Simulator.seeded(username=SIM_USER, secret=SIM_SECRET, integration_code=SIM_TRACKING)


def simulator_banner(api_url: str) -> str:
    """`backupchecks simulator`: where it listens and the credentials it accepts (a local test tenant, not Autotask)."""
    return (
        f"Autotask simulator: {api_url}\n  username {SIM_USER}   secret {SIM_SECRET}   "
        f"tracking identifier {SIM_TRACKING}"
    )
