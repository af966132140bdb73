"""The Autotask settings on the wire: the settings in (every field optional) and out, their validation, the test
ticket."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from msgspec import UNSET, Meta, Struct, UnsetType

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
from entrypoints.http.schemas.common import MULTI_LINE, SINGLE_LINE, PicklistId, fields_of, out

BASE_URL = r"^https?://[^\s\x00-\x1f\x7f-\x9f]+$"
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


class ProblemOut(Struct, omit_defaults=True):
    setting: str
    message: str
    warning: bool = False
    """A risk the API cannot confirm (Test ticket does); `ok` stays true for warnings alone."""


class ValidationOut(Struct):
    ok: bool
    problems: list[ProblemOut]


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


def settings_out(settings: AutotaskSettings) -> SettingsOut:
    return out(
        {
            **fields_of(settings),
            "closing_note": settings.closing_note,
            "api_password_set": settings.api_password_set,
            "ticket_udfs": settings.udfs,
        },
        SettingsOut,
    )
