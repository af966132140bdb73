"""The audit log on the wire: its records, a page of them, and the chain's verification."""

from __future__ import annotations

from typing import Any

from msgspec import Struct

from domain.audit import ChainFault, Outcome


class AuditRecordOut(Struct):
    seq: int
    at: str
    actor: str
    actor_role: str
    action: str
    target_type: str
    target_id: str
    outcome: Outcome
    details: dict[str, Any]
    prev_hash: str
    hash: str


class AuditPage(Struct):
    items: list[AuditRecordOut]
    next_cursor: str | None


class VerifyOut(Struct):
    ok: bool
    records: int
    first_bad_seq: int | None
    last_seq: int | None
    last_hash: str | None
    key_id: str
    """The fingerprint of the current audit key (never the key); retired keys checked the records of their epoch."""
    unkeyed_records: int
    """Records written before the chain had a key, checked by their plain hash (they lead the chain)."""
    fault: ChainFault | None = None
    """Why the check failed: a record edited, inserted, deleted or moved, or signed with a retired key after a newer
    one; a record signed with a key the installation does not hold; an unkeyed record where the anchor says the chain
    was keyed; the anchored head gone (records cut off the end, or the log deleted); an anchor that is unreadable or
    not signed with a key the installation holds."""
    anchored_seq: int | None = None
    """The head of the anchor kept outside the database that the chain was checked against (None: no anchor)."""
