"""The SQLAlchemy Core tables (no ORM). Column names equal the domain fields they hold, so the row ↔ entity
functions in `rows.py` stay short. Text keys that are sorted or paged use the "C" collation on PostgreSQL (byte order,
like SQLite's BINARY and Python's own `str` order), so every backend sorts alike."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from domain.audit import Outcome
from domain.mapping import MappingStatus
from domain.roles import Role
from domain.runs import RunStatus
from domain.settings import ApiLogLevel, Environment
from domain.tickets import LinkState


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC in and out. PostgreSQL: timestamptz. SQLite: fixed-width ISO text in UTC, so text order is
    time order and comparisons in SQL stay correct. Naive datetimes are refused."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        return dialect.type_descriptor(sa.String(26) if dialect.name == "sqlite" else sa.DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} (timezone-aware UTC expected)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None).isoformat(timespec="microseconds") if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        assert isinstance(moment, datetime)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class EnumText(sa.TypeDecorator[StrEnum]):
    """A StrEnum stored as its value (plain text, no database enum type to migrate)."""

    impl = sa.String(32)
    cache_ok = True

    def __init__(self, enum: type[StrEnum]) -> None:
        super().__init__()
        self.enum = enum

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> StrEnum | None:
        return None if value is None else self.enum(value)


def key_text() -> sa.types.TypeEngine[str]:
    """Text compared and sorted by code point on every backend."""
    return sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


metadata = sa.MetaData()

customers = sa.Table(
    "customers",
    metadata,
    sa.Column("id", key_text(), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", key_text(), primary_key=True),
    sa.Column("customer_id", key_text(), nullable=False),
    sa.Column("job_name", sa.Text, nullable=False),
    sa.Column("backup_software", sa.Text, nullable=False),
    sa.Column("backup_type", sa.Text, nullable=False),
    sa.Column("run_at", UtcDateTime, nullable=False),
    sa.Column("status", EnumText(RunStatus), nullable=False),
    sa.Column("objects", sa.JSON, nullable=False),
    sa.Column("messages", sa.JSON, nullable=False),
    sa.Index("ix_runs_run_at_id", "run_at", "id"),
    sa.Index("ix_runs_status_run_at_id", "status", "run_at", "id"),
    sa.Index("ix_runs_customer_run_at_id", "customer_id", "run_at", "id"),
)

company_mappings = sa.Table(
    "company_mappings",
    metadata,
    sa.Column("customer_id", key_text(), primary_key=True),
    sa.Column("status", EnumText(MappingStatus), nullable=False),
    sa.Column("company_id", sa.BigInteger),
    sa.Column("company_name", sa.Text),
    sa.Column("previous_company_name", sa.Text),
    sa.Column("status_reason", sa.Text),
    sa.Column("last_synced_at", UtcDateTime),
    sa.Column("psa", sa.String(32), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_company_mappings_status", "status"),
)

ticket_links = sa.Table(
    "ticket_links",
    metadata,
    sa.Column("run_id", key_text(), primary_key=True),  # one ticket per run: the reservation's guard
    sa.Column("state", EnumText(LinkState), nullable=False),
    sa.Column("external_id", sa.String(64), nullable=False),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("ambiguous", sa.Boolean, nullable=False),
    sa.Column("ticket_id", sa.BigInteger),
    sa.Column("ticket_number", sa.Text),
    sa.Column("url", sa.Text),
    sa.Column("status_value", sa.Integer),
    sa.Column("status_label", sa.Text),
    sa.Column("status_read_at", UtcDateTime),
    sa.Column("time_entries", sa.Integer, nullable=False),
    sa.Column("closing_note_id", sa.BigInteger),
    sa.Column("closing_note_attempted", sa.Boolean, nullable=False),
    sa.Column("closing_note_claimed_at", UtcDateTime),
    sa.Column("completion_sent", sa.Boolean, nullable=False),
    sa.Column("resolved_by", sa.Text),
    sa.Column("resolved_at", UtcDateTime),
    sa.Column("version", sa.Integer, nullable=False),  # compare-and-set guard of `update`
    sa.Column("reconcile_claimed_at", UtcDateTime),
    sa.Index("ix_ticket_links_state", "state"),
    sa.Index("ix_ticket_links_external_id", "external_id"),
)

settings = sa.Table(
    "autotask_settings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("installation_id", sa.String(64), nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("environment", EnumText(Environment)),  # NULL until the admin chooses it (docs/adr/0021)
    sa.Column("api_username", sa.Text, nullable=False),
    sa.Column("api_password_sealed", sa.Text),  # the SecretBox's ciphertext, never the password
    sa.Column("tracking_identifier", sa.Text, nullable=False),
    sa.Column("backupchecks_base_url", sa.Text),
    sa.Column("default_queue_id", sa.BigInteger),
    sa.Column("default_issue_type_id", sa.BigInteger),
    sa.Column("default_sub_issue_type_id", sa.BigInteger),
    sa.Column("default_source_id", sa.BigInteger),
    sa.Column("priority_error_id", sa.BigInteger),
    sa.Column("priority_warning_id", sa.BigInteger),
    sa.Column("new_ticket_status_id", sa.BigInteger, nullable=False),
    sa.Column("note_type_id", sa.BigInteger),
    sa.Column("note_publish_id", sa.BigInteger),
    sa.Column("allow_resolve", sa.Boolean, nullable=False),
    sa.Column("api_log_level", EnumText(ApiLogLevel), nullable=False),
    sa.Column("ticket_due_hours", sa.Integer, nullable=False, server_default="24"),
    sa.Column("ticket_category_id", sa.BigInteger),
    sa.Column("work_type_id", sa.BigInteger),
    sa.Column("ticket_udfs", sa.JSON, nullable=False),  # [[name, value], ...] in the admin's order
    sa.Column("tenant_name", sa.Text),
    sa.Column("time_entries_visible", sa.Boolean),
    sa.Column("rights_checked_at", UtcDateTime),
    sa.Column("status_sync_minutes", sa.Integer, nullable=False, server_default="15"),
    sa.Column("mapping_check_hours", sa.Integer, nullable=False, server_default="24"),
    sa.CheckConstraint("id = 1", name="ck_autotask_settings_single_row"),
)
SETTINGS_ROW_ID = 1

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", key_text(), primary_key=True),
    sa.Column("username", key_text(), nullable=False, unique=True),
    sa.Column("role", EnumText(Role), nullable=False),
    sa.Column("password_hash", sa.Text),
    sa.Column("token_hash", sa.String(128), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("password_changed_at", UtcDateTime),
    sa.Column("last_seen_at", UtcDateTime),  # written at most once a minute per user (UserRepository.seen)
    sa.Index("ix_users_token_hash", "token_hash"),
)

audit_records = sa.Table(
    "audit_records",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),  # a fork of the chain cannot commit
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("actor_role", sa.String(32), nullable=False),
    sa.Column("action", sa.String(128), nullable=False),
    sa.Column("target_type", sa.String(64), nullable=False),
    sa.Column("target_id", sa.Text, nullable=False),
    sa.Column("outcome", EnumText(Outcome), nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Column("details_customer_id", sa.Text),  # details["customer_id"] when it is a string, for the customer filter
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("key_id", sa.String(16)),  # the audit key that signed `hash`; NULL before the chain had one (ADR 0009)
    sa.Index("ix_audit_records_at", "at"),
    sa.Index("ix_audit_records_action", "action"),
    sa.Index("ix_audit_records_actor", "actor"),
    sa.Index("ix_audit_records_target", "target_type", "target_id"),
    sa.Index("ix_audit_records_details_customer_id", "details_customer_id"),
)

web_sessions = sa.Table(
    "web_sessions",
    metadata,
    sa.Column("id_hash", sa.String(128), primary_key=True),
    sa.Column("user_id", key_text(), nullable=False),
    sa.Column("username", key_text(), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("last_seen_at", UtcDateTime, nullable=False),
)

sign_in_failures = sa.Table(
    "sign_in_failures",
    metadata,
    sa.Column("username", key_text(), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("last_at", UtcDateTime, nullable=False),
    sa.Column("locked_until", UtcDateTime),
)

job_leases = sa.Table(
    "job_leases",
    metadata,
    sa.Column("job", sa.String(64), primary_key=True),  # `status_sync`, `mapping_check`
    sa.Column("holder", sa.Text),  # the process running it now (NULL: nobody)
    sa.Column("lease_expires_at", UtcDateTime),  # renewed while it runs; past it, another process may take over
    sa.Column("version", sa.Integer, nullable=False),  # compare-and-set guard of every take, renewal and release
    sa.Column("last_started_at", UtcDateTime),
    sa.Column("last_finished_at", UtcDateTime),
    sa.Column("last_result", sa.JSON),  # the counts of the last run
    sa.Column("last_error", sa.Text),
    sa.Column("paused_reason", sa.Text),
    sa.Column("next_run_at", UtcDateTime),
    sa.Column("cursor", UtcDateTime),  # status sync: when the last complete poll started (changes since then)
)

refused_credentials = sa.Table(
    "refused_credentials",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),  # sha256 of the credentials, never the credentials
    sa.Column("failure", sa.String(32), nullable=False),  # unknown_user, bad_secret, bad_tracking_identifier
    sa.Column("message", sa.Text, nullable=False),  # Autotask's words
    sa.Column("refused_at", UtcDateTime, nullable=False),
)
