"""What the settings reach in Autotask, on the wire: the connection test (zone, tenant, missing rights), the
picklists and UDFs, the API usage."""

from __future__ import annotations

from msgspec import Struct

from application.use_cases.diagnostics import ConnectionResult
from domain.picklists import Picklists
from entrypoints.http.schemas.common import fields_of, out


class ZoneOut(Struct):
    name: str
    api_url: str
    web_url: str


class TenantOut(Struct):
    company_name: str


class ConnectionOut(Struct, omit_defaults=True):
    ok: bool
    message: str
    zone: ZoneOut | None = None
    tenant: TenantOut | None = None
    code: str | None = None
    missing_rights: list[str] | None = None


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


def connection_out(r: ConnectionResult) -> ConnectionOut:
    """`missing_rights` is left out of the answer when the API user lacks none."""
    tenant = None if r.tenant_name is None else {"company_name": r.tenant_name}
    return out({**fields_of(r), "tenant": tenant, "missing_rights": list(r.missing_rights) or None}, ConnectionOut)


def picklists_out(picklists: Picklists) -> PicklistsOut:
    """`work_types` lists active Work Types only (the contract's; Validate still knows the inactive ones)."""
    udfs = [{**fields_of(u), "values": list(u.choices) or None} for u in picklists.ticket_udfs]
    work_types = [w for w in picklists.work_types if w.is_active]
    return out({**fields_of(picklists), "ticket_udfs": udfs, "work_types": work_types}, PicklistsOut)
