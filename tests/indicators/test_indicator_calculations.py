"""Hand-worked cases for each definition's edges (docs/indicator-rules.md). Every expected
number is worked out by hand in the test from the rows it builds."""

from __future__ import annotations

from datetime import date

import pytest

from mch_service.indicators import fact_tables
from mch_service.indicators.calculations import compute, compute_all, external_value, members
from mch_service.indicators.catalogue import CALCULATED, CATALOGUE_VERSION
from mch_service.indicators.errors import IndicatorInputError
from mch_service.indicators.settings import IndicatorSettings
from mch_service.indicators.values import RESULT_COLUMNS
from tests.indicators.tables import baby, by_id, counts, death, make_facts, pregnancy, syphilis_case

MARCH = "2025-03"


def test_twins_are_two_live_births_and_one_woman() -> None:
    twins = pregnancy(live_births=2)
    results = compute(make_facts([twins]), MARCH)
    # 活产数 = 2 (twins count twice); the woman counts once in the numerator.
    assert counts(results, "early_registration_rate") == (1, 2)
    assert by_id(results)["early_registration_rate"].value == 50.0
    assert counts(results, "systematic_management_rate") == (1, 2)
    # 产妇数 = 1.
    assert counts(results, "postpartum_42d_check_rate") == (1, 1)
    # facility_delivery_rate counts live births on both sides.
    assert counts(results, "facility_delivery_rate") == (2, 2)


def test_women_over_live_births_can_exceed_100_percent_with_a_stillbirth_only_delivery() -> None:
    # As the national reports define it: numerator women, denominator live births. A delivery
    # with only a stillbirth adds a woman to the numerator and nothing to the denominator.
    stillbirth_only = pregnancy(live_births=0, stillbirths=1)
    singleton = pregnancy()
    results = compute(make_facts([stillbirth_only, singleton]), MARCH)
    assert counts(results, "prenatal_care_rate") == (2, 1)
    assert by_id(results)["prenatal_care_rate"].value == 200.0
    assert counts(results, "hiv_test_rate") == (2, 2)  # 产妇数 counts her


def test_perinatal_mortality_edges() -> None:
    still_27w6d = pregnancy(live_births=0, stillbirths=1)
    still_28w0d = pregnancy(live_births=0, stillbirths=1)
    still_unknown_ga_1000g = pregnancy(live_births=0, stillbirths=1)
    still_unknown_ga_999g = pregnancy(live_births=0, stillbirths=1)
    neonatal_death_day_6 = pregnancy()
    neonatal_death_day_7 = pregnancy()
    births = [
        baby(still_27w6d, live=False, ga_days=195, weight_g=1100.0),
        baby(still_28w0d, live=False, ga_days=196, weight_g=900.0),
        baby(still_unknown_ga_1000g, live=False, ga_days=None, weight_g=1000.0),
        baby(still_unknown_ga_999g, live=False, ga_days=None, weight_g=999.0),
        baby(neonatal_death_day_6, neonatal_death_age_days=6),
        baby(neonatal_death_day_7, neonatal_death_age_days=7),
    ]
    facts = make_facts(
        [
            still_27w6d,
            still_28w0d,
            still_unknown_ga_1000g,
            still_unknown_ga_999g,
            neonatal_death_day_6,
            neonatal_death_day_7,
        ],
        births,
    )
    results = compute(facts, MARCH)
    # Perinatal stillbirths: 28+0 (196 d) and the 1000 g one with unknown GA = 2.
    # Early neonatal deaths (0-6 days): the day-6 death = 1. Live births: 2.
    assert counts(results, "perinatal_mortality_rate") == (2 + 1, 2 + 2)
    assert by_id(results)["perinatal_mortality_rate"].value == 750.0
    assert by_id(results)["perinatal_mortality_rate"].unit == "‰"


def test_first_contact_at_90_and_91_days_and_the_who_84_day_line() -> None:
    rows = [pregnancy(first_contact_ga_days=ga) for ga in (83, 84, 90, 91, None)]
    results = compute(make_facts(rows), MARCH)
    # Before 13+0 weeks = GA < 91 d: 83, 84, 90 (an unknown GA is not early).
    assert counts(results, "early_registration_rate") == (3, 5)
    # WHO first contact at ≤ 12 weeks, 12+0 included = GA ≤ 84 d: 83 and 84.
    assert counts(results, "who_anc_first_contact_12w_rate") == (2, 5)


def test_delivery_on_31_march_and_1_april() -> None:
    march = pregnancy(delivery_date=date(2025, 3, 31))
    april = pregnancy(delivery_date=date(2025, 4, 1), live_births=2)
    facts = make_facts([march, april])
    assert counts(compute(facts, "2025-03"), "postpartum_42d_check_rate") == (1, 1)
    assert counts(compute(facts, "2025-04"), "postpartum_42d_check_rate") == (1, 1)
    assert counts(compute(facts, "2025-Q1"), "facility_delivery_rate") == (1, 1)
    assert counts(compute(facts, "2025-Q2"), "facility_delivery_rate") == (2, 2)
    assert counts(compute(facts, "2025"), "facility_delivery_rate") == (3, 3)


