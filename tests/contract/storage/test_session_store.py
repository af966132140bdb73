"""The SessionStore on every backend: sessions and failed sign-in counts round-trip, touch, expire and are removed."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from application.ports import SignInFailures, WebSession
from entrypoints.container import make_session_store
from tests.storage_backends import backend_params, storage_backend
from tests.support import T0


@pytest.mark.parametrize("backend", backend_params())
async def test_sessions_and_failures_round_trip(backend: str) -> None:
    async with storage_backend(backend) as storage:
        store = make_session_store(storage)
        old = WebSession("a" * 64, "u1", "oscar", T0, T0)
        new = WebSession("b" * 64, "u1", "oscar", T0, T0 + timedelta(hours=1))
        await store.add(old)
        await store.add(new)
        assert await store.get(old.id_hash) == old
        await store.touch(old.id_hash, T0 + timedelta(minutes=5))
        touched = await store.get(old.id_hash)
        assert touched is not None and touched.last_seen_at == T0 + timedelta(minutes=5)
        await store.remove_unused_since(T0 + timedelta(minutes=30))
        assert await store.get(old.id_hash) is None and await store.get(new.id_hash) == new
        await store.remove(new.id_hash)
        assert await store.get(new.id_hash) is None

        assert await store.failures("user:oscar") is None
        counted = [await store.count_failure("user:oscar", T0, T0 - timedelta(hours=1)) for _ in range(3)]
        assert [c.count for c in counted] == [1, 2, 3]
        await store.hold("user:oscar", T0 + timedelta(minutes=15))
        await store.hold("user:oscar", T0 + timedelta(minutes=1))  # an earlier hold does not shorten it
        assert await store.failures("user:oscar") == SignInFailures(3, T0, T0 + timedelta(minutes=15))
        await store.count_failure("user:olga", T0, T0)
        assert await store.failures_of(["user:oscar", "user:olga", "user:nobody"]) == {  # one read for the Users page
            "user:oscar": SignInFailures(3, T0, T0 + timedelta(minutes=15)),
            "user:olga": SignInFailures(1, T0),
        }
        assert await store.failures_of([]) == {}
        later = T0 + timedelta(hours=2)  # the last failure is older than the window: counted afresh, hold gone
        assert await store.count_failure("user:oscar", later, later - timedelta(hours=1)) == SignInFailures(1, later)
        await store.count_failure("address:10.0.0.1", T0, T0)
        await store.forget_failures_before(T0 + timedelta(minutes=20))
        assert await store.failures("address:10.0.0.1") is None and await store.failures("user:oscar") is not None
        await store.clear_failures("user:oscar")
        assert await store.failures("user:oscar") is None


@pytest.mark.parametrize("backend", backend_params())
async def test_a_users_sessions_end_together_but_the_one_kept(backend: str) -> None:
    async with storage_backend(backend) as storage:
        store = make_session_store(storage)
        mine = [WebSession(c * 64, "u1", "oscar", T0, T0) for c in "abc"]
        theirs = WebSession("d" * 64, "u2", "petra", T0, T0)
        for session in (*mine, theirs):
            await store.add(session)
        assert await store.remove_user_sessions("u1", keep=mine[0].id_hash) == 2
        assert [await store.get(s.id_hash) for s in mine] == [mine[0], None, None]
        assert await store.remove_user_sessions("u1") == 1
        assert await store.get(mine[0].id_hash) is None and await store.get(theirs.id_hash) == theirs
        assert await store.remove_user_sessions("u-none") == 0


@pytest.mark.parametrize("backend", backend_params())
async def test_parallel_failures_all_count(backend: str) -> None:
    async with storage_backend(backend) as storage:
        store = make_session_store(storage)
        counts = await asyncio.gather(*(store.count_failure("user:oscar", T0, T0) for _ in range(40)))
        assert sorted(c.count for c in counts) == list(range(1, 41))
