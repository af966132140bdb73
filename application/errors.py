"""Errors the use cases raise, each code defined once: one class per stable `code`, under the family that gives its
HTTP status (the HTTP layer maps the family to a status; its OpenAPI code lists are read from these classes).

An error also carries what its audit record says besides the code and message: `details` and `outcome` (a refusal is
`denied`, a failure of Autotask or storage is `failed`), and `recorded` once a use case wrote that record itself
(in the transaction of a change). The attempt mechanism (application/attempts.py) writes the others."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from domain.audit import JsonScalar, Outcome
from domain.draft import TicketRefusal
from domain.tickets import DenyReason


class UseCaseError(Exception):
    code: ClassVar[str] = "error"
    message_default: ClassVar[str] = "The request was refused."

    def __init__(self, message: str | None = None) -> None:
        self.message = message if message is not None else self.message_default
        super().__init__(self.message)
        self.details: dict[str, JsonScalar] = {}
        self.outcome = Outcome.DENIED
        self.recorded = False

    def noting(self, **details: JsonScalar) -> Self:
        """This error, its audit record carrying `details` too."""
        self.details.update(details)
        return self

    def failed(self, **details: JsonScalar) -> Self:
        """This error recorded as a failure (`failed`, not `denied`), with `details`."""
        self.outcome = Outcome.FAILED
        return self.noting(**details)


# ------------------------------------------------------------------------------------------------------- families
class Forbidden(UseCaseError):
    """403: the caller's role may not do this."""

    code = DenyReason.FORBIDDEN.value
    message_default = "Your role may not do this."


class NotFound(UseCaseError):
    """404: the thing named does not exist."""


class Conflict(UseCaseError):
    """409: the request is valid but the state does not allow it."""


class Unprocessable(UseCaseError):
    """422: the request names something that cannot be used."""


class InvalidInput(UseCaseError):
    """400: a value is out of range or malformed."""

    code = "invalid_input"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class AutotaskRejected(UseCaseError):
    """502: Autotask answered with an error; its own text is in the message."""

    code = "autotask_rejected"


class AutotaskPermissionDenied(AutotaskRejected):
    """502: Autotask refused the API user a permission ("not adequate permissions"): the integration's problem, fixed
    in the API user's security level; nothing stored about the data asked for changes."""

    code = "autotask_permission_denied"


class AutotaskUnavailable(UseCaseError):
    """503: Autotask did not answer (timeout, network, throttling)."""

    code = "autotask_unavailable"


# ---------------------------------------------------------------------------------------------------- storage port
class StorageError(Exception):
    """What the storage adapter raises instead of its driver's errors (a port error: not audited, since the audit
    log lives in the same storage). Built-in bases keep `except ConnectionError/ValueError` working."""

    code: ClassVar[str] = "storage_error"
    message_default: ClassVar[str] = "The database failed."

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        """The driver's first line, statement parameters masked: for the log, never for the client."""


class StorageUnavailable(StorageError, ConnectionError):
    """503: the database did not answer (lost connection, server down, locked past the busy timeout)."""

    code = "database_unavailable"
    message_default = "The database is not available; try again shortly."


class AuditKeyUnknown(StorageUnavailable):
    """503: the newest audit record is signed with a key this process does not hold, even after reading its keys
    again (another host rotated the key and its key file was not copied here): nothing is appended under a stale key
    (docs/adr/0033-audit-key-rotation.md)."""

    code = "audit_key_unknown"
    message_default = "The audit key was rotated elsewhere and this instance does not hold the new key yet."


class StorageRefused(StorageError, ValueError):
    """422: the database refused a value (too long, out of range, a constraint). Nothing was stored."""

    code = "value_refused"
    message_default = "The database refused a value of this request; nothing was stored."


class WrongPassword(Forbidden):
    """403: the current password given to change one's own password is not theirs."""

    code = "wrong_password"
    message_default = "The current password is wrong."


# ------------------------------------------------------------------------------------------------------ 404 codes
class RunNotFound(NotFound):
    code = "run_not_found"

    def __init__(self, run_id: str) -> None:
        super().__init__(f"No run has ID {run_id!r}.")


class CustomerNotFound(NotFound):
    code = "customer_not_found"
    message_default = "Unknown customer."


class UserNotFound(NotFound):
    code = "user_not_found"
    message_default = "No user has this ID."


class NoTicket(NotFound):
    code = DenyReason.NO_TICKET.value
    message_default = "This run has no Autotask ticket."


# ------------------------------------------------------------------------------------------------------ 409 codes
class NotConfigured(Conflict):
    """409: the integration is off or lacks credentials."""

    code = "integration_disabled"
    message_default = "The Autotask integration is not enabled."


class MappingMissing(Conflict):
    code = TicketRefusal.MAPPING_MISSING.value
    message_default = "The customer is not mapped to an Autotask company."


class MappingInvalid(Conflict):
    code = TicketRefusal.MAPPING_INVALID.value
    message_default = "The mapping is invalid."


class MappingChanged(Conflict):
    code = "mapping_changed"
    message_default = "The mapping was changed while it was being checked; look at it again."


class RunNotTicketable(Conflict):
    code = TicketRefusal.RUN_NOT_TICKETABLE.value
    message_default = "Tickets are created for warning, error and missed runs only."


class TicketSettingsIncomplete(Conflict):
    code = TicketRefusal.TICKET_SETTINGS_INCOMPLETE.value


