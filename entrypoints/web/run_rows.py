"""Run Checks' view model: each run as a `RunRow` whose `TicketCell` says, in words, what its ticket column shows. One
function decides the cell (`ticket_cell`), so the template only prints it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import assert_never

from application.use_cases.view_runs import CreateBlocked, RunView
from domain.draft import TicketRefusal
from domain.runs import Run
from domain.tickets import DenyReason, LinkState
from entrypoints.web import words


class CellKind(StrEnum):
    CREATE = "create"
    """The caller may create the run's ticket: a button that first shows what will be sent."""
    BLOCKED = "blocked"
    """No ticket can be made, and the caller is told why (with a link when the customer's mapping is to blame)."""
    NONE = "none"
    """No ticket, and none is the caller's to make (a reporter)."""
    PENDING = "pending"
    DELETED = "deleted"
    TICKET = "ticket"
    """A linked or resolved ticket: its name, the link to it, its last known status and the resolve control."""


@dataclass(frozen=True, slots=True)
class ResolveControl:
    offered: bool
    why_not: str
    """When not offered: the reason in words."""
    confirm: str
    """When offered: the question asked before the resolve is sent."""


@dataclass(frozen=True, slots=True)
class TicketCell:
    kind: CellKind
    text: str
    """What the cell says: the reason, the state, or the ticket's name."""
    fix_mapping: bool = False
    ticket_url: str | None = None
    status: str | None = None
    """The ticket's last status read from Autotask…"""
    status_read: str = ""
    """… and when (UTC)."""
    resolve: ResolveControl | None = None


@dataclass(frozen=True, slots=True)
class RunRow:
    run: Run
    customer_name: str
    ticket: TicketCell
    duplicate_ticket_ids: tuple[int, ...]
    """Every ticket Autotask holds with this run's `externalID`, when more than one (ADR 0034)."""


def run_rows(views: list[RunView]) -> list[RunRow]:
    return [RunRow(v.run, v.customer_name, ticket_cell(v), v.duplicate_ticket_ids) for v in views]


def ticket_cell(view: RunView) -> TicketCell:
    """The ticket column of a run: decided by the link's state, the create refusal and the resolve refusal."""
    link = view.ticket
    if link is None:
        return _ticketless(view, view.create_blocked_reason)
    name = words.ticket_name(link)
    match link.state:
        case LinkState.PENDING:
            return TicketCell(CellKind.PENDING, "Ticket being created…")
        case LinkState.DELETED:
            return TicketCell(CellKind.DELETED, f"Ticket {name} was deleted in Autotask.")
        case LinkState.LINKED | LinkState.RESOLVED:
            return TicketCell(
                CellKind.TICKET,
                f"Open ticket {name}" if link.url else f"Ticket {name}",
                ticket_url=link.url,
                status=link.status.label if link.status else None,
                status_read=link.status.read_at.strftime("%Y-%m-%d %H:%M") if link.status else "",
                resolve=_resolve(view, name),
            )
        case _:
            assert_never(link.state)


def _ticketless(view: RunView, reason: CreateBlocked | None) -> TicketCell:
    if "create_ticket" in view.actions:
        return TicketCell(CellKind.CREATE, "Create Autotask ticket")
    match reason:
        case None | "forbidden":
            return TicketCell(CellKind.NONE, "No ticket")
        case TicketRefusal.MAPPING_MISSING | TicketRefusal.MAPPING_INVALID:
            return TicketCell(CellKind.BLOCKED, words.create_blocked(reason), fix_mapping=True)
        case "integration_disabled" | TicketRefusal.RUN_NOT_TICKETABLE | TicketRefusal.TICKET_SETTINGS_INCOMPLETE:
            return TicketCell(CellKind.BLOCKED, words.create_blocked(reason))
        case _:
            assert_never(reason)


def _resolve(view: RunView, name: str) -> ResolveControl | None:
    reason = view.resolve_blocked_reason
    if "resolve_ticket" in view.actions:
        return ResolveControl(True, "", f"Resolve ticket {name} in Autotask with the closing note?")
    if reason is None or reason is DenyReason.FORBIDDEN:  # the caller may not resolve: no control at all
        return None
    return ResolveControl(False, words.resolve_blocked(reason), "")
