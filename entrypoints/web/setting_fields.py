"""The Autotask settings form's view model: its inputs, in the order the page shows them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.settings import ApiLogLevel, Environment


class FieldKind(StrEnum):
    CHECK = "check"
    TEXT = "text"
    NUMBER = "number"
    CHOICE = "choice"
    """One of fixed `choices`; "(choose)" while none is stored."""
    PICKLIST = "picklist"


@dataclass(frozen=True, slots=True)
class SettingField:
    """One input of the Autotask settings form: `choices` for a choice, the tenant's live `picklist` for a picklist
    (a number input when the picklists cannot be read)."""

    name: str
    label: str
    kind: FieldKind
    picklist: str = ""
    choices: tuple[str, ...] = ()
    password_after: bool = False
    """The API password's input follows this one."""


SETTING_FIELDS = (
    SettingField("enabled", "Integration enabled", FieldKind.CHECK),
    SettingField("environment", "Environment", FieldKind.CHOICE, choices=tuple(Environment)),
    SettingField("api_username", "API username", FieldKind.TEXT, password_after=True),
    SettingField("tracking_identifier", "Tracking identifier (API integration code)", FieldKind.TEXT),
    SettingField("backupchecks_base_url", "Backupchecks address (for links in tickets)", FieldKind.TEXT),
    SettingField("default_queue_id", "Queue", FieldKind.PICKLIST, "queues"),
    SettingField("default_issue_type_id", "Issue type", FieldKind.PICKLIST, "issue_types"),
    SettingField("default_sub_issue_type_id", "Sub-issue type", FieldKind.PICKLIST, "sub_issue_types"),
    SettingField("default_source_id", "Source", FieldKind.PICKLIST, "sources"),
    SettingField("priority_error_id", "Priority for errors and missed runs", FieldKind.PICKLIST, "priorities"),
    SettingField("priority_warning_id", "Priority for warnings", FieldKind.PICKLIST, "priorities"),
    SettingField("new_ticket_status_id", "Status of new tickets", FieldKind.PICKLIST, "statuses"),
    SettingField("ticket_due_hours", "Ticket due (hours after the run is reviewed, 1-8760)", FieldKind.NUMBER),
    SettingField(
        "ticket_category_id", "Ticket category (empty: the API user's default)", FieldKind.PICKLIST, "ticket_categories"
    ),
    SettingField("work_type_id", "Work Type", FieldKind.PICKLIST, "work_types"),
    SettingField("note_type_id", "Closing note type", FieldKind.PICKLIST, "note_types"),
    SettingField("note_publish_id", "Closing note publish (visibility)", FieldKind.PICKLIST, "note_publish"),
    SettingField("allow_resolve", "Allow resolving tickets from Backupchecks", FieldKind.CHECK),
    SettingField("status_sync_minutes", "Poll ticket status every (minutes, 0 = off)", FieldKind.NUMBER),
    SettingField("mapping_check_hours", "Re-check every mapping every (hours, 0 = off)", FieldKind.NUMBER),
    SettingField("api_log_level", "API log level", FieldKind.CHOICE, choices=tuple(ApiLogLevel)),
)
"""Adding a setting to the page is one line here."""
