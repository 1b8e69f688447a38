"""Counting rows per period in one query, the same on SQLite and PostgreSQL.

The periods' bounds are worked out in Python, in the district's time zone (as
``quality.service.period_range`` does for one period), and the database only compares
timestamps with them: no database needs time-zone rules, and a count per period is the count
a query bounded by that one period gives."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case
from sqlalchemy.orm import QueryableAttribute

# (label, start, end): the period [start, end), its label e.g. "2025-06".
Period = tuple[str, datetime, datetime]


def period_bucket(
    column: ColumnElement[Any] | QueryableAttribute[Any], periods: Sequence[Period]
) -> tuple[ColumnElement[Any], list[ColumnElement[bool]]]:
    """The label of the period holding ``column`` (a CASE; NULL outside them all), and the
    conditions keeping the rows inside the periods' span. Group by the first."""
    if not periods:
        raise ValueError("period_bucket needs at least one period")
    label = case(*[((column >= start) & (column < end), name) for name, start, end in periods])
    low = min(start for _, start, _ in periods)
    high = max(end for _, _, end in periods)
    return label, [column >= low, column < high]
