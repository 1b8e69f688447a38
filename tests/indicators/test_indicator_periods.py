"""Periods: labels to inclusive day ranges, statistical and rolling years, provisional figures,
consecutive series, errors."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from mch_service.indicators.errors import IndicatorInputError
from mch_service.indicators.periods import (
    PERIOD_KINDS,
    iter_periods,
    parse_period,
    period_containing,
    period_indexes,
    periods_holding,
)


@pytest.mark.parametrize(
    ("label", "start", "end"),
    [
        ("2025", date(2025, 1, 1), date(2025, 12, 31)),
        ("2025-Q1", date(2025, 1, 1), date(2025, 3, 31)),
        ("2025-Q4", date(2025, 10, 1), date(2025, 12, 31)),
        ("2025-02", date(2025, 2, 1), date(2025, 2, 28)),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
        ("2025-12", date(2025, 12, 1), date(2025, 12, 31)),
    ],
)
def test_calendar_periods(label: str, start: date, end: date) -> None:
    p = parse_period(label)
    assert (p.label, p.start, p.end) == (label, start, end)


def test_the_statistical_year_is_a_period_of_its_own() -> None:
    # 《全国妇幼健康统计调查制度》: the annual report's year runs 1 October - 30 September.
    year = parse_period("SY2025")
    assert (year.label, year.kind) == ("SY2025", "statistical_year")
    assert (year.start, year.end) == (date(2024, 10, 1), date(2025, 9, 30))
    assert year.contains(date(2025, 9, 30))
    assert not year.contains(date(2025, 10, 1))
    # ... beside the calendar year, which keeps its meaning
    assert (parse_period("2025").start, parse_period("2025").end) == (
        date(2025, 1, 1),
        date(2025, 12, 31),
    )
    assert period_containing(date(2025, 10, 1), "statistical_year").label == "SY2026"
    assert period_containing(date(2025, 9, 30), "statistical_year").label == "SY2025"
    assert period_containing(date(2025, 10, 1), "year").label == "2025"


def test_rolling_twelve_months_end_with_their_month() -> None:
    p = parse_period("2025-03-R12")
    assert (p.kind, p.start, p.end) == ("rolling_year", date(2024, 4, 1), date(2025, 3, 31))
    january = parse_period("2025-01-R12")
    assert (january.start, january.end) == (date(2024, 2, 1), date(2025, 1, 31))
    assert p.next().label == "2025-04-R12"
    # a day is in the 12 rolling years ending with its month and the 11 months after
    holding = [q.label for q in periods_holding(date(2025, 3, 15)) if q.kind == "rolling_year"]
    assert (holding[0], holding[-1], len(holding)) == ("2025-03-R12", "2026-02-R12", 12)
    assert all(parse_period(label).contains(date(2025, 3, 15)) for label in holding)
    assert not parse_period("2025-02-R12").contains(date(2025, 3, 15))
    assert not parse_period("2026-03-R12").contains(date(2025, 3, 15))


def test_periods_holding_a_day_are_one_of_each_kind_and_twelve_rolling() -> None:
    held = periods_holding(date(2024, 10, 1))
    assert [p.label for p in held[:4]] == ["2024", "SY2025", "2024-Q4", "2024-10"]
    assert [p.kind for p in held[:4]] == ["year", "statistical_year", "quarter", "month"]
    # the twelve rolling years ending with October 2024 and each of the eleven months after
    rolling = [p.label for p in held[4:]]
    assert rolling == [f"2024-{m:02d}-R12" for m in (10, 11, 12)] + [
        f"2025-{m:02d}-R12" for m in range(1, 10)
    ]
    assert all(p.kind == "rolling_year" for p in held[4:])
    assert all(p.contains(date(2024, 10, 1)) for p in held)


def test_provisional_until_the_end_plus_56_days() -> None:
    # The 42-day check may be made up to 56 days after a delivery on the period's last day.
    q = parse_period("2025-Q1")  # ends 31 March 2025
    assert q.provisional_on(date(2025, 3, 31))
    assert q.provisional_on(date(2025, 5, 26))  # 31 March + 56 days
    assert not q.provisional_on(date(2025, 5, 27))
    assert q.final_on == date(2025, 5, 27)


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("2025-13", "months are two digits, 01 to 12"),
        ("2025-3", "months are two digits"),
        ("2025-q1", "Q in capitals"),
        ("2025-Q5", "quarters are Q1 to Q4"),
        ("25", "expected a year"),
        ("", "Not a period"),
        ("2025-03-01", "Not a period"),
        ("0999", "out of range"),
        ("sy2025", "SY in capitals"),
        ("SY25", "Not a period"),
        ("2025-13-R12", "Not a period"),
        ("2025-03-R6", "Not a period"),
    ],
)
def test_bad_labels_say_what_is_expected(label: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_period(label)


def test_iterating_consecutive_periods() -> None:
    months = [p.label for p in iter_periods("2024-11", "2025-02")]
    assert months == ["2024-11", "2024-12", "2025-01", "2025-02"]
    quarters = [p.label for p in iter_periods("2024-Q4", "2025-Q2")]
    assert quarters == ["2024-Q4", "2025-Q1", "2025-Q2"]
    years = list(iter_periods("SY2024", "SY2025"))
    assert [(y.start, y.end) for y in years] == [
        (date(2023, 10, 1), date(2024, 9, 30)),
        (date(2024, 10, 1), date(2025, 9, 30)),
    ]
    assert parse_period("2025-12").next().label == "2026-01"
    assert [p.label for p in iter_periods("2025-03", "2025-03")] == ["2025-03"]


def test_iterating_refuses_mixed_kinds_and_reversed_ranges() -> None:
    with pytest.raises(ValueError, match="same kind"):
        list(iter_periods("2025", "2025-03"))
    with pytest.raises(ValueError, match="ends"):
        list(iter_periods("2025-03", "2025-01"))


def test_vectorised_indexes_match_single_periods() -> None:
    days = [date(2024, 12, 31), date(2025, 1, 1), date(2025, 3, 31), date(2025, 10, 1)]
    series = pd.Series(pd.to_datetime(days))
    for kind in PERIOD_KINDS:
        expected = [period_containing(d, kind).index for d in days]
        assert period_indexes(series, kind).tolist() == expected, kind


# --- both sides of every period edge, one row each (docs/testing.md, "Thresholds") ---------

STATISTICAL_YEAR_ROWS = [
    # (day, its statistical year, reason)
    (date(2024, 9, 30), "SY2024", "30 September: the last day of the 年报 year SY2024"),
    (date(2024, 10, 1), "SY2025", "1 October: the first day of SY2025"),
    (date(2024, 12, 31), "SY2025", "31 December: still SY2025, though the calendar year ends"),
    (date(2025, 1, 1), "SY2025", "1 January: the calendar year turns, the statistical one not"),
    (date(2025, 9, 30), "SY2025", "30 September 2025: the last day of SY2025"),
    (date(2025, 10, 1), "SY2026", "1 October 2025: the next statistical year"),
]


@pytest.mark.parametrize(("day", "label", "reason"), STATISTICAL_YEAR_ROWS)
def test_statistical_year_boundaries(day: date, label: str, reason: str) -> None:
    sy = period_containing(day, "statistical_year")
    assert sy.label == label, reason
    assert sy.contains(day), reason
    assert not sy.previous().contains(day), reason
    assert not sy.next().contains(day), reason
    assert period_indexes(pd.Series(pd.to_datetime([day])), "statistical_year").tolist() == [
        sy.index
    ], reason
    assert parse_period(label) == sy, reason


ROLLING_ROWS = [
    # (label, first day, last day, reason)
    ("2025-03-R12", date(2024, 4, 1), date(2025, 3, 31), "April to March: twelve months"),
    ("2025-12-R12", date(2025, 1, 1), date(2025, 12, 31), "ending in December: the calendar year"),
    ("2025-09-R12", date(2024, 10, 1), date(2025, 9, 30), "ending in September: SY2025's days"),
    ("2024-02-R12", date(2023, 3, 1), date(2024, 2, 29), "ending in a leap February"),
    ("2025-02-R12", date(2024, 3, 1), date(2025, 2, 28), "ending in a common February"),
    ("2025-01-R12", date(2024, 2, 1), date(2025, 1, 31), "starting in the previous February"),
]


@pytest.mark.parametrize(("label", "first", "last", "reason"), ROLLING_ROWS)
def test_rolling_twelve_months_ends(label: str, first: date, last: date, reason: str) -> None:
    p = parse_period(label)
    assert (p.kind, p.start, p.end) == ("rolling_year", first, last), reason
    one_day = timedelta(days=1)
    # both ends inside, the day before the first and the day after the last outside
    assert p.contains(first), reason
    assert p.contains(last), reason
    assert not p.contains(first - one_day), reason
    assert not p.contains(last + one_day), reason
    # the twelve months of it, each one a month of the period, none beside it
    assert period_containing(last, "rolling_year") == p, reason
    assert [q.label for q in periods_holding(first) if q.kind == "rolling_year"][-1] == label
    # consecutive rolling years step by one month
    assert p.next().end == _month_after(last), reason
    assert p.previous().next() == p, reason


def _month_after(day: date) -> date:
    """The last day of the month after ``day``'s (worked by hand for the rows above)."""
    return {
        date(2025, 3, 31): date(2025, 4, 30),
        date(2025, 12, 31): date(2026, 1, 31),
        date(2025, 9, 30): date(2025, 10, 31),
        date(2024, 2, 29): date(2024, 3, 31),
        date(2025, 2, 28): date(2025, 3, 31),
        date(2025, 1, 31): date(2025, 2, 28),
    }[day]


