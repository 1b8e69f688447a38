"""The indicator package's reads of the domain: the engine's input tables (the contract is
``fact_tables.py``), built from the domain tables with the fact rules of
docs/indicator-rules.md. Indicators depend on the domain here, never the reverse.

The heavy lifting is SQL aggregation in the database (one row per pregnancy comes back, not one
per visit), so the same queries can run on a distributed PostgreSQL-compatible engine; pandas
only merges the per-pregnancy results.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from mch_service.death_reports.models import (
    ENTERED,
    EXCLUDED,
    FEED,
    PENDING,
    MaternalDeathReport,
)
from mch_service.domain import models
from mch_service.domain.models import Delivery, Pregnancy
from mch_service.domain.sqlfuncs import day_diff
from mch_service.indicators import fact_tables
from mch_service.indicators.ports import CaseFactsReader, CaseManagementFacts, no_case_facts
from mch_service.timeutil import to_utc

ACCIDENTAL_CLASS = "accidental"  # death.cause_class / the card's: not a maternal death
EARLY_DAYS = 91  # before 13+0 weeks
# 产妇数/活产数: a delivery at 28+0 weeks or later; GA unknown: a baby of at least 1000 g.
DELIVERY_MIN_GA_DAYS = 196
DELIVERY_MIN_WEIGHT_G = 1000
INFECTION_TESTS = {"hiv": "hiv_test", "syphilis": "syphilis_test", "hbsag": "hbsag_test"}
INFECTION_DIAGNOSES = {
    "hiv": "hiv_diagnosis",
    "syphilis": "syphilis_diagnosis",
    "hbsag": "hbv_diagnosis",
}
INFECTION_TREATMENTS = {"hiv": "antiretroviral", "syphilis": "syphilis_treatment"}
# Records whose subject is a newborn read for the exposed-infant indicators.
INFANT_CONCEPTS = ("hbig", "hepb_vaccine", "antiretroviral", "syphilis_treatment")
PENICILLIN_ATC = "J01CE"  # ATC penicillins (benzathine benzylpenicillin J01CE08, J01CE01)
# docs/indicator-rules.md, "Infected": the test methods (code table value column) that confirm
CONFIRMATORY, TREPONEMAL, NON_TREPONEMAL = "confirmatory", "treponemal", "non_treponemal"
PENICILLIN = "penicillin"
# maternal screening records, pregnancy start to the delivery admission day (fact column ->
# lab concept)
SCREENINGS = {
    fact_tables.THALASSAEMIA_SCREENED: "thalassaemia_test",
    fact_tables.PRENATAL_SCREENED: "prenatal_screening",
    fact_tables.PRENATAL_DIAGNOSED: "prenatal_diagnosis",
}
SEVERITY = {"green": 0, "yellow": 1, "orange": 2, "red": 3}


def _frame(session: Session, stmt: Any) -> pd.DataFrame:
    result = session.execute(stmt)
    # plain tuples: pandas reads a list of tuples about 3 times faster than a list of
    # SQLAlchemy rows (the same frame; 4.6 s against 1.35 s for 730,000 lab results)
    return pd.DataFrame([tuple(row) for row in result], columns=list(result.keys()))


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
            Pregnancy.residence,
            Pregnancy.excluded,
            Delivery.ga_days.label("_delivery_ga_days"),
            Delivery.institution_id.label("delivery_institution"),
            Delivery.delivery_date,
            Delivery.admission_date.label("delivery_admission_date"),
            Delivery.discharge_date,
            Pregnancy.end_date.label("pregnancy_end_date"),
            Pregnancy.lmp.label("pregnancy_start"),
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
    frame["counted_delivery"] = _counted_delivery(session, scope, frame)
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
    positive = lab.result == "positive"
    # the anaemia and screening window ends on the delivery admission day (inclusive)
    to_admission = lab.test_date <= func.coalesce(Delivery.admission_date, lab.test_date)

    def any_of(condition: Any) -> Any:
        return func.max(case((condition, 1), else_=0))

    labs = _frame(
        session,
        select(
            lab.pregnancy_id,
            lab.concept,
            any_of(in_window).label("tested"),
            any_of(
                and_(
                    in_window,
                    or_(Delivery.admission_date.is_(None), lab.test_date < Delivery.admission_date),
                )
            ).label("tested_in_pregnancy"),
            any_of(and_(in_window, ga < EARLY_DAYS)).label("tested_early"),
            any_of(and_(positive, lab.test_date <= upper)).label("positive"),
            any_of(and_(positive, in_window, lab.method == TREPONEMAL)).label("treponemal"),
            any_of(and_(positive, in_window, lab.method == NON_TREPONEMAL)).label("non_treponemal"),
            any_of(and_(lab.concept == "haemoglobin", lab.value < 110, to_admission)).label(
                "anaemia"
            ),
            any_of(to_admission).label("in_pregnancy_to_admission"),
            any_of(
                and_(to_admission, or_(Pregnancy.lmp.is_(None), lab.test_date >= Pregnancy.lmp))
            ).label("screened"),
        )
        .join(Pregnancy, Pregnancy.id == lab.pregnancy_id)
        .outerjoin(Delivery, Delivery.pregnancy_id == Pregnancy.id)
        .where(scope.woman(Pregnancy.woman_key))
        .group_by(lab.pregnancy_id, lab.concept),
    )

    def per_pregnancy(concept: str, column: str) -> pd.Series:
        part = labs[labs["concept"] == concept].set_index("pregnancy_id")[column]
        return part.reindex(frame.index).fillna(0).astype(bool)

    for infection, concept in INFECTION_TESTS.items():
        for flag in ("tested", "tested_in_pregnancy", "tested_early"):
            frame[f"{infection}_{flag}"] = per_pregnancy(concept, flag)
    hb = labs[labs["concept"] == "haemoglobin"].set_index("pregnancy_id")
    frame["has_hb"] = hb["in_pregnancy_to_admission"].reindex(frame.index).fillna(0).astype(bool)
    frame["anaemia"] = hb["anaemia"].reindex(frame.index).fillna(0).astype(bool)
    thal_test = labs[(labs["concept"] == "thalassaemia_test") & (labs["positive"] == 1)]
    for column, concept in SCREENINGS.items():
        frame[column] = per_pregnancy(concept, "screened")

    # Infected (docs/indicator-rules.md): a diagnosis or a confirmed result, recorded on or
    # before discharge (a known infection from before this pregnancy is still one). HIV: a
    # positive confirmatory test; hepatitis B: a positive HBsAg; syphilis: a treponemal and a
    # non-treponemal test both positive in the pregnancy window. Thalassaemia at any time.
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
    patient = models.PatientRecord
    confirmed = or_(
        and_(lab.concept == "hiv_test", lab.method == CONFIRMATORY),
        lab.concept == "hbsag_test",
    )
    # whose: the woman of the row's pregnancy, else of its subject (a row outside every
    # pregnancy, e.g. before this one)
    lab_woman = func.coalesce(Pregnancy.woman_key, patient.woman_key)
    woman_lab = _frame(
        session,
        select(lab_woman.label("woman_key"), lab.concept, func.min(lab.test_date).label("first"))
        .outerjoin(Pregnancy, Pregnancy.id == lab.pregnancy_id)
        .outerjoin(patient, patient.ref == lab.subject)
        .where(lab_woman.is_not(None), scope.woman(lab_woman))
        .where(lab.result == "positive", confirmed)
        .group_by(lab_woman, lab.concept),
    )
    ends = pd.DataFrame(
        {
            "woman_id": frame["woman_id"],
            "start": _days(frame["pregnancy_start"]),
            "until": _days(frame["discharge_date"].fillna(frame["pregnancy_end_date"])),
        },
        index=frame.index,
    )

    def first_day(table: pd.DataFrame, concept: str) -> pd.Series:
        known = table[table["concept"] == concept].set_index("woman_key")["first"]
        return _days(ends["woman_id"].map(known))

    for infection, concept in INFECTION_DIAGNOSES.items():
        firsts = [first_day(woman_dx, concept)]
        if infection != "syphilis":
            firsts.append(first_day(woman_lab, INFECTION_TESTS[infection]))
        infected = pd.Series(False, index=frame.index)
        known_before = pd.Series(False, index=frame.index)
        for first in firsts:
            infected |= first.notna() & (ends["until"].isna() | (first <= ends["until"]))
            known_before |= first.notna() & ends["start"].notna() & (first < ends["start"])
        if infection == "syphilis":
            infected |= per_pregnancy("syphilis_test", "treponemal") & per_pregnancy(
                "syphilis_test", "non_treponemal"
            )
        frame[f"{infection}_positive"] = infected.to_numpy(dtype=bool)
        # an infection known from before the pregnancy counts as tested, in pregnancy, early
        for flag in ("tested", "tested_in_pregnancy", "tested_early"):
            column = f"{infection}_{flag}"
            frame[column] = frame[column].to_numpy(dtype=bool) | known_before.to_numpy(dtype=bool)
    thal_women = set(woman_dx.loc[woman_dx["concept"] == "thalassaemia_diagnosis", "woman_key"])
    frame["thalassaemia"] = frame["woman_id"].isin(thal_women) | frame.index.isin(
        thal_test["pregnancy_id"]
    )

    # 危重孕产妇 (near-miss): a record of the pregnancy dated from its start to 42 days after
    # the delivery
    near_miss = set(
        session.scalars(
            select(dx.pregnancy_id)
            .join(Pregnancy, Pregnancy.id == dx.pregnancy_id)
            .join(Delivery, Delivery.pregnancy_id == Pregnancy.id)
            .where(
                dx.concept == "severe_maternal_morbidity",
                scope.woman(Pregnancy.woman_key),
                day_diff(dx.diagnosed_date, Delivery.delivery_date) <= 42,
                or_(Pregnancy.lmp.is_(None), dx.diagnosed_date >= Pregnancy.lmp),
            )
            .distinct()
        )
    )
    frame["severe_maternal_morbidity"] = frame.index.isin(near_miss)

    # Treated: a regimen of the infection's drugs whose period overlaps [pregnancy start,
    # discharge]; an open end is continuing. Read per woman: ART started before the LMP is
    # recorded outside the pregnancy's window.
    tr = models.Treatment
    tr_woman = func.coalesce(Pregnancy.woman_key, patient.woman_key)
    treatments = _frame(
        session,
        select(
            tr_woman.label("woman_id"),
            tr.concept,
            func.coalesce(tr.start_date, tr.treated_date).label("start"),
            case((tr.start_date.is_(None), tr.treated_date), else_=tr.end_date).label("end"),
            tr.drug_class,
        )
        .outerjoin(Pregnancy, Pregnancy.id == tr.pregnancy_id)
        .outerjoin(patient, patient.ref == tr.subject)
        .where(tr_woman.is_not(None), scope.woman(tr_woman))
        .where(tr.concept.in_(list(INFECTION_TREATMENTS.values())))
        # the woman's own: a newborn's treatment (subject the child) is not the mother's
        .where(or_(tr.subject.is_(None), tr.subject.not_in(_newborn_refs()))),
    )
    treatments["start"] = _days(treatments["start"])
    treatments["end"] = _days(treatments["end"])
    windows = ends.rename(columns={"start": "pregnancy_start"}).rename_axis("pregnancy_id")
    overlaps = treatments.merge(windows.reset_index(), on="woman_id")
    overlaps = overlaps.loc[
        (overlaps["until"].isna() | (overlaps["start"] <= overlaps["until"]))
        & (
            overlaps["end"].isna()
            | overlaps["pregnancy_start"].isna()
            | (overlaps["end"] >= overlaps["pregnancy_start"])
        )
    ]
    for infection in INFECTION_TESTS:
        treatment = INFECTION_TREATMENTS.get(infection)
        ids = set(overlaps.loc[overlaps["concept"] == treatment, "pregnancy_id"])
        frame[f"{infection}_treated"] = frame.index.isin(ids)
    penicillin = overlaps.loc[
        (overlaps["concept"] == "syphilis_treatment") & (overlaps["drug_class"] == PENICILLIN)
    ]
    frame[fact_tables.SYPHILIS_PENICILLIN_START] = _days(
        penicillin.groupby("pregnancy_id")["start"].min().reindex(frame.index)
    )

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
        "pregnancy_start",
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
    frame["residence"] = _residence(frame["residence"])
    frame["delivery_institution"] = (
        frame["delivery_institution"]
        .astype(object)
        .where(frame["delivery_institution"].notna(), None)
    )
    return frame.drop(columns=["_delivery_ga_days"]).reset_index()


def _residence(series: pd.Series) -> pd.Series:
    # None: assembled before residence was recorded (re-assemble), counted as unknown
    return series.astype(object).where(series.notna(), fact_tables.RESIDENCE_UNKNOWN)


def _counted_delivery(session: Session, scope: _Scope, frame: pd.DataFrame) -> pd.Series:
    """Per pregnancy: a delivery that counts in 产妇数/活产数 (docs/indicator-rules.md,
    "Cohort"): GA at delivery >= 196 days, or, when the GA is unknown, a baby of >= 1000 g.
    With neither a GA nor a weight nothing says the pregnancy ended early: the recorded
    delivery counts."""
    b = models.Birth
    heaviest = _frame(
        session,
        select(b.pregnancy_id, func.max(b.weight_g).label("heaviest"))
        .where(scope.pregnancy(b.pregnancy_id))
        .group_by(b.pregnancy_id),
    ).set_index("pregnancy_id")["heaviest"]
    ga = pd.to_numeric(frame["_delivery_ga_days"], errors="coerce")
    weight = pd.to_numeric(heaviest.reindex(frame.index), errors="coerce")
    delivered = frame["delivery_date"].notna()
    by_ga = ga >= DELIVERY_MIN_GA_DAYS
    by_weight = ga.isna() & (weight.isna() | (weight >= DELIVERY_MIN_WEIGHT_G))
    return (delivered & (by_ga | by_weight)).astype(bool)


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
            "lmp": _days(frame["pregnancy_start"]),
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
            b.seq,
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
    return _with_infant_facts(session, scope, frame)


def _newborn_refs() -> Any:
    """The refs of newborn Patient records (linked to a mother)."""
    pr = models.PatientRecord
    return select(pr.ref).where(pr.mother_ref.is_not(None))


def _instants(series: pd.Series) -> pd.Series:
    """UTC instants (SQLite gives naive values, UTC by convention; PostgreSQL aware ones)."""
    return pd.Series(
        [
            pd.Timestamp(to_utc(v)) if isinstance(v, datetime) and not pd.isna(v) else pd.NaT
            for v in series
        ],
        index=series.index,
        dtype="datetime64[ns, UTC]",
    )


def _with_infant_facts(session: Session, scope: _Scope, frame: pd.DataFrame) -> pd.DataFrame:
    """The exposed-infant facts of each baby (docs/indicator-rules.md, "Infants of infected
    mothers"): hours from birth to the first HBIG and hepatitis B vaccine dose, infant ARV and
    penicillin prophylaxis, read from the records whose subject is the baby's Patient record
    (the birth's ``newborn_ref``).

    Birth instant: the newborn's patient-birthTime, else the delivery Procedure's performed
    instant (the earliest, when it has a time of day). Hours are NaN when no dose has both
    instants known (or none was recorded): such a baby is never counted as timely. A dose
    recorded before the birth instant is impossible and ignored."""
    b, pr, dr, tr = models.Birth, models.PatientRecord, models.DeliveryRecord, models.Treatment
    births = _frame(
        session,
        select(b.pregnancy_id, b.seq, b.newborn_ref, pr.birth_time)
        .outerjoin(pr, pr.ref == b.newborn_ref)
        .where(scope.pregnancy(b.pregnancy_id)),
    )
    procedure_at = _frame(
        session,
        select(dr.pregnancy_id, func.min(dr.event_at).label("procedure_at"))
        .where(dr.kind == "procedure", dr.event_at.is_not(None))
        .where(scope.pregnancy(dr.pregnancy_id))
        .group_by(dr.pregnancy_id),
    ).set_index("pregnancy_id")["procedure_at"]
    given = _frame(
        session,
        select(tr.subject, tr.concept, tr.code, tr.administered_at)
        .join(b, b.newborn_ref == tr.subject)
        .where(tr.concept.in_(INFANT_CONCEPTS), scope.pregnancy(b.pregnancy_id)),
    )
    born = _instants(births["birth_time"])
    born = born.fillna(_instants(births["pregnancy_id"].map(procedure_at)))
    births = births.assign(born=born)
    at = _instants(given["administered_at"])
    given = given.assign(at=at).merge(
        births[["newborn_ref", "born"]].dropna(subset=["newborn_ref"]),
        left_on="subject",
        right_on="newborn_ref",
    )
    given["hours"] = (given["at"] - given["born"]).dt.total_seconds() / 3600.0
    given = given.loc[~(given["hours"] < 0)]
    per_baby = births.set_index(["pregnancy_id", "seq"])
    out = pd.DataFrame(index=per_baby.index)
    refs = per_baby["newborn_ref"]
    for concept, column in (
        ("hbig", fact_tables.HBIG_AFTER_HOURS),
        ("hepb_vaccine", fact_tables.HEPB_VACCINE_AFTER_HOURS),
    ):
        first = given.loc[given["concept"] == concept].groupby("subject")["hours"].min()
        out[column] = refs.map(first).astype(float).to_numpy()
    arv = set(given.loc[given["concept"] == "antiretroviral", "subject"])
    penicillin = given.loc[given["concept"] == "syphilis_treatment", ["subject", "code"]]
    prophylaxis = set(
        penicillin.loc[
            penicillin["code"].fillna("").str.upper().str.startswith(PENICILLIN_ATC), "subject"
        ]
    )
    out[fact_tables.INFANT_ARV] = refs.isin(arv).to_numpy()
    out[fact_tables.INFANT_SYPHILIS_PROPHYLAXIS] = refs.isin(prophylaxis).to_numpy()
    keyed = frame.set_index(["pregnancy_id", "seq"])
    keyed = keyed.join(out)
    for column in (fact_tables.INFANT_ARV, fact_tables.INFANT_SYPHILIS_PROPHYLAXIS):
        keyed[column] = keyed[column].fillna(False).astype(bool)
    for column in (fact_tables.HBIG_AFTER_HOURS, fact_tables.HEPB_VACCINE_AFTER_HOURS):
        keyed[column] = keyed[column].astype(float)
    return keyed.reset_index()


def _deaths(session: Session, scope: _Scope) -> pd.DataFrame:
    """Fed deaths in pregnancy or within 42 days (maternal by their cause rule, unless the
    monitoring group excluded them on review) and, in a full build, the deaths entered from
    report cards (``death_reports``; an incremental build keeps the cached ones)."""
    dt = models.Death
    report = MaternalDeathReport
    fed = _frame(
        session,
        select(
            dt.pregnancy_id,
            dt.woman_key.label("woman_id"),
            dt.death_date,
            models.Woman.street,
            models.Woman.residence,
            dt.institution_id.label("reporting_institution"),
            and_(
                dt.maternal.is_(True),
                func.coalesce(report.review_status, PENDING) != EXCLUDED,
            ).label("maternal"),
        )
        .join(models.Woman, models.Woman.key == dt.woman_key)
        .outerjoin(report, and_(report.kind == FEED, report.woman_key == dt.woman_key))
        .where(dt.timing.in_(("pregnancy", "postpartum")), scope.woman(dt.woman_key)),
    )
    fed["entered"] = False
    frame = fed
    if scope.women is None:
        entered = _frame(
            session,
            select(
                report.id,
                report.woman_key,
                report.death_date,
                report.street,
                report.institution_id.label("reporting_institution"),
                and_(
                    func.coalesce(report.cause_class, "") != ACCIDENTAL_CLASS,
                    report.review_status != EXCLUDED,
                ).label("maternal"),
            ).where(report.kind == ENTERED, report.death_date.is_not(None)),
        )
        if len(entered):
            card_ids = "card-" + entered["id"].astype(str)
            entered = pd.DataFrame(
                {
                    "pregnancy_id": card_ids,
                    "woman_id": entered["woman_key"].where(entered["woman_key"].notna(), card_ids),
                    "death_date": entered["death_date"],
                    "street": entered["street"],
                    # A report card is the district's: the monitoring group files it for a
                    # woman of the district (her street, when known, is one of its streets).
                    "residence": fact_tables.RESIDENT,
                    "reporting_institution": entered["reporting_institution"],
                    "maternal": entered["maternal"],
                    "entered": True,
                }
            )
            frame = pd.concat([fed, entered], ignore_index=True) if len(fed) else entered
    frame["death_date"] = _days(frame["death_date"])
    frame["maternal"] = frame["maternal"].fillna(False).astype(bool)
    frame["entered"] = frame["entered"].astype(bool)
    frame["street"] = frame["street"].astype(object).where(frame["street"].notna(), None)
    frame["residence"] = _residence(frame["residence"])
    return frame


def last_report_change(session: Session) -> datetime | None:
    """When a report card or a review last changed (a full recompute follows)."""
    return session.scalar(select(func.max(MaternalDeathReport.updated_at)))


def _congenital_syphilis(session: Session, scope: _Scope) -> pd.DataFrame:
    """Rule 6: one case per child, at the child's first diagnosis (the earliest diagnosis day;
    its reporting institution), not one per Condition. The child: a newborn Patient record
    linked to its mother, known across institutions by the mother, its birth date and its
    birth order (multipleBirth, 1 when not given); a diagnosis whose subject is no such newborn
    counts once per distinct subject. A diagnosis with no date cannot be placed in a period."""
    dx = models.Diagnosis
    newborn = models.PatientRecord.__table__.alias("newborn")
    mother = models.PatientRecord.__table__.alias("mother")
    frame = _frame(
        session,
        select(
            dx.resource_pk,
            dx.subject,
            dx.diagnosed_date.label("recorded_date"),
            models.Woman.street,
            models.Woman.residence,
            dx.institution_id.label("reporting_institution"),
            mother.c.woman_key,
            newborn.c.birth_date,
            newborn.c.multiple_birth,
        )
        .join(newborn, newborn.c.ref == dx.subject, isouter=True)
        .join(mother, mother.c.ref == newborn.c.mother_ref, isouter=True)
        .join(models.Woman, models.Woman.key == mother.c.woman_key, isouter=True)
        .where(
            dx.concept == "congenital_syphilis",
            dx.diagnosed_date.is_not(None),
            scope.woman(mother.c.woman_key),
        )
        .distinct(),
    )
    child = [
        f"child:{woman}|{born}|{int(order) if pd.notna(order) else 1}"
        if isinstance(woman, str) and born is not None and not pd.isna(born)
        else f"subject:{subject}"
        if isinstance(subject, str)
        else f"resource:{pk}"
        for woman, born, order, subject, pk in zip(
            frame["woman_key"],
            frame["birth_date"],
            frame["multiple_birth"],
            frame["subject"],
            frame["resource_pk"],
            strict=True,
        )
    ]
    frame = frame.assign(child=child, recorded_date=_days(frame["recorded_date"]))
    frame = (
        frame.sort_values(["recorded_date", "resource_pk"], kind="stable")
        .drop_duplicates("child", keep="first")
        .reset_index(drop=True)
    )
    # the case is named by its first diagnosis (an opaque number, for drill-down)
    frame["case_id"] = frame["resource_pk"].astype(str)
    frame["street"] = frame["street"].astype(object).where(frame["street"].notna(), None)
    frame["residence"] = _residence(frame["residence"])
    frame["pregnancy_id"] = _mothers_pregnancies(session, frame)
    columns = ["case_id", "recorded_date", "street", "residence", "reporting_institution"]
    return frame[[*columns, "pregnancy_id"]]


def _mothers_pregnancies(session: Session, frame: pd.DataFrame) -> list[str | None]:
    """For drill-down only (the engine ignores it): the mother's pregnancy of each case, the
    one ending on the child's birth day, else her last one ending on or before the diagnosis
    day; None when the child is not linked to its mother."""
    women = sorted({w for w in frame["woman_key"] if isinstance(w, str)})
    if not women:
        return [None] * len(frame)
    pg = models.Pregnancy
    ends: dict[str, list[tuple[date, str]]] = {}
    for start in range(0, len(women), 500):
        rows = session.execute(
            select(pg.woman_key, pg.end_date, pg.id).where(
                pg.woman_key.in_(women[start : start + 500]), pg.end_date.is_not(None)
            )
        )
        for woman, end, pid in rows:
            if end is not None:
                ends.setdefault(woman, []).append((end, pid))
    out: list[str | None] = []
    for woman, born, diagnosed in zip(
        frame["woman_key"], frame["birth_date"], frame["recorded_date"], strict=True
    ):
        mine = sorted(ends.get(woman, [])) if isinstance(woman, str) else []
        born_day = pd.Timestamp(born).date() if born is not None and not pd.isna(born) else None
        exact = [pid for end, pid in mine if born_day is not None and end == born_day]
        day = pd.Timestamp(diagnosed).date() if not pd.isna(diagnosed) else None
        before = [pid for end, pid in mine if day is not None and end <= day]
        out.append(exact[0] if exact else before[-1] if before else None)
    return out
