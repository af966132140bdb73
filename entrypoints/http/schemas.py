"""The wire: msgspec structs with limits for what comes in, and the shapes of what goes out (docs/http-api.md)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from application.errors import InvalidInput
from application.use_cases.diagnostics import ConnectionResult
from application.use_cases.get_ticket import TicketView
from application.use_cases.list_customers import CustomerView
from application.use_cases.preview_ticket import TicketPreview
from application.use_cases.sync_status import JobView
from application.use_cases.view_runs import RunView
from domain.audit import ChainFault, Outcome
from domain.mapping import MappingStatus
from domain.picklists import Picklists
from domain.roles import Role
from domain.runs import Customer, ObjectStatus, Run, RunObject, RunStatus
from domain.settings import (
    DUE_HOURS_MAX,
    DUE_HOURS_MIN,
    MAPPING_CHECK_MAX,
    OBSERVED,
    STATUS_SYNC_MAX,
    UDF_NAME_MAX,
    UDF_VALUE_MAX,
    UDFS_MAX,
    ApiLogLevel,
    AutotaskSettings,
    Environment,
)
from domain.tickets import DenyReason, LinkState

SINGLE_LINE = r"^[^\x00-\x1f\x7f-\x9f]*$"
"""No control character (C0, DEL, C1): ids, names and every other one-line value (NUL cannot be stored everywhere)."""
MULTI_LINE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
"""Multi-line text (messages) keeps tab, line feed and carriage return."""
USERNAME = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"
BASE_URL = r"^https?://[^\s\x00-\x1f\x7f-\x9f]+$"
RFC3339 = r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"

Id = Annotated[str, Meta(min_length=1, max_length=64, pattern=SINGLE_LINE)]
Text = Annotated[str, Meta(min_length=1, max_length=255, pattern=SINGLE_LINE)]
LongText = Annotated[str, Meta(max_length=4000, pattern=MULTI_LINE)]
PicklistId = Annotated[int, Meta(ge=0, le=2_147_483_647)]
T = TypeVar("T")

# ------------------------------------------------------------------------------------------------------- requests


class CustomerIn(Struct, forbid_unknown_fields=True):
    name: Text


class RunObjectIn(Struct, forbid_unknown_fields=True):
    name: Text
    status: ObjectStatus
    type: Annotated[str, Meta(max_length=100, pattern=SINGLE_LINE)] | None = None
    message: LongText | None = None


class RunIn(Struct, forbid_unknown_fields=True):
    customer_id: Id
    job_name: Text
    backup_software: Text
    backup_type: Text
    run_at: Annotated[str, Meta(max_length=40, pattern=RFC3339)]
    """A string with its offset, never a number (integers are not times: `0` is not 1970)."""
    status: RunStatus
    objects: Annotated[list[RunObjectIn], Meta(max_length=5000)] = []
    messages: Annotated[list[LongText], Meta(max_length=500)] = []

    def to_run(self, run_id: str) -> Run:
        objects = tuple(RunObject(o.name, o.status, o.type, o.message) for o in self.objects)
        return Run(
            run_id,
            self.customer_id,
            self.job_name,
            self.backup_software,
            self.backup_type,
            as_utc(parse_time(self.run_at, "run_at"), "run_at"),
            self.status,
            objects,
            tuple(self.messages),
        )


class MappingIn(Struct, forbid_unknown_fields=True):
    company_id: Annotated[int, Meta(ge=1, le=2_147_483_647)]


class AcceptSuggestionsIn(Struct, forbid_unknown_fields=True):
    customer_ids: Annotated[list[Id], Meta(min_length=1, max_length=500)]


class TicketsRefreshIn(Struct, forbid_unknown_fields=True):
    run_ids: Annotated[list[Id], Meta(max_length=5000)] | None = None


_NOT_SETTABLE = frozenset({"api_password", "installation_id", "api_password_set", "closing_note"}) | OBSERVED


class SettingsIn(Struct, forbid_unknown_fields=True):
    """Every field optional: what is left out keeps its value. `api_password` is write-only."""

    enabled: bool | UnsetType = UNSET
    environment: Environment | UnsetType = UNSET
    api_username: Annotated[str, Meta(max_length=255, pattern=SINGLE_LINE)] | UnsetType = UNSET
    api_password: Annotated[str, Meta(min_length=1, max_length=255, pattern=SINGLE_LINE)] | UnsetType = UNSET
    tracking_identifier: Annotated[str, Meta(max_length=255, pattern=SINGLE_LINE)] | UnsetType = UNSET
    backupchecks_base_url: Annotated[str, Meta(max_length=2048, pattern=BASE_URL)] | UnsetType | None = UNSET
    default_queue_id: PicklistId | UnsetType | None = UNSET
    default_issue_type_id: PicklistId | UnsetType | None = UNSET
    default_sub_issue_type_id: PicklistId | UnsetType | None = UNSET
    default_source_id: PicklistId | UnsetType | None = UNSET
    priority_error_id: PicklistId | UnsetType | None = UNSET
    priority_warning_id: PicklistId | UnsetType | None = UNSET
    new_ticket_status_id: PicklistId | UnsetType = UNSET
    note_type_id: PicklistId | UnsetType | None = UNSET
    note_publish_id: PicklistId | UnsetType | None = UNSET
    allow_resolve: bool | UnsetType = UNSET
    api_log_level: ApiLogLevel | UnsetType = UNSET
    ticket_due_hours: Annotated[int, Meta(ge=DUE_HOURS_MIN, le=DUE_HOURS_MAX)] | UnsetType = UNSET
    """Tickets fall due this many hours after the run is reviewed (1 hour to a year)."""
    ticket_category_id: PicklistId | UnsetType | None = UNSET
    work_type_id: PicklistId | UnsetType | None = UNSET
    status_sync_minutes: Annotated[int, Meta(ge=0, le=STATUS_SYNC_MAX)] | UnsetType = UNSET
    """How often the service polls ticket status itself: 0 (off) or 1-1440 minutes."""
    mapping_check_hours: Annotated[int, Meta(ge=0, le=MAPPING_CHECK_MAX)] | UnsetType = UNSET
    """How often the service re-checks every mapping itself: 0 (off) or 1-168 hours."""
    ticket_udfs: (
        Annotated[
            dict[
                Annotated[str, Meta(min_length=1, max_length=UDF_NAME_MAX, pattern=SINGLE_LINE)],
                Annotated[str, Meta(max_length=UDF_VALUE_MAX, pattern=MULTI_LINE)],
            ],
            Meta(max_length=UDFS_MAX),
        ]
        | UnsetType
    ) = UNSET
    """Values for the tenant's ticket user-defined fields, by name; `{}` sends none."""
    # Read-only fields of the GET answer, accepted and ignored so a client may PUT back what it read.
    installation_id: Annotated[str, Meta(max_length=64, pattern=SINGLE_LINE)] | UnsetType = UNSET
    api_password_set: bool | UnsetType = UNSET
    closing_note: Annotated[str, Meta(max_length=1000, pattern=MULTI_LINE)] | UnsetType = UNSET
    tenant_name: Annotated[str, Meta(max_length=1000)] | UnsetType | None = UNSET
    time_entries_visible: bool | UnsetType | None = UNSET
    rights_checked_at: datetime | UnsetType | None = UNSET

    def values(self) -> dict[str, Any]:
        given = {
            f: v for f in self.__struct_fields__ if f not in _NOT_SETTABLE and (v := getattr(self, f)) is not UNSET
        }
        if "ticket_udfs" in given:
            given["ticket_udfs"] = tuple(given["ticket_udfs"].items())
        return given

    def __repr__(self) -> str:
        return f"SettingsIn({sorted(self.values())!r}, api_password={'***' if self.api_password else None})"


