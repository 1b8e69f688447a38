"""assembly queue

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 14:31:33.717196
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assembly_queue",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("woman_key", sa.String(length=80), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_assembly_queue")),
    )
    with op.batch_alter_table("assembly_queue", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assembly_queue_woman_key"), ["woman_key"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("assembly_queue", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assembly_queue_woman_key"))

    op.drop_table("assembly_queue")
