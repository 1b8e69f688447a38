"""audit rows carry the request id

Each audit row names the HTTP request that wrote it (the X-Request-ID response header and the
access log's request_id), so that one id finds a request in the log and in the audit. Rows
written before this migration, and rows of jobs and the command line, have none.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 17:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_id", sa.String(length=128), nullable=True))
        batch_op.create_index(batch_op.f("ix_audit_event_request_id"), ["request_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_request_id"))
        batch_op.drop_column("request_id")
