"""What the pages say: every answer of the use cases in words."""

from __future__ import annotations

from collections.abc import Mapping
from typing import assert_never

from application.errors import AutotaskRejected, AutotaskUnavailable, UseCaseError
from application.use_cases.create_ticket import Created, CreateTicketResult
from application.use_cases.view_runs import CreateBlocked
from domain.draft import TicketRefusal
from domain.tickets import DenyReason, TicketLink


def create_blocked(reason: CreateBlocked) -> str:
    """Why a ticketless run offers no create, in words; a code without words fails `mypy --strict` here."""
    match reason:
        case "forbidden":
            return "Your role may not create tickets."
        case "integration_disabled":
            return "The Autotask integration is off or its credentials are incomplete."
        case TicketRefusal.MAPPING_MISSING:
            return "This customer is not mapped to an Autotask company."
        case TicketRefusal.MAPPING_INVALID:
            return "This customer's Autotask company mapping is invalid."
        case TicketRefusal.RUN_NOT_TICKETABLE:
            return "Successful runs get no ticket."
        case TicketRefusal.TICKET_SETTINGS_INCOMPLETE:
            return "The Autotask settings lack the queue or the priorities tickets need; an admin sets them."
        case _:
            assert_never(reason)


def resolve_blocked(reason: DenyReason) -> str:
    """Why a linked ticket offers no resolve, in words; a reason without words fails `mypy --strict` here."""
    match reason:
        case DenyReason.NO_TICKET:
            return "no ticket yet"
        case DenyReason.TICKET_DELETED:
            return "the ticket was deleted in Autotask"
        case DenyReason.ALREADY_CLOSED:
            return "already closed"
        case DenyReason.TIME_ENTRIES_PRESENT:
            return "time entries present"
        case DenyReason.TIME_ENTRIES_UNVERIFIABLE:
            return "the Autotask API user cannot see every time entry (resolve it in Autotask)"
        case DenyReason.RESOLVING_DISABLED:
            return "resolving is switched off"
        case DenyReason.FORBIDDEN:
            return "your role may not resolve tickets"
        case DenyReason.NOTE_TYPE_MISSING:
            return "the settings name no usable closing note type"
        case DenyReason.NOTE_PUBLISH_NOT_INTERNAL:
            return "the closing note's publish value is not internal"
        case _:
            assert_never(reason)


def ticket_name(link: TicketLink) -> str:
    return link.ticket_number or (f"#{link.ticket_id}" if link.ticket_id else "the ticket")


def created(result: CreateTicketResult) -> tuple[str, str]:
    name = ticket_name(result.link)
    if result.outcome is Created.CREATED:
        return "ok", f"Autotask ticket {name} was created."
    if result.outcome is Created.EXISTING:
        return "info", f"This run already had ticket {name}; no second ticket was made."
    return "info", "The ticket is being created by another request; it shows here in a moment."


def failed(error: UseCaseError, doing: str) -> str:
    """A refusal or failure in words: the use case's own message, with Autotask's own text when it has one."""
    if isinstance(error, AutotaskRejected):
        return f"Autotask rejected {doing}: {error.message}"
    if isinstance(error, AutotaskUnavailable):
        return f"Autotask is unavailable ({doing}); try again later, a ticket is never made twice. {error.message}"
    return f"Not done ({doing}): {error.message}"


def details(values: Mapping[str, object], sep: str = "=", *, sort: bool = False) -> str:
    """A record's details as `key=value, …` in words: a boolean is yes or no, an absent value (None) is left out,
    never Python's `True` or `None`."""
    items = sorted(values.items()) if sort else list(values.items())
    return ", ".join(f"{k}{sep}{_value(v)}" for k, v in items if v is not None)


def _value(value: object) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)
