"""The PSA port's contract, run against the in-memory fake and against the real adapter over HTTP to the simulator.

Whatever one backend does here, the other must do too: the fake stays honest, the adapter reads Autotask right.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from application.ports import (
    AccessLevel,
    AuthFailure,
    NoteDraft,
    PsaAuthError,
    PsaGateway,
    PsaNotFound,
    PsaRejected,
    PsaUnavailable,
)
from domain.draft import TicketDraft
from domain.tickets import CLOSING_NOTE, CLOSING_NOTE_TITLE, STATUS_COMPLETE

from .worlds import GOOD, PsaWorld


async def draft_for(gateway: PsaGateway, company_id: int, external_id: str) -> TicketDraft:
    """A ticket every tenant accepts: values taken from the tenant's own picklists."""
    picklists = await gateway.picklists()
    priority = next(p.id for p in picklists.priorities if p.is_active)
    queue = next(q.id for q in picklists.queues if q.is_active)
    return TicketDraft(
        company_id=company_id,
        title="[Backupchecks] Acme - Nightly - Error",
        description="Backup failed\nReference: run-1",
        status=1,
        priority=priority,
        queue_id=queue,
        issue_type_id=None,
        sub_issue_type_id=None,
        source_id=None,
        external_id=external_id,
        due_at=datetime(2026, 1, 16, 2, 10, tzinfo=UTC),
    )


async def new_ticket(world: PsaWorld, external_id: str = "bc-contract-1") -> tuple[PsaGateway, int]:
    world.add_company(100, "Acme Corporation")
    gateway = world.gateway()
    return gateway, await gateway.create_ticket(await draft_for(gateway, 100, external_id))


async def test_company_get_rename_deactivate_and_not_found(world: PsaWorld) -> None:
    world.add_company(100, "Acme Corporation")
    gateway = world.gateway()
    company = await gateway.get_company(100)
    assert (company.id, company.name, company.is_active) == (100, "Acme Corporation", True)
    world.rename_company(100, "Acme Corp (renamed)")
    world.deactivate_company(100)
    company = await gateway.get_company(100)
    assert (company.name, company.is_active) == ("Acme Corp (renamed)", False)
    with pytest.raises(PsaNotFound):
        await gateway.get_company(99999)


async def test_search_companies_by_part_of_the_name(world: PsaWorld) -> None:
    for company_id, name in ((100, "Acme Corporation"), (101, "Globex"), (102, "acme labs")):
        world.add_company(company_id, name)
    found = await world.gateway().search_companies("ACME")
    assert sorted(c.id for c in found.companies) == [100, 102] and found.after_id is None
    first = await world.gateway().search_companies("acme", limit=1)
    assert [c.id for c in first.companies] == [100] and first.after_id == 100
    rest = await world.gateway().search_companies("acme", limit=1, after_id=first.after_id)
    assert [c.id for c in rest.companies] == [102] and rest.after_id is None
    assert (await world.gateway().search_companies("no such company")).companies == []


async def test_company_search_pages_through_1200_matches(world: PsaWorld) -> None:
    for n in range(1, 1201):
        world.add_company(1000 + n, f"Match {n}")
    world.add_company(5000, "Other")
    gateway, seen, pages, after = world.gateway(), [], 0, None
    while True:
        page = await gateway.search_companies("match", limit=500, after_id=after)
        seen += [c.id for c in page.companies]
        pages += 1
        if page.after_id is None:
            break
        after = page.after_id
    assert sorted(seen) == list(range(1001, 2201)) and len(seen) == len(set(seen)) and pages == 3


async def test_create_get_and_find_by_external_id(world: PsaWorld) -> None:
    gateway, ticket_id = await new_ticket(world, "bc-contract-create")
    facts = await gateway.get_ticket(ticket_id)
    assert facts is not None
    assert facts.ticket_id == ticket_id and facts.status == 1 and facts.external_id == "bc-contract-create"
    assert facts.ticket_number.startswith("T") and facts.url and facts.url.endswith(f"TicketID={ticket_id}")
    assert await gateway.find_ticket_by_external_id("bc-contract-create") == facts
    assert await gateway.find_ticket_by_external_id("bc-nothing") is None
    assert await gateway.get_ticket(ticket_id + 999) is None


