"""What the case register reads of the pregnancy facts: the domain's read API for
``cases`` (the work lists and the case pages), so the cases package never queries the domain's
tables itself.

* ``pregnancy_rows``: pregnancy dating, street, institutions, first contact, discharge;
* ``visit_dates``, ``postpartum_visit_dates``, ``lab_results``, ``treatments``;
* ``risk_assessments``: with the resource key (the store says when it was first received);
* ``pregnancy_in_jurisdiction``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Row, Select, or_, select
from sqlalchemy.orm import Session

from mch_service.auth.permissions import Principal
from mch_service.domain import models as domain_models
from mch_service.domain.pregnancy_record import in_jurisdiction

_CHUNK = 1000
# A row of the domain's tables, unpacked by the case service (its order in each docstring).
DomainRow = Row[*tuple[Any, ...]]


def _by_chunk(
    session: Session,
    pregnancy_ids: Sequence[str],
    query: Callable[[Sequence[str]], Select[*tuple[Any, ...]]],
) -> Iterator[DomainRow]:
    for start in range(0, len(pregnancy_ids), _CHUNK):
        yield from session.execute(query(pregnancy_ids[start : start + _CHUNK]))


def pregnancy_rows(session: Session, woman_keys: Iterable[str] | None) -> Iterator[DomainRow]:
    """(id, woman key, lmp, edd, end date, street, institutions, first contact, discharge,
    delivery day, the woman's death day) of the pregnancies of these women, or of all (None)."""
    pregnancy, delivery = domain_models.Pregnancy, domain_models.Delivery
    death = domain_models.Death
    stmt = (
        select(
            pregnancy.id,
            pregnancy.woman_key,
            pregnancy.lmp,
            pregnancy.edd,
            pregnancy.end_date,
            pregnancy.street,
            pregnancy.institutions,
            pregnancy.first_contact_date,
            delivery.discharge_date,
            delivery.delivery_date,
            death.death_date,
        )
        .outerjoin(delivery, delivery.pregnancy_id == pregnancy.id)
        .outerjoin(death, death.woman_key == pregnancy.woman_key)
    )
    if woman_keys is not None:
        stmt = stmt.where(pregnancy.woman_key.in_(list(woman_keys)))
    yield from session.execute(stmt)


def visit_dates(session: Session, pregnancy_ids: Sequence[str]) -> Iterator[DomainRow]:
    visit = domain_models.PrenatalVisit
    return _by_chunk(
        session,
        pregnancy_ids,
        lambda c: select(visit.pregnancy_id, visit.visit_date).where(visit.pregnancy_id.in_(c)),
    )


def postpartum_visit_dates(session: Session, pregnancy_ids: Sequence[str]) -> Iterator[DomainRow]:
    visit = domain_models.PostpartumVisit
    return _by_chunk(
        session,
        pregnancy_ids,
        lambda c: select(visit.pregnancy_id, visit.visit_date).where(visit.pregnancy_id.in_(c)),
    )


def risk_assessments(session: Session, pregnancy_ids: Sequence[str]) -> Iterator[DomainRow]:
    """(pregnancy id, assessed day, colour, purple, resource pk)."""
    risk = domain_models.RiskAssessmentFact
    return _by_chunk(
        session,
        pregnancy_ids,
        lambda c: select(
            risk.pregnancy_id,
            risk.assessed_date,
            risk.colour,
            risk.purple,
            risk.resource_pk,
        ).where(risk.pregnancy_id.in_(c)),
    )


def lab_results(session: Session, pregnancy_ids: Sequence[str]) -> Iterator[DomainRow]:
    """(pregnancy id, concept, test date, result, method)."""
    lab = domain_models.LabResult
    return _by_chunk(
        session,
        pregnancy_ids,
        lambda c: select(
            lab.pregnancy_id, lab.concept, lab.test_date, lab.result, lab.method
        ).where(lab.pregnancy_id.in_(c)),
    )


def treatments(session: Session, pregnancy_ids: Sequence[str]) -> Iterator[DomainRow]:
    """(pregnancy id, concept, treated date) of the woman's own treatments: a newborn's (HBIG,
    infant ARV or penicillin, whose subject is the child) is not the mother's treatment."""
    treatment = domain_models.Treatment
    newborns = select(domain_models.PatientRecord.ref).where(
        domain_models.PatientRecord.mother_ref.is_not(None)
    )
    return _by_chunk(
        session,
        pregnancy_ids,
        lambda c: select(treatment.pregnancy_id, treatment.concept, treatment.treated_date).where(
            treatment.pregnancy_id.in_(c),
            or_(treatment.subject.is_(None), treatment.subject.not_in(newborns)),
        ),
    )


def risk_bases(session: Session, pregnancy_ids: Sequence[str]) -> Iterator[DomainRow]:
    """(pregnancy id, assessed day, colour, purple, basis): the risk factors recorded with each
    assessment (its ``basis``, as sent; None when the assessment names none)."""
    risk = domain_models.RiskAssessmentFact
    return _by_chunk(
        session,
        pregnancy_ids,
        lambda c: select(
            risk.pregnancy_id, risk.assessed_date, risk.colour, risk.purple, risk.basis
        ).where(risk.pregnancy_id.in_(c)),
    )


def pregnancy_scope(session: Session, pregnancy_id: str) -> tuple[str | None, str] | None:
    """(street, institutions) of the pregnancy, None when there is no such pregnancy."""
    pregnancy = session.get(domain_models.Pregnancy, pregnancy_id)
    if pregnancy is None:
        return None
    return pregnancy.street, pregnancy.institutions or ""


def woman_of(session: Session, pregnancy_id: str) -> str | None:
    """The woman key of the pregnancy (None when there is no such pregnancy)."""
    pregnancy = session.get(domain_models.Pregnancy, pregnancy_id)
    return pregnancy.woman_key if pregnancy is not None else None


def pregnancy_in_jurisdiction(session: Session, principal: Principal, pregnancy_id: str) -> bool:
    """The pregnancy exists and the principal may see it."""
    pregnancy = session.get(domain_models.Pregnancy, pregnancy_id)
    return pregnancy is not None and in_jurisdiction(principal, pregnancy)