Password = Annotated[str, Meta(min_length=1, max_length=256, pattern=SINGLE_LINE)]


class UserIn(Struct, forbid_unknown_fields=True):
    username: Annotated[str, Meta(min_length=1, max_length=64, pattern=USERNAME)]
    role: Role
    password: Password | None = None
    """Checked by the password policy (422 weak_password), not here."""

    def __repr__(self) -> str:
        return f"UserIn(username={self.username!r}, role={self.role.value!r})"


class UserPatchIn(Struct, forbid_unknown_fields=True):
    role: Role | None = None
    disabled: bool | None = None


class PasswordResetIn(Struct, forbid_unknown_fields=True):
    password: Password | None = None
    """Absent: a password is generated (and answered once)."""

    def __repr__(self) -> str:
        return "PasswordResetIn(password='***')"


class OwnPasswordIn(Struct, forbid_unknown_fields=True):
    current_password: Annotated[str, Meta(max_length=256)]
    new_password: Password

    def __repr__(self) -> str:
        return "OwnPasswordIn(current_password='***', new_password='***')"


# ------------------------------------------------------------------------------------------------------ responses


class MappingOut(Struct):
    psa: str
    company_id: int | None
    company_name: str | None
    previous_company_name: str | None
    status: MappingStatus
    status_reason: str | None
    last_synced_at: datetime | None


