"""Audit records and their hash chain: each record carries the hash of the one before it, so an edited or
deleted record is detected."""

from __future__ import annotations

import hashlib
import json
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


@dataclass(frozen=True, slots=True)
class AuditRecord:
    seq: int
    entry: AuditEntry
    prev_hash: str
    hash: str


def _canonical(seq: int, entry: AuditEntry, prev_hash: str) -> bytes:
    body = {
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
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_hash(seq: int, entry: AuditEntry, prev_hash: str) -> str:
    return hashlib.sha256(_canonical(seq, entry, prev_hash)).hexdigest()


def chain(previous: AuditRecord | None, entry: AuditEntry) -> AuditRecord:
    """The record that follows `previous` (or starts the log)."""
    seq = 1 if previous is None else previous.seq + 1
    prev_hash = GENESIS_HASH if previous is None else previous.hash
    return AuditRecord(seq, entry, prev_hash, record_hash(seq, entry, prev_hash))


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """The outcome of a walk over the log. `last_seq` and `last_hash` name the chain's end: kept elsewhere, they
    reveal records cut off the end, which the chain alone cannot."""

    ok: bool
    records: int
    first_bad_seq: int | None
    last_seq: int | None = None
    last_hash: str | None = None


def verify_chain(records: Iterable[AuditRecord]) -> ChainCheck:
    """Walk the log in order: every seq follows the last, every record links to its predecessor's hash, and every
    hash matches its content."""
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    for record in records:
        count += 1
        if (
            record.seq != expected_seq
            or record.prev_hash != prev_hash
            or record.hash != record_hash(record.seq, record.entry, record.prev_hash)
        ):
            return ChainCheck(False, count, record.seq)
        expected_seq, prev_hash = record.seq + 1, record.hash
    return ChainCheck(True, count, None, expected_seq - 1 if count else None, prev_hash if count else None)
