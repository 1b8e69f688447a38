"""cases

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 14:20:03.858004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_event",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("pregnancy_id", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_event")),
    )
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_event_pregnancy_id"), ["pregnancy_id"], unique=False
        )

    op.create_table(
        "case_record",
        sa.Column("pregnancy_id", sa.String(length=80), nullable=False),
        sa.Column("woman_key", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("colour", sa.String(length=8), nullable=True),
        sa.Column("purple", sa.Boolean(), nullable=False),
        sa.Column("street", sa.String(length=32), nullable=True),
        sa.Column("institutions", sa.Text(), nullable=False),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.Column("closed_by_reviewer", sa.Boolean(), nullable=False),
        sa.Column("next_due", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("pregnancy_id", name=op.f("pk_case_record")),
    )
    with op.batch_alter_table("case_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_record_assignee"), ["assignee"], unique=False)
        batch_op.create_index("ix_case_record_status_street", ["status", "street"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_record_woman_key"), ["woman_key"], unique=False)

    op.create_table(
        "follow_up",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("pregnancy_id", sa.String(length=80), nullable=False),
        sa.Column("contact_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=200), nullable=False),
        sa.Column("notes_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("next_due", sa.Date(), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up")),
    )
    with op.batch_alter_table("follow_up", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_follow_up_pregnancy_id"), ["pregnancy_id"], unique=False
        )

    op.create_table(
        "work_item",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("list_name", sa.String(length=24), nullable=False),
        sa.Column("pregnancy_id", sa.String(length=80), nullable=False),
        sa.Column("woman_key", sa.String(length=80), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("colour", sa.String(length=8), nullable=True),
        sa.Column("purple", sa.Boolean(), nullable=False),
        sa.Column("street", sa.String(length=32), nullable=True),
        sa.Column("institutions", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("clears", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_item")),
    )
    with op.batch_alter_table("work_item", schema=None) as batch_op:
        batch_op.create_index("ix_work_item_list", ["list_name", "since"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_work_item_pregnancy_id"), ["pregnancy_id"], unique=False
        )
        batch_op.create_index("ix_work_item_street", ["street", "list_name"], unique=False)
        batch_op.create_index(batch_op.f("ix_work_item_woman_key"), ["woman_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("work_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_item_woman_key"))
        batch_op.drop_index("ix_work_item_street")
        batch_op.drop_index(batch_op.f("ix_work_item_pregnancy_id"))
        batch_op.drop_index("ix_work_item_list")

    op.drop_table("work_item")
    with op.batch_alter_table("follow_up", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_follow_up_pregnancy_id"))

    op.drop_table("follow_up")
    with op.batch_alter_table("case_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_record_woman_key"))
        batch_op.drop_index("ix_case_record_status_street")
        batch_op.drop_index(batch_op.f("ix_case_record_assignee"))

    op.drop_table("case_record")
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_event_pregnancy_id"))

    op.drop_table("case_event")
