"""Web sessions (only a hash of each session id) and failed sign-in counts.

Revision ID: 0003_web_sessions
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from adapters.sql.tables import UtcDateTime, key_text

revision = "0003_web_sessions"
down_revision = "0002_audit_key"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(128), primary_key=True),
        sa.Column("user_id", key_text(), nullable=False),
        sa.Column("username", key_text(), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("last_seen_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "sign_in_failures",
        sa.Column("username", key_text(), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("last_at", UtcDateTime, nullable=False),
        sa.Column("locked_until", UtcDateTime),
    )


def downgrade() -> None:
    op.drop_table("sign_in_failures")
    op.drop_table("web_sessions")
