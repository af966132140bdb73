"""Tickets on the wire: a run's ticket link and its status, whether it may be resolved, the draft a create would
send, and the refresh of every link."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from msgspec import Meta, Struct

from application.use_cases.get_ticket import TicketView
from application.use_cases.preview_ticket import TicketPreview
from domain.tickets import DenyReason, LinkState
from entrypoints.http.schemas.common import Id, fields_of, out


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


class TicketsRefreshIn(Struct, forbid_unknown_fields=True):
    run_ids: Annotated[list[Id], Meta(max_length=5000)] | None = None


class TicketsRefreshedOut(Struct):
    checked: int
    changed: int
    deleted: int
    autotask_calls: int
    settled: int
    """Pending links (left by a crash or a lost answer) linked to the ticket an earlier attempt created."""
    released: int
    """Stale reservations Autotask has no ticket for, dropped so the run offers its create again."""


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


def ticket_view_out(view: TicketView) -> TicketViewOut:
    return out({**fields_of(view.link), "resolve": view.resolve}, TicketViewOut)


def draft_out(preview: TicketPreview) -> TicketDraftOut:
    d = preview.draft
    return out(
        {
            **fields_of(d),
            "company_name": preview.company_name,
            "queue_label": preview.queue_label,
            "work_type_label": preview.work_type_label,
            "category_label": preview.category_label,
            "ticket_category_id": d.category_id,
            "user_defined_fields": dict(d.udfs),
        },
        TicketDraftOut,
    )
