"""reference data: the street register (names, responsible centre) and the kind of institution

Names are shown wherever codes were (work lists, reports, exports): ``street`` holds each street
or town of the district with its name and the community health centre responsible for it;
``institution.kind`` says hospital, mch_hospital, chc or other (existing rows: other).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 06:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("institution", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "kind", sa.String(length=16), nullable=False, server_default=sa.text("'other'")
            )
        )
    op.create_table(
        "street",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=True),
        sa.Column("centre_id", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["centre_id"], ["institution.id"]),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_index("ix_street_centre_id", "street", ["centre_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_street_centre_id", table_name="street")
    op.drop_table("street")
    with op.batch_alter_table("institution", schema=None) as batch_op:
        batch_op.drop_column("kind")
