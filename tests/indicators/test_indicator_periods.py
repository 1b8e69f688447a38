"""Periods: labels to inclusive day ranges, statistical and rolling years, provisional figures,
consecutive series, errors."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

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
    labels = [p.label for p in periods_holding(date(2024, 10, 1))]
    assert labels[:4] == ["2024", "SY2025", "2024-Q4", "2024-10"]
    assert len(labels) == 16


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