def test_statistical_year_runs_1_october_to_30_september() -> None:
    rows = [
        pregnancy(delivery_date=date(2024, 10, 1)),
        pregnancy(delivery_date=date(2025, 9, 30)),
        pregnancy(delivery_date=date(2025, 10, 1)),
    ]
    facts = make_facts(rows)
    women = "postpartum_42d_check_rate"
    # Calendar 2025: 30 Sep and 1 Oct 2025.
    assert counts(compute(facts, "2025"), women) == (2, 2)
    # Statistical 2025 = 1 Oct 2024 - 30 Sep 2025; 1 Oct 2025 is in statistical 2026.
    assert counts(compute(facts, "SY2025"), women) == (2, 2)
    assert counts(compute(facts, "SY2026"), women) == (1, 1)
    assert counts(compute(facts, "2024"), women) == (1, 1)
    assert counts(compute(facts, "SY2024"), women) == (0, 0)
    result = by_id(compute(facts, "SY2025"))[women]
    assert (result.period_start, result.period_end) == (date(2024, 10, 1), date(2025, 9, 30))
    # compute_all gives both years side by side, with the same counts as compute
    table = compute_all(facts, ["2025", "SY2025", "SY2026"])
    district = table[(table["indicator_id"] == women) & (table["area"] == "district")]
    got = dict(zip(district["period"], district["numerator"], strict=True))
    assert got == {"2025": 2, "SY2025": 2, "SY2026": 1}


def test_rolling_twelve_months() -> None:
    # Deliveries on 31 Mar 2024, 1 Apr 2024 and 31 Mar 2025: the 12 months to March 2025 are
    # 1 Apr 2024 - 31 Mar 2025, so 2 of them; to April 2025, only the last one.
    rows = [
        pregnancy(delivery_date=date(2024, 3, 31)),
        pregnancy(delivery_date=date(2024, 4, 1)),
        pregnancy(delivery_date=date(2025, 3, 31)),
    ]
    facts = make_facts(rows)
    women = "postpartum_42d_check_rate"
    assert counts(compute(facts, "2025-03-R12"), women) == (2, 2)
    assert counts(compute(facts, "2025-04-R12"), women) == (1, 1)
    assert counts(compute(facts, "2024-03-R12"), women) == (1, 1)
    labels = ["2024-03-R12", "2024-04-R12", "2025-03-R12", "2025-04-R12", "2026-03-R12"]
    table = compute_all(facts, labels)
    district = table[(table["indicator_id"] == women) & (table["area"] == "district")]
    got = dict(zip(district["period"], district["denominator"], strict=True))
    assert got == {
        "2024-03-R12": 1,
        "2024-04-R12": 2,
        "2025-03-R12": 2,
        "2025-04-R12": 1,
        "2026-03-R12": 0,
    }


def test_ratios_per_100000_are_shown_for_years_only() -> None:
    # One death over 3 live births: 33,333 per 100,000 in a month says nothing; the month shows
    # the counts (status count_only), the year and the rolling year the ratio.
    mother = pregnancy(live_births=3)
    facts = make_facts([mother], deaths=[death(mother, date(2025, 3, 20))])
    for period in ("2025-03", "2025-Q1"):
        month = by_id(compute(facts, period))["maternal_mortality_ratio"]
        assert (month.numerator, month.denominator, month.value) == (1, 3, None)
        assert month.status == "count_only"
    for period in ("2025", "SY2025", "2025-03-R12"):
        year = by_id(compute(facts, period))["maternal_mortality_ratio"]
        assert year.value == pytest.approx(100_000 / 3)
        assert year.status == "not_met"
    # other indicators show their rate in every period
    assert by_id(compute(facts, "2025-03"))["facility_delivery_rate"].value == 100.0


def test_small_denominators_are_flagged() -> None:
    # default: below 20 is small numbers; 19 women are, 20 are not; 0 is no data, not small
    nineteen = make_facts([pregnancy() for _ in range(19)])
    twenty = make_facts([pregnancy() for _ in range(20)])
    assert by_id(compute(nineteen, MARCH))["postpartum_42d_check_rate"].small_numbers
    assert not by_id(compute(twenty, MARCH))["postpartum_42d_check_rate"].small_numbers
    assert not by_id(compute(twenty, MARCH))["hiv_treatment_rate"].small_numbers  # 0/0
    five = IndicatorSettings(small_numbers_below=5)
    assert not by_id(compute(nineteen, MARCH, settings=five))[
        "postpartum_42d_check_rate"
    ].small_numbers
    table = compute_all(nineteen, [MARCH])
    row = table[(table["indicator_id"] == "postpartum_42d_check_rate")].iloc[0]
    assert bool(row["small_numbers"]) is True


def test_caesarean_basis_births_or_women() -> None:
    caesarean_twins = pregnancy(live_births=2, caesarean=True)
    vaginal = pregnancy()
    facts = make_facts([caesarean_twins, vaginal])
    births = by_id(compute(facts, MARCH, settings=IndicatorSettings(caesarean_basis="births")))
    women = by_id(compute(facts, MARCH, settings=IndicatorSettings(caesarean_basis="women")))
    assert (births["caesarean_rate"].numerator, births["caesarean_rate"].denominator) == (2, 3)
    assert births["caesarean_rate"].value == pytest.approx(200 / 3)
    assert (women["caesarean_rate"].numerator, women["caesarean_rate"].denominator) == (1, 2)
    assert women["caesarean_rate"].value == 50.0
    assert women["caesarean_rate"].settings["caesarean_basis"] == "women"


