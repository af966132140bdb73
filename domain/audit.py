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
class ChainCheck:
    """The outcome of a walk over the log. `last_seq` and `last_hash` name the chain's end: kept elsewhere, they
    reveal records cut off the end, which the chain alone cannot. `key_id` names the key that checked it;
    `unkeyed_records` counts the records written before the chain had a key (they lead the chain, and the first keyed
    record's HMAC covers their last hash)."""

    ok: bool
    records: int
    first_bad_seq: int | None
    key_id: str
    unkeyed_records: int = 0
    last_seq: int | None = None
    last_hash: str | None = None


def _intact(record: AuditRecord, prev_hash: str, key: AuditKey, keyed_seen: bool) -> bool:
    if record.prev_hash != prev_hash or record.customer_id != record.entry.customer_id:
        return False
    if record.key_id is None:  # an unkeyed record is only accepted before the first keyed one
        return not keyed_seen and record.hash == unkeyed_hash(record.seq, record.entry, record.prev_hash)
    return record.key_id == key.key_id and hmac.compare_digest(
        record.hash, keyed_hash(key, record.seq, record.entry, record.prev_hash, record.customer_id)
    )


def verify_chain(records: Iterable[AuditRecord], key: AuditKey) -> ChainCheck:
    """Walk the log in order: every seq follows the last, every record links to its predecessor's hash, and every
    hash is the HMAC of its stored columns under `key` (or, for the records before the chain had a key, their plain
    hash). A record signed with another key fails: it cannot be checked with this one."""
    expected_seq, prev_hash, count, unkeyed = 1, GENESIS_HASH, 0, 0
    for record in records:
        count += 1
        if record.seq != expected_seq or not _intact(record, prev_hash, key, count > unkeyed + 1):
            return ChainCheck(False, count, record.seq, key.key_id, unkeyed)
        unkeyed += record.key_id is None
        expected_seq, prev_hash = record.seq + 1, record.hash
    return ChainCheck(
        True, count, None, key.key_id, unkeyed, expected_seq - 1 if count else None, prev_hash if count else None
    )
