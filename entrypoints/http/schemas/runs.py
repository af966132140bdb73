"""Backup runs on the wire: a run (with its objects and messages) in, a run with its ticket and actions out, a page."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from msgspec import Meta, Struct

from application.use_cases.view_runs import RunView
from domain.runs import ObjectStatus, Run, RunObject, RunStatus
from domain.tickets import DenyReason
from entrypoints.http.schemas.common import RFC3339, SINGLE_LINE, Id, LongText, Text, as_utc, fields_of, out, parse_time
from entrypoints.http.schemas.tickets import TicketLinkOut


class RunObjectIn(Struct, forbid_unknown_fields=True):
    name: Text
    status: ObjectStatus
    type: Annotated[str, Meta(max_length=100, pattern=SINGLE_LINE)] | None = None
    message: LongText | None = None


class RunIn(Struct, forbid_unknown_fields=True):
    customer_id: Id
    job_name: Text
    backup_software: Text
    backup_type: Text
    run_at: Annotated[str, Meta(max_length=40, pattern=RFC3339)]
    """A string with its offset, never a number (integers are not times: `0` is not 1970)."""
    status: RunStatus
    objects: Annotated[list[RunObjectIn], Meta(max_length=5000)] = []
    messages: Annotated[list[LongText], Meta(max_length=500)] = []

    def to_run(self, run_id: str) -> Run:
        objects = tuple(RunObject(o.name, o.status, o.type, o.message) for o in self.objects)
        return Run(
            run_id,
            self.customer_id,
            self.job_name,
            self.backup_software,
            self.backup_type,
            as_utc(parse_time(self.run_at, "run_at"), "run_at"),
            self.status,
            objects,
            tuple(self.messages),
        )


class RunObjectOut(Struct):
    name: str
    type: str | None
    status: ObjectStatus
    message: str | None


class RunOut(Struct):
    id: str
    customer_id: str
    customer_name: str
    job_name: str
    backup_software: str
    backup_type: str
    run_at: datetime
    status: RunStatus
    objects: list[RunObjectOut]
    messages: list[str]
    ticket: TicketLinkOut | None
    actions: list[str]
    resolve_blocked_reason: DenyReason | None
    create_blocked_reason: str | None
    duplicate_ticket_ids: list[int] = []
    """Every Autotask ticket carrying this run's `externalID` when there are two or more (the run's own view)."""


class RunPage(Struct):
    items: list[RunOut]
    next_cursor: str | None


def run_out(view: RunView) -> RunOut:
    """The run's own fields and what the view adds (customer name, ticket, actions, why an action is blocked)."""
    return out({**fields_of(view.run), **fields_of(view, exclude="run")}, RunOut)
