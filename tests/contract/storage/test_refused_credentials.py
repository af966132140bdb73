"""The RefusedCredentials store on every backend (docs/adr/0030): refusals by digest round-trip, are replaced and
forgotten; the one retry after the window is a compare-and-set that exactly one of many concurrent processes wins;
a lost database is StorageUnavailable, as for every other store."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from adapters.sql import SqlStorage
from application.errors import StorageUnavailable
from application.ports import AuthFailure, Refusal, RefusedCredentials
from entrypoints.container import make_refusals
from tests.storage_backends import (
    CONTRACT_BACKENDS,
    CONTRACT_SQL_BACKENDS,
    backend_params,
    execute_on_server,
    postgres_url,
    storage_backend,
)
from tests.support import T0

ONE, OTHER = "a" * 64, "b" * 64


@pytest.mark.parametrize("backend", backend_params(CONTRACT_BACKENDS))
async def test_refusals_round_trip_are_replaced_and_forgotten(backend: str) -> None:
    async with storage_backend(backend) as storage:
        store = make_refusals(storage)
        assert await store.get(ONE) is None
        await store.forget(ONE)  # nothing stored: nothing happens
        await store.remember(ONE, AuthFailure.BAD_SECRET, "Unauthorized", T0)
        await store.remember(OTHER, AuthFailure.UNKNOWN_USER, "Zone information could not be determined", T0)
        assert await store.get(ONE) == Refusal(AuthFailure.BAD_SECRET, "Unauthorized", T0)
        later = T0 + timedelta(minutes=31, microseconds=123)
        await store.remember(ONE, AuthFailure.BAD_TRACKING_IDENTIFIER, "IntegrationCode is invalid.", later)
        again = await store.get(ONE)
        assert again == Refusal(AuthFailure.BAD_TRACKING_IDENTIFIER, "IntegrationCode is invalid.", later)
        assert again.refused_at.utcoffset() == timedelta(0)
        await store.forget(ONE)
        assert await store.get(ONE) is None
        assert await store.get(OTHER) == Refusal(
            AuthFailure.UNKNOWN_USER, "Zone information could not be determined", T0
        )


@pytest.mark.parametrize("backend", backend_params(CONTRACT_BACKENDS))
async def test_the_retry_is_a_compare_and_set_on_refused_at(backend: str) -> None:
    async with storage_backend(backend) as storage:
        store = make_refusals(storage)
        assert not await store.take_retry(ONE, T0, T0)  # nothing refused: nothing to retry
        await store.remember(ONE, AuthFailure.BAD_SECRET, "Unauthorized", T0)
        window = T0 + timedelta(minutes=30)
        assert await store.take_retry(ONE, T0, window)
        assert await store.get(ONE) == Refusal(AuthFailure.BAD_SECRET, "Unauthorized", window)
        assert not await store.take_retry(ONE, T0, window + timedelta(seconds=1))  # read before: another took it
        assert (stored := await store.get(ONE)) is not None and stored.refused_at == window
        await store.forget(ONE)
        assert not await store.take_retry(ONE, window, window)


@pytest.mark.parametrize("backend", backend_params(CONTRACT_BACKENDS))
async def test_of_many_concurrent_retries_exactly_one_is_taken(backend: str) -> None:
    """Twenty processes read the same refusal after its window and all try to take the retry: one wins. On SQL the
    takers use two storages (two engines, as two processes would) on the one database."""
    async with storage_backend(backend) as storage:
        stores: list[RefusedCredentials] = [make_refusals(storage)]
        second = SqlStorage(storage.url) if isinstance(storage, SqlStorage) else None
        if second is not None:
            stores.append(make_refusals(second))
        try:
            await stores[0].remember(ONE, AuthFailure.BAD_SECRET, "Unauthorized", T0)
            seen = await stores[-1].get(ONE)
            assert seen is not None
            at = T0 + timedelta(minutes=30)
            taken = await asyncio.gather(
                *(
                    stores[i % len(stores)].take_retry(ONE, seen.refused_at, at + timedelta(seconds=i))
                    for i in range(20)
                )
            )
            assert taken.count(True) == 1
            winner = taken.index(True)
            assert (stored := await stores[0].get(ONE)) is not None
            assert stored.refused_at == at + timedelta(seconds=winner)
        finally:
            if second is not None:
                await second.dispose()


async def _lose(backend: str, storage: SqlStorage) -> None:
    """Take the database away: the SQLite file's directory moved, or the PostgreSQL database dropped."""
    url = make_url(storage.url)
    if backend == "sqlite":
        folder = Path(str(url.database)).parent
        shutil.move(folder, folder.with_name(folder.name + "-gone"))
        await storage.dispose()  # the pool's open connections would still read the moved file
        return
    server = postgres_url(backend)
    assert server is not None
    await execute_on_server(server, f'DROP DATABASE "{url.database}" WITH (FORCE)')


@pytest.mark.parametrize("backend", backend_params(CONTRACT_SQL_BACKENDS))
async def test_a_lost_database_is_storage_unavailable(backend: str) -> None:
    async with storage_backend(backend) as storage:
        assert isinstance(storage, SqlStorage)
        store = make_refusals(storage)
        await store.remember(ONE, AuthFailure.BAD_SECRET, "Unauthorized", T0)
        await _lose(backend, storage)
        folder = Path(str(make_url(storage.url).database)).parent
        try:
            calls: list[Callable[[], Awaitable[object]]] = [
                lambda: store.get(ONE),
                lambda: store.remember(ONE, AuthFailure.BAD_SECRET, "Unauthorized", T0),
                lambda: store.take_retry(ONE, T0, T0),
                lambda: store.forget(ONE),
            ]
            for call in calls:
                with pytest.raises(StorageUnavailable) as lost:
                    await call()
                assert lost.value.code == "database_unavailable"
        finally:
            if backend == "sqlite":
                shutil.move(folder.with_name(folder.name + "-gone"), folder)
