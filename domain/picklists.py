"""Autotask picklists (queues, issue types, statuses, …) and the configuration check made against them."""

from __future__ import annotations

from dataclasses import dataclass

from domain.settings import AutotaskSettings
from domain.tickets import STATUS_COMPLETE, DenyReason


@dataclass(frozen=True, slots=True)
class PicklistValue:
    id: int
    label: str
    is_active: bool = True
    parent_id: int | None = None
    is_default: bool = False
    """The tenant's default (`isDefaultValue`): Autotask's choice when the field is left out."""


@dataclass(frozen=True, slots=True)
class UdfChoice:
    """One value of a picklist user-defined field: `value` is what a ticket carries, `label` what people read."""

    value: str
    label: str
    is_active: bool = True


@dataclass(frozen=True, slots=True)
class TicketUdf:
    """A ticket user-defined field of the tenant (`Tickets/entityInformation/userDefinedFields`)."""

    name: str
    label: str
    is_required: bool = False
    default_value: str | None = None
    choices: tuple[UdfChoice, ...] = ()
    """A picklist UDF's values; empty for a free-text (or number, date) field."""


@dataclass(frozen=True, slots=True)
class CategoryDefaults:
    """What a ticket category fills in by itself (`TicketCategoryFieldDefaults`): the ticket fields it gives a value,
    by Autotask's ticket field names folded to lower case (`queueid`, `billingcodeid`, `priority`, `issuetype`,
    `subissuetype`, `source`, `status`), and the UDFs it gives a value, by name."""

    category_id: int
    fields: frozenset[str] = frozenset()
    udfs: frozenset[str] = frozenset()


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
    ticket_categories: tuple[PicklistValue, ...] = ()
    """The `ticketCategory` picklist; `is_default` marks the tenant's default category."""
    work_types: tuple[PicklistValue, ...] = ()
    """Work Types (`BillingCodes` of use type 1), sent as a ticket's `billingCodeID`."""
    ticket_udfs: tuple[TicketUdf, ...] = ()
    category_defaults: tuple[CategoryDefaults, ...] = ()

    def status_label(self, value: int) -> str:
        return next((v.label for v in self.statuses if v.id == value), str(value))


INTERNAL_PUBLISH_LABELS = (
    "internal only",
    "internal project team",
    "intern",
    "nur intern",
    "alleen intern",
    "interne uniquement",
    "interno",
    "solo interno",
    "sólo interno",
)
"""Labels of publish values that keep a note inside the MSP, best first (Autotask's own, then localised ones).
Anything else is refused: "Internal & Co-Managed" reaches the customer's own IT staff, "All Autotask Users" its
portal."""


def is_internal_publish(value: PicklistValue) -> bool:
    """Whether a note publish value is active and exactly one of the internal labels."""
    return value.is_active and " ".join(value.label.casefold().split()) in INTERNAL_PUBLISH_LABELS


def internal_publish(configured: int | None, picklists: Picklists) -> int | None:
    """The publish value for the closing note: the configured one only if it is active and internal; with none
    configured, the tenant's best internal value; None when no internal value can be found."""
    if configured is not None:
        chosen = next((p for p in picklists.note_publish if p.id == configured), None)
        return configured if chosen is not None and is_internal_publish(chosen) else None
    internal = [p for p in picklists.note_publish if is_internal_publish(p)]
    rank = {label: i for i, label in enumerate(INTERNAL_PUBLISH_LABELS)}
    best = min(internal, key=lambda p: rank[" ".join(p.label.casefold().split())], default=None)
    return None if best is None else best.id


def closing_note_type(configured: int | None, picklists: Picklists) -> int | None:
    """The note type for the closing note: the configured one if it is active; with none configured, the tenant's
    active default (`isDefaultValue`); None when neither exists."""
    if configured is not None:
        return configured if any(t.id == configured and t.is_active for t in picklists.note_types) else None
    return next((t.id for t in picklists.note_types if t.is_default and t.is_active), None)


def closing_note_refusal(settings: AutotaskSettings, picklists: Picklists) -> DenyReason | None:
    """Why the closing note cannot be added with these settings in this tenant (checked before any click)."""
    if closing_note_type(settings.note_type_id, picklists) is None:
        return DenyReason.NOTE_TYPE_MISSING
    if internal_publish(settings.note_publish_id, picklists) is None:
        return DenyReason.NOTE_PUBLISH_NOT_INTERNAL
    return None


def _labels(picklists: Picklists) -> str:
    internal = [f"'{p.label}'" for p in picklists.note_publish if is_internal_publish(p)]
    return ", ".join(internal) or "none of this tenant's values"


@dataclass(frozen=True, slots=True)
class Problem:
    setting: str
    message: str
    warning: bool = False
    """A risk Backupchecks cannot confirm from the API (Test ticket does): reported, but the settings may be fine."""


# Ticket fields Backupchecks fills itself, and the setting that fills each optional one.
_ALWAYS_SENT = frozenset({"id", "companyid", "title", "description", "status", "priority", "externalid", "duedatetime"})
_FIELD_SETTINGS = {
    "queueid": "default_queue_id",
    "issuetype": "default_issue_type_id",
    "subissuetype": "default_sub_issue_type_id",
    "source": "default_source_id",
    "ticketcategory": "ticket_category_id",
    "billingcodeid": "work_type_id",
}


def ticket_category(settings: AutotaskSettings, picklists: Picklists) -> PicklistValue | None:
    """The category new tickets get: the configured one, else the tenant's default (None when neither is known)."""
    wanted = settings.ticket_category_id
    return next(
        (c for c in picklists.ticket_categories if (c.id == wanted if wanted is not None else c.is_default)), None
    )


