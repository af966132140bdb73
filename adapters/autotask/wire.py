"""Autotask's wire shapes as msgspec structs.

Autotask's key casing varies (camelCase in answers, PascalCase in its Swagger and in some tenants' answers), so every
answer's keys are folded to lower case before conversion and every struct field is named by its folded key.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

import msgspec

from application.ports import AccessLevel, ApiUsage, Company, EntityRights, PsaUnavailable, TicketFacts, Zone
from domain.picklists import CategoryDefaults, Picklists, PicklistValue, TicketUdf, UdfChoice


def _fold(name: str) -> str:
    return name.replace("_", "").lower()


class _Wire(msgspec.Struct, rename=_fold, forbid_unknown_fields=False):
    pass


def fold_keys(value: Any) -> Any:
    """The same JSON value with every object key in lower case (values untouched)."""
    if isinstance(value, dict):
        return {str(k).lower(): fold_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [fold_keys(v) for v in value]
    return value


T = TypeVar("T")
Long = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
"""Autotask's ids and counts are 64-bit at most; anything larger is a broken answer, not a number to pass on."""


def convert(value: Any, kind: type[T], *, maybe_applied: bool = False) -> T:
    """The answer as `kind`, or PsaUnavailable naming what was wrong with its shape (`maybe_applied` for the answer
    to a write that reached Autotask: it may have taken effect although its answer is unreadable)."""
    try:
        return msgspec.convert(fold_keys(value), kind, strict=False)
    except msgspec.ValidationError as error:
        raise PsaUnavailable(
            f"Autotask answered in an unexpected shape ({kind.__name__}: {error}).", maybe_applied=maybe_applied
        ) from None


class ZoneInformation(_Wire):
    url: str
    web_url: str | None = None
    zone_name: str | None = None

    def to_zone(self) -> Zone:
        if not self.url.lower().startswith(("https://", "http://")):
            raise PsaUnavailable(f"Zone discovery answered an API url that is not http(s): {self.url[:100]!r}.")
        api = self.url if self.url.endswith("/") else self.url + "/"
        web = self.web_url or ""
        if web and not web_address_safe(web):
            raise PsaUnavailable(
                "Zone discovery answered a web address (webUrl) that is not https (http only on this computer, "
                f"for a simulator), so no ticket link is made with it: {web[:100]!r}."
            )
        web = web if not web or web.endswith("/") else web + "/"
        return Zone(self.zone_name or "", api + "V1.0/", web)


LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def web_address_safe(url: str) -> bool:
    """Every ticket link starts with the zone's webUrl: https with a host, or http to this computer (a simulator);
    never `javascript:`, `data:` or any other scheme a browser would run or open."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    if not host or any(c.isspace() or not c.isprintable() for c in url):
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and host in LOOPBACK)


class ErrorAnswer(_Wire):
    errors: list[str] | None = None
    message: str | None = None

    def text(self) -> str:
        return "; ".join(str(e) for e in self.errors or []) or (self.message or "")


class CompanyWire(_Wire):
    id: Long
    company_name: str | None = None
    is_active: bool | None = None

    def to_company(self) -> Company:
        return Company(self.id, self.company_name or "", self.is_active is not False)


class TicketWire(_Wire):
    id: Long
    ticket_number: str | None = None
    status: Long | None = None
    external_id: str | None = None

    def to_facts(self, web_url: str) -> TicketFacts:
        url = f"{web_url}Autotask/AutotaskExtend/ExecuteCommand.aspx?Code=OpenTicketDetail&TicketID={self.id}"
        number, link = self.ticket_number or "", url if web_url else None
        return TicketFacts(self.id, number, self.status or 0, link, self.external_id)


class NoteWire(_Wire):
    id: Long
    ticket_id: Long | None = None
    description: str | None = None


class PageDetails(_Wire):
    next_page_url: str | None = None


class QueryAnswer(_Wire):
    items: list[dict[str, Any]] | None = None
    page_details: PageDetails | None = None


class CreateAnswer(_Wire):
    item_id: Long


class CountAnswer(_Wire):
    query_count: Long


class ThresholdInformation(_Wire):
    external_request_threshold: Long | None = None
    request_threshold_timeframe: Long | None = None
    current_timeframe_request_count: Long | None = None

    def to_usage(self) -> ApiUsage:
        return ApiUsage(
            self.current_timeframe_request_count or 0,
            self.external_request_threshold or 0,
            self.request_threshold_timeframe or 0,
        )


class PicklistValueWire(_Wire):
    value: str | int
    label: str | None = None
    parent_value: str | int | None = None
    is_active: bool | None = None
    is_default_value: bool | None = None


class FieldWire(_Wire):
    name: str
    is_required: bool | None = None
    is_pick_list: bool | None = None
    picklist_values: list[PicklistValueWire] | None = None


class FieldsAnswer(_Wire):
    fields: list[FieldWire] | None = None


def _int(value: str | int | None) -> int | None:
    try:
        return None if value is None or value == "" else int(value)
    except ValueError:
        return None


def _values(fields: list[FieldWire], name: str) -> tuple[PicklistValue, ...]:
    field = next((f for f in fields if f.name.lower() == name.lower()), None)
    out = []
    for v in (field.picklist_values or []) if field else []:
        value = _int(v.value)
        if value is not None:
            out.append(
                PicklistValue(
                    value,
                    v.label or str(value),
                    v.is_active is not False,
                    _int(v.parent_value),
                    v.is_default_value is True,
                )
            )
    return tuple(out)


class UdfWire(_Wire):
    name: str
    label: str | None = None
    is_required: bool | None = None
    default_value: Any = None
    picklist_values: list[PicklistValueWire] | None = None

    def to_udf(self) -> TicketUdf:
        value = self.default_value
        default = None if not _given(value) or isinstance(value, dict | list) else _text(value)
        choices = tuple(
            UdfChoice(str(v.value), v.label or str(v.value), v.is_active is not False)
            for v in self.picklist_values or []
        )
        return TicketUdf(self.name, self.label or self.name, self.is_required is True, default, choices)


class UdfsAnswer(_Wire):
    fields: list[UdfWire] | None = None


class BillingCodeWire(_Wire):
    id: Long
    name: str | None = None
    is_active: bool | None = None
    use_type: Long | None = None


WORK_TYPE_USE = 1
"""`BillingCodes.useType` of the general work types (a ticket's Work Type); other use types are expenses, mileage, …"""


class UdfValueWire(_Wire):
    name: str | None = None
    value: Any = None


class CategoryDefaultsWire(_Wire):
    """One `TicketCategoryFieldDefaults` record. The Swagger names `workTypeID`, `issueTypeID`, `subIssueTypeID` and
    `sourceID`; Autotask's documentation also speaks of `billingCodeID`, `issueType`, …: both spellings are read."""

    ticket_category_id: Long | None = None
    queue_id: Any = None
    work_type_id: Any = None
    billing_code_id: Any = None
    priority: Any = None
    issue_type_id: Any = None
    issue_type: Any = None
    sub_issue_type_id: Any = None
    sub_issue_type: Any = None
    source_id: Any = None
    source: Any = None
    status: Any = None
    user_defined_fields: list[UdfValueWire] | None = None

    def given(self) -> frozenset[str]:
        """The ticket fields this record gives a value, by Autotask's ticket field names folded to lower case."""
        fields = {
            "queueid": (self.queue_id,),
            "billingcodeid": (self.work_type_id, self.billing_code_id),
            "priority": (self.priority,),
            "issuetype": (self.issue_type_id, self.issue_type),
            "subissuetype": (self.sub_issue_type_id, self.sub_issue_type),
            "source": (self.source_id, self.source),
            "status": (self.status,),
        }
        return frozenset(name for name, values in fields.items() if any(_given(v) for v in values))

    def udfs(self) -> frozenset[str]:
        return frozenset(u.name for u in self.user_defined_fields or [] if u.name and _given(u.value))


def _text(value: Any) -> str:
    """A scalar JSON value as the text a UDF carries."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _given(value: Any) -> bool:
    """A default is given when it is not null (an empty text is no default either: it fills nothing)."""
    return value is not None and value != ""


def work_types(items: list[Any]) -> tuple[PicklistValue, ...]:
    """Work Types from a `BillingCodes` query by `useType eq 1`; a record of another use type is dropped (never trust
    that Autotask applied the filter)."""
    codes = [convert(i, BillingCodeWire) for i in items]
    return tuple(
        PicklistValue(c.id, c.name or str(c.id), c.is_active is not False)
        for c in sorted(codes, key=lambda c: c.id)
        if c.use_type is None or c.use_type == WORK_TYPE_USE
    )


def category_defaults(items: list[Any]) -> tuple[CategoryDefaults, ...]:
    """What each ticket category fills in, from every `TicketCategoryFieldDefaults` record (merged per category)."""
    fields: dict[int, set[str]] = {}
    udfs: dict[int, set[str]] = {}
    for record in (convert(i, CategoryDefaultsWire) for i in items):
        if record.ticket_category_id is None:
            continue
        fields.setdefault(record.ticket_category_id, set()).update(record.given())
        udfs.setdefault(record.ticket_category_id, set()).update(record.udfs())
    return tuple(CategoryDefaults(c, frozenset(fields[c]), frozenset(udfs[c])) for c in sorted(fields))


def to_picklists(
    tickets: FieldsAnswer,
    notes: FieldsAnswer,
    udfs: UdfsAnswer | None = None,
    work_type_items: list[Any] | None = None,
    category_default_items: list[Any] | None = None,
) -> Picklists:
    """None (or nothing) for the facts the tenant did not let the API user read."""
    t, n = tickets.fields or [], notes.fields or []
    return Picklists(
        queues=_values(t, "queueID"),
        issue_types=_values(t, "issueType"),
        sub_issue_types=_values(t, "subIssueType"),
        sources=_values(t, "source"),
        priorities=_values(t, "priority"),
        statuses=_values(t, "status"),
        note_types=_values(n, "noteType"),
        note_publish=_values(n, "publish"),
        required_ticket_fields=frozenset(f.name for f in t if f.is_required),
        ticket_categories=_values(t, "ticketCategory"),
        work_types=work_types(work_type_items or []),
        ticket_udfs=tuple(u.to_udf() for u in (udfs.fields or [] if udfs else [])),
        category_defaults=category_defaults(category_default_items or []),
    )


class EntityInfoWire(_Wire):
    name: str | None = None
    can_create: bool | None = None
    can_update: bool | None = None
    can_query: bool | None = None
    user_access_for_create: str | int | None = None
    user_access_for_query: str | int | None = None
    user_access_for_update: str | int | None = None

    def to_rights(self) -> EntityRights:
        return EntityRights(
            _level(self.can_create, self.user_access_for_create),
            _level(self.can_query, self.user_access_for_query),
            _level(self.can_update, self.user_access_for_update),
        )


class EntityInformationAnswer(_Wire):
    info: EntityInfoWire


def _level(can: bool | None, access: str | int | None) -> AccessLevel:
    """`can<Action>` false: none. Else `userAccessFor<Action>`: "All" full, "None" none, absent full (the entity allows
    the action and nothing narrows it), anything else ("Mine", "Restricted", a number we cannot read) limited."""
    if can is False:
        return AccessLevel.NONE
    if access is None:
        return AccessLevel.FULL
    word = str(access).strip().casefold()
    return AccessLevel.FULL if word == "all" else AccessLevel.NONE if word == "none" else AccessLevel.LIMITED