class RunHasTicket(Conflict):
    code = "run_has_ticket"
    message_default = "This run has an Autotask ticket for its customer's company; it cannot move to another customer."


class TicketBusy(Conflict):
    code = "ticket_busy"
    message_default = "The ticket changed while resolving it; look again and retry."


class LinkChanged(Conflict):
    """Audited only (the caller gets what is stored): a created ticket's link was moved on by someone else meanwhile,
    so the ticket may need a person's look."""

    code = "link_changed"


class TicketDeleted(Conflict):
    code = DenyReason.TICKET_DELETED.value


class AlreadyClosed(Conflict):
    code = DenyReason.ALREADY_CLOSED.value


class TimeEntriesPresent(Conflict):
    code = DenyReason.TIME_ENTRIES_PRESENT.value


class TimeEntriesUnverifiable(Conflict):
    code = DenyReason.TIME_ENTRIES_UNVERIFIABLE.value


class ResolvingDisabled(Conflict):
    code = DenyReason.RESOLVING_DISABLED.value


class NoteTypeMissing(Conflict):
    code = DenyReason.NOTE_TYPE_MISSING.value


class NotePublishNotInternal(Conflict):
    code = DenyReason.NOTE_PUBLISH_NOT_INTERNAL.value


class UsernameTaken(Conflict):
    code = "username_taken"
    message_default = "This username is taken."


class LastAdmin(Conflict):
    code = "last_admin"
    message_default = "The last enabled admin cannot be removed, demoted or disabled: make another admin first."


class KeyRotationUnavailable(Conflict):
    """The audit key comes from the environment (BACKUPCHECKS_AUDIT_KEY): rotate it there, not with rotate-key."""

    code = "key_rotation_unavailable"
    message_default = (
        "The audit key is given by BACKUPCHECKS_AUDIT_KEY; only a key kept in the data directory's audit.key can be "
        "rotated."
    )


# ------------------------------------------------------------------------------------------------------ 422 codes
class UnknownCustomer(Unprocessable):
    code = "unknown_customer"

    def __init__(self, customer_id: str) -> None:
        super().__init__(f"No customer has ID {customer_id!r}.")


class CompanyNotFound(Unprocessable):
    code = "company_not_found"

    def __init__(self, company_id: int) -> None:
        super().__init__(f"No Autotask company has ID {company_id}.")


class CompanyInactive(Unprocessable):
    code = "company_inactive"

    def __init__(self, company_id: int) -> None:
        super().__init__(f"Autotask company {company_id} is inactive.")


class WeakPassword(Unprocessable):
    """422: a new password does not meet the policy (domain/passwords.py); the message says why."""

    code = "weak_password"


class SettingInvalid(Unprocessable):
    """422: a setting holds a value it cannot be used with (a credential HTTP headers cannot carry); `field` names it
    and the message says what it may hold (never the value: it may be a password)."""

    code = "setting_invalid"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class CompanyInaccessible(Unprocessable):
    code = "company_inaccessible"


@dataclass(frozen=True, slots=True)
class LineError:
    line: int
    """The line of the file (1 is the header)."""
    customer_id: str
    code: str
    message: str


class ImportInvalid(Unprocessable):
    """422: a mappings file with bad lines; `errors` names each, and nothing of the file was applied."""

    code = "import_invalid"

    def __init__(self, errors: list[LineError]) -> None:
        lines = ", ".join(str(e.line) for e in errors[:10]) + (" …" if len(errors) > 10 else "")
        super().__init__(f"{len(errors)} bad line{'s' * (len(errors) != 1)} ({lines}); nothing was applied.")
        self.errors = errors


class SignInRefused(UseCaseError):
    """A web sign-in refused: the page says so (no HTTP status of the API)."""


class SignInFailed(SignInRefused):
    code = "sign_in_failed"


class SignInLocked(SignInRefused):
    code = "sign_in_locked"


class SignInDisabled(SignInRefused):
    code = "user_disabled"
    message_default = "This account is disabled: ask an admin."


# ----------------------------------------------------------------------------------------- domain reasons → codes
DENIED: dict[DenyReason, type[UseCaseError]] = {
    DenyReason.NO_TICKET: NoTicket,
    DenyReason.TICKET_DELETED: TicketDeleted,
    DenyReason.ALREADY_CLOSED: AlreadyClosed,
    DenyReason.TIME_ENTRIES_PRESENT: TimeEntriesPresent,
    DenyReason.TIME_ENTRIES_UNVERIFIABLE: TimeEntriesUnverifiable,
    DenyReason.RESOLVING_DISABLED: ResolvingDisabled,
    DenyReason.FORBIDDEN: Forbidden,
    DenyReason.NOTE_TYPE_MISSING: NoteTypeMissing,
    DenyReason.NOTE_PUBLISH_NOT_INTERNAL: NotePublishNotInternal,
}
"""The error of each reason the domain gives for not resolving (its message is the domain's DENY_MESSAGES)."""

TICKET_REFUSED: dict[TicketRefusal, type[UseCaseError]] = {
    TicketRefusal.MAPPING_MISSING: MappingMissing,
    TicketRefusal.MAPPING_INVALID: MappingInvalid,
    TicketRefusal.RUN_NOT_TICKETABLE: RunNotTicketable,
    TicketRefusal.TICKET_SETTINGS_INCOMPLETE: TicketSettingsIncomplete,
}
"""The error of each reason the domain gives for not creating a run's ticket."""
