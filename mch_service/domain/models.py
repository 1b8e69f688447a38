"""Domain tables: what the records say about women, pregnancies and their care.

Two kinds. *Fact tables* (one row per clinical fact, derived from one stored resource version
alone: ``resource_pk`` and ``version_id`` point back to it) and *assembled tables* (woman,
pregnancy, delivery, birth, death), derived per woman from her facts across institutions.
Both are rebuilt from the store by ``mch-service domain rebuild`` and come out the same.
Personal data (names, phones, addresses, ID numbers) is sealed; matching uses keyed hashes.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from mch_service.database import Base
from mch_service.store.models import PK


class FactMixin:
    """Where a fact came from, and which woman and pregnancy it belongs to."""

    id: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    resource_pk: Mapped[int] = mapped_column(PK, index=True)
    version_id: Mapped[int] = mapped_column(Integer)
    institution_id: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(140), nullable=True)  # "Patient/x"
    pregnancy_id: Mapped[str | None] = mapped_column(String(80), nullable=True)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Index, ...]:  # noqa: N805
        name = cls.__tablename__  # type: ignore[attr-defined]
        return (
            Index(f"ix_{name}_subject", "subject"),
            Index(f"ix_{name}_pregnancy", "pregnancy_id"),
        )


class PatientRecord(Base):
    """One institution's Patient resource: a woman, or a newborn (``mother`` set)."""

    __tablename__ = "patient_record"

    resource_pk: Mapped[int] = mapped_column(PK, primary_key=True)
    version_id: Mapped[int] = mapped_column(Integer)
    institution_id: Mapped[str] = mapped_column(String(64))
    ref: Mapped[str] = mapped_column(String(140), unique=True)  # "Patient/<id>"
    # Identity: a valid resident ID number (GB 11643 check digit) links institutions.
    resident_id_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    resident_id_valid: Mapped[bool] = mapped_column(Boolean, default=False)
    # The keyed hash of her name as staff search it (mch_service.domain.name_index): an exact
    # match, never a scan of names. None: no name, or stored before 0018 and not reindexed.
    name_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    woman_key: Mapped[str | None] = mapped_column(String(80), nullable=True, index=True)
    mother_ref: Mapped[str | None] = mapped_column(String(140), nullable=True, index=True)
    resident_id_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    mrn_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    name_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    phone_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    address_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    street: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # resident | non_resident | unknown: the address classified against the district when the
    # record was stored (the address itself is sealed); mch_service.streets.residence_of.
    residence: Mapped[str | None] = mapped_column(String(16), nullable=True)
    birth_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    gender: Mapped[str | None] = mapped_column(String(16), nullable=True)
    deceased_at: Mapped[date | None] = mapped_column(Date, nullable=True)
    multiple_birth: Mapped[int | None] = mapped_column(Integer, nullable=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # A newborn's birth instant (UTC): the patient-birthTime extension of birthDate; None when
    # the record gives no time of birth.
    birth_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class CareEpisode(FactMixin, Base):
    __tablename__ = "care_episode"
    ref: Mapped[str] = mapped_column(String(200))  # "<institution>/EpisodeOfCare/<id>"
    start_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)


class PrenatalVisit(FactMixin, Base):
    __tablename__ = "prenatal_visit"
    visit_date: Mapped[date] = mapped_column(Date)
    initial: Mapped[bool] = mapped_column(Boolean, default=False)
    episode_ref: Mapped[str | None] = mapped_column(String(200), nullable=True)


class PostpartumVisit(FactMixin, Base):
    __tablename__ = "postpartum_visit"
    visit_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))  # visit | check_42d


class EncounterRecord(FactMixin, Base):
    """Encounters that are not visits (admissions), for delivery admission and discharge."""

    __tablename__ = "encounter_record"
    ref: Mapped[str] = mapped_column(String(140), index=True)
    start_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    home: Mapped[bool] = mapped_column(Boolean, default=False)
    delivery: Mapped[bool] = mapped_column(Boolean, default=False)  # typed as a delivery


