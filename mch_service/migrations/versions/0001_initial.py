"""resource store, institutions, import jobs, audit

Revision ID: 0001
Revises:
Create Date: 2026-11-28 13:26:28.163332
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("target_type", sa.String(length=64), nullable=True),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_audit_event_occurred_at"), ["occurred_at"], unique=False
        )

    op.create_table(
        "institution",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_institution")),
    )
    op.create_table(
        "fhir_resource",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("fhir_id", sa.String(length=64), nullable=False),
        sa.Column("institution_id", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("create_key", sa.String(length=64), nullable=True),
        sa.Column("date_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("date_end", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_fhir_resource_institution_id_institution"),
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_fhir_resource")),
        sa.UniqueConstraint(
            "institution_id",
            "resource_type",
            "create_key",
            name=op.f("uq_fhir_resource_institution_id_resource_type_create_key"),
        ),
        sa.UniqueConstraint(
            "resource_type", "fhir_id", name=op.f("uq_fhir_resource_resource_type_fhir_id")
        ),
    )
    with op.batch_alter_table("fhir_resource", schema=None) as batch_op:
        batch_op.create_index(
            "ix_fhir_resource_sender_type_pk",
            ["institution_id", "resource_type", "pk"],
            unique=False,
        )
        batch_op.create_index(
            "ix_fhir_resource_type_updated", ["resource_type", "last_updated"], unique=False
        )

    op.create_table(
        "import_job",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("institution_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lines_total", sa.Integer(), nullable=False),
        sa.Column("lines_done", sa.Integer(), nullable=False),
        sa.Column("report", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_import_job_institution_id_institution"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_job")),
    )
    with op.batch_alter_table("import_job", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_import_job_institution_id"), ["institution_id"], unique=False
        )

    op.create_table(
        "institution_api_key",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("institution_id", sa.String(length=64), nullable=False),
        sa.Column("key_prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_institution_api_key_institution_id_institution"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_institution_api_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_institution_api_key_key_hash")),
    )
    with op.batch_alter_table("institution_api_key", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_institution_api_key_institution_id"), ["institution_id"], unique=False
        )

    op.create_table(
        "fhir_identifier",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "resource_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("institution_id", sa.String(length=64), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("value_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_pk"],
            ["fhir_resource.pk"],
            name=op.f("fk_fhir_identifier_resource_pk_fhir_resource"),
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_fhir_identifier")),
        sa.UniqueConstraint(
            "institution_id",
            "resource_type",
            "token_hash",
            name=op.f("uq_fhir_identifier_institution_id_resource_type_token_hash"),
        ),
    )
    with op.batch_alter_table("fhir_identifier", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fhir_identifier_resource_pk"), ["resource_pk"], unique=False
        )
        batch_op.create_index(
            "ix_fhir_identifier_value",
            ["institution_id", "resource_type", "value_hash"],
            unique=False,
        )

    op.create_table(
        "fhir_reference",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "resource_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=140), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_pk"],
            ["fhir_resource.pk"],
            name=op.f("fk_fhir_reference_resource_pk_fhir_resource"),
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_fhir_reference")),
    )
    with op.batch_alter_table("fhir_reference", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fhir_reference_resource_pk"), ["resource_pk"], unique=False
        )
        batch_op.create_index("ix_fhir_reference_target", ["name", "target"], unique=False)

    op.create_table(
        "fhir_resource_version",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "resource_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("operation", sa.String(length=8), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["resource_pk"],
            ["fhir_resource.pk"],
            name=op.f("fk_fhir_resource_version_resource_pk_fhir_resource"),
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_fhir_resource_version")),
        sa.UniqueConstraint(
            "resource_pk",
            "version_id",
            name=op.f("uq_fhir_resource_version_resource_pk_version_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("fhir_resource_version")
    with op.batch_alter_table("fhir_reference", schema=None) as batch_op:
        batch_op.drop_index("ix_fhir_reference_target")
        batch_op.drop_index(batch_op.f("ix_fhir_reference_resource_pk"))

    op.drop_table("fhir_reference")
    with op.batch_alter_table("fhir_identifier", schema=None) as batch_op:
        batch_op.drop_index("ix_fhir_identifier_value")
        batch_op.drop_index(batch_op.f("ix_fhir_identifier_resource_pk"))

    op.drop_table("fhir_identifier")
    with op.batch_alter_table("institution_api_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_institution_api_key_institution_id"))

    op.drop_table("institution_api_key")
    with op.batch_alter_table("import_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_job_institution_id"))

    op.drop_table("import_job")
    with op.batch_alter_table("fhir_resource", schema=None) as batch_op:
        batch_op.drop_index("ix_fhir_resource_type_updated")
        batch_op.drop_index("ix_fhir_resource_sender_type_pk")

    op.drop_table("fhir_resource")
    op.drop_table("institution")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_occurred_at"))
        batch_op.drop_index(batch_op.f("ix_audit_event_actor_id"))
        batch_op.drop_index(batch_op.f("ix_audit_event_action"))

    op.drop_table("audit_event")
