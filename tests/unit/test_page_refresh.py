"""A page view's background refresh runs at most once per page and interval (docs/adr/0027): the views between cost
Autotask nothing, a change in Autotask shows after the interval, and a failure counts as a run."""

from __future__ import annotations

import pytest

from adapters.memory.jobs import MemoryJobStore
from application.page_refresh import CUSTOMERS
from application.ports import PsaUnavailable
from application.use_cases.refresh_all_mappings import PAGE_EVERY, RefreshAllMappings
from domain.mapping import MappingStatus
from tests.support import OPERATOR, UseCaseWorld


@pytest.fixture
async def world() -> UseCaseWorld:
    w = UseCaseWorld()
    await w.configure()
    await w.seed()
    return w


async def test_the_customers_page_rechecks_once_per_interval_and_then_sees_a_rename(world: UseCaseWorld) -> None:
    jobs = MemoryJobStore()
    refresh = RefreshAllMappings(world.deps, jobs=jobs)
    assert await refresh.on_page_view(OPERATOR) is True
    asked = world.psa.total_calls
    world.psa.rename_company(100, "Acme Holding")
    world.clock.advance(PAGE_EVERY.total_seconds() - 1)
    assert [await refresh.on_page_view(OPERATOR) for _ in range(5)] == [False] * 5
    assert world.psa.total_calls == asked
    world.clock.advance(1)
    assert await refresh.on_page_view(OPERATOR) is True
    async with world.uow() as uow:
        mapping = await uow.mappings.get("cust-1")
    assert mapping is not None and (mapping.status, mapping.company_name) == (MappingStatus.RENAMED, "Acme Holding")


async def test_a_failed_page_refresh_counts_as_a_run_and_is_not_raised(world: UseCaseWorld) -> None:
    jobs = MemoryJobStore()
    refresh = RefreshAllMappings(world.deps, jobs=jobs)
    world.psa.fail_next("get_companies", PsaUnavailable("timeout"))
    assert await refresh.on_page_view(OPERATOR) is True  # logged, not raised: the page is already sent
    assert await refresh.on_page_view(OPERATOR) is False  # Autotask down is not asked at every view
    state = await jobs.get(CUSTOMERS)
    assert state is not None and state.holder is None and state.next_run_at == world.clock.now() + PAGE_EVERY