class DatingObservation(FactMixin, Base):
    __tablename__ = "dating_observation"
    kind: Mapped[str] = mapped_column(String(16))  # lmp | edd | gestational_age | gravida
    observed_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    value_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    ga_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    gravida: Mapped[int | None] = mapped_column(Integer, nullable=True)


class LabResult(FactMixin, Base):
    __tablename__ = "lab_result"
    concept: Mapped[str] = mapped_column(String(32))
    test_date: Mapped[date] = mapped_column(Date)
    result: Mapped[str | None] = mapped_column(
        String(16), nullable=True
    )  # positive | negative | indeterminate
    value: Mapped[float | None] = mapped_column(Float, nullable=True)  # normalised unit
    unit: Mapped[str | None] = mapped_column(String(16), nullable=True)
    source: Mapped[str] = mapped_column(String(16))  # observation | procedure
    # the test's method, the code table's value column: confirmatory | treponemal |
    # non_treponemal, or None (a screening test, or not said)
    method: Mapped[str | None] = mapped_column(String(24), nullable=True)


class RiskAssessmentFact(FactMixin, Base):
    __tablename__ = "risk_assessment"
    assessed_date: Mapped[date] = mapped_column(Date)
    colour: Mapped[str | None] = mapped_column(String(8), nullable=True)  # severity colour
    purple: Mapped[bool] = mapped_column(Boolean, default=False)
    basis: Mapped[str | None] = mapped_column(Text, nullable=True)


class DeliveryRecord(FactMixin, Base):
    """A delivery procedure or a birth-outcome condition (Z37.x) as sent."""

    __tablename__ = "delivery_record"
    kind: Mapped[str] = mapped_column(String(16))  # procedure | outcome
    event_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    mode: Mapped[str | None] = mapped_column(String(16), nullable=True)
    encounter_ref: Mapped[str | None] = mapped_column(String(140), nullable=True)
    outcome_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    live: Mapped[int | None] = mapped_column(Integer, nullable=True)
    still: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The delivery Procedure's performed instant (UTC) when it carries a time of day.
    event_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class NewbornObservation(FactMixin, Base):
    __tablename__ = "newborn_observation"
    kind: Mapped[str] = mapped_column(String(16))  # birth_weight | apgar
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    encounter_ref: Mapped[str | None] = mapped_column(String(140), nullable=True)
    observed_date: Mapped[date | None] = mapped_column(Date, nullable=True)


class Treatment(FactMixin, Base):
    __tablename__ = "treatment"
    # antiretroviral | hbv_antiviral | syphilis_treatment | hbig | hepb_vaccine (an Immunization)
    concept: Mapped[str] = mapped_column(String(32))
    # the day that places the record in a pregnancy: when it was asserted or ordered, else start
    treated_date: Mapped[date] = mapped_column(Date)
    code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # the regimen's period: start and end day (end None = open, continuing); both None on rows
    # read before 0013 (then treated_date is the one day)
    start_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    # the code table's value column of a drug row (syphilis: penicillin | needs_indication)
    drug_class: Mapped[str | None] = mapped_column(String(24), nullable=True)
    # When it was given (UTC), if the record carries a time of day (timeliness of the newborn's
    # HBIG and hepatitis B vaccine); None for a date only.
    administered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Diagnosis(FactMixin, Base):
    __tablename__ = "diagnosis"
    concept: Mapped[str] = mapped_column(String(32))
    code: Mapped[str] = mapped_column(String(32))
    diagnosed_date: Mapped[date | None] = mapped_column(Date, nullable=True)


class DataQualityIssue(Base):
    """A record that is valid FHIR but clinically impossible, or inconsistent with others."""

    __tablename__ = "data_quality_issue"
    id: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    resource_pk: Mapped[int | None] = mapped_column(PK, nullable=True, index=True)
    pregnancy_id: Mapped[str | None] = mapped_column(String(80), nullable=True, index=True)
    institution_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    rule: Mapped[str] = mapped_column(String(48))
    element: Mapped[str | None] = mapped_column(String(120), nullable=True)
    message: Mapped[str] = mapped_column(Text)


