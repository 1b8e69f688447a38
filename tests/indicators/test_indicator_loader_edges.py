"""Both sides of every day window in the fact builder (mch_service/indicators/loaders.py, the fact
rules of docs/indicator-rules.md), on both databases. Each row is one pregnancy written straight
into the domain tables, with the clinical reason; every expected day count is worked out by hand
in the comments.

The common pregnancy: LMP 2024-11-01, admitted and delivered 2025-08-06, discharged 2025-08-09.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import pytest
from sqlalchemy.orm import Session

from mch_service.app import Services
from mch_service.death_reports.models import MaternalDeathReport
from mch_service.domain import models
from mch_service.indicators import fact_tables
from mch_service.indicators.loaders import build_frames, last_change, women_changed_since
from mch_service.indicators.ports import CaseManagementFacts
from mch_service.timeutil import to_utc

D = date
LMP = D(2024, 11, 1)
DELIVERED = D(2025, 8, 6)
DISCHARGED = D(2025, 8, 9)
_pk = itertools.count(1000)

Fill = Callable[[Session, str], None]


def _fact(model: type[Any], pid: str, **values: Any) -> Any:
    return model(
        resource_pk=next(_pk),
        version_id=1,
        institution_id="hosp-a",
        subject=f"Patient/{pid}",
        pregnancy_id=pid,
        **values,
    )


def _build(
    services: Services,
    rows: list[tuple[str, Fill]],
    delivered: bool = True,
    admitted: date = DELIVERED,
    ended: date | None = None,
) -> pd.DataFrame:
    """``delivered=False``: no delivery; the pregnancy ended on ``ended`` (a loss), or not yet."""
    with services.db.transaction() as session:
        for pid, fill in rows:
            session.add(
                models.Pregnancy(
                    id=pid,
                    woman_key=f"w-{pid}",
                    lmp=LMP,
                    first_contact_date=D(2025, 1, 10),
                    end_date=DELIVERED if delivered else ended,
                    street="330102001",
                    institutions="hosp-a",
                )
            )
            if delivered:
                session.add(
                    models.Delivery(
                        pregnancy_id=pid,
                        delivery_date=DELIVERED,
                        admission_date=admitted,
                        discharge_date=DISCHARGED,
                        institution_id="hosp-a",
                    )
                )
            fill(session, pid)
    with services.db.reading() as session:
        frames = build_frames(session, ("orange", "red", "purple"))
    fact_tables.check_frames(frames)
    return frames.pregnancies.set_index("pregnancy_id")


def postpartum(day: date) -> Fill:
    def fill(session: Session, pid: str) -> None:
        session.add(_fact(models.PostpartumVisit, pid, visit_date=day, kind="visit"))

    return fill


def lab(
    concept: str,
    day: date,
    result: str | None = None,
    value: float | None = None,
    method: str | None = None,
    pregnancy: bool = True,
) -> Fill:
    """``pregnancy=False``: a row outside every pregnancy (pregnancy_id NULL), hers through its
    subject's Patient record."""

    def fill(session: Session, pid: str) -> None:
        row = _fact(
            models.LabResult,
            pid,
            concept=concept,
            test_date=day,
            result=result,
            value=value,
            source="observation",
            method=method,
        )
        if not pregnancy:
            row.pregnancy_id = None
            _patient(session, pid)
        session.add(row)

    return fill


def _patient(session: Session, pid: str) -> None:
    """The woman's Patient record (what links a row outside every pregnancy to her)."""
    ref = f"Patient/{pid}"
    if session.query(models.PatientRecord).filter_by(ref=ref).count() == 0:
        session.add(
            models.PatientRecord(
                resource_pk=next(_pk),
                version_id=1,
                institution_id="hosp-a",
                ref=ref,
                woman_key=f"w-{pid}",
                received_at=datetime(2025, 1, 1, tzinfo=UTC),
            )
        )
        session.flush()


def treatment(
    concept: str,
    day: date,
    start: date | None = None,
    end: date | str | None = "same",
    drug_class: str | None = None,
    pregnancy: bool = True,
) -> Fill:
    """A one-day treatment on ``day``; with ``start`` a regimen from ``start`` to ``end``
    (None: open, continuing)."""

    def fill(session: Session, pid: str) -> None:
        row = _fact(
            models.Treatment,
            pid,
            concept=concept,
            treated_date=day,
            start_date=start,
            end_date=None if start is None else (start if end == "same" else end),
            drug_class=drug_class,
        )
        if not pregnancy:
            row.pregnancy_id = None
            _patient(session, pid)
        session.add(row)

    return fill


def visit(day: date) -> Fill:
    def fill(session: Session, pid: str) -> None:
        session.add(_fact(models.PrenatalVisit, pid, visit_date=day))

    return fill


def grading(day: date, colour: str | None, purple: bool = False) -> Fill:
    def fill(session: Session, pid: str) -> None:
        session.add(
            _fact(models.RiskAssessmentFact, pid, assessed_date=day, colour=colour, purple=purple)
        )

    return fill


def both(*fills: Fill) -> Fill:
    def fill(session: Session, pid: str) -> None:
        for f in fills:
            f(session, pid)

    return fill


def nothing(session: Session, pid: str) -> None:
    return None


def _check(services: Services, table: list[tuple[str, Fill, dict[str, Any]]], **build: Any) -> None:
    frame = _build(services, [(pid, fill) for pid, fill, _ in table], **build)
    got = {
        pid: {column: _plain(frame.loc[pid, column]) for column in expected}
        for pid, _, expected in table
    }
    assert got == {pid: expected for pid, _, expected in table}


def _plain(value: Any) -> Any:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if hasattr(value, "item"):
        return value.item()
    return value


