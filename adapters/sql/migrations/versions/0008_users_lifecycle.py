"""A user's lifecycle (issue 19): a user may be disabled (its token and sessions stop working, its audit trail stays)
and the time its password last changed is kept.

Revision ID: 0008_users_lifecycle
Revises: 0007_scheduler
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from adapters.sql.tables import UtcDateTime

revision = "0008_users_lifecycle"
down_revision = "0007_scheduler"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("password_changed_at", UtcDateTime))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("password_changed_at")
        batch.drop_column("disabled")
