"""What the pages say: every answer of the use cases in words."""

from __future__ import annotations

from application.errors import (
    AlreadyClosed,
    AutotaskRejected,
    AutotaskUnavailable,
    Forbidden,
    MappingInvalid,
    MappingMissing,
    NotConfigured,
    NoTicket,
    ResolvingDisabled,
    RunNotTicketable,
    TicketDeleted,
    TimeEntriesPresent,
    TimeEntriesUnverifiable,
    UseCaseError,
)
from application.use_cases.create_ticket import Created, CreateTicketResult
from domain.tickets import TicketLink

RESOLVE_BLOCKED = {
    NoTicket.code: "no ticket yet",
    TicketDeleted.code: "the ticket was deleted in Autotask",
    AlreadyClosed.code: "already closed",
    TimeEntriesPresent.code: "time entries present",
    TimeEntriesUnverifiable.code: "the Autotask API user cannot see every time entry (resolve it in Autotask)",
    ResolvingDisabled.code: "resolving is switched off",
    Forbidden.code: "your role may not resolve tickets",
}
CREATE_BLOCKED = {
    NotConfigured.code: "The Autotask integration is off or its credentials are incomplete.",
    MappingMissing.code: "This customer is not mapped to an Autotask company.",
    MappingInvalid.code: "This customer's Autotask company mapping is invalid.",
    RunNotTicketable.code: "Successful runs get no ticket.",
}


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