def test_postpartum_visit_within_28_days_of_discharge_and_the_42_day_check(
    services: Services,
) -> None:
    pp28, pp42 = fact_tables.POSTPARTUM_VISIT_28D, fact_tables.POSTPARTUM_42D_CHECK
    _check(
        services,
        [
            # discharged 9 August: day -1 (8 August) is still in hospital, not a home visit
            ("pp-day-minus-1", postpartum(D(2025, 8, 8)), {pp28: False, pp42: False}),
            # day 0: a visit on the discharge day counts
            ("pp-day-0", postpartum(D(2025, 8, 9)), {pp28: True, pp42: False}),
            # day 28 = 6 September: the last day of the 28-day window
            ("pp-day-28", postpartum(D(2025, 9, 6)), {pp28: True, pp42: False}),
            # day 29 = 7 September: too late for the first postpartum visit
            ("pp-day-29", postpartum(D(2025, 9, 7)), {pp28: False, pp42: False}),
            # the 42-day check counts 35-56 days after delivery (6 August):
            # day 34 = 9 September is too early
            ("check-day-34", postpartum(D(2025, 9, 9)), {pp28: False, pp42: False}),
            ("check-day-35", postpartum(D(2025, 9, 10)), {pp28: False, pp42: True}),
            # day 56 = 1 October (6 Aug + 25 = 31 Aug, + 30 = 30 Sep, + 1)
            ("check-day-56", postpartum(D(2025, 10, 1)), {pp28: False, pp42: True}),
            ("check-day-57", postpartum(D(2025, 10, 2)), {pp28: False, pp42: False}),
            ("no-visit", nothing, {pp28: False, pp42: False}),
        ],
    )


def test_prenatal_check_days_before_admission(services: Services) -> None:
    checks = fact_tables.PRENATAL_CHECK_DAYS
    _check(
        services,
        [
            # a check on the day before admission counts; on the admission day it is the
            # delivery stay, not a prenatal check
            ("check-eve", visit(D(2025, 8, 5)), {checks: 1}),
            ("check-admission-day", visit(D(2025, 8, 6)), {checks: 0}),
            # two records of one day are one check day
            ("two-same-day", both(visit(D(2025, 3, 1)), visit(D(2025, 3, 1))), {checks: 1}),
            ("two-days", both(visit(D(2025, 3, 1)), visit(D(2025, 3, 2))), {checks: 2}),
            ("no-check", nothing, {checks: 0}),
        ],
    )


def test_infection_test_windows(services: Services) -> None:
    def flags(tested: bool, in_preg: bool, early: bool) -> dict[str, Any]:
        return {"hiv_tested": tested, "hiv_tested_in_pregnancy": in_preg, "hiv_tested_early": early}

    _check(
        services,
        [
            # before the LMP (31 October) belongs to an earlier time: not tested
            (
                "hiv-lmp-minus-1",
                lab("hiv_test", D(2024, 10, 31), "negative"),
                flags(False, False, False),
            ),
            # on the LMP day: GA 0, early
            ("hiv-lmp-day", lab("hiv_test", LMP, "negative"), flags(True, True, True)),
            # early testing is before 13+0 weeks, GA < 91 days: LMP 1 Nov + 90 = 30 January
            # (Nov 1 + 29 = Nov 30, + 31 = Dec 31, + 30 = Jan 30)
            ("hiv-ga-90", lab("hiv_test", D(2025, 1, 30), "negative"), flags(True, True, True)),
            ("hiv-ga-91", lab("hiv_test", D(2025, 1, 31), "negative"), flags(True, True, False)),
            # the day before admission is still in pregnancy; the admission day is the delivery
            ("hiv-eve", lab("hiv_test", D(2025, 8, 5), "negative"), flags(True, True, False)),
            ("hiv-admission", lab("hiv_test", DELIVERED, "negative"), flags(True, False, False)),
            # up to the discharge day a test is hers for this pregnancy, not after
            ("hiv-discharge", lab("hiv_test", DISCHARGED, "negative"), flags(True, False, False)),
            ("hiv-after", lab("hiv_test", D(2025, 8, 10), "negative"), flags(False, False, False)),
            # another infection's test is not an HIV test
            ("syphilis-only", lab("syphilis_test", LMP, "negative"), flags(False, False, False)),
        ],
    )


def test_a_pregnancy_lost_before_delivery_ends_its_test_window_on_the_loss_day(
    services: Services,
) -> None:
    # A miscarriage on 20 January 2025 (GA 80: LMP 1 Nov + 30 = 1 Dec, + 31 = 1 Jan, + 19),
    # no delivery record: the pregnancy's window ends on the day it ended; a test the next day
    # belongs to the time after it (the next pregnancy's booking, say), not to this one.
    def flags(tested: bool, in_preg: bool, early: bool) -> dict[str, Any]:
        return {"hiv_tested": tested, "hiv_tested_in_pregnancy": in_preg, "hiv_tested_early": early}

    loss = D(2025, 1, 20)
    _check(
        services,
        [
            ("loss-day", lab("hiv_test", loss, "negative"), flags(True, True, True)),
            (
                "loss-next-day",
                lab("hiv_test", D(2025, 1, 21), "negative"),
                flags(False, False, False),
            ),
        ],
        delivered=False,
        ended=loss,
    )


