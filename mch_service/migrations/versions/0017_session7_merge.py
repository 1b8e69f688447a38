"""join the work-list (0016_lists) and bulk-export (0016_ops) revisions

No operations: each changed its own tables and columns from 0015 (the street register);
this revision makes them one history again, so the database has a single head.

Revision ID: 0017
Revises: 0016_lists, 0016_ops
Create Date: 2026-12-03 07:45:00
"""

from __future__ import annotations

revision = "0017"
down_revision = ("0016_lists", "0016_ops")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
