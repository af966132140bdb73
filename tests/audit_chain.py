"""The audit chain as the tamper tests see it, on any SQL database (SQLite file or PostgreSQL): the stored records
read back, and the rewrite of someone with the database but not the key file."""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass

from adapters.sql import SqlStorage
from domain.audit import GENESIS_HASH, AuditRecord, unkeyed_hash


def stored_records(database_url: str) -> list[AuditRecord]:
    async def read() -> list[AuditRecord]:
        storage = SqlStorage(database_url)
        try:
            async with storage() as uow:
                return await uow.audit.all()
        finally:
            await storage.dispose()

    return asyncio.run(read())


@dataclass(frozen=True)
class Rewritten:
    record: AuditRecord
    actor: str
    prev_hash: str
    hash: str


def downgraded_chain(records: list[AuditRecord], edited_seq: int, actor: str = "mallory") -> list[Rewritten]:
    """Record `edited_seq` given another actor and the whole chain recomputed as plain SHA-256, as if it predated the
    key (the key ids are to be set NULL)."""
    prev, rewritten = GENESIS_HASH, []
    for record in records:
        entry = dataclasses.replace(record.entry, actor=actor) if record.seq == edited_seq else record.entry
        digest = unkeyed_hash(record.seq, entry, prev)
        rewritten.append(Rewritten(record, entry.actor, prev, digest))
        prev = digest
    return rewritten