def test_positive_and_treated_windows(services: Services) -> None:
    def flags(positive: bool, treated: bool) -> dict[str, Any]:
        return {"hiv_positive": positive, "hiv_treated": treated}

    def confirmed(day: date, **kw: Any) -> Fill:
        return lab("hiv_test", day, "positive", method="confirmatory", **kw)

    pos = confirmed(D(2025, 3, 1))
    art = "antiretroviral"
    _check(
        services,
        [
            # a confirmed infection from before this pregnancy is still an infected woman
            ("pos-before-lmp", confirmed(D(2024, 10, 1), pregnancy=False), flags(True, False)),
            ("pos-discharge", confirmed(DISCHARGED), flags(True, False)),
            ("pos-after", confirmed(D(2025, 8, 10)), flags(False, False)),
            ("negative", lab("hiv_test", D(2025, 3, 1), "negative"), flags(False, False)),
            # rule 3: a reactive screening test alone is not an infection
            ("screen-only", lab("hiv_test", D(2025, 3, 1), "positive"), flags(False, False)),
            (
                "screen-confirmed-negative",
                both(
                    lab("hiv_test", D(2025, 3, 1), "positive"),
                    lab("hiv_test", D(2025, 3, 8), "negative", method="confirmatory"),
                ),
                flags(False, False),
            ),
            # a one-day treatment the day before the LMP is not treatment in this pregnancy
            ("tr-lmp-minus-1", both(pos, treatment(art, D(2024, 10, 31))), flags(True, False)),
            ("tr-lmp-day", both(pos, treatment(art, LMP)), flags(True, True)),
            ("tr-discharge", both(pos, treatment(art, DISCHARGED)), flags(True, True)),
            ("tr-after", both(pos, treatment(art, D(2025, 8, 10))), flags(True, False)),
            (
                "tr-other",
                both(pos, treatment("syphilis_treatment", D(2025, 3, 2))),
                flags(True, False),
            ),
            # rule 4: a regimen overlapping the pregnancy counts. ART started 2023-05-01 (before
            # the LMP), no end: continuing, treated
            (
                "art-before-lmp-open",
                both(
                    pos,
                    treatment(art, D(2023, 5, 1), start=D(2023, 5, 1), end=None, pregnancy=False),
                ),
                flags(True, True),
            ),
            # ... ending on the LMP day overlaps by one day; ending the day before does not
            (
                "art-ends-lmp-day",
                both(
                    pos,
                    treatment(art, D(2023, 5, 1), start=D(2023, 5, 1), end=LMP, pregnancy=False),
                ),
                flags(True, True),
            ),
            (
                "art-ends-lmp-minus-1",
                both(
                    pos,
                    treatment(
                        art,
                        D(2023, 5, 1),
                        start=D(2023, 5, 1),
                        end=D(2024, 10, 31),
                        pregnancy=False,
                    ),
                ),
                flags(True, False),
            ),
            # a regimen starting the day after discharge does not
            (
                "art-starts-after-discharge",
                both(pos, treatment(art, D(2025, 8, 10), start=D(2025, 8, 10), end=None)),
                flags(True, False),
            ),
        ],
    )


def test_syphilis_needs_a_treponemal_and_a_non_treponemal_test(services: Services) -> None:
    def flags(positive: bool, tested: bool) -> dict[str, Any]:
        return {"syphilis_positive": positive, "syphilis_tested": tested}

    def test(method: str | None, result: str, day: date | None = None) -> Fill:
        return lab("syphilis_test", day or D(2025, 3, 1), result, method=method)

    _check(
        services,
        [
            (
                "both",
                both(test("treponemal", "positive"), test("non_treponemal", "positive")),
                flags(True, True),
            ),
            # treponemal only: a past, treated infection; tested, not infected
            (
                "tp-only",
                both(test("treponemal", "positive"), test("non_treponemal", "negative")),
                flags(False, True),
            ),
            ("rpr-only", test("non_treponemal", "positive"), flags(False, True)),
            # a negative treponemal test does not pair with a positive RPR: only a positive
            # treponemal result is the treponemal half of the pair
            (
                "tp-negative-rpr-positive",
                both(test("treponemal", "negative"), test("non_treponemal", "positive")),
                flags(False, True),
            ),
            ("method-unknown", test(None, "positive"), flags(False, True)),
            # the pair must be in the pregnancy window: a treponemal result the day before the
            # LMP (another pregnancy's) does not pair with this one's RPR
            (
                "tp-before-lmp",
                both(
                    test("treponemal", "positive", D(2024, 10, 31)),
                    test("non_treponemal", "positive"),
                ),
                flags(False, True),
            ),
        ],
    )


def test_an_infection_known_before_the_pregnancy_counts_as_tested(services: Services) -> None:
    def flags(tested: bool, in_preg: bool, early: bool, positive: bool) -> dict[str, Any]:
        return {
            "hiv_tested": tested,
            "hiv_tested_in_pregnancy": in_preg,
            "hiv_tested_early": early,
            "hiv_positive": positive,
        }

    _check(
        services,
        [
            # HIV confirmed 2024-06-01, before the LMP (2024-11-01): tested, in pregnancy, early
            (
                "known-confirmed",
                lab("hiv_test", D(2024, 6, 1), "positive", method="confirmatory", pregnancy=False),
                flags(True, True, True, True),
            ),
            # a reactive screen before the LMP is not a known infection
            (
                "known-screen-only",
                lab("hiv_test", D(2024, 6, 1), "positive", pregnancy=False),
                flags(False, False, False, False),
            ),
            # confirmed on the LMP day: in this pregnancy, the ordinary rules (GA 0: early)
            (
                "confirmed-lmp-day",
                lab("hiv_test", LMP, "positive", method="confirmatory"),
                flags(True, True, True, True),
            ),
            # confirmed after the admission: tested at delivery only
            (
                "confirmed-admission",
                lab("hiv_test", DELIVERED, "positive", method="confirmatory"),
                flags(True, False, False, True),
            ),
        ],
    )


def test_haemoglobin_and_anaemia(services: Services) -> None:
    def flags(has_hb: bool, anaemia: bool) -> dict[str, Any]:
        return {fact_tables.HAS_HB: has_hb, fact_tables.ANAEMIA: anaemia}

    _check(
        services,
        [
            # anaemia in pregnancy is Hb < 110 g/L
            ("hb-110", lab("haemoglobin", D(2025, 3, 1), value=110.0), flags(True, False)),
            ("hb-109", lab("haemoglobin", D(2025, 3, 1), value=109.0), flags(True, True)),
            # rule 8: a measurement on the delivery admission day (here also the delivery day)
            # counts, one after it is not pregnancy anaemia (after a haemorrhage, say)
            ("hb-delivery", lab("haemoglobin", DELIVERED, value=100.0), flags(True, True)),
            ("hb-after", lab("haemoglobin", D(2025, 8, 7), value=100.0), flags(False, False)),
            ("no-hb", nothing, flags(False, False)),
        ],
    )


