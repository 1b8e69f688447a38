"""residence: patient records, women and pregnancies say whether the woman lives in the district

The district figure counts women by current address (现住址), not by place of delivery
(docs/indicator-rules.md, "Attribution"). The address is sealed, so each Patient record is
classified when it is stored (resident | non_resident | unknown) and the class is carried to
the woman and her pregnancies like the street. Rows written before this migration have none
(counted as address unknown) until `mch-service domain rebuild` re-extracts them.

Revision ID: 0013_residence
Revises: 0012
Create Date: 2026-12-03 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_residence"
down_revision = "0012"
branch_labels = None
depends_on = None

_TABLES = ("patient_record", "woman", "pregnancy")


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("residence", sa.String(length=16), nullable=True))


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("residence")