class CustomerOut(Struct):
    id: str
    name: str
    autotask: MappingOut | None


class StatusOut(Struct):
    value: int
    label: str
    read_at: datetime


class TicketLinkOut(Struct):
    run_id: str
    state: LinkState
    ticket_id: int | None
    ticket_number: str | None
    url: str | None
    created_by: str
    created_at: datetime
    status: StatusOut | None
    resolved_by: str | None
    resolved_at: datetime | None
    time_entries: int


class ResolveOut(Struct):
    allowed: bool
    reason: DenyReason | None
    message: str | None


class TicketViewOut(TicketLinkOut):
    resolve: ResolveOut


class RunObjectOut(Struct):
    name: str
    type: str | None
    status: ObjectStatus
    message: str | None


class RunOut(Struct):
    id: str
    customer_id: str
    customer_name: str
    job_name: str
    backup_software: str
    backup_type: str
    run_at: datetime
    status: RunStatus
    objects: list[RunObjectOut]
    messages: list[str]
    ticket: TicketLinkOut | None
    actions: list[str]
    resolve_blocked_reason: DenyReason | None
    create_blocked_reason: str | None
    duplicate_ticket_ids: list[int] = []
    """Every Autotask ticket carrying this run's `externalID` when there are two or more (the run's own view)."""


class Saved(Struct):
    id: str
    created: bool


class RunPage(Struct):
    items: list[RunOut]
    next_cursor: str | None


class CustomerPage(Struct):
    items: list[CustomerOut]
    next_cursor: str | None


class CompanyOut(Struct):
    id: int
    name: str
    is_active: bool


class CompanyList(Struct):
    """One page of matches in Autotask's order (by id); `more` says more matches exist (type more to narrow)."""

    items: list[CompanyOut]
    next_cursor: str | None = None
    more: bool = False


class SuggestionOut(Struct):
    customer_id: str
    customer_name: str
    company_id: int
    company_name: str
    match: str
    """`exact` (the names are the same) or `normalized` (the same after case, punctuation and legal suffixes)."""


class SuggestionPage(Struct):
    items: list[SuggestionOut]
    next_cursor: str | None


class RefusedOut(Struct):
    customer_id: str
    code: str


class AcceptedOut(Struct):
    mapped: int
    refused: list[RefusedOut]


class ImportedOut(Struct):
    mapped: int
    removed: int
    unchanged: int
    dry_run: bool


class MappingsRefreshedOut(Struct):
    checked: int
    ok: int
    renamed: int
    invalid: int
    autotask_calls: int


class TicketsRefreshedOut(Struct):
    checked: int
    changed: int
    deleted: int
    autotask_calls: int
    settled: int
    """Pending links (left by a crash or a lost answer) linked to the ticket an earlier attempt created."""
    released: int
    """Stale reservations Autotask has no ticket for, dropped so the run offers its create again."""


class SettingsOut(Struct):
    installation_id: str
    enabled: bool
    environment: Environment | None
    api_username: str
    api_password_set: bool
    tracking_identifier: str
    backupchecks_base_url: str | None
    default_queue_id: int | None
    default_issue_type_id: int | None
    default_sub_issue_type_id: int | None
    default_source_id: int | None
    priority_error_id: int | None
    priority_warning_id: int | None
    new_ticket_status_id: int
    note_type_id: int | None
    note_publish_id: int | None
    allow_resolve: bool
    api_log_level: ApiLogLevel
    closing_note: str
    ticket_due_hours: int
    ticket_category_id: int | None
    work_type_id: int | None
    ticket_udfs: dict[str, str]
    tenant_name: str | None
    """Observed: the tenant's own company at the last Test connection (which database the settings reach)."""
    time_entries_visible: bool | None
    """Observed: whether the API user sees every time entry (None: not checked yet)."""
    rights_checked_at: datetime | None
    status_sync_minutes: int
    mapping_check_hours: int


