"""When each user last authenticated (a sign-in, a session resumed, an API token), written at most once a minute per
user: `GET /api/v1/users` and the Users page show it.

Revision ID: 0009_users_last_seen
Revises: 0008_users_lifecycle
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from adapters.sql.tables import UtcDateTime

revision = "0009_users_last_seen"
down_revision = "0008_users_lifecycle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("last_seen_at", UtcDateTime))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("last_seen_at")
