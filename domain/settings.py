"""The Autotask settings (Settings → Extensions & Integrations → Autotask)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.tickets import CLOSING_NOTE


class Environment(StrEnum):
    SANDBOX = "sandbox"
    PRODUCTION = "production"


class ApiLogLevel(StrEnum):
    OFF = "off"
    ERRORS = "errors"
    REQUESTS = "requests"


STATUS_NEW = 1
"""Autotask's system status *New*, the default for new tickets."""
DUE_HOURS_DEFAULT = 24
DUE_HOURS_MIN = 1
DUE_HOURS_MAX = 8760
"""A ticket is due between 1 hour and a year after the run is reviewed (its ticket created)."""
STATUS_SYNC_DEFAULT, STATUS_SYNC_MAX = 15, 1440
MAPPING_CHECK_DEFAULT, MAPPING_CHECK_MAX = 24, 168
"""Background work: 0 turns a job off, else minutes (1 to a day) and hours (1 to a week)."""
CREDENTIAL_NAMES = {
    "api_username": "API username",
    "api_password": "API password",
    "tracking_identifier": "tracking identifier",
}
"""The settings Autotask reads from HTTP headers (UserName, Secret, ApiIntegrationCode), by their words on the page."""


def visible_ascii(text: str) -> bool:
    """Only visible ASCII (0x21-0x7e): what a credential in an HTTP header may hold as typed (no space, no accented
    letter, no control character). Autotask's API usernames are email addresses, its secrets and integration codes
    plain ASCII."""
    return all("!" <= c <= "~" for c in text)


def header_sendable(text: str) -> bool:
    """Text an HTTP header can carry at all (printable ASCII, spaces included): what a credential stored before
    `visible_ascii` was checked must be to be sent."""
    return all(" " <= c <= "~" for c in text)


@dataclass(frozen=True, slots=True)
class AutotaskSettings:
    """One row per installation. The password is held only sealed (ciphertext); the domain never sees it in plain."""

    installation_id: str
    enabled: bool = False
    environment: Environment | None = None
    """Which kind of Autotask database the credentials reach, as the admin says (docs/adr/0021): no default. It
    only orders zone discovery and labels the pages; the tenant's name (Test connection) is what proves it."""
    api_username: str = ""
    api_password_sealed: str | None = None
    tracking_identifier: str = ""
    backupchecks_base_url: str | None = None
    default_queue_id: int | None = None
    default_issue_type_id: int | None = None
    default_sub_issue_type_id: int | None = None
    default_source_id: int | None = None
    priority_error_id: int | None = None
    priority_warning_id: int | None = None
    new_ticket_status_id: int = STATUS_NEW
    note_type_id: int | None = None
    note_publish_id: int | None = None
    allow_resolve: bool = False
    api_log_level: ApiLogLevel = ApiLogLevel.ERRORS
    ticket_due_hours: int = DUE_HOURS_DEFAULT
    """Every ticket is sent with `dueDateTime` this many hours after it is created: tenants whose ticket category gives
    no due date refuse tickets without one."""
    ticket_category_id: int | None = None
    """Autotask's `ticketCategory` for new tickets; None leaves it to the API user's (or the tenant's) default."""
    work_type_id: int | None = None
    """The Work Type (`billingCodeID`) of new tickets."""
    ticket_udfs: tuple[tuple[str, str], ...] = ()
    """Values for the tenant's ticket user-defined fields, (name, value), sent on every new ticket."""
    tenant_name: str | None = None
    """Observed, not set: the name of the tenant's own company (`Companies/0`) at the last Test connection."""
    time_entries_visible: bool | None = None
    """Observed, not set: whether the API user may see every time entry (None: not checked yet). While False no
    ticket is resolved from Backupchecks: a count of 0 would prove nothing."""
    rights_checked_at: datetime | None = None
    """When the API user's rights were last read (Test connection, or a resolve at most hourly)."""
    status_sync_minutes: int = STATUS_SYNC_DEFAULT
    """How often the service itself polls the status of open tickets (0: never; the CLI still can)."""
    mapping_check_hours: int = MAPPING_CHECK_DEFAULT
    """How often the service itself re-checks every mapping (0: never)."""

    @property
    def closing_note(self) -> str:
        return CLOSING_NOTE

    @property
    def api_password_set(self) -> bool:
        return self.api_password_sealed is not None

    @property
    def has_credentials(self) -> bool:
        return bool(self.api_username and self.api_password_sealed and self.tracking_identifier)

    @property
    def reach(self) -> tuple[object, ...]:
        """What decides which Autotask database and API user the settings reach: when it changes, what was observed
        there (OBSERVED) no longer holds."""
        return (self.environment, self.api_username, self.api_password_sealed, self.tracking_identifier)

    @property
    def udfs(self) -> dict[str, str]:
        return dict(self.ticket_udfs)


OBSERVED = frozenset({"tenant_name", "time_entries_visible", "rights_checked_at"})
"""Settings Backupchecks observes in Autotask: no admin sets them; forgotten when the credentials change."""
RIGHTS_RECHECK_SECONDS = 3600
"""How old the observed rights may grow before a resolve reads them again (Test connection always does)."""
UDFS_MAX = 50
UDF_NAME_MAX = 100
UDF_VALUE_MAX = 1000
