"""The `backupchecks` command line. Actions run as the system actor `cli` (admin), so the audit log records them."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

from adapters.audit_anchor import read_anchor
from adapters.files import private_dir
from application.errors import UseCaseError
from application.ports import MAPPING_CHECK, STATUS_SYNC, AuditQuery
from application.use_cases.audit_log import ExportFormat
from domain.roles import Actor, Role
from entrypoints.container import Config, Container, close
from entrypoints.logs import configure_logging

SYSTEM = Actor("cli", Role.ADMIN)
REACHES_BASE = re.compile(r"^base$|-\d+$")  # `base`, or relative (-1, 0001-1): from the first migration that is base
Action = Callable[[Container, argparse.Namespace, TextIO], Awaitable[int]]


def prepare_database(config: Config) -> None:
    """The embedded SQLite default is migrated automatically; an external database is migrated with `db upgrade`."""
    if config.embedded_database:
        from adapters.sql.migrate import upgrade

        private_dir(config.data_dir)
        upgrade(config.effective_database_url)


def run_action(
    action: Action, args: argparse.Namespace, out: TextIO | None = None, container: Container | None = None
) -> int:
    container = container or Container()
    stream = out or sys.stdout
    prepare_database(container.config())

    async def go() -> int:
        try:
            return await action(container, args, stream)
        except UseCaseError as error:
            print(f"error: {error.code}: {error.message}", file=sys.stderr)
            return 1
        finally:
            await close(container)

    return asyncio.run(go())


# ------------------------------------------------------------------------------------------------------- actions


async def users_add(container: Container, args: argparse.Namespace, out: TextIO) -> int:
    new = await container.add_user().execute(SYSTEM, args.name, Role(args.role))
    if args.json:
        print(
            json.dumps(
                {
                    "username": new.user.username,
                    "role": new.user.role.value,
                    "token": new.token,
                    "password": new.password,
                }
            ),
            file=out,
        )
    else:
        print(
            f"user:     {new.user.username} ({new.user.role.value})\ntoken:    {new.token}\n"
            f"password: {new.password}\nKeep both now: they are not shown again.",
            file=out,
        )
    return 0


async def users_list(container: Container, args: argparse.Namespace, out: TextIO) -> int:
    for user in await container.list_users().execute(SYSTEM):
        state = "disabled" if user.disabled else "enabled"
        print(f"{user.username}\t{user.role.value}\t{user.created_at.isoformat()}\t{user.id}\t{state}", file=out)
    return 0


async def named_user(container: Container, name: str) -> str | None:
    """The id of the user named `name` (None, said on stderr, when there is none)."""
    users = await container.list_users().execute(SYSTEM)
    user = next((u for u in users if u.username == name), None)
    if user is None:
        print(f"error: user_not_found: no user is named {name!r}", file=sys.stderr)
    return None if user is None else user.id


async def users_remove(container: Container, args: argparse.Namespace, out: TextIO) -> int:
    if (user_id := await named_user(container, args.name)) is None:
        return 1
    await container.remove_user().execute(SYSTEM, user_id)
    print(f"removed {args.name}", file=out)
    return 0


async def users_update(container: Container, args: argparse.Namespace, out: TextIO) -> int:
    """`disable`, `enable` and `role`: the user's sessions end at once; a disabled user's token stops working."""
    if (user_id := await named_user(container, args.name)) is None:
        return 1
    disabled = {"disable": True, "enable": False}.get(args.users_command)
    role = Role(args.role) if args.users_command == "role" else None
    user = await container.update_user().execute(SYSTEM, user_id, role=role, disabled=disabled)
    state = "disabled" if user.disabled else "enabled"
    print(f"{user.username}: {user.role.value}, {state}; their web sessions ended", file=out)
    return 0


async def users_token(container: Container, args: argparse.Namespace, out: TextIO) -> int:
    if (user_id := await named_user(container, args.name)) is None:
        return 1
    new = await container.rotate_token().execute(SYSTEM, user_id)
    print(f"token:    {new.secret}\nThe old token no longer works. Keep this one now: it is not shown again.", file=out)
    return 0


async def users_password(container: Container, args: argparse.Namespace, out: TextIO) -> int:
    if (user_id := await named_user(container, args.name)) is None:
        return 1
    new = await container.reset_password().execute(SYSTEM, user_id)
    print(f"password: {new.secret}\nTheir web sessions ended. Keep it now: it is not shown again.", file=out)
    return 0


async def users_unlock(container: Container, args: argparse.Namespace, out: TextIO) -> int:
    await container.sessions().unlock(SYSTEM, args.name)
    print(f"unlocked {args.name}: their failed sign-ins are forgotten", file=out)
    return 0


async def run_job(container: Container, job: str, out: TextIO) -> int:
    """A scheduled job run now, under the same lease as `serve`'s scheduler (never two at once)."""
    run = await container.scheduler().run(job, actor=SYSTEM)
    if run.status == "held":
        print(f"error: job_running: another process is running {job} now; try again later", file=sys.stderr)
        return 1
    if run.failure is not None:
        raise run.failure
    print(json.dumps(run.result), file=out)
    return 0


