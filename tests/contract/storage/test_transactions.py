"""The unit of work: commit keeps, anything else rolls back, audit records included."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from adapters.audit_anchor import read_anchor
from application.ports import UnitOfWork, UnitOfWorkFactory
from domain.audit import verify_chain
from tests.contract.storage import samples as s
from tests.storage_backends import CONTRACT_BACKENDS, backend_params, storage_backend


class Boom(Exception):
    pass


async def write_everything(uow: UnitOfWork, n: int = 1) -> None:
    await uow.customers.save(s.customer(f"c-{n}"))
    await uow.runs.save(s.run(f"r-{n}"))
    await uow.mappings.save(s.full_mapping(f"c-{n}"))
    await uow.tickets.reserve(s.pending_link(f"r-{n}"))
    await uow.users.add(s.user(f"u-{n}", f"user-{n}"))
    await uow.settings.save(dataclasses.replace(await uow.settings.get(), api_username=f"api-{n}"))
    await uow.audit.append(s.entry(n))


async def assert_nothing_of(uow_factory: UnitOfWorkFactory, n: int) -> None:
    async with uow_factory() as uow:
        assert await uow.customers.get(f"c-{n}") is None
        assert await uow.runs.get(f"r-{n}") is None
        assert await uow.mappings.get(f"c-{n}") is None
        assert await uow.tickets.get(f"r-{n}") is None
        assert await uow.users.by_username(f"user-{n}") is None
        assert (await uow.settings.get()).api_username != f"api-{n}"
        assert all(r.entry != s.entry(n) for r in await uow.audit.all())


async def test_a_unit_of_work_that_fails_halfway_leaves_nothing(uow_factory: UnitOfWorkFactory) -> None:
    with pytest.raises(Boom):
        async with uow_factory() as uow:
            await write_everything(uow)
            raise Boom
    await assert_nothing_of(uow_factory, 1)
    async with uow_factory() as uow:
        assert await uow.audit.all() == []


async def test_leaving_without_commit_rolls_back(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await write_everything(uow)
    await assert_nothing_of(uow_factory, 1)


async def test_explicit_rollback_discards_and_the_unit_of_work_goes_on(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await write_everything(uow, 1)
        await uow.rollback()
        await write_everything(uow, 2)
        await uow.commit()
    await assert_nothing_of(uow_factory, 1)
    async with uow_factory() as uow:
        assert await uow.customers.get("c-2") == s.customer("c-2")
        records = await uow.audit.all()
    assert [r.seq for r in records] == [1] and verify_chain(records, uow.audit.keys.ring()).ok


async def test_commit_keeps_everything_and_later_writes_need_their_own_commit(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await write_everything(uow, 1)
        await uow.commit()
        assert getattr(uow, "committed", True)
        await write_everything(uow, 2)
    await assert_nothing_of(uow_factory, 2)
    async with uow_factory() as uow:
        assert await uow.customers.get("c-1") == s.customer("c-1")
        assert await uow.runs.get("r-1") == s.run("r-1")
        assert await uow.mappings.get("c-1") == s.full_mapping("c-1")
        assert await uow.tickets.get("r-1") == s.pending_link("r-1")
        assert await uow.users.by_username("user-1") == s.user("u-1", "user-1")
        assert (await uow.settings.get()).api_username == "api-1"
        assert [r.entry for r in await uow.audit.all()] == [s.entry(1)]


async def test_a_unit_of_work_can_be_used_again(uow_factory: UnitOfWorkFactory) -> None:
    uow = uow_factory()
    async with uow:
        await uow.customers.save(s.customer("c-1"))
        await uow.commit()
    async with uow:
        assert await uow.customers.get("c-1") == s.customer("c-1")


async def open_connections(uow_factory: UnitOfWorkFactory) -> int:
    """Connections the store has handed out and not taken back (0 for the memory store, which has none)."""
    engine = getattr(uow_factory, "engine", None)
    return 0 if engine is None else engine.pool.checkedout()


async def test_a_cancelled_unit_of_work_rolls_back_and_returns_its_connection(uow_factory: UnitOfWorkFactory) -> None:
    holding, done = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with uow_factory() as uow:
            await uow.tickets.reserve(s.pending_link("r-1", actor="holder"))
            holding.set()
            await done.wait()
            await uow.commit()

    async def waiter() -> None:  # SQLite: waits for the write lock; PostgreSQL: for the holder's uncommitted key
        async with uow_factory() as uow:
            await uow.customers.save(s.customer("c-9"))
            await uow.tickets.reserve(s.pending_link("r-1", actor="waiter"))
            await uow.commit()

    holding_task = asyncio.create_task(holder())
    await holding.wait()
    waiting = asyncio.create_task(waiter())
    for _ in range(20):  # let the waiter reach its wait (no timing is asserted: any point of cancellation must be safe)
        await asyncio.sleep(0.005)
    waiting.cancel()
    # The holder keeps its lock until the waiter is gone: the cancellation must reach a waiter blocked on a lock
    # (not only when SQLite's 30 s busy timeout ends). 10 s is a hang guard, not a measurement.
    await asyncio.wait([waiting], timeout=10)
    assert waiting.cancelled(), "a unit of work waiting for a lock did not stop when cancelled"
    done.set()
    await holding_task
    assert await open_connections(uow_factory) == 0
    async with uow_factory() as uow:
        assert await uow.customers.get("c-9") is None
        assert await uow.tickets.get("r-1") == s.pending_link("r-1", actor="holder")
        await uow.customers.save(s.customer("c-10"))
        await uow.commit()
    assert await open_connections(uow_factory) == 0


@pytest.mark.parametrize("cancels", [1, 2, 3])
async def test_cancelling_again_while_rolling_back_still_gives_the_connection_back(
    uow_factory: UnitOfWorkFactory, cancels: int
) -> None:
    started = asyncio.Event()

    async def work() -> None:
        async with uow_factory() as uow:
            await uow.customers.save(s.customer("c-1"))
            started.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(work())
    await started.wait()
    for _ in range(cancels):  # the later cancels land in __aexit__'s rollback and close
        task.cancel()
        await asyncio.sleep(0)
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await open_connections(uow_factory) == 0
    async with uow_factory() as uow:
        assert await uow.customers.get("c-1") is None


@pytest.mark.parametrize("name", backend_params(CONTRACT_BACKENDS))
async def test_the_audit_anchor_follows_committed_appends_only(name: str, tmp_path: Path) -> None:
    """The anchor (docs/adr/0028-audit-anchor.md) moves to the last record a commit made durable; a rolled-back append,
    a commit with no append and a read-only unit of work leave it where it was."""
    path = tmp_path / "audit.anchor"
    async with storage_backend(name, path) as factory:
        async with factory() as uow:
            await uow.audit.append(s.entry(1))
            await uow.audit.append(s.entry(2))
            assert read_anchor(path) is None  # not before the commit
            await uow.commit()
        first = read_anchor(path)
        assert first is not None and (first.seq, first.keyed_since) == (2, 2)
        async with factory() as uow:
            await uow.audit.append(s.entry(3))
            await uow.rollback()
            await uow.customers.save(s.customer())
            await uow.commit()
        async with factory() as uow:
            await uow.audit.append(s.entry(4))  # left without a commit
        assert read_anchor(path) == first
        async with factory() as uow:
            appended = await uow.audit.append(s.entry(5))
            await uow.commit()
            records = await uow.audit.all()
        anchor = read_anchor(path)
        assert anchor is not None and (anchor.seq, anchor.hash, anchor.keyed_since) == (appended.seq, appended.hash, 2)
        assert appended.seq == 3 and verify_chain(records, uow.audit.keys.ring(), anchor).ok
