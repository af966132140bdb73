"""Bulk reads by key, and read-only units of work: they cannot commit, and they read beside an open writer."""

from __future__ import annotations

import asyncio

import pytest

from application.ports import UnitOfWorkFactory
from tests.contract.storage import samples as s


async def test_customers_and_mappings_are_read_in_bulk_by_key(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        for n in range(3):
            await uow.customers.save(s.customer(f"c-{n}", f"Name {n}"))
        await uow.mappings.save(s.full_mapping("c-1"))
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        customers = await uow.customers.get_many(["c-2", "c-0", "nobody", "c-0"])
        mappings = await uow.mappings.get_many(["c-0", "c-1", "nobody"])
        assert await uow.customers.get_many([]) == {} and await uow.mappings.get_many([]) == {}
    assert customers == {"c-0": s.customer("c-0", "Name 0"), "c-2": s.customer("c-2", "Name 2")}
    assert mappings == {"c-1": s.full_mapping("c-1")}


async def test_a_bulk_read_of_more_keys_than_one_in_list_holds(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        for n in range(1_205):
            await uow.customers.save(s.customer(f"c-{n:05}", f"Name {n}"))
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        found = await uow.customers.get_many([f"c-{n:05}" for n in range(0, 1_300, 2)])
    assert sorted(found) == [f"c-{n:05}" for n in range(0, 1_205, 2)]


async def test_a_read_only_unit_of_work_cannot_commit(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory(read_only=True) as uow:
        await uow.customers.save(s.customer())
        with pytest.raises(RuntimeError, match="read-only"):
            await uow.commit()
    async with uow_factory(read_only=True) as uow:
        assert await uow.customers.get("c-1") is None


async def test_readers_run_beside_an_open_writer_and_see_what_was_committed(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.customers.save(s.customer("c-1", "Before"))
        await uow.commit()
    writing, done = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with uow_factory() as uow:
            await uow.customers.save(s.customer("c-1", "After"))
            writing.set()
            await done.wait()  # hold the write (and on SQLite the write lock) while the readers run
            await uow.commit()

    async def reader() -> str | None:
        async with uow_factory(read_only=True) as uow:
            customer = await uow.customers.get("c-1")
        return None if customer is None else customer.name

    task = asyncio.create_task(writer())
    await writing.wait()
    try:
        async with asyncio.timeout(5):  # the readers must not queue behind the writer (its busy timeout is 30 s)
            names = await asyncio.gather(*(reader() for _ in range(4)))
    finally:
        done.set()
        await task
    assert names == ["Before"] * 4
    assert await reader() == "After"
