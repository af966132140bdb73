"""Issue 21, item 2, against the PostgreSQL database a real `serve` process wrote: someone with the database's owner
rights (not the key file) downgrades the chain to plain SHA-256 with one record edited, or cuts its newest records
off; `backupchecks audit verify` fails on both, against the anchor beside the key or a copy of it
(docs/adr/0028-audit-anchor.md). Both passed `audit verify` before the anchor."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from adapters.audit_anchor import ANCHOR_FILE
from domain.audit import AuditRecord
from tests.audit_chain import downgraded_chain, stored_records
from verify.conftest import Stack, record

ROW = "UPDATE audit_records SET key_id = :key_id, actor = :actor, prev_hash = :prev_hash, hash = :hash WHERE seq = :seq"


def tamper(stack: Stack, statement: str, rows: list[dict[str, object]] | None = None) -> None:
    """As the database's owner would: the append-only triggers switched off, the statement run."""
    url = make_url(stack.database_url).set(drivername="postgresql+psycopg")
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as db:
            db.execute(sa.text("ALTER TABLE audit_records DISABLE TRIGGER USER"))
            db.execute(sa.text(statement), rows or [{}])
            db.execute(sa.text("ALTER TABLE audit_records ENABLE TRIGGER USER"))
    finally:
        engine.dispose()


def row(rec: AuditRecord, **changes: object) -> dict[str, object]:
    stored = {"key_id": rec.key_id, "actor": rec.entry.actor, "prev_hash": rec.prev_hash, "hash": rec.hash}
    return {**stored, **changes, "seq": rec.seq}


def verify(stack: Stack, *argv: str) -> tuple[int, dict[str, object]]:
    code, out = stack.cli("audit", "verify", *argv)
    return code, json.loads(out)


def test_a_downgraded_or_truncated_chain_of_a_served_database_fails_audit_verify(stack: Stack, tmp_path: Path) -> None:
    stack.stop_all()  # nothing appends while the records are rewritten
    original = stored_records(stack.database_url)
    assert len(original) >= 3 and verify(stack)[0] == 0
    rewritten = downgraded_chain(original, edited_seq=2)  # key ids NULL, the chain recomputed as plain SHA-256
    tamper(
        stack, ROW, [row(r.record, key_id=None, actor=r.actor, prev_hash=r.prev_hash, hash=r.hash) for r in rewritten]
    )
    downgraded = verify(stack)
    assert downgraded[0] == 2 and downgraded[1]["fault"] == "downgraded", downgraded
    tamper(stack, ROW, [row(r) for r in original])
    assert verify(stack)[0] == 0  # put back as it was: the chain verifies again

    copy = tmp_path / "anchor-copy.json"
    copy.write_text((stack.data_dir / ANCHOR_FILE).read_text())
    last = original[-1].seq
    tamper(stack, f"DELETE FROM audit_records WHERE seq > {last - 2}")
    truncated = verify(stack)
    assert truncated[0] == 2 and truncated[1]["fault"] == "truncated", truncated
    tamper(stack, "DELETE FROM audit_records")
    (stack.data_dir / ANCHOR_FILE).unlink()  # the anchor beside the key removed as well: only a copy remembers
    emptied = verify(stack, "--anchor", str(copy))
    assert emptied[0] == 2 and emptied[1]["fault"] == "truncated" and emptied[1]["records"] == 0, emptied
    record("audit_tamper", records=len(original), downgraded="fails", truncated="fails", emptied_with_copy="fails")
