"""The in-memory fake of the PSA port keeps up with the Autotask client: configurable rights, counted like its other
operations, and a ticket's category, Work Type and UDFs kept as the client sends them."""

from __future__ import annotations

import dataclasses

import pytest

from adapters.fake_psa import FakeConnector, FakePsa
from application.ports import AccessLevel, EntityRights, PsaAuthError, Rights

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
