"""What a tenant's configuration needs (issue 16): the ticket category, Work Type and UDF values for new tickets; what
Backupchecks observed of the tenant (its name, whether the API user sees every time entry, when that was read); and an
environment the admin must choose (no default) — an installation never configured forgets the old default.

Revision ID: 0006_tenant_settings
Revises: 0005_ticket_due_hours
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from adapters.sql.tables import UtcDateTime

revision = "0006_tenant_settings"
down_revision = "0005_ticket_due_hours"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("autotask_settings") as batch:
        batch.add_column(sa.Column("ticket_category_id", sa.BigInteger))
        batch.add_column(sa.Column("work_type_id", sa.BigInteger))
        batch.add_column(sa.Column("ticket_udfs", sa.JSON, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("tenant_name", sa.Text))
        batch.add_column(sa.Column("time_entries_visible", sa.Boolean))
        batch.add_column(sa.Column("rights_checked_at", UtcDateTime))
        batch.alter_column("environment", existing_type=sa.String(32), nullable=True)
    op.execute(
        "UPDATE autotask_settings SET environment = NULL WHERE api_username = '' AND api_password_sealed IS NULL"
        " AND tracking_identifier = ''"
    )


def downgrade() -> None:
    op.execute("UPDATE autotask_settings SET environment = 'sandbox' WHERE environment IS NULL")
    with op.batch_alter_table("autotask_settings") as batch:
        batch.alter_column("environment", existing_type=sa.String(32), nullable=False)
        for column in (
            "rights_checked_at",
            "time_entries_visible",
            "tenant_name",
            "ticket_udfs",
            "work_type_id",
            "ticket_category_id",
        ):
            batch.drop_column(column)
