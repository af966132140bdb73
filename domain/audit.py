"""Audit records and their keyed hash chain: each record carries the hash of the one before it and an HMAC-SHA256
under the installation's audit key over every stored column, so an edited, inserted or deleted record is detected even
by someone who can write to the database but does not hold the key (docs/adr/0009-keyed-audit-chain.md). The key
can be rotated: each record names the key that signed it, and the retired keys are kept to check their own epoch
(docs/adr/0033-audit-key-rotation.md)."""

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
class AuditKeyring:
    """The installation's audit keys, oldest first (docs/adr/0033-audit-key-rotation.md): the last one signs new
    records; the earlier ones are retired and only check the records of their own epoch. Along the chain the epochs
    only move forward: a record signed with a retired key after one signed with a newer key is a forgery."""

    keys: tuple[AuditKey, ...]

    def __post_init__(self) -> None:
        ids = [key.key_id for key in self.keys]
        if not ids or len(set(ids)) != len(ids):
            raise ValueError("a keyring needs at least one key and no key twice")

    @property
    def current(self) -> AuditKey:
        return self.keys[-1]

    def epoch(self, key_id: str) -> int | None:
        """The place of the key named `key_id` in the ring (0: the oldest), None when the ring does not hold it."""
        return next((i for i, key in enumerate(self.keys) if key.key_id == key_id), None)

    def rotated(self, new: AuditKey) -> AuditKeyring:
        """This ring with `new` signing from now on, every key before it retired."""
        return AuditKeyring((*self.keys, new))


Keys = AuditKey | AuditKeyring


def keyring(keys: Keys) -> AuditKeyring:
    """A single key is a ring of one (an installation that never rotated)."""
    return keys if isinstance(keys, AuditKeyring) else AuditKeyring((keys,))


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
    def at(cls, keys: Keys, record: AuditRecord, previous: Anchor | None = None) -> Anchor:
        """The anchor at `record`, signed with the current key, keeping `previous`'s `keyed_since` when it is genuine
        under any key of the ring (a rotation re-signs the anchor and keeps it), else it starts here."""
        since = previous.keyed_since if previous is not None and previous.genuine(keys) else record.seq
        key = keyring(keys).current
        return cls(
            record.seq, record.hash, since, key.key_id, key.sign(cls._body(record.seq, record.hash, since, key.key_id))
        )

    def genuine(self, keys: Keys) -> bool:
        """Signed over what it says with the key of the ring its `key_id` names (a retired key included: a copy taken
        elsewhere before a rotation still checks the chain up to its head)."""
        ring = keyring(keys)
        epoch = ring.epoch(self.key_id)
        if epoch is None:
            return False
        expected = ring.keys[epoch].sign(self._body(self.seq, self.hash, self.keyed_since, self.key_id))
        return hmac.compare_digest(self.mac, expected)


class ChainFault(StrEnum):
    """Why a walk failed."""

    BROKEN = "broken"  # a record edited, inserted, deleted or moved, or signed with a key older than its epoch's
    UNKNOWN_KEY = "unknown_key"  # a record signed with a key the keyring does not hold
    DOWNGRADED = "downgraded"  # an unkeyed record where the anchor says the chain was keyed
    TRUNCATED = "truncated"  # the anchored head is gone: records cut off the end, or the whole log deleted
    ANCHOR_INVALID = "anchor_invalid"  # the anchor is unreadable or not signed with a key of the ring


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """The outcome of a walk over the log. `last_seq` and `last_hash` name the chain's end: kept elsewhere (the
    anchor), they reveal records cut off the end, which the chain alone cannot. `key_id` names the current key
    (retired keys checked the records of their epochs); `unkeyed_records` counts the records written before the
    chain had a key (they lead the chain, and the first keyed record's HMAC covers their last hash). `anchored_seq`
    is the anchor's head when one was checked."""

    ok: bool
    records: int
    first_bad_seq: int | None
    key_id: str
    unkeyed_records: int = 0
    last_seq: int | None = None
    last_hash: str | None = None
    fault: ChainFault | None = None
    anchored_seq: int | None = None


def _intact(record: AuditRecord, prev_hash: str, ring: AuditKeyring, epoch: int | None) -> bool:
    """`epoch`: the ring place of the last keyed record's key so far, None before the first keyed record."""
    if record.prev_hash != prev_hash or record.customer_id != record.entry.customer_id:
        return False
    if record.key_id is None:  # an unkeyed record is only accepted before the first keyed one
        return epoch is None and record.hash == unkeyed_hash(record.seq, record.entry, record.prev_hash)
    own = ring.epoch(record.key_id)
    if own is None or own < (epoch or 0):  # epochs only move forward: a retired key signs nothing after its successor
        return False
    return hmac.compare_digest(
        record.hash, keyed_hash(ring.keys[own], record.seq, record.entry, record.prev_hash, record.customer_id)
    )


def _fault(
    record: AuditRecord, expected_seq: int, prev_hash: str, ring: AuditKeyring, epoch: int | None, anchor: Anchor | None
) -> ChainFault | None:
    if record.key_id is not None and ring.epoch(record.key_id) is None:
        return ChainFault.UNKNOWN_KEY
    if record.seq != expected_seq or not _intact(record, prev_hash, ring, epoch):
        return ChainFault.BROKEN
    if anchor is None:
        return None
    if record.key_id is None and record.seq >= anchor.keyed_since:
        return ChainFault.DOWNGRADED
    if record.seq == anchor.seq and not hmac.compare_digest(record.hash, anchor.hash):
        return ChainFault.TRUNCATED  # the anchored record was replaced: the log was cut there and written anew
    return None


def verify_chain(records: Iterable[AuditRecord], keys: Keys, anchor: Anchor | None = None) -> ChainCheck:
    """Walk the log in order: every seq follows the last, every record links to its predecessor's hash, and every
    hash is the HMAC of its stored columns under the key of the ring it names (or, for the records before the chain
    had a key, their plain hash). A key the ring does not hold fails, and so does a retired key after a newer one.
    With an `anchor`, the log must also reach the anchored head unchanged and hold no unkeyed record from the anchor's
    `keyed_since` on."""
    ring = keyring(keys)
    key_id = ring.current.key_id
    forged = anchor is not None and not anchor.genuine(ring)
    if forged:
        anchor = None  # the walk goes on without it, and fails at the end if nothing else failed first
    anchored = None if anchor is None else anchor.seq
    expected_seq, prev_hash, count, unkeyed, epoch = 1, GENESIS_HASH, 0, 0, None
    for record in records:
        count += 1
        if (fault := _fault(record, expected_seq, prev_hash, ring, epoch, anchor)) is not None:
            return ChainCheck(False, count, record.seq, key_id, unkeyed, fault=fault, anchored_seq=anchored)
        unkeyed += record.key_id is None
        epoch = epoch if record.key_id is None else ring.epoch(record.key_id)
        expected_seq, prev_hash = record.seq + 1, record.hash
    last_seq, last_hash = (expected_seq - 1, prev_hash) if count else (None, None)
    if anchor is not None and (last_seq or 0) < anchor.seq:
        return ChainCheck(
            False, count, (last_seq or 0) + 1, key_id, unkeyed, last_seq, last_hash, ChainFault.TRUNCATED, anchored
        )
    fault = ChainFault.ANCHOR_INVALID if forged else None
    return ChainCheck(not forged, count, None, key_id, unkeyed, last_seq, last_hash, fault, anchored)