def test_thalassaemia_by_a_diagnosis_at_any_time_or_a_positive_test(services: Services) -> None:
    # docs/indicator-rules.md, "Thalassaemia": a D56.x Condition at any time (a carrier stays
    # one: here diagnosed years before this pregnancy), or a positive thalassaemia_test (a
    # carrier); a negative screening test is not thalassaemia.
    def diagnosed(day: date) -> Fill:
        def fill(session: Session, pid: str) -> None:
            _patient(session, pid)
            row = _fact(
                models.Diagnosis,
                pid,
                concept="thalassaemia_diagnosis",
                code="D56.1",
                diagnosed_date=day,
            )
            row.pregnancy_id = None
            session.add(row)

        return fill

    thal = fact_tables.THALASSAEMIA
    _check(
        services,
        [
            ("thal-diagnosed-before", diagnosed(D(2019, 6, 1)), {thal: True}),
            (
                "thal-test-positive",
                lab("thalassaemia_test", D(2025, 3, 1), "positive"),
                {thal: True},
            ),
            (
                "thal-test-negative",
                lab("thalassaemia_test", D(2025, 3, 1), "negative"),
                {thal: False},
            ),
            ("thal-nothing", nothing, {thal: False}),
        ],
    )


def test_anaemia_and_screening_end_on_the_admission_day(services: Services) -> None:
    def flags(has_hb: bool, anaemia: bool, screened: bool) -> dict[str, bool]:
        return {
            fact_tables.HAS_HB: has_hb,
            fact_tables.ANAEMIA: anaemia,
            fact_tables.THALASSAEMIA_SCREENED: screened,
        }

    # admitted 5 August, delivered 6 August: the window ends on the admission day (rule 8)
    admitted = D(2025, 8, 5)
    table = [
        ("hb-admission-day", lab("haemoglobin", admitted, value=100.0), flags(True, True, False)),
        # on the delivery day, after the admission day: a haemorrhage's Hb, not pregnancy's
        ("hb-delivery-day", lab("haemoglobin", DELIVERED, value=90.0), flags(False, False, False)),
        (
            "thal-admission-day",
            lab("thalassaemia_test", admitted, "negative"),
            flags(False, False, True),
        ),
        (
            "thal-delivery-day",
            lab("thalassaemia_test", DELIVERED, "negative"),
            flags(False, False, False),
        ),
    ]
    frame = _build(services, [(pid, fill) for pid, fill, _ in table], admitted=admitted)
    got = {pid: {c: bool(frame.loc[pid, c]) for c in expected} for pid, _, expected in table}
    assert got == {pid: expected for pid, _, expected in table}


def test_risk_gradings_and_case_managed_contact(services: Services) -> None:
    def flags(
        colour: str | None, purple: bool, first: date | None, contact: bool
    ) -> dict[str, Any]:
        return {
            fact_tables.HIGHEST_COLOUR: colour,
            fact_tables.PURPLE: purple,
            fact_tables.FIRST_CASE_MANAGED_DATE: first,
            fact_tables.CASE_MANAGED_CONTACT: contact,
        }

    red = grading(D(2025, 3, 1), "red")
    _check(
        services,
        [
            # gradings count from the LMP day to the delivery day
            ("red-lmp-minus-1", grading(D(2024, 10, 31), "red"), flags(None, False, None, False)),
            ("red-lmp-day", grading(LMP, "red"), flags("red", False, LMP, False)),
            ("red-delivery", grading(DELIVERED, "red"), flags("red", False, DELIVERED, False)),
            ("red-after", grading(D(2025, 8, 7), "red"), flags(None, False, None, False)),
            # the highest colour wins; yellow and green are not case-managed
            (
                "yellow-then-orange",
                both(grading(D(2025, 2, 1), "yellow"), grading(D(2025, 3, 1), "orange")),
                flags("orange", False, D(2025, 3, 1), False),
            ),
            ("green", grading(D(2025, 3, 1), "green"), flags("green", False, None, False)),
            (
                "purple",
                grading(D(2025, 3, 1), None, purple=True),
                flags(None, True, D(2025, 3, 1), False),
            ),
            # contact is a visit after the first case-managed grading: not on its day
            (
                "visit-same-day",
                both(red, visit(D(2025, 3, 1))),
                flags("red", False, D(2025, 3, 1), False),
            ),
            (
                "visit-next-day",
                both(red, visit(D(2025, 3, 2))),
                flags("red", False, D(2025, 3, 1), True),
            ),
            # ... and up to the delivery day
            (
                "visit-delivery",
                both(red, visit(DELIVERED)),
                flags("red", False, D(2025, 3, 1), True),
            ),
            (
                "visit-after",
                both(red, visit(D(2025, 8, 7))),
                flags("red", False, D(2025, 3, 1), False),
            ),
            (
                "visit-before",
                both(red, visit(D(2025, 2, 28))),
                flags("red", False, D(2025, 3, 1), False),
            ),
        ],
    )


def test_first_contact_gestational_age(services: Services) -> None:
    # first contact 10 January, LMP 1 November: 30 + 31 + 9 = 70 days
    def no_lmp(session: Session, pid: str) -> None:
        session.flush()
        preg = session.get(models.Pregnancy, pid)
        assert preg is not None
        preg.lmp = None

    frame = _build(services, [("ga", nothing), ("no-lmp", no_lmp)])
    assert frame.loc["ga", fact_tables.FIRST_CONTACT_GA_DAYS] == 70
    # an unknown GA stays unknown (an integer column with NA, never 0 or NaN-as-float)
    assert str(frame[fact_tables.FIRST_CONTACT_GA_DAYS].dtype) == "Int64"
    assert frame.loc["no-lmp", fact_tables.FIRST_CONTACT_GA_DAYS] is pd.NA


def test_congenital_syphilis_without_a_linked_mother_still_counts(services: Services) -> None:
    # a newborn's diagnosis whose mother the service cannot find is still a case (no street)
    with services.db.transaction() as session:
        session.add(
            models.Diagnosis(
                resource_pk=next(_pk),
                version_id=1,
                institution_id="hosp-a",
                subject="Patient/unknown-newborn",
                concept="congenital_syphilis",
                code="A50.9",
                diagnosed_date=D(2025, 8, 20),
            )
        )
    with services.db.reading() as session:
        frames = build_frames(session, ("orange", "red", "purple"))
    cases = frames.congenital_syphilis
    assert len(cases) == 1
    row = cases.iloc[0]
    assert row["recorded_date"] == pd.Timestamp("2025-08-20")
    assert row["street"] is None
    assert row["reporting_institution"] == "hosp-a"


