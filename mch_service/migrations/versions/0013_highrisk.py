"""a closed case names why, as a code (rule 11: transferred out, lost to follow-up, moved away)

``case_record.close_code`` holds a code of ``mch_service.cases.worklists.CLOSE_REASONS`` beside
the sealed free-text reason. Cases closed before this migration have none (their reason text
stays); the register closes a case at 42 days postpartum with ``postpartum_complete``.

Revision ID: 0013_highrisk
Revises: 0012
Create Date: 2026-12-03 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_highrisk"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("close_code", sa.String(length=24), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("case_record", schema=None) as batch_op:
        batch_op.drop_column("close_code")
