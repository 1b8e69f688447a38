"""The truth function against numbers worked out by hand from docs/indicator-rules.md.

Six women with chosen facts (all days are Shanghai days):

A  twins, caesarean, delivered 2025-03-31 (23:30 local) at hosp-a; booked at 12+6 (GA 90);
   6 checks; HBsAg test at GA 116; Hb 105; yellow then orange; home visit 3 days after
   discharge; 42-day check at day 45; babies 2,400 g and 2,600 g. Street 330102001.
B  stillbirth at 27+6 (GA 195) on 2025-04-01 (00:30 local) at hosp-b; syphilis test at 12+6,
   HIV test at 13+0, no HBsAg test; 4 checks; no grading. Street 330102003. Dated by LMP only.
C  stillbirth at 28+0 (GA 196) on 2025-04-10 at hosp-b; HIV positive at 10 weeks, treated;
   green + purple. Dated by EDD only. Street 330102003.
D  pregnancy spanning 2024-2025, checks at hosp-a then hosp-b (one day at both), a check on
   the admission day; delivered 2025-03-10 at hosp-b; syphilis confirmed (treponemal and
   non-treponemal positive), treated during the stay; red, then red + purple; thalassaemia
   with Hb 108; the baby died on day 6; home visit 38 days after discharge (the 42-day check,
   not the 28-day visit); congenital syphilis recorded 2025-04-02 by mch-hosp. Street 330102001.
E  syphilis confirmed (both tests), never treated, no HBsAg test, yellow + purple; died
   2025-05-20 (reported by hosp-a), not accidentally: a maternal death before any outcome.
   Street 330102001.
F  a loss on 2025-02-20, then an accidental death on 2025-03-01 (not maternal). Street
   330102003.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from mch_service.simulator.facts import (
    CongenitalSyphilis,
    Dating,
    Delivery,
    Diagnosis,
    Haemoglobin,
    LabTest,
    MaternalDeath,
    Newborn,
    PregnancyFacts,
    RiskGrade,
    Treatment,
    Visit,
)
from mch_service.simulator.params import TruthSettings
from mch_service.simulator.truth import INDICATORS, compute_truth, periods

S1, S3 = "330102001", "330102003"
INSTITUTIONS = ["hosp-a", "hosp-b", "mch-hosp", "chc-01"]
START, END = date(2024, 6, 1), date(2025, 6, 30)
AS_OF = [date(2025, 2, 11), date(2025, 4, 15), date(2025, 7, 1), date(2025, 7, 2)]
D = date


def _women() -> list[PregnancyFacts]:
    a = PregnancyFacts(
        "A",
        D(2024, 7, 8),
        S1,
        dating=[Dating(D(2024, 10, 6), ga_days=90)],
        bookings=[D(2024, 10, 6)],
        visits=[
            Visit(D(2024, 10, 6), "prenatal_initial_visit", "chc-01"),
            Visit(D(2024, 11, 1), "prenatal_initial_visit", "hosp-a"),
            Visit(D(2024, 12, 1), "prenatal_visit", "hosp-a"),
            Visit(D(2025, 1, 5), "prenatal_visit", "hosp-a"),
            Visit(D(2025, 2, 10), "prenatal_visit", "hosp-a"),
            Visit(D(2025, 3, 10), "prenatal_visit", "hosp-a"),
            Visit(D(2025, 4, 8), "postpartum_visit", "chc-01"),
            Visit(D(2025, 5, 15), "postpartum_visit", "hosp-a"),
        ],
        tests=[
            LabTest(D(2024, 10, 6), "hiv", "negative"),
            LabTest(D(2024, 10, 6), "syphilis", "negative"),
            LabTest(D(2024, 11, 1), "hbsag", "negative"),
        ],
        haemoglobin=[Haemoglobin(D(2024, 11, 1), 105)],
        risks=[
            RiskGrade(datetime(2024, 10, 6, 10), "yellow"),
            RiskGrade(datetime(2025, 1, 5, 10), "orange"),
        ],
        delivery=Delivery(
            day=D(2025, 3, 31),
            admission=D(2025, 3, 31),
            discharge=D(2025, 4, 5),
            institution="hosp-a",
            live_births=2,
            stillbirths=0,
            newborns=(Newborn(D(2025, 3, 31), 2400), Newborn(D(2025, 3, 31), 2600)),
            caesarean=True,
        ),
    )
    b = PregnancyFacts(
        "B",
        D(2024, 9, 18),
        S3,
        dating=[Dating(D(2024, 11, 20), lmp=D(2024, 9, 18))],
        visits=[
            Visit(D(2024, 11, 20), "prenatal_initial_visit", "hosp-b"),
            Visit(D(2024, 12, 18), "prenatal_visit", "hosp-b"),
            Visit(D(2025, 1, 20), "prenatal_visit", "hosp-b"),
            Visit(D(2025, 2, 20), "prenatal_visit", "hosp-b"),
        ],
        tests=[
            LabTest(D(2024, 12, 18), "hiv", "negative"),  # GA 91 = 13+0: not early
            LabTest(D(2024, 12, 17), "syphilis", "negative"),  # GA 90 = 12+6: early
        ],
        delivery=Delivery(
            day=D(2025, 4, 1),
            admission=D(2025, 3, 31),
            discharge=D(2025, 4, 3),
            institution="hosp-b",
            live_births=0,
            stillbirths=1,
        ),
    )
    c = PregnancyFacts(
        "C",
        D(2024, 9, 26),
        S3,
        dating=[Dating(D(2024, 12, 5), edd=D(2025, 7, 3))],
        visits=[
            Visit(D(2024, 12, 5), "prenatal_initial_visit", "hosp-b"),
            Visit(D(2025, 1, 10), "prenatal_visit", "hosp-b"),
        ],
        tests=[
            LabTest(D(2024, 12, 5), "hiv", "positive"),
            LabTest(D(2024, 12, 5), "syphilis", "negative"),
            LabTest(D(2024, 12, 5), "hbsag", "negative"),
        ],
        diagnoses=[Diagnosis(D(2024, 12, 6), "hiv")],
        treatments=[Treatment(D(2024, 12, 20), "hiv")],
        risks=[RiskGrade(datetime(2024, 12, 5, 9), "green", purple=True)],
        delivery=Delivery(
            day=D(2025, 4, 10),
            admission=D(2025, 4, 9),
            discharge=D(2025, 4, 12),
            institution="hosp-b",
            live_births=0,
            stillbirths=1,
        ),
    )
    d = PregnancyFacts(
        "D",
        D(2024, 6, 10),
        S1,
        dating=[Dating(D(2024, 8, 19), ga_days=70)],
        bookings=[D(2024, 8, 19)],
        visits=[
            Visit(D(2024, 8, 19), "prenatal_initial_visit", "hosp-a"),
            Visit(D(2024, 10, 1), "prenatal_visit", "hosp-a"),
            Visit(D(2024, 12, 2), "prenatal_initial_visit", "hosp-b"),
            Visit(D(2024, 12, 2), "prenatal_visit", "hosp-a"),
            Visit(D(2025, 1, 15), "prenatal_visit", "hosp-b"),
            Visit(D(2025, 2, 26), "prenatal_visit", "hosp-b"),
            Visit(D(2025, 3, 10), "prenatal_visit", "hosp-b"),  # the admission day
            Visit(D(2025, 4, 20), "postpartum_visit", "hosp-b"),
        ],
        tests=[
            LabTest(D(2024, 8, 19), "hiv", "negative"),
            # a confirmed syphilis (issue 14, rule 3): treponemal and non-treponemal positive
            LabTest(D(2024, 8, 19), "syphilis", "positive", "treponemal"),
            LabTest(D(2024, 8, 19), "syphilis", "positive", "non_treponemal"),
            LabTest(D(2024, 8, 19), "hbsag", "negative"),
        ],
        treatments=[Treatment(D(2025, 3, 12), "syphilis")],
        haemoglobin=[Haemoglobin(D(2024, 8, 19), 118), Haemoglobin(D(2025, 1, 15), 108)],
        risks=[
            RiskGrade(datetime(2024, 8, 19, 10), "red"),
            RiskGrade(datetime(2024, 10, 1, 10), "red", purple=True),
        ],
        thalassaemia=True,
        delivery=Delivery(
            day=D(2025, 3, 10),
            admission=D(2025, 3, 10),
            discharge=D(2025, 3, 13),
            institution="hosp-b",
            live_births=1,
            stillbirths=0,
            newborns=(Newborn(D(2025, 3, 10), 3100, death_day=D(2025, 3, 16)),),
        ),
        congenital_syphilis=[CongenitalSyphilis(D(2025, 4, 2), "mch-hosp")],
    )
    e = PregnancyFacts(
        "E",
        D(2025, 1, 6),
        S1,
        dating=[Dating(D(2025, 2, 17), lmp=D(2025, 1, 6))],
        bookings=[D(2025, 2, 17)],
        visits=[Visit(D(2025, 2, 17), "prenatal_initial_visit", "chc-01")],
        tests=[
            LabTest(D(2025, 2, 17), "syphilis", "positive", "treponemal"),
            LabTest(D(2025, 2, 17), "syphilis", "positive", "non_treponemal"),
            LabTest(D(2025, 2, 17), "hiv", None),
        ],
        risks=[RiskGrade(datetime(2025, 2, 17, 10), "yellow", purple=True)],
        death=MaternalDeath(D(2025, 5, 20), "hosp-a"),
    )
    f = PregnancyFacts(
        "F",
        D(2024, 11, 4),
        S3,
        dating=[Dating(D(2025, 1, 13), ga_days=70)],
        visits=[Visit(D(2025, 1, 13), "prenatal_initial_visit", "hosp-a")],
        loss_day=D(2025, 2, 20),
        death=MaternalDeath(D(2025, 3, 1), "hosp-a", external_cause=True),
    )
    return [a, b, c, d, e, f]


def _truth(settings: TruthSettings | None = None) -> dict[str, Any]:
    return compute_truth(
        _women(), START, END, settings or TruthSettings(), AS_OF, INSTITUTIONS, [S1, S3]
    )


def _table(truth: dict[str, Any]) -> dict[tuple[str, str, str, str], tuple[int, int]]:
    return {
        (r["id"], r["period"], r["area"], r["institution"]): (r["numerator"], r["denominator"])
        for r in truth["indicators"]
    }


@pytest.fixture(scope="module")
def table() -> dict[tuple[str, str, str, str], tuple[int, int]]:
    return _table(_truth())


# Worked by hand, indicator by indicator: March 2025 = A (2 live) + D (1 live); April 2025 =
# B + C (stillborn, 0 live); the year adds E's maternal death (May).
MARCH = {
    "systematic_management_rate": (1, 3),  # A yes; D: home visit 38 days after discharge
    "early_registration_rate": (2, 3),
    "prenatal_care_rate": (2, 3),
    "prenatal_5plus_rate": (2, 3),  # A 6 days; D 5 (the two same-day checks are one day,
    # the admission-day check does not count)
    "postpartum_visit_rate": (1, 3),
    "postpartum_42d_check_rate": (2, 2),  # A day 45, D day 41
    "facility_delivery_rate": (3, 3),
    "caesarean_rate": (2, 3),  # A's twins
    "hiv_test_rate": (2, 2),
    "syphilis_test_rate": (2, 2),
    "hbsag_test_rate": (2, 2),
    "hiv_test_in_pregnancy_rate": (2, 2),
    "syphilis_test_in_pregnancy_rate": (2, 2),
    "hbsag_test_in_pregnancy_rate": (2, 2),
    "hiv_early_test_rate": (2, 2),
    "syphilis_early_test_rate": (2, 2),
    "hbsag_early_test_rate": (1, 2),  # A's HBsAg at GA 116
    "hiv_treatment_rate": (0, 0),
    "syphilis_treatment_rate": (1, 1),  # D, treated during the stay (before discharge)
    # D's penicillin started 2 days after delivery: not >= 30 days before it
    "syphilis_adequate_treatment_rate": (0, 1),
    "maternal_mortality_ratio": (0, 3),
    "high_risk_proportion": (2, 2),
    "high_risk_management_rate": (2, 2),
    # A anaemic; D anaemic but thalassaemia: out of both counts by default (rule 8)
    "anaemia_prevalence_non_thalassaemia": (1, 1),
    "congenital_syphilis_rate": (0, 3),  # D's baby's case is recorded in April
    "perinatal_mortality_rate": (1, 3),  # D's baby died on day 6
    "low_birth_weight_rate": (1, 3),  # A's 2,400 g twin
    "thalassaemia_screening_rate": (0, 2),  # no screening records
    "prenatal_screening_rate": (0, 2),
    "prenatal_diagnosis_rate": (0, 2),
    "who_anc_first_contact_12w_rate": (1, 2),  # A's first contact at GA 90 is not < 84
    "who_anc_4plus_rate": (2, 2),
    "who_anc_8plus_rate": (0, 2),
}
APRIL = {
    "systematic_management_rate": (0, 0),
    "early_registration_rate": (2, 0),  # women counted over live births, as the rule says
    "prenatal_care_rate": (2, 0),
    "prenatal_5plus_rate": (0, 0),
    "postpartum_visit_rate": (0, 0),
    "postpartum_42d_check_rate": (0, 2),
    "facility_delivery_rate": (0, 0),
    "caesarean_rate": (0, 0),
    "hiv_test_rate": (2, 2),
    "syphilis_test_rate": (2, 2),
    "hbsag_test_rate": (1, 2),  # B not tested
    "hiv_test_in_pregnancy_rate": (2, 2),
    "syphilis_test_in_pregnancy_rate": (2, 2),
    "hbsag_test_in_pregnancy_rate": (1, 2),
    "hiv_early_test_rate": (1, 2),  # B's HIV test at 13+0 is not early
    "syphilis_early_test_rate": (2, 2),  # B's syphilis test at 12+6 is
    "hbsag_early_test_rate": (1, 2),
    "hiv_treatment_rate": (1, 1),
    "syphilis_treatment_rate": (0, 0),
    "syphilis_adequate_treatment_rate": (0, 0),
    "maternal_mortality_ratio": (0, 0),
    "high_risk_proportion": (1, 2),  # C purple; B never graded
    "high_risk_management_rate": (1, 1),
    "anaemia_prevalence_non_thalassaemia": (0, 0),
    "congenital_syphilis_rate": (1, 0),
    "perinatal_mortality_rate": (1, 1),  # C at 28+0 counts, B at 27+6 does not
    "low_birth_weight_rate": (0, 0),
    "thalassaemia_screening_rate": (0, 2),
    "prenatal_screening_rate": (0, 2),
    "prenatal_diagnosis_rate": (0, 2),
    "who_anc_first_contact_12w_rate": (2, 2),
    "who_anc_4plus_rate": (1, 2),  # B 4 checks, C 2
    "who_anc_8plus_rate": (0, 2),
}
YEAR_2025 = {
    "systematic_management_rate": (1, 3),
    "early_registration_rate": (4, 3),
    "prenatal_care_rate": (4, 3),
    "prenatal_5plus_rate": (2, 3),
    "postpartum_visit_rate": (1, 3),
    "postpartum_42d_check_rate": (2, 4),
    "facility_delivery_rate": (3, 3),
    "caesarean_rate": (2, 3),
    "hiv_test_rate": (4, 4),
    "syphilis_test_rate": (4, 4),
    "hbsag_test_rate": (3, 4),
    "hiv_test_in_pregnancy_rate": (4, 4),
    "syphilis_test_in_pregnancy_rate": (4, 4),
    "hbsag_test_in_pregnancy_rate": (3, 4),
    "hiv_early_test_rate": (3, 4),
    "syphilis_early_test_rate": (4, 4),
    "hbsag_early_test_rate": (2, 4),
    "hiv_treatment_rate": (1, 1),
    "syphilis_treatment_rate": (1, 1),
    "syphilis_adequate_treatment_rate": (0, 1),
    "maternal_mortality_ratio": (1, 3),  # E (F's death was an accident)
    "high_risk_proportion": (3, 4),
    "high_risk_management_rate": (3, 3),
    "anaemia_prevalence_non_thalassaemia": (1, 1),
    "congenital_syphilis_rate": (1, 3),
    "perinatal_mortality_rate": (2, 4),
    "low_birth_weight_rate": (1, 3),
    "thalassaemia_screening_rate": (0, 4),
    "prenatal_screening_rate": (0, 4),
    "prenatal_diagnosis_rate": (0, 4),
    "who_anc_first_contact_12w_rate": (3, 4),
    "who_anc_4plus_rate": (3, 4),
    "who_anc_8plus_rate": (0, 4),
}


@pytest.mark.parametrize(
    ("period", "expected"),
    [("2025-03", MARCH), ("2025-Q1", MARCH), ("2025-04", APRIL), ("2025", YEAR_2025)],
)
def test_district_figures_match_the_hand_count(
    table: dict[tuple[str, str, str, str], tuple[int, int]],
    period: str,
    expected: dict[str, tuple[int, int]],
) -> None:
    assert set(expected) == set(INDICATORS)
    got = {name: table[(name, period, "district", "all")] for name in INDICATORS}
    assert got == expected


def test_second_quarter_adds_the_maternal_death_of_may(
    table: dict[tuple[str, str, str, str], tuple[int, int]],
) -> None:
    assert table[("maternal_mortality_ratio", "2025-05", "district", "all")] == (1, 0)
    assert table[("maternal_mortality_ratio", "2025-Q2", "district", "all")] == (1, 0)
    assert table[("maternal_mortality_ratio", "2025-03", "district", "all")] == (0, 3)


def test_streets_and_institutions_follow_the_attribution_rules(
    table: dict[tuple[str, str, str, str], tuple[int, int]],
) -> None:
    # Streets: A and D live in 330102001, B and C in 330102003.
    assert table[("caesarean_rate", "2025-03", S1, "all")] == (2, 3)
    assert table[("caesarean_rate", "2025-03", S3, "all")] == (0, 0)
    assert table[("perinatal_mortality_rate", "2025-04", S3, "all")] == (1, 1)
    assert table[("maternal_mortality_ratio", "2025-05", S1, "all")] == (1, 0)
    assert table[("congenital_syphilis_rate", "2025-04", S1, "all")] == (1, 0)
    # Institution view: the delivering institution for the cohort...
    assert table[("caesarean_rate", "2025-03", "district", "hosp-a")] == (2, 2)
    assert table[("perinatal_mortality_rate", "2025-03", "district", "hosp-b")] == (1, 1)
    assert table[("syphilis_treatment_rate", "2025", "district", "hosp-b")] == (1, 1)
    assert table[("early_registration_rate", "2025-04", "district", "hosp-b")] == (2, 0)
    # ...the reporting institution for maternal deaths and congenital syphilis.
    assert table[("maternal_mortality_ratio", "2025", "district", "hosp-a")] == (1, 2)
    assert table[("congenital_syphilis_rate", "2025-04", "district", "mch-hosp")] == (1, 0)
    assert table[("congenital_syphilis_rate", "2025-04", "district", "hosp-b")] == (0, 0)
    assert table[("systematic_management_rate", "2025", "district", "chc-01")] == (0, 0)


def test_every_period_area_and_institution_has_a_row() -> None:
    truth = _truth()
    wanted = periods(START, END, statistical_year=False)
    assert [key for _, key in wanted][:2] == ["2024", "2025"]
    assert len(wanted) == 2 + 5 + 13  # years, quarters 2024-Q2..2025-Q2, months 2024-06..
    combos = 1 + 2 + len(INSTITUTIONS)
    assert len(truth["indicators"]) == len(INDICATORS) * len(wanted) * combos
    table = _table(truth)
    assert table[("caesarean_rate", "2024-06", "district", "all")] == (0, 0)


def _lists(truth: dict[str, Any], as_of: date) -> dict[str, list[tuple[str, str]]]:
    block = next(w for w in truth["work_lists"] if w["as_of"] == as_of.isoformat())
    return {
        name: [(m["resident_id"], m["since"]) for m in members]
        for name, members in block["lists"].items()
    }


def test_work_lists_match_the_hand_count() -> None:
    truth = _truth()
    assert _lists(truth, date(2025, 2, 11)) == {
        # C purple, last contact 10 January: due from the 24th. D red (7 days), last contact
        # 15 January.
        "follow_up_due": [("C", "2025-01-24"), ("D", "2025-01-22")],
        "outcome_unknown": [],
        "positive_untreated": [("D", "2024-09-03")],
        # B never tested for HBsAg; F's first contact 13 January is 29 days ago (> 28).
        "missing_tests": [("B", "2024-12-19"), ("F", "2025-02-11")],
        "postpartum_visit_due": [],
    }
    assert _lists(truth, date(2025, 4, 15)) == {
        "follow_up_due": [("E", "2025-03-03")],
        "outcome_unknown": [],
        "positive_untreated": [("E", "2025-03-04")],
        "missing_tests": [("E", "2025-03-18")],  # E's HIV Procedure counts as present
        # A was visited; B and D were not (D's visit on 20 April is after as_of).
        "postpartum_visit_due": [("B", "2025-04-11"), ("D", "2025-03-21")],
    }
    # E's pregnancy ended with her death on 20 May: on the positive list until 42 days later.
    assert _lists(truth, date(2025, 7, 1))["positive_untreated"] == [("E", "2025-03-04")]
    assert _lists(truth, date(2025, 7, 2))["positive_untreated"] == []
    assert all(not v for k, v in _lists(truth, date(2025, 7, 2)).items())


def test_missing_tests_day_boundary() -> None:
    truth = compute_truth(
        _women()[5:], START, END, TruthSettings(), [date(2025, 2, 10)], INSTITUTIONS, [S1, S3]
    )
    assert _lists(truth, date(2025, 2, 10))["missing_tests"] == []  # exactly 28 days


def test_settings_change_the_numbers_as_documented() -> None:
    women = _table(_truth(TruthSettings(caesarean_basis="women")))
    assert women[("caesarean_rate", "2025-03", "district", "all")] == (1, 2)
    # the default leaves thalassaemia women out of the denominator; false keeps D in it
    kept = _table(_truth(TruthSettings(anaemia_denominator_excludes_thalassaemia=False)))
    assert kept[("anaemia_prevalence_non_thalassaemia", "2025-03", "district", "all")] == (1, 2)
    red_only = _table(_truth(TruthSettings(case_managed_colours=("red",))))
    assert red_only[("high_risk_management_rate", "2025", "district", "all")] == (1, 1)


def test_a_test_done_procedure_clears_missing_tests_unless_only_results_count() -> None:
    h = PregnancyFacts(
        "H",
        D(2025, 1, 1),
        S1,
        dating=[Dating(D(2025, 2, 1), lmp=D(2025, 1, 1))],
        visits=[Visit(D(2025, 2, 1), "prenatal_initial_visit", "chc-01")],
        tests=[
            LabTest(D(2025, 2, 1), "hiv", None),  # reported as a Procedure, no result
            LabTest(D(2025, 2, 1), "syphilis", "negative"),
            LabTest(D(2025, 2, 1), "hbsag", "negative"),
        ],
    )
    as_of = [date(2025, 3, 15)]
    default = compute_truth([h], START, END, TruthSettings(), as_of, INSTITUTIONS, [S1])
    assert _lists(default, as_of[0])["missing_tests"] == []
    strict = compute_truth(
        [h],
        START,
        END,
        TruthSettings(missing_tests_counts_procedures=False),
        as_of,
        INSTITUTIONS,
        [S1],
    )
    assert _lists(strict, as_of[0])["missing_tests"] == [("H", "2025-03-02")]


def test_statistical_year_runs_october_to_september() -> None:
    october = PregnancyFacts(
        "G",
        D(2024, 1, 15),
        S1,
        dating=[Dating(D(2024, 3, 20), ga_days=65)],
        delivery=Delivery(D(2024, 10, 15), D(2024, 10, 15), D(2024, 10, 17), "hosp-a", 1, 0),
    )
    settings = TruthSettings(statistical_year=True)
    truth = compute_truth(
        [october], D(2024, 9, 1), D(2024, 12, 31), settings, [], INSTITUTIONS, [S1]
    )
    table = _table(truth)
    assert [k for kind, k in periods(D(2024, 9, 1), D(2024, 12, 31), True) if kind == "year"] == [
        "2024",
        "2025",
    ]
    assert table[("caesarean_rate", "2025", "district", "all")] == (0, 1)
    assert table[("caesarean_rate", "2024", "district", "all")] == (0, 0)
    assert table[("caesarean_rate", "2024-Q4", "district", "all")] == (0, 1)
