"""search by name: the keyed hash of a patient record's name (``patient_record.name_hash``)

Staff find a woman by name through this hash, an exact match (mch_service.domain.name_index).
A migration holds no key, so it cannot compute hashes: existing rows get NULL, and a record
without a hash is not found by name until the operator runs
``mch-service pregnancies reindex-names`` once after upgrading (docs/operations.md). Records
received after the upgrade are hashed as they are stored.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 12:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("patient_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_hash", sa.String(length=64), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_patient_record_name_hash"), ["name_hash"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("patient_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_record_name_hash"))
        batch_op.drop_column("name_hash")