def _category_defaults(category: PicklistValue | None, picklists: Picklists) -> CategoryDefaults:
    found = (
        None
        if category is None
        else next((d for d in picklists.category_defaults if d.category_id == category.id), None)
    )
    return found or CategoryDefaults(-1)


def _tenant_fit(settings: AutotaskSettings, picklists: Picklists) -> list[Problem]:
    """The category's defaults and the tenant's ticket UDFs against the settings: required UDFs without a value,
    UDF values Autotask would refuse, and a Work Type neither set nor given by the category."""
    problems: list[Problem] = []
    category = ticket_category(settings, picklists)
    defaults = _category_defaults(category, picklists)
    udfs = {u.name: u for u in picklists.ticket_udfs}
    for name, value in settings.ticket_udfs:
        udf = udfs.get(name)
        if udf is None:
            problems.append(Problem("ticket_udfs", f"Autotask has no ticket user-defined field named '{name}'."))
        elif udf.choices and value and not any(c.value == value and c.is_active for c in udf.choices):
            allowed = ", ".join(f"'{c.value}' ({c.label})" for c in udf.choices if c.is_active)
            problems.append(Problem("ticket_udfs", f"'{value}' is not an active value of '{udf.label}': {allowed}."))
    given = {name for name, value in settings.ticket_udfs if value}
    for udf in picklists.ticket_udfs:
        if udf.is_required and udf.name not in given and not udf.default_value and udf.name not in defaults.udfs:
            problems.append(
                Problem(
                    "ticket_udfs",
                    f"Autotask requires the user-defined field '{udf.label}' ({udf.name}) on every ticket and it has "
                    "no default: give it a value.",
                )
            )
    if settings.work_type_id is None and "billingcodeid" not in defaults.fields and picklists.work_types:
        where = f"category '{category.label}'" if category else "the default category"
        problems.append(
            Problem(
                "work_type_id",
                f"No Work Type is set and {where} gives none: a category that requires one refuses every ticket "
                "(Autotask's API does not say whether it does; Test ticket proves it). Choose a Work Type.",
                warning=True,
            )
        )
    return problems


def validate_configuration(settings: AutotaskSettings, picklists: Picklists) -> list[Problem]:
    """Every configured picklist value still exists and is active in the tenant, the sub-issue type belongs to the
    issue type, the closing note can be published internally, the tenant's required ticket fields are covered (by a
    setting or the category's defaults), and the tenant's UDFs and category fit (`_tenant_fit`)."""
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
    sub = check(
        "default_sub_issue_type_id", settings.default_sub_issue_type_id, picklists.sub_issue_types, "Sub-issue type"
    )
    if sub is not None and sub.parent_id is not None and sub.parent_id != settings.default_issue_type_id:
        problems.append(
            Problem(
                "default_sub_issue_type_id",
                f"Sub-issue type '{sub.label}' does not belong to the configured issue type.",
            )
        )
    check("default_source_id", settings.default_source_id, picklists.sources, "Source")
    check("priority_error_id", settings.priority_error_id, picklists.priorities, "Priority")
    check("priority_warning_id", settings.priority_warning_id, picklists.priorities, "Priority")
    check("new_ticket_status_id", settings.new_ticket_status_id, picklists.statuses, "Status")
    check("note_type_id", settings.note_type_id, picklists.note_types, "Note type")
    check("note_publish_id", settings.note_publish_id, picklists.note_publish, "Publish value")
    check("ticket_category_id", settings.ticket_category_id, picklists.ticket_categories, "Ticket category")
    check("work_type_id", settings.work_type_id, picklists.work_types, "Work Type")
    for setting in ("priority_error_id", "priority_warning_id"):
        if getattr(settings, setting) is None:
            problems.append(Problem(setting, "Not set; Autotask needs it."))
    if settings.default_queue_id is None:
        problems.append(
            Problem(
                "default_queue_id",
                "Not set; Autotask refuses tickets without a queue (or an assigned "
                "resource and role): choose a default queue.",
            )
        )
    if settings.note_type_id is None and closing_note_type(None, picklists) is None:
        problems.append(Problem("note_type_id", "Not set, and Autotask has no active default note type: choose one."))
    if settings.note_publish_id is not None:
        chosen = next((p for p in picklists.note_publish if p.id == settings.note_publish_id), None)
        if chosen is not None and not is_internal_publish(chosen):
            problems.append(
                Problem(
                    "note_publish_id",
                    f"'{chosen.label}' is not internal (only "
                    f"{_labels(picklists)} are); the closing note must not reach "
                    "the customer or its co-managing IT staff.",
                )
            )
    elif internal_publish(None, picklists) is None:
        problems.append(
            Problem(
                "note_publish_id",
                "Not set, and Autotask has no active internal publish value (such "
                "as 'Internal Only'): the closing note could not be added.",
            )
        )
    if settings.new_ticket_status_id == STATUS_COMPLETE:
        problems.append(Problem("new_ticket_status_id", "New tickets would be created closed (Complete)."))
    covered = _category_defaults(ticket_category(settings, picklists), picklists).fields
    for name in sorted(picklists.required_ticket_fields):
        key = name.lower()
        if key in _ALWAYS_SENT or key in covered:
            continue
        field_setting = _FIELD_SETTINGS.get(key)
        if field_setting is None:
            problems.append(Problem(name, f"Autotask requires '{name}'; Backupchecks does not fill it."))
        elif getattr(settings, field_setting) is None:
            problems.append(Problem(field_setting, f"Autotask requires the ticket field '{name}'; set a default."))
    return problems + _tenant_fit(settings, picklists)
