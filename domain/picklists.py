"""Autotask picklists (queues, issue types, statuses, …) and the configuration check made against them."""

from __future__ import annotations

from dataclasses import dataclass

from domain.settings import AutotaskSettings
from domain.tickets import STATUS_COMPLETE


@dataclass(frozen=True, slots=True)
class PicklistValue:
    id: int
    label: str
    is_active: bool = True
    parent_id: int | None = None


@dataclass(frozen=True, slots=True)
class Picklists:
    queues: tuple[PicklistValue, ...] = ()
    issue_types: tuple[PicklistValue, ...] = ()
    sub_issue_types: tuple[PicklistValue, ...] = ()
    sources: tuple[PicklistValue, ...] = ()
    priorities: tuple[PicklistValue, ...] = ()
    statuses: tuple[PicklistValue, ...] = ()
    note_types: tuple[PicklistValue, ...] = ()
    note_publish: tuple[PicklistValue, ...] = ()
    required_ticket_fields: frozenset[str] = frozenset()

    def status_label(self, value: int) -> str:
        return next((v.label for v in self.statuses if v.id == value), str(value))


def is_internal_publish(value: PicklistValue) -> bool:
    """Whether a note publish value keeps notes inside the MSP ('Internal Only', 'Internal Project Team', 'Intern')."""
    return value.is_active and "intern" in value.label.lower()


def internal_publish(configured: int | None, picklists: Picklists) -> int | None:
    """The publish value for the closing note: the configured one only if it is active and internal; with none
    configured, the tenant's internal value; None when no internal value can be found."""
    if configured is not None:
        chosen = next((p for p in picklists.note_publish if p.id == configured), None)
        return configured if chosen is not None and is_internal_publish(chosen) else None
    return next((p.id for p in picklists.note_publish if is_internal_publish(p)), None)


@dataclass(frozen=True, slots=True)
class Problem:
    setting: str
    message: str


# Ticket fields Backupchecks fills itself, and the setting that fills each optional one.
_ALWAYS_SENT = frozenset({"id", "companyid", "title", "description", "status", "priority", "externalid"})
_FIELD_SETTINGS = {
    "queueid": "default_queue_id",
    "issuetype": "default_issue_type_id",
    "subissuetype": "default_sub_issue_type_id",
    "source": "default_source_id",
}


def validate_configuration(settings: AutotaskSettings, picklists: Picklists) -> list[Problem]:
    """Every configured picklist value still exists and is active in the tenant, the sub-issue type belongs to the
    issue type, the closing note can be published internally, and the tenant's required ticket fields are covered."""
    problems: list[Problem] = []

    def check(setting: str, value: int | None, choices: tuple[PicklistValue, ...], what: str) -> PicklistValue | None:
        if value is None:
            return None
        found = next((c for c in choices if c.id == value), None)
        if found is None:
            problems.append(Problem(setting, f"{what} {value} does not exist in Autotask."))
        elif not found.is_active:
            problems.append(Problem(setting, f"{what} '{found.label}' ({value}) is inactive in Autotask."))
        return found

    check("default_queue_id", settings.default_queue_id, picklists.queues, "Queue")
    check("default_issue_type_id", settings.default_issue_type_id, picklists.issue_types, "Issue type")
    sub = check("default_sub_issue_type_id", settings.default_sub_issue_type_id, picklists.sub_issue_types,
                "Sub-issue type")
    if sub is not None and sub.parent_id is not None and sub.parent_id != settings.default_issue_type_id:
        problems.append(Problem("default_sub_issue_type_id",
                                f"Sub-issue type '{sub.label}' does not belong to the configured issue type."))
    check("default_source_id", settings.default_source_id, picklists.sources, "Source")
    check("priority_error_id", settings.priority_error_id, picklists.priorities, "Priority")
    check("priority_warning_id", settings.priority_warning_id, picklists.priorities, "Priority")
    check("new_ticket_status_id", settings.new_ticket_status_id, picklists.statuses, "Status")
    check("note_type_id", settings.note_type_id, picklists.note_types, "Note type")
    check("note_publish_id", settings.note_publish_id, picklists.note_publish, "Publish value")
    for setting in ("priority_error_id", "priority_warning_id", "note_type_id", "note_publish_id"):
        if getattr(settings, setting) is None:
            problems.append(Problem(setting, "Not set; Autotask needs it."))
    if settings.note_publish_id is not None:
        chosen = next((p for p in picklists.note_publish if p.id == settings.note_publish_id), None)
        if chosen is not None and not is_internal_publish(chosen):
            problems.append(Problem("note_publish_id", f"'{chosen.label}' does not look internal; the closing note "
                                                       "must not reach the customer."))
    if settings.new_ticket_status_id == STATUS_COMPLETE:
        problems.append(Problem("new_ticket_status_id", "New tickets would be created closed (Complete)."))
    for name in sorted(picklists.required_ticket_fields):
        key = name.lower()
        if key in _ALWAYS_SENT:
            continue
        field_setting = _FIELD_SETTINGS.get(key)
        if field_setting is None:
            problems.append(Problem(name, f"Autotask requires '{name}'; Backupchecks does not fill it."))
        elif getattr(settings, field_setting) is None:
            problems.append(Problem(field_setting, f"Autotask requires the ticket field '{name}'; set a default."))
    return problems
