from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from application.ports import UnitOfWorkFactory
from tests.storage_backends import CONTRACT_BACKENDS, backend_params, storage_backend


@pytest.fixture(params=backend_params(CONTRACT_BACKENDS))
async def uow_factory(request: pytest.FixtureRequest) -> AsyncIterator[UnitOfWorkFactory]:
    async with storage_backend(request.param) as factory:
        yield factory
