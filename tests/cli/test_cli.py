"""The command line on a temporary SQLite database (the embedded default, migrated automatically)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import sqlite3
import stat
from pathlib import Path

import pytest
from dependency_injector import providers
from litestar.testing import TestClient

from adapters.audit_key import audit_key_from_file, audit_key_from_passphrase
from adapters.autotask_simulator import Simulator, running_simulator
from domain.roles import Role
from entrypoints.asgi import create_app
from entrypoints.cli import SYSTEM, main
from entrypoints.container import Config, Container, close
from entrypoints.demo import fresh_database, seed_demo
from tests.audit_chain import downgraded_chain, stored_records


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("DATABASE_URL", "SECRET_KEY", "AUDIT_KEY", "AUTOTASK_ZONE_URL"):
        monkeypatch.delenv(f"BACKUPCHECKS_{name}", raising=False)
    monkeypatch.setenv("BACKUPCHECKS_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_users_add_json_gives_a_token_that_works_over_http(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "users", "add", "alice", "--role", "admin", "--json")
    assert code == 0
    shown = json.loads(out)
    assert set(shown) == {"username", "role", "token", "password"}
    assert (shown["username"], shown["role"]) == ("alice", "admin") and len(shown["password"]) >= 12
    with sqlite3.connect(data_dir / "backupchecks.sqlite3") as db:
        stored = " ".join(str(v) for row in db.execute("SELECT * FROM users") for v in row)
    assert shown["token"] not in stored and shown["password"] not in stored and "$argon2" in stored
    with TestClient(create_app(Container())) as client:
        ok = client.get("/api/v1/users", headers={"Authorization": f"Bearer {shown['token']}"})
        assert ok.status_code == 200 and [u["username"] for u in ok.json()["items"]] == ["alice"]
        assert client.get("/ready").status_code == 200


def test_users_list_remove_and_refusals(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "users", "add", "alice", "--role", "admin")
    run(capsys, "users", "add", "bob", "--role", "reporter")
    _, out = run(capsys, "users", "list")
    assert [line.split("\t")[:2] for line in out.splitlines()] == [["alice", "admin"], ["bob", "reporter"]]
    assert run(capsys, "users", "remove", "bob") == (0, "removed bob\n")
    assert run(capsys, "users", "remove", "bob")[0] == 1
    assert run(capsys, "users", "remove", "alice")[0] == 1  # the last admin stays
    assert run(capsys, "users", "add", "alice", "--role", "operator")[0] == 1  # taken
    assert run(capsys, "mappings", "refresh")[0] == 1  # integration_disabled, audited


def test_users_disable_enable_role_token_and_password(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "users", "add", "alice", "--role", "admin")
    _, out = run(capsys, "users", "add", "bob", "--role", "reporter", "--json")
    old_token = json.loads(out)["token"]
    assert run(capsys, "users", "disable", "bob") == (0, "bob: reporter, disabled; their web sessions ended\n")
    assert run(capsys, "users", "list")[1].splitlines()[1].endswith("\tdisabled")
    with TestClient(create_app(Container())) as client:
        assert client.get("/api/v1/runs", headers={"Authorization": f"Bearer {old_token}"}).status_code == 401
    assert run(capsys, "users", "enable", "bob")[0] == 0
    assert run(capsys, "users", "role", "bob", "operator") == (0, "bob: operator, enabled; their web sessions ended\n")
    code, out = run(capsys, "users", "token", "bob")
    token = re.search(r"token:\s+(\S+)", out)
    assert code == 0 and token is not None and token[1] != old_token
    code, out = run(capsys, "users", "password", "bob")
    password = re.search(r"password:\s+(\S+)", out)
    assert code == 0 and password is not None and len(password[1]) >= 12
    with TestClient(create_app(Container())) as client:
        assert client.get("/api/v1/runs", headers={"Authorization": f"Bearer {old_token}"}).status_code == 401
        assert client.get("/api/v1/runs", headers={"Authorization": f"Bearer {token[1]}"}).status_code == 200
    with sqlite3.connect(data_dir / "backupchecks.sqlite3") as db:
        stored = " ".join(str(v) for row in db.execute("SELECT * FROM audit_records") for v in row)
    assert token[1] not in stored and password[1] not in stored
    assert run(capsys, "users", "disable", "alice")[0] == 1  # the last enabled admin stays
    assert run(capsys, "users", "role", "alice", "reporter")[0] == 1
    assert run(capsys, "users", "token", "nobody")[0] == 1


def test_users_unlock_forgets_the_failed_sign_ins(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "users", "add", "bob", "--role", "admin")
    with sqlite3.connect(data_dir / "backupchecks.sqlite3") as db:
        at, until = "2026-12-03 08:00:00.000000", "2026-12-03 08:15:00.000000"
        db.execute("INSERT INTO sign_in_failures VALUES ('user:bob', 12, ?, ?)", (at, until))
    assert run(capsys, "users", "unlock", "bob") == (0, "unlocked bob: their failed sign-ins are forgotten\n")
    assert run(capsys, "users", "unlock", "nobody")[0] == 1
    with sqlite3.connect(data_dir / "backupchecks.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM sign_in_failures").fetchone() == (0,)


def test_audit_verify_export_and_tampering(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "users", "add", "alice", "--role", "admin")
    run(capsys, "users", "add", "bob", "--role", "reporter")
    code, out = run(capsys, "audit", "verify")
    verified = json.loads(out)
    key_id = audit_key_from_file(data_dir).key_id
    assert code == 0 and {k: verified[k] for k in ("ok", "records", "first_bad_seq", "last_seq", "key_id")} == {
        "ok": True,
        "records": 2,
        "first_bad_seq": None,
        "last_seq": 2,
        "key_id": key_id,
    }
    assert (data_dir / "audit.key").read_text().strip() not in out
    code, out = run(capsys, "audit", "export", "--format", "csv")
    lines = out.splitlines()
    assert lines[0].startswith("seq,at,actor") and len(lines) == 4  # header, two users, this export
    assert all(",cli,admin," in line for line in lines[1:])
    code, out = run(capsys, "audit", "export")
    assert [json.loads(line)["action"] for line in out.splitlines()] == [
        "user.add",
        "user.add",
        "audit.export",
        "audit.export",
    ]
    with sqlite3.connect(data_dir / "backupchecks.sqlite3") as db:
        for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            db.execute(f'DROP TRIGGER "{name}"')  # an attacker with file access gets past the guards
        db.execute("UPDATE audit_records SET actor = 'mallory' WHERE seq = 2")
    code, out = run(capsys, "audit", "verify")
    assert code == 2 and json.loads(out) == {
        "ok": False,
        "records": 2,
        "first_bad_seq": 2,
        "last_seq": None,
        "last_hash": None,
        "key_id": key_id,
        "unkeyed_records": 0,
        "fault": "broken",
        "anchored_seq": 4,
    }


def test_the_customer_filter_column_is_inside_the_keyed_chain(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "users", "add", "alice", "--role", "admin")
    assert run(capsys, "audit", "verify")[0] == 0
    with sqlite3.connect(data_dir / "backupchecks.sqlite3") as db:
        db.execute("DROP TRIGGER audit_records_no_update")
        db.execute("UPDATE audit_records SET details_customer_id = 'c-other' WHERE seq = 1")
    code, out = run(capsys, "audit", "verify")
    assert code == 2 and json.loads(out)["first_bad_seq"] == 1


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{data_dir / 'backupchecks.sqlite3'}"


def tamper(data_dir: Path, *statements: tuple[str, tuple[object, ...]]) -> None:
    """What an attacker with write access to the database file (not to the key file) does."""
    with sqlite3.connect(data_dir / "backupchecks.sqlite3") as db:
        for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            db.execute(f'DROP TRIGGER "{name}"')
        for statement, parameters in statements:
            db.execute(statement, parameters)


def test_a_chain_downgraded_to_plain_hashes_fails_verify(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 21 item 2: key ids set NULL, one record edited, the whole chain recomputed as plain SHA-256 (as if it
    predated the key). The anchor beside the key remembers that the chain is keyed."""
    for name in ("alice", "bob", "carol"):
        run(capsys, "users", "add", name, "--role", "admin")
    assert json.loads(run(capsys, "audit", "verify")[1])["anchored_seq"] == 3
    records = stored_records(sqlite_url(data_dir))
    rewrite = "UPDATE audit_records SET key_id = NULL, actor = ?, prev_hash = ?, hash = ? WHERE seq = ?"
    rows = [(r.actor, r.prev_hash, r.hash, r.record.seq) for r in downgraded_chain(records, edited_seq=2)]
    tamper(data_dir, *[(rewrite, row) for row in rows])
    code, out = run(capsys, "audit", "verify")
    assert code == 2 and json.loads(out) | {"key_id": None, "last_hash": None} == {
        "ok": False,
        "records": 1,
        "first_bad_seq": 1,
        "last_seq": None,
        "last_hash": None,
        "key_id": None,
        "unkeyed_records": 0,
        "fault": "downgraded",
        "anchored_seq": 3,
    }
    (data_dir / "audit.anchor").unlink()  # without its anchor the rewrite would pass: keep a copy elsewhere
    assert run(capsys, "audit", "verify")[0] == 0


