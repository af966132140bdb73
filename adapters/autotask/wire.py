"""Autotask's wire shapes as msgspec structs.

Autotask's key casing varies (camelCase in answers, PascalCase in its Swagger and in some tenants' answers), so every
answer's keys are folded to lower case before conversion and every struct field is named by its folded key.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

import msgspec

from application.ports import ApiUsage, Company, PsaUnavailable, TicketFacts, Zone
from domain.picklists import Picklists, PicklistValue


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


def to_picklists(tickets: FieldsAnswer, notes: FieldsAnswer) -> Picklists:
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
    )
