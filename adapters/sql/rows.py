"""Row ↔ entity functions. Flat entities map field-for-column (same names); runs, ticket links and audit records
spell out their nested parts."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from sqlalchemy.engine import RowMapping

from application.ports import User
from domain.audit import AuditEntry, AuditRecord
from domain.mapping import CompanyMapping
from domain.runs import Customer, ObjectStatus, Run, RunObject
from domain.settings import AutotaskSettings
from domain.tickets import Ticket, TicketLink, TicketStatus

T = TypeVar("T")
Row = RowMapping


def flat_row(entity: Any) -> dict[str, Any]:
    """Customer, CompanyMapping, User: one column per field."""
    return {f.name: getattr(entity, f.name) for f in dataclasses.fields(entity)}


def flat_entity(cls: type[T], row: Row, **nested: Any) -> T:
    """One field per column of the same name, except the `nested` fields given."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    return cls(**{name: nested[name] if name in nested else row[name] for name in names})


def customer_from(row: Row) -> Customer:
    return flat_entity(Customer, row)


def mapping_from(row: Row) -> CompanyMapping:
    return flat_entity(CompanyMapping, row)


def settings_row(settings: AutotaskSettings) -> dict[str, Any]:
    row = flat_row(settings)
    row["ticket_udfs"] = [list(pair) for pair in settings.ticket_udfs]
    return row


def settings_from(row: Row) -> AutotaskSettings:
    return flat_entity(AutotaskSettings, row, ticket_udfs=tuple((n, v) for n, v in row["ticket_udfs"]))


def user_from(row: Row) -> User:
    return flat_entity(User, row)


def run_row(run: Run) -> dict[str, Any]:
    row = flat_row(run)
    row["objects"] = [
        {"name": o.name, "status": o.status.value, "type": o.type, "message": o.message} for o in run.objects
    ]
    row["messages"] = list(run.messages)
    return row


def run_from(row: Row) -> Run:
    objects = tuple(
        RunObject(name=o["name"], status=ObjectStatus(o["status"]), type=o["type"], message=o["message"])
        for o in row["objects"]
    )
    return flat_entity(Run, row, objects=objects, messages=tuple(row["messages"]))


def link_row(link: TicketLink) -> dict[str, Any]:
    """The ticket's parts in their own columns; `ticket_id` holds the linked ticket's id or the unread one's."""
    row = flat_row(link)
    ticket, status = row.pop("ticket"), link.status
    del row["unread_ticket_id"]
    row["ticket_id"] = link.ticket_id
    row["ticket_number"] = None if ticket is None else ticket.number
    row["url"] = None if ticket is None else ticket.url
    row["status_value"] = None if status is None else status.value
    row["status_label"] = None if status is None else status.label
    row["status_read_at"] = None if status is None else status.read_at
    return row


def link_from(row: Row) -> TicketLink:
    """A row with a ticket number and a status holds a linked ticket; without, at most the id of an unread one."""
    if row["ticket_number"] is None or row["status_value"] is None:
        return flat_entity(TicketLink, row, ticket=None, unread_ticket_id=row["ticket_id"])
    status = TicketStatus(value=row["status_value"], label=row["status_label"], read_at=row["status_read_at"])
    ticket = Ticket(row["ticket_id"], row["ticket_number"], row["url"], status)
    return flat_entity(TicketLink, row, ticket=ticket, unread_ticket_id=None)


def audit_row(record: AuditRecord) -> dict[str, Any]:
    e = record.entry
    return {
        "seq": record.seq,
        "at": e.at,
        "actor": e.actor,
        "actor_role": e.actor_role,
        "action": e.action,
        "target_type": e.target_type,
        "target_id": e.target_id,
        "outcome": e.outcome,
        "details": dict(e.details),
        "details_customer_id": record.customer_id,
        "prev_hash": record.prev_hash,
        "hash": record.hash,
        "key_id": record.key_id,
    }


def audit_from(row: Row) -> AuditRecord:
    return AuditRecord(
        seq=row["seq"],
        entry=flat_entity(AuditEntry, row),
        prev_hash=row["prev_hash"],
        hash=row["hash"],
        key_id=row["key_id"],
        customer_id=row["details_customer_id"],
    )
