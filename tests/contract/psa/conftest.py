from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .worlds import FakeWorld, PsaWorld, simulator_world


@pytest.fixture(params=["fake", "simulator"])
async def world(request: pytest.FixtureRequest) -> AsyncIterator[PsaWorld]:
    if request.param == "fake":
        yield FakeWorld()
        return
    async with simulator_world() as sim_world:
        yield sim_world