async def mappings_refresh(container: Container, args: argparse.Namespace, out: TextIO) -> int:
    return await run_job(container, MAPPING_CHECK, out)


async def tickets_refresh(container: Container, args: argparse.Namespace, out: TextIO) -> int:
    return await run_job(container, STATUS_SYNC, out)


async def audit_verify(container: Container, args: argparse.Namespace, out: TextIO) -> int:
    try:
        anchor = None if args.anchor is None else read_anchor(args.anchor)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.anchor is not None and anchor is None:
        print(f"error: {args.anchor} does not exist", file=sys.stderr)
        return 1
    check = await container.verify_audit().execute(SYSTEM, anchor)
    print(
        json.dumps(
            {
                "ok": check.ok,
                "records": check.records,
                "first_bad_seq": check.first_bad_seq,
                "last_seq": check.last_seq,
                "last_hash": check.last_hash,
                "key_id": check.key_id,
                "unkeyed_records": check.unkeyed_records,
                "fault": None if check.fault is None else check.fault.value,
                "anchored_seq": check.anchored_seq,
            }
        ),
        file=out,
    )
    return 0 if check.ok else 2


async def audit_rotate_key(container: Container, args: argparse.Namespace, out: TextIO) -> int:
    rotation = await container.rotate_audit_key().execute(SYSTEM)
    print(json.dumps(dataclasses.asdict(rotation)), file=out)
    return 0


async def audit_export(container: Container, args: argparse.Namespace, out: TextIO) -> int:
    lines = await container.export_audit().execute(SYSTEM, AuditQuery(), ExportFormat(args.format))
    async for line in lines:
        out.write(line)
    return 0


# -------------------------------------------------------------------------------------------- process commands


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    configure_logging()
    prepare_database(Config.from_env())
    uvicorn.run(
        "entrypoints.asgi:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        log_config=None,
        workers=args.workers,
        access_log=False,
    )
    return 0


def db(args: argparse.Namespace) -> int:
    from adapters.sql.migrate import downgrade, upgrade

    if args.direction == "downgrade" and REACHES_BASE.search(args.revision) and not args.yes:
        print(
            f"error: downgrading to {args.revision} can reach base, which drops every table, the audit log included, "
            "and everything in them. Add --yes to do it anyway.",
            file=sys.stderr,
        )
        return 2
    config = Config.from_env()
    private_dir(config.data_dir)
    (upgrade if args.direction == "upgrade" else downgrade)(config.effective_database_url, args.revision)
    print(f"database {args.direction}d to {args.revision}")
    return 0


