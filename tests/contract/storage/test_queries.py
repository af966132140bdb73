"""Run Checks queries, keyset pagination, listings and audit filters."""

from __future__ import annotations

import dataclasses
from typing import Any

from application.ports import AuditQuery, CustomerQuery, MappingFilter, RunQuery, UnitOfWorkFactory
from domain.audit import Outcome
from domain.mapping import CompanyLookup, CompanyMapping, MappingStatus
from domain.runs import Run, RunStatus
from tests.contract.storage import samples as s

STATUSES = [RunStatus.ERROR, RunStatus.WARNING, RunStatus.SUCCESS, RunStatus.MISSED]


def fleet() -> list[Run]:
    """30 runs over 3 customers; several share a run_at so the id breaks ties; ids sort differently by code point
    than by most locales (upper case, digits, non-ASCII)."""
    ids = [f"{prefix}{n:02d}" for n in range(10) for prefix in ("a-", "B-", "é-")]
    return [
        s.run(rid, customer_id=f"c-{i % 3}", minutes=(i // 4) * 10, status=STATUSES[i % 4]) for i, rid in enumerate(ids)
    ]


def newest_first(runs: list[Run]) -> list[Run]:
    return sorted(runs, key=lambda r: (r.run_at, r.id), reverse=True)


async def stored_fleet(uow_factory: UnitOfWorkFactory) -> list[Run]:
    runs = fleet()
    async with uow_factory() as uow:
        for run in runs:
            await uow.runs.save(run)
        for run in runs[::3]:
            await uow.tickets.reserve(s.pending_link(run.id))
        await uow.commit()
    return runs


async def test_run_filters(uow_factory: UnitOfWorkFactory) -> None:
    runs = await stored_fleet(uow_factory)
    linked = {r.id for r in runs[::3]}
    since, until = s.at(20), s.at(50)
    cases: list[tuple[RunQuery, list[Run]]] = [
        (RunQuery(limit=100), runs),
        (
            RunQuery(statuses=frozenset({RunStatus.ERROR, RunStatus.MISSED}), limit=100),
            [r for r in runs if r.status in (RunStatus.ERROR, RunStatus.MISSED)],
        ),
        (RunQuery(customer_id="c-1", limit=100), [r for r in runs if r.customer_id == "c-1"]),
        (RunQuery(has_ticket=True, limit=100), [r for r in runs if r.id in linked]),
        (RunQuery(has_ticket=False, limit=100), [r for r in runs if r.id not in linked]),
        (RunQuery(since=since, until=until, limit=100), [r for r in runs if since <= r.run_at < until]),
        (
            RunQuery(
                statuses=frozenset({RunStatus.WARNING}), customer_id="c-0", has_ticket=False, since=since, limit=100
            ),
            [
                r
                for r in runs
                if r.status is RunStatus.WARNING and r.customer_id == "c-0" and r.id not in linked and r.run_at >= since
            ],
        ),
        (RunQuery(limit=7), runs),
        (RunQuery(customer_id="nobody"), []),
    ]
    async with uow_factory() as uow:
        for query, expected in cases:
            assert await uow.runs.query(query) == newest_first(expected)[: query.limit], query


async def test_keyset_pagination_visits_every_run_once_newest_first(uow_factory: UnitOfWorkFactory) -> None:
    runs = await stored_fleet(uow_factory)
    for base in (RunQuery(limit=4), RunQuery(limit=3, statuses=frozenset({RunStatus.ERROR, RunStatus.WARNING}))):
        seen: list[Run] = []
        query = base
        async with uow_factory() as uow:
            while page := await uow.runs.query(query):
                assert len(page) <= base.limit
                seen += page
                query = dataclasses.replace(base, after=(page[-1].run_at, page[-1].id))
        expected = [r for r in runs if not base.statuses or r.status in base.statuses]
        assert seen == newest_first(expected)


async def test_customer_listing_pages_by_id(uow_factory: UnitOfWorkFactory) -> None:
    ids = ["b", "A", "a", "é", "Z9", "10", "2"]
    async with uow_factory() as uow:
        for cid in ids:
            await uow.customers.save(s.customer(cid, f"name {cid}"))
        await uow.commit()
    async with uow_factory() as uow:
        assert [c.id for c in await uow.customers.list()] == sorted(ids)
        assert [c.id for c in await uow.customers.list(limit=2, after="A")] == ["Z9", "a"]
        assert await uow.customers.list(after="é") == []


async def test_mapping_list_filters_by_status(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.mappings.save(s.full_mapping("c-2"))
        await uow.mappings.save(CompanyMapping.missing("c-1"))
        await uow.mappings.save(dataclasses.replace(s.full_mapping("c-3"), status=MappingStatus.INVALID))
        await uow.commit()
    async with uow_factory() as uow:
        assert [m.customer_id for m in await uow.mappings.list()] == ["c-1", "c-2", "c-3"]
        wanted = frozenset({MappingStatus.MISSING, MappingStatus.INVALID})
        assert [m.customer_id for m in await uow.mappings.list(wanted)] == ["c-1", "c-3"]
        assert await uow.mappings.list(frozenset({MappingStatus.OK})) == []


async def test_list_open_returns_linked_links_only(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        for run_id in ("r-3", "r-1", "r-2", "r-4"):
            await uow.tickets.reserve(s.pending_link(run_id))
        for run_id in ("r-3", "r-1", "r-4"):
            await uow.tickets.update(s.linked_link(run_id), expected_version=1)
        await uow.tickets.update(s.linked_link("r-4").gone(), expected_version=2)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.tickets.list_open() == [s.linked_link("r-1"), s.linked_link("r-3")]


async def test_audit_query_filters_and_pages_by_seq(uow_factory: UnitOfWorkFactory) -> None:
    entries = [
        s.entry(0, customer_id="c-1"),
        s.entry(1, action="mapping.set", target=("customer", "c-1")),
        s.entry(2, action="mapping.set", target=("customer", "c-2"), outcome=Outcome.DENIED),
        s.entry(3, target=("run", "r-2"), customer_id="c-2", outcome=Outcome.FAILED),
        dataclasses.replace(s.entry(4, action="user.add", target=("user", "u-1")), actor="bob"),
    ]
    async with uow_factory() as uow:
        for e in entries:
            await uow.audit.append(e)
        await uow.commit()

    async def seqs(**filters: Any) -> list[int]:
        async with uow_factory() as uow:
            return [r.seq for r in await uow.audit.query(AuditQuery(**filters))]

    assert await seqs() == [1, 2, 3, 4, 5]
    assert await seqs(action="mapping.set") == [2, 3]
    assert await seqs(actor="bob") == [5]
    assert await seqs(outcome=Outcome.DENIED) == [3]
    assert await seqs(customer_id="c-1") == [1, 2]
    assert await seqs(customer_id="c-2") == [3, 4]
    assert await seqs(run_id="r-1") == [1]
    assert await seqs(since=s.at(1), until=s.at(3)) == [2, 3]
    assert await seqs(after_seq=2, limit=2) == [3, 4]
    assert await seqs(action="ticket.create", customer_id="c-2", outcome=Outcome.FAILED) == [4]


async def test_customer_query_searches_name_or_id_case_insensitively_and_filters_by_mapping(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        for cid, name in (
            ("c-1", "Acme B.V."),
            ("c-2", "ACME Ltd"),
            ("C-3", "Globex"),
            ("x_9", "100% Pure"),
            ("z", "z"),
        ):
            await uow.customers.save(s.customer(cid, name))
        ok = CompanyMapping.from_lookup("c-1", CompanyLookup.found(1, "Acme", is_active=True), s.T0)
        await uow.mappings.save(ok)
        await uow.mappings.save(CompanyMapping.from_lookup("C-3", CompanyLookup.found(3, "G", is_active=True), s.T0))
        await uow.mappings.save(dataclasses.replace(ok, customer_id="c-2", status=MappingStatus.INVALID))
        await uow.mappings.save(CompanyMapping.missing("z"))
        await uow.commit()

    async def found(**query: Any) -> list[str]:
        async with uow_factory(read_only=True) as uow:
            selected = [c.id for c in await uow.customers.query(CustomerQuery(**query))]
            assert await uow.customers.count(CustomerQuery(**query)) == len(selected) or "limit" in query
            return selected

    assert await found(search="acme") == ["c-1", "c-2"]
    assert await found(search="c-") == ["C-3", "c-1", "c-2"]  # the id matches too, whatever its case
    assert await found(search="%") == ["x_9"] and await found(search="_") == ["x_9"]  # wildcards are literal
    assert await found(mapping=MappingFilter.OK) == ["C-3", "c-1"]
    assert await found(mapping=MappingFilter.INVALID) == ["c-2"]
    assert await found(mapping=MappingFilter.MISSING) == ["z"]
    assert await found(mapping=MappingFilter.UNMAPPED) == ["x_9", "z"]
    assert await found(mapping=MappingFilter.RENAMED) == []
    assert await found(search="ACME", mapping=MappingFilter.OK) == ["c-1"]
    assert await found(search="c", limit=2, after="C-3") == ["c-1", "c-2"]
    async with uow_factory(read_only=True) as uow:
        assert await uow.customers.count(CustomerQuery(search="c", limit=1, after="zzz")) == 3