def _risk_rows(managed: set[str]) -> list[dict[str, object]]:
    """Five women, with the case-management facts the domain layer would derive for the colour
    set ``managed``: first_case_managed_date only when a colour of hers is in the set. Each is
    re-assessed (rule 7 a) and her case opened in time and followed at the interval (rule 7 b)
    when ``managed_well``."""

    def woman(colour: str, purple: bool, managed_well: bool) -> dict[str, object]:
        in_set = colour in managed or (purple and "purple" in managed)
        return pregnancy(
            highest_colour=colour,
            purple=purple,
            first_case_managed_date=date(2025, 1, 10) if in_set else None,
            case_managed_contact=in_set and managed_well,
            high_risk_managed=managed_well,
            case_opened_in_time=managed_well,
            case_followed_at_interval=managed_well,
        )

    return [
        woman("orange", False, managed_well=True),
        woman("red", False, managed_well=False),
        woman("green", True, managed_well=True),  # purple only
        woman("yellow", False, managed_well=True),
        woman("green", False, managed_well=True),  # green: in no denominator
    ]


def test_high_risk_management_follows_the_case_managed_colour_set() -> None:
    default = IndicatorSettings()
    results = compute(make_facts(_risk_rows({"orange", "red", "purple"})), MARCH, settings=default)
    # (a) over the non-green women (orange, red, purple, yellow = 4), whatever the set;
    # re-assessed or followed: orange, purple, yellow = 3.
    assert counts(results, "high_risk_management_rate") == (3, 4)
    # (b) over the case-managed set: orange, red, purple = 3; in time and followed: orange and
    # purple = 2.
    assert counts(results, "high_risk_case_management_rate") == (2, 3)
    # High-risk proportion: yellow, orange, red or purple = 4 of 5, whatever the set.
    assert counts(results, "high_risk_proportion") == (4, 5)

    red_only = IndicatorSettings(case_managed_colours=("red",))
    facts = make_facts(_risk_rows({"red"}), case_managed_colours=("red",))
    results = compute(facts, MARCH, settings=red_only)
    assert counts(results, "high_risk_case_management_rate") == (0, 1)
    assert counts(results, "high_risk_management_rate") == (3, 4)
    assert by_id(results)["high_risk_case_management_rate"].settings["case_managed_colours"] == [
        "red"
    ]

    wide = IndicatorSettings(case_managed_colours=("yellow", "orange", "red", "purple"))
    facts = make_facts(_risk_rows({"yellow", "orange", "red", "purple"}), case_managed_colours=None)
    assert counts(compute(facts, MARCH, settings=wide), "high_risk_case_management_rate") == (3, 4)


def test_high_risk_case_management_needs_both_in_time_and_at_interval() -> None:
    # Four orange women: (in time, followed) = (T, T), (T, F), (F, T), (F, F); only the first
    # is in the numerator of (b): 1 / 4. None of them re-assessed: (a) 0 / 4.
    rows = [
        pregnancy(
            highest_colour="orange",
            first_case_managed_date=date(2025, 1, 10),
            case_opened_in_time=in_time,
            case_followed_at_interval=followed,
        )
        for in_time in (True, False)
        for followed in (True, False)
    ]
    results = compute(make_facts(rows), MARCH)
    assert counts(results, "high_risk_case_management_rate") == (1, 4)
    assert counts(results, "high_risk_management_rate") == (0, 4)


def test_high_risk_facility_delivery_rate() -> None:
    # Non-green women: yellow at a facility, red at home, purple-only at a facility = 3;
    # facility deliveries among them = 2. The green home delivery is in no figure of it.
    rows = [
        pregnancy(highest_colour="yellow"),
        pregnancy(highest_colour="red", facility_delivery=False),
        pregnancy(highest_colour="green", purple=True),
        pregnancy(highest_colour="green", facility_delivery=False),
        pregnancy(highest_colour=None),
    ]
    assert counts(compute(make_facts(rows), MARCH), "high_risk_facility_delivery_rate") == (2, 3)


def test_postpartum_depression_screening_rate() -> None:
    # Three women delivered, two with an EPDS score in the 42-day window: 2 / 3 (产妇数).
    rows = [pregnancy(epds_42d=True), pregnancy(epds_42d=True), pregnancy(epds_42d=False)]
    assert counts(compute(make_facts(rows), MARCH), "postpartum_depression_screening_rate") == (
        2,
        3,
    )


def test_facts_derived_for_another_colour_set_are_refused() -> None:
    facts = make_facts(_risk_rows({"orange", "red", "purple"}))
    with pytest.raises(IndicatorInputError, match="case_managed_contact was derived"):
        compute(facts, MARCH, settings=IndicatorSettings(case_managed_colours=("red",)))


def test_anaemia_denominator_setting() -> None:
    rows = [
        pregnancy(anaemia=True),  # counts
        pregnancy(anaemia=True, thalassaemia=True),  # thalassaemia: not in the numerator
        pregnancy(thalassaemia=True),
        pregnancy(),
        pregnancy(has_hb=False),  # no Hb result: in no denominator
    ]
    facts = make_facts(rows)
    # by default (rule 8) thalassaemia women leave the denominator too: 2 women with Hb
    # and no thalassaemia, one anaemic
    excluding = compute(facts, MARCH)
    assert counts(excluding, "anaemia_prevalence_non_thalassaemia") == (1, 2)
    assert by_id(excluding)["anaemia_prevalence_non_thalassaemia"].status == "not_met"  # 50 ≥ 10
    keeping = compute(
        facts, MARCH, settings=IndicatorSettings(anaemia_denominator_excludes_thalassaemia=False)
    )
    assert counts(keeping, "anaemia_prevalence_non_thalassaemia") == (1, 4)
    assert by_id(keeping)["anaemia_prevalence_non_thalassaemia"].value == 25.0


