"""The initial schema, the settings row with this database's installation id, and the audit log's guards.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

from adapters.sql.tables import UtcDateTime, key_text

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ENUM = sa.String(32)

PG_GUARD = [
    """CREATE FUNCTION audit_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit records are append-only: % refused', TG_OP USING ERRCODE = 'restrict_violation';
    END $$""",
    "CREATE TRIGGER audit_records_no_change BEFORE UPDATE OR DELETE ON audit_records "
    "FOR EACH ROW EXECUTE FUNCTION audit_records_append_only()",
    "CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_records_append_only()",
]
SQLITE_GUARD = [
    f"CREATE TRIGGER audit_records_no_{op_name.lower()} BEFORE {op_name} ON audit_records "
    f"BEGIN SELECT RAISE(ABORT, 'audit records are append-only: {op_name} refused'); END"
    for op_name in ("UPDATE", "DELETE")
]


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", key_text(), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("id", key_text(), primary_key=True),
        sa.Column("customer_id", key_text(), nullable=False),
        sa.Column("job_name", sa.Text, nullable=False),
        sa.Column("backup_software", sa.Text, nullable=False),
        sa.Column("backup_type", sa.Text, nullable=False),
        sa.Column("run_at", UtcDateTime, nullable=False),
        sa.Column("status", ENUM, nullable=False),
        sa.Column("objects", sa.JSON, nullable=False),
        sa.Column("messages", sa.JSON, nullable=False),
    )
    op.create_index("ix_runs_run_at_id", "runs", ["run_at", "id"])
    op.create_index("ix_runs_status_run_at_id", "runs", ["status", "run_at", "id"])
    op.create_index("ix_runs_customer_run_at_id", "runs", ["customer_id", "run_at", "id"])

    op.create_table(
        "company_mappings",
        sa.Column("customer_id", key_text(), primary_key=True),
        sa.Column("status", ENUM, nullable=False),
        sa.Column("company_id", sa.BigInteger),
        sa.Column("company_name", sa.Text),
        sa.Column("previous_company_name", sa.Text),
        sa.Column("status_reason", sa.Text),
        sa.Column("last_synced_at", UtcDateTime),
        sa.Column("psa", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_company_mappings_status", "company_mappings", ["status"])

    op.create_table(
        "ticket_links",
        sa.Column("run_id", key_text(), primary_key=True),
        sa.Column("state", ENUM, nullable=False),
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
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_ticket_links_state", "ticket_links", ["state"])
    op.create_index("ix_ticket_links_external_id", "ticket_links", ["external_id"])

    settings = op.create_table(
        "autotask_settings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("installation_id", sa.String(64), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("environment", ENUM, nullable=False),
        sa.Column("api_username", sa.Text, nullable=False),
        sa.Column("api_password_sealed", sa.Text),
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
        sa.Column("api_log_level", ENUM, nullable=False),
        sa.CheckConstraint("id = 1", name="ck_autotask_settings_single_row"),
    )
    op.bulk_insert(
        settings,
        [
            {
                "id": 1,
                "installation_id": uuid.uuid4().hex,  # once per database, shared by every app instance on it
                "enabled": False,
                "environment": "sandbox",
                "api_username": "",
                "tracking_identifier": "",
                "new_ticket_status_id": 1,
                "allow_resolve": False,
                "api_log_level": "errors",
            }
        ],
    )

    op.create_table(
        "users",
        sa.Column("id", key_text(), primary_key=True),
        sa.Column("username", key_text(), nullable=False, unique=True),
        sa.Column("role", ENUM, nullable=False),
        sa.Column("password_hash", sa.Text),
        sa.Column("token_hash", sa.String(128), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_users_token_hash", "users", ["token_hash"])

    op.create_table(
        "audit_records",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("actor_role", sa.String(32), nullable=False),
        sa.Column("action", sa.String(128), nullable=False),
        sa.Column("target_type", sa.String(64), nullable=False),
        sa.Column("target_id", sa.Text, nullable=False),
        sa.Column("outcome", ENUM, nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("details_customer_id", sa.Text),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    for name, columns in {
        "ix_audit_records_at": ["at"],
        "ix_audit_records_action": ["action"],
        "ix_audit_records_actor": ["actor"],
        "ix_audit_records_target": ["target_type", "target_id"],
        "ix_audit_records_details_customer_id": ["details_customer_id"],
    }.items():
        op.create_index(name, "audit_records", columns)
    for statement in PG_GUARD if op.get_bind().dialect.name == "postgresql" else SQLITE_GUARD:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_records_no_truncate ON audit_records")
        op.execute("DROP TRIGGER audit_records_no_change ON audit_records")
        op.execute("DROP FUNCTION audit_records_append_only()")
    for table in (
        "audit_records",
        "users",
        "autotask_settings",
        "ticket_links",
        "company_mappings",
        "runs",
        "customers",
    ):
        op.drop_table(table)  # its indexes and SQLite triggers go with it
