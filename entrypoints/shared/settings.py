"""The Autotask settings in, as both entrypoints read them: the API's PUT body and the settings page's form (every
field optional; what is left out keeps its value)."""

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
    Environment,
)
from entrypoints.shared.values import MULTI_LINE, SINGLE_LINE, PicklistId

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
