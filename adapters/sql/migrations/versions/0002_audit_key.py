"""The keyed audit chain's key id per record, and the reconciliation claim of ticket links.

Records written before this revision keep `key_id` NULL: they stay checkable by their plain hash and lead the chain
(docs/adr/0009-keyed-audit-chain.md).

Revision ID: 0002_audit_key
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from adapters.sql.tables import UtcDateTime

revision = "0002_audit_key"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_records", sa.Column("key_id", sa.String(16)))
    op.add_column("ticket_links", sa.Column("reconcile_claimed_at", UtcDateTime))


def downgrade() -> None:  # SQLite drops a column in place (3.35+): the audit log's triggers stay
    op.drop_column("ticket_links", "reconcile_claimed_at")
    op.drop_column("audit_records", "key_id")