async def test_bulk_get_leaves_out_missing_and_deleted_tickets(world: PsaWorld) -> None:
    gateway, first = await new_ticket(world, "bc-bulk-1")
    second = await gateway.create_ticket(await draft_for(gateway, 100, "bc-bulk-2"))
    third = await gateway.create_ticket(await draft_for(gateway, 100, "bc-bulk-3"))
    world.delete_ticket(third)
    world.set_status(second, 8)
    found = await gateway.get_tickets([first, second, third, 424242])
    assert sorted(found) == [first, second]
    assert found[second].status == 8 and found[first].external_id == "bc-bulk-1"
    assert await gateway.get_tickets([]) == {}


async def test_tickets_by_external_ids_finds_every_ticket_of_each_id_in_batches_of_400(world: PsaWorld) -> None:
    gateway, first = await new_ticket(world, "bc-twice")
    second = await gateway.create_ticket(await draft_for(gateway, 100, "bc-twice"))
    other = await gateway.create_ticket(await draft_for(gateway, 100, "bc-once"))
    before = world.requests()
    others = [f"bc-none-{n}" for n in range(798)]
    found = await gateway.tickets_by_external_ids(["bc-twice", *others, "bc-once", "bc-twice"])
    assert sorted((f.external_id, f.ticket_id) for f in found) == [
        ("bc-once", other),
        ("bc-twice", first),
        ("bc-twice", second),
    ]
    assert world.requests() - before == 2  # 800 distinct ids: two `in` queries of 400
    assert await gateway.tickets_by_external_ids([]) == [] and world.requests() - before == 2


async def test_time_entries_are_counted_per_ticket(world: PsaWorld) -> None:
    gateway, ticket_id = await new_ticket(world)
    assert await gateway.count_time_entries(ticket_id) == 0
    world.add_time_entry(ticket_id)
    world.add_time_entry(ticket_id)
    assert await gateway.count_time_entries(ticket_id) == 2


async def test_note_added_and_found_by_exact_text(world: PsaWorld) -> None:
    gateway, ticket_id = await new_ticket(world)
    picklists = await gateway.picklists()
    internal = next(p.id for p in picklists.note_publish if "internal" in p.label.lower())
    note = NoteDraft(CLOSING_NOTE_TITLE, CLOSING_NOTE, picklists.note_types[0].id, internal)
    assert await gateway.find_ticket_note(ticket_id, CLOSING_NOTE) is None
    note_id = await gateway.add_ticket_note(ticket_id, note)
    assert await gateway.find_ticket_note(ticket_id, CLOSING_NOTE) == note_id
    assert await gateway.find_ticket_note(ticket_id, CLOSING_NOTE[:-1]) is None
    with pytest.raises(PsaNotFound):
        await gateway.add_ticket_note(ticket_id + 999, note)


async def test_complete_sets_status_5(world: PsaWorld) -> None:
    gateway, ticket_id = await new_ticket(world)
    calls = gateway.calls
    await gateway.complete_ticket(ticket_id, STATUS_COMPLETE)
    assert gateway.calls == calls + 1  # one request: no read after the PATCH
    again = await gateway.get_ticket(ticket_id)
    assert again is not None and again.status == STATUS_COMPLETE and again.external_id == "bc-contract-1"
    with pytest.raises(PsaNotFound):
        await gateway.complete_ticket(ticket_id + 999, STATUS_COMPLETE)


async def test_picklists_have_values_and_an_internal_publish_value(world: PsaWorld) -> None:
    picklists = await world.gateway().picklists()
    for values in (
        picklists.queues,
        picklists.priorities,
        picklists.statuses,
        picklists.note_types,
        picklists.note_publish,
    ):
        assert values
    assert picklists.status_label(STATUS_COMPLETE) == "Complete"
    assert any("internal" in p.label.lower() for p in picklists.note_publish)
    assert {"companyID", "title", "status", "priority"} <= picklists.required_ticket_fields
    assert await world.gateway().picklists(refresh=True) == picklists


async def test_usage_and_zone(world: PsaWorld) -> None:
    gateway = world.gateway()
    usage = await gateway.usage()
    assert usage.limit == 10_000 and usage.timeframe_minutes == 60 and usage.requests_this_hour >= 1
    zone = await gateway.zone()
    assert zone.api_url.endswith("/") and zone.web_url.endswith("/")
    assert gateway.calls >= 2


