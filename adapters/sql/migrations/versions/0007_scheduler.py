"""Running unattended (issue 17): how often the service polls ticket status and re-checks mappings itself, a lease
per scheduled job (one process runs it at a time across every process and host sharing the database), and the
credentials Autotask refused, remembered for every process (by digest only).

Revision ID: 0007_scheduler
Revises: 0006_tenant_settings
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from adapters.sql.tables import UtcDateTime

revision = "0007_scheduler"
down_revision = "0006_tenant_settings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("autotask_settings") as batch:
        batch.add_column(sa.Column("status_sync_minutes", sa.Integer, nullable=False, server_default="15"))
        batch.add_column(sa.Column("mapping_check_hours", sa.Integer, nullable=False, server_default="24"))
    op.create_table(
        "job_leases",
        sa.Column("job", sa.String(64), primary_key=True),
        sa.Column("holder", sa.Text),
        sa.Column("lease_expires_at", UtcDateTime),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("last_started_at", UtcDateTime),
        sa.Column("last_finished_at", UtcDateTime),
        sa.Column("last_result", sa.JSON),
        sa.Column("last_error", sa.Text),
        sa.Column("paused_reason", sa.Text),
        sa.Column("next_run_at", UtcDateTime),
        sa.Column("cursor", UtcDateTime),
    )
    op.create_table(
        "refused_credentials",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("failure", sa.String(32), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("refused_at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("refused_credentials")
    op.drop_table("job_leases")
    with op.batch_alter_table("autotask_settings") as batch:
        batch.drop_column("mapping_check_hours")
        batch.drop_column("status_sync_minutes")
