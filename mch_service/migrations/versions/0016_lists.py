"""work lists a reviewer can work (issue 16): lightweight case records, recorded outcomes,
corrections of follow-ups, and the call-sheet fields of each work item

``case_record.managed`` is false for a record opened by a reviewer's action on a woman not
under case management; ``outcome_*`` hold the outcome a reviewer recorded (place and note
sealed); ``follow_up.corrects``/``corrected_by`` link a correction to the original it replaces;
``work_item`` gains the call sheet (last contact, next due, dating, risk factors, urgency,
Chinese texts). Work items are recomputed by the daily job (or ``mch-service cases refresh``),
so existing rows simply take the defaults until then.

Revision ID: 0016_lists
Revises: 0015
Create Date: 2026-12-03 06:30:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0016_lists"
down_revision = "0015"
branch_labels = None
depends_on = None

_WORK_ITEM: list[tuple[str, Any, bool, Any]] = [
    ("reason_zh", sa.Text(), False, sa.text("''")),
    ("clears_zh", sa.Text(), False, sa.text("''")),
    ("last_contact", sa.Date(), True, None),
    ("next_due", sa.Date(), True, None),
    ("lmp", sa.Date(), True, None),
    ("edd", sa.Date(), True, None),
    ("delivered_on", sa.Date(), True, None),
    ("risk_factors", sa.Text(), False, sa.text("''")),
    ("urgency", sa.Integer(), False, sa.text("3")),
    ("days_overdue", sa.Integer(), False, sa.text("0")),
    ("street_missing", sa.Boolean(), False, sa.false()),
]
_CASE_RECORD: list[tuple[str, Any, bool, Any]] = [
    ("managed", sa.Boolean(), False, sa.true()),
    ("outcome_kind", sa.String(length=24), True, None),
    ("outcome_date", sa.Date(), True, None),
    ("outcome_place_sealed", sa.LargeBinary(), True, None),
    ("outcome_source", sa.String(length=24), True, None),
    ("outcome_note_sealed", sa.LargeBinary(), True, None),
    ("outcome_by", sa.String(length=64), True, None),
]
_FOLLOW_UP: list[tuple[str, Any, bool, Any]] = [
    ("corrects", sa.Integer(), True, None),
    ("corrected_by", sa.Integer(), True, None),
]


def _add(table: str, columns: list[tuple[str, Any, bool, Any]]) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for name, type_, nullable, default in columns:
            batch_op.add_column(sa.Column(name, type_, nullable=nullable, server_default=default))


def _drop(table: str, columns: list[tuple[str, Any, bool, Any]]) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for name, *_rest in reversed(columns):
            batch_op.drop_column(name)


def upgrade() -> None:
    _add("work_item", _WORK_ITEM)
    _add("case_record", _CASE_RECORD)
    _add("follow_up", _FOLLOW_UP)


def downgrade() -> None:
    _drop("follow_up", _FOLLOW_UP)
    _drop("case_record", _CASE_RECORD)
    _drop("work_item", _WORK_ITEM)