@pytest.mark.parametrize(
    ("change", "failure"),
    [
        ({"username": "nobody@example.com"}, AuthFailure.UNKNOWN_USER),
        ({"secret": "wrong"}, AuthFailure.BAD_SECRET),
        ({"tracking_identifier": "WRONG"}, AuthFailure.BAD_TRACKING_IDENTIFIER),
    ],
)
async def test_auth_failures_per_kind(world: PsaWorld, change: dict[str, Any], failure: AuthFailure) -> None:
    world.add_company(100, "Acme Corporation")
    with pytest.raises(PsaAuthError) as caught:
        await world.gateway(dataclasses.replace(GOOD, **change)).get_company(100)
    assert caught.value.failure is failure and caught.value.message


async def test_unavailable_then_healed(world: PsaWorld) -> None:
    world.add_company(100, "Acme Corporation")
    world.break_company_reads()
    with pytest.raises(PsaUnavailable) as caught:
        await world.gateway().get_company(100)
    assert caught.value.maybe_applied is False
    world.heal()
    assert (await world.gateway().get_company(100)).id == 100


async def test_a_create_whose_answer_was_lost_is_found_by_its_external_id(world: PsaWorld) -> None:
    world.add_company(100, "Acme Corporation")
    gateway = world.gateway()
    draft = await draft_for(gateway, 100, "bc-lost-answer")
    world.lose_next_create_answer()
    with pytest.raises(PsaUnavailable) as caught:
        await gateway.create_ticket(draft)
    assert caught.value.maybe_applied is True
    found = await gateway.find_ticket_by_external_id("bc-lost-answer")
    assert found is not None and world.tickets_with_external_id("bc-lost-answer") == 1


async def test_companies_are_read_in_bulk_and_a_missing_company_is_left_out(world: PsaWorld) -> None:
    for company_id, name, active in ((100, "Acme Corporation", True), (101, "Globex", False)):
        world.add_company(company_id, name, active=active)
    gateway = world.gateway()
    found = await gateway.get_companies([101, 100, 99999, 100])
    assert {c.id: (c.name, c.is_active) for c in found.values()} == {
        100: ("Acme Corporation", True),
        101: ("Globex", False),
    }
    assert sorted(found) == [100, 101] and await gateway.get_companies([]) == {}


# ------------------------------------------------------------------ rules real tenants enforce (README, issue 8)


async def test_a_ticket_needs_a_queue_and_gets_its_due_date(world: PsaWorld) -> None:
    world.add_company(100, "Acme Corporation")
    gateway = world.gateway()
    draft = await draft_for(gateway, 100, "bc-rules-queue")
    with pytest.raises(PsaRejected, match="queueID cannot all be empty"):
        await gateway.create_ticket(dataclasses.replace(draft, queue_id=None))
    assert world.tickets_with_external_id("bc-rules-queue") == 0
    ticket_id = await gateway.create_ticket(draft)
    assert world.due_at(ticket_id) == draft.due_at


async def test_a_note_needs_a_note_type_and_a_publish_value(world: PsaWorld) -> None:
    gateway, ticket_id = await new_ticket(world, "bc-rules-note")
    picklists = await gateway.picklists()
    default = next(t.id for t in picklists.note_types if t.is_default)
    with pytest.raises(PsaRejected, match="noteType"):
        await gateway.add_ticket_note(ticket_id, NoteDraft(CLOSING_NOTE_TITLE, CLOSING_NOTE, None, 2))
    assert await gateway.add_ticket_note(ticket_id, NoteDraft(CLOSING_NOTE_TITLE, CLOSING_NOTE, default, 2)) > 0


async def test_publish_values_are_the_real_ones_and_co_managed_is_not_internal(world: PsaWorld) -> None:
    from domain.picklists import internal_publish, is_internal_publish

    picklists = await world.gateway().picklists()
    ids = {p.id: p for p in picklists.note_publish}
    assert {1, 2, 4} <= set(ids)
    assert not is_internal_publish(ids[1]) and is_internal_publish(ids[2]) and not is_internal_publish(ids[4])
    assert internal_publish(None, picklists) == 2 and internal_publish(4, picklists) is None


