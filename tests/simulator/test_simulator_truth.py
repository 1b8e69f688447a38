"""The truth function against numbers worked out by hand from docs/indicator-rules.md.

Six women with chosen facts (all days are Shanghai days):

A  twins, caesarean, delivered 2025-03-31 (23:30 local) at hosp-a; booked at 12+6 (GA 90);
   6 checks; HBsAg test at GA 116; Hb 105; yellow then orange; home visit 3 days after
   discharge; 42-day check at day 45 with an EPDS score; babies 2,400 g and 2,600 g. Street
   330102001.
B  stillbirth at 27+6 (GA 195) on 2025-04-01 (00:30 local) at hosp-b; syphilis test at 12+6,
   HIV test at 13+0, no HBsAg test; 4 checks; no grading. Street 330102003. Dated by LMP only.
C  stillbirth at 28+0 (GA 196) on 2025-04-10 at hosp-b; HIV positive at 10 weeks, treated;
   green + purple. Dated by EDD only. Street 330102003.
D  pregnancy spanning 2024-2025, checks at hosp-a then hosp-b (one day at both), a check on
   the admission day; delivered 2025-03-10 at hosp-b; syphilis confirmed (treponemal and
   non-treponemal positive), treated during the stay; red, then red + purple; thalassaemia
   with Hb 108; the baby died on day 6; home visit 38 days after discharge (the 42-day check,
   not the 28-day visit); congenital syphilis recorded 2025-04-02 by mch-hosp; an EPDS score on
   day 57 after delivery (too late for the 42-day check window). Street 330102001.
E  syphilis confirmed (both tests), never treated, no HBsAg test, yellow + purple; died
   2025-05-20 (reported by hosp-a), not accidentally: a maternal death before any outcome.
   Street 330102001.
F  a loss on 2025-02-20, then an accidental death on 2025-03-01 (not maternal). Street
   330102003.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
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

S1, S3 = "440115001", "440115003"
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
        epds=[D(2025, 5, 15)],
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
        epds=[D(2025, 5, 6)],
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
# C (stillborn at 28+0, 0 live). B's stillbirth on 1 April at 27+6 weeks (GA 195) is a loss
# (流产/引产), not a delivery: it is in no count, not even perinatal (rule 1). The year adds
# E's maternal death (May).
MARCH = {
    "systematic_management_rate": (1, 3),  # A yes; D: home visit 38 days after discharge
    "early_registration_rate": (2, 3),
    "prenatal_care_rate": (2, 3),
    "prenatal_5plus_rate": (2, 3),  # A 6 days; D 5 (the two same-day checks are one day,
    # the admission-day check does not count)
    "postpartum_visit_rate": (1, 3),
    "postpartum_42d_check_rate": (2, 2),  # A day 45, D day 41
    "postpartum_depression_screening_rate": (1, 2),  # A's EPDS on day 45; D's on day 57
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
    # (a) A re-assessed (orange 5 January after yellow 6 October), D re-assessed (red + purple
    # 1 October after red 19 August): 2 of 2 non-green women
    "high_risk_management_rate": (2, 2),
    # (b) A orange, D red: no case opened in time (the simulated district has no case team)
    "high_risk_case_management_rate": (0, 2),
    "high_risk_facility_delivery_rate": (2, 2),
    # A anaemic; D anaemic but thalassaemia: out of both counts by default (rule 8)
    "anaemia_prevalence_non_thalassaemia": (1, 1),
    "congenital_syphilis_rate": (0, 3),  # D's baby's case is recorded in April
    "perinatal_mortality_rate": (1, 3),  # D's baby died on day 6
    "low_birth_weight_rate": (1, 3),  # A's 2,400 g twin
    "severe_maternal_morbidity_ratio": (0, 3),  # no near-miss record
    "preterm_birth_rate": (0, 3),  # A at GA 266, D at 273
    "macrosomia_rate": (0, 3),  # 2,400, 2,600 and 3,100 g
    # No HBsAg- or HIV-positive mother with a live birth; D's baby (syphilis-exposed) has no
    # penicillin record of its own.
    "hbig_12h_rate": (0, 0),
    "hepb_vaccine_24h_rate": (0, 0),
    "hiv_exposed_infant_arv_rate": (0, 0),
    "syphilis_exposed_infant_prophylaxis_rate": (0, 1),
    "thalassaemia_screening_rate": (0, 2),  # no screening records
    "prenatal_screening_rate": (0, 2),
    "prenatal_diagnosis_rate": (0, 2),
    "who_anc_first_contact_12w_rate": (1, 2),  # A's first contact at GA 90 is not < 84
    "who_anc_4plus_rate": (2, 2),
    "who_anc_8plus_rate": (0, 2),
}
APRIL = {
    "systematic_management_rate": (0, 0),
    "early_registration_rate": (1, 0),  # women counted over live births, as the rule says
    "prenatal_care_rate": (1, 0),
    "prenatal_5plus_rate": (0, 0),
    "postpartum_visit_rate": (0, 0),
    "postpartum_42d_check_rate": (0, 1),
    "postpartum_depression_screening_rate": (0, 1),
    "facility_delivery_rate": (0, 0),
    "caesarean_rate": (0, 0),
    "hiv_test_rate": (1, 1),
    "syphilis_test_rate": (1, 1),
    "hbsag_test_rate": (1, 1),
    "hiv_test_in_pregnancy_rate": (1, 1),
    "syphilis_test_in_pregnancy_rate": (1, 1),
    "hbsag_test_in_pregnancy_rate": (1, 1),
    "hiv_early_test_rate": (1, 1),
    "syphilis_early_test_rate": (1, 1),
    "hbsag_early_test_rate": (1, 1),
    "hiv_treatment_rate": (1, 1),
    "syphilis_treatment_rate": (0, 0),
    "syphilis_adequate_treatment_rate": (0, 0),
    "maternal_mortality_ratio": (0, 0),
    "high_risk_proportion": (1, 1),  # C purple
    # C, purple once, seen again at hosp-b on 10 January but never re-assessed: a prenatal
    # visit alone is not high-risk management (it was, before rule 7)
    "high_risk_management_rate": (0, 1),
    "high_risk_case_management_rate": (0, 1),
    "high_risk_facility_delivery_rate": (1, 1),
    "anaemia_prevalence_non_thalassaemia": (0, 0),
    "congenital_syphilis_rate": (1, 0),
    "perinatal_mortality_rate": (1, 1),  # C's stillbirth at 28+0
    "low_birth_weight_rate": (0, 0),
    "severe_maternal_morbidity_ratio": (0, 0),  # no near-miss record
    "preterm_birth_rate": (0, 0),
    "macrosomia_rate": (0, 0),
    "who_anc_first_contact_12w_rate": (1, 1),
    "who_anc_4plus_rate": (0, 1),  # C 2 checks
    "who_anc_8plus_rate": (0, 1),
    "hbig_12h_rate": (0, 0),
    "hepb_vaccine_24h_rate": (0, 0),
    "hiv_exposed_infant_arv_rate": (0, 0),  # C is HIV-positive, but stillborn: no live birth
    "syphilis_exposed_infant_prophylaxis_rate": (0, 0),
    "thalassaemia_screening_rate": (0, 1),
    "prenatal_screening_rate": (0, 1),
    "prenatal_diagnosis_rate": (0, 1),
}
YEAR_2025 = {
    "systematic_management_rate": (1, 3),
    "early_registration_rate": (3, 3),
    "prenatal_care_rate": (3, 3),
    "prenatal_5plus_rate": (2, 3),
    "postpartum_visit_rate": (1, 3),
    "postpartum_42d_check_rate": (2, 3),
    "postpartum_depression_screening_rate": (1, 3),  # A on day 45; D on day 57 is late
    "facility_delivery_rate": (3, 3),
    "caesarean_rate": (2, 3),
    "hiv_test_rate": (3, 3),
    "syphilis_test_rate": (3, 3),
    "hbsag_test_rate": (3, 3),
    "hiv_test_in_pregnancy_rate": (3, 3),
    "syphilis_test_in_pregnancy_rate": (3, 3),
    "hbsag_test_in_pregnancy_rate": (3, 3),
    "hiv_early_test_rate": (3, 3),
    "syphilis_early_test_rate": (3, 3),
    "hbsag_early_test_rate": (2, 3),
    "hiv_treatment_rate": (1, 1),
    "syphilis_treatment_rate": (1, 1),
    "syphilis_adequate_treatment_rate": (0, 1),
    "maternal_mortality_ratio": (1, 3),  # E (F's death was an accident)
    "high_risk_proportion": (3, 3),
    "high_risk_management_rate": (2, 3),
    "high_risk_case_management_rate": (0, 3),
    "high_risk_facility_delivery_rate": (3, 3),
    "anaemia_prevalence_non_thalassaemia": (1, 1),
    "congenital_syphilis_rate": (1, 3),
    "perinatal_mortality_rate": (2, 4),
    "low_birth_weight_rate": (1, 3),
    "severe_maternal_morbidity_ratio": (0, 3),  # no near-miss record
    "preterm_birth_rate": (0, 3),
    "macrosomia_rate": (0, 3),
    "who_anc_first_contact_12w_rate": (2, 3),
    "who_anc_4plus_rate": (2, 3),
    "who_anc_8plus_rate": (0, 3),
    "hbig_12h_rate": (0, 0),
    "hepb_vaccine_24h_rate": (0, 0),
    "hiv_exposed_infant_arv_rate": (0, 0),
    "syphilis_exposed_infant_prophylaxis_rate": (0, 1),
    "thalassaemia_screening_rate": (0, 3),
    "prenatal_screening_rate": (0, 3),
    "prenatal_diagnosis_rate": (0, 3),
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
    # Streets: A and D live in 440115001, B and C in 440115003.
    assert table[("caesarean_rate", "2025-03", S1, "all")] == (2, 3)
    assert table[("caesarean_rate", "2025-03", S3, "all")] == (0, 0)
    assert table[("perinatal_mortality_rate", "2025-04", S3, "all")] == (1, 1)
    assert table[("maternal_mortality_ratio", "2025-05", S1, "all")] == (1, 0)
    assert table[("congenital_syphilis_rate", "2025-04", S1, "all")] == (1, 0)
    # Institution view: the delivering institution for the cohort...
    assert table[("caesarean_rate", "2025-03", "district", "hosp-a")] == (2, 2)
    assert table[("perinatal_mortality_rate", "2025-03", "district", "hosp-b")] == (1, 1)
    assert table[("syphilis_treatment_rate", "2025", "district", "hosp-b")] == (1, 1)
    # (B's 27+6 stillbirth at hosp-b is a loss: only C counts)
    assert table[("early_registration_rate", "2025-04", "district", "hosp-b")] == (1, 0)
    # ...the reporting institution for maternal deaths and congenital syphilis.
    assert table[("maternal_mortality_ratio", "2025", "district", "hosp-a")] == (1, 2)
    assert table[("congenital_syphilis_rate", "2025-04", "district", "mch-hosp")] == (1, 0)
    assert table[("congenital_syphilis_rate", "2025-04", "district", "hosp-b")] == (0, 0)
    assert table[("systematic_management_rate", "2025", "district", "chc-01")] == (0, 0)


def test_every_period_area_and_institution_has_a_row() -> None:
    truth = _truth()
    wanted = periods(START, END)
    assert [key for _, key in wanted][:4] == ["2024", "2025", "SY2024", "SY2025"]
    # calendar and statistical years, quarters 2024-Q2..2025-Q2, months 2024-06..2025-06 and
    # the rolling 12 months ending with each of those months
    assert len(wanted) == 2 + 2 + 5 + 13 + 13
    assert wanted[-1] == ("rolling_year", "2025-06-R12")
    combos = 3 + 2 + len(INSTITUTIONS)  # district, non_resident, address_unknown; streets
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
        "report_late": [],  # no receipt times: backfilled (or not simulated)
        "outcome_unknown": [],
        "positive_untreated": [("D", "2024-09-03")],
        # B never tested for HBsAg; F's first contact 13 January is 29 days ago (> 28).
        "missing_tests": [("B", "2024-12-19"), ("F", "2025-02-11")],
        "postpartum_visit_due": [],
        "closed_out": [],
    }
    assert _lists(truth, date(2025, 4, 15)) == {
        # D (red + purple: 7 days) delivered 10 March, 36 days ago: still case-managed after
        # delivery; last contact the discharge on 13 March, due since 20 March. A (orange,
        # delivered 31 March) was visited on 8 April (7 days < 14); C (purple, delivered 10
        # April) left hospital on 12 April (3 days < 14).
        "follow_up_due": [("D", "2025-03-20"), ("E", "2025-03-03")],
        "report_late": [],
        "outcome_unknown": [],
        "positive_untreated": [("E", "2025-03-04")],
        "missing_tests": [("E", "2025-03-18")],  # E's HIV Procedure counts as present
        # A was visited; B and D were not (D's visit on 20 April is after as_of).
        "postpartum_visit_due": [("B", "2025-04-11"), ("D", "2025-03-21")],
        "closed_out": [],
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
    # red only: D alone is case-managed; (a) does not depend on the set
    assert red_only[("high_risk_case_management_rate", "2025", "district", "all")] == (0, 1)
    assert red_only[("high_risk_management_rate", "2025", "district", "all")] == (2, 3)


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
    truth = compute_truth(
        [october], D(2024, 9, 1), D(2024, 12, 31), TruthSettings(), [], INSTITUTIONS, [S1]
    )
    table = _table(truth)
    wanted = periods(D(2024, 9, 1), D(2024, 12, 31))
    assert [k for kind, k in wanted if kind in ("year", "statistical_year")] == [
        "2024",
        "SY2024",
        "SY2025",
    ]
    # a delivery on 15 October 2024 is in calendar 2024 and statistical 2025 (Oct 2024 - Sep
    # 2025), side by side
    assert table[("caesarean_rate", "SY2025", "district", "all")] == (0, 1)
    assert table[("caesarean_rate", "SY2024", "district", "all")] == (0, 0)
    assert table[("caesarean_rate", "2024", "district", "all")] == (0, 1)
    assert table[("caesarean_rate", "2024-Q4", "district", "all")] == (0, 1)
    # and in the rolling 12 months ending October 2024 (and the 11 after)
    assert table[("caesarean_rate", "2024-10-R12", "district", "all")] == (0, 1)
    assert table[("caesarean_rate", "2024-09-R12", "district", "all")] == (0, 0)


def _orange_woman(**changes: Any) -> PregnancyFacts:
    """Graded orange on 10 January (her only grading unless changed), seen by her hospital
    every month, delivered 1 June 2025 at hosp-a."""
    base: dict[str, Any] = {
        "dating": [Dating(D(2024, 10, 20), lmp=D(2024, 9, 1))],
        "visits": [
            Visit(D(2024, 10, 20), "prenatal_initial_visit", "hosp-a"),
            *(Visit(D(2025, m, 10), "prenatal_visit", "hosp-a") for m in range(1, 6)),
        ],
        "risks": [RiskGrade(datetime(2025, 1, 10, 9), "orange")],
        "delivery": Delivery(D(2025, 6, 1), D(2025, 6, 1), D(2025, 6, 3), "hosp-a", 1, 0),
    }
    base.update(changes)
    return PregnancyFacts("G", D(2024, 9, 1), S1, **base)


def _june(women: list[PregnancyFacts], indicator: str) -> tuple[int, int]:
    truth = compute_truth(women, START, END, TruthSettings(), [], INSTITUTIONS, [S1, S3])
    return _table(truth)[(indicator, "2025-06", "district", "all")]


def test_an_orange_woman_seen_by_her_hospital_but_never_followed_by_the_case_team() -> None:
    # Five prenatal visits after her orange grading, no re-assessment, no follow-up: in both
    # denominators, in neither numerator.
    seen = _orange_woman()
    assert _june([seen], "high_risk_management_rate") == (0, 1)
    assert _june([seen], "high_risk_case_management_rate") == (0, 1)
    # Re-assessed (yellow) at the 10 March visit: high-risk management (a), still not the case
    # team's management (b).
    regraded = _orange_woman(
        risks=[
            RiskGrade(datetime(2025, 1, 10, 9), "orange"),
            RiskGrade(datetime(2025, 3, 10, 9), "yellow"),
        ]
    )
    assert _june([regraded], "high_risk_management_rate") == (1, 1)
    assert _june([regraded], "high_risk_case_management_rate") == (0, 1)
    # A re-assessment on the same day as the first is not "after" it; one on delivery + 28
    # (29 June) is the last day that counts, delivery + 29 is too late.
    for day, counted in ((D(2025, 1, 10), 0), (D(2025, 6, 29), 1), (D(2025, 6, 30), 0)):
        later = RiskGrade(datetime(day.year, day.month, day.day, 15), "green")
        woman = _orange_woman(risks=[RiskGrade(datetime(2025, 1, 10, 9), "orange"), later])
        assert _june([woman], "high_risk_management_rate") == (counted, 1), day


def test_report_late_by_hand() -> None:
    # Limits orange 72 h, red 24 h, plus a day's grace from 00:00 of the assessed day: orange
    # of 10 January is late when received after 14 January 00:00, red after 12 January 00:00.
    def late_on(risks: list[RiskGrade], as_of: date) -> list[tuple[str, str]]:
        truth = compute_truth(
            [_orange_woman(risks=risks)], START, END, TruthSettings(), [as_of], INSTITUTIONS, [S1]
        )
        return _lists(truth, as_of)["report_late"]

    def orange(received: datetime | None) -> RiskGrade:
        return RiskGrade(datetime(2025, 1, 10, 9), "orange", received=received)

    def red(received: datetime | None) -> RiskGrade:
        return RiskGrade(datetime(2025, 1, 10, 9), "red", received=received)

    after = D(2025, 2, 1)
    assert late_on([orange(datetime(2025, 1, 13, 23))], after) == []  # an hour before
    assert late_on([orange(datetime(2025, 1, 14, 0, 0))], after) == []  # exactly: in time
    assert late_on([orange(datetime(2025, 1, 14, 0, 1))], after) == [("G", "2025-01-14")]
    assert late_on([red(datetime(2025, 1, 12, 0, 0))], after) == []
    assert late_on([red(datetime(2025, 1, 12, 0, 1))], after) == [("G", "2025-01-12")]
    # received after as_of: not yet known that day; on the day received it is
    assert late_on([red(datetime(2025, 1, 20, 8))], D(2025, 1, 19)) == []
    assert late_on([red(datetime(2025, 1, 20, 8))], D(2025, 1, 20)) == [("G", "2025-01-20")]
    # yellow has no limit; a backfilled assessment (no receipt time) is never late
    yellow = RiskGrade(datetime(2025, 1, 10, 9), "yellow", received=datetime(2025, 3, 1, 9))
    assert late_on([yellow, orange(None)], D(2025, 4, 1)) == []
    # two late ones: since the earliest received
    second = RiskGrade(datetime(2025, 1, 5, 9), "red", received=datetime(2025, 1, 25, 9))
    assert late_on([second, orange(datetime(2025, 1, 18, 9))], after) == [("G", "2025-01-18")]
    # other limits (MCH_CASE_REPORT_LIMIT_HOURS): red 12 h is late after 11 January 12:00
    settings = TruthSettings(report_limit_hours_red=12)
    truth = compute_truth(
        [_orange_woman(risks=[red(datetime(2025, 1, 11, 12, 1))])],
        START,
        END,
        settings,
        [after],
        INSTITUTIONS,
        [S1],
    )
    assert _lists(truth, after)["report_late"] == [("G", "2025-01-11")]


def test_case_management_by_hand() -> None:
    # Orange 10 January, reported in time; follow-ups every 14 days from 24 January: 24/1, 7/2,
    # 21/2, 7/3, 21/3, 4/4, 18/4, 2/5, 16/5, 30/5, 13/6, 27/6, 11/7. The window ends at
    # 1 June + 42 = 13 July; the last gap 11 July -> 13 July = 2 days: followed.
    every_14 = [D(2025, 1, 10) + timedelta(days=14 * k) for k in range(1, 14)]
    assert every_14[-1] == D(2025, 7, 11)
    followed = _orange_woman(follow_ups=every_14, case_opened_in_time=True)
    assert _june([followed], "high_risk_case_management_rate") == (1, 1)
    # the follow-ups also count for (a)
    assert _june([followed], "high_risk_management_rate") == (1, 1)
    # reported late: not (b)
    late = _orange_woman(follow_ups=every_14, case_opened_in_time=False)
    assert _june([late], "high_risk_case_management_rate") == (0, 1)
    # one call missed (21 March): 7 March -> 4 April = 28 days > 14
    gap = _orange_woman(
        follow_ups=[d for d in every_14 if d != D(2025, 3, 21)], case_opened_in_time=True
    )
    assert _june([gap], "high_risk_case_management_rate") == (0, 1)
    # stopping after 30 May with the case closed (transferred out) on 13 June: 14 days, met
    closed = _orange_woman(
        follow_ups=every_14[:10],
        case_opened_in_time=True,
        case_closed=D(2025, 6, 13),
        case_closed_as="transferred_out",
    )
    assert _june([closed], "high_risk_case_management_rate") == (1, 1)
    # ... closed on 14 June: 15 days
    closed_late = _orange_woman(
        follow_ups=every_14[:10], case_opened_in_time=True, case_closed=D(2025, 6, 14)
    )
    assert _june([closed_late], "high_risk_case_management_rate") == (0, 1)


def test_closed_out_and_postpartum_follow_up_by_hand() -> None:
    # Orange 10 January, last visit 10 May, delivered 1 June (discharged 3 June): after
    # delivery she stays on follow_up_due until 1 June + 42 = 13 July; the discharge is her
    # last contact, so she is due from 3 June + 14 = 17 June.
    woman = _orange_woman()
    days = [D(2025, 6, 16), D(2025, 6, 17), D(2025, 7, 13), D(2025, 7, 14)]
    truth = compute_truth([woman], START, END, TruthSettings(), days, INSTITUTIONS, [S1, S3])
    assert _lists(truth, D(2025, 6, 16))["follow_up_due"] == []
    assert _lists(truth, D(2025, 6, 17))["follow_up_due"] == [("G", "2025-06-17")]
    assert _lists(truth, D(2025, 7, 13))["follow_up_due"] == [("G", "2025-06-17")]
    assert _lists(truth, D(2025, 7, 14))["follow_up_due"] == []
    # closed as lost to follow-up on 20 June: off follow_up_due, on closed_out until 13 July
    lost = _orange_woman(case_closed=D(2025, 6, 20), case_closed_as="lost_to_follow_up")
    days = [D(2025, 6, 19), D(2025, 6, 20), D(2025, 7, 13), D(2025, 7, 14)]
    truth = compute_truth([lost], START, END, TruthSettings(), days, INSTITUTIONS, [S1, S3])
    assert _lists(truth, D(2025, 6, 19))["follow_up_due"] == [("G", "2025-06-17")]
    assert _lists(truth, D(2025, 6, 19))["closed_out"] == []
    assert _lists(truth, D(2025, 6, 20))["follow_up_due"] == []
    assert _lists(truth, D(2025, 6, 20))["closed_out"] == [("G", "2025-06-20")]
    assert _lists(truth, D(2025, 7, 13))["closed_out"] == [("G", "2025-06-20")]
    assert _lists(truth, D(2025, 7, 14))["closed_out"] == []
