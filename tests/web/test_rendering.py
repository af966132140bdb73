"""What the pages say, without a browser: the real app over plain HTTP for the bugs of issue 18, and every run state,
refusal and role rendered from its view model (no reason, label or link may render empty)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import get_args

import pytest
from litestar.testing import AsyncTestClient

from application.errors import Forbidden, NotConfigured
from application.use_cases.view_runs import CreateBlocked
from domain.draft import TicketRefusal
from domain.roles import Role
from entrypoints.http.app import create_app
from tests.http.conftest import NO_LIMIT, HttpWorld, make_world

PASSWORD = "a long enough password"


@pytest.fixture
def world(tmp_path: Path) -> HttpWorld:
    w = make_world(tmp_path)
    w.seed()
    w.configure()
    return w


@pytest.fixture
async def client(world: HttpWorld) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    async with AsyncTestClient(create_app(world.container, throttle=NO_LIMIT)) as c:
        yield c


async def signed_in(client: AsyncTestClient, world: HttpWorld, role: Role) -> str:  # type: ignore[type-arg]
    """Signs `role` in through the sign-in form; the CSRF token of the session's forms."""
    user = world.store.users[role.value]
    world.store.users[role.value] = replace(user, password_hash=world.container.hasher().hash_password(PASSWORD))
    form = await client.get("/sign-in")
    token = re.search(r'name="_csrf" value="([0-9a-f]+)"', form.text)
    assert token is not None
    answer = await client.post("/sign-in", data={"_csrf": token[1], "username": role.value, "password": PASSWORD})
    found = re.search(r'name="_csrf" value="([0-9a-f]+)"', answer.text)
    assert answer.status_code == 200 and found is not None, answer.text
    return found[1]


def run_row(html: str, run_id: str) -> str:
    found = re.search(rf'<li class="run" id="run-{run_id}".*?</li>\s*(?=<li class="run"|</ol>)', html, re.S)
    assert found is not None, html
    return found[0]


async def test_incomplete_ticket_settings_are_said_in_words(
    client: AsyncTestClient,  # type: ignore[type-arg]
    world: HttpWorld,
) -> None:
    """Issue 18's first bug: `ticket_settings_incomplete` rendered an empty blocked reason."""
    world.configure(default_queue_id=None)
    await signed_in(client, world, Role.OPERATOR)
    mapped = await client.put(
        "/api/v1/customers/c1/autotask-mapping", json={"company_id": 100}, headers=world.auth(Role.OPERATOR)
    )
    assert mapped.status_code == 200, mapped.text
    row = run_row((await client.get("/runs")).text, "r-err")
    blocked = re.search(r'<p class="blocked">(.*?)</p>', row, re.S)
    assert blocked is not None, row
    assert "queue" in blocked[1] and "priorities" in blocked[1], row


def test_the_create_refusals_named_by_the_view_are_the_use_cases_codes() -> None:
    """`CreateBlocked` spells two codes as literals (mypy checks their words): they are the ones CreateTicket raises."""
    literal, refusals = get_args(CreateBlocked)
    assert set(get_args(literal)) == {Forbidden.code, NotConfigured.code} and refusals is TicketRefusal