def test_excluded_pregnancies_count_nowhere() -> None:
    tainted = pregnancy(live_births=2, excluded=True, street="S9", delivery_institution="H9")
    kept = pregnancy()
    deaths = [death(tainted, date(2025, 3, 20)), death(kept, date(2025, 3, 25))]
    facts = make_facts([tainted, kept], deaths=deaths)
    results = compute(facts, MARCH)
    assert counts(results, "facility_delivery_rate") == (1, 1)
    assert counts(results, "postpartum_42d_check_rate") == (1, 1)
    assert counts(results, "perinatal_mortality_rate") == (0, 1)
    # The death of the excluded pregnancy is not counted either.
    assert counts(results, "maternal_mortality_ratio") == (1, 1)
    table = compute_all(facts, [MARCH])
    assert "S9" not in set(table["area"])
    assert "H9" not in set(table["institution"])


def test_street_and_institution_views() -> None:
    a = pregnancy(street="S1", delivery_institution="H1")
    b = pregnancy(street="S2", delivery_institution="H1", live_births=2)
    c = pregnancy(street=None, delivery_institution="H2")
    d = pregnancy(street="S1", delivery_institution=None, facility_delivery=False)
    facts = make_facts([a, b, c, d])
    facility = "facility_delivery_rate"
    assert counts(compute(facts, MARCH), facility) == (4, 5)  # d was at home
    assert counts(compute(facts, MARCH, area="S1"), facility) == (1, 2)
    assert counts(compute(facts, MARCH, area="S2"), facility) == (2, 2)
    assert counts(compute(facts, MARCH, institution="H1"), facility) == (3, 3)
    assert counts(compute(facts, MARCH, institution="H2"), facility) == (1, 1)
    assert counts(compute(facts, MARCH, area="S1", institution="H1"), facility) == (1, 1)
    only_s1 = by_id(compute(facts, MARCH, area="S1"))[facility]
    assert (only_s1.area, only_s1.institution) == ("S1", "all")


def test_deaths_and_congenital_syphilis_belong_to_the_reporting_institution() -> None:
    mother = pregnancy(street="S1", delivery_institution="H1")
    other = pregnancy(street="S2", delivery_institution="H2")
    deaths = [death(mother, date(2025, 3, 20), street="S2", reporting_institution="H2")]
    cases = [syphilis_case(date(2025, 3, 2), street="S1", reporting_institution="H2")]
    facts = make_facts([mother, other], deaths=deaths, syphilis=cases)
    # Deaths: by the death's street and reporting institution; live births by the delivery's.
    assert counts(compute(facts, MARCH, area="S2"), "maternal_mortality_ratio") == (1, 1)
    assert counts(compute(facts, MARCH, area="S1"), "maternal_mortality_ratio") == (0, 1)
    assert counts(compute(facts, MARCH, institution="H2"), "maternal_mortality_ratio") == (1, 1)
    assert counts(compute(facts, MARCH, institution="H1"), "maternal_mortality_ratio") == (0, 1)
    h2 = by_id(compute(facts, "2025", institution="H2"))
    assert h2["congenital_syphilis_rate"].numerator == 1
    assert h2["congenital_syphilis_rate"].value == 100_000.0  # 1 / 1 live birth × 100,000
    assert counts(compute(facts, MARCH, area="S1"), "congenital_syphilis_rate") == (1, 1)
    assert counts(compute(facts, "2025-04"), "congenital_syphilis_rate") == (0, 0)


def test_denominator_zero_is_no_data() -> None:
    results = by_id(compute(make_facts([pregnancy()]), MARCH))
    treatment = results["hiv_treatment_rate"]  # nobody HIV-positive
    assert (treatment.numerator, treatment.denominator, treatment.value) == (0, 0, None)
    assert treatment.status == "no_data"
    empty_month = by_id(compute(make_facts([pregnancy()]), "2025-05"))
    assert all(v.status == "no_data" and v.value is None for v in empty_month.values())
    assert len(empty_month) == len(CALCULATED)


def test_maternal_deaths_count_by_death_day_whatever_the_cohort() -> None:
    december = pregnancy(delivery_date=date(2024, 12, 20))
    january = pregnancy(delivery_date=date(2025, 1, 5))
    loss = pregnancy(
        delivery_date=None, live_births=0, pregnancy_end_date=date(2024, 12, 1), street="S1"
    )
    deaths = [
        death(december, date(2025, 1, 10)),  # 21 days after a December delivery
        death(loss, date(2025, 1, 12)),  # within 42 days of a loss
        death(january, date(2025, 1, 15), maternal=False),  # external cause
    ]
    facts = make_facts([december, january, loss], deaths=deaths)
    jan = by_id(compute(facts, "2025-01"))["maternal_mortality_ratio"]
    assert (jan.numerator, jan.denominator) == (2, 1)  # 活产数 of January's cohort only
    assert jan.status == "count_only"  # a month shows counts; the ratio is per year
    year = by_id(compute(facts, "2025"))["maternal_mortality_ratio"]
    assert (year.numerator, year.denominator, year.value) == (2, 1, 200_000.0)
    assert year.status == "not_met"
    assert counts(compute(facts, "2024-12"), "maternal_mortality_ratio") == (0, 1)


