"""per-1: a Period's start is not after its end (R4 datatypes.html#Period), read from the JSON
strings as the HL7 validator reads them."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from mch_service.fhir_api.structural_rules.shared import IssueCollector

# FHIR date / dateTime / instant, read leniently (the models check the exact format).
_DATETIME_RE = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})"
    r"(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?"
)

# Keys a Period may carry in JSON: used to recognise Periods without type information.
PERIOD_KEYS = frozenset({"id", "extension", "start", "end", "_start", "_end"})


def check_period(collector: IssueCollector, period: dict[str, Any], path: str) -> None:
    start, end = period["start"], period["end"]
    if type(start) is not str or type(end) is not str:
        return
    problem = _period_problem(start, end)
    if problem is not None:
        collector.add(path, problem, "invariant")


class _Moment:
    """A parsed FHIR date/dateTime: either a calendar date of 1-3 fields, or an instant."""

    __slots__ = ("date", "instant")

    def __init__(self, date: tuple[int, ...], instant: datetime | None) -> None:
        self.date = date  # (year[, month[, day]]) as written (local to its own offset)
        self.instant = instant  # aware datetime when a time is present


def _parse_moment(value: str) -> _Moment | None:
    m = _DATETIME_RE.fullmatch(value)
    if m is None:
        return None
    year, month, day, hour, minute, second, fraction, tz = m.groups()
    date = tuple(int(p) for p in (year, month, day) if p is not None)
    if date[0] < 1:
        return None
    if len(date) > 1 and not 1 <= date[1] <= 12:
        return None
    if len(date) > 2 and not 1 <= date[2] <= calendar.monthrange(date[0], date[1])[1]:
        return None
    if hour is None:
        return _Moment(date, None)
    if tz is None or tz == "Z":
        offset = UTC  # no offset: compare as written (both sides read as UTC)
    else:
        sign = -1 if tz[0] == "-" else 1
        offset = timezone(sign * timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6])))
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        instant = datetime(
            date[0],
            date[1],
            date[2],
            int(hour),
            int(minute),
            int(second or 0),
            micro,
            tzinfo=offset,
        )
    except ValueError:
        return None  # e.g. hour 24: the models report the format
    return _Moment(date, instant)


def _low(date: tuple[int, ...]) -> tuple[int, int, int]:
    return (date[0], date[1] if len(date) > 1 else 1, date[2] if len(date) > 2 else 1)


def _high(date: tuple[int, ...]) -> tuple[int, int, int]:
    month = date[1] if len(date) > 1 else 12
    day = date[2] if len(date) > 2 else calendar.monthrange(date[0], month)[1]
    return (date[0], month, day)


def _period_problem(start: str, end: str) -> str | None:
    """per-1 ("If present, start SHALL have a lower value than end"), or None if it holds.

    * Two calendar dates: the earliest day of start's range must not be after the latest day of
      end's range ("2020" .. "2020-06" holds; "2021" .. "2020-06" fails).
    * Two dateTimes with a time: compared as instants.
    * A date and a dateTime: compared at the date's precision. When they agree there, R4's
      per-1 (FHIRPath ``start <= end``) has no answer because a date has no time zone, and the
      HL7 validator then reports per-1 as failed; we do the same so that we accept what it
      accepts and no more.
    """
    s = _parse_moment(start)
    e = _parse_moment(end)
    if s is None or e is None:
        return None  # not a dateTime we understand: the models report the format
    if s.instant is not None and e.instant is not None:
        if s.instant > e.instant:
            return f"Period start '{start}' is after its end '{end}' (per-1)"
        return None
    if s.instant is None and e.instant is None:
        if _low(s.date) > _high(e.date):
            return f"Period start '{start}' is after its end '{end}' (per-1)"
        return None
    shared = min(len(s.date), len(e.date))
    if s.date[:shared] < e.date[:shared]:
        return None
    if s.date[:shared] > e.date[:shared]:
        return f"Period start '{start}' is after its end '{end}' (per-1)"
    return (
        f"Period start '{start}' and end '{end}' fall on the same "
        f"{('year', 'month', 'day')[shared - 1]} but only one has a time, so start <= end "
        "cannot be established (per-1); send both with a time and offset, or both as dates"
    )
