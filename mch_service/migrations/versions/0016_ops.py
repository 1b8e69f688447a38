"""bulk data export: export clients and export jobs

The FHIR Bulk Data export ($export) for the platform above the district: ``export_client``
(the platforms the administrator registers, each with one hashed key, export-only) and
``export_job`` (the asynchronous exports: what was asked, progress, manifest, expiry).

Revision ID: 0016_ops
Revises: 0015
Create Date: 2026-12-03 06:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_ops"
# "0015" (the lead's reference-data revision) once merged; 0015 is not on this branch
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "export_client",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("key_prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_client")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_export_client_key_hash")),
    )
    op.create_table(
        "export_job",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("owner_kind", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("types", sa.Text(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("request_url", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("transaction_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resources_done", sa.Integer(), nullable=False),
        sa.Column("manifest", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_job")),
    )
    op.create_index("ix_export_job_owner", "export_job", ["owner_kind", "owner_id"])
    op.create_index("ix_export_job_status", "export_job", ["status"])


def downgrade() -> None:
    op.drop_index("ix_export_job_status", table_name="export_job")
    op.drop_index("ix_export_job_owner", table_name="export_job")
    op.drop_table("export_job")
    op.drop_table("export_client")
