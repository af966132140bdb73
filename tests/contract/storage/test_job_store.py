"""The JobStore on every backend: one holder per job at a time, taken over only after its lease ran out, and a
finish or renewal that lost its lease changes nothing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from entrypoints.container import make_job_store
from tests.storage_backends import backend_params, storage_backend
from tests.support import T0

LEASE = timedelta(seconds=60)


@pytest.mark.parametrize("backend", backend_params())
async def test_one_holder_at_a_time_and_a_takeover_only_after_expiry(backend: str) -> None:
    async with storage_backend(backend) as storage:
        store = make_job_store(storage)
        assert await store.get("status_sync") is None
        first = await store.take("status_sync", "host-a:1", T0, T0 + LEASE)
        assert first is not None and first.holder == "host-a:1" and first.last_started_at == T0
        assert await store.take("status_sync", "host-b:2", T0 + timedelta(seconds=59), T0 + 2 * LEASE) is None
        assert await store.take("mapping_check", "host-b:2", T0, T0 + LEASE) is not None  # jobs are independent
        renewed = await store.renew(first, T0 + 2 * LEASE)
        assert renewed is not None and renewed.lease_expires_at == T0 + 2 * LEASE
        assert await store.renew(first, T0 + 3 * LEASE) is None  # an old copy of the lease renews nothing
        late = T0 + 2 * LEASE + timedelta(seconds=1)
        taken = await store.take("status_sync", "host-b:2", late, late + LEASE)  # its holder died: taken over
        assert taken is not None and taken.holder == "host-b:2"
        assert await store.finish(renewed, {"last_error": "stale"}) is False  # the dead holder's finish is refused
        result = {"checked": 3, "changed": 1}
        assert await store.finish(taken, {"last_result": result, "cursor": T0, "next_run_at": late + LEASE})
        done = await store.get("status_sync")
        assert done is not None and (done.holder, done.last_result, done.cursor, done.last_error) == (
            None,
            result,
            T0,
            None,
        )
        await store.note("status_sync", {"paused_reason": "budget at 80 %"})
        await store.note("never_ran", {"paused_reason": "off"})
        paused, fresh = await store.get("status_sync"), await store.get("never_ran")
        assert paused is not None and paused.paused_reason == "budget at 80 %" and paused.cursor == T0
        assert fresh is not None and fresh.paused_reason == "off" and fresh.holder is None


@pytest.mark.parametrize("backend", backend_params())
async def test_parallel_takes_give_the_lease_to_one(backend: str) -> None:
    async with storage_backend(backend) as storage:
        store = make_job_store(storage)
        takes = await asyncio.gather(*(store.take("status_sync", f"p{i}", T0, T0 + LEASE) for i in range(8)))
        assert sum(t is not None for t in takes) == 1


@pytest.mark.parametrize("backend", backend_params())
async def test_a_scheduled_take_waits_for_the_job_to_be_due(backend: str) -> None:
    """A process that saw the job due just before another finished it must not run it again."""
    async with storage_backend(backend) as storage:
        store = make_job_store(storage)
        first = await store.take("status_sync", "a", T0, T0 + LEASE, due=True)
        assert first is not None
        assert await store.finish(first, {"next_run_at": T0 + timedelta(minutes=15)})
        assert await store.take("status_sync", "b", T0 + timedelta(seconds=1), T0 + LEASE, due=True) is None
        assert await store.take("status_sync", "cli", T0 + timedelta(seconds=1), T0 + LEASE) is not None  # forced
