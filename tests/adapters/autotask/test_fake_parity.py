"""The in-memory fake of the PSA port keeps up with the Autotask client: configurable rights, counted like its other
operations, and a ticket's category, Work Type and UDFs kept as the client sends them."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from adapters.fake_psa import FakeConnector, FakePsa
from application.ports import AccessLevel, EntityRights, NoteDraft, PsaAuthError, Rights

from .conftest import creds
from .test_operations import DRAFT

FULL = EntityRights(AccessLevel.FULL, AccessLevel.FULL, AccessLevel.FULL)


async def test_the_fake_answers_full_rights_by_default_and_counts_the_call() -> None:
    psa = FakePsa()
    gateway = FakeConnector(psa).connect(creds())
    assert await gateway.rights() == Rights(FULL, FULL, FULL, FULL)
    assert psa.calls["rights"] == 1 and gateway.calls == 1


async def test_the_fake_rights_can_be_restricted_per_area_and_action() -> None:
    psa = FakePsa()
    psa.restrict("time_entries", query=AccessLevel.LIMITED)
    psa.restrict("notes", create=AccessLevel.NONE, update=AccessLevel.NONE)
    rights = await FakeConnector(psa).connect(creds()).rights()
    assert rights.time_entries == EntityRights(AccessLevel.FULL, AccessLevel.LIMITED, AccessLevel.FULL)
    assert rights.notes == EntityRights(AccessLevel.NONE, AccessLevel.FULL, AccessLevel.NONE)
    assert (rights.tickets, rights.companies) == (FULL, FULL)
    with pytest.raises(AttributeError):
        psa.restrict("invoices", query=AccessLevel.NONE)


async def test_the_fake_refuses_rights_to_refused_credentials() -> None:
    psa = FakePsa(accept=("someone-else", "x", "y"))
    with pytest.raises(PsaAuthError, match="Zone information"):
        await FakeConnector(psa).connect(creds()).rights()


async def test_the_fake_keeps_category_work_type_and_udfs_on_its_ticket() -> None:
    psa = FakePsa()
    psa.add_company(DRAFT.company_id, "Acme")
    gateway = FakeConnector(psa).connect(creds())
    draft = dataclasses.replace(DRAFT, category_id=100, work_type_id=29682801, udfs=(("Customer Impact", "2"),))
    ticket = psa.tickets[await gateway.create_ticket(draft)]
    assert (ticket.category_id, ticket.work_type_id, ticket.udfs) == (100, 29682801, {"Customer Impact": "2"})
    plain = psa.tickets[await gateway.create_ticket(dataclasses.replace(DRAFT, external_id="bc-other"))]
    assert (plain.category_id, plain.work_type_id, plain.udfs) == (None, None, {})


async def test_the_fake_stamps_every_change_and_pages_its_changes_by_500() -> None:
    at = [datetime(2026, 1, 15, 2, 10, tzinfo=UTC)]
    psa = FakePsa(clock=lambda: at[0])
    psa.add_company(DRAFT.company_id, "Acme")
    gateway = FakeConnector(psa).connect(creds())
    ids = [await gateway.create_ticket(dataclasses.replace(DRAFT, external_id=f"bc-x-{i}")) for i in range(1001)]
    assert {psa.tickets[i].modified_at for i in ids} == {at[0]}
    before = at[0] - timedelta(seconds=1)
    assert len(await gateway.changed_tickets("BC-X-", before)) == 1001 and psa.calls["changed_tickets"] == 3
    at[0] += timedelta(minutes=1)
    psa.set_status(ids[0], 5)
    psa.add_time_entry(ids[1])
    await gateway.add_ticket_note(ids[2], NoteDraft("t", "d", 1, 2))
    await gateway.complete_ticket(ids[3], 5)
    changed = await gateway.changed_tickets("bc-x-", at[0] - timedelta(seconds=1))
    assert [f.ticket_id for f in changed] == ids[:4] and psa.calls["changed_tickets"] == 4
    assert await gateway.changed_tickets("bc-x-", at[0]) == []  # after `since`, not at it
