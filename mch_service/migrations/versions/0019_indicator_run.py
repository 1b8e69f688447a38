"""the indicator job's latest run (``indicator_run``)

The job now writes only the result rows whose figures changed, so a row's ``computed_at`` is
when its figure last changed. This one-row table records when the job last ran (and confirmed
every figure of the periods it looked at); readers take the later of the two.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 18:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "indicator_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("rows_computed", sa.Integer(), nullable=False),
        sa.Column("rows_changed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_run")),
    )


def downgrade() -> None:
    op.drop_table("indicator_run")
