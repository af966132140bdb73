"""Mappings, ingest, settings and diagnostics through the use cases."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from cryptography.fernet import Fernet

from adapters.secret_box import FernetSecretBox
from application.errors import (
    AutotaskPermissionDenied,
    AutotaskUnavailable,
    Conflict,
    Forbidden,
    InvalidInput,
    NotConfigured,
    NotFound,
    Unprocessable,
)
from application.ports import AuthFailure, Company, PsaUnavailable, RunQuery
from application.use_cases.clear_mapping import ClearMapping
from application.use_cases.confirm_mapping import ConfirmMapping
from application.use_cases.diagnostics import CheckConnection, ValidateConfiguration
from application.use_cases.list_customers import ListCustomers
from application.use_cases.map_customer import MapCustomer
from application.use_cases.put_customer import PutCustomer
from application.use_cases.put_run import PutRun
from application.use_cases.refresh_all_mappings import RefreshAllMappings
from application.use_cases.refresh_mapping import RefreshMapping
from application.use_cases.search_companies import SearchCompanies
from application.use_cases.settings import GetSettings, SettingsChange, UpdateSettings
from application.use_cases.view_runs import GetRun, ListRuns
from domain.audit import Outcome
from domain.mapping import MappingStatus
from domain.runs import Customer, RunStatus
from tests.support import ADMIN, OPERATOR, PASSWORD, REPORTER, UseCaseWorld, make_run


@pytest.fixture
async def world() -> UseCaseWorld:
    w = UseCaseWorld()
    await w.configure()
    await w.seed(company_id=None)
    for cid, name in ((100, "Acme B.V."), (101, "Globex"), (102, "Initech")):
        w.psa.add_company(cid, name)
    return w


async def test_map_checks_the_company_live_and_stores_id_and_name(world: UseCaseWorld) -> None:
    mapping = await MapCustomer(world.deps).execute(OPERATOR, "cust-1", 100)
    assert (mapping.status, mapping.company_id, mapping.company_name) == (MappingStatus.OK, 100, "Acme B.V.")
    views = await ListCustomers(world.deps).execute(REPORTER)
    assert views[0].customer.name == "Acme" and views[0].mapping == mapping  # the customer's own name is kept


@pytest.mark.parametrize(
    ("setup", "code"),
    [("missing", "company_not_found"), ("inactive", "company_inactive"), ("inaccessible", "company_inaccessible")],
)
async def test_map_refuses_unusable_companies(world: UseCaseWorld, setup: str, code: str) -> None:
    company = 999 if setup == "missing" else 101
    if setup == "inactive":
        world.psa.deactivate_company(101)
    if setup == "inaccessible":
        world.psa.inaccessible.add(101)
    with pytest.raises(Unprocessable) as caught:
        await MapCustomer(world.deps).execute(OPERATOR, "cust-1", company)
    assert caught.value.code == code
    async with world.uow() as uow:
        assert await uow.mappings.get("cust-1") is None


async def test_refresh_rename_confirm_and_invalid(world: UseCaseWorld) -> None:
    await MapCustomer(world.deps).execute(OPERATOR, "cust-1", 100)
    world.psa.rename_company(100, "Acme Group")
    renamed = await RefreshMapping(world.deps).execute(OPERATOR, "cust-1")
    assert (renamed.status, renamed.company_name, renamed.previous_company_name) == (
        MappingStatus.RENAMED,
        "Acme Group",
        "Acme B.V.",
    )
    assert (await ConfirmMapping(world.deps).execute(OPERATOR, "cust-1")).status is MappingStatus.OK
    del world.psa.companies[100]
    invalid = await RefreshMapping(world.deps).execute(OPERATOR, "cust-1")
    assert invalid.status is MappingStatus.INVALID and invalid.company_id == 100
    with pytest.raises(Conflict) as caught:
        await ConfirmMapping(world.deps).execute(OPERATOR, "cust-1")
    assert caught.value.code == "mapping_invalid"


async def test_clear_makes_missing_and_refresh_then_refuses(world: UseCaseWorld) -> None:
    await MapCustomer(world.deps).execute(OPERATOR, "cust-1", 100)
    cleared = await ClearMapping(world.deps).execute(OPERATOR, "cust-1")
    assert cleared.status is MappingStatus.MISSING and cleared.company_id is None
    with pytest.raises(Conflict) as caught:
        await RefreshMapping(world.deps).execute(OPERATOR, "cust-1")
    assert caught.value.code == "mapping_missing"


async def test_refresh_all_counts_outcomes_and_calls(world: UseCaseWorld) -> None:
    for cid, company in (("c2", 101), ("c3", 102)):
        await PutCustomer(world.deps).execute(ADMIN, Customer(cid, cid.upper()))
        await MapCustomer(world.deps).execute(OPERATOR, cid, company)
    await MapCustomer(world.deps).execute(OPERATOR, "cust-1", 100)
    world.psa.rename_company(101, "Globex Corp")
    world.psa.deactivate_company(102)
    reads_before = world.psa.calls["get_company"]
    summary = await RefreshAllMappings(world.deps).execute(OPERATOR)
    assert (summary.checked, summary.ok, summary.renamed, summary.invalid) == (3, 1, 1, 1)
    assert summary.autotask_calls == 1 and world.psa.calls["get_company"] == reads_before  # nothing to confirm


async def test_a_permission_answer_is_the_integrations_problem_not_the_mappings(world: UseCaseWorld) -> None:
    """Autotask's "not adequate permissions" is about the API user's rights: the refresh fails with its own code and
    an audit record, and the mapping (and its tickets) stay as they were."""
    await MapCustomer(world.deps).execute(OPERATOR, "cust-1", 100)
    async with world.uow() as uow:
        before = await uow.mappings.get("cust-1")
    world.psa.inaccessible.add(100)
    with pytest.raises(AutotaskPermissionDenied) as caught:
        await RefreshMapping(world.deps).execute(OPERATOR, "cust-1")
    assert caught.value.code == "autotask_permission_denied" and "adequate permissions" in caught.value.message
    with pytest.raises(AutotaskPermissionDenied):
        await RefreshAllMappings(world.deps).execute(OPERATOR)
    async with world.uow() as uow:
        assert await uow.mappings.get("cust-1") == before
        records = [r.entry for r in await uow.audit.all() if r.entry.action.startswith("mapping.refresh")]
    assert [(e.outcome, e.details.get("code", e.details.get("invalid"))) for e in records] == [
        (Outcome.FAILED, "autotask_permission_denied"),
        (Outcome.FAILED, 0),
    ]


async def test_refresh_failure_changes_nothing(world: UseCaseWorld) -> None:
    await MapCustomer(world.deps).execute(OPERATOR, "cust-1", 100)
    world.psa.fail_next("get_company", PsaUnavailable("timeout"))
    with pytest.raises(AutotaskUnavailable):
        await RefreshMapping(world.deps).execute(OPERATOR, "cust-1")
    async with world.uow() as uow:
        mapping = await uow.mappings.get("cust-1")
        records = await uow.audit.all()
    assert mapping is not None and mapping.status is MappingStatus.OK
    assert (records[-1].entry.action, records[-1].entry.outcome) == ("mapping.refresh", Outcome.FAILED)


async def test_reporter_cannot_map_or_search(world: UseCaseWorld) -> None:
    with pytest.raises(Forbidden):
        await MapCustomer(world.deps).execute(REPORTER, "cust-1", 100)
    with pytest.raises(Forbidden):
        await SearchCompanies(world.deps).execute(REPORTER, "acme")


async def test_search_companies(world: UseCaseWorld) -> None:
    page = await SearchCompanies(world.deps).execute(OPERATOR, "glob")
    assert [c.id for c in page.companies] == [101] and page.after_id is None
    with pytest.raises(InvalidInput):
        await SearchCompanies(world.deps).execute(OPERATOR, "  ")
    for limit in (0, 501):
        with pytest.raises(InvalidInput):
            await SearchCompanies(world.deps).execute(OPERATOR, "glob", limit)


async def test_put_run_needs_a_known_customer_and_admin(world: UseCaseWorld) -> None:
    with pytest.raises(Unprocessable) as caught:
        await PutRun(world.deps).execute(ADMIN, make_run("r9", customer_id="nobody"))
    assert caught.value.code == "unknown_customer"
    with pytest.raises(Forbidden):
        await PutRun(world.deps).execute(OPERATOR, make_run("r9"))
    assert await PutRun(world.deps).execute(ADMIN, make_run("r9")) is True
    assert await PutRun(world.deps).execute(ADMIN, make_run("r9", status=RunStatus.WARNING)) is False


async def test_run_views_offer_actions_by_role_and_state(world: UseCaseWorld) -> None:
    await MapCustomer(world.deps).execute(OPERATOR, "cust-1", 100)
    view = await GetRun(world.deps).execute(OPERATOR, "run-1")
    assert view.actions == ("create_ticket",) and view.customer_name == "Acme"
    assert (await GetRun(world.deps).execute(REPORTER, "run-1")).actions == ()
    runs = await ListRuns(world.deps).execute(REPORTER, RunQuery(statuses=frozenset({RunStatus.ERROR})))
    assert [v.run.id for v in runs] == ["run-1"]


async def test_settings_seal_the_password_and_audit_no_secret(world: UseCaseWorld) -> None:
    updated = await UpdateSettings(world.deps).execute(
        ADMIN, SettingsChange({"default_queue_id": 7}, api_password="n3w-s3cret!")
    )
    assert updated.api_password_sealed and "n3w-s3cret!" not in updated.api_password_sealed
    assert world.secrets.open(updated.api_password_sealed) == "n3w-s3cret!"
    kept = await UpdateSettings(world.deps).execute(ADMIN, SettingsChange({"allow_resolve": False}))
    assert kept.api_password_sealed == updated.api_password_sealed
    async with world.uow() as uow:
        dump = repr(await uow.audit.all())
    assert "n3w-s3cret!" not in dump and PASSWORD not in dump and "default_queue_id" in dump
    with pytest.raises(InvalidInput):
        await UpdateSettings(world.deps).execute(ADMIN, SettingsChange({"installation_id": "x"}))
    with pytest.raises(Forbidden):
        await GetSettings(world.deps).execute(OPERATOR)


@pytest.mark.parametrize(
    ("accept", "code"),
    [
        (("someone@else", PASSWORD, "TRACKING01"), AuthFailure.UNKNOWN_USER.value),
        (("api@example.com", "other", "TRACKING01"), AuthFailure.BAD_SECRET.value),
        (("api@example.com", PASSWORD, "OTHER"), AuthFailure.BAD_TRACKING_IDENTIFIER.value),
    ],
)
async def test_connection_test_names_each_failure(world: UseCaseWorld, accept: tuple[str, str, str], code: str) -> None:
    world.psa.accept = accept
    result = await CheckConnection(world.deps).execute(ADMIN)
    assert not result.ok and result.code == code and result.message


async def test_connection_test_ok_and_unreachable(world: UseCaseWorld) -> None:
    ok = await CheckConnection(world.deps).execute(ADMIN)
    assert ok.ok and ok.zone is not None
    world.psa.fail_next("zone", PsaUnavailable("connection refused"))
    down = await CheckConnection(world.deps).execute(ADMIN)
    assert (down.ok, down.code) == (False, "unreachable")


async def test_connection_test_and_validation_name_missing_credentials() -> None:
    w = UseCaseWorld()
    result = await CheckConnection(w.deps).execute(ADMIN)
    assert (result.ok, result.code) == (False, "not_configured") and "incomplete" in result.message
    validation = await ValidateConfiguration(w.deps).execute(ADMIN)
    assert not validation.ok
    assert {p.setting for p in validation.problems} == {"api_username", "api_password", "tracking_identifier"}


async def test_validation_reports_refused_credentials_as_problems(world: UseCaseWorld) -> None:
    world.psa.accept = ("api@example.com", "another", "TRACKING01")
    validation = await ValidateConfiguration(world.deps).execute(ADMIN)
    assert [(p.setting, "password" in p.message) for p in validation.problems] == [("api_password", True)]


async def test_unreadable_password_is_an_audited_not_configured() -> None:
    w = UseCaseWorld()
    await w.configure()
    await w.seed()
    w.secrets = FernetSecretBox(Fernet.generate_key())  # the key changed since the password was sealed
    with pytest.raises(NotConfigured, match="enter the password again"):
        await RefreshMapping(w.deps).execute(OPERATOR, "cust-1")
    async with w.uow() as uow:
        last = (await uow.audit.all())[-1].entry
    assert (last.action, last.outcome, last.details["code"]) == (
        "mapping.refresh",
        Outcome.DENIED,
        "integration_disabled",
    )


async def test_invalid_input_is_audited(world: UseCaseWorld) -> None:
    with pytest.raises(InvalidInput):
        await PutCustomer(world.deps).execute(ADMIN, Customer("c9", "   "))
    with pytest.raises(InvalidInput):
        await UpdateSettings(world.deps).execute(ADMIN, SettingsChange({"new_ticket_status_id": 5}))
    async with world.uow() as uow:
        records = [(r.entry.action, r.entry.outcome) for r in await uow.audit.all()]
    assert records[-2:] == [("customer.put", Outcome.DENIED), ("settings.update", Outcome.DENIED)]


async def test_a_mapping_changed_during_a_check_is_not_overwritten(world: UseCaseWorld) -> None:
    await MapCustomer(world.deps).execute(OPERATOR, "cust-1", 100)

    def clearing_during(lookup: Callable[[int], Awaitable[Company]]) -> Callable[[int], Awaitable[Company]]:
        async def racing(company_id: int) -> Company:
            await ClearMapping(world.deps).execute(OPERATOR, "cust-1")  # an operator acts meanwhile
            return await lookup(company_id)

        return racing

    world.psa.rename_company(100, "Acme Group")
    racing_deps = world.deps_with(get_company=clearing_during)
    with pytest.raises(Conflict) as caught:
        await RefreshMapping(racing_deps).execute(OPERATOR, "cust-1")
    assert caught.value.code == "mapping_changed"
    async with world.uow() as uow:
        mapping = await uow.mappings.get("cust-1")
    assert mapping is not None and mapping.status is MappingStatus.MISSING


async def test_refresh_all_keeps_what_it_checked_before_autotask_failed(world: UseCaseWorld) -> None:
    for cid, company in (("c2", 101), ("c3", 102)):
        await PutCustomer(world.deps).execute(ADMIN, Customer(cid, cid.upper()))
        await MapCustomer(world.deps).execute(OPERATOR, cid, company)
    world.psa.rename_company(101, "Globex Corp")
    del world.psa.companies[102]  # missing from the bulk answer: its confirmation fails
    world.psa.fail_next("get_company", PsaUnavailable("timeout"))
    with pytest.raises(AutotaskUnavailable):
        await RefreshAllMappings(world.deps).execute(OPERATOR)
    async with world.uow() as uow:
        renamed = await uow.mappings.get("c2")
        unchecked = await uow.mappings.get("c3")
        record = (await uow.audit.all())[-1]
    assert renamed is not None and renamed.status is MappingStatus.RENAMED
    assert unchecked is not None and unchecked.status is MappingStatus.OK
    assert (record.entry.outcome, record.entry.details["checked"], record.entry.details["not_checked"]) == (
        Outcome.FAILED,
        1,
        1,
    )


async def test_refresh_of_an_unknown_customer_is_not_found(world: UseCaseWorld) -> None:
    with pytest.raises(NotFound) as caught:
        await RefreshMapping(world.deps).execute(OPERATOR, "nobody")
    assert caught.value.code == "customer_not_found"


async def test_a_run_with_a_ticket_cannot_move_to_another_customer(world: UseCaseWorld) -> None:
    from application.use_cases.create_ticket import CreateTicket

    await MapCustomer(world.deps).execute(OPERATOR, "cust-1", 100)
    await CreateTicket(world.deps).execute(OPERATOR, "run-1")
    await PutCustomer(world.deps).execute(ADMIN, Customer("c2", "Other"))
    with pytest.raises(Conflict) as caught:
        await PutRun(world.deps).execute(ADMIN, make_run("run-1", customer_id="c2"))
    assert caught.value.code == "run_has_ticket"
    assert await PutRun(world.deps).execute(ADMIN, make_run("run-1", status=RunStatus.SUCCESS)) is False


async def test_run_views_say_why_creating_is_blocked(world: UseCaseWorld) -> None:
    assert (await GetRun(world.deps).execute(OPERATOR, "run-1")).create_blocked_reason == "mapping_missing"
    assert (await GetRun(world.deps).execute(REPORTER, "run-1")).create_blocked_reason == "forbidden"
    await MapCustomer(world.deps).execute(OPERATOR, "cust-1", 100)
    assert (await GetRun(world.deps).execute(OPERATOR, "run-1")).create_blocked_reason is None
    await world.configure(enabled=False)
    assert (await GetRun(world.deps).execute(OPERATOR, "run-1")).create_blocked_reason == "integration_disabled"


async def test_validate_configuration(world: UseCaseWorld) -> None:
    assert (await ValidateConfiguration(world.deps).execute(ADMIN)).ok
    await world.configure(default_queue_id=29683482, note_publish_id=1)
    result = await ValidateConfiguration(world.deps).execute(ADMIN)
    assert not result.ok and {p.setting for p in result.problems} == {"default_queue_id", "note_publish_id"}


async def test_runs_without_credentials_offer_no_create(world: UseCaseWorld) -> None:
    await MapCustomer(world.deps).execute(OPERATOR, "cust-1", 100)
    await world.configure(tracking_identifier="")
    view = await GetRun(world.deps).execute(OPERATOR, "run-1")
    assert (view.actions, view.create_blocked_reason) == ((), "integration_disabled")
