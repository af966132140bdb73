"""Audit key rotation across processes (docs/adr/0033-audit-key-rotation.md): a process that started before the
rotation signs its next record with the new key (it reads the key file again when the chain's head names a key it
does not hold), and a process that cannot learn the new key appends nothing; the chain verifies either way."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import cast

import pytest

from adapters.audit_anchor import FileAnchor, read_anchor
from adapters.audit_key import FileAuditKeys
from adapters.sql import SqlStorage
from application.errors import AuditKeyUnknown
from domain.audit import verify_chain
from tests.contract.storage import samples as s
from tests.storage_backends import CONTRACT_SQL_BACKENDS, backend_params, storage_backend


@pytest.mark.parametrize("name", backend_params(CONTRACT_SQL_BACKENDS))
async def test_a_process_started_before_the_rotation_signs_with_the_new_key_or_not_at_all(
    name: str, tmp_path: Path
) -> None:
    host, elsewhere = tmp_path / "host", tmp_path / "elsewhere"
    host.mkdir()
    elsewhere.mkdir()
    rotating, stale = FileAuditKeys(host / "audit.key"), FileAuditKeys(host / "audit.key")  # two processes, one file
    shutil.copy(host / "audit.key", elsewhere / "audit.key")  # another host that never gets the new key file
    old = rotating.ring().current
    async with storage_backend(name) as template:
        url = cast(SqlStorage, template).url
        a = SqlStorage(url, rotating, FileAnchor(host / "audit.anchor", rotating))
        b = SqlStorage(url, stale, FileAnchor(host / "audit.anchor", stale))
        c = SqlStorage(url, FileAuditKeys(elsewhere / "audit.key"))
        try:
            async with b() as uow:
                await uow.audit.append(s.entry(1))
                await uow.commit()
            async with a() as uow:
                new = (await uow.audit.rotate_key()).current
                await uow.audit.append(s.entry(2, action="audit.rotate_key"))
                await uow.commit()
            assert stale.ring().current == old  # it has not looked yet
            async with b() as uow:
                record = await uow.audit.append(s.entry(3))
                await uow.commit()
            assert record.key_id == new.key_id and stale.ring().current == new
            async with c() as uow:
                with pytest.raises(AuditKeyUnknown):
                    await uow.audit.append(s.entry(4))
            async with a(read_only=True) as uow:
                records = await uow.audit.all()
        finally:
            for storage in (a, b, c):
                await storage.dispose()
    anchor = read_anchor(host / "audit.anchor")
    assert [r.key_id for r in records] == [old.key_id, new.key_id, new.key_id]
    assert anchor is not None and (anchor.seq, anchor.key_id, anchor.keyed_since) == (3, new.key_id, 1)
    assert verify_chain(records, FileAuditKeys(host / "audit.key").ring(), anchor).ok
    assert (host / "audit.key").read_text().split() == [old.secret.hex(), new.secret.hex()]
