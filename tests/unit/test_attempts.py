"""The attempt mechanism (ADR 0013): a use-case error leaving `async with Attempt(...)` is audited once, in its own
transaction, with its code, message and details; one recorded with its change is not written again; other errors
pass through unaudited."""

from __future__ import annotations

import pytest

from adapters.memory import MemoryStore
from application.attempts import Attempt
from application.errors import Forbidden, MappingChanged, TicketBusy
from domain.audit import Outcome
from domain.roles import Permission
from tests.support import OPERATOR, REPORTER, UseCaseWorld


async def _records(world: UseCaseWorld) -> list[tuple[str, str, Outcome, dict[str, object]]]:
    async with world.uow(read_only=True) as uow:
        return [
            (r.entry.action, r.entry.target_id, r.entry.outcome, dict(r.entry.details)) for r in await uow.audit.all()
        ]


async def test_a_refusal_is_audited_once_with_its_details_and_raised() -> None:
    world = UseCaseWorld(uow=MemoryStore())
    with pytest.raises(MappingChanged) as raised:
        async with Attempt(world.deps, OPERATOR, "mapping.set", ("customer", "c\x001")):
            raise MappingChanged().noting(company_id=7)
    assert raised.value.recorded
    assert await _records(world) == [
        (
            "mapping.set",
            "c\\x001",
            Outcome.DENIED,
            {"code": "mapping_changed", "message": MappingChanged.message_default, "company_id": 7},
        )
    ]


async def test_a_failure_recorded_with_its_change_is_not_written_twice() -> None:
    world = UseCaseWorld(uow=MemoryStore())
    with pytest.raises(TicketBusy):
        async with Attempt(world.deps, OPERATOR, "ticket.resolve", ("run", "r-1")) as attempt:
            async with world.uow() as uow:
                failure = await attempt.record_failure(uow, TicketBusy().failed(stage="complete"))
                await uow.commit()
            raise failure
    assert await _records(world) == [
        (
            "ticket.resolve",
            "r-1",
            Outcome.FAILED,
            {"code": "ticket_busy", "message": TicketBusy.message_default, "stage": "complete"},
        )
    ]


async def test_forbidden_is_audited_and_other_errors_pass_unaudited() -> None:
    world = UseCaseWorld(uow=MemoryStore())
    await Attempt(world.deps, OPERATOR, "run.list", ("runs", "*")).authorized(Permission.VIEW_RUNS)
    with pytest.raises(Forbidden):
        await Attempt(world.deps, REPORTER, "settings.get", ("settings", "autotask")).authorized(Permission.ADMINISTER)
    with pytest.raises(KeyError):
        async with Attempt(world.deps, OPERATOR, "run.get", ("run", "r-1")):
            raise KeyError("a bug, not a refusal")
    assert [(action, outcome) for action, _, outcome, _ in await _records(world)] == [("settings.get", Outcome.DENIED)]
