"""sender-scoped ids and the identifier policy

Resource ids are unique per sender and type (one sender's PUT can neither take nor block
another sender's id). Identifiers are unique only where the identifier policy makes them
business keys (``is_key``; existing rows: a Patient's, the default policy). Domain references
now carry their sender (``<institution>/EpisodeOfCare/<id>`` can exceed 140 characters).

A woman known by one institution's Patient only was keyed ``pat:<Patient id>``; she is now
``rec:<store key of that Patient>`` (two senders' Patient/123 are two women). Her key is
changed here wherever it is kept (cases and work lists too), so that her case stays hers. The
domain tables hold references in the new form only once derived again: run
``mch-service domain rebuild`` after this upgrade.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


# Where a woman's key is kept (pre-0007 Patient ids are unique across senders, so the id
# names one Patient).
_WOMAN_KEYS = (
    ("woman", "key"),
    ("patient_record", "woman_key"),
    ("pregnancy", "woman_key"),
    ("death", "woman_key"),
    ("assembly_queue", "woman_key"),
    ("case_record", "woman_key"),
    ("work_item", "woman_key"),
)


def upgrade() -> None:
    for table, column in _WOMAN_KEYS:
        patient = (
            "FROM fhir_resource r WHERE r.resource_type = 'Patient' "
            f"AND r.fhir_id = SUBSTR({table}.{column}, 5)"
        )
        op.execute(
            f"UPDATE {table} SET {column} = 'rec:' || CAST((SELECT MIN(r.pk) {patient}) "
            f"AS VARCHAR(20)) WHERE {column} LIKE 'pat:%' AND EXISTS (SELECT 1 {patient})"
        )
    with op.batch_alter_table("fhir_resource", schema=None) as batch_op:
        batch_op.drop_constraint("uq_fhir_resource_resource_type_fhir_id", type_="unique")
        batch_op.create_unique_constraint(
            "uq_fhir_resource_institution_id_resource_type_fhir_id",
            ["institution_id", "resource_type", "fhir_id"],
        )
    with op.batch_alter_table("fhir_identifier", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_key", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.drop_constraint(
            "uq_fhir_identifier_institution_id_resource_type_token_hash", type_="unique"
        )
    op.execute(
        sa.text(
            "UPDATE fhir_identifier SET is_key = :yes WHERE resource_type = 'Patient'"
        ).bindparams(yes=True)
    )
    op.create_index(
        "uq_fhir_identifier_key",
        "fhir_identifier",
        ["institution_id", "resource_type", "token_hash"],
        unique=True,
        postgresql_where=sa.text("is_key"),
        sqlite_where=sa.text("is_key"),
    )
    op.create_index(
        "ix_fhir_identifier_token",
        "fhir_identifier",
        ["institution_id", "resource_type", "token_hash"],
        unique=False,
    )
    for table, column in (("care_episode", "ref"), ("prenatal_visit", "episode_ref")):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column, type_=sa.String(length=200), existing_type=sa.String(length=140)
            )


def downgrade() -> None:
    for table, column in (("care_episode", "ref"), ("prenatal_visit", "episode_ref")):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column, type_=sa.String(length=140), existing_type=sa.String(length=200)
            )
    op.drop_index("ix_fhir_identifier_token", table_name="fhir_identifier")
    op.drop_index("uq_fhir_identifier_key", table_name="fhir_identifier")
    with op.batch_alter_table("fhir_identifier", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            "uq_fhir_identifier_institution_id_resource_type_token_hash",
            ["institution_id", "resource_type", "token_hash"],
        )
        batch_op.drop_column("is_key")
    with op.batch_alter_table("fhir_resource", schema=None) as batch_op:
        batch_op.drop_constraint(
            "uq_fhir_resource_institution_id_resource_type_fhir_id", type_="unique"
        )
        batch_op.create_unique_constraint(
            "uq_fhir_resource_resource_type_fhir_id", ["resource_type", "fhir_id"]
        )
