"""The SessionStore on every backend: sessions and failed sign-in counts round-trip, touch, expire and are removed."""

from __future__ import annotations

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

        assert await store.failures("oscar") is None
        await store.set_failures("oscar", SignInFailures(1, T0))
        locked = SignInFailures(5, T0, T0 + timedelta(minutes=15))
        await store.set_failures("oscar", locked)
        assert await store.failures("oscar") == locked
        await store.set_failures("mallory", SignInFailures(1, T0 + timedelta(minutes=20)))
        await store.forget_failures_before(T0 + timedelta(minutes=20))
        assert await store.failures("oscar") is None and await store.failures("mallory") is not None
        await store.set_failures("mallory", None)
        assert await store.failures("mallory") is None
