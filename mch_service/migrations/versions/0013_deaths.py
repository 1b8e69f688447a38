"""maternal deaths: the class of a death's cause, the report card, external figures

``death.cause_class`` (accidental | self_harm | care_complication | obstetric) records which
cause rule decided (docs/indicator-rules.md, "Maternal death"); rows assembled before this
migration have none until the next ``domain rebuild``. ``maternal_death_report`` holds the
deaths the monitoring group enters from the report card (孕产妇死亡报告卡) and its reviews of
fed deaths. ``indicator_result`` gains the source, note and author of an external figure the
monitoring group enters (kept by every recomputation).

Revision ID: 0013_deaths
Revises: 0012
Create Date: 2026-12-03 03:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_deaths"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("death", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cause_class", sa.String(length=24), nullable=True))
    with op.batch_alter_table("indicator_result", schema=None) as batch_op:
        batch_op.add_column(sa.Column("entered_source", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("entered_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("entered_by", sa.String(length=64), nullable=True))
    op.create_table(
        "maternal_death_report",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("woman_key", sa.String(length=80), nullable=True),
        sa.Column("resident_id_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("name_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("death_date", sa.Date(), nullable=True),
        sa.Column("pregnancy_end_date", sa.Date(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("ga_days", sa.Integer(), nullable=True),
        sa.Column("street", sa.String(length=32), nullable=True),
        sa.Column("institution_id", sa.String(length=64), nullable=True),
        sa.Column("cause_code", sa.String(length=32), nullable=True),
        sa.Column("cause_class", sa.String(length=24), nullable=True),
        sa.Column("classification", sa.String(length=24), nullable=False),
        sa.Column("review_status", sa.String(length=12), nullable=False),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_reason_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maternal_death_report")),
    )
    with op.batch_alter_table("maternal_death_report", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_maternal_death_report_woman_key"), ["woman_key"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_maternal_death_report_review_status"), ["review_status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_maternal_death_report_updated_at"), ["updated_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("maternal_death_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_maternal_death_report_updated_at"))
        batch_op.drop_index(batch_op.f("ix_maternal_death_report_review_status"))
        batch_op.drop_index(batch_op.f("ix_maternal_death_report_woman_key"))
    op.drop_table("maternal_death_report")
    with op.batch_alter_table("indicator_result", schema=None) as batch_op:
        batch_op.drop_column("entered_by")
        batch_op.drop_column("entered_note")
        batch_op.drop_column("entered_source")
    with op.batch_alter_table("death", schema=None) as batch_op:
        batch_op.drop_column("cause_class")
