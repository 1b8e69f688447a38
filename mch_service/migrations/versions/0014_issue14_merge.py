"""issue 14 (national indicator rules): join the schema changes made side by side

No operations: the 0013_* revisions (maternal deaths, residence, infection, infants, high-risk
management) each changed their own tables and columns from 0012; this revision makes them one
history again, so the database has a single head.

Revision ID: 0014
Revises: 0013_deaths, 0013_residence, 0013_infants, 0013_highrisk, 0013_infection
Create Date: 2026-12-03 04:40:00
"""

from __future__ import annotations

revision = "0014"
down_revision = ("0013_deaths", "0013_residence", "0013_infants", "0013_highrisk", "0013_infection")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