def test_systematic_management_needs_all_four_conditions() -> None:
    rows = [
        pregnancy(),
        pregnancy(first_contact_ga_days=91),
        pregnancy(prenatal_check_days=4),
        pregnancy(facility_delivery=False, delivery_institution=None),
        pregnancy(postpartum_visit_28d=False),
    ]
    results = compute(make_facts(rows), MARCH)
    assert counts(results, "systematic_management_rate") == (1, 5)
    assert counts(results, "prenatal_5plus_rate") == (4, 5)
    assert counts(results, "postpartum_visit_rate") == (4, 5)


def test_prenatal_check_thresholds() -> None:
    rows = [pregnancy(prenatal_check_days=n) for n in (0, 1, 3, 4, 5, 7, 8)]
    results = compute(make_facts(rows), MARCH)
    assert counts(results, "prenatal_care_rate") == (6, 7)
    assert counts(results, "who_anc_4plus_rate") == (4, 7)
    assert counts(results, "prenatal_5plus_rate") == (3, 7)
    assert counts(results, "who_anc_8plus_rate") == (1, 7)


def test_infection_testing_windows_and_treatment() -> None:
    rows = [
        pregnancy(),  # tested early in pregnancy
        pregnancy(hiv_tested_early=False),  # tested later in pregnancy
        pregnancy(hiv_tested_early=False, hiv_tested_in_pregnancy=False),  # at delivery only
        pregnancy(hiv_tested=False, hiv_tested_early=False, hiv_tested_in_pregnancy=False),
        pregnancy(hiv_positive=True, hiv_treated=True, syphilis_positive=True),
        pregnancy(hiv_positive=True),
        pregnancy(hiv_treated=True),  # treated without being positive: not in either count
    ]
    results = compute(make_facts(rows), MARCH)
    assert counts(results, "hiv_test_rate") == (6, 7)
    assert counts(results, "hiv_test_in_pregnancy_rate") == (5, 7)
    assert counts(results, "hiv_early_test_rate") == (4, 7)
    assert counts(results, "hiv_treatment_rate") == (1, 2)
    assert counts(results, "syphilis_treatment_rate") == (0, 1)
    # rule 9: the WHO syphilis test rate duplicated syphilis_test_in_pregnancy_rate; removed
    assert "who_anc_syphilis_test_rate" not in by_id(results)


def test_each_infection_has_its_own_three_test_rates() -> None:
    """The nine testing indicators (docs/indicator-rules.md, "Tested for an infection" and the
    table): tested (pregnancy start to discharge), tested in pregnancy (before the delivery
    admission) and tested early (GA < 91 d), for HIV, syphilis and HBsAg, each over 产妇数."""

    def tested(infection: str, level: int) -> dict[str, bool]:
        # 3: early (so also in pregnancy and tested); 2: in pregnancy, not early;
        # 1: at the delivery admission only; 0: not tested.
        return {
            f"{infection}_tested": level >= 1,
            f"{infection}_tested_in_pregnancy": level >= 2,
            f"{infection}_tested_early": level >= 3,
        }

    levels = {
        "hiv": [3, 3, 2, 2, 1, 0],  # tested 5, in pregnancy 4, early 2
        "syphilis": [3, 2, 2, 1, 1, 1],  # tested 6, in pregnancy 3, early 1
        "hbsag": [3, 3, 3, 2, 0, 0],  # tested 4, in pregnancy 4, early 3
    }
    rows = [
        pregnancy(**{k: v for i in levels for k, v in tested(i, levels[i][n]).items()})
        for n in range(6)
    ]
    results = compute(make_facts(rows), MARCH)
    # 产妇数 = the 6 cohort deliveries of March (one live birth each).
    expected = {
        "hiv": (5, 4, 2),
        "syphilis": (6, 3, 1),
        "hbsag": (4, 4, 3),
    }
    for infection, (all_, in_pregnancy, early) in expected.items():
        assert counts(results, f"{infection}_test_rate") == (all_, 6), infection
        assert counts(results, f"{infection}_test_in_pregnancy_rate") == (in_pregnancy, 6)
        assert counts(results, f"{infection}_early_test_rate") == (early, 6), infection
    # hiv 5/6 = 83.3 % is below the 98 % target; syphilis 6/6 = 100 % meets it.
    hiv = by_id(results)["hiv_test_rate"]
    assert hiv.value == pytest.approx(500 / 6)
    assert hiv.status == "not_met"
    assert by_id(results)["syphilis_test_rate"].status == "met"
    assert by_id(results)["hbsag_early_test_rate"].value == 50.0  # 3/6


def test_syphilis_adequate_treatment_needs_penicillin_n_days_before_delivery() -> None:
    delivered = date(2025, 3, 20)

    def infected(start: date | None, treated: bool = True) -> dict[str, object]:
        return {
            "delivery_date": delivered,
            "syphilis_positive": True,
            "syphilis_treated": treated,
            "syphilis_penicillin_start": start,
        }

    rows = [
        # penicillin started 2025-02-18: 30 days before 20 March (Feb 18 + 10 = Feb 28,
        # + 20 = Mar 20): adequate
        pregnancy(**infected(date(2025, 2, 18))),
        # 2025-02-19: 29 days: treated, not adequate
        pregnancy(**infected(date(2025, 2, 19))),
        # treated with ceftriaxone for syphilis (no penicillin): treated, not adequate
        pregnancy(**infected(None)),
        # not infected, penicillin long before: in neither count
        pregnancy(syphilis_penicillin_start=date(2024, 12, 1)),
    ]
    results = compute(make_facts(rows), MARCH)
    assert counts(results, "syphilis_treatment_rate") == (3, 3)
    assert counts(results, "syphilis_adequate_treatment_rate") == (1, 3)
    # the setting: 29 days makes the second adequate too
    loose = compute(make_facts(rows), MARCH, settings=IndicatorSettings(syphilis_adequate_days=29))
    assert counts(loose, "syphilis_adequate_treatment_rate") == (2, 3)
    assert by_id(loose)["syphilis_adequate_treatment_rate"].settings["syphilis_adequate_days"] == 29


