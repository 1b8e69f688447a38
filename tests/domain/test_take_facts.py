"""``take_facts`` (one statement on PostgreSQL) finds the same subjects as ``subjects_of`` and
removes the same rows as ``delete_facts``, on both databases."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from mch_service.app import Services
from mch_service.domain import models as m
from mch_service.domain import repository
from mch_service.domain.fact_tables import FACT_TABLES
from mch_service.store.models import FhirResource
from tests.domain.test_pregnancy_record import care_at_three_institutions


def _count(session: object, table: type, pks: list[int]) -> int:
    return int(
        session.scalar(  # type: ignore[attr-defined]
            select(func.count()).select_from(table).where(table.resource_pk.in_(pks))  # type: ignore[attr-defined]
        )
    )


def test_take_facts_is_subjects_of_then_delete_facts(
    http: httpx.Client, services: Services
) -> None:
    care_at_three_institutions(http, services)
    with services.db.reading() as session:
        rows = session.execute(
            select(
                FhirResource.pk,
                FhirResource.resource_type,
                FhirResource.fhir_id,
                FhirResource.institution_id,
            )
        ).all()
        patients = {f"{inst}/Patient/{fid}" for _, rtype, fid, inst in rows if rtype == "Patient"}
        keys = {k for k in session.scalars(select(m.PatientRecord.woman_key)) if k}
        # everything but one Patient: the rows of the others go, its own stay
        kept = next(pk for pk, rtype, _, _ in rows if rtype == "Patient")
        pks = sorted(pk for pk, _, _, _ in rows if pk != kept)
        expected = repository.subjects_of(session, pks)
        before = {t: _count(session, t, pks) for t in (*FACT_TABLES.values(), m.PatientRecord)}
        kept_before = {t: _count(session, t, [kept]) for t in before}
        issues = session.scalar(
            select(func.count())
            .select_from(m.DataQualityIssue)
            .where(
                m.DataQualityIssue.resource_pk.in_(pks), m.DataQualityIssue.pregnancy_id.is_(None)
            )
        )
    # one woman (one key) at three institutions: every fact is about one of her three Patient
    # records (the kept one's too: its institution's visits are taken), and the two patient
    # records taken name her key
    assert len(patients) == 3
    assert len(keys) == 1
    assert expected == patients | {f"woman:{k}" for k in keys}
    assert sum(before.values()) > 10
    assert issues is not None
    assert issues > 0
    with services.db.transaction() as session:
        got = repository.take_facts(session, pks)
        assert got == expected
        for table in before:
            assert _count(session, table, pks) == 0, table
            assert _count(session, table, [kept]) == kept_before[table], table
        assert _count(session, m.UnmappedCode, pks) == 0
        assert (
            session.scalar(
                select(func.count())
                .select_from(m.DataQualityIssue)
                .where(
                    m.DataQualityIssue.resource_pk.in_(pks),
                    m.DataQualityIssue.pregnancy_id.is_(None),
                )
            )
            == 0
        )
    with services.db.transaction() as session:
        assert repository.take_facts(session, pks) == set()  # nothing left to take
