"""The indicator package's reads of the domain: the engine's input tables (the contract is
``fact_tables.py``), built from the domain tables with the fact rules of
docs/indicator-rules.md. Indicators depend on the domain here, never the reverse.

The heavy lifting is SQL aggregation in the database (one row per pregnancy comes back, not one
per visit), so the same queries can run on a distributed PostgreSQL-compatible engine; pandas
only merges the per-pregnancy results.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from mch_service.domain import models
from mch_service.domain.models import Delivery, Pregnancy
from mch_service.domain.sqlfuncs import day_diff
from mch_service.indicators import fact_tables
from mch_service.indicators.ports import CaseFactsReader, CaseManagementFacts, no_case_facts

EARLY_DAYS = 91  # before 13+0 weeks
INFECTION_TESTS = {"hiv": "hiv_test", "syphilis": "syphilis_test", "hbsag": "hbsag_test"}
INFECTION_DIAGNOSES = {
    "hiv": "hiv_diagnosis",
    "syphilis": "syphilis_diagnosis",
    "hbsag": "hbv_diagnosis",
}
INFECTION_TREATMENTS = {"hiv": "antiretroviral", "syphilis": "syphilis_treatment"}
SEVERITY = {"green": 0, "yellow": 1, "orange": 2, "red": 3}


def _frame(session: Session, stmt: Any) -> pd.DataFrame:
    result = session.execute(stmt)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def _days(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, errors="coerce").dt.normalize()


def _flag(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame[column].fillna(0).astype(int).astype(bool)


def last_change(session: Session) -> datetime | None:
    """When a woman was last re-assembled (the indicator job's watermark)."""
    return session.scalar(select(func.max(models.Woman.changed_at)))


def women_changed_since(session: Session, watermark: datetime | None) -> list[str]:
    """The keys of the women re-assembled after ``watermark`` (all of them when None)."""
    stmt = select(models.Woman.key)
    if watermark is not None:
        stmt = stmt.where(models.Woman.changed_at > watermark)
    return list(session.scalars(stmt))


def build_frames(
    session: Session,
    case_managed_colours: Sequence[str],
    women: Sequence[str] | None = None,
    case_facts: CaseFactsReader = no_case_facts,
) -> fact_tables.FactFrames:
    """All of the district, or only the given women (for an incremental update).
    ``case_facts`` reads the case register (the port wired in mch_service/services.py)."""
    scope = _Scope(women)
    cases = case_facts(session, women)
    return fact_tables.FactFrames(
        pregnancies=_pregnancies(session, case_managed_colours, scope, cases),
        births=_births(session, scope),
        maternal_deaths=_deaths(session, scope),
        congenital_syphilis=_congenital_syphilis(session, scope),
        case_managed_colours=tuple(case_managed_colours),
    )


class _Scope:
    def __init__(self, women: Sequence[str] | None) -> None:
        self.women = list(women) if women is not None else None

    def pregnancy(self, column: Any) -> Any:
        """A condition limiting ``column`` (a pregnancy id) to the women in scope."""
        if self.women is None:
            return literal(True)
        return column.in_(select(Pregnancy.id).where(Pregnancy.woman_key.in_(self.women)))

    def woman(self, column: Any) -> Any:
        return literal(True) if self.women is None else column.in_(self.women)


def _pregnancies(
    session: Session, colours: Sequence[str], scope: _Scope, cases: CaseManagementFacts
) -> pd.DataFrame:
    base = _frame(
        session,
        select(
            Pregnancy.id.label("pregnancy_id"),
            Pregnancy.woman_key.label("woman_id"),
            Pregnancy.street,
            Pregnancy.excluded,
            Delivery.institution_id.label("delivery_institution"),
            Delivery.delivery_date,
            Delivery.admission_date.label("delivery_admission_date"),
            Delivery.discharge_date,
            Pregnancy.end_date.label("pregnancy_end_date"),
            Delivery.facility.label("facility_delivery"),
            (Delivery.mode == "caesarean").label("caesarean"),
            Delivery.live_births,
            Delivery.stillbirths,
            day_diff(Pregnancy.first_contact_date, Pregnancy.lmp).label("first_contact_ga_days"),
        )
        .outerjoin(Delivery, Delivery.pregnancy_id == Pregnancy.id)
        .where(scope.woman(Pregnancy.woman_key)),
    )
    frame = base.set_index("pregnancy_id")
    joined = and_(Delivery.pregnancy_id == models.PrenatalVisit.pregnancy_id)
    checks = _frame(
        session,
        select(
            models.PrenatalVisit.pregnancy_id,
            func.count(func.distinct(models.PrenatalVisit.visit_date)).label("prenatal_check_days"),
        )
        .join(Delivery, joined)
        .where(models.PrenatalVisit.visit_date < Delivery.admission_date)
        .where(scope.pregnancy(models.PrenatalVisit.pregnancy_id))
        .group_by(models.PrenatalVisit.pregnancy_id),
    ).set_index("pregnancy_id")
    pp = models.PostpartumVisit
    since_discharge = day_diff(pp.visit_date, Delivery.discharge_date)
    since_delivery = day_diff(pp.visit_date, Delivery.delivery_date)
    postpartum = _frame(
        session,
        select(
            pp.pregnancy_id,
            func.max(case((and_(since_discharge >= 0, since_discharge <= 28), 1), else_=0)).label(
                "postpartum_visit_28d"
            ),
            func.max(case((and_(since_delivery >= 35, since_delivery <= 56), 1), else_=0)).label(
                "postpartum_42d_check"
            ),
        )
        .join(Delivery, Delivery.pregnancy_id == pp.pregnancy_id)
        .where(scope.pregnancy(pp.pregnancy_id))
        .group_by(pp.pregnancy_id),
    ).set_index("pregnancy_id")
    frame = frame.join(checks).join(postpartum)
    frame["prenatal_check_days"] = frame["prenatal_check_days"].fillna(0).astype(int)

    lab = models.LabResult
    upper = func.coalesce(Delivery.discharge_date, Pregnancy.end_date, lab.test_date)
    in_window = and_(
        lab.test_date <= upper, or_(Pregnancy.lmp.is_(None), lab.test_date >= Pregnancy.lmp)
    )
    ga = day_diff(lab.test_date, Pregnancy.lmp)
    labs = _frame(
        session,
        select(
            lab.pregnancy_id,
            lab.concept,
            func.max(case((in_window, 1), else_=0)).label("tested"),
            func.max(
                case(
                    (
                        and_(
                            in_window,
                            or_(
                                Delivery.admission_date.is_(None),
                                lab.test_date < Delivery.admission_date,
                            ),
                        ),
                        1,
                    ),
                    else_=0,
                )
            ).label("tested_in_pregnancy"),
            func.max(case((and_(in_window, ga < EARLY_DAYS), 1), else_=0)).label("tested_early"),
            func.max(
                case((and_(lab.result == "positive", lab.test_date <= upper), 1), else_=0)
            ).label("positive"),
            func.max(
                case(
                    (
                        and_(
                            lab.concept == "haemoglobin",
                            lab.value < 110,
                            lab.test_date <= func.coalesce(Delivery.delivery_date, lab.test_date),
                        ),
                        1,
                    ),
                    else_=0,
                )
            ).label("anaemia"),
            func.max(
                case(
                    (lab.test_date <= func.coalesce(Delivery.delivery_date, lab.test_date), 1),
                    else_=0,
                )
            ).label("in_pregnancy_to_delivery"),
        )
        .join(Pregnancy, Pregnancy.id == lab.pregnancy_id)
        .outerjoin(Delivery, Delivery.pregnancy_id == Pregnancy.id)
        .where(scope.woman(Pregnancy.woman_key))
        .group_by(lab.pregnancy_id, lab.concept),
    )
    for infection, concept in INFECTION_TESTS.items():
        part = labs[labs["concept"] == concept].set_index("pregnancy_id")
        for flag in ("tested", "tested_in_pregnancy", "tested_early", "positive"):
            frame[f"{infection}_{flag}"] = part[flag].reindex(frame.index).fillna(0).astype(bool)
    hb = labs[labs["concept"] == "haemoglobin"].set_index("pregnancy_id")
    frame["has_hb"] = hb["in_pregnancy_to_delivery"].reindex(frame.index).fillna(0).astype(bool)
    frame["anaemia"] = hb["anaemia"].reindex(frame.index).fillna(0).astype(bool)
    thal_test = labs[(labs["concept"] == "thalassaemia_test") & (labs["positive"] == 1)]

    # diagnoses count for the woman whenever recorded on or before discharge (a known HIV
    # infection from before this pregnancy is still one); thalassaemia at any time
    dx = models.Diagnosis
    woman_dx = _frame(
        session,
        select(
            models.PatientRecord.woman_key, dx.concept, func.min(dx.diagnosed_date).label("first")
        )
        .join(models.PatientRecord, models.PatientRecord.ref == dx.subject)
        .where(
            models.PatientRecord.woman_key.is_not(None), scope.woman(models.PatientRecord.woman_key)
        )
        .group_by(models.PatientRecord.woman_key, dx.concept),
    )
    ends = pd.DataFrame(
        {
            "woman_id": frame["woman_id"],
            "until": _days(frame["discharge_date"].fillna(frame["pregnancy_end_date"])),
        },
        index=frame.index,
    )
    for infection, concept in INFECTION_DIAGNOSES.items():
        known = woman_dx[woman_dx["concept"] == concept].set_index("woman_key")["first"]
        first = _days(ends["woman_id"].map(known))
        diagnosed = first.notna() & (ends["until"].isna() | (first <= ends["until"]))
        frame[f"{infection}_positive"] = frame[f"{infection}_positive"] | diagnosed.values
    thal_women = set(woman_dx.loc[woman_dx["concept"] == "thalassaemia_diagnosis", "woman_key"])
    frame["thalassaemia"] = frame["woman_id"].isin(thal_women) | frame.index.isin(
        thal_test["pregnancy_id"]
    )

    tr = models.Treatment
    treated = _frame(
        session,
        select(tr.pregnancy_id, tr.concept)
        .join(Pregnancy, Pregnancy.id == tr.pregnancy_id)
        .outerjoin(Delivery, Delivery.pregnancy_id == Pregnancy.id)
        .where(scope.woman(Pregnancy.woman_key))
        .where(
            tr.treated_date
            <= func.coalesce(Delivery.discharge_date, Pregnancy.end_date, tr.treated_date),
            or_(Pregnancy.lmp.is_(None), tr.treated_date >= Pregnancy.lmp),
        )
        .distinct(),
    )
    for infection in INFECTION_TESTS:
        treatment = INFECTION_TREATMENTS.get(infection)
        ids = (
            set(treated.loc[treated["concept"] == treatment, "pregnancy_id"])
            if treatment
            else set()
        )
        frame[f"{infection}_treated"] = frame.index.isin(ids)

    ra = models.RiskAssessmentFact
    in_risk = and_(
        ra.assessed_date <= func.coalesce(Delivery.delivery_date, ra.assessed_date),
        or_(Pregnancy.lmp.is_(None), ra.assessed_date >= Pregnancy.lmp),
    )
    severity = case(*[(ra.colour == c, n) for c, n in SEVERITY.items()], else_=-1)
    managed_severity = [c for c in colours if c in SEVERITY]
    is_managed = or_(
        ra.colour.in_(managed_severity) if managed_severity else literal(False),
        and_(ra.purple.is_(True), literal("purple" in colours)),
    )
    risk = _frame(
        session,
        select(
            ra.pregnancy_id,
            func.max(case((in_risk, severity), else_=-1)).label("severity"),
            func.max(case((and_(in_risk, ra.purple.is_(True)), 1), else_=0)).label("purple"),
            func.min(case((and_(in_risk, is_managed), ra.assessed_date), else_=None)).label(
                "first_case_managed_date"
            ),
        )
        .join(Pregnancy, Pregnancy.id == ra.pregnancy_id)
        .outerjoin(Delivery, Delivery.pregnancy_id == Pregnancy.id)
        .where(scope.woman(Pregnancy.woman_key))
        .group_by(ra.pregnancy_id),
    ).set_index("pregnancy_id")
    names = {n: c for c, n in SEVERITY.items()}
    frame["highest_colour"] = risk["severity"].reindex(frame.index).map(names)
    frame["highest_colour"] = (
        frame["highest_colour"].astype(object).where(frame["highest_colour"].notna(), None)
    )
    frame["purple"] = risk["purple"].reindex(frame.index).fillna(0).astype(bool)
    frame["first_case_managed_date"] = _days(risk["first_case_managed_date"].reindex(frame.index))
    # contact after the first case-managed grading, up to the delivery day: a prenatal visit
    # (recorded follow-ups join here once the case register keeps them)
    pv = models.PrenatalVisit
    visits = _frame(
        session,
        select(pv.pregnancy_id, pv.visit_date)
        .join(Pregnancy, Pregnancy.id == pv.pregnancy_id)
        .outerjoin(Delivery, Delivery.pregnancy_id == Pregnancy.id)
        .where(scope.woman(Pregnancy.woman_key))
        .where(pv.visit_date <= func.coalesce(Delivery.delivery_date, pv.visit_date)),
    )
    visits["visit_date"] = _days(visits["visit_date"])
    first_cm = frame["first_case_managed_date"].rename("first_cm")
    joined_visits = visits.join(first_cm, on="pregnancy_id")
    contacted = set(
        joined_visits.loc[joined_visits["visit_date"] > joined_visits["first_cm"], "pregnancy_id"]
    )
    frame["case_managed_contact"] = frame.index.isin(contacted)
    _high_risk_management(session, frame, scope, cases)
    frame["epds_42d"] = _epds_42d(session, scope).reindex(frame.index).fillna(0).astype(bool)

    for column in (
        "delivery_date",
        "delivery_admission_date",
        "discharge_date",
        "pregnancy_end_date",
    ):
        frame[column] = _days(frame[column])
    for column in ("postpartum_visit_28d", "postpartum_42d_check"):
        frame[column] = _flag(frame, column)
    for column in ("facility_delivery", "caesarean", "excluded"):
        frame[column] = frame[column].fillna(False).astype(bool)
    for column in ("live_births", "stillbirths"):
        frame[column] = frame[column].fillna(0).astype(int)
    frame["first_contact_ga_days"] = frame["first_contact_ga_days"].astype("Int64")
    frame["street"] = frame["street"].astype(object).where(frame["street"].notna(), None)
    frame["delivery_institution"] = (
        frame["delivery_institution"]
        .astype(object)
        .where(frame["delivery_institution"].notna(), None)
    )
    return frame.reset_index()


def _high_risk_management(
    session: Session, frame: pd.DataFrame, scope: _Scope, cases: CaseManagementFacts
) -> None:
    """Rule 7: ``high_risk_managed`` (a), ``case_opened_in_time`` and
    ``case_followed_at_interval`` (b, the register's verdicts)."""
    ra = models.RiskAssessmentFact
    assessed = _frame(
        session,
        select(ra.pregnancy_id, ra.assessed_date, ra.colour, ra.purple)
        .join(Pregnancy, Pregnancy.id == ra.pregnancy_id)
        .where(scope.woman(Pregnancy.woman_key)),
    )
    assessed["assessed_date"] = _days(assessed["assessed_date"])
    window = pd.DataFrame(
        {
            "lmp": _days(_lmp_of(session, scope).reindex(frame.index)),
            "delivery": _days(frame["delivery_date"]),
        },
        index=frame.index,
    )
    joined = assessed.join(window, on="pregnancy_id")
    non_green = joined["colour"].isin(["yellow", "orange", "red"]) | joined["purple"].fillna(
        False
    ).astype(bool)
    in_pregnancy = (joined["assessed_date"] <= joined["delivery"]) & (
        joined["lmp"].isna() | (joined["assessed_date"] >= joined["lmp"])
    )
    first = _days(
        joined.loc[non_green & in_pregnancy]
        .groupby("pregnancy_id")["assessed_date"]
        .min()
        .reindex(frame.index)
    )
    until = window["delivery"] + pd.Timedelta(
        days=fact_tables.HIGH_RISK_MANAGEMENT_DAYS_AFTER_DELIVERY
    )
    # a contact after the first non-green assessment (a later day), up to delivery + 28 days:
    # another risk assessment (动态评估) or a follow-up recorded in the case register
    contacts = [joined[["pregnancy_id", "assessed_date"]].rename(columns={"assessed_date": "day"})]
    follow_ups = [
        (pid, day) for pid, days in cases.follow_ups.items() if pid in frame.index for day in days
    ]
    if follow_ups:
        recorded = pd.DataFrame(follow_ups, columns=["pregnancy_id", "day"])
        recorded["day"] = _days(recorded["day"])
        contacts.append(recorded)
    every = pd.concat(contacts, ignore_index=True)
    every = every.join(first.rename("first"), on="pregnancy_id").join(
        until.rename("until"), on="pregnancy_id"
    )
    managed = every.loc[(every["day"] > every["first"]) & (every["day"] <= every["until"])]
    frame["high_risk_managed"] = frame.index.isin(set(managed["pregnancy_id"]))
    frame["case_opened_in_time"] = frame.index.isin(cases.opened_in_time)
    frame["case_followed_at_interval"] = frame.index.isin(cases.followed_at_interval)


def _lmp_of(session: Session, scope: _Scope) -> pd.Series:
    rows = _frame(
        session,
        select(Pregnancy.id.label("pregnancy_id"), Pregnancy.lmp).where(
            scope.woman(Pregnancy.woman_key)
        ),
    )
    return rows.set_index("pregnancy_id")["lmp"]


def _epds_42d(session: Session, scope: _Scope) -> pd.Series:
    """Per pregnancy: an EPDS score (concept ``epds``) dated 35-56 days after delivery."""
    lab = models.LabResult
    since = day_diff(lab.test_date, Delivery.delivery_date)
    rows = _frame(
        session,
        select(lab.pregnancy_id)
        .join(Delivery, Delivery.pregnancy_id == lab.pregnancy_id)
        .join(Pregnancy, Pregnancy.id == lab.pregnancy_id)
        .where(
            lab.concept == "epds",
            lab.value.is_not(None),
            since >= 35,
            since <= 56,
            scope.woman(Pregnancy.woman_key),
        )
        .distinct(),
    )
    return pd.Series(1, index=pd.Index(rows["pregnancy_id"], dtype=object), dtype=int)


def _births(session: Session, scope: _Scope) -> pd.DataFrame:
    b = models.Birth
    frame = _frame(
        session,
        select(
            b.pregnancy_id,
            b.live,
            b.weight_g,
            Delivery.ga_days,
            b.neonatal_death_age_days,
            Delivery.delivery_date,
            Pregnancy.street,
            Delivery.institution_id.label("delivery_institution"),
            Delivery.facility.label("facility_delivery"),
            (Delivery.mode == "caesarean").label("caesarean"),
        )
        .join(Delivery, Delivery.pregnancy_id == b.pregnancy_id)
        .where(scope.pregnancy(b.pregnancy_id))
        .join(Pregnancy, Pregnancy.id == b.pregnancy_id),
    )
    frame["delivery_date"] = _days(frame["delivery_date"])
    frame["live"] = frame["live"].astype(bool)
    frame["weight_g"] = frame["weight_g"].astype(float)
    for column in ("ga_days", "neonatal_death_age_days"):
        frame[column] = frame[column].astype("Int64")
    for column in ("facility_delivery", "caesarean"):
        frame[column] = frame[column].fillna(False).astype(bool)
    frame["street"] = frame["street"].astype(object).where(frame["street"].notna(), None)
    return frame


def _deaths(session: Session, scope: _Scope) -> pd.DataFrame:
    dt = models.Death
    frame = _frame(
        session,
        select(
            dt.pregnancy_id,
            dt.death_date,
            models.Woman.street,
            dt.institution_id.label("reporting_institution"),
            dt.maternal,
        )
        .join(models.Woman, models.Woman.key == dt.woman_key)
        .where(dt.timing.in_(("pregnancy", "postpartum")), scope.woman(dt.woman_key)),
    )
    frame["death_date"] = _days(frame["death_date"])
    frame["maternal"] = frame["maternal"].astype(bool)
    frame["street"] = frame["street"].astype(object).where(frame["street"].notna(), None)
    return frame


def _congenital_syphilis(session: Session, scope: _Scope) -> pd.DataFrame:
    dx = models.Diagnosis
    newborn = models.PatientRecord.__table__.alias("newborn")
    mother = models.PatientRecord.__table__.alias("mother")
    frame = _frame(
        session,
        select(
            dx.resource_pk.label("case_id"),
            dx.diagnosed_date.label("recorded_date"),
            models.Woman.street,
            dx.institution_id.label("reporting_institution"),
        )
        .join(newborn, newborn.c.ref == dx.subject, isouter=True)
        .join(mother, mother.c.ref == newborn.c.mother_ref, isouter=True)
        .join(models.Woman, models.Woman.key == mother.c.woman_key, isouter=True)
        .where(dx.concept == "congenital_syphilis", scope.woman(mother.c.woman_key))
        .distinct(),
    )
    frame["recorded_date"] = _days(frame["recorded_date"])
    frame["case_id"] = frame["case_id"].astype(str)
    frame["street"] = frame["street"].astype(object).where(frame["street"].notna(), None)
    return frame
