"""Audit key rotation (docs/adr/0033-audit-key-rotation.md): each record is checked with the key of its epoch, epochs
only move forward, and what the holder of a retired key can and cannot forge."""

from __future__ import annotations

from dataclasses import replace

import pytest

from adapters.audit_key import HeldAuditKeys
from adapters.memory import MemoryStore
from application.errors import Forbidden, KeyRotationUnavailable
from application.use_cases.audit_log import RotateAuditKey, VerifyAudit
from domain.audit import (
    Anchor,
    AuditEntry,
    AuditKey,
    AuditKeyring,
    AuditRecord,
    ChainFault,
    Outcome,
    chain,
    verify_chain,
)
from domain.roles import Actor, Role
from tests.support import ADMIN, OPERATOR, T0, UseCaseWorld

OLD, NEW = AuditKey(b"o" * 32), AuditKey(b"n" * 32)
RING = AuditKeyring((OLD, NEW))


def entry(n: int) -> AuditEntry:
    return AuditEntry.of(Actor("oscar", Role.OPERATOR), T0, "ticket.create", ("run", f"run-{n}"), Outcome.OK, n=n)


def signed(records: list[AuditRecord], key: AuditKey, *numbers: int) -> list[AuditRecord]:
    """`records` followed by one record per number, signed with `key`."""
    out = [*records]
    for n in numbers:
        out.append(chain(out[-1] if out else None, entry(n), key))
    return out


ROTATED = signed(signed([], OLD, 1, 2, 3), NEW, 4, 5)  # three records of the old epoch, two of the new


def test_each_record_is_checked_with_the_key_of_its_epoch() -> None:
    check = verify_chain(ROTATED, RING)
    assert (check.ok, check.records, check.key_id) == (True, 5, NEW.key_id)
    assert [r.key_id for r in ROTATED] == [OLD.key_id] * 3 + [NEW.key_id] * 2
    alone = verify_chain(ROTATED, NEW)  # the retired key was lost: its records cannot be checked
    assert (alone.ok, alone.fault, alone.first_bad_seq) == (False, ChainFault.UNKNOWN_KEY, 1)
    old_only = verify_chain(ROTATED, OLD)  # a process that never learned the new key
    assert (old_only.fault, old_only.first_bad_seq) == (ChainFault.UNKNOWN_KEY, 4)


def test_a_retired_key_signs_nothing_after_its_successor() -> None:
    """The holder of the old key appends a record (or replaces the newest) signed with it: the epochs went back."""
    appended = signed(ROTATED, OLD, 6)
    check = verify_chain(appended, RING)
    assert (check.ok, check.fault, check.first_bad_seq) == (False, ChainFault.BROKEN, 6)
    replaced = signed(ROTATED[:4], OLD, 5)
    assert verify_chain(replaced, RING).first_bad_seq == 5


def test_an_old_key_rewrites_its_epoch_only_by_breaking_the_next_one() -> None:
    """Records of the old epoch edited and recomputed with the old key: the first record of the new epoch signed
    the old head's hash, and recomputing it needs the new key."""
    forged = [ROTATED[0]]
    for record in ROTATED[1:3]:
        content = replace(record.entry, actor="mallory") if record.seq == 2 else record.entry
        forged.append(chain(forged[-1], content, OLD))
    check = verify_chain([*forged, *ROTATED[3:]], RING)
    assert (check.ok, check.fault, check.first_bad_seq) == (False, ChainFault.BROKEN, 4)


def test_cutting_the_new_epoch_off_is_caught_by_the_anchor_the_rotation_re_signed() -> None:
    """Without the anchor, a log cut back to the old epoch and continued with the old key is a valid chain; the
    anchor (signed with the new key after the rotation) still names the head that was cut."""
    first = Anchor.at(AuditKeyring((OLD,)), ROTATED[0])
    anchor = Anchor.at(RING, ROTATED[-1], first)
    assert (anchor.key_id, anchor.keyed_since, anchor.seq) == (NEW.key_id, 1, 5)  # re-signed, keyed_since kept
    assert verify_chain(ROTATED, RING, anchor).ok and verify_chain(ROTATED, RING, first).ok  # an old copy checks too
    continued = signed(ROTATED[:3], OLD, 40, 50)
    assert verify_chain(continued, RING).ok
    check = verify_chain(continued, RING, anchor)
    assert (check.ok, check.fault, check.first_bad_seq) == (False, ChainFault.TRUNCATED, 5)


def test_an_anchor_signed_with_an_unknown_key_is_invalid() -> None:
    stranger = AuditKey(b"s" * 32)
    check = verify_chain(ROTATED, RING, Anchor.at(stranger, ROTATED[-1]))
    assert (check.ok, check.fault) == (False, ChainFault.ANCHOR_INVALID)
    forged = replace(Anchor.at(RING, ROTATED[-1]), key_id=OLD.key_id)  # claims the old key, signed with the new
    assert verify_chain(ROTATED, RING, forged).fault is ChainFault.ANCHOR_INVALID


def test_a_keyring_holds_each_key_once_and_rotates_forward() -> None:
    assert RING.current == NEW and RING.epoch(OLD.key_id) == 0 and RING.epoch("0" * 16) is None
    assert AuditKeyring((OLD,)).rotated(NEW) == RING
    with pytest.raises(ValueError):
        AuditKeyring((OLD, OLD))
    with pytest.raises(ValueError):
        AuditKeyring(())


async def test_rotating_the_key_is_audited_by_key_ids_and_the_old_records_still_verify() -> None:
    store = MemoryStore()
    world = UseCaseWorld(uow=store)
    async with store() as uow:
        await uow.audit.append(entry(1))
        await uow.commit()
    old_id = store.audit_keys.ring().current.key_id
    rotation = await RotateAuditKey(world.deps).execute(ADMIN)
    assert (rotation.retired_key_id, rotation.keys) == (old_id, 2) and rotation.key_id != old_id
    record = store.audit[-1]
    assert (record.entry.action, record.key_id, dict(record.entry.details)) == (
        "audit.rotate_key",
        rotation.key_id,
        {"key_id": rotation.key_id, "retired_key_id": old_id},
    )
    check = await VerifyAudit(world.deps).execute(ADMIN)
    assert (check.ok, check.records, check.key_id) == (True, 2, rotation.key_id)
    secrets = {key.secret.hex() for key in store.audit_keys.ring().keys}
    assert not any(s in repr(r) for r in store.audit for s in secrets)  # key ids only, never key material


async def test_only_an_admin_rotates_and_a_passphrase_key_is_rotated_in_the_environment() -> None:
    store = MemoryStore(audit_keys=HeldAuditKeys(OLD, rotatable=False))
    world = UseCaseWorld(uow=store)
    with pytest.raises(Forbidden):
        await RotateAuditKey(world.deps).execute(OPERATOR)
    with pytest.raises(KeyRotationUnavailable):
        await RotateAuditKey(world.deps).execute(ADMIN)
    assert store.audit_keys.ring().keys == (OLD,)
    assert [(r.entry.action, r.entry.outcome, r.entry.details.get("code")) for r in store.audit] == [
        ("audit.rotate_key", Outcome.DENIED, "forbidden"),
        ("audit.rotate_key", Outcome.DENIED, "key_rotation_unavailable"),
    ]
