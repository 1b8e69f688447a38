"""instants for the exposed-infant indicators

A newborn's birth time (``patient_record.birth_time``, from the patient-birthTime extension),
the time of day of a delivery Procedure (``delivery_record.event_at``) and of a treatment or
immunization (``treatment.administered_at``), all UTC instants, so that HBIG within 12 hours
and the hepatitis B vaccine within 24 hours of birth can be counted. Rows derived before this
migration have none until the domain is rebuilt (``mch-service domain rebuild``).

Revision ID: 0013_infants
Revises: 0012
Create Date: 2026-12-03 03:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_infants"
down_revision = "0012"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("patient_record", "birth_time"),
    ("delivery_record", "event_at"),
    ("treatment", "administered_at"),
)


def upgrade() -> None:
    for table, column in _COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(column, sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for table, column in reversed(_COLUMNS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column(column)