def simulator(args: argparse.Namespace) -> int:
    from adapters.autotask_simulator import serve as serve_simulator
    from entrypoints.demo import demo_simulator, simulator_banner

    configure_logging()
    print(simulator_banner(f"http://{args.host}:{args.port}/atservicesrest"), flush=True)
    serve_simulator(args.host, args.port, demo_simulator())
    return 0


def demo(args: argparse.Namespace) -> int:
    from entrypoints.demo import run_demo

    configure_logging()
    return run_demo(args.host, args.port, Config.from_env().data_dir)


# --------------------------------------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="backupchecks", description="Backupchecks Autotask integration.")
    commands = parser.add_subparsers(dest="command", required=True)

    def command(
        name: str, help_text: str, handler: Callable[[argparse.Namespace], int], parent: Any = commands
    ) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = parent.add_parser(name, help=help_text)
        sub.set_defaults(handler=handler)
        return sub

    def action(name: str, help_text: str, handler: Action, parent: Any) -> argparse.ArgumentParser:
        return command(name, help_text, lambda args: run_action(handler, args), parent)

    p = command("serve", "run the HTTP API (configured by BACKUPCHECKS_* variables)", serve)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1)

    migrations = commands.add_parser("db", help="database migrations").add_subparsers(dest="direction", required=True)
    command("upgrade", "migrate up to REVISION", db, migrations).add_argument("revision", nargs="?", default="head")
    p = command("downgrade", "migrate down to REVISION (required; base drops every table)", db, migrations)
    p.add_argument("revision", help="a revision id, a relative step such as -1, or base (drops every table)")
    p.add_argument("--yes", action="store_true", help="confirm a downgrade that can reach base")

    users = commands.add_parser("users", help="API users").add_subparsers(dest="users_command", required=True)
    p = action("add", "add a user; prints its token and a generated password", users_add, users)
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=[r.value for r in Role])
    p.add_argument("--json", action="store_true", help='print {"username", "role", "token", "password"}')
    action("list", "list users", users_list, users)
    action("remove", "remove a user", users_remove, users).add_argument("name")
    action("unlock", "forget a user's failed web sign-ins (lifts the hold)", users_unlock, users).add_argument("name")
    action("disable", "disable a user: its token and sessions stop working", users_update, users).add_argument("name")
    action("enable", "enable a disabled user again", users_update, users).add_argument("name")
    p = action("role", "change a user's role (its sessions end)", users_update, users)
    p.add_argument("name")
    p.add_argument("role", choices=[r.value for r in Role])
    action("token", "give a user a new API token (printed once)", users_token, users).add_argument("name")
    action("password", "give a user a generated password (printed once)", users_password, users).add_argument("name")

    mappings = commands.add_parser("mappings", help="company mappings").add_subparsers(dest="sub", required=True)
    action("refresh", "re-check every mapping against Autotask", mappings_refresh, mappings)
    tickets = commands.add_parser("tickets", help="ticket links").add_subparsers(dest="sub", required=True)
    action("refresh", "poll the status of every open ticket", tickets_refresh, tickets)
    audit = commands.add_parser("audit", help="the audit log").add_subparsers(dest="sub", required=True)
    p = action("verify", "check the hash chain and its anchor (exit 2 when broken)", audit_verify, audit)
    p.add_argument(
        "--anchor",
        type=Path,
        help="check against this copy of the anchor (e.g. one kept on another host) instead of the data directory's",
    )
    action(
        "rotate-key",
        "start a new audit key for new records (the old ones are kept to check theirs); prints the key ids",
        audit_rotate_key,
        audit,
    )
    p = action("export", "write the whole log to stdout", audit_export, audit)
    p.add_argument("--format", choices=[f.value for f in ExportFormat], default=ExportFormat.JSONL.value)

    p = command("simulator", "run the Autotask simulator alone", simulator)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8001)
    p = command("demo", "SQLite, the simulator as Autotask, demo data and printed logins", demo)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv if argv is not None else sys.argv[1:])
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)