class ZoneOut(Struct):
    name: str
    api_url: str
    web_url: str


class TicketDraftOut(Struct):
    """What a create would send to Autotask now, field by field."""

    title: str
    description: str
    company_id: int
    company_name: str | None
    queue_id: int | None
    queue_label: str | None
    due_at: datetime
    status: int
    priority: int | None
    issue_type_id: int | None
    sub_issue_type_id: int | None
    source_id: int | None
    ticket_category_id: int | None
    category_label: str | None
    work_type_id: int | None
    work_type_label: str | None
    user_defined_fields: dict[str, str]
    external_id: str


class TestTicketIn(Struct, forbid_unknown_fields=True):
    company_id: PicklistId | None = None
    """The company to make the test ticket for; none: the tenant's own company (id 0)."""


class StepOut(Struct):
    step: str
    ok: bool
    message: str


class TestTicketOut(Struct, omit_defaults=True):
    ok: bool
    steps: list[StepOut]
    ticket_number: str | None = None


class JobOut(Struct, omit_defaults=True):
    every: int
    """Minutes between runs; 0: switched off in the settings."""
    last_run_at: datetime | None
    next_run_at: datetime | None
    last_result: dict[str, Any] | None
    running: bool
    last_error: str | None = None
    paused_reason: str | None = None


class SyncOut(Struct):
    status_sync: JobOut
    mapping_check: JobOut


class TenantOut(Struct):
    company_name: str


class ConnectionOut(Struct, omit_defaults=True):
    ok: bool
    message: str
    zone: ZoneOut | None = None
    tenant: TenantOut | None = None
    code: str | None = None
    missing_rights: list[str] | None = None


class ProblemOut(Struct, omit_defaults=True):
    setting: str
    message: str
    warning: bool = False
    """A risk the API cannot confirm (Test ticket does); `ok` stays true for warnings alone."""


class ValidationOut(Struct):
    ok: bool
    problems: list[ProblemOut]


class PicklistValueOut(Struct, omit_defaults=True):
    id: int
    label: str
    is_active: bool
    parent_id: int | None = None


class UdfChoiceOut(Struct):
    value: str
    label: str
    is_active: bool


class TicketUdfOut(Struct, omit_defaults=True):
    name: str
    label: str
    is_required: bool
    default_value: str | None = None
    values: list[UdfChoiceOut] | None = None
    """A picklist UDF's values (absent for a free-text field)."""


class PicklistsOut(Struct):
    queues: list[PicklistValueOut]
    issue_types: list[PicklistValueOut]
    sub_issue_types: list[PicklistValueOut]
    sources: list[PicklistValueOut]
    priorities: list[PicklistValueOut]
    statuses: list[PicklistValueOut]
    note_types: list[PicklistValueOut]
    note_publish: list[PicklistValueOut]
    ticket_categories: list[PicklistValueOut]
    work_types: list[PicklistValueOut]
    ticket_udfs: list[TicketUdfOut]


class UsageOut(Struct):
    requests_this_hour: int
    limit: int
    timeframe_minutes: int


class UserOut(Struct):
    id: str
    username: str
    role: Role
    disabled: bool
    created_at: datetime
    password_changed_at: datetime | None
    last_seen_at: datetime | None
    """When the user last authenticated (a sign-in, a page of a session, an API token), to the minute; null: never."""


class TokenOut(Struct):
    token: str


class PasswordOut(Struct):
    password: str | None
    """The generated password (shown once); null when the admin chose it."""


class NewUserOut(Struct):
    id: str
    username: str
    role: Role
    token: str


class UserPage(Struct):
    items: list[UserOut]
    next_cursor: str | None


class AuditRecordOut(Struct):
    seq: int
    at: str
    actor: str
    actor_role: str
    action: str
    target_type: str
    target_id: str
    outcome: Outcome
    details: dict[str, Any]
    prev_hash: str
    hash: str


class AuditPage(Struct):
    items: list[AuditRecordOut]
    next_cursor: str | None


