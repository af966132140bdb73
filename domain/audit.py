"""Audit records and their keyed hash chain: each record carries the hash of the one before it and an HMAC-SHA256
under the installation's audit key over every stored column, so an edited, inserted or deleted record is detected even
by someone who can write to the database but does not hold the key (docs/adr/0009-keyed-audit-chain.md)."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from domain.roles import Actor

GENESIS_HASH = "0" * 64

JsonScalar = str | int | float | bool | None


class Outcome(StrEnum):
    OK = "ok"
    DENIED = "denied"
    FAILED = "failed"


def _frozen(details: Mapping[str, JsonScalar]) -> Mapping[str, JsonScalar]:
    return MappingProxyType(dict(details))


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """What happened, before it takes its place in the chain."""

    at: datetime
    actor: str
    actor_role: str
    action: str
    target_type: str
    target_id: str
    outcome: Outcome
    details: Mapping[str, JsonScalar] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "details", _frozen(self.details))

    @classmethod
    def of(
        cls,
        actor: Actor,
        at: datetime,
        action: str,
        target: tuple[str, str],
        outcome: Outcome,
        **details: JsonScalar,
    ) -> AuditEntry:
        return cls(at, actor.name, actor.role.value, action, target[0], target[1], outcome, details)

    @property
    def customer_id(self) -> str | None:
        """details["customer_id"] when it is a string: stored beside the record for the customer filter."""
        value = self.details.get("customer_id")
        return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class AuditKey:
    """The installation's audit key. Only its id (a fingerprint) is ever shown or stored, never the key."""

    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) < 32:
            raise ValueError("an audit key needs at least 32 bytes")

    @classmethod
    def generate(cls) -> AuditKey:
        return cls(secrets.token_bytes(32))

    @property
    def key_id(self) -> str:
        return hashlib.sha256(b"backupchecks-audit-key-id:" + self.secret).hexdigest()[:16]

    def sign(self, body: bytes) -> str:
        return hmac.new(self.secret, body, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """A record in the chain. `key_id` names the key whose HMAC `hash` is; None for a record written before the
    chain had a key (plain SHA-256, see ADR 0009). `customer_id` is the stored filter column."""

    seq: int
    entry: AuditEntry
    prev_hash: str
    hash: str
    key_id: str | None = None
    customer_id: str | None = None


def _body(seq: int, entry: AuditEntry, prev_hash: str) -> dict[str, object]:
    return {
        "seq": seq,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "actor_role": entry.actor_role,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "outcome": entry.outcome.value,
        "details": dict(entry.details),
        "prev_hash": prev_hash,
    }


def _canonical(body: dict[str, object]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def unkeyed_hash(seq: int, entry: AuditEntry, prev_hash: str) -> str:
    """The hash of a record written before the chain had a key (plain SHA-256, its stored columns but the filter)."""
    return hashlib.sha256(_canonical(_body(seq, entry, prev_hash))).hexdigest()


def keyed_hash(key: AuditKey, seq: int, entry: AuditEntry, prev_hash: str, customer_id: str | None) -> str:
    """HMAC-SHA256 over every stored column: the entry, seq, prev_hash, the customer filter column and the key id."""
    body = _body(seq, entry, prev_hash) | {"details_customer_id": customer_id, "key_id": key.key_id}
    return key.sign(_canonical(body))


def chain(previous: AuditRecord | None, entry: AuditEntry, key: AuditKey) -> AuditRecord:
    """The record that follows `previous` (or starts the log), signed with `key`."""
    seq = 1 if previous is None else previous.seq + 1
    prev_hash = GENESIS_HASH if previous is None else previous.hash
    customer_id = entry.customer_id
    return AuditRecord(
        seq, entry, prev_hash, keyed_hash(key, seq, entry, prev_hash, customer_id), key.key_id, customer_id
    )


@dataclass(frozen=True, slots=True)
class Anchor:
    """The chain's head as last seen by this installation, kept outside the database and signed with the audit key
    (docs/adr/0028-audit-anchor.md): the log must still hold record `seq` with `hash` (else records were cut off the
    end or the log deleted), and no record from `keyed_since` on may be unkeyed (else the chain was downgraded to plain
    SHA-256 and rewritten). Without the key an anchor can be deleted, not forged or moved."""

    seq: int
    hash: str
    keyed_since: int
    key_id: str
    mac: str

    @staticmethod
    def _body(seq: int, hash_: str, keyed_since: int, key_id: str) -> bytes:
        return _canonical({"anchor_seq": seq, "hash": hash_, "keyed_since": keyed_since, "key_id": key_id})

    @classmethod
    def at(cls, key: AuditKey, record: AuditRecord, previous: Anchor | None = None) -> Anchor:
        """The anchor at `record`, keeping `previous`'s `keyed_since` when it is genuine (else it starts here)."""
        since = previous.keyed_since if previous is not None and previous.genuine(key) else record.seq
        return cls(
            record.seq, record.hash, since, key.key_id, key.sign(cls._body(record.seq, record.hash, since, key.key_id))
        )

    def genuine(self, key: AuditKey) -> bool:
        """Signed with `key` over what it says."""
        expected = key.sign(self._body(self.seq, self.hash, self.keyed_since, self.key_id))
        return self.key_id == key.key_id and hmac.compare_digest(self.mac, expected)


class ChainFault(StrEnum):
    """Why a walk failed."""

    BROKEN = "broken"  # a record edited, inserted, deleted or moved, or signed with another key
    DOWNGRADED = "downgraded"  # an unkeyed record where the anchor says the chain was keyed
    TRUNCATED = "truncated"  # the anchored head is gone: records cut off the end, or the whole log deleted
    ANCHOR_INVALID = "anchor_invalid"  # the anchor is unreadable or not signed with this key


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """The outcome of a walk over the log. `last_seq` and `last_hash` name the chain's end: kept elsewhere (the
    anchor), they reveal records cut off the end, which the chain alone cannot. `key_id` names the key that checked
    it; `unkeyed_records` counts the records written before the chain had a key (they lead the chain, and the first
    keyed record's HMAC covers their last hash). `anchored_seq` is the anchor's head when one was checked."""

    ok: bool
    records: int
    first_bad_seq: int | None
    key_id: str
    unkeyed_records: int = 0
    last_seq: int | None = None
    last_hash: str | None = None
    fault: ChainFault | None = None
    anchored_seq: int | None = None


def _intact(record: AuditRecord, prev_hash: str, key: AuditKey, keyed_seen: bool) -> bool:
    if record.prev_hash != prev_hash or record.customer_id != record.entry.customer_id:
        return False
    if record.key_id is None:  # an unkeyed record is only accepted before the first keyed one
        return not keyed_seen and record.hash == unkeyed_hash(record.seq, record.entry, record.prev_hash)
    return record.key_id == key.key_id and hmac.compare_digest(
        record.hash, keyed_hash(key, record.seq, record.entry, record.prev_hash, record.customer_id)
    )


def _fault(
    record: AuditRecord, expected_seq: int, prev_hash: str, key: AuditKey, keyed_seen: bool, anchor: Anchor | None
) -> ChainFault | None:
    if record.seq != expected_seq or not _intact(record, prev_hash, key, keyed_seen):
        return ChainFault.BROKEN
    if anchor is None:
        return None
    if record.key_id is None and record.seq >= anchor.keyed_since:
        return ChainFault.DOWNGRADED
    if record.seq == anchor.seq and not hmac.compare_digest(record.hash, anchor.hash):
        return ChainFault.TRUNCATED  # the anchored record was replaced: the log was cut there and written anew
    return None


def verify_chain(records: Iterable[AuditRecord], key: AuditKey, anchor: Anchor | None = None) -> ChainCheck:
    """Walk the log in order: every seq follows the last, every record links to its predecessor's hash, and every
    hash is the HMAC of its stored columns under `key` (or, for the records before the chain had a key, their plain
    hash). A record signed with another key fails: it cannot be checked with this one. With an `anchor`, the log must
    also reach the anchored head unchanged and hold no unkeyed record from the anchor's `keyed_since` on."""
    forged = anchor is not None and not anchor.genuine(key)
    if forged:
        anchor = None  # the walk goes on without it, and fails at the end if nothing else failed first
    anchored = None if anchor is None else anchor.seq
    expected_seq, prev_hash, count, unkeyed = 1, GENESIS_HASH, 0, 0
    for record in records:
        count += 1
        if (fault := _fault(record, expected_seq, prev_hash, key, count > unkeyed + 1, anchor)) is not None:
            return ChainCheck(False, count, record.seq, key.key_id, unkeyed, fault=fault, anchored_seq=anchored)
        unkeyed += record.key_id is None
        expected_seq, prev_hash = record.seq + 1, record.hash
    last_seq, last_hash = (expected_seq - 1, prev_hash) if count else (None, None)
    if anchor is not None and (last_seq or 0) < anchor.seq:
        return ChainCheck(
            False, count, (last_seq or 0) + 1, key.key_id, unkeyed, last_seq, last_hash, ChainFault.TRUNCATED, anchored
        )
    fault = ChainFault.ANCHOR_INVALID if forged else None
    return ChainCheck(not forged, count, None, key.key_id, unkeyed, last_seq, last_hash, fault, anchored)
