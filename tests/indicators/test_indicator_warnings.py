"""Early warning: off-target now, or a least-squares trend that misses the target by the
horizon. Series are built by hand; projections are worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from mch_service.indicators.periods import parse_period
from mch_service.indicators.settings import IndicatorSettings
from mch_service.indicators.values import IndicatorValue
from mch_service.indicators.warnings import default_horizon, early_warnings

HIV = ("hiv_test_rate", "孕产妇艾滋病检测率", "HIV testing rate", 98.0, ">=")
ANAEMIA = ("anaemia_prevalence_non_thalassaemia", "孕妇非地贫贫血患病率", "Anaemia", 10.0, "<")


def _value(
    indicator: tuple[str, str, str, float, str],
    period: str,
    numerator: int,
    denominator: int,
    status: str,
    area: str = "district",
) -> IndicatorValue:
    p = parse_period(period)
    return IndicatorValue(
        id=indicator[0],
        name_zh=indicator[1],
        name_en=indicator[2],
        period=p.label,
        period_start=p.start,
        period_end=p.end,
        area=area,
        institution="all",
        numerator=numerator,
        denominator=denominator,
        value=numerator * 100 / denominator if denominator else None,
        unit="%",
        target=indicator[3],
        direction=indicator[4],
        status=status,  # type: ignore[arg-type]
        catalogue_version="2026.1",
        settings=IndicatorSettings().to_dict(),
    )


def _months(
    indicator: tuple[str, str, str, float, str],
    numerators: list[int],
    statuses: list[str],
    first_month: int = 1,
    area: str = "district",
) -> list[IndicatorValue]:
    return [
        _value(indicator, f"2025-{first_month + i:02d}", n, 1000, s, area)
        for i, (n, s) in enumerate(zip(numerators, statuses, strict=True))
    ]


def test_a_falling_trend_is_flagged_before_it_misses_the_target() -> None:
    # 99.5, 99.2, ..., 98.0 % from January to June: slope −0.3 per month, line at June 98.0,
    # so December (6 months on) projects 98.0 − 1.8 = 96.2 %, below the ≥ 98 target.
    series = _months(HIV, [995, 992, 989, 986, 983, 980], ["met"] * 6)
    [flag] = early_warnings(series, "2025-06", plan_year="calendar")
    assert flag.kind == "trend"
    assert flag.horizon == "2025-12"
    assert flag.points == 6
    assert flag.slope_per_period == pytest.approx(-0.3)
    assert flag.projected_value == pytest.approx(96.2)
    assert flag.value == 98.0
    assert "96.20%" in flag.reason_zh
    assert "2025-12" in flag.reason_zh
    assert "least-squares trend of the last 6 periods" in flag.reason_en


def test_by_default_the_trend_projects_to_the_end_of_the_statistical_year() -> None:
    # The same fall of 0.3 a month from 98.0 % in June: September (3 months on) projects
    # 98.0 − 0.9 = 97.1 %, below the ≥ 98 target of the plan's statistical year.
    series = _months(HIV, [995, 992, 989, 986, 983, 980], ["met"] * 6)
    [flag] = early_warnings(series, "2025-06")
    assert (flag.horizon, flag.projected_value) == ("2025-09", pytest.approx(97.1))


def test_small_numbers_raise_no_warning() -> None:
    # 9 of 10 is off the ≥ 98 % target, but 10 women say little: flagged small numbers in
    # the results, no warning here; the same figure on 1000 women is flagged.
    small = [
        IndicatorValue(**{**v.__dict__, "denominator": 10, "numerator": 9, "small_numbers": True})
        for v in _months(HIV, [900], ["not_met"], first_month=6)
    ]
    assert early_warnings(small, "2025-06") == []
    [flag] = early_warnings(_months(HIV, [900], ["not_met"], first_month=6), "2025-06")
    assert flag.kind == "off_target"


def test_a_steady_series_is_not_flagged() -> None:
    series = _months(HIV, [990] * 6, ["met"] * 6)
    assert early_warnings(series, "2025-06") == []


def test_off_target_now_is_flagged_once() -> None:
    series = _months(HIV, [995, 992, 989, 986, 983, 970], ["met"] * 5 + ["not_met"])
    [flag] = early_warnings(series, "2025-06")
    assert flag.kind == "off_target"
    assert flag.value == 97.0
    assert flag.reason_zh == "2025-06 孕产妇艾滋病检测率为97.00%，未达到目标≥98%。"
    assert flag.reason_en == "HIV testing rate was 97.00% in 2025-06; the target is ≥ 98%."


def test_the_window_limits_the_trend_to_the_last_periods() -> None:
    # Rising for four months, then 99.0 → 98.5: the last 2 points fall by 0.5 a month and
    # project 98.5 − 0.5 × 6 = 95.5 % by December; over 6 points the line is nearly flat.
    series = _months(HIV, [985, 987, 989, 991, 990, 985], ["met"] * 6)
    kinds = early_warnings(series, "2025-06", window=2, min_points=2, plan_year="calendar")
    assert [w.kind for w in kinds] == ["trend"]
    [flag] = early_warnings(series, "2025-06", window=2, min_points=2, plan_year="calendar")
    assert flag.projected_value == pytest.approx(95.5)
    # Six points: x = −5..0, y = 98.5, 98.7, 98.9, 99.1, 99.0, 98.5; slope = Σxy'/Σx'² with
    # centred x' = x + 2.5: (−2.5·98.5 − 1.5·98.7 − 0.5·98.9 + 0.5·99.1 + 1.5·99.0 + 2.5·98.5)
    # / 17.5 = 0.4 / 17.5 ≈ 0.0229 per month: rising, so no flag.
    assert early_warnings(series, "2025-06", window=6) == []


def test_too_few_points_give_no_trend() -> None:
    series = _months(HIV, [995, 980], ["met", "met"], first_month=5)
    assert early_warnings(series, "2025-06") == []  # min_points defaults to 3


def test_a_rising_rate_with_an_upper_target() -> None:
    # Anaemia < 10 %: 8.0, 8.5, 9.0 % → slope +0.5, projects 9.0 + 0.5 × 9 = 13.5 % in December.
    series = _months(ANAEMIA, [80, 85, 90], ["met"] * 3, first_month=1)
    [flag] = early_warnings(series, "2025-03", plan_year="calendar")
    assert (flag.kind, flag.direction) == ("trend", "<")
    assert flag.projected_value == pytest.approx(13.5)


def test_indicators_without_a_target_and_other_series_are_left_alone() -> None:
    no_target = ("early_registration_rate", "早孕建册率", "Early", None, None)
    series = [
        *_months(HIV, [990] * 3, ["met"] * 3, area="S1"),
        *_months(HIV, [995, 990, 985], ["met"] * 3, area="S2"),  # projects 98.5 − 4.5 = 94.0
        *[
            IndicatorValue(
                **{**v.__dict__, "target": None, "direction": None, "status": "no_target"}
            )
            for v in _months(no_target, [900, 800, 700], ["no_target"] * 3)  # type: ignore[arg-type]
        ],
    ]
    flags = early_warnings(series, "2025-03")
    assert [(w.indicator_id, w.area, w.kind) for w in flags] == [("hiv_test_rate", "S2", "trend")]


def test_current_period_without_data_gives_no_flag() -> None:
    series = [*_months(HIV, [995, 990, 985], ["met"] * 3), _value(HIV, "2025-04", 0, 0, "no_data")]
    assert early_warnings(series, "2025-04") == []


def test_default_horizons() -> None:
    # The plan is monitored on the statistical year by default: it ends in September, and
    # October starts the next one.
    assert default_horizon(parse_period("2025-06")).label == "2025-09"
    assert default_horizon(parse_period("2025-11")).label == "2026-09"
    assert default_horizon(parse_period("2025-Q4")).label == "2026-Q3"
    assert default_horizon(parse_period("2025-05-R12")).label == "2025-09-R12"
    year = default_horizon(parse_period("SY2025"))
    assert (year.label, year.start) == ("SY2026", date(2025, 10, 1))
    assert default_horizon(parse_period("2025")).label == "2026"
    # Calendar plan year (MCH_INDICATOR_PLAN_YEAR=calendar)
    assert default_horizon(parse_period("2025-06"), "calendar").label == "2025-12"
    assert default_horizon(parse_period("2025-Q2"), "calendar").label == "2025-Q4"
    assert default_horizon(parse_period("2025-11"), "calendar").label == "2025-12"


def test_bad_arguments() -> None:
    series = _months(HIV, [990] * 3, ["met"] * 3)
    with pytest.raises(ValueError, match="at least 2"):
        early_warnings(series, "2025-03", window=1)
    with pytest.raises(ValueError, match="horizon"):
        early_warnings(series, "2025-03", horizon="2025-01")
    with pytest.raises(ValueError, match="horizon"):
        early_warnings(series, "2025-03", horizon="2025")