class VerifyOut(Struct):
    ok: bool
    records: int
    first_bad_seq: int | None
    last_seq: int | None
    last_hash: str | None
    key_id: str
    """The fingerprint of the current audit key (never the key); retired keys checked the records of their epoch."""
    unkeyed_records: int
    """Records written before the chain had a key, checked by their plain hash (they lead the chain)."""
    fault: ChainFault | None = None
    """Why the check failed: a record edited, inserted, deleted or moved, or signed with a retired key after a newer
    one; a record signed with a key the installation does not hold; an unkeyed record where the anchor says the chain
    was keyed; the anchored head gone (records cut off the end, or the log deleted); an anchor that is unreadable or
    not signed with a key the installation holds."""
    anchored_seq: int | None = None
    """The head of the anchor kept outside the database that the chain was checked against (None: no anchor)."""


# ----------------------------------------------------------------------------------------------------- converters
# A response is the domain object's own fields under the same names: msgspec copies them (`from_attributes`), nested
# objects and enum values included. Only what the HTTP answer adds or reshapes is spelled out.


def out(value: object, shape: type[T]) -> T:
    """`value` (an object, or a dict whose values may be objects) as the response struct `shape`."""
    return msgspec.convert(value, shape, from_attributes=True)


def customer_out(view: CustomerView) -> CustomerOut:
    return out({"id": view.customer.id, "name": view.customer.name, "autotask": view.mapping}, CustomerOut)


def ticket_view_out(view: TicketView) -> TicketViewOut:
    link = {name: getattr(view.link, name) for name in TicketLinkOut.__struct_fields__}  # the ticket's parts flat
    return out({**link, "resolve": view.resolve}, TicketViewOut)


def run_out(view: RunView) -> RunOut:
    """The run's own fields and what the view adds (customer name, ticket, actions, why an action is blocked)."""
    return out({**_fields(view.run), **_fields(view, exclude="run")}, RunOut)


def _fields(value: Any, exclude: str | None = None) -> dict[str, Any]:
    """A dataclass's fields by name, one level deep (nested objects stay objects for `out` to copy)."""
    return {f.name: getattr(value, f.name) for f in dataclasses.fields(value) if f.name != exclude}


def connection_out(r: ConnectionResult) -> ConnectionOut:
    """`missing_rights` is left out of the answer when the API user lacks none."""
    tenant = None if r.tenant_name is None else {"company_name": r.tenant_name}
    return out({**_fields(r), "tenant": tenant, "missing_rights": list(r.missing_rights) or None}, ConnectionOut)


def draft_out(preview: TicketPreview) -> TicketDraftOut:
    d = preview.draft
    return out(
        {
            **_fields(d),
            "company_name": preview.company_name,
            "queue_label": preview.queue_label,
            "work_type_label": preview.work_type_label,
            "category_label": preview.category_label,
            "ticket_category_id": d.category_id,
            "user_defined_fields": dict(d.udfs),
        },
        TicketDraftOut,
    )


def sync_out(views: dict[str, JobView]) -> SyncOut:
    return out({job: {**_fields(view), "every": view.every_minutes} for job, view in views.items()}, SyncOut)


def settings_out(settings: AutotaskSettings) -> SettingsOut:
    return out(
        {
            **_fields(settings),
            "closing_note": settings.closing_note,
            "api_password_set": settings.api_password_set,
            "ticket_udfs": settings.udfs,
        },
        SettingsOut,
    )


def picklists_out(picklists: Picklists) -> PicklistsOut:
    """`work_types` lists active Work Types only (the contract's; Validate still knows the inactive ones)."""
    udfs = [{**_fields(u), "values": list(u.choices) or None} for u in picklists.ticket_udfs]
    work_types = [w for w in picklists.work_types if w.is_active]
    return out({**_fields(picklists), "ticket_udfs": udfs, "work_types": work_types}, PicklistsOut)


def customer_in(customer_id: str, data: CustomerIn) -> Customer:
    return Customer(customer_id, data.name)


def as_utc(value: datetime, field: str) -> datetime:
    """A time in UTC (a time without a zone is taken as UTC); 400 when its offset takes it out of range."""
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError as error:
        raise InvalidInput(field, "This time is out of range.") from error


def parse_time(text: str, field: str) -> datetime:
    """An RFC 3339 time (the pattern already checked its shape); 400 when it names no real moment (month 13)."""
    try:
        return datetime.fromisoformat(text.upper())
    except ValueError as error:
        raise InvalidInput(field, "This is not a valid RFC 3339 time.") from error


def utc(value: str | None, field: str) -> datetime | None:
    """A query's RFC 3339 time in UTC."""
    return None if value is None else as_utc(parse_time(value, field), field)