def test_windows_without_a_delivery_are_open_ended(services: Services) -> None:
    # no delivery and no end yet: any test or treatment from the LMP on is in this pregnancy
    frame = _build(
        services,
        [
            (
                "ongoing",
                both(
                    lab("hiv_test", D(2025, 9, 1), "positive", method="confirmatory"),
                    treatment("antiretroviral", D(2025, 9, 2)),
                    lab("haemoglobin", D(2025, 9, 3), value=100.0),
                ),
            )
        ],
        delivered=False,
    )
    row = frame.loc["ongoing"]
    assert (bool(row["hiv_tested"]), bool(row["hiv_positive"]), bool(row["hiv_treated"])) == (
        True,
        True,
        True,
    )
    assert (bool(row[fact_tables.HAS_HB]), bool(row[fact_tables.ANAEMIA])) == (True, True)


def test_high_risk_managed_by_reassessment_not_by_a_visit(services: Services) -> None:
    # Rule 7 (a): after the first non-green grading (a later day) up to delivery + 28 days
    # (6 August + 28 = 3 September): another grading counts, a prenatal visit does not.
    yellow = grading(D(2025, 3, 1), "yellow")
    managed = fact_tables.HIGH_RISK_MANAGED
    _check(
        services,
        [
            ("visit-only", both(yellow, visit(D(2025, 4, 1))), {managed: False}),
            ("regraded-same-day", both(yellow, grading(D(2025, 3, 1), "orange")), {managed: False}),
            ("regraded-next-day", both(yellow, grading(D(2025, 3, 2), "green")), {managed: True}),
            ("regraded-day-28", both(yellow, grading(D(2025, 9, 3), "green")), {managed: True}),
            ("regraded-day-29", both(yellow, grading(D(2025, 9, 4), "green")), {managed: False}),
            # green first, then yellow: the yellow day is the first non-green one
            (
                "green-then-yellow",
                both(grading(D(2025, 2, 1), "green"), yellow),
                {managed: False},
            ),
            # purple alone is non-green
            (
                "purple-regraded",
                both(grading(D(2025, 3, 1), None, purple=True), grading(D(2025, 5, 1), "green")),
                {managed: True},
            ),
            # a non-green grading after the delivery day does not open the window
            (
                "yellow-after-delivery",
                both(grading(D(2025, 8, 7), "yellow"), grading(D(2025, 8, 20), "yellow")),
                {managed: False},
            ),
            (
                "green-only",
                both(grading(D(2025, 3, 1), "green"), grading(D(2025, 4, 1), "green")),
                {managed: False},
            ),
        ],
    )


def test_epds_in_the_42_day_window(services: Services) -> None:
    # delivered 6 August: day 35 = 10 September, day 56 = 1 October
    epds = fact_tables.EPDS_42D
    _check(
        services,
        [
            ("epds-day-34", lab("epds", D(2025, 9, 9), value=8.0), {epds: False}),
            ("epds-day-35", lab("epds", D(2025, 9, 10), value=8.0), {epds: True}),
            ("epds-day-56", lab("epds", D(2025, 10, 1), value=0.0), {epds: True}),
            ("epds-day-57", lab("epds", D(2025, 10, 2), value=8.0), {epds: False}),
            ("epds-no-score", lab("epds", D(2025, 9, 20)), {epds: False}),
            ("hb-not-epds", lab("haemoglobin", D(2025, 9, 20), value=120.0), {epds: False}),
        ],
    )


def test_the_watermark_is_the_last_reassembly_and_only_later_women_are_changed(
    services: Services,
) -> None:
    # The indicator job's increments: it remembers the latest re-assembly instant it has seen
    # (last_change) and next time rebuilds only the women re-assembled strictly after it.
    with services.db.reading() as session:
        assert last_change(session) is None  # no woman yet: nothing to remember
    monday = datetime(2025, 5, 5, 8, 0, tzinfo=UTC)
    tuesday = datetime(2025, 5, 6, 8, 0, tzinfo=UTC)
    with services.db.transaction() as session:
        session.add(models.Woman(key="w-monday", changed_at=monday))
        session.add(models.Woman(key="w-tuesday", changed_at=tuesday))
        session.add(models.Woman(key="w-never", changed_at=None))  # before the job existed
    with services.db.reading() as session:
        latest = last_change(session)
        assert latest is not None
        assert to_utc(latest) == tuesday
        # no watermark (the first run): every woman, even one never re-assembled
        assert sorted(women_changed_since(session, None)) == ["w-monday", "w-never", "w-tuesday"]
        # after Monday's run: Tuesday's woman only (Monday's was in that run)
        assert women_changed_since(session, monday) == ["w-tuesday"]
        assert women_changed_since(session, tuesday) == []


def _her_facts(session: Session, pid: str) -> None:
    """One woman's pregnancy with a fact of every kind the builder reads per pregnancy or per
    woman: a prenatal check, a postpartum visit, an HIV test, a red grading and a visit after
    it, a near-miss record, a baby (3,100 g, with its Patient record) diagnosed with congenital
    syphilis, and a death 20 days after the delivery."""
    woman = f"w-{pid}"
    session.add(models.Woman(key=woman, street="330102001", residence="resident"))
    for fill in (
        visit(D(2025, 3, 1)),
        visit(D(2025, 3, 10)),
        postpartum(D(2025, 8, 19)),
        lab("hiv_test", D(2025, 1, 15), "negative"),
        lab("epds", D(2025, 9, 20), value=6.0),
        grading(D(2025, 3, 1), "red"),
    ):
        fill(session, pid)
    session.add(
        _fact(
            models.Diagnosis,
            pid,
            concept="severe_maternal_morbidity",
            code="near-miss",
            diagnosed_date=D(2025, 8, 7),
        )
    )
    _patient(session, pid)
    child = f"Patient/{pid}-baby"
    session.add(
        models.PatientRecord(
            resource_pk=next(_pk),
            version_id=1,
            institution_id="hosp-a",
            ref=child,
            mother_ref=f"Patient/{pid}",
            birth_date=DELIVERED,
            received_at=datetime(2025, 8, 6, tzinfo=UTC),
        )
    )
    session.add(
        models.Birth(pregnancy_id=pid, seq=1, live=True, weight_g=3100.0, newborn_ref=child)
    )
    session.flush()
    delivery = session.get(models.Delivery, pid)
    assert delivery is not None
    delivery.live_births = 1
    diagnosis = _fact(
        models.Diagnosis,
        pid,
        concept="congenital_syphilis",
        code="A50.9",
        diagnosed_date=D(2025, 8, 20),
    )
    diagnosis.subject, diagnosis.pregnancy_id = child, None  # the child's, in no pregnancy
    session.add(diagnosis)
    session.add(
        models.Death(
            woman_key=woman,
            death_date=D(2025, 8, 26),
            pregnancy_id=pid,
            institution_id="hosp-a",
            maternal=True,
            timing="postpartum",
        )
    )