def test_maternal_screening_rates_count_women_delivered() -> None:
    rows = [
        pregnancy(thalassaemia_screened=True, prenatal_screened=True, prenatal_diagnosed=True),
        pregnancy(thalassaemia_screened=True, prenatal_screened=True, prenatal_diagnosed=False),
        pregnancy(thalassaemia_screened=False, prenatal_screened=False, prenatal_diagnosed=False),
        pregnancy(
            live_births=2,
            thalassaemia_screened=True,
            prenatal_screened=False,
            prenatal_diagnosed=False,
        ),
    ]
    results = compute(make_facts(rows), MARCH)
    # per woman delivered (产妇数), twins are one woman
    assert counts(results, "thalassaemia_screening_rate") == (3, 4)
    assert counts(results, "prenatal_screening_rate") == (2, 4)
    assert counts(results, "prenatal_diagnosis_rate") == (1, 4)


def test_low_birth_weight_counts_live_births_under_2500_g() -> None:
    twins = pregnancy(live_births=2)
    single = pregnancy()
    stillborn = pregnancy(live_births=0, stillbirths=1)
    births = [
        baby(twins, weight_g=2499.0),
        baby(twins, weight_g=2500.0),
        baby(single, weight_g=float("nan")),  # unknown weight: not low
        baby(stillborn, live=False, weight_g=2000.0, ga_days=250),  # not a live birth
    ]
    results = compute(make_facts([twins, single, stillborn], births), MARCH)
    assert counts(results, "low_birth_weight_rate") == (1, 3)
    assert by_id(results)["low_birth_weight_rate"].value == pytest.approx(100 / 3)


def test_status_at_exactly_the_target() -> None:
    # 9 of 10 = 90 % exactly meets ≥ 90 (0.9 × 100 is 90.00000000000001 in floating point).
    rows = [pregnancy() for _ in range(9)] + [pregnancy(postpartum_visit_28d=False)]
    results = by_id(compute(make_facts(rows), MARCH))
    assert results["systematic_management_rate"].value == 90.0
    assert results["systematic_management_rate"].status == "met"
    # 1 of 10 anaemic = 10 %, which is not < 10.
    rows = [pregnancy(anaemia=True)] + [pregnancy() for _ in range(9)]
    anaemia = by_id(compute(make_facts(rows), MARCH))["anaemia_prevalence_non_thalassaemia"]
    assert (anaemia.value, anaemia.status) == (10.0, "not_met")
    # An indicator without a plan target has no met / not met.
    assert results["early_registration_rate"].status == "no_target"


def test_results_carry_catalogue_version_settings_and_names() -> None:
    settings = IndicatorSettings(caesarean_basis="women")
    value = by_id(compute(make_facts([pregnancy()]), MARCH, settings=settings))[
        "systematic_management_rate"
    ]
    assert value.catalogue_version == CATALOGUE_VERSION
    assert value.settings == settings.to_dict()
    assert (value.name_zh, value.unit, value.target, value.direction) == (
        "孕产妇系统管理率",
        "%",
        90.0,
        ">=",
    )
    assert (value.period, value.period_start, value.period_end) == (
        MARCH,
        date(2025, 3, 1),
        date(2025, 3, 31),
    )


def test_compute_all_covers_every_view_and_period() -> None:
    rows = [
        pregnancy(street="S1", delivery_institution="H1"),
        pregnancy(street="S2", delivery_institution="H2", delivery_date=date(2025, 5, 1)),
        pregnancy(street=None, delivery_institution=None, facility_delivery=False),
    ]
    table = compute_all(make_facts(rows), ["2025-03", "2025-Q2", "2025", "2025-03"])
    # 3 distinct periods × (district + non_resident + address_unknown + 2 streets + 2
    # institutions) × every calculated indicator.
    assert len(table) == 3 * 7 * len(CALCULATED)
    views = set(zip(table["area"], table["institution"], strict=True))
    assert views == {
        ("district", "all"),
        ("non_resident", "all"),
        ("address_unknown", "all"),
        ("S1", "all"),
        ("S2", "all"),
        ("district", "H1"),
        ("district", "H2"),
    }
    s2 = table[
        (table["indicator_id"] == "facility_delivery_rate")
        & (table["area"] == "S2")
        & (table["institution"] == "all")
    ].set_index("period")
    assert s2.loc["2025-03", "denominator"] == 0  # S2 had nothing in March: no data, not absent
    assert s2.loc["2025-03", "status"] == "no_data"
    assert s2.loc["2025-Q2", "numerator"] == 1
    district_year = table[
        (table["indicator_id"] == "facility_delivery_rate")
        & (table["area"] == "district")
        & (table["institution"] == "all")
        & (table["period"] == "2025")
    ]
    assert district_year[["numerator", "denominator"]].values.tolist() == [[2, 3]]


