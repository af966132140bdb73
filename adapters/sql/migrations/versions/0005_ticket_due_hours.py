"""The ticket due date setting: hours after a run is reviewed (its ticket created) that the ticket falls due.

Revision ID: 0005_ticket_due_hours
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_ticket_due_hours"
down_revision = "0003_web_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("autotask_settings") as batch:
        batch.add_column(sa.Column("ticket_due_hours", sa.Integer, nullable=False, server_default="24"))


def downgrade() -> None:
    with op.batch_alter_table("autotask_settings") as batch:
        batch.drop_column("ticket_due_hours")