def test_an_incremental_build_of_one_woman_equals_her_rows_of_the_full_build(
    services: Services,
) -> None:
    # The indicator job rebuilds only the women re-assembled since its last run and splices
    # their rows into the cached full build: her rows must be what a full build gives her, and
    # no other woman's. Two women with the same facts; the increment is woman "inc-a"'s.
    _build(services, [("inc-a", _her_facts), ("inc-b", _her_facts)])
    with services.db.reading() as session:
        full = build_frames(session, ("orange", "red", "purple"))
        part = build_frames(session, ("orange", "red", "purple"), women=["w-inc-a"])
    fact_tables.check_frames(part)
    mine = part.pregnancies.set_index("pregnancy_id")
    # her facts, worked by hand: checks on 1 and 10 March (before admission on 6 August);
    # a home visit 10 days after discharge (9 August); HIV test at GA 75 (1 Nov + 75 =
    # 15 Jan); red from 1 March with a visit 9 days later; EPDS 45 days after delivery; the
    # near-miss record the day after delivery
    assert list(mine.index) == ["inc-a"]
    row = mine.loc["inc-a"]
    assert (row["prenatal_check_days"], bool(row["postpartum_visit_28d"])) == (2, True)
    assert (bool(row["hiv_tested"]), bool(row["hiv_tested_early"])) == (True, True)
    assert (row["highest_colour"], bool(row["case_managed_contact"])) == ("red", True)
    assert bool(row["counted_delivery"])
    assert bool(row[fact_tables.EPDS_42D])
    assert bool(row["severe_maternal_morbidity"])
    assert part.births["pregnancy_id"].tolist() == ["inc-a"]
    assert part.births[fact_tables.WEIGHT_G].tolist() == [3100.0]
    assert part.maternal_deaths["woman_id"].tolist() == ["w-inc-a"]
    assert part.congenital_syphilis["pregnancy_id"].tolist() == ["inc-a"]
    # ... and every column of every table is her rows of the full build
    for table, key in (
        ("pregnancies", "pregnancy_id"),
        ("births", "pregnancy_id"),
        ("maternal_deaths", "pregnancy_id"),
        ("congenital_syphilis", "pregnancy_id"),
    ):
        whole = getattr(full, table)
        hers = whole.loc[whole[key] == "inc-a"].reset_index(drop=True)
        assert len(whole) == 2, table
        pd.testing.assert_frame_equal(getattr(part, table).reset_index(drop=True), hers)