def test_compute_all_on_empty_facts_gives_no_data_rows() -> None:
    table = compute_all(fact_tables.empty_facts(), ["2025-01"])
    # the three residence lines: district, non_resident, address_unknown
    assert len(table) == 3 * len(CALCULATED)
    assert set(table["status"]) == {"no_data"}
    assert table["value"].isna().all()


def test_compute_all_without_periods_is_empty() -> None:
    table = compute_all(make_facts([pregnancy()]), [])
    assert table.empty
    assert list(table.columns) == list(RESULT_COLUMNS)


def test_bad_period_is_refused() -> None:
    with pytest.raises(ValueError, match="Not a period"):
        compute(make_facts([pregnancy()]), "March 2025")


def test_external_indicator_values_are_entered_not_calculated() -> None:
    value = external_value("premarital_examination_rate", "2025", 130, 200)
    assert (value.value, value.status, value.target) == (65.0, "met", 65.0)
    assert external_value("cervical_cancer_screening_rate", "2025", 0, 0).status == "no_data"
    with pytest.raises(IndicatorInputError, match="not an external indicator"):
        external_value("systematic_management_rate", "2025", 1, 2)
    with pytest.raises(IndicatorInputError, match="negative"):
        external_value("prepregnancy_check_rate", "2025", -1, 2)
    assert "premarital_examination_rate" not in by_id(compute(make_facts([pregnancy()]), MARCH))


NOT_TEXT = {
    "numerator",
    "denominator",
    "value",
    "target",
    "period_start",
    "period_end",
    "small_numbers",
}


def test_no_period_gives_an_empty_table_of_the_same_columns_and_types() -> None:
    """compute_all with no period: no row, and the columns and dtypes of a computed table
    (the service stores and concatenates them)."""
    facts = make_facts([pregnancy()])
    computed = compute_all(facts, [MARCH])
    empty = compute_all(facts, [])
    assert len(empty) == 0
    assert len(computed) > 0
    assert list(empty.columns) == list(computed.columns) == list(RESULT_COLUMNS)
    # the three views (district lines, street, institution) as one table numbered 0..n-1:
    # no label names two rows
    assert set(computed["area"]) == {"district", "non_resident", "address_unknown", "S1"}
    assert list(computed.index) == list(range(len(computed)))
    for frame in (computed, empty):
        kinds = {c: str(t) for c, t in frame.dtypes.items()}
        # whole counts, nullable rates and targets, dates; the rest text (pandas' str or object)
        assert [kinds[c] for c in ("numerator", "denominator", "value", "target")] == [
            "int64",
            "int64",
            "Float64",
            "Float64",
        ]
        assert {kinds["period_start"][:10], kinds["period_end"][:10]} == {"datetime64"}
        text = [c for c in RESULT_COLUMNS if c not in NOT_TEXT]
        assert {c: kinds[c] for c in text if kinds[c] not in ("str", "object")} == {}


def test_members_lists_the_records_behind_a_result() -> None:
    twins = pregnancy(pregnancy_id="TWINS", live_births=2, first_contact_ga_days=100)
    stillbirth_only = pregnancy(pregnancy_id="STILL", live_births=0, stillbirths=1)
    elsewhere = pregnancy(pregnancy_id="S2", street="S2")
    deaths = [death(elsewhere, date(2025, 3, 20))]
    cases = [syphilis_case(date(2025, 3, 3), case_id="CASE-1", street="S2")]
    facts = make_facts([twins, stillbirth_only, elsewhere], deaths=deaths, syphilis=cases)
    # Early registration: women with first contact < 91 d over 活产数; the twins' mother was
    # late (GA 100) and adds 2 live births; the stillbirth-only delivery adds none.
    assert members(facts, "early_registration_rate", MARCH) == {
        "numerator": ["S2", "STILL"],
        "denominator": ["S2", "TWINS"],
    }
    assert members(facts, "maternal_mortality_ratio", MARCH, area="S2") == {
        "numerator": ["S2"],
        "denominator": ["S2"],
    }
    assert members(facts, "congenital_syphilis_rate", MARCH, institution="H1")["numerator"] == [
        "CASE-1"
    ]
    assert members(facts, "early_registration_rate", "2025-04") == {
        "numerator": [],
        "denominator": [],
    }
    with pytest.raises(IndicatorInputError, match="not a calculated indicator"):
        members(facts, "premarital_examination_rate", MARCH)


def test_five_check_days_a_day_0_neonatal_death_and_a_delivery_without_babies() -> None:
    # systematic management needs >= 5 check days: 5 counts, 4 does not (6 is the default row)
    five, four = pregnancy(prenatal_check_days=5), pregnancy(prenatal_check_days=4)
    results = compute(make_facts([five, four]), MARCH)
    assert counts(results, "systematic_management_rate") == (1, 2)
    assert counts(results, "prenatal_5plus_rate") == (1, 2)
    # an early neonatal death is one on days 0-6 after birth: a death on the day of birth counts
    day_0 = pregnancy()
    results = compute(make_facts([day_0], [baby(day_0, neonatal_death_age_days=0)]), MARCH)
    assert counts(results, "perinatal_mortality_rate") == (1, 1)
    # a delivery with no baby recorded adds no perinatal death and no birth
    no_baby = pregnancy(live_births=0, stillbirths=0)
    results = compute(make_facts([no_baby, pregnancy()]), MARCH)
    assert counts(results, "perinatal_mortality_rate") == (0, 1)
    assert counts(results, "low_birth_weight_rate") == (0, 1)