PROVISIONAL_ROWS = [
    # (label, day the figures are read, provisional?, reason)
    ("2025-03", date(2025, 3, 15), True, "read within the month: it has not ended"),
    ("2025-03", date(2025, 3, 31), True, "its last day: deliveries of that day are not in yet"),
    ("2025-03", date(2025, 5, 26), True, "31 March + 56 days: a 42-day check may still arrive"),
    ("2025-03", date(2025, 5, 27), False, "31 March + 57 days: every check window has closed"),
    ("SY2025", date(2025, 11, 25), True, "30 September + 56 days"),
    ("SY2025", date(2025, 11, 26), False, "30 September + 57 days"),
    ("2025-02-R12", date(2025, 4, 25), True, "28 February + 56 days"),
    ("2025-02-R12", date(2025, 4, 26), False, "28 February + 57 days"),
    ("2024", date(2025, 2, 25), True, "31 December + 56 days"),
    ("2024", date(2025, 2, 26), False, "31 December + 57 days"),
]


@pytest.mark.parametrize(("label", "day", "provisional", "reason"), PROVISIONAL_ROWS)
def test_provisional_on_both_sides_of_day_56(
    label: str, day: date, provisional: bool, reason: str
) -> None:
    p = parse_period(label)
    assert p.provisional_on(day) is provisional, reason
    # final_on is the first day that is not provisional
    assert p.final_on == p.end + timedelta(days=57), reason


