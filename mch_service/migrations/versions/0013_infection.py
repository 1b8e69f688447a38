"""infection rules: a lab result's test method, a treatment's period and drug class

Issue 14, rules 3 and 4: a confirmed infection needs the test's method (confirmatory,
treponemal, non_treponemal; from the code table's value column), and a treatment counts when
its regimen's period overlaps the pregnancy. Rows read before this migration have none of them
(a re-read with `mch-service domain rebuild` fills them).

Revision ID: 0013_infection
Revises: 0012
Create Date: 2026-12-03 03:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_infection"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lab_result", schema=None) as batch_op:
        batch_op.add_column(sa.Column("method", sa.String(length=24), nullable=True))
    with op.batch_alter_table("treatment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("start_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("end_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("drug_class", sa.String(length=24), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("treatment", schema=None) as batch_op:
        batch_op.drop_column("drug_class")
        batch_op.drop_column("end_date")
        batch_op.drop_column("start_date")
    with op.batch_alter_table("lab_result", schema=None) as batch_op:
        batch_op.drop_column("method")