def test_anaemia_denominator_without_thalassaemia_keeps_every_other_woman() -> None:
    rows = [
        pregnancy(anaemia=True),
        pregnancy(),
        pregnancy(),
        pregnancy(thalassaemia=True),
    ]
    excluding = compute(
        make_facts(rows),
        MARCH,
        settings=IndicatorSettings(anaemia_denominator_excludes_thalassaemia=True),
    )
    # three women with Hb and no thalassaemia; the carrier is out of the denominator
    assert counts(excluding, "anaemia_prevalence_non_thalassaemia") == (1, 3)


def test_stored_rows_are_the_rows_of_each_value() -> None:
    # The job stores compute_all's table column by column; each row must equal the one built
    # from that row's IndicatorValue (no data values, no targets, dates, whole numbers).
    from datetime import UTC, datetime

    from mch_service.indicators.service import _stored_row, stored_rows
    from mch_service.indicators.values import iter_values

    rows = [pregnancy(), pregnancy(street="S2", delivery_institution="H2")]
    facts = make_facts(rows, deaths=[death(rows[0], date(2025, 3, 20))])
    table = compute_all(facts, [MARCH, "2025", "SY2025", "2025-03-R12"])
    now = datetime(2025, 6, 1, tzinfo=UTC)
    fast = stored_rows(table, '{"s":1}', now)
    slow = [_stored_row(v, '{"s":1}', now) for v in iter_values(table)]
    assert len(fast) == len(table) > 100
    assert fast == slow
    assert any(r["value"] is None for r in fast)
    assert any(r["target"] is None for r in fast)
    assert [{k: type(v) for k, v in r.items()} for r in fast] == [
        {k: type(v) for k, v in r.items()} for r in slow
    ]
    assert stored_rows(table.iloc[0:0], "{}", now) == []


def test_members_of_the_caesarean_rate_follow_the_basis() -> None:
    # The one indicator whose counts depend on the settings: the drill-down must list the
    # records of the counts the settings choose, as compute counts them.
    twins = pregnancy(pregnancy_id="TWINS", live_births=2, caesarean=True)
    vaginal = pregnancy(pregnancy_id="VAGINAL")
    stillbirth_only = pregnancy(pregnancy_id="STILL", live_births=0, stillbirths=1, caesarean=True)
    facts = make_facts([twins, vaginal, stillbirth_only])
    births = IndicatorSettings(caesarean_basis="births")
    women = IndicatorSettings(caesarean_basis="women")
    # Per live birth: caesarean live births (only the twins' mother has any) over live births
    # (the stillbirth-only delivery has none).
    assert members(facts, "caesarean_rate", MARCH, settings=births) == {
        "numerator": ["TWINS"],
        "denominator": ["TWINS", "VAGINAL"],
    }
    # Per woman: women delivered by caesarean (the stillbirth-only one too) over all three.
    assert members(facts, "caesarean_rate", MARCH, settings=women) == {
        "numerator": ["STILL", "TWINS"],
        "denominator": ["STILL", "TWINS", "VAGINAL"],
    }


def test_compute_all_without_any_street_still_has_the_institution_view() -> None:
    # Every woman lives outside the district (no street), yet an institution delivered her:
    # the place-of-service view (district, H1) must still be there.
    visitor = pregnancy(street=None, residence=fact_tables.NON_RESIDENT)
    table = compute_all(make_facts([visitor]), [MARCH])
    # 3 residence lines + no street + 1 institution, each with every calculated indicator
    assert len(table) == 4 * len(CALCULATED)
    views = set(zip(table["area"], table["institution"], strict=True))
    assert views == {
        ("district", "all"),
        ("non_resident", "all"),
        ("address_unknown", "all"),
        ("district", "H1"),
    }
    facility = table[table["indicator_id"] == "facility_delivery_rate"].set_index(
        ["area", "institution"]
    )
    # her one live birth, in a facility: 1/1 at H1 and on the non-resident line; the district's
    # residents have none (0/0)
    assert facility.loc[("district", "H1"), ["numerator", "denominator"]].tolist() == [1, 1]
    assert facility.loc[("non_resident", "all"), ["numerator", "denominator"]].tolist() == [1, 1]
    assert facility.loc[("district", "all"), ["numerator", "denominator"]].tolist() == [0, 0]


def test_street_codes_and_institution_ids_are_kept_exactly_as_given() -> None:
    # The contract takes any non-empty text as a street code or institution id. Codes are
    # matched and shown as given, character for character, even a trailing NUL (which numpy's
    # fixed-width text arrays would silently drop, losing the code's counts).
    street, institution = "S1\x00", "H1\x00"
    table = compute_all(
        make_facts([pregnancy(street=street, delivery_institution=institution)]), [MARCH]
    )
    facility = table[table["indicator_id"] == "facility_delivery_rate"]
    got = {
        (area, inst): (num, den)
        for area, inst, num, den in facility[
            ["area", "institution", "numerator", "denominator"]
        ].itertuples(index=False)
    }
    # one resident woman, one live birth in a facility: 1/1 for the district, her street and
    # her institution; nothing for the two other residence lines
    assert got == {
        ("district", "all"): (1, 1),
        ("non_resident", "all"): (0, 0),
        ("address_unknown", "all"): (0, 0),
        (street, "all"): (1, 1),
        ("district", institution): (1, 1),
    }
