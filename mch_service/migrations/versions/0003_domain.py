"""domain tables

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 13:51:00.833072
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "birth",
        sa.Column("pregnancy_id", sa.String(length=80), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("live", sa.Boolean(), nullable=False),
        sa.Column("sex", sa.String(length=16), nullable=True),
        sa.Column("weight_g", sa.Float(), nullable=True),
        sa.Column("apgar", sa.Float(), nullable=True),
        sa.Column("newborn_ref", sa.String(length=140), nullable=True),
        sa.Column("neonatal_death_age_days", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("pregnancy_id", "seq", name=op.f("pk_birth")),
    )
    op.create_table(
        "care_episode",
        sa.Column("ref", sa.String(length=140), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "resource_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=140), nullable=True),
        sa.Column("pregnancy_id", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_episode")),
    )
    with op.batch_alter_table("care_episode", schema=None) as batch_op:
        batch_op.create_index("ix_care_episode_pregnancy", ["pregnancy_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_care_episode_resource_pk"), ["resource_pk"], unique=False
        )
        batch_op.create_index("ix_care_episode_subject", ["subject"], unique=False)

    op.create_table(
        "data_quality_issue",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "resource_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("pregnancy_id", sa.String(length=80), nullable=True),
        sa.Column("institution_id", sa.String(length=64), nullable=True),
        sa.Column("rule", sa.String(length=48), nullable=False),
        sa.Column("element", sa.String(length=120), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_quality_issue")),
    )
    with op.batch_alter_table("data_quality_issue", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_data_quality_issue_pregnancy_id"), ["pregnancy_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_data_quality_issue_resource_pk"), ["resource_pk"], unique=False
        )

    op.create_table(
        "dating_observation",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("observed_date", sa.Date(), nullable=True),
        sa.Column("value_date", sa.Date(), nullable=True),
        sa.Column("ga_days", sa.Integer(), nullable=True),
        sa.Column("gravida", sa.Integer(), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "resource_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=140), nullable=True),
        sa.Column("pregnancy_id", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dating_observation")),
    )
    with op.batch_alter_table("dating_observation", schema=None) as batch_op:
        batch_op.create_index("ix_dating_observation_pregnancy", ["pregnancy_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_dating_observation_resource_pk"), ["resource_pk"], unique=False
        )
        batch_op.create_index("ix_dating_observation_subject", ["subject"], unique=False)

    op.create_table(
        "death",
        sa.Column("woman_key", sa.String(length=80), nullable=False),
        sa.Column("death_date", sa.Date(), nullable=False),
        sa.Column("pregnancy_id", sa.String(length=80), nullable=True),
        sa.Column("institution_id", sa.String(length=64), nullable=False),
        sa.Column("maternal", sa.Boolean(), nullable=False),
        sa.Column("timing", sa.String(length=16), nullable=False),
        sa.Column("cause_code", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("woman_key", name=op.f("pk_death")),
    )
    op.create_table(
        "delivery",
        sa.Column("pregnancy_id", sa.String(length=80), nullable=False),
        sa.Column("delivery_date", sa.Date(), nullable=False),
        sa.Column("admission_date", sa.Date(), nullable=False),
        sa.Column("discharge_date", sa.Date(), nullable=False),
        sa.Column("institution_id", sa.String(length=64), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=True),
        sa.Column("facility", sa.Boolean(), nullable=False),
        sa.Column("ga_days", sa.Integer(), nullable=True),
        sa.Column("live_births", sa.Integer(), nullable=False),
        sa.Column("stillbirths", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("pregnancy_id", name=op.f("pk_delivery")),
    )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delivery_delivery_date"), ["delivery_date"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_delivery_institution_id"), ["institution_id"], unique=False
        )

    op.create_table(
        "delivery_record",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=True),
        sa.Column("encounter_ref", sa.String(length=140), nullable=True),
        sa.Column("outcome_code", sa.String(length=16), nullable=True),
        sa.Column("live", sa.Integer(), nullable=True),
        sa.Column("still", sa.Integer(), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "resource_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=140), nullable=True),
        sa.Column("pregnancy_id", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_record")),
    )
    with op.batch_alter_table("delivery_record", schema=None) as batch_op:
        batch_op.create_index("ix_delivery_record_pregnancy", ["pregnancy_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_delivery_record_resource_pk"), ["resource_pk"], unique=False
        )
        batch_op.create_index("ix_delivery_record_subject", ["subject"], unique=False)

    op.create_table(
        "diagnosis",
        sa.Column("concept", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("diagnosed_date", sa.Date(), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "resource_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=140), nullable=True),
        sa.Column("pregnancy_id", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diagnosis")),
    )
    with op.batch_alter_table("diagnosis", schema=None) as batch_op:
        batch_op.create_index("ix_diagnosis_pregnancy", ["pregnancy_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_diagnosis_resource_pk"), ["resource_pk"], unique=False)
        batch_op.create_index("ix_diagnosis_subject", ["subject"], unique=False)

    op.create_table(
        "encounter_record",
        sa.Column("ref", sa.String(length=140), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("home", sa.Boolean(), nullable=False),
        sa.Column("delivery", sa.Boolean(), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "resource_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=140), nullable=True),
        sa.Column("pregnancy_id", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_encounter_record")),
    )
    with op.batch_alter_table("encounter_record", schema=None) as batch_op:
        batch_op.create_index("ix_encounter_record_pregnancy", ["pregnancy_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_encounter_record_ref"), ["ref"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_encounter_record_resource_pk"), ["resource_pk"], unique=False
        )
        batch_op.create_index("ix_encounter_record_subject", ["subject"], unique=False)

    op.create_table(
        "lab_result",
        sa.Column("concept", sa.String(length=32), nullable=False),
        sa.Column("test_date", sa.Date(), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(length=16), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "resource_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=140), nullable=True),
        sa.Column("pregnancy_id", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lab_result")),
    )
    with op.batch_alter_table("lab_result", schema=None) as batch_op:
        batch_op.create_index("ix_lab_result_pregnancy", ["pregnancy_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_lab_result_resource_pk"), ["resource_pk"], unique=False
        )
        batch_op.create_index("ix_lab_result_subject", ["subject"], unique=False)

    op.create_table(
        "newborn_observation",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("encounter_ref", sa.String(length=140), nullable=True),
        sa.Column("observed_date", sa.Date(), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "resource_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=140), nullable=True),
        sa.Column("pregnancy_id", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_newborn_observation")),
    )
    with op.batch_alter_table("newborn_observation", schema=None) as batch_op:
        batch_op.create_index("ix_newborn_observation_pregnancy", ["pregnancy_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_newborn_observation_resource_pk"), ["resource_pk"], unique=False
        )
        batch_op.create_index("ix_newborn_observation_subject", ["subject"], unique=False)

    op.create_table(
        "patient_record",
        sa.Column(
            "resource_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.String(length=64), nullable=False),
        sa.Column("ref", sa.String(length=140), nullable=False),
        sa.Column("resident_id_hash", sa.String(length=64), nullable=True),
        sa.Column("resident_id_valid", sa.Boolean(), nullable=False),
        sa.Column("woman_key", sa.String(length=80), nullable=True),
        sa.Column("mother_ref", sa.String(length=140), nullable=True),
        sa.Column("resident_id_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("mrn_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("name_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("phone_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("address_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("street", sa.String(length=32), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("gender", sa.String(length=16), nullable=True),
        sa.Column("deceased_at", sa.Date(), nullable=True),
        sa.Column("multiple_birth", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("resource_pk", name=op.f("pk_patient_record")),
        sa.UniqueConstraint("ref", name=op.f("uq_patient_record_ref")),
    )
    with op.batch_alter_table("patient_record", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_patient_record_mother_ref"), ["mother_ref"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_patient_record_resident_id_hash"), ["resident_id_hash"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_patient_record_woman_key"), ["woman_key"], unique=False
        )

    op.create_table(
        "postpartum_visit",
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "resource_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=140), nullable=True),
        sa.Column("pregnancy_id", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postpartum_visit")),
    )
    with op.batch_alter_table("postpartum_visit", schema=None) as batch_op:
        batch_op.create_index("ix_postpartum_visit_pregnancy", ["pregnancy_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_postpartum_visit_resource_pk"), ["resource_pk"], unique=False
        )
        batch_op.create_index("ix_postpartum_visit_subject", ["subject"], unique=False)

    op.create_table(
        "pregnancy",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("woman_key", sa.String(length=80), nullable=False),
        sa.Column("lmp", sa.Date(), nullable=True),
        sa.Column("edd", sa.Date(), nullable=True),
        sa.Column("dating_source", sa.String(length=16), nullable=True),
        sa.Column("first_contact_date", sa.Date(), nullable=True),
        sa.Column("first_contact_institution", sa.String(length=64), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("end_kind", sa.String(length=16), nullable=True),
        sa.Column("street", sa.String(length=32), nullable=True),
        sa.Column("institutions", sa.Text(), nullable=False),
        sa.Column("excluded", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pregnancy")),
    )
    with op.batch_alter_table("pregnancy", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pregnancy_street"), ["street"], unique=False)
        batch_op.create_index(batch_op.f("ix_pregnancy_woman_key"), ["woman_key"], unique=False)

    op.create_table(
        "prenatal_visit",
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("initial", sa.Boolean(), nullable=False),
        sa.Column("episode_ref", sa.String(length=140), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "resource_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=140), nullable=True),
        sa.Column("pregnancy_id", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prenatal_visit")),
    )
    with op.batch_alter_table("prenatal_visit", schema=None) as batch_op:
        batch_op.create_index("ix_prenatal_visit_pregnancy", ["pregnancy_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_prenatal_visit_resource_pk"), ["resource_pk"], unique=False
        )
        batch_op.create_index("ix_prenatal_visit_subject", ["subject"], unique=False)

    op.create_table(
        "risk_assessment",
        sa.Column("assessed_date", sa.Date(), nullable=False),
        sa.Column("colour", sa.String(length=8), nullable=True),
        sa.Column("purple", sa.Boolean(), nullable=False),
        sa.Column("basis", sa.Text(), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "resource_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=140), nullable=True),
        sa.Column("pregnancy_id", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_assessment")),
    )
    with op.batch_alter_table("risk_assessment", schema=None) as batch_op:
        batch_op.create_index("ix_risk_assessment_pregnancy", ["pregnancy_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_risk_assessment_resource_pk"), ["resource_pk"], unique=False
        )
        batch_op.create_index("ix_risk_assessment_subject", ["subject"], unique=False)

    op.create_table(
        "treatment",
        sa.Column("concept", sa.String(length=32), nullable=False),
        sa.Column("treated_date", sa.Date(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "resource_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=140), nullable=True),
        sa.Column("pregnancy_id", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_treatment")),
    )
    with op.batch_alter_table("treatment", schema=None) as batch_op:
        batch_op.create_index("ix_treatment_pregnancy", ["pregnancy_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_treatment_resource_pk"), ["resource_pk"], unique=False)
        batch_op.create_index("ix_treatment_subject", ["subject"], unique=False)

    op.create_table(
        "unmapped_code",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "resource_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("institution_id", sa.String(length=64), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("element", sa.String(length=64), nullable=False),
        sa.Column("system", sa.String(length=200), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("display", sa.String(length=200), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unmapped_code")),
    )
    with op.batch_alter_table("unmapped_code", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_unmapped_code_resource_pk"), ["resource_pk"], unique=False
        )
        batch_op.create_index(
            "ix_unmapped_code_sender", ["institution_id", "system", "code"], unique=False
        )

    op.create_table(
        "woman",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("street", sa.String(length=32), nullable=True),
        sa.Column("resident_id_valid", sa.Boolean(), nullable=False),
        sa.Column("record_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_woman")),
    )


def downgrade() -> None:
    op.drop_table("woman")
    with op.batch_alter_table("unmapped_code", schema=None) as batch_op:
        batch_op.drop_index("ix_unmapped_code_sender")
        batch_op.drop_index(batch_op.f("ix_unmapped_code_resource_pk"))

    op.drop_table("unmapped_code")
    with op.batch_alter_table("treatment", schema=None) as batch_op:
        batch_op.drop_index("ix_treatment_subject")
        batch_op.drop_index(batch_op.f("ix_treatment_resource_pk"))
        batch_op.drop_index("ix_treatment_pregnancy")

    op.drop_table("treatment")
    with op.batch_alter_table("risk_assessment", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_assessment_subject")
        batch_op.drop_index(batch_op.f("ix_risk_assessment_resource_pk"))
        batch_op.drop_index("ix_risk_assessment_pregnancy")

    op.drop_table("risk_assessment")
    with op.batch_alter_table("prenatal_visit", schema=None) as batch_op:
        batch_op.drop_index("ix_prenatal_visit_subject")
        batch_op.drop_index(batch_op.f("ix_prenatal_visit_resource_pk"))
        batch_op.drop_index("ix_prenatal_visit_pregnancy")

    op.drop_table("prenatal_visit")
    with op.batch_alter_table("pregnancy", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pregnancy_woman_key"))
        batch_op.drop_index(batch_op.f("ix_pregnancy_street"))

    op.drop_table("pregnancy")
    with op.batch_alter_table("postpartum_visit", schema=None) as batch_op:
        batch_op.drop_index("ix_postpartum_visit_subject")
        batch_op.drop_index(batch_op.f("ix_postpartum_visit_resource_pk"))
        batch_op.drop_index("ix_postpartum_visit_pregnancy")

    op.drop_table("postpartum_visit")
    with op.batch_alter_table("patient_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_record_woman_key"))
        batch_op.drop_index(batch_op.f("ix_patient_record_resident_id_hash"))
        batch_op.drop_index(batch_op.f("ix_patient_record_mother_ref"))

    op.drop_table("patient_record")
    with op.batch_alter_table("newborn_observation", schema=None) as batch_op:
        batch_op.drop_index("ix_newborn_observation_subject")
        batch_op.drop_index(batch_op.f("ix_newborn_observation_resource_pk"))
        batch_op.drop_index("ix_newborn_observation_pregnancy")

    op.drop_table("newborn_observation")
    with op.batch_alter_table("lab_result", schema=None) as batch_op:
        batch_op.drop_index("ix_lab_result_subject")
        batch_op.drop_index(batch_op.f("ix_lab_result_resource_pk"))
        batch_op.drop_index("ix_lab_result_pregnancy")

    op.drop_table("lab_result")
    with op.batch_alter_table("encounter_record", schema=None) as batch_op:
        batch_op.drop_index("ix_encounter_record_subject")
        batch_op.drop_index(batch_op.f("ix_encounter_record_resource_pk"))
        batch_op.drop_index(batch_op.f("ix_encounter_record_ref"))
        batch_op.drop_index("ix_encounter_record_pregnancy")

    op.drop_table("encounter_record")
    with op.batch_alter_table("diagnosis", schema=None) as batch_op:
        batch_op.drop_index("ix_diagnosis_subject")
        batch_op.drop_index(batch_op.f("ix_diagnosis_resource_pk"))
        batch_op.drop_index("ix_diagnosis_pregnancy")

    op.drop_table("diagnosis")
    with op.batch_alter_table("delivery_record", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_record_subject")
        batch_op.drop_index(batch_op.f("ix_delivery_record_resource_pk"))
        batch_op.drop_index("ix_delivery_record_pregnancy")

    op.drop_table("delivery_record")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_institution_id"))
        batch_op.drop_index(batch_op.f("ix_delivery_delivery_date"))

    op.drop_table("delivery")
    op.drop_table("death")
    with op.batch_alter_table("dating_observation", schema=None) as batch_op:
        batch_op.drop_index("ix_dating_observation_subject")
        batch_op.drop_index(batch_op.f("ix_dating_observation_resource_pk"))
        batch_op.drop_index("ix_dating_observation_pregnancy")

    op.drop_table("dating_observation")
    with op.batch_alter_table("data_quality_issue", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_quality_issue_resource_pk"))
        batch_op.drop_index(batch_op.f("ix_data_quality_issue_pregnancy_id"))

    op.drop_table("data_quality_issue")
    with op.batch_alter_table("care_episode", schema=None) as batch_op:
        batch_op.drop_index("ix_care_episode_subject")
        batch_op.drop_index(batch_op.f("ix_care_episode_resource_pk"))
        batch_op.drop_index("ix_care_episode_pregnancy")

    op.drop_table("care_episode")
    op.drop_table("birth")
