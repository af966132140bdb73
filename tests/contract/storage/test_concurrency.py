"""Many units of work at once: one reservation wins, compare-and-set has one winner, the audit chain stays one, the last
enabled admin stays."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace

from adapters.memory.sessions import MemorySessionStore
from application.errors import LastAdmin
from application.ports import UnitOfWorkFactory
from application.use_cases.users import UpdateUser
from domain.audit import verify_chain
from domain.roles import Role
from domain.tickets import TicketLink
from tests.contract.storage import samples as s
from tests.support import ADMIN, UseCaseWorld

RACERS = 24


async def test_concurrent_reservations_of_one_run_have_exactly_one_winner(uow_factory: UnitOfWorkFactory) -> None:
    async def reserve(i: int) -> tuple[bool, TicketLink | None]:
        async with uow_factory() as uow:
            if await uow.tickets.reserve(s.pending_link("r-1", actor=f"racer-{i}")):
                await asyncio.sleep(0.01)  # hold the reservation uncommitted while the others arrive
                await uow.commit()
                return True, None
            return False, await uow.tickets.get("r-1")

    results = await asyncio.gather(*(reserve(i) for i in range(RACERS)))
    winners = [i for i, (won, _) in enumerate(results) if won]
    assert len(winners) == 1
    winner_link = s.pending_link("r-1", actor=f"racer-{winners[0]}")
    assert [seen for won, seen in results if not won] == [winner_link] * (RACERS - 1)
    async with uow_factory() as uow:
        assert await uow.tickets.get("r-1") == winner_link


async def test_a_reservation_rolled_back_leaves_the_run_free(uow_factory: UnitOfWorkFactory) -> None:
    async def reserve_then_give_up() -> bool:
        async with uow_factory() as uow:
            return await uow.tickets.reserve(s.pending_link("r-1", actor="quitter"))

    assert await reserve_then_give_up() is True
    async with uow_factory() as uow:
        assert await uow.tickets.reserve(s.pending_link("r-1", actor="keeper")) is True
        await uow.commit()
    async with uow_factory() as uow:
        assert (await uow.tickets.get("r-1")) == s.pending_link("r-1", actor="keeper")


async def test_concurrent_compare_and_set_has_one_winner(uow_factory: UnitOfWorkFactory) -> None:
    pending = s.pending_link("r-1")
    async with uow_factory() as uow:
        await uow.tickets.reserve(pending)
        await uow.commit()

    async def retake(i: int) -> bool:
        async with uow_factory() as uow:
            current = await uow.tickets.get("r-1")
            assert current is not None
            won = await uow.tickets.update(pending.retaken(f"racer-{i}", s.at(5)), expected_version=pending.version)
            await asyncio.sleep(0.01)
            await uow.commit()
            return won

    results = await asyncio.gather(*(retake(i) for i in range(RACERS)))
    assert results.count(True) == 1
    async with uow_factory() as uow:
        stored = await uow.tickets.get("r-1")
    assert stored is not None and stored.version == pending.version + 1 and stored.attempt == 2
    assert stored.created_by == f"racer-{results.index(True)}"


async def test_concurrent_mapping_updates_have_one_winner(uow_factory: UnitOfWorkFactory) -> None:
    mapping = s.full_mapping()
    async with uow_factory() as uow:
        await uow.mappings.save(mapping)
        await uow.commit()

    async def recheck(i: int) -> bool:
        async with uow_factory() as uow:
            changed = replace(mapping.confirmed(), company_name=f"name-{i}")
            won = await uow.mappings.update(changed, expected_version=mapping.version)
            await asyncio.sleep(0.01)
            await uow.commit()
            return won

    results = await asyncio.gather(*(recheck(i) for i in range(RACERS)))
    assert results.count(True) == 1
    async with uow_factory() as uow:
        stored = await uow.mappings.get(mapping.customer_id)
    assert stored is not None and stored.company_name == f"name-{results.index(True)}"


async def test_concurrent_audit_appends_keep_one_valid_chain(uow_factory: UnitOfWorkFactory) -> None:
    async def append(i: int) -> None:
        async with uow_factory() as uow:
            await uow.audit.append(s.entry(i, writer=i, part=1))
            await asyncio.sleep(0)
            await uow.audit.append(s.entry(i, writer=i, part=2))
            if i % 5 == 0:
                return  # rolled back: its records never enter the chain
            await uow.commit()

    await asyncio.gather(*(append(i) for i in range(RACERS)))
    async with uow_factory() as uow:
        records = await uow.audit.all()
    committed = [i for i in range(RACERS) if i % 5]
    assert verify_chain(records, uow.audit.keys.ring()).ok
    assert [r.seq for r in records] == list(range(1, 2 * len(committed) + 1))
    assert Counter(r.entry.details["writer"] for r in records) == Counter(committed * 2)
    for first, second in zip(records[::2], records[1::2], strict=True):  # one unit of work's records stay together
        assert (first.entry.details["writer"], first.entry.details["part"], second.entry.details["part"]) == (
            second.entry.details["writer"],
            1,
            2,
        )


async def test_two_admins_disabling_each_other_at_once_leave_one_enabled(uow_factory: UnitOfWorkFactory) -> None:
    """The rule over all admins reads them locked (PostgreSQL's FOR UPDATE): without it both were disabled."""
    for round_ in range(5):
        ids = [f"a{round_}-{i}" for i in range(2)]
        async with uow_factory() as uow:
            for uid in ids:
                await uow.users.add(s.user(uid, uid, Role.ADMIN))
            for other in await uow.users.list():
                if other.id not in ids and not other.disabled:
                    await uow.users.update(replace(other, disabled=True))  # the previous round's survivor
            await uow.commit()
        update = UpdateUser(UseCaseWorld(uow=uow_factory).deps, MemorySessionStore())
        results = await asyncio.gather(
            *(update.execute(ADMIN, uid, disabled=True) for uid in ids), return_exceptions=True
        )
        assert sorted(type(r).__name__ for r in results) == ["LastAdmin", "User"], results
        assert any(isinstance(r, LastAdmin) for r in results)
        async with uow_factory() as uow:
            assert sum(u.role is Role.ADMIN and not u.disabled for u in await uow.users.list()) == 1