async def test_refused_credentials_are_not_sent_again_until_tried_afresh(world: PsaWorld) -> None:
    wrong = dataclasses.replace(GOOD, secret="wrong")
    with pytest.raises(PsaAuthError):
        await world.gateway(wrong).get_company(100)
    sent = world.requests()
    for _ in range(3):
        with pytest.raises(PsaAuthError) as caught:
            await world.gateway(wrong).get_company(100)
        assert caught.value.failure is AuthFailure.BAD_SECRET
    assert world.requests() == sent  # the API user is not locked by repeated failures
    with pytest.raises(PsaAuthError):
        await world.connector.connect(wrong, fresh=True).get_company(100)  # an admin's Test connection tries again
    assert world.requests() > sent
    world.add_company(100, "Acme Corporation")
    assert (await world.gateway().get_company(100)).id == 100  # other credentials are unaffected


async def test_rights_say_what_the_api_users_security_level_allows(world: PsaWorld) -> None:
    gateway = world.gateway()
    every = await gateway.rights()
    assert {every.tickets.create, every.tickets.query, every.time_entries.query} == {AccessLevel.FULL}
    calls = world.requests()
    world.restrict("time_entries", query=AccessLevel.LIMITED)
    world.restrict("tickets", create=AccessLevel.NONE)
    narrowed = await gateway.rights()
    assert (narrowed.time_entries.query, narrowed.tickets.create) == (AccessLevel.LIMITED, AccessLevel.NONE)
    assert (narrowed.tickets.query, narrowed.companies.query) == (AccessLevel.FULL, AccessLevel.FULL)
    assert world.requests() - calls == (4 if world.name == "simulator" else 1)  # one per entity over HTTP


async def test_changed_tickets_are_ours_changed_since_and_never_the_deleted(world: PsaWorld) -> None:
    world.add_company(100, "Acme Corporation")
    gateway = world.gateway()
    draft, prefix = await draft_for(gateway, 100, "unused"), "bc-1a2b3c4d-"
    ours = [await gateway.create_ticket(dataclasses.replace(draft, external_id=f"{prefix}run-{i}")) for i in range(5)]
    other = await gateway.create_ticket(dataclasses.replace(draft, external_id="bc-99999999-run-0"))
    made = world.later(0)

    async def changed_since(since: datetime) -> dict[int, int]:
        return {f.ticket_id: f.status for f in await gateway.changed_tickets(prefix, since)}

    assert sorted(await changed_since(made - timedelta(minutes=5))) == ours
    last_poll = world.later(10)
    calls = gateway.calls
    assert await changed_since(last_poll) == {}
    assert gateway.calls == calls + 1  # nothing changed: one request
    world.later(1)
    world.set_status(ours[0], STATUS_COMPLETE)  # closed by a person in Autotask
    await gateway.complete_ticket(ours[1], STATUS_COMPLETE)  # by the API
    picklists = await gateway.picklists()
    internal = next(p.id for p in picklists.note_publish if "internal" in p.label.lower())
    await gateway.add_ticket_note(ours[2], NoteDraft("n", "a note", picklists.note_types[0].id, internal))
    world.add_time_entry(ours[3])
    world.set_status(ours[4], 8)
    world.delete_ticket(ours[4])  # changed, then deleted: not among the changes
    world.set_status(other, STATUS_COMPLETE)  # another installation's ticket
    assert await changed_since(last_poll) == {ours[0]: 5, ours[1]: 5, ours[2]: 1, ours[3]: 1}
    assert await changed_since(world.later(10)) == {}


async def test_active_companies_page_through_the_tenant_by_id(world: PsaWorld) -> None:
    for n in range(1, 1101):
        world.add_company(1000 + n, f"Company {n}", active=n % 10 != 0)
    gateway, seen, pages, after = world.gateway(), [], 0, None
    before = world.requests()
    while True:
        page = await gateway.active_companies(after_id=after)
        assert all(c.is_active for c in page.companies)
        seen += [c.id for c in page.companies]
        pages += 1
        if page.after_id is None:
            break
        after = page.after_id
    expected = [1000 + n for n in range(1, 1101) if n % 10 != 0]
    assert sorted(i for i in seen if i > 0) == expected and len(seen) == len(set(seen)) and pages == 2  # 0: the tenant
    assert world.requests() - before <= pages + 1  # one request a page (and, the first time, the zone's)
    small = await gateway.active_companies(limit=3, after_id=1000)
    assert [c.id for c in small.companies] == [1001, 1002, 1003] and small.after_id == 1003
