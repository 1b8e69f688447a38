"""the day a reviewer recorded an outcome (``case_record.outcome_recorded_on``)

An outcome recorded without a day of its own (moved out, lost to follow-up) counts in the
work lists from the list day it was recorded on, so that lists recomputed for an earlier day
show what was known then. Outcomes recorded before this migration have no recorded day: they
count from any day, as before (the day cannot be recovered from what was stored).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcome_recorded_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("case_record", schema=None) as batch_op:
        batch_op.drop_column("outcome_recorded_on")
