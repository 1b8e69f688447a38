"""Periods: labels to inclusive day ranges, statistical year, consecutive series, errors."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from mch_service.indicators.periods import (
    iter_periods,
    parse_period,
    period_containing,
    period_indexes,
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


def test_statistical_year_changes_years_only() -> None:
    year = parse_period("2025", statistical_year=True)
    assert (year.start, year.end) == (date(2024, 10, 1), date(2025, 9, 30))
    assert year.contains(date(2025, 9, 30))
    assert not year.contains(date(2025, 10, 1))
    quarter = parse_period("2025-Q4", statistical_year=True)
    assert (quarter.start, quarter.end) == (date(2025, 10, 1), date(2025, 12, 31))
    assert period_containing(date(2025, 10, 1), "year", statistical_year=True).label == "2026"
    assert period_containing(date(2025, 9, 30), "year", statistical_year=True).label == "2025"
    assert period_containing(date(2025, 10, 1), "year").label == "2025"


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
    years = list(iter_periods("2024", "2025", statistical_year=True))
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
    for kind in ("year", "quarter", "month"):
        for statistical in (False, True):
            expected = [
                period_containing(d, kind, statistical_year=statistical).index for d in days
            ]
            got = period_indexes(series, kind, statistical_year=statistical).tolist()
            assert got == expected, (kind, statistical)
