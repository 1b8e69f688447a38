"""Both sides of the issue 14 thresholds in the indicator calculations, one row per case with its
clinical or statistical reason (docs/indicator-rules.md; docs/testing.md, "Thresholds").

Each row is one hand-built cohort pregnancy (tests/indicators/tables.py: delivered 15 March
2025, one live baby) changed only in what the row is about; the expected counts are read off
the row, never computed with the code under test.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest

from mch_service.indicators import fact_tables
from mch_service.indicators.calculations import compute, compute_all, external_value
from mch_service.indicators.catalogue import BY_ID as CATALOGUE_BY_ID
from mch_service.indicators.catalogue import CATALOGUE_VERSION
from mch_service.indicators.errors import IndicatorInputError
from mch_service.indicators.settings import IndicatorSettings
from tests.indicators.tables import baby, by_id, counts, make_facts, pregnancy

MARCH = "2025-03"
DELIVERED = date(2025, 3, 15)
NAN = math.nan

# --- exposed infants: HBIG within MCH_INDICATOR_HBIG_HOURS, hepatitis B vaccine within
# MCH_INDICATOR_HEPB_VACCINE_HOURS (both ends included: "0 to N hours after birth") ---------

HOURS_ROWS = [
    # (indicator, hours after birth, limit setting, on time?, reason)
    ("hbig_12h_rate", 0.0, 12, True, "HBIG in the delivery room, at the birth instant"),
    ("hbig_12h_rate", 11.0, 12, True, "an hour inside the 12-hour window"),
    ("hbig_12h_rate", 12.0, 12, True, "exactly 12 h: the norm says within 12 h, 12 included"),
    ("hbig_12h_rate", 12.5, 12, False, "half an hour late: not rounded down to 12"),
    ("hbig_12h_rate", 13.0, 12, False, "one hour after the limit"),
    ("hbig_12h_rate", NAN, 12, False, "birth or dose time unknown: not counted as on time"),
    ("hbig_12h_rate", 6.0, 6, True, "a site's stricter 6-hour limit, at the limit"),
    ("hbig_12h_rate", 7.0, 6, False, "a site's stricter 6-hour limit, one hour after"),
    ("hepb_vaccine_24h_rate", 0.0, 24, True, "first vaccine dose at the birth instant"),
    ("hepb_vaccine_24h_rate", 24.0, 24, True, "exactly 24 h: within 24 h, 24 included"),
    ("hepb_vaccine_24h_rate", 25.0, 24, False, "one hour after the 24-hour limit"),
    ("hepb_vaccine_24h_rate", NAN, 24, False, "vaccine recorded with a date only"),
    ("hepb_vaccine_24h_rate", 12.0, 12, True, "a site's 12-hour vaccine limit, at the limit"),
    ("hepb_vaccine_24h_rate", 13.0, 12, False, "a site's 12-hour vaccine limit, one hour after"),
]


@pytest.mark.parametrize(("indicator", "hours", "limit", "on_time", "reason"), HOURS_ROWS)
def test_infant_dose_hours_on_both_sides_of_the_limit(
    indicator: str, hours: float, limit: int, on_time: bool, reason: str
) -> None:
    # one HBsAg-positive mother, one live baby given the dose `hours` after birth; the other
    # dose is never given (NaN), so it cannot make the row pass by itself
    mother = pregnancy(hbsag_positive=True)
    column, setting = {
        "hbig_12h_rate": (fact_tables.HBIG_AFTER_HOURS, "hbig_hours"),
        "hepb_vaccine_24h_rate": (fact_tables.HEPB_VACCINE_AFTER_HOURS, "hepb_vaccine_hours"),
    }[indicator]
    other = (
        fact_tables.HEPB_VACCINE_AFTER_HOURS
        if column == fact_tables.HBIG_AFTER_HOURS
        else fact_tables.HBIG_AFTER_HOURS
    )
    child = baby(mother, **{column: hours, other: NAN})
    settings = (
        IndicatorSettings(hbig_hours=limit)
        if setting == "hbig_hours"
        else IndicatorSettings(hepb_vaccine_hours=limit)
    )
    results = compute(make_facts([mother], [child]), MARCH, settings=settings)
    # denominator: the live births of HBsAg-positive cohort women = 1
    assert counts(results, indicator) == (int(on_time), 1), reason
    # the setting in force is recorded with the result
    assert by_id(results)[indicator].settings[setting] == limit, reason


def test_infant_doses_count_live_born_babies_of_positive_mothers_only() -> None:
    # M: HBsAg-positive, twins: twin 1 live with HBIG at 2 h, twin 2 stillborn (a dose
    #    recorded for a stillborn baby is no protection of a live child): 1 / 1 live birth.
    # N: HBsAg-negative, baby given HBIG at 1 h (a routine dose): not exposed, in no count.
    m = pregnancy(hbsag_positive=True, live_births=1, stillbirths=1)
    n = pregnancy(hbsag_positive=False)
    births = [
        baby(m, hbig_after_hours=2.0, hepb_vaccine_after_hours=3.0),
        baby(m, live=False, hbig_after_hours=2.0, hepb_vaccine_after_hours=3.0),
        baby(n, hbig_after_hours=1.0, hepb_vaccine_after_hours=1.0),
    ]
    results = compute(make_facts([m, n], births), MARCH)
    assert counts(results, "hbig_12h_rate") == (1, 1)
    assert counts(results, "hepb_vaccine_24h_rate") == (1, 1)


# --- syphilis adequately treated: penicillin started >= N days before the delivery day -----

ADEQUATE_ROWS = [
    # (penicillin start, days before delivery it started, adequate?, reason)
    (DELIVERED - timedelta(days=120), True, "started in the second trimester: long before"),
    (DELIVERED - timedelta(days=31), True, "31 days before: one day more than needed"),
    (DELIVERED - timedelta(days=30), True, "exactly 30 days before: the WHO/CDC line, included"),
    (DELIVERED - timedelta(days=29), False, "29 days: too late to treat the fetus reliably"),
    (DELIVERED - timedelta(days=1), False, "the day before delivery"),
    (DELIVERED, False, "started on the delivery day"),
    (None, False, "treated, but not with penicillin (no penicillin start)"),
]


@pytest.mark.parametrize(("start", "adequate", "reason"), ADEQUATE_ROWS)
def test_syphilis_adequate_treatment_on_both_sides_of_30_days(
    start: date | None, adequate: bool, reason: str
) -> None:
    woman = pregnancy(
        syphilis_positive=True, syphilis_treated=True, syphilis_penicillin_start=start
    )
    results = compute(make_facts([woman]), MARCH)
    # denominator: the syphilis-infected cohort women = 1
    assert counts(results, "syphilis_adequate_treatment_rate") == (int(adequate), 1), reason
    assert counts(results, "syphilis_treatment_rate") == (1, 1), reason


@pytest.mark.parametrize(
    ("days", "setting", "adequate", "reason"),
    [
        (14, 14, True, "a site's 14-day rule, at the limit"),
        (13, 14, False, "a site's 14-day rule, one day short"),
        (0, 0, True, "a 0-day rule: any penicillin started by the delivery day"),
    ],
)
def test_syphilis_adequate_days_is_a_setting(
    days: int, setting: int, adequate: bool, reason: str
) -> None:
    start = DELIVERED - timedelta(days=days)
    woman = pregnancy(
        syphilis_positive=True, syphilis_treated=True, syphilis_penicillin_start=start
    )
    settings = IndicatorSettings(syphilis_adequate_days=setting)
    results = compute(make_facts([woman]), MARCH, settings=settings)
    assert counts(results, "syphilis_adequate_treatment_rate") == (int(adequate), 1), reason


def test_penicillin_of_a_woman_without_syphilis_counts_nowhere() -> None:
    # penicillin for a sore throat long before delivery: she is not infected, so in neither
    # the numerator nor the denominator (no data: 0 / 0)
    woman = pregnancy(syphilis_penicillin_start=DELIVERED - timedelta(days=90))
    results = compute(make_facts([woman]), MARCH)
    assert counts(results, "syphilis_adequate_treatment_rate") == (0, 0)


# --- small numbers (小数字): a denominator above 0 and below 20 -----------------------------

SMALL_ROWS = [
    # (women delivered = the denominator of the 42-day check rate, setting, small?, reason)
    (1, 20, True, "one woman: one record moves the rate by 100 points"),
    (19, 20, True, "19: the last denominator below 20"),
    (20, 20, False, "20: the first denominator read as stable"),
    (21, 20, False, "above the line"),
    (4, 5, True, "a site's line of 5: 4 is small"),
    (5, 5, False, "a site's line of 5: 5 is not"),
    (1, 0, False, "the flag switched off (line 0): nothing is small"),
]


@pytest.mark.parametrize(("women", "below", "small", "reason"), SMALL_ROWS)
def test_small_numbers_on_both_sides_of_the_line(
    women: int, below: int, small: bool, reason: str
) -> None:
    facts = make_facts([pregnancy() for _ in range(women)])
    settings = IndicatorSettings(small_numbers_below=below)
    value = by_id(compute(facts, MARCH, settings=settings))["postpartum_42d_check_rate"]
    assert (value.numerator, value.denominator) == (women, women), reason
    assert value.small_numbers is small, reason
    # the stored table (compute_all) says the same
    table = compute_all(facts, [MARCH], settings=settings)
    rows = table.loc[
        (table["indicator_id"] == "postpartum_42d_check_rate")
        & (table["area"] == "district")
        & (table["institution"] == "all")
    ]
    assert len(rows) == 1, reason
    assert (int(rows["denominator"].iloc[0]), bool(rows["small_numbers"].iloc[0])) == (
        women,
        small,
    ), reason


def test_a_zero_denominator_is_no_data_not_small_numbers() -> None:
    # no HIV-infected woman: the treatment rate has nothing to be unstable about
    value = by_id(compute(make_facts([pregnancy()]), MARCH))["hiv_treatment_rate"]
    assert (value.numerator, value.denominator, value.value) == (0, 0, None)
    assert value.small_numbers is False


# --- the cohort: a delivery at 28+0 weeks or later (counted_delivery, set by the loader) ----


@pytest.mark.parametrize(
    ("counted", "women", "reason"),
    [
        (True, 1, "a delivery at 28+0 weeks or later: in 产妇数 and 活产数"),
        (False, 0, "an ending before 28+0 weeks (流产/引产): a loss, in no cohort count"),
    ],
)
def test_only_counted_deliveries_are_in_the_cohort(counted: bool, women: int, reason: str) -> None:
    row = pregnancy(counted_delivery=counted)
    results = compute(make_facts([row]), MARCH)
    assert counts(results, "postpartum_42d_check_rate") == (women, women), reason  # 产妇数
    assert counts(results, "postpartum_visit_rate") == (women, women), reason  # 活产数
    assert counts(results, "hbsag_test_rate") == (women, women), reason


# --- external figures (PUT /api/v1/indicators/{id}/external) at their targets --------------

EXTERNAL_ROWS = [
    # (indicator, numerator, denominator, value %, status, reason)
    ("hiv_mtct_rate", 1, 51, 100 / 51, "met", "1.96 %: below the plan's < 2 %"),
    ("hiv_mtct_rate", 1, 50, 2.0, "not_met", "exactly 2 %: '< 2 %' excludes 2"),
    ("hiv_mtct_rate", 0, 40, 0.0, "met", "no child infected"),
    ("hiv_mtct_rate", 0, 0, None, "no_data", "no exposed child followed up"),
    ("premarital_examination_rate", 13, 20, 65.0, "met", "exactly 65 %: '>= 65 %' includes it"),
    ("premarital_examination_rate", 129, 200, 64.5, "not_met", "64.5 %: half a point short"),
    ("prepregnancy_check_rate", 4, 5, 80.0, "met", "exactly the 80 % target"),
    ("cervical_cancer_screening_rate", 69, 100, 69.0, "not_met", "a point under 70 %"),
]


@pytest.mark.parametrize(
    ("indicator", "numerator", "denominator", "value", "status", "reason"), EXTERNAL_ROWS
)
def test_external_figures_on_both_sides_of_their_targets(
    indicator: str,
    numerator: int,
    denominator: int,
    value: float | None,
    status: str,
    reason: str,
) -> None:
    settings = IndicatorSettings(small_numbers_below=7)
    got = external_value(indicator, "SY2025", numerator, denominator, "S1", "H1", settings)
    assert (got.id, got.numerator, got.denominator, got.status) == (
        indicator,
        numerator,
        denominator,
        status,
    ), reason
    if value is None:
        assert got.value is None, reason
    else:
        assert got.value == pytest.approx(value), reason
    # the period as entered (a statistical year), the view, the catalogue's target and names
    assert (got.period, got.period_start, got.period_end) == (
        "SY2025",
        date(2024, 10, 1),
        date(2025, 9, 30),
    ), reason
    assert (got.area, got.institution, got.unit) == ("S1", "H1", "%"), reason
    entry = CATALOGUE_BY_ID[indicator]
    assert (got.target, got.direction, got.name_zh, got.name_en) == (
        entry.target,
        entry.direction,
        entry.name_zh,
        entry.name_en,
    ), reason
    assert got.catalogue_version == CATALOGUE_VERSION
    assert got.settings["small_numbers_below"] == 7


@pytest.mark.parametrize(
    ("numerator", "denominator", "message"),
    [
        (-1, 10, "Numerator and denominator cannot be negative"),
        (1, -10, "Numerator and denominator cannot be negative"),
        (1.0, 10, "Numerator and denominator are whole numbers"),
        (1, 10.0, "Numerator and denominator are whole numbers"),
        (True, 10, "Numerator and denominator are whole numbers"),
    ],
)
def test_external_figures_are_whole_non_negative_counts(
    numerator: object, denominator: object, message: str
) -> None:
    # the whole message: it is the answer the monitoring officer reads (a 400's detail)
    with pytest.raises(IndicatorInputError) as refused:
        external_value("hiv_mtct_rate", "2025", numerator, denominator)  # type: ignore[arg-type]
    assert str(refused.value) == message


# --- the national and WHO antenatal lines, both sides, one cohort woman per row -------------

FIRST_CONTACT_ROWS = [
    # (GA at first contact in days, early registration?, WHO first contact?, reason)
    (84, True, True, "12+0 weeks: the WHO's <= 12 weeks includes 12+0; before 13+0 weeks"),
    (85, True, False, "12+1 weeks: past the WHO's 12 weeks, still before 13+0"),
    (90, True, False, "12+6 weeks: the last day before 13+0 (早孕建册)"),
    (91, False, False, "13+0 weeks: no longer early (before 13+0 weeks = GA < 91 d)"),
    (None, False, False, "no dated first contact: neither"),
]


@pytest.mark.parametrize(("ga", "early", "who", "reason"), FIRST_CONTACT_ROWS)
def test_first_contact_on_both_sides_of_13_and_12_weeks(
    ga: int | None, early: bool, who: bool, reason: str
) -> None:
    results = compute(make_facts([pregnancy(first_contact_ga_days=ga)]), MARCH)
    # denominators: one live birth
    assert counts(results, "early_registration_rate") == (int(early), 1), reason
    assert counts(results, "who_anc_first_contact_12w_rate") == (int(who), 1), reason


CHECK_ROWS = [
    # (prenatal check days, >= 1, WHO >= 4, >= 5, WHO >= 8, reason)
    (0, False, False, False, False, "no antenatal check: not even 产前检查"),
    (1, True, False, False, False, "one check: 产前检查 done"),
    (3, True, False, False, False, "one short of the WHO's 4 contacts"),
    (4, True, True, False, False, "4 checks: the WHO's old 4 visits, one short of the national 5"),
    (5, True, True, True, False, "5 checks: the national >= 5 (产前检查5次及以上)"),
    (7, True, True, True, False, "one short of the WHO's 8 contacts (2016 model)"),
    (8, True, True, True, True, "8 checks: the WHO's >= 8 contacts"),
]


@pytest.mark.parametrize(("checks", "one", "four", "five", "eight", "reason"), CHECK_ROWS)
def test_prenatal_check_counts_on_both_sides(
    checks: int, one: bool, four: bool, five: bool, eight: bool, reason: str
) -> None:
    results = compute(make_facts([pregnancy(prenatal_check_days=checks)]), MARCH)
    assert counts(results, "prenatal_care_rate") == (int(one), 1), reason
    assert counts(results, "who_anc_4plus_rate") == (int(four), 1), reason
    assert counts(results, "prenatal_5plus_rate") == (int(five), 1), reason
    assert counts(results, "who_anc_8plus_rate") == (int(eight), 1), reason


BABY_ROWS = [
    # (baby changes, live?, perinatal death?, low weight?, preterm?, macrosomia?, reason)
    (
        {"ga_days": 195, "weight_g": 1100.0},
        False,
        False,
        False,
        False,
        False,
        "stillborn at 27+6 weeks: a loss before 28+0, not perinatal even at 1,100 g",
    ),
    (
        {"ga_days": 196, "weight_g": 900.0},
        False,
        True,
        False,
        False,
        False,
        "stillborn at 28+0 weeks: perinatal by GA, whatever the weight",
    ),
    (
        {"ga_days": None, "weight_g": 999.0},
        False,
        False,
        False,
        False,
        False,
        "stillborn, GA unknown, 999 g: below the 1,000 g line",
    ),
    (
        {"ga_days": None, "weight_g": 1000.0},
        False,
        True,
        False,
        False,
        False,
        "stillborn, GA unknown, 1,000 g: perinatal by weight",
    ),
    (
        {"neonatal_death_age_days": 0},
        True,
        True,
        False,
        False,
        False,
        "live born, died on the day of birth (day 0): early neonatal",
    ),
    (
        {"neonatal_death_age_days": 6},
        True,
        True,
        False,
        False,
        False,
        "died on day 6: the last day of the early neonatal period",
    ),
    (
        {"neonatal_death_age_days": 7},
        True,
        False,
        False,
        False,
        False,
        "died on day 7: late neonatal, not perinatal",
    ),
    ({"weight_g": 2499.0}, True, False, True, False, False, "2,499 g: low birth weight (< 2,500)"),
    ({"weight_g": 2500.0}, True, False, False, False, False, "2,500 g: not low"),
    ({"ga_days": 258}, True, False, False, True, False, "36+6 weeks: preterm (< 37+0)"),
    ({"ga_days": 259}, True, False, False, False, False, "37+0 weeks: term"),
    ({"weight_g": 3999.0}, True, False, False, False, False, "3,999 g: not macrosomia"),
    ({"weight_g": 4000.0}, True, False, False, False, True, "4,000 g: macrosomia (>= 4,000)"),
]


@pytest.mark.parametrize(
    ("changes", "live", "perinatal", "low", "preterm", "large", "reason"), BABY_ROWS
)
def test_baby_lines_on_both_sides(
    changes: dict[str, object],
    live: bool,
    perinatal: bool,
    low: bool,
    preterm: bool,
    large: bool,
    reason: str,
) -> None:
    mother = pregnancy() if live else pregnancy(live_births=0, stillbirths=1)
    column = {
        "ga_days": fact_tables.GA_DAYS,
        "weight_g": fact_tables.WEIGHT_G,
        "neonatal_death_age_days": fact_tables.NEONATAL_DEATH_AGE_DAYS,
    }
    child = baby(mother, **{fact_tables.LIVE: live, **{column[k]: v for k, v in changes.items()}})
    results = compute(make_facts([mother], [child]), MARCH)
    births = int(live)  # live births: the denominator of the last three
    # perinatal deaths over live births and perinatal stillbirths
    perinatal_births = births + int(perinatal and not live)
    assert counts(results, "perinatal_mortality_rate") == (int(perinatal), perinatal_births), reason
    assert counts(results, "low_birth_weight_rate") == (int(low), births), reason
    assert counts(results, "preterm_birth_rate") == (int(preterm), births), reason
    assert counts(results, "macrosomia_rate") == (int(large), births), reason
