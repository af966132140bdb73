"""Every rule of docs/product.md that lives in the pure domain."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from domain.audit import (
    GENESIS_HASH,
    Anchor,
    AuditEntry,
    AuditKey,
    AuditRecord,
    ChainFault,
    JsonScalar,
    Outcome,
    chain,
    unkeyed_hash,
    verify_chain,
)
from domain.draft import build_ticket_draft, external_id, ticket_description, ticket_title
from domain.mapping import CompanyLookup, CompanyMapping, LookupOutcome, MappingStatus
from domain.picklists import CategoryDefaults, Picklists, PicklistValue, TicketUdf, UdfChoice, validate_configuration
from domain.roles import Actor, Permission, Role, permits
from domain.runs import Customer, RunStatus
from domain.settings import AutotaskSettings
from domain.tickets import (
    CLOSING_NOTE,
    DenyReason,
    LinkState,
    TicketLink,
    TicketStatus,
    decide_resolve,
)
from tests.support import T0, make_run

# ------------------------------------------------------------------------------------------------------ runs, roles


def test_tickets_only_for_warning_error_and_missed_runs() -> None:
    assert {s for s in RunStatus if s.ticketable} == {RunStatus.WARNING, RunStatus.ERROR, RunStatus.MISSED}


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.ADMIN, set(Permission)),
        (Role.OPERATOR, {Permission.VIEW_RUNS, Permission.MANAGE_TICKETS, Permission.MANAGE_MAPPINGS}),
        (Role.REPORTER, {Permission.VIEW_RUNS}),
    ],
)
def test_roles_table(role: Role, allowed: set[Permission]) -> None:
    assert {p for p in Permission if permits(role, p)} == allowed
    assert Actor("x", role).may(Permission.VIEW_RUNS)


# ------------------------------------------------------------------------------------------------------- mappings


def mapped(name: str = "Acme B.V.") -> CompanyMapping:
    return CompanyMapping.from_lookup("c1", CompanyLookup.found(100, name, is_active=True), T0)


def test_mapping_to_a_found_company_is_ok_and_keeps_id_and_name() -> None:
    m = mapped()
    assert (m.status, m.company_id, m.company_name, m.last_synced_at, m.psa) == (
        MappingStatus.OK,
        100,
        "Acme B.V.",
        T0,
        "autotask",
    )


@pytest.mark.parametrize("outcome", [LookupOutcome.NOT_FOUND, LookupOutcome.INACTIVE])
def test_cannot_map_to_a_company_that_is_not_usable(outcome: LookupOutcome) -> None:
    with pytest.raises(ValueError):
        CompanyMapping.from_lookup("c1", CompanyLookup(100, outcome, "X"), T0)


def test_same_name_stays_ok_and_updates_sync_time() -> None:
    later = T0 + timedelta(hours=1)
    m = mapped().after_lookup(CompanyLookup.found(100, "Acme B.V.", is_active=True), later)
    assert (m.status, m.last_synced_at, m.previous_company_name) == (MappingStatus.OK, later, None)


def test_new_name_is_renamed_with_previous_name_kept_and_id_unchanged() -> None:
    m = mapped().after_lookup(CompanyLookup.found(100, "Acme Group", is_active=True), T0)
    assert (m.status, m.company_id, m.company_name, m.previous_company_name) == (
        MappingStatus.RENAMED,
        100,
        "Acme Group",
        "Acme B.V.",
    )
    assert not m.blocks_tickets


def test_renamed_stays_renamed_until_confirmed() -> None:
    m = mapped().after_lookup(CompanyLookup.found(100, "Acme Group", is_active=True), T0)
    again = m.after_lookup(CompanyLookup.found(100, "Acme Group", is_active=True), T0)
    assert again.status is MappingStatus.RENAMED and again.previous_company_name == "Acme B.V."
    confirmed = again.confirmed()
    assert (confirmed.status, confirmed.company_name, confirmed.previous_company_name) == (
        MappingStatus.OK,
        "Acme Group",
        None,
    )


@pytest.mark.parametrize(
    ("outcome", "words"),
    [(LookupOutcome.NOT_FOUND, "no longer exists"), (LookupOutcome.INACTIVE, "inactive")],
)
def test_gone_company_makes_mapping_invalid_with_reason(outcome: LookupOutcome, words: str) -> None:
    m = mapped().after_lookup(CompanyLookup(100, outcome), T0)
    assert m.status is MappingStatus.INVALID and words in (m.status_reason or "")
    assert m.blocks_tickets and m.company_id == 100 and m.company_name == "Acme B.V."


def test_invalid_mapping_recovers_when_the_company_is_back() -> None:
    m = mapped().after_lookup(CompanyLookup(100, LookupOutcome.INACTIVE), T0)
    back = m.after_lookup(CompanyLookup.found(100, "Acme B.V.", is_active=True), T0)
    assert back.status is MappingStatus.OK and back.status_reason is None


def test_cleared_mapping_is_missing_and_blocks_tickets() -> None:
    m = mapped().cleared()
    assert (m.status, m.company_id, m.company_name) == (MappingStatus.MISSING, None, None)
    assert m.blocks_tickets


def test_invalid_or_missing_mapping_cannot_be_confirmed() -> None:
    with pytest.raises(ValueError):
        mapped().cleared().confirmed()
    with pytest.raises(ValueError):
        mapped().after_lookup(CompanyLookup(100, LookupOutcome.NOT_FOUND), T0).confirmed()


def test_lookup_of_another_company_is_refused() -> None:
    with pytest.raises(ValueError):
        mapped().after_lookup(CompanyLookup.found(101, "Other", is_active=True), T0)


# ---------------------------------------------------------------------------------------------------- ticket draft


def settings(**changes: Any) -> AutotaskSettings:
    base = AutotaskSettings(
        installation_id="0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        default_queue_id=5,
        default_issue_type_id=11,
        default_sub_issue_type_id=111,
        default_source_id=4,
        priority_error_id=1,
        priority_warning_id=2,
        backupchecks_base_url="https://bc.example/",
    )
    return replace(base, **changes)


@pytest.mark.parametrize(("status", "priority"), [(RunStatus.ERROR, 1), (RunStatus.MISSED, 1), (RunStatus.WARNING, 2)])
def test_draft_fields(status: RunStatus, priority: int) -> None:
    run = make_run(status=status)
    draft = build_ticket_draft(run, Customer("cust-1", "Acme"), mapped(), settings(), T0)
    assert draft.title == f"[Backupchecks] Acme - Nightly VMs - {status.value.capitalize()}"
    assert (
        draft.company_id,
        draft.priority,
        draft.queue_id,
        draft.issue_type_id,
        draft.sub_issue_type_id,
        draft.source_id,
        draft.status,
    ) == (100, priority, 5, 11, 111, 4, 1)
    assert draft.external_id == external_id(settings().installation_id, run.id)
    for part in (
        "2026-01-15 02:10:00 UTC",
        "Veeam Backup & Replication",
        "Backup job",
        "Nightly VMs",
        "- HV01 (VM): error - Snapshot failed",
        "- USB Disk: success",
        "Job finished with 1 error.",
        "Reference: https://bc.example/runs/run-1",
    ):
        assert part in draft.description


def test_reference_is_the_run_id_without_a_base_url() -> None:
    text = ticket_description(make_run(), Customer("c", "Acme"), None)
    assert text.endswith("Reference: Backupchecks run ID run-1")


def test_no_draft_for_success_runs_or_blocking_mappings() -> None:
    with pytest.raises(ValueError):
        build_ticket_draft(make_run(status=RunStatus.SUCCESS), Customer("c", "A"), mapped(), settings(), T0)
    with pytest.raises(ValueError):
        build_ticket_draft(make_run(), Customer("c", "A"), mapped().cleared(), settings(), T0)


def test_external_id_is_stable_short_and_distinct() -> None:
    a = external_id("inst-a", "run-1")
    assert a == external_id("inst-a", "run-1") and len(a) <= 50
    assert a != external_id("inst-a", "run-2") and a != external_id("inst-b", "run-1")


def test_long_title_keeps_prefix_and_status() -> None:
    title = ticket_title("C" * 300, "J" * 300, RunStatus.WARNING)
    assert len(title) == 255 and title.startswith("[Backupchecks] C") and title.endswith(" - Warning")


def test_description_truncation_says_what_was_cut() -> None:
    from domain.runs import ObjectStatus, RunObject

    run = replace(
        make_run(), objects=tuple(RunObject(f"VM{i:04}", ObjectStatus.ERROR, "VM", "x" * 80) for i in range(500))
    )
    text = ticket_description(run, Customer("c", "Acme"), None)
    assert len(text) <= 8000
    shown = sum(1 for line in text.splitlines() if line.startswith("- VM"))
    assert 0 < shown < 500 and f"… {500 - shown} more objects" in text
    assert "Affected objects (500):" in text and text.endswith("Reference: Backupchecks run ID run-1")


# ------------------------------------------------------------------------------------------------ resolution policy


def linked(**changes: Any) -> TicketLink:
    link = TicketLink.reserve("run-1", "bc-x", "oscar", T0).linked(
        42, "T20260115.0042", "u", TicketStatus(1, "New", T0)
    )
    return replace(link, **changes)


def decide(link: TicketLink | None, may: bool = True, allow: bool = True) -> DenyReason | None:
    return decide_resolve(link, may_resolve=may, allow_resolve=allow).reason


def test_policy_allows_an_open_ticket_without_time_entries() -> None:
    assert decide_resolve(linked(), may_resolve=True, allow_resolve=True).allowed


@pytest.mark.parametrize(
    ("link", "may", "allow", "reason"),
    [
        (None, True, True, DenyReason.NO_TICKET),
        (TicketLink.reserve("r", "e", "o", T0), True, True, DenyReason.NO_TICKET),
        (linked(state=LinkState.DELETED), True, True, DenyReason.TICKET_DELETED),
        (linked(status=TicketStatus(5, "Complete", T0)), True, True, DenyReason.ALREADY_CLOSED),
        (linked(state=LinkState.RESOLVED), True, True, DenyReason.ALREADY_CLOSED),
        (linked(time_entries=1), True, True, DenyReason.TIME_ENTRIES_PRESENT),
        (linked(), True, False, DenyReason.RESOLVING_DISABLED),
        (linked(), False, True, DenyReason.FORBIDDEN),
    ],
)
def test_policy_denials(link: TicketLink | None, may: bool, allow: bool, reason: DenyReason) -> None:
    decision = decide_resolve(link, may_resolve=may, allow_resolve=allow)
    assert not decision.allowed and decision.reason is reason and decision.message


def test_closing_note_text_is_fixed() -> None:
    assert CLOSING_NOTE == (
        "Ticket resolved via Backupchecks after verification that the backup issue is no longer present."
    )
    assert settings().closing_note == CLOSING_NOTE


def test_link_transitions_bump_the_version() -> None:
    link = TicketLink.reserve("r", "e", "o", T0)
    assert link.version == 1
    assert link.outcome_unknown().version == 2 and link.retaken("o", T0).attempt == 2
    claimed = linked().note_claimed(T0)
    assert claimed.note_in_flight(T0 + timedelta(seconds=10), 120)
    assert not claimed.note_in_flight(T0 + timedelta(seconds=121), 120)
    assert not claimed.note_unclaimed().note_in_flight(T0, 120) and claimed.note_unclaimed().closing_note_attempted


def test_stale_reservation() -> None:
    link = TicketLink.reserve("r", "e", "o", T0)
    assert not link.stale(T0 + timedelta(seconds=119), 120) and link.stale(T0 + timedelta(seconds=120), 120)


# ------------------------------------------------------------------------------------------------------------ audit


def entry(action: str = "ticket.create", **details: JsonScalar) -> AuditEntry:
    return AuditEntry.of(Actor("oscar", Role.OPERATOR), T0, action, ("run", "run-1"), Outcome.OK, **details)


KEY = AuditKey(b"k" * 32)


def keyed_chain(count: int, key: AuditKey = KEY) -> list[AuditRecord]:
    records: list[AuditRecord] = []
    for i in range(count):
        records.append(chain(records[-1] if records else None, entry(n=i, customer_id=f"c-{i}"), key))
    return records


def test_audit_chain_detects_edits_and_deletions() -> None:
    records = keyed_chain(4)
    check = verify_chain(records, KEY)
    assert check.ok and check.records == 4 and check.key_id == KEY.key_id and check.unkeyed_records == 0
    edited = [*records]
    edited[1] = replace(records[1], entry=replace(records[1].entry, actor="mallory"))
    assert verify_chain(edited, KEY).first_bad_seq == 2
    assert verify_chain([records[0], records[2], records[3]], KEY).first_bad_seq == 3


def test_audit_chain_cannot_be_recomputed_without_the_key() -> None:
    """Someone who can write the database edits a record and recomputes every hash after it: with a key of their
    own, or with the plain SHA-256 of the chain before it had a key. Both fail; so does an edit of the filter column."""
    records = keyed_chain(3)
    forged: list[AuditRecord] = [records[0]]
    for record in records[1:]:
        content = replace(record.entry, actor="mallory") if record.seq == 2 else record.entry
        forged.append(chain(forged[-1], content, AuditKey(b"m" * 32)))
    assert verify_chain(forged, KEY).first_bad_seq == 2
    plain = [records[0], replace(records[1], key_id=None, hash=unkeyed_hash(2, records[1].entry, records[0].hash))]
    assert verify_chain(plain, KEY).first_bad_seq == 2
    moved = replace(records[1], customer_id="c-other")
    assert verify_chain([records[0], moved, records[2]], KEY).first_bad_seq == 2
    assert "k" * 8 not in repr(KEY) and KEY.key_id in str(verify_chain(records, KEY))


def unkeyed(*entries: AuditEntry) -> list[AuditRecord]:
    records: list[AuditRecord] = []
    for seq, content in enumerate(entries, start=1):
        prev = records[-1].hash if records else GENESIS_HASH
        records.append(AuditRecord(seq, content, prev, unkeyed_hash(seq, content, prev), None, content.customer_id))
    return records


def test_records_from_before_the_key_lead_the_chain_and_stay_checkable() -> None:
    legacy = unkeyed(entry(n=0), entry(n=1))
    records = [*legacy, chain(legacy[-1], entry(n=2), KEY)]
    check = verify_chain(records, KEY)
    assert check.ok and check.unkeyed_records == 2 and check.records == 3
    rewritten = unkeyed(entry(n=9), entry(n=1))  # edited and recomputed: the first keyed record covers the last hash
    assert verify_chain([*rewritten, records[2]], KEY).first_bad_seq == 3
    late = AuditRecord(4, entry(n=3), records[-1].hash, unkeyed_hash(4, entry(n=3), records[-1].hash))
    assert verify_chain([*records, late], KEY).first_bad_seq == 4  # no unkeyed record after a keyed one
    assert verify_chain(keyed_chain(2, AuditKey(b"x" * 32)), KEY).first_bad_seq == 1  # another key: cannot check


def test_an_anchored_chain_cannot_be_downgraded_cut_or_deleted() -> None:
    """Issue 21 item 2: without the key, rewriting the whole log as a plain SHA-256 chain passes the walk alone (it
    looks like a log from before the key); the anchor, kept outside the database, says the chain has been keyed since
    seq 1 and where its head was."""
    records = keyed_chain(4)
    anchor = Anchor.at(KEY, records[-1], Anchor.at(KEY, records[0]))
    assert anchor.keyed_since == 1 and anchor.seq == 4 and anchor.genuine(KEY)
    assert verify_chain(records, KEY, anchor).ok and verify_chain(records, KEY, anchor).anchored_seq == 4
    assert verify_chain([*records, chain(records[-1], entry(n=5), KEY)], KEY, anchor).ok  # appended since: fine
    downgraded = unkeyed(
        *[r.entry for r in records[:1]], replace(records[1].entry, actor="mallory"), *[r.entry for r in records[2:]]
    )
    assert verify_chain(downgraded, KEY).ok  # the walk alone is fooled
    check = verify_chain(downgraded, KEY, anchor)
    assert (check.ok, check.fault, check.first_bad_seq) == (False, ChainFault.DOWNGRADED, 1)
    cut = verify_chain(records[:2], KEY, anchor)
    assert (cut.ok, cut.fault, cut.first_bad_seq, cut.last_seq) == (False, ChainFault.TRUNCATED, 3, 2)
    assert verify_chain([], KEY, anchor).fault is ChainFault.TRUNCATED
    rewritten = [*records[:3], chain(records[2], entry(n=99), KEY)]  # with the key, the head written anew
    assert verify_chain(rewritten, KEY, anchor).fault is ChainFault.TRUNCATED


def test_an_anchor_cannot_be_forged_or_moved_without_the_key() -> None:
    records = keyed_chain(3)
    anchor = Anchor.at(KEY, records[1])
    for forged in (
        replace(anchor, seq=1),
        replace(anchor, keyed_since=3),
        Anchor.at(AuditKey(b"m" * 32), records[1]),
    ):
        check = verify_chain(records, KEY, forged)
        assert (check.ok, check.fault, check.anchored_seq) == (False, ChainFault.ANCHOR_INVALID, None)
    edited = [records[0], replace(records[1], entry=replace(records[1].entry, actor="mallory")), records[2]]
    assert verify_chain(edited, KEY, replace(anchor, seq=1)).fault is ChainFault.BROKEN  # the walk reports first
    legacy = unkeyed(entry(n=0))
    assert Anchor.at(KEY, chain(legacy[0], entry(n=1), KEY), replace(anchor, mac="0" * 64)).keyed_since == 2


def test_audit_details_are_immutable() -> None:
    e = entry(ticket_id=1)
    with pytest.raises(TypeError):
        e.details["ticket_id"] = 2  # type: ignore[index]  # the write the test expects to be refused


# ------------------------------------------------------------------------------------------------ configuration check


def picklists() -> Picklists:
    v = PicklistValue
    return Picklists(
        queues=(v(5, "Monitoring"), v(6, "Old", False)),
        issue_types=(v(11, "Backup"), v(12, "Net")),
        sub_issue_types=(v(111, "Failed", True, 11), v(121, "VPN", True, 12)),
        sources=(v(4, "Alert"),),
        priorities=(v(1, "High"), v(2, "Medium")),
        statuses=(v(1, "New"), v(5, "Complete")),
        note_types=(v(3, "Task Notes"),),
        note_publish=(v(1, "All Autotask Users"), v(2, "Internal Only")),
        required_ticket_fields=frozenset({"companyID", "title", "priority", "status", "queueID"}),
    )


def test_valid_configuration_has_no_problems() -> None:
    assert validate_configuration(settings(note_type_id=3, note_publish_id=2), picklists()) == []


@pytest.mark.parametrize(
    ("changes", "setting", "words"),
    [
        ({"default_queue_id": 6}, "default_queue_id", "inactive"),
        ({"default_queue_id": 99}, "default_queue_id", "does not exist"),
        ({"default_sub_issue_type_id": 121}, "default_sub_issue_type_id", "does not belong"),
        ({"note_publish_id": 1}, "note_publish_id", "is not internal"),
        ({"priority_error_id": None}, "priority_error_id", "Not set"),
        ({"default_queue_id": None}, "default_queue_id", "requires the ticket field 'queueID'"),
    ],
)
def test_configuration_problems(changes: dict[str, Any], setting: str, words: str) -> None:
    s = replace(settings(note_type_id=3, note_publish_id=2), **changes)
    problems = validate_configuration(s, picklists())
    assert any(p.setting == setting and words in p.message for p in problems), problems


def test_required_field_backupchecks_cannot_fill_is_reported() -> None:
    lists = replace(picklists(), required_ticket_fields=frozenset({"contactID"}))
    problems = validate_configuration(settings(note_type_id=3, note_publish_id=2), lists)
    assert [p.setting for p in problems] == ["contactID"]


def test_a_required_work_type_names_its_setting_and_a_category_default_covers_it() -> None:
    lists = replace(
        picklists(),
        required_ticket_fields=frozenset({"billingCodeID", "dueDateTime"}),
        ticket_categories=(PicklistValue(1, "Standard", is_default=True), PicklistValue(3, "Backupchecks")),
        category_defaults=(CategoryDefaults(3, frozenset({"billingcodeid"})),),
    )
    base = settings(note_type_id=3, note_publish_id=2)
    assert [p.setting for p in validate_configuration(base, lists)] == ["work_type_id"]  # no false dueDateTime
    assert validate_configuration(replace(base, ticket_category_id=3), lists) == []


def tenant_lists() -> Picklists:
    return replace(
        picklists(),
        ticket_categories=(
            PicklistValue(1, "Standard", is_default=True),
            PicklistValue(2, "Old", is_active=False),
            PicklistValue(3, "Backupchecks"),
        ),
        work_types=(PicklistValue(30, "Remote support"), PicklistValue(31, "Retired", is_active=False)),
        ticket_udfs=(
            TicketUdf("Backup Reference", "Backup reference", is_required=True),
            TicketUdf("Tier", "Tier", choices=(UdfChoice("1", "Gold"), UdfChoice("2", "Silver", is_active=False))),
            TicketUdf("Region", "Region", is_required=True, default_value="EU"),
        ),
        category_defaults=(CategoryDefaults(3, frozenset({"billingcodeid"}), frozenset({"Backup Reference"})),),
    )


def test_validate_names_required_udfs_and_a_work_type_neither_set_nor_defaulted() -> None:
    problems = validate_configuration(settings(note_type_id=3, note_publish_id=2), tenant_lists())
    by_setting = {(p.setting, p.warning) for p in problems}
    assert by_setting == {("ticket_udfs", False), ("work_type_id", True)}
    assert "Backup reference" in next(p.message for p in problems if p.setting == "ticket_udfs")  # Region has a default


def test_validate_accepts_a_tenant_fit_and_refuses_inactive_or_unknown_choices() -> None:
    fit = settings(note_type_id=3, note_publish_id=2, work_type_id=30, ticket_udfs=(("Backup Reference", "BC"),))
    assert validate_configuration(fit, tenant_lists()) == []
    assert (
        validate_configuration(replace(fit, ticket_category_id=3, work_type_id=None, ticket_udfs=()), tenant_lists())
        == []
    )
    wrong = replace(
        fit, ticket_category_id=2, work_type_id=31, ticket_udfs=(*fit.ticket_udfs, ("Tier", "2"), ("Nope", "x"))
    )
    messages = {p.setting: p.message for p in validate_configuration(wrong, tenant_lists())}
    assert "inactive" in messages["ticket_category_id"] and "inactive" in messages["work_type_id"]
    assert [p.message for p in validate_configuration(wrong, tenant_lists()) if p.setting == "ticket_udfs"] == [
        "'2' is not an active value of 'Tier': '1' (Gold).",
        "Autotask has no ticket user-defined field named 'Nope'.",
    ]


def test_internal_publish_values() -> None:
    from domain.picklists import internal_publish, is_internal_publish

    lists = picklists()
    assert is_internal_publish(PicklistValue(2, "Internal Only")) and is_internal_publish(PicklistValue(3, "Intern"))
    assert not is_internal_publish(PicklistValue(1, "All Autotask Users"))
    assert not is_internal_publish(PicklistValue(2, "Internal Only", is_active=False))
    assert (internal_publish(2, lists), internal_publish(1, lists), internal_publish(None, lists)) == (2, None, 2)
    assert internal_publish(99, lists) is None


def test_co_managed_publish_values_are_not_internal_and_exact_internal_labels_are_preferred() -> None:
    from domain.picklists import internal_publish, is_internal_publish

    v = PicklistValue
    real = replace(
        picklists(),
        note_publish=(v(1, "All Autotask Users"), v(4, "Internal & Co-Managed"), v(2, "Internal Project Team")),
    )
    assert not is_internal_publish(v(4, "Internal & Co-Managed"))
    assert not is_internal_publish(v(5, "Internal and co-managed users"))
    assert internal_publish(None, real) == 2 and internal_publish(4, real) is None
    both = replace(real, note_publish=(*real.note_publish, v(7, "Internal Only")))
    assert internal_publish(None, both) == 7  # "Internal Only" ranks before "Internal Project Team"
    problems = validate_configuration(settings(note_type_id=3, note_publish_id=4), real)
    assert [(p.setting, "co-managing" in p.message) for p in problems] == [("note_publish_id", True)]
    only_co_managed = replace(real, note_publish=(v(1, "All Autotask Users"), v(4, "Internal & Co-Managed")))
    problems = validate_configuration(settings(note_type_id=3, note_publish_id=None), only_co_managed)
    assert [p.setting for p in problems] == ["note_publish_id"]


def test_the_closing_note_type_falls_back_to_the_tenant_default() -> None:
    from domain.picklists import closing_note_refusal, closing_note_type

    v = PicklistValue
    lists = replace(
        picklists(), note_types=(v(1, "Task Summary", is_default=True), v(3, "Task Notes"), v(9, "Old", False))
    )
    assert (closing_note_type(None, lists), closing_note_type(3, lists), closing_note_type(9, lists)) == (1, 3, None)
    no_default = replace(lists, note_types=(v(3, "Task Notes"),))
    assert closing_note_type(None, no_default) is None
    assert closing_note_refusal(settings(note_type_id=None, note_publish_id=2), lists) is None
    assert (
        closing_note_refusal(settings(note_type_id=None, note_publish_id=2), no_default) is DenyReason.NOTE_TYPE_MISSING
    )
    assert (
        closing_note_refusal(settings(note_type_id=3, note_publish_id=1), lists) is DenyReason.NOTE_PUBLISH_NOT_INTERNAL
    )
    problems = validate_configuration(settings(note_type_id=None, note_publish_id=2), no_default)
    assert [p.setting for p in problems] == ["note_type_id"]
    assert validate_configuration(settings(note_type_id=None, note_publish_id=2), lists) == []


def test_a_missing_queue_is_reported_although_the_fields_document_does_not_require_it() -> None:
    lists = replace(picklists(), required_ticket_fields=frozenset({"companyID", "title", "priority", "status"}))
    problems = validate_configuration(settings(note_type_id=3, note_publish_id=2, default_queue_id=None), lists)
    assert [p.setting for p in problems] == ["default_queue_id"] and "queue" in problems[0].message


def test_missing_ticket_settings_and_the_due_date() -> None:
    from domain.draft import missing_ticket_settings

    assert missing_ticket_settings(settings(), RunStatus.ERROR) == []
    assert missing_ticket_settings(settings(default_queue_id=None, priority_warning_id=None), RunStatus.WARNING) == [
        "default_queue_id",
        "priority_warning_id",
    ]
    assert missing_ticket_settings(settings(priority_warning_id=None), RunStatus.MISSED) == []
    draft = build_ticket_draft(make_run(), Customer("c", "A"), mapped(), settings(ticket_due_hours=48), T0)
    assert draft.due_at == T0 + timedelta(hours=48)
    assert build_ticket_draft(make_run(), Customer("c", "A"), mapped(), settings(), T0).due_at == T0 + timedelta(
        hours=24
    )


def test_new_tickets_may_not_start_closed() -> None:
    problems = validate_configuration(settings(note_type_id=3, note_publish_id=2, new_ticket_status_id=5), picklists())
    assert [p.setting for p in problems] == ["new_ticket_status_id"]


def test_a_deleted_link_seen_again_is_linked_again() -> None:
    gone = linked().gone()
    back = gone.observed(TicketStatus(8, "In Progress", T0), 0)
    assert gone.state is LinkState.DELETED and back.state is LinkState.LINKED and back.version == gone.version + 1
