"""`audit verify` and the exports walk the log in keyset batches (one read-only unit of work each), on every backend."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from adapters.memory import MemoryStore
from application.deps import Deps
from application.ports import AuditQuery, UnitOfWork, UnitOfWorkFactory
from application.use_cases.audit_log import EXPORT_PAGE, ExportAudit, ExportFormat, VerifyAudit
from domain.audit import AuditEntry, AuditRecord, Outcome
from tests.storage_backends import backend_params, storage_backend
from tests.support import ADMIN, T0, UseCaseWorld

RECORDS = 2 * EXPORT_PAGE + 7


@pytest.fixture(params=backend_params())
async def world(request: pytest.FixtureRequest) -> AsyncIterator[UseCaseWorld]:
    async with storage_backend(request.param) as storage:
        world = UseCaseWorld(uow=storage)
        async with world.uow() as uow:
            for n in range(RECORDS):
                await uow.audit.append(AuditEntry(T0, "alice", "admin", "run.put", "run", f"r-{n}", Outcome.OK, {}))
            await uow.commit()
        yield world


class CountingUow:
    """The store's units of work, counting the records each audit query answered."""

    def __init__(self, inner: UnitOfWorkFactory) -> None:
        self.inner = inner
        self.batches: list[int] = []

    @asynccontextmanager
    async def __call__(self, *, read_only: bool = False) -> AsyncIterator[UnitOfWork]:
        async with self.inner(read_only=read_only) as uow:
            query = uow.audit.query

            async def counted(q: AuditQuery) -> list[AuditRecord]:
                found = await query(q)
                self.batches.append(len(found))
                return found

            uow.audit.query = counted  # type: ignore[method-assign,assignment]  # this unit of work's audit counts its answers
            yield uow

    def deps(self, deps: Deps) -> Deps:
        """`deps` with these units of work: entered with `async with`, which is all a use case does with one."""
        return dataclasses.replace(deps, uow=self)  # type: ignore[arg-type]  # a context manager, not a UnitOfWork


async def test_verify_walks_the_whole_chain_in_batches(world: UseCaseWorld) -> None:
    counting = CountingUow(world.uow)
    check = await VerifyAudit(counting.deps(world.deps)).execute(ADMIN)
    assert (check.ok, check.records, check.last_seq) == (True, RECORDS, RECORDS)
    assert counting.batches == [EXPORT_PAGE, EXPORT_PAGE, 7]


async def test_verify_finds_a_broken_link_past_the_first_batch(world: UseCaseWorld) -> None:
    if not isinstance(world.uow, MemoryStore):
        pytest.skip("the SQL stores refuse edits (triggers); the memory store shows the walk")
    bad = EXPORT_PAGE + 3
    record = world.uow.audit[bad - 1]
    world.uow.audit[bad - 1] = dataclasses.replace(record, entry=dataclasses.replace(record.entry, actor="mallory"))
    check = await VerifyAudit(world.deps).execute(ADMIN)
    assert (check.ok, check.first_bad_seq) == (False, bad)


async def test_the_export_streams_every_record_batch_by_batch(world: UseCaseWorld) -> None:
    counting = CountingUow(world.uow)
    lines = await ExportAudit(counting.deps(world.deps)).execute(ADMIN, AuditQuery(), ExportFormat.JSONL)
    chunks = [chunk async for chunk in lines]
    assert len(chunks) == 3  # one chunk of lines per batch
    records = [json.loads(line) for line in "".join(chunks).splitlines()]
    assert [r["seq"] for r in records] == list(range(1, RECORDS + 2))  # and the export's own record, committed first
    assert counting.batches == [EXPORT_PAGE, EXPORT_PAGE, 8]
