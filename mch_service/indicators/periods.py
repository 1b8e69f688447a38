"""Reporting periods: a calendar year ``2025``, a statistical year ``SY2025``, a quarter
``2025-Q1``, a month ``2025-03`` or the rolling 12 months to a month ``2025-03-R12``.

Rules (docs/indicator-rules.md, "Days, weeks, periods"): periods are sets of calendar days in the
district's zone, both ends inclusive. The calendar year runs 1 January – 31 December. The
statistical year of the national annual report (年报统计年度) ``SY2025`` runs 1 October 2024 – 30
September 2025: it is a period of its own beside the calendar year, never a switch that changes
what ``2025`` means. Quarters and months are calendar ones. ``2025-03-R12`` is the twelve
months April 2024 – March 2025 (for figures too small to read per quarter, such as the maternal
mortality ratio).

Each period also has an integer ``index`` (years and statistical years: the year; quarters:
year·4 + q − 1; months and rolling years: year·12 + m − 1 of the (last) month) so consecutive
periods of a kind differ by one; calculations group by it and trends use it as the x axis.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from mch_service.indicators.errors import IndicatorInputError

PeriodKind = Literal["year", "statistical_year", "quarter", "month", "rolling_year"]
PERIOD_KINDS: tuple[PeriodKind, ...] = (
    "year",
    "statistical_year",
    "quarter",
    "month",
    "rolling_year",
)

_YEAR = re.compile(r"(\d{4})")
_STATISTICAL_YEAR = re.compile(r"SY(\d{4})")
_QUARTER = re.compile(r"(\d{4})-Q([1-4])")
_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
_ROLLING = re.compile(r"(\d{4})-(0[1-9]|1[0-2])-R12")
_FORMS = (
    "a year (2025), a statistical year (SY2025: 1 Oct 2024 – 30 Sep 2025), a quarter (2025-Q1), "
    "a month (2025-03) or the 12 months to a month (2025-03-R12)"
)
# After its last day, a period's figures stay provisional for this many days: records of the
# 28-day postpartum visit and the 42-day check (days 35-56) are still arriving.
PROVISIONAL_DAYS = 56


@dataclass(frozen=True)
class Period:
    label: str
    kind: PeriodKind
    start: date  # first day, inclusive
    end: date  # last day, inclusive
    index: int

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def next(self) -> Period:
        return period_from_index(self.kind, self.index + 1)

    def previous(self) -> Period:
        return period_from_index(self.kind, self.index - 1)

    @property
    def final_on(self) -> date:
        """The first day on which the period's figures are final (no longer provisional)."""
        return self.end + timedelta(days=PROVISIONAL_DAYS + 1)

    def provisional_on(self, day: date) -> bool:
        """Figures computed on ``day`` are provisional: the period ended less than 57 days
        before (its end + 56 days included), or has not ended."""
        return day < self.final_on


def parse_period(label: str) -> Period:
    """Parse a period label. Raises ``IndicatorInputError`` (a ``ValueError``) for anything else."""
    if not isinstance(label, str):
        raise IndicatorInputError(f"A period must be a string: {_FORMS}; got {label!r}")
    text = label.strip()
    if m := _YEAR.fullmatch(text):
        return period_from_index("year", int(m[1]))
    if m := _STATISTICAL_YEAR.fullmatch(text):
        return period_from_index("statistical_year", int(m[1]))
    if m := _QUARTER.fullmatch(text):
        return period_from_index("quarter", int(m[1]) * 4 + int(m[2]) - 1)
    if m := _MONTH.fullmatch(text):
        return period_from_index("month", int(m[1]) * 12 + int(m[2]) - 1)
    if m := _ROLLING.fullmatch(text):
        return period_from_index("rolling_year", int(m[1]) * 12 + int(m[2]) - 1)
    hint = ""
    if re.fullmatch(r"\d{4}-q[1-4]", text):
        hint = " (write the Q in capitals)"
    elif re.fullmatch(r"sy\d{4}", text, re.IGNORECASE):
        hint = " (write SY in capitals)"
    elif re.fullmatch(r"\d{4}-\d{1,2}", text):
        hint = " (months are two digits, 01 to 12)"
    elif re.fullmatch(r"\d{4}-Q\d", text):
        hint = " (quarters are Q1 to Q4)"
    raise IndicatorInputError(f"Not a period: {label!r}; expected {_FORMS}{hint}")


