"""The audit log for admins: query it with filters page by page, export it (CSV or JSON lines), verify its chain,
rotate its key (docs/adr/0033-audit-key-rotation.md)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from application.attempts import Attempt
from application.deps import Deps, UseCase
from application.ports import AuditQuery
from domain.audit import Anchor, AuditRecord, ChainCheck, ChainFault, verify_chain
from domain.roles import Actor, Permission

COLUMNS = (
    "seq",
    "at",
    "actor",
    "actor_role",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "details",
    "prev_hash",
    "hash",
)
EXPORT_PAGE = 500


class ExportFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


def record_fields(record: AuditRecord) -> dict[str, Any]:
    """One record as plain values (times in ISO 8601 UTC with a Z)."""
    e = record.entry
    return {
        "seq": record.seq,
        "at": e.at.isoformat().replace("+00:00", "Z"),
        "actor": e.actor,
        "actor_role": e.actor_role,
        "action": e.action,
        "target_type": e.target_type,
        "target_id": e.target_id,
        "outcome": e.outcome.value,
        "details": dict(e.details),
        "prev_hash": record.prev_hash,
        "hash": record.hash,
    }


class QueryAudit(UseCase):
    async def execute(self, actor: Actor, query: AuditQuery) -> list[AuditRecord]:
        await Attempt(self.deps, actor, "audit.query", ("audit", "*")).authorized(Permission.ADMINISTER)
        async with self.deps.uow(read_only=True) as uow:
            return await uow.audit.query(query)


class ExportAudit(UseCase):
    """Every record matching the filters (the query's limit is the page size, not a cap), as text lines."""

    async def execute(self, actor: Actor, query: AuditQuery, fmt: ExportFormat) -> AsyncIterator[str]:
        action, target = "audit.export", ("audit", "*")
        attempt = Attempt(self.deps, actor, action, target)
        await attempt.authorized(Permission.ADMINISTER)
        async with self.deps.uow() as uow:
            await attempt.record(uow, format=fmt.value)
            await uow.commit()
        return self._lines(replace(query, limit=EXPORT_PAGE), fmt)

    async def _lines(self, query: AuditQuery, fmt: ExportFormat) -> AsyncIterator[str]:
        """One chunk of lines per batch of records (not one per line: far fewer writes to the client)."""
        if fmt is ExportFormat.CSV:
            yield _csv_line(COLUMNS)
        async for batch in batches(self.deps, query):
            if fmt is ExportFormat.CSV:
                yield "".join(_csv_line([_csv_cell(row[c]) for c in COLUMNS]) for row in map(record_fields, batch))
            else:
                yield "".join(
                    json.dumps(record_fields(r), ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n"
                    for r in batch
                )


async def batches(deps: Deps, query: AuditQuery) -> AsyncGenerator[list[AuditRecord], None]:
    """Every record matching `query`, in seq order, in keyset batches of `query.limit`, each read in a read-only unit
    of work of its own that is closed before the batch is handed on: memory stays flat however long the log, and a
    slow consumer holds no transaction open. The log is append-only, so the batches join into one consistent walk."""
    while True:
        async with deps.uow(read_only=True) as uow:
            page = await uow.audit.query(query)
        if page:
            yield page
        if len(page) < query.limit:
            return
        query = replace(query, after_seq=page[-1].seq)


def _blocking(
    source: AsyncGenerator[list[AuditRecord], None], loop: asyncio.AbstractEventLoop, stop: threading.Event
) -> Iterator[AuditRecord]:
    """The records of `source`'s batches as a plain iterator for a worker thread: each batch is read on the event
    loop."""
    while not stop.is_set():
        try:
            yield from asyncio.run_coroutine_threadsafe(source.__anext__(), loop).result()
        except StopAsyncIteration:
            return


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    """A cell as a spreadsheet shows it, never as a formula (OWASP's CSV injection advice): text that starts like one
    (a sign-in username typed by anyone, say) gets a leading apostrophe. The JSON export keeps every value as is."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False) if isinstance(value, dict) else value
    return "'" + text if isinstance(text, str) and text.startswith(FORMULA_PREFIXES) else text


def _csv_line(cells: Any) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()


class VerifyAudit(UseCase):
    async def execute(self, actor: Actor, anchor: Anchor | None = None) -> ChainCheck:
        """Walk the chain, checked against `anchor` when given, else against the installation's own anchor when it
        keeps one. The anchor is read before the walk: records appended meanwhile only lengthen the chain."""
        await Attempt(self.deps, actor, "audit.verify", ("audit", "*")).authorized(Permission.ADMINISTER)
        async with self.deps.uow(read_only=True) as uow:
            keys, kept = uow.audit.keys.reload(), uow.audit.anchor  # read again: another process may have rotated
        unreadable = False
        if anchor is None and kept is not None:
            try:
                anchor = kept.read()
            except ValueError:
                unreadable = True
        # The hashing runs in a worker thread (the event loop keeps serving), fed batch by batch. No unit of work stays
        # open between batches, so a walk cut short (a broken link, a cancelled request) leaves nothing behind.
        source, stop = batches(self.deps, AuditQuery(limit=EXPORT_PAGE)), threading.Event()
        try:
            records = _blocking(source, asyncio.get_running_loop(), stop)
            check = await asyncio.to_thread(verify_chain, records, keys, anchor)
        finally:
            stop.set()
        return replace(check, ok=False, fault=ChainFault.ANCHOR_INVALID) if unreadable and check.ok else check


@dataclass(frozen=True, slots=True)
class KeyRotation:
    """The key ids (fingerprints, never keys) after a rotation: `key_id` signs from now on, `retired_key_id` signed
    until now, `keys` is how many the ring holds."""

    key_id: str
    retired_key_id: str
    keys: int


class RotateAuditKey(UseCase):
    async def execute(self, actor: Actor) -> KeyRotation:
        """A new key for the records from now on; the old ones stay to check theirs. The rotation's own record is the
        first one the new key signs, and its commit re-signs the anchor with the new key."""
        attempt = Attempt(self.deps, actor, "audit.rotate_key", ("audit", "*"))
        async with attempt:
            attempt.authorize(Permission.ADMINISTER)
            async with self.deps.uow() as uow:
                ring = await uow.audit.rotate_key()
                rotation = KeyRotation(ring.current.key_id, ring.keys[-2].key_id, len(ring.keys))
                await attempt.record(uow, key_id=rotation.key_id, retired_key_id=rotation.retired_key_id)
                await uow.commit()
        return rotation
