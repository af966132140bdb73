"""Issue 19: customers at scale through the use cases: one customer by id, the search and the mapping filter, the
count."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from application.errors import CustomerNotFound, Forbidden
from application.ports import Company, CustomerQuery, MappingFilter
from application.use_cases.clear_mapping import ClearMapping
from application.use_cases.list_customers import CountCustomers, GetCustomer, ListCustomers
from application.use_cases.map_customer import MapCustomer
from application.use_cases.mapping_suggestions import Accepted, AcceptSuggestions, SuggestMappings
from domain.mapping import MappingStatus
from domain.runs import Customer
from domain.suggestions import Candidate, CompanyIndex, Match, Suggestion, normalized
from tests.support import OPERATOR, REPORTER, UseCaseWorld


@pytest.fixture
async def world() -> UseCaseWorld:
    w = UseCaseWorld()
    await w.configure()
    async with w.uow() as uow:
        for n in range(700):
            await uow.customers.save(Customer(f"k-{n:04}", f"Klant {n} B.V."))
        await uow.commit()
    w.psa.add_company(100, "Klant 1 BV")
    w.psa.add_company(101, "Klant 2")
    return w


async def test_get_customer_finds_any_customer_by_id(world: UseCaseWorld) -> None:
    view = await GetCustomer(world.deps).execute(REPORTER, "k-0650")
    assert view.customer == Customer("k-0650", "Klant 650 B.V.") and view.mapping is None
    await MapCustomer(world.deps).execute(OPERATOR, "k-0650", 100)
    mapped = await GetCustomer(world.deps).execute(REPORTER, "k-0650")
    assert mapped.mapping is not None and mapped.mapping.company_id == 100
    with pytest.raises(CustomerNotFound):
        await GetCustomer(world.deps).execute(REPORTER, "k-9999")


async def test_list_and_count_search_and_filter(world: UseCaseWorld) -> None:
    await MapCustomer(world.deps).execute(OPERATOR, "k-0001", 100)
    await MapCustomer(world.deps).execute(OPERATOR, "k-0002", 101)
    await ClearMapping(world.deps).execute(OPERATOR, "k-0002")
    listed = await ListCustomers(world.deps).execute(REPORTER, 10, search="klant 1 b")
    assert [v.customer.id for v in listed] == ["k-0001"]
    ok = await ListCustomers(world.deps).execute(REPORTER, mapping=MappingFilter.OK)
    assert [(v.customer.id, v.mapping and v.mapping.status) for v in ok] == [("k-0001", MappingStatus.OK)]
    assert await CountCustomers(world.deps).execute(REPORTER, mapping=MappingFilter.MISSING) == 1
    assert await CountCustomers(world.deps).execute(REPORTER, mapping=MappingFilter.UNMAPPED) == 699
    assert await CountCustomers(world.deps).execute(REPORTER, search="KLANT 6") == 111
    assert await CountCustomers(world.deps).execute(REPORTER) == 700
    page = await ListCustomers(world.deps).execute(REPORTER, 3, after="k-0600", search="klant 6")
    assert [v.customer.id for v in page] == ["k-0601", "k-0602", "k-0603"]


# --------------------------------------------------------------------------- suggestions


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Acme B.V.", "acme"),
        ("ACME BV", "acme"),
        ("Acme, Inc.", "acme"),
        ("acme limited", "acme"),
        ("Müller GmbH", "müller"),
        ("Globex S.A.", "globex"),
        ("Initech N.V.", "initech"),
        ("Hooli AG", "hooli"),
        ("Vandelay Industries LLC", "vandelay industries"),
        ("O'Neill & Sons Ltd", "oneill sons"),
        ("BV", "bv"),
        ("Bavaria Inc BV", "bavaria"),
    ],
)
def test_names_normalise_case_punctuation_and_legal_suffixes(name: str, key: str) -> None:
    assert normalized(name) == key


def test_a_name_two_companies_share_suggests_nothing() -> None:
    index = CompanyIndex([Candidate(1, "Acme B.V."), Candidate(2, "ACME Ltd"), Candidate(3, "Globex")])
    assert index.suggest("c", "Acme") is None
    assert index.suggest("c", "Globex") == Suggestion("c", "Globex", 3, "Globex", Match.EXACT)
    assert index.suggest("c", "globex bv") == Suggestion("c", "globex bv", 3, "Globex", Match.NORMALIZED)
    assert index.suggest("c", "Globex East") is None


@pytest.fixture
async def tenant() -> UseCaseWorld:
    """2,000 customers "Firma n B.V." (n < 2000); the tenant has "Firma n" for every even n, a second "FIRMA n Ltd"
    for every n divisible by 10 (ambiguous), and "Firma n" inactive for n = 2, 4; customer 0 is mapped already."""
    w = UseCaseWorld()
    await w.configure()
    async with w.uow() as uow:
        for n in range(2000):
            await uow.customers.save(Customer(f"f-{n:04}", f"Firma {n} B.V."))
        await uow.commit()
    for n in range(0, 2000, 2):
        w.psa.add_company(10_000 + n, f"Firma {n}", active=n not in (2, 4))
    for n in range(0, 2000, 10):
        w.psa.add_company(20_000 + n, f"FIRMA {n} Ltd")
    w.psa.add_company(30_000, "Firma 1 B.V.")  # exact
    return w


def suggested_numbers() -> list[int]:
    return [n for n in range(1, 2000) if (n % 2 == 0 and n % 10 != 0 and n not in (2, 4)) or n == 1]


async def test_suggestions_read_the_companies_in_bulk_and_page_by_customer(tenant: UseCaseWorld) -> None:
    await MapCustomer(tenant.deps).execute(OPERATOR, "f-0006", 10_006)
    before = tenant.psa.total_calls
    found = await SuggestMappings(tenant.deps).execute(OPERATOR, 2000)
    calls = tenant.psa.total_calls - before
    companies = len([c for c in tenant.psa.companies.values() if c.is_active])
    assert calls == -(-companies // 500)  # one call per 500 active companies, none per customer
    expected = [n for n in suggested_numbers() if n != 6]
    assert [s.customer_id for s in found] == [f"f-{n:04}" for n in expected]
    assert found[0] == Suggestion("f-0001", "Firma 1 B.V.", 30_000, "Firma 1 B.V.", Match.EXACT)
    assert found[1] == Suggestion("f-0008", "Firma 8 B.V.", 10_008, "Firma 8", Match.NORMALIZED)
    page = await SuggestMappings(tenant.deps).execute(OPERATOR, 3, after="f-1000")
    assert [s.customer_id for s in page] == ["f-1002", "f-1004", "f-1006"]
    async with tenant.uow(read_only=True) as uow:  # a suggestion maps nothing
        assert await uow.customers.count(CustomerQuery(mapping=MappingFilter.OK)) == 1


async def test_accepting_maps_each_checked_live_and_audited(tenant: UseCaseWorld) -> None:
    await MapCustomer(tenant.deps).execute(OPERATOR, "f-0006", 10_006)
    tenant.psa.deactivate_company(10_012)  # between the suggestion and the check: the live check refuses it
    ids = ["f-0008", "f-0001", "f-0006", "f-0010", "f-0003", "nobody", "f-0012", "f-0008"]
    accepted = await AcceptSuggestions(tenant.deps).execute(OPERATOR, ids)
    assert accepted.mapped == 2
    assert accepted.refused == [
        ("f-0006", "already_mapped"),
        ("f-0010", "no_suggestion"),  # two companies under that name
        ("f-0003", "no_suggestion"),
        ("nobody", "customer_not_found"),
        ("f-0012", "no_suggestion"),  # inactive now: the bulk read leaves it out
    ]
    async with tenant.uow(read_only=True) as uow:
        mapping = await uow.mappings.get("f-0008")
        records = await uow.audit.all()
    assert mapping is not None and (mapping.company_id, mapping.company_name) == (10_008, "Firma 8")
    mapped = [
        (r.entry.target_id, r.entry.details.get("company_id")) for r in records if r.entry.action == "mapping.set"
    ]
    assert ("f-0008", 10_008) in mapped and ("f-0001", 30_000) in mapped


async def test_accepting_refuses_a_company_gone_at_the_live_check(tenant: UseCaseWorld) -> None:
    real = tenant.psa.companies[10_008]

    def gone_during(lookup: Callable[[int], Awaitable[Company]]) -> Callable[[int], Awaitable[Company]]:
        async def gone(company_id: int) -> Company:
            if company_id == real.id:
                tenant.psa.deactivate_company(real.id)
            return await lookup(company_id)

        return gone

    accepted = await AcceptSuggestions(tenant.deps_with(get_company=gone_during)).execute(OPERATOR, ["f-0008"])
    assert accepted == Accepted(0, [("f-0008", "company_inactive")])


async def test_suggestions_need_the_mapping_permission(tenant: UseCaseWorld) -> None:
    with pytest.raises(Forbidden):
        await SuggestMappings(tenant.deps).execute(REPORTER)
    with pytest.raises(Forbidden):
        await AcceptSuggestions(tenant.deps).execute(REPORTER, ["f-0008"])