def period_from_index(kind: PeriodKind, index: int) -> Period:
    if kind == "year":
        _check_year(index)
        return Period(str(index), "year", date(index, 1, 1), date(index, 12, 31), index)
    if kind == "statistical_year":
        # Statistical year N: 1 October N-1 to 30 September N.
        _check_year(index)
        _check_year(index - 1)
        return Period(
            f"SY{index}", "statistical_year", date(index - 1, 10, 1), date(index, 9, 30), index
        )
    if kind == "quarter":
        year, q = divmod(index, 4)
        _check_year(year)
        start = date(year, 3 * q + 1, 1)
        end = _month_end(year, 3 * q + 3)
        return Period(f"{year:04d}-Q{q + 1}", "quarter", start, end, index)
    if kind == "month":
        year, m = divmod(index, 12)
        _check_year(year)
        start, end = date(year, m + 1, 1), _month_end(year, m + 1)
        return Period(f"{year:04d}-{m + 1:02d}", "month", start, end, index)
    if kind == "rolling_year":
        year, m = divmod(index, 12)
        _check_year(year)
        first_year, first_month = divmod(index - 11, 12)
        _check_year(first_year)
        start = date(first_year, first_month + 1, 1)
        return Period(
            f"{year:04d}-{m + 1:02d}-R12", "rolling_year", start, _month_end(year, m + 1), index
        )
    raise IndicatorInputError(f"Unknown period kind {kind!r}; expected one of {PERIOD_KINDS}")


def period_containing(day: date, kind: PeriodKind) -> Period:
    """The period of ``kind`` that holds ``day`` (for a rolling year: the one ending with
    ``day``'s month)."""
    if kind == "year":
        return period_from_index("year", day.year)
    if kind == "statistical_year":
        return period_from_index("statistical_year", day.year + (day.month >= 10))
    if kind == "quarter":
        return period_from_index("quarter", day.year * 4 + (day.month - 1) // 3)
    return period_from_index(kind, day.year * 12 + day.month - 1)


def periods_holding(day: date) -> list[Period]:
    """Every period of every kind that holds ``day``: its year, statistical year, quarter and
    month, and the twelve rolling years ending with its month or one of the eleven after."""
    month = day.year * 12 + day.month - 1
    out = [period_containing(day, kind) for kind in ("year", "statistical_year", "quarter")]
    out.append(period_from_index("month", month))
    out += [period_from_index("rolling_year", month + k) for k in range(12)]
    return out


def iter_periods(first: str, last: str) -> Iterator[Period]:
    """Consecutive periods from ``first`` to ``last`` inclusive, both of the same kind."""
    a = parse_period(first)
    b = parse_period(last)
    if a.kind != b.kind:
        raise IndicatorInputError(
            f"A period range needs two periods of the same kind; got a {a.kind} ({first}) and a "
            f"{b.kind} ({last})"
        )
    if b.index < a.index:
        raise IndicatorInputError(f"Period range ends ({last}) before it starts ({first})")
    for index in range(a.index, b.index + 1):
        yield period_from_index(a.kind, index)


def period_indexes(days: pd.Series, kind: PeriodKind) -> npt.NDArray[np.int64]:
    """Vectorised ``period_containing(day, kind).index`` for a datetime64 Series without NaT.
    For a rolling year this is the index of the one ending with the day's month; the day is in
    that one and the eleven after it."""
    year = days.dt.year.to_numpy(dtype=np.int64)
    month = days.dt.month.to_numpy(dtype=np.int64)
    if kind == "year":
        return year
    if kind == "statistical_year":
        # October to December belong to the next statistical year.
        return year + (month >= 10)
    if kind == "quarter":
        return year * 4 + (month - 1) // 3
    return year * 12 + month - 1


def _check_year(year: int) -> None:
    if not 1000 <= year <= 9999:
        raise IndicatorInputError(f"Year {year} is out of range (1000 to 9999)")


def _month_end(year: int, month: int) -> date:
    # the month's own length: December 9999 has no "first of next month" to step back from
    return date(year, month, calendar.monthrange(year, month)[1])