@pytest.mark.parametrize(
    ("label", "previous", "following", "reason"),
    [
        ("2025-01", "2024-12", "2025-02", "months across the new year"),
        ("2025-Q1", "2024-Q4", "2025-Q2", "quarters across the new year"),
        ("2025-Q4", "2025-Q3", "2026-Q1", "the last quarter"),
        ("2025", "2024", "2026", "calendar years"),
        ("SY2025", "SY2024", "SY2026", "statistical years"),
        ("2025-01-R12", "2024-12-R12", "2025-02-R12", "rolling years across the new year"),
    ],
)
def test_consecutive_periods_for_trends(
    label: str, previous: str, following: str, reason: str
) -> None:
    # trends and early warnings compare a period with the one before it
    p = parse_period(label)
    assert (p.previous().label, p.next().label) == (previous, following), reason
    assert p.next().index - p.index == 1 == p.index - p.previous().index, reason


@pytest.mark.parametrize(
    ("label", "ok", "reason"),
    [
        ("1000", True, "the first year the service accepts"),
        ("9999", True, "the last year"),
        ("0999", False, "before year 1000: a typing error, refused as input"),
        ("SY1000", False, "SY1000 would start in year 999"),
        ("SY1001", True, "starts 1 October 1000"),
        ("1000-11-R12", False, "would start in December 999"),
        ("1000-12-R12", True, "starts 1 January 1000"),
        ("9999-12", True, "the last month"),
    ],
)
def test_years_out_of_range_are_refused_not_crashed_on(label: str, ok: bool, reason: str) -> None:
    if ok:
        assert parse_period(label).label == label, reason
    else:
        # the service's own input error (a 400 naming the year), not datetime's ValueError
        with pytest.raises(IndicatorInputError, match=r"^Year \d+ is out of range"):
            parse_period(label)


def test_the_period_after_december_9999_is_refused_as_input() -> None:
    # a series or a projection that steps past the last year the service accepts gets the
    # service's input error (a 400 naming the year), not datetime's bare ValueError (a 500)
    for label in ("9999-12", "9999-Q4", "9999", "SY9999", "9999-12-R12"):
        with pytest.raises(IndicatorInputError, match=r"^Year 10000 is out of range"):
            parse_period(label).next()


def test_a_period_that_is_not_text_is_refused_with_the_forms_it_may_take() -> None:
    # a number where the label belongs (period=2025 read from JSON as an integer)
    with pytest.raises(IndicatorInputError, match=r"^A period must be a string: a year \(2025\)"):
        parse_period(2025)  # type: ignore[arg-type]


def test_a_label_without_a_likely_slip_gets_the_forms_only() -> None:
    # no hint fits a full date: the message lists the forms and ends there
    with pytest.raises(IndicatorInputError) as refused:
        parse_period("2025-03-01")
    assert str(refused.value).endswith("or the 12 months to a month (2025-03-R12)")