class UnmappedCode(Base):
    """A code no code table recognises, where the domain looks for one (one row a resource)."""

    __tablename__ = "unmapped_code"
    __table_args__ = (Index("ix_unmapped_code_sender", "institution_id", "system", "code"),)
    id: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    resource_pk: Mapped[int] = mapped_column(PK, index=True)
    institution_id: Mapped[str] = mapped_column(String(64))
    resource_type: Mapped[str] = mapped_column(String(64))
    element: Mapped[str] = mapped_column(String(64))
    system: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(100))
    display: Mapped[str | None] = mapped_column(String(200), nullable=True)
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Woman(Base):
    __tablename__ = "woman"
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    street: Mapped[str | None] = mapped_column(String(32), nullable=True)
    residence: Mapped[str | None] = mapped_column(String(16), nullable=True)
    resident_id_valid: Mapped[bool] = mapped_column(Boolean, default=False)
    record_count: Mapped[int] = mapped_column(Integer, default=0)
    # When her pregnancies were last re-assembled: incremental jobs pick up what changed.
    changed_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, index=True
    )


class Pregnancy(Base):
    __tablename__ = "pregnancy"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    woman_key: Mapped[str] = mapped_column(String(80), index=True)
    lmp: Mapped[date | None] = mapped_column(Date, nullable=True)
    edd: Mapped[date | None] = mapped_column(Date, nullable=True)
    dating_source: Mapped[str | None] = mapped_column(String(16), nullable=True)
    first_contact_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    first_contact_institution: Mapped[str | None] = mapped_column(String(64), nullable=True)
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    end_kind: Mapped[str | None] = mapped_column(
        String(16), nullable=True
    )  # delivery | loss | death
    street: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    # resident | non_resident | unknown (None: assembled before residence was recorded)
    residence: Mapped[str | None] = mapped_column(String(16), nullable=True)
    institutions: Mapped[str] = mapped_column(Text, default="")  # space-separated ids
    excluded: Mapped[bool] = mapped_column(Boolean, default=False)


class PregnancyIdKey(Base):
    """The one key public pregnancy ids are derived under (mch_service.domain.pregnancy_ids)."""

    __tablename__ = "pregnancy_id_key"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64))


class Delivery(Base):
    __tablename__ = "delivery"
    pregnancy_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    delivery_date: Mapped[date] = mapped_column(Date, index=True)
    admission_date: Mapped[date] = mapped_column(Date)
    discharge_date: Mapped[date] = mapped_column(Date)
    institution_id: Mapped[str] = mapped_column(String(64), index=True)
    mode: Mapped[str | None] = mapped_column(String(16), nullable=True)
    facility: Mapped[bool] = mapped_column(Boolean, default=True)
    ga_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    live_births: Mapped[int] = mapped_column(Integer, default=0)
    stillbirths: Mapped[int] = mapped_column(Integer, default=0)


class Birth(Base):
    __tablename__ = "birth"
    pregnancy_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    live: Mapped[bool] = mapped_column(Boolean)
    sex: Mapped[str | None] = mapped_column(String(16), nullable=True)
    weight_g: Mapped[float | None] = mapped_column(Float, nullable=True)
    apgar: Mapped[float | None] = mapped_column(Float, nullable=True)
    newborn_ref: Mapped[str | None] = mapped_column(String(140), nullable=True)
    neonatal_death_age_days: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Death(Base):
    __tablename__ = "death"
    woman_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    death_date: Mapped[date] = mapped_column(Date)
    pregnancy_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    institution_id: Mapped[str] = mapped_column(String(64))
    maternal: Mapped[bool] = mapped_column(Boolean)
    timing: Mapped[str] = mapped_column(String(16))  # pregnancy | postpartum | late | unrelated
    cause_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # accidental | self_harm | care_complication | obstetric | None (no coded cause)
    cause_class: Mapped[str | None] = mapped_column(String(24), nullable=True)


class AssemblyQueue(Base):
    """Women whose facts changed and who wait to be re-assembled (queued mode). Durable: a row
    is removed only by the transaction that assembled her, so a crash loses nothing."""

    __tablename__ = "assembly_queue"

    seq: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    woman_key: Mapped[str] = mapped_column(String(80), index=True)
    enqueued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