def test_records_cut_off_the_end_or_all_deleted_fail_verify_against_the_anchor(
    data_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for name in ("alice", "bob", "carol"):
        run(capsys, "users", "add", name, "--role", "admin")
    copy = tmp_path / "anchor-copy.json"
    copy.write_text((data_dir / "audit.anchor").read_text())  # e.g. shipped off the host by a log collector
    tamper(data_dir, ("DELETE FROM audit_records WHERE seq > 1", ()))
    code, out = run(capsys, "audit", "verify")
    assert code == 2 and {k: v for k, v in json.loads(out).items() if k in ("ok", "fault", "last_seq")} == {
        "ok": False,
        "fault": "truncated",
        "last_seq": 1,
    }
    tamper(data_dir, ("DELETE FROM audit_records", ()))
    (data_dir / "audit.anchor").unlink()  # the attacker also removes the anchor beside the key
    assert run(capsys, "audit", "verify")[0] == 0  # nothing left to compare with here …
    code, out = run(capsys, "audit", "verify", "--anchor", str(copy))
    assert code == 2 and json.loads(out)["fault"] == "truncated" and json.loads(out)["records"] == 0  # … but a copy
    assert run(capsys, "audit", "verify", "--anchor", str(tmp_path / "absent"))[0] == 1
    copy.write_text("not an anchor")
    assert run(capsys, "audit", "verify", "--anchor", str(copy))[0] == 1


def test_a_forged_or_unreadable_anchor_fails_verify(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "users", "add", "alice", "--role", "admin")
    anchor = json.loads((data_dir / "audit.anchor").read_text())
    (data_dir / "audit.anchor").write_text(json.dumps(anchor | {"seq": 0}))  # moved back, without the key
    code, out = run(capsys, "audit", "verify")
    assert code == 2 and json.loads(out)["fault"] == "anchor_invalid"
    (data_dir / "audit.anchor").write_text("{")
    code, out = run(capsys, "audit", "verify")
    assert code == 2 and json.loads(out)["fault"] == "anchor_invalid" and json.loads(out)["records"] == 1
    run(capsys, "users", "add", "bob", "--role", "admin")  # the next append writes a genuine anchor again
    code, out = run(capsys, "audit", "verify")
    assert code == 0 and json.loads(out)["anchored_seq"] == 2


def test_another_audit_key_cannot_check_the_chain(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run(capsys, "users", "add", "alice", "--role", "admin")
    monkeypatch.setenv("BACKUPCHECKS_AUDIT_KEY", "another key, given in the environment")
    code, out = run(capsys, "audit", "verify")
    assert code == 2 and json.loads(out)["first_bad_seq"] == 1
    assert json.loads(out)["key_id"] == audit_key_from_passphrase("another key, given in the environment").key_id


def test_the_data_folder_database_and_key_files_are_private(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "users", "add", "alice", "--role", "admin")
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    files = sorted(p.name for p in data_dir.iterdir())
    assert {"backupchecks.sqlite3", "audit.key"} <= set(files)
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in data_dir.iterdir()} == dict.fromkeys(files, 0o600)


def test_db_upgrade_and_downgrade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ops.sqlite3"
    monkeypatch.setenv("BACKUPCHECKS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BACKUPCHECKS_DATABASE_URL", f"sqlite+aiosqlite:///{path}")

    def tables() -> set[str]:
        with sqlite3.connect(path) as db:
            return {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    assert run(capsys, "db", "upgrade")[0] == 0
    assert {"users", "audit_records", "ticket_links"} <= tables()
    with pytest.raises(SystemExit) as refused:  # no default revision: `-1` from the first migration is base
        main(["db", "downgrade"])
    assert refused.value.code == 2 and "revision" in capsys.readouterr().err
    for target in ("base", "-1"):
        assert main(["db", "downgrade", target]) == 2
        err = capsys.readouterr().err
        assert "every table" in err and "audit log" in err and "--yes" in err
    assert {"users", "audit_records", "ticket_links"} <= tables()  # nothing was dropped
    assert run(capsys, "db", "downgrade", "base", "--yes")[0] == 0
    assert tables() <= {"alembic_version"}
    assert run(capsys, "db", "upgrade", "head")[0] == 0
    assert "users" in tables()


def test_rotate_key_starts_a_new_key_that_a_running_process_picks_up(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`audit rotate-key` (docs/adr/0033-audit-key-rotation.md): a new line in audit.key, the old records still verify
    with theirs, and a process that was already running (`serve`) signs its next record with the new key."""
    run(capsys, "users", "add", "alice", "--role", "admin")
    old_id = audit_key_from_file(data_dir).key_id
    running = Container()  # a `serve` process started before the rotation: it read the old key file

    async def add_user(name: str) -> None:
        try:
            await running.add_user().execute(SYSTEM, name, Role.OPERATOR)
        finally:
            await close(running)

    asyncio.run(add_user("bob"))
    code, out = run(capsys, "audit", "rotate-key")
    rotation = json.loads(out)
    assert code == 0 and rotation["retired_key_id"] == old_id and rotation["keys"] == 2
    assert rotation["key_id"] == audit_key_from_file(data_dir).key_id != old_id
    assert len((data_dir / "audit.key").read_text().split()) == 2
    assert not any(line in out for line in (data_dir / "audit.key").read_text().split())  # ids, never keys
    asyncio.run(add_user("carol"))
    code, out = run(capsys, "audit", "verify")
    assert code == 0 and json.loads(out) | {"last_hash": None} == {
        "ok": True,
        "records": 4,
        "first_bad_seq": None,
        "last_seq": 4,
        "last_hash": None,
        "key_id": rotation["key_id"],
        "unkeyed_records": 0,
        "fault": None,
        "anchored_seq": 4,
    }
    keys = [(r.entry.action, r.key_id) for r in stored_records(sqlite_url(data_dir))]
    assert keys == [
        ("user.add", old_id),
        ("user.add", old_id),
        ("audit.rotate_key", rotation["key_id"]),
        ("user.add", rotation["key_id"]),
    ]
    (data_dir / "audit.key").write_text((data_dir / "audit.key").read_text().split()[1] + "\n")  # the old key lost
    code, out = run(capsys, "audit", "verify")
    assert code == 2 and (json.loads(out)["fault"], json.loads(out)["first_bad_seq"]) == ("unknown_key", 1)


def test_a_key_given_in_the_environment_is_not_rotated_by_the_command(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKUPCHECKS_AUDIT_KEY", "a passphrase the operator keeps")
    run(capsys, "users", "add", "alice", "--role", "admin")
    code = main(["audit", "rotate-key"])
    printed = capsys.readouterr()
    assert code == 1 and printed.out == "" and "error: key_rotation_unavailable:" in printed.err
    assert not (data_dir / "audit.key").exists()  # the environment's key is the only one


def test_parser_knows_every_contract_command() -> None:
    from entrypoints.cli import build_parser

    parser = build_parser()
    for argv in (
        ["serve", "--host", "0.0.0.0", "--port", "9000", "--workers", "2"],
        ["db", "upgrade"],
        ["db", "downgrade", "0001"],
        ["users", "add", "x", "--role", "reporter", "--json"],
        ["users", "list"],
        ["users", "remove", "x"],
        ["mappings", "refresh"],
        ["tickets", "refresh"],
        ["audit", "verify"],
        ["audit", "rotate-key"],
        ["audit", "export", "--format", "csv"],
        ["simulator", "--port", "8001"],
        ["demo", "--port", "8000"],
    ):
        assert callable(parser.parse_args(argv).handler)
    with pytest.raises(SystemExit):
        parser.parse_args(["users", "add", "x", "--role", "boss"])


def test_ready_is_503_when_the_sql_database_cannot_be_opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKUPCHECKS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BACKUPCHECKS_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/missing/dir/db.sqlite3")
    with TestClient(create_app(Container())) as client:
        assert client.get("/ready").status_code == 503
        assert client.get("/health").json() == {"status": "ok"}


def test_simulator_banner_names_the_credentials_the_simulator_accepts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import adapters.autotask_simulator

    served: list[tuple[str, int, Simulator | None]] = []
    monkeypatch.setattr(
        adapters.autotask_simulator, "serve", lambda host, port, sim=None: served.append((host, port, sim))
    )
    code, out = run(capsys, "simulator", "--port", "8123")
    shown = dict(re.findall(r"(username|secret|identifier) (\S+)", out))
    assert code == 0 and "http://127.0.0.1:8123/atservicesrest" in out
    [(_, port, sim)] = served
    assert port == 8123 and sim is not None
    assert (sim.username, sim.integration_code) == (shown["username"], shown["identifier"])
    assert sim.secret_matches(shown["secret"])


def test_a_stored_credential_http_cannot_carry_is_an_error_line_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 21 item 6: a password stored before the settings checked it (here written straight to the database) made
    every Autotask call raise UnicodeEncodeError: `mappings refresh` ended in a traceback. Now: one error line."""
    url = fresh_database(tmp_path)
    sim = Simulator.seeded()
    with running_simulator(sim) as zone_url:
        config = Config(data_dir=tmp_path, database_url=url, autotask_zone_url=zone_url, base_url="http://demo.test")
        container = Container()
        container.config.override(providers.Object(config))
        asyncio.run(seed_demo(container, sim, "http://demo.test"))

        async def store_unsendable_password() -> None:
            try:
                async with container.deps().uow() as uow:
                    settings = await uow.settings.get()
                    sealed = container.secret_box().seal("pässwörd")
                    await uow.settings.save(dataclasses.replace(settings, api_password_sealed=sealed))
                    await uow.commit()
            finally:
                await close(container)

        container.storage.reset()
        asyncio.run(store_unsendable_password())
        for name, value in (("DATA_DIR", str(tmp_path)), ("DATABASE_URL", url), ("AUTOTASK_ZONE_URL", zone_url)):
            monkeypatch.setenv(f"BACKUPCHECKS_{name}", value)
        before = sum(sim.counts.values())
        code = main(["mappings", "refresh"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and "pässwörd" not in err
    assert "error: integration_disabled: The stored Autotask API password holds characters" in err
    assert "only visible ASCII" in err and sum(sim.counts.values()) == before  # nothing was sent
