"""The Autotask settings on the wire: the settings out, their validation, the test ticket. What comes in (every field
optional) is entrypoints/shared/settings.py's `SettingsIn`, which the settings page reads its form with too."""

from __future__ import annotations

from datetime import datetime

from msgspec import Struct

from domain.settings import ApiLogLevel, AutotaskSettings, Environment
from entrypoints.http.schemas.common import fields_of, out
from entrypoints.shared.values import PicklistId


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
