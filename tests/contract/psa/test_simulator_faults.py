"""What the adapter does with each fault the simulator can play: the error class, retried or not, and never a second
ticket for a create whose answer was lost."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import quote

import pytest

from adapters.autotask import AutotaskConnector
from adapters.autotask.budget import LocalBudget
from adapters.autotask_simulator import Fault, Simulator
from application.ports import (
    NoteDraft,
    PsaAuthError,
    PsaForbidden,
    PsaGateway,
    PsaNotFound,
    PsaRejected,
    PsaUnavailable,
)
from domain.draft import TicketDraft
from domain.settings import ApiLogLevel
from domain.tickets import CLOSING_NOTE, STATUS_COMPLETE

from .worlds import GOOD, SECRET, TRACKING, USERNAME, SimulatorWorld, simulator_world

NOTE = NoteDraft("Resolved via Backupchecks", CLOSING_NOTE, 1, 2)
DRAFT = TicketDraft(
    company_id=100,
    title="[Backupchecks] Acme - Nightly - Error",
    description="Backup failed",
    status=1,
    priority=2,
    queue_id=8,
    issue_type_id=None,
    sub_issue_type_id=None,
    source_id=None,
    external_id="bc-fault",
    due_at=datetime(2026, 1, 16, 2, 10, tzinfo=UTC),
)


@pytest.fixture
async def world() -> AsyncIterator[SimulatorWorld]:
    async with simulator_world(Simulator.seeded(), timeout=0.5) as w:
        yield w


def gateway(world: SimulatorWorld) -> PsaGateway:
    return world.gateway()


async def test_latency_is_only_slower(world: SimulatorWorld) -> None:
    world.sim.inject(Fault("latency", entity="Companies", seconds=0.05))
    assert (await gateway(world).get_company(100)).name == "Acme Corporation"
    assert world.sim.counts["GET Companies/{id}"] == 1


async def test_server_error_read_is_retried(world: SimulatorWorld) -> None:
    world.sim.inject(Fault("server_error", entity="Companies", times=2))
    assert (await gateway(world).get_company(101)).id == 101
    assert world.sim.counts["GET Companies/{id}"] == 3 and len(world.sleeps) == 2


async def test_server_error_on_create_is_not_retried_and_may_have_applied(world: SimulatorWorld) -> None:
    world.sim.inject(Fault("server_error", entity="Tickets", method="POST"))
    g = gateway(world)
    with pytest.raises(PsaUnavailable) as caught:
        await g.create_ticket(DRAFT)
    assert caught.value.maybe_applied and not caught.value.throttled
    assert world.sim.counts["POST Tickets"] == 1
    assert await g.find_ticket_by_external_id("bc-fault") is None  # what the use case checks before trying again


@pytest.mark.parametrize("kind", ["throttle", "thread_limit"])
async def test_throttling_of_a_create_is_retried_once_surely_refused(world: SimulatorWorld, kind: str) -> None:
    world.sim.inject(Fault(kind, entity="Tickets", method="POST", retry_after=3 if kind == "throttle" else None))
    ticket_id = await gateway(world).create_ticket(DRAFT)
    assert list(world.sim.tickets) == [ticket_id] and world.sim.counts["POST Tickets"] == 2
    if kind == "throttle":
        assert world.sleeps == [3.0]  # Retry-After honoured


@pytest.mark.parametrize("kind", ["throttle", "thread_limit"])
async def test_lasting_throttling_is_retried_until_the_deadline_then_gives_up_saying_so(
    world: SimulatorWorld, kind: str
) -> None:
    world.sim.inject(Fault(kind, entity="Companies", times=None))
    with pytest.raises(PsaUnavailable) as caught:
        await gateway(world).get_company(100)
    assert caught.value.throttled and not caught.value.maybe_applied
    # retried beyond the 3 retries of other failures, with waits that fit in the 30-second deadline
    assert world.sim.counts["GET Companies/{id}"] == len(world.sleeps) + 1 > 4
    assert sum(world.sleeps) <= 30.0


@pytest.mark.parametrize("retry_after", [3, 3600])
async def test_a_429_with_retry_after_is_honoured_unless_too_long(world: SimulatorWorld, retry_after: int) -> None:
    world.sim.inject(Fault("throttle", entity="Companies", times=1, retry_after=retry_after))
    if retry_after > 30:
        with pytest.raises(PsaUnavailable):
            await gateway(world).get_company(100)
        assert world.sleeps == []  # the hourly budget is spent: say so at once
    else:
        world.sim.add_company(100, "Acme")
        assert (await gateway(world).get_company(100)).id == 100 and world.sleeps == [3.0]


async def test_timeout_on_a_read_is_retried(world: SimulatorWorld) -> None:
    world.sim.inject(Fault("timeout", entity="Companies", seconds=1.0))
    assert (await gateway(world).get_company(102)).id == 102
    assert world.sim.counts["GET Companies/{id}"] == 2


async def test_timeout_on_a_create_is_maybe_applied_and_not_retried(world: SimulatorWorld) -> None:
    world.sim.inject(Fault("timeout", entity="Tickets", method="POST", seconds=1.0))
    with pytest.raises(PsaUnavailable) as caught:
        await gateway(world).create_ticket(DRAFT)
    assert caught.value.maybe_applied and world.sim.counts["POST Tickets"] == 1


async def test_lost_answer_of_a_create_leaves_exactly_one_ticket(world: SimulatorWorld) -> None:
    world.sim.inject(Fault("lost_answer", entity="Tickets", method="POST"))
    g = gateway(world)
    with pytest.raises(PsaUnavailable) as caught:
        await g.create_ticket(DRAFT)
    assert caught.value.maybe_applied
    assert len(world.sim.tickets) == 1 and world.sim.counts["POST Tickets"] == 1
    found = await g.find_ticket_by_external_id("bc-fault")
    assert found is not None and found.ticket_id in world.sim.tickets


async def test_lost_answer_of_a_note_and_of_a_completion(world: SimulatorWorld) -> None:
    g = gateway(world)
    ticket_id = await g.create_ticket(DRAFT)
    world.sim.inject(Fault("lost_answer", entity="Tickets", method="POST"))
    with pytest.raises(PsaUnavailable) as caught:
        await g.add_ticket_note(ticket_id, NOTE)
    assert caught.value.maybe_applied and len(world.sim.notes) == 1
    assert await g.find_ticket_note(ticket_id, CLOSING_NOTE) == next(iter(world.sim.notes))
    world.sim.inject(Fault("lost_answer", entity="Tickets", method="PATCH"))
    with pytest.raises(PsaUnavailable) as caught:
        await g.complete_ticket(ticket_id, STATUS_COMPLETE)
    assert caught.value.maybe_applied and world.sim.tickets[ticket_id]["status"] == STATUS_COMPLETE
    assert world.sim.counts["PATCH Tickets"] == 1


async def test_completion_is_one_patch_of_the_status_and_a_refused_patch_sends_no_put(world: SimulatorWorld) -> None:
    g = gateway(world)
    ticket_id = await g.create_ticket(DRAFT)
    other = await g.create_ticket(DRAFT)
    before = dict(world.sim.tickets[ticket_id])
    await g.complete_ticket(ticket_id, STATUS_COMPLETE)
    after = world.sim.tickets[ticket_id]
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    assert (
        changed <= {"status", "completedDate", "lastActivityDate", "lastTrackedModificationDateTime"}
        and "status" in changed
    )
    assert after["description"] == "Backup failed" and after["queueID"] == 8 and after["externalID"] == "bc-fault"
    assert world.sim.counts["PATCH Tickets"] == 1 and world.sim.counts["GET Tickets/{id}"] == 0
    world.sim.inject(Fault("patch_refused", times=None))
    with pytest.raises(PsaRejected, match="PATCH"):
        await g.complete_ticket(other, STATUS_COMPLETE)
    assert world.sim.tickets[other]["status"] == 1 and world.sim.counts["PUT Tickets"] == 0


async def test_in_refused_falls_back_to_single_reads(world: SimulatorWorld) -> None:
    g = gateway(world)
    ids = [await g.create_ticket(DRAFT) for _ in range(3)]
    world.sim.inject(Fault("in_refused", times=None))
    assert sorted(await g.get_tickets([*ids, 99999])) == ids
    assert world.sim.counts["POST Tickets/query"] == 1 and world.sim.counts["GET Tickets/{id}"] == 4
    assert sorted(await world.gateway().get_tickets(ids)) == ids
    assert world.sim.counts["POST Tickets/query"] == 1  # remembered for these credentials


async def test_external_ids_in_refused_fall_back_to_one_query_each(world: SimulatorWorld) -> None:
    g = gateway(world)
    ids = [await g.create_ticket(DRAFT) for _ in range(2)]
    world.sim.inject(Fault("in_refused", times=None))
    found = await g.tickets_by_external_ids(["bc-fault", "bc-other"])
    assert sorted(f.ticket_id for f in found) == ids and world.sim.counts["POST Tickets/query"] == 3


async def test_bulk_read_with_in_pages_through_more_than_500(world: SimulatorWorld) -> None:
    g = gateway(world)
    ids = [await g.create_ticket(DRAFT) for _ in range(3)]
    assert sorted(await g.get_tickets([*ids, *range(1, 600)])) == ids
    assert world.sim.counts["POST Tickets/query"] >= 2 and world.sim.counts["GET Tickets/{id}"] == 0


async def test_ten_concurrent_reads_stay_under_the_thread_limit(world: SimulatorWorld) -> None:
    g = gateway(world)
    ticket_id = await g.create_ticket(DRAFT)
    world.sim.inject(Fault("latency", entity="Tickets", method="GET", seconds=0.02, times=None))
    results = await asyncio.gather(*(g.get_ticket(ticket_id) for _ in range(10)))
    assert all(r is not None for r in results)
    assert world.sim.counts["GET Tickets/{id}"] == 10 and world.sleeps == []  # never refused, never retried


async def test_permission_refusal_as_a_500_is_forbidden_and_not_retried(world: SimulatorWorld) -> None:
    world.sim.inject(Fault("forbidden", entity="Companies"))
    with pytest.raises(PsaForbidden) as caught:
        await gateway(world).get_company(100)
    assert "adequate permissions" in caught.value.message and world.sim.counts["GET Companies/{id}"] == 1


async def test_a_null_item_is_a_missing_one(world: SimulatorWorld) -> None:
    world.sim.inject(Fault("null_item", times=None))
    g = gateway(world)
    assert await g.get_ticket(424242) is None
    with pytest.raises(PsaNotFound):
        await g.get_company(424242)
    with pytest.raises(PsaNotFound):
        await g.complete_ticket(424242, STATUS_COMPLETE)


async def test_bulk_read_sends_in_lists_of_at_most_400_values(world: SimulatorWorld) -> None:
    g = gateway(world)
    ids = [await g.create_ticket(DRAFT) for _ in range(2)]
    assert sorted(await g.get_tickets([*range(1, 1101), *ids])) == ids  # the simulator refuses 501 values or more
    assert world.sim.counts["POST Tickets/query"] == 3 and world.sim.counts["GET Tickets/{id}"] == 0  # 400+400+302


async def test_no_log_line_at_any_level_carries_a_credential(
    world: SimulatorWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: ours, httpx's, httpcore's (real HTTP here), uvicorn's
    g = world.connector.connect(replace(GOOD, log_level=ApiLogLevel.REQUESTS))
    ticket_id = await g.create_ticket(DRAFT)
    await g.add_ticket_note(ticket_id, NOTE)
    await g.complete_ticket(ticket_id, STATUS_COMPLETE)
    with pytest.raises(PsaAuthError):
        await world.connector.connect(replace(GOOD, secret="wrong-" + SECRET, log_level=ApiLogLevel.REQUESTS)).usage()
    text = caplog.text + " ".join(str(r.args) for r in caplog.records)
    assert "PATCH " in text and "zoneInformation?user=***" in text  # the log did see the requests
    for value in (SECRET, USERNAME, TRACKING, quote(USERNAME), CLOSING_NOTE, DRAFT.description):
        assert value not in text, value


async def test_companies_in_refused_falls_back_to_single_reads_and_leaves_a_hidden_company_out(
    world: SimulatorWorld,
) -> None:
    for company_id in (100, 101, 102):
        world.sim.add_company(company_id, f"Company {company_id}")
    world.sim.inject(Fault("in_refused", times=None))
    world.sim.inject(Fault("forbidden", entity="Companies", method="GET", times=1))
    assert sorted(await gateway(world).get_companies([100, 101, 102, 99999])) == [101, 102]
    assert world.sim.counts["POST Companies/query"] == 1 and world.sim.counts["GET Companies/{id}"] == 4


async def test_one_budget_of_three_per_entity_across_methods(world: SimulatorWorld) -> None:
    """Reads, queries, notes, field documents and creates on Tickets all draw on one budget of 3 in flight."""
    g = gateway(world)
    ticket_id = await g.create_ticket(DRAFT)
    world.sim.inject(Fault("latency", entity="Tickets", seconds=0.05, times=None))
    calls = [
        g.get_ticket(ticket_id),
        g.find_ticket_by_external_id("bc-fault"),
        g.add_ticket_note(ticket_id, NOTE),
        g.picklists(refresh=True),
        g.create_ticket(DRAFT),
        g.get_tickets([ticket_id]),
        g.get_ticket(ticket_id),
        g.add_ticket_note(ticket_id, NOTE),
    ]
    results = await asyncio.gather(*calls)
    assert all(r is not None for r in results)
    assert world.sim.peak_in_flight["Tickets"] == 3 and world.sim.thread_refusals["Tickets"] == 0
    assert world.sleeps == []  # never refused, never retried


async def test_two_processes_without_a_shared_budget_are_refused_and_retry_until_served(world: SimulatorWorld) -> None:
    """Two connectors with budgets of their own (processes that share no budget) overrun the tenant's thread limit:
    the refusals were not processed, so every create is retried and lands exactly once."""
    urls = world.connector.zone_discovery_urls
    one, other = (AutotaskConnector(zone_discovery_urls=urls, backoff_base=0.05) for _ in range(2))  # real waits
    try:
        world.sim.inject(Fault("latency", entity="Tickets", method="POST", seconds=0.1, times=None))
        drafts = [replace(DRAFT, external_id=f"bc-two-{i}") for i in range(8)]
        gateways = [one.connect(GOOD), other.connect(GOOD)]
        ids = await asyncio.gather(*(gateways[i % 2].create_ticket(d) for i, d in enumerate(drafts)))
        assert len(set(ids)) == 8 and len(world.sim.tickets) == 8
        assert sorted(t["externalID"] for t in world.sim.tickets.values()) == sorted(d.external_id for d in drafts)
        assert world.sim.thread_refusals["Tickets"] > 0 and world.sim.peak_in_flight["Tickets"] > 3
    finally:
        await one.aclose()
        await other.aclose()


async def test_a_shared_budget_keeps_two_connectors_under_the_limit(world: SimulatorWorld) -> None:
    budget = LocalBudget()
    first = AutotaskConnector(zone_discovery_urls=world.connector.zone_discovery_urls, budget=budget)
    second = AutotaskConnector(zone_discovery_urls=world.connector.zone_discovery_urls, budget=budget)
    try:
        world.sim.inject(Fault("latency", entity="Tickets", method="POST", seconds=0.05, times=None))
        drafts = [replace(DRAFT, external_id=f"bc-shared-{i}") for i in range(8)]
        gateways = [first.connect(GOOD), second.connect(GOOD)]
        await asyncio.gather(*(gateways[i % 2].create_ticket(d) for i, d in enumerate(drafts)))
        assert len(world.sim.tickets) == 8
        assert world.sim.peak_in_flight["Tickets"] == 3 and world.sim.thread_refusals["Tickets"] == 0
    finally:
        await first.aclose()
        await second.aclose()
