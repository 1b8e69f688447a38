"""Reporting periods: a year ``2025``, a quarter ``2025-Q1`` or a month ``2025-03``.

Rules (docs/indicator-rules.md, "Days, weeks, periods"): periods are sets of calendar days in the
district's zone, both ends inclusive. A year is the calendar year, or with the statistical year
setting year ``2025`` runs 1 October 2024 – 30 September 2025. Quarters and months are always
calendar ones.

Each period also has an integer ``index`` (years: the year; quarters: year·4 + q − 1; months:
year·12 + m − 1) so consecutive periods differ by one; calculations group by it and trends use
it as the x axis.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from mch_service.indicators.errors import IndicatorInputError

PeriodKind = Literal["year", "quarter", "month"]
PERIOD_KINDS: tuple[PeriodKind, ...] = ("year", "quarter", "month")

_YEAR = re.compile(r"(\d{4})")
_QUARTER = re.compile(r"(\d{4})-Q([1-4])")
_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
_FORMS = "a year (2025), a quarter (2025-Q1) or a month (2025-03)"


@dataclass(frozen=True)
class Period:
    label: str
    kind: PeriodKind
    start: date  # first day, inclusive
    end: date  # last day, inclusive
    index: int
    # The setting in force. It changes only a year's days, but a month or quarter needs it to
    # know which year it belongs to (warnings.default_horizon).
    statistical_year: bool = False

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def next(self) -> Period:
        return period_from_index(self.kind, self.index + 1, statistical_year=self.statistical_year)


def parse_period(label: str, *, statistical_year: bool = False) -> Period:
    """Parse a period label. Raises ``IndicatorInputError`` (a ``ValueError``) for anything else."""
    if not isinstance(label, str):
        raise IndicatorInputError(f"A period must be a string: {_FORMS}; got {label!r}")
    text = label.strip()
    if m := _YEAR.fullmatch(text):
        return period_from_index("year", int(m[1]), statistical_year=statistical_year)
    if m := _QUARTER.fullmatch(text):
        index = int(m[1]) * 4 + int(m[2]) - 1
        return period_from_index("quarter", index, statistical_year=statistical_year)
    if m := _MONTH.fullmatch(text):
        index = int(m[1]) * 12 + int(m[2]) - 1
        return period_from_index("month", index, statistical_year=statistical_year)
    hint = ""
    if re.fullmatch(r"\d{4}-q[1-4]", text):
        hint = " (write the Q in capitals)"
    elif re.fullmatch(r"\d{4}-\d{1,2}", text):
        hint = " (months are two digits, 01 to 12)"
    elif re.fullmatch(r"\d{4}-Q\d", text):
        hint = " (quarters are Q1 to Q4)"
    raise IndicatorInputError(f"Not a period: {label!r}; expected {_FORMS}{hint}")


def period_from_index(kind: PeriodKind, index: int, *, statistical_year: bool = False) -> Period:
    if kind == "year":
        if not 1000 <= index <= 9999:
            raise IndicatorInputError(f"Year {index} is out of range (1000 to 9999)")
        if statistical_year:
            # Statistical year N: 1 October N-1 to 30 September N.
            start = date(index - 1, 10, 1)
            return Period(str(index), "year", start, date(index, 9, 30), index, True)
        return Period(str(index), "year", date(index, 1, 1), date(index, 12, 31), index)
    if kind == "quarter":
        year, q = divmod(index, 4)
        _check_year(year)
        start = date(year, 3 * q + 1, 1)
        end = _month_end(year, 3 * q + 3)
        return Period(f"{year:04d}-Q{q + 1}", "quarter", start, end, index, statistical_year)
    if kind == "month":
        year, m = divmod(index, 12)
        _check_year(year)
        start, end = date(year, m + 1, 1), _month_end(year, m + 1)
        return Period(f"{year:04d}-{m + 1:02d}", "month", start, end, index, statistical_year)
    raise IndicatorInputError(f"Unknown period kind {kind!r}; expected year, quarter or month")


def period_containing(day: date, kind: PeriodKind, *, statistical_year: bool = False) -> Period:
    if kind == "year":
        year = day.year + 1 if statistical_year and day.month >= 10 else day.year
        return period_from_index("year", year, statistical_year=statistical_year)
    if kind == "quarter":
        index = day.year * 4 + (day.month - 1) // 3
    else:
        index = day.year * 12 + day.month - 1
    return period_from_index(kind, index, statistical_year=statistical_year)


def iter_periods(first: str, last: str, *, statistical_year: bool = False) -> Iterator[Period]:
    """Consecutive periods from ``first`` to ``last`` inclusive, both of the same kind."""
    a = parse_period(first, statistical_year=statistical_year)
    b = parse_period(last, statistical_year=statistical_year)
    if a.kind != b.kind:
        raise IndicatorInputError(
            f"A period range needs two periods of the same kind; got a {a.kind} ({first}) and a "
            f"{b.kind} ({last})"
        )
    if b.index < a.index:
        raise IndicatorInputError(f"Period range ends ({last}) before it starts ({first})")
    for index in range(a.index, b.index + 1):
        yield period_from_index(a.kind, index, statistical_year=statistical_year)


def period_indexes(
    days: pd.Series, kind: PeriodKind, *, statistical_year: bool = False
) -> npt.NDArray[np.int64]:
    """Vectorised ``period_containing(day).index`` for a datetime64 Series without NaT."""
    year = days.dt.year.to_numpy(dtype=np.int64)
    month = days.dt.month.to_numpy(dtype=np.int64)
    if kind == "year":
        # Statistical year: October to December belong to the next year's report.
        return year + (month >= 10) if statistical_year else year
    if kind == "quarter":
        return year * 4 + (month - 1) // 3
    return year * 12 + month - 1


def _check_year(year: int) -> None:
    if not 1000 <= year <= 9999:
        raise IndicatorInputError(f"Year {year} is out of range (1000 to 9999)")


def _month_end(year: int, month: int) -> date:
    first_of_next = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return first_of_next - timedelta(days=1)