def _card(
    session: Session,
    kind: str,
    woman: str | None,
    died: date | None,
    status: str = "pending",
    cause_class: str | None = None,
    street: str | None = "330102002",
) -> int:
    """A maternal death report (the monitoring group's card, or the review row of a fed
    death); returns its id."""
    now = datetime(2025, 9, 1, tzinfo=UTC)
    row = MaternalDeathReport(
        kind=kind,
        woman_key=woman,
        death_date=died,
        street=street,
        institution_id="mch-centre",
        cause_class=cause_class,
        classification="direct",
        review_status=status,
        created_by="tester",
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row.id


def test_deaths_in_pregnancy_or_42_days_by_cause_review_and_card(services: Services) -> None:
    # Rule 5 (docs/indicator-rules.md, "Maternal death"): a fed death counts when it happened in
    # pregnancy or within 42 days (timing), is maternal by its cause rule, and the monitoring
    # group did not exclude it on review; a report card counts unless its cause is accidental
    # or it was excluded. A card with no death day cannot be placed in a period.
    def death(woman: str, timing: str, maternal: bool = True) -> models.Death:
        return models.Death(
            woman_key=woman,
            death_date=D(2025, 8, 20),
            pregnancy_id=f"p-{woman}",
            institution_id="hosp-a",
            maternal=maternal,
            timing=timing,
        )

    with services.db.transaction() as session:
        for woman, residence in (
            ("in-pregnancy", "resident"),
            ("postpartum", "non_resident"),
            ("late", "resident"),
            ("unrelated", "resident"),
            ("accident", "resident"),
            ("excluded", "resident"),
            ("confirmed", None),  # assembled before residence was recorded: unknown
        ):
            session.add(models.Woman(key=woman, street="330102001", residence=residence))
        session.add(death("in-pregnancy", "pregnancy"))
        session.add(death("postpartum", "postpartum"))
        session.add(death("late", "late"))  # 43 days to a year: a late maternal death
        session.add(death("unrelated", "unrelated"))
        session.add(death("accident", "postpartum", maternal=False))
        session.add(death("excluded", "postpartum"))
        _card(session, "feed", "excluded", D(2025, 8, 20), status="excluded")
        session.add(death("confirmed", "pregnancy"))
        _card(session, "feed", "confirmed", D(2025, 8, 20), status="confirmed")
        cards = {
            "card-pending": _card(session, "entered", "rid:card-woman", D(2025, 7, 1)),
            "card-accident": _card(
                session, "entered", "rid:b", D(2025, 7, 2), cause_class="accidental"
            ),
            "card-excluded": _card(session, "entered", "rid:c", D(2025, 7, 3), status="excluded"),
            # no valid resident ID: the card stands for its own woman
            "card-no-woman": _card(session, "entered", None, D(2025, 7, 4), street=None),
            "card-no-day": _card(session, "entered", "rid:e", None),
        }
    with services.db.reading() as session:
        frames = build_frames(session, ("orange", "red", "purple"))
    fact_tables.check_frames(frames)
    deaths = frames.maternal_deaths.set_index("pregnancy_id")
    card = {name: f"card-{number}" for name, number in cards.items()}
    columns = ["woman_id", "death_date", "street", "residence", "maternal", "entered"]
    got = {pid: [_plain(deaths.loc[pid, c]) for c in columns] for pid in deaths.index}
    aug20, fed_street = D(2025, 8, 20), "330102001"
    assert got == {
        "p-in-pregnancy": ["in-pregnancy", aug20, fed_street, "resident", True, False],
        "p-postpartum": ["postpartum", aug20, fed_street, "non_resident", True, False],
        "p-accident": ["accident", aug20, fed_street, "resident", False, False],
        "p-excluded": ["excluded", aug20, fed_street, "resident", False, False],
        "p-confirmed": ["confirmed", aug20, fed_street, "unknown", True, False],
        # a card is a death of the district's residents, under the card's street
        card["card-pending"]: [
            "rid:card-woman",
            D(2025, 7, 1),
            "330102002",
            "resident",
            True,
            True,
        ],
        card["card-accident"]: ["rid:b", D(2025, 7, 2), "330102002", "resident", False, True],
        card["card-excluded"]: ["rid:c", D(2025, 7, 3), "330102002", "resident", False, True],
        card["card-no-woman"]: [card["card-no-woman"], D(2025, 7, 4), None, "resident", True, True],
    }
    assert deaths.loc[card["card-pending"], "reporting_institution"] == "mch-centre"
    assert deaths.loc["p-postpartum", "reporting_institution"] == "hosp-a"


def test_a_build_reads_the_register_of_its_women_and_names_its_colour_set(
    services: Services,
) -> None:
    # An incremental build asks the case register about the changed women only (reading the
    # whole register at every run would grow with the district, not with the change), and
    # every build records the colours it counted as case-managed, so that results are never
    # computed with settings that ask for another set (counts.check refuses them).
    from mch_service.indicators.calculations import compute_all
    from mch_service.indicators.errors import IndicatorInputError
    from mch_service.indicators.settings import IndicatorSettings

    _build(services, [("reg-a", _her_facts), ("reg-b", _her_facts)])
    asked: list[Any] = []

    def register(session: Session, women: Any) -> CaseManagementFacts:
        asked.append(None if women is None else sorted(women))
        return CaseManagementFacts()

    with services.db.reading() as session:
        full = build_frames(session, ("orange", "red"), case_facts=register)
        build_frames(session, ("orange", "red"), women=["w-reg-a"], case_facts=register)
    assert asked == [None, ["w-reg-a"]]
    assert full.case_managed_colours == ("orange", "red")
    other = IndicatorSettings(case_managed_colours=("orange", "red", "purple"))
    with pytest.raises(IndicatorInputError, match="orange, red"):
        compute_all(full, ["2025-08"], other)


def test_high_risk_managed_by_a_follow_up_recorded_in_the_case_register(
    services: Services,
) -> None:
    # Rule 7 (a) through the case register's port: a follow-up the case team recorded counts
    # like a re-assessment, on a later day than the first non-green grading (1 March) up to
    # delivery + 28 days (6 August + 28 = 3 September). The register's two verdicts (b) are
    # carried over as they are, per pregnancy.
    follow_ups = {
        "fu-same-day": (D(2025, 3, 1),),
        "fu-next-day": (D(2025, 3, 2),),
        "fu-day-28": (D(2025, 9, 3),),
        "fu-day-29": (D(2025, 9, 4),),
        "fu-before": (D(2025, 2, 28),),
        "fu-green": (D(2025, 3, 2),),  # graded green only: nobody to manage
        # a follow-up of a pregnancy the build does not hold (another district's) is ignored
        "elsewhere": (D(2025, 3, 2),),
    }
    facts = CaseManagementFacts(
        follow_ups=follow_ups,
        opened_in_time=frozenset({"fu-next-day", "elsewhere"}),
        followed_at_interval=frozenset({"fu-day-28"}),
    )
    yellow = grading(D(2025, 3, 1), "yellow")
    pids = ["fu-same-day", "fu-next-day", "fu-day-28", "fu-day-29", "fu-before"]
    _build(services, [(pid, yellow) for pid in pids] + [("fu-green", grading(LMP, "green"))])

    def register(session: Session, women: Any) -> CaseManagementFacts:
        return facts

    with services.db.reading() as session:
        frames = build_frames(session, ("orange", "red", "purple"), case_facts=register)
    preg = frames.pregnancies.set_index("pregnancy_id")
    columns = [
        fact_tables.HIGH_RISK_MANAGED,
        fact_tables.CASE_OPENED_IN_TIME,
        fact_tables.CASE_FOLLOWED_AT_INTERVAL,
    ]
    got = {pid: [bool(preg.loc[pid, c]) for c in columns] for pid in preg.index}
    assert got == {
        "fu-same-day": [False, False, False],
        "fu-next-day": [True, True, False],
        "fu-day-28": [True, False, True],
        "fu-day-29": [False, False, False],
        "fu-before": [False, False, False],
        "fu-green": [False, False, False],
    }


def _diagnosis(concept: str, code: str, day: date) -> Fill:
    """A diagnosis Condition of the woman (subject her Patient record, no pregnancy)."""

    def fill(session: Session, pid: str) -> None:
        _patient(session, pid)
        row = _fact(models.Diagnosis, pid, concept=concept, code=code, diagnosed_date=day)
        row.pregnancy_id = None
        session.add(row)

    return fill


def test_a_diagnosis_alone_is_an_infection_and_known_before_only_before_the_lmp(
    services: Services,
) -> None:
    # docs/indicator-rules.md, "Infected": a diagnosis recorded on or before discharge is an
    # infection, with or without a test result. "Tested": an infection known from before the
    # pregnancy start (LMP 1 November 2024) counts as tested, in pregnancy and early; one
    # diagnosed on the LMP day or later is in this pregnancy and, with no test, not tested.
    # Each woman has her own diagnosis, on her own day: each is hers alone.
    def flags(positive: bool, tested: bool) -> dict[str, Any]:
        return {
            "hiv_positive": positive,
            "hiv_tested": tested,
            "hiv_tested_in_pregnancy": tested,
            "hiv_tested_early": tested,
        }

    def hiv(day: date) -> Fill:
        return _diagnosis("hiv_diagnosis", "B20", day)

    _check(
        services,
        [
            ("hiv-dx-before", hiv(D(2024, 6, 1)), flags(True, True)),
            ("hiv-dx-lmp-day", hiv(LMP), flags(True, False)),
            ("hiv-dx-march", hiv(D(2025, 3, 1)), flags(True, False)),
            ("hiv-dx-april", hiv(D(2025, 4, 1)), flags(True, False)),
            # after discharge (9 August): not this pregnancy's infection
            ("hiv-dx-after", hiv(D(2025, 8, 10)), flags(False, False)),
            (
                "hbv-dx",
                _diagnosis("hbv_diagnosis", "B18.1", D(2025, 3, 1)),
                {"hbsag_positive": True, "hbsag_tested": False, "hiv_positive": False},
            ),
        ],
    )


def test_without_an_lmp_a_test_from_the_first_record_on_counts(services: Services) -> None:
    # Without dating the pregnancy's start is its first record: the HIV test of 1 March (before
    # the admission, 6 August) is tested and tested in pregnancy; with no GA it is not early.
    def no_lmp(session: Session, pid: str) -> None:
        session.flush()
        preg = session.get(models.Pregnancy, pid)
        assert preg is not None
        preg.lmp = None

    _check(
        services,
        [
            (
                "no-lmp",
                both(no_lmp, lab("hiv_test", D(2025, 3, 1), "negative")),
                {"hiv_tested": True, "hiv_tested_in_pregnancy": True, "hiv_tested_early": False},
            )
        ],
    )


def test_syphilis_penicillin_start_and_a_treatment_without_a_subject(services: Services) -> None:
    # "Syphilis adequately treated": the start day of the penicillin regimen overlapping the
    # pregnancy (the earliest one); a syphilis treatment of another drug class gives no start.
    # A treatment row with no subject is the pregnancy's own (it is no newborn's).
    start = fact_tables.SYPHILIS_PENICILLIN_START

    def no_subject(fill: Fill) -> Fill:
        def wrapped(session: Session, pid: str) -> None:
            fill(session, pid)
            session.flush()
            for row in session.query(models.Treatment).filter_by(pregnancy_id=pid):
                row.subject = None
            # she has a newborn of her own (whose treatments are the baby's, not hers)
            session.add(
                models.PatientRecord(
                    resource_pk=next(_pk),
                    version_id=1,
                    institution_id="hosp-a",
                    ref=f"Patient/{pid}-baby",
                    mother_ref=f"Patient/{pid}",
                    received_at=datetime(2025, 8, 6, tzinfo=UTC),
                )
            )

        return wrapped

    _check(
        services,
        [
            (
                "penicillin",
                both(
                    treatment("syphilis_treatment", D(2025, 4, 1), drug_class="penicillin"),
                    treatment("syphilis_treatment", D(2025, 3, 1), drug_class="penicillin"),
                ),
                {start: D(2025, 3, 1), "syphilis_treated": True},
            ),
            (
                "ceftriaxone",
                treatment("syphilis_treatment", D(2025, 3, 1), drug_class="needs_indication"),
                {start: None, "syphilis_treated": True},
            ),
            (
                "art-no-subject",
                no_subject(treatment("antiretroviral", D(2025, 3, 1))),
                {"hiv_treated": True},
            ),
        ],
    )


def test_a_lone_pregnancy_ends_its_windows_on_its_own_delivery(services: Services) -> None:
    # One pregnancy in the store: admitted 5 August, delivered 6 August. Its delivery still
    # closes each window: gradings count to the delivery day (the red-and-purple one of
    # 7 August does not: highest orange, no purple), a contact after the case-managed orange
    # grading counts up to the delivery day (the visit of 7 August does not), and a test on
    # the admission day is tested, not tested in pregnancy.
    frame = _build(
        services,
        [
            (
                "alone",
                both(
                    grading(D(2025, 3, 1), "orange"),
                    grading(D(2025, 8, 7), "red", purple=True),
                    visit(D(2025, 8, 7)),
                    lab("hiv_test", D(2025, 8, 5), "negative"),
                ),
            )
        ],
        admitted=D(2025, 8, 5),
    )
    got = {c: _plain(frame.loc["alone", c]) for c in frame.columns}
    assert {
        c: got[c]
        for c in (
            fact_tables.HIGHEST_COLOUR,
            fact_tables.PURPLE,
            fact_tables.FIRST_CASE_MANAGED_DATE,
            fact_tables.CASE_MANAGED_CONTACT,
            "hiv_tested",
            "hiv_tested_in_pregnancy",
        )
    } == {
        fact_tables.HIGHEST_COLOUR: "orange",
        fact_tables.PURPLE: False,
        fact_tables.FIRST_CASE_MANAGED_DATE: D(2025, 3, 1),
        fact_tables.CASE_MANAGED_CONTACT: False,
        "hiv_tested": True,
        "hiv_tested_in_pregnancy": False,
    }


def test_a_pregnancy_without_a_delivery_has_no_delivering_institution(services: Services) -> None:
    # the institution column is stored as objects, a missing one as None (not NaN), beside
    # another pregnancy's delivering institution (hosp-a)
    def no_delivery(session: Session, pid: str) -> None:
        session.flush()
        session.query(models.Delivery).filter_by(pregnancy_id=pid).delete()

    frame = _build(services, [("delivered", nothing), ("lost", no_delivery)])
    column = frame[fact_tables.DELIVERY_INSTITUTION]
    assert column.dtype == object
    assert column.loc["delivered"] == "hosp-a"
    assert column.loc["lost"] is None
