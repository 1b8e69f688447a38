"""an index on ``work_item.as_of``

The lists' day (``max(as_of)``) is read by every assembly round and every reviewer action;
without an index it scanned every work item (about 3 ms a call at 10,000 pregnancies,
growing with the district).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 03:10:00
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("work_item", schema=None) as batch_op:
        batch_op.create_index("ix_work_item_as_of", ["as_of"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("work_item", schema=None) as batch_op:
        batch_op.drop_index("ix_work_item_as_of")
