"""The indicator package's SQL on its own table, ``indicator_result`` (stored results).

Reads of the domain tables (the engine's input, which women changed) are in ``loaders.py``.
Every function takes the session of the caller's transaction and never commits.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from mch_service.database import table_of
from mch_service.indicators.catalogue import EXTERNAL
from mch_service.indicators.results import IndicatorResult

DISTRICT, ALL = "district", "all"
EXTERNAL_IDS = tuple(i.id for i in EXTERNAL)

# Keeps each statement's parameter list well under the drivers' limits.
_DELETE_BATCH, _INSERT_BATCH = 200, 5000


def replace_results(
    session: Session,
    rows: Sequence[Mapping[str, object]],
    periods: Sequence[str],
    replace_all: bool,
) -> None:
    """Store ``rows`` in place of every stored result (``replace_all``) or of the results of
    ``periods``."""
    # Entered figures of external indicators are no computation's to replace.
    calculated = IndicatorResult.indicator_id.not_in(EXTERNAL_IDS)
    if replace_all:
        session.execute(delete(IndicatorResult).where(calculated))
    else:
        for start in range(0, len(periods), _DELETE_BATCH):
            chunk = periods[start : start + _DELETE_BATCH]
            session.execute(
                delete(IndicatorResult).where(IndicatorResult.period.in_(chunk), calculated)
            )
    for start in range(0, len(rows), _INSERT_BATCH):
        session.execute(insert(table_of(IndicatorResult)), rows[start : start + _INSERT_BATCH])


def put_result(session: Session, row: Mapping[str, object]) -> None:
    """Store one result in place of the one of its indicator, period and view."""
    session.execute(
        delete(IndicatorResult).where(
            IndicatorResult.indicator_id == row["indicator_id"],
            IndicatorResult.period == row["period"],
            IndicatorResult.area == row["area"],
            IndicatorResult.institution == row["institution"],
        )
    )
    session.execute(insert(table_of(IndicatorResult)), [dict(row)])


def results_by_indicator(
    session: Session, period: str, area: str, institution: str
) -> dict[str, IndicatorResult]:
    """The stored results of one period and view, by indicator id."""
    stmt = select(IndicatorResult).where(
        IndicatorResult.period == period,
        IndicatorResult.area == area,
        IndicatorResult.institution == institution,
    )
    return {r.indicator_id: r for r in session.scalars(stmt)}


def results_by_period(
    session: Session, indicator_id: str, periods: Sequence[str], area: str, institution: str
) -> dict[str, IndicatorResult]:
    """One indicator's stored results in ``periods`` for one view, by period label."""
    stmt = select(IndicatorResult).where(
        IndicatorResult.indicator_id == indicator_id,
        IndicatorResult.period.in_(periods),
        IndicatorResult.area == area,
        IndicatorResult.institution == institution,
    )
    return {r.period: r for r in session.scalars(stmt)}


def iter_results(session: Session, periods: Sequence[str]) -> Iterator[IndicatorResult]:
    """Every stored result of ``periods``, streamed in export order: the district view, then
    streets, then institutions; within each by indicator, period, area and institution."""
    stmt = (
        select(IndicatorResult)
        .where(IndicatorResult.period.in_(periods))
        .order_by(
            IndicatorResult.area != DISTRICT,
            IndicatorResult.institution != ALL,
            IndicatorResult.indicator_id,
            IndicatorResult.period,
            IndicatorResult.area,
            IndicatorResult.institution,
        )
        .execution_options(yield_per=2000)
    )
    yield from session.scalars(stmt)


def computed_at_by_indicator(session: Session) -> list[tuple[str, datetime | None]]:
    """(indicator, when its results were last computed)."""
    rows = session.execute(
        select(IndicatorResult.indicator_id, func.max(IndicatorResult.computed_at)).group_by(
            IndicatorResult.indicator_id
        )
    )
    return [(indicator, computed) for indicator, computed in rows]


def stored_span(session: Session) -> tuple[date | None, date | None]:
    """The first and last day covered by any stored result (the span of the data)."""
    row = session.execute(
        select(func.min(IndicatorResult.period_start), func.max(IndicatorResult.period_end))
    ).one()
    return row[0], row[1]


def stored_periods(session: Session) -> list[str]:
    """The periods with a stored result (every kind)."""
    stmt = select(IndicatorResult.period).distinct()
    return sorted(p for p in session.scalars(stmt) if p)


def stored_areas(session: Session) -> list[str]:
    """The areas (streets and area lines) with a stored result."""
    stmt = select(IndicatorResult.area).distinct()
    return sorted(a for a in session.scalars(stmt) if a)


def stored_institutions(session: Session) -> list[str]:
    """The institutions with a stored result (``all`` included)."""
    stmt = select(IndicatorResult.institution).distinct()
    return sorted(i for i in session.scalars(stmt) if i)


def computed_at_of(session: Session, periods: Sequence[str]) -> datetime | None:
    """When the figures of ``periods`` were last computed (or entered)."""
    stmt = select(func.max(IndicatorResult.computed_at)).where(IndicatorResult.period.in_(periods))
    return session.scalar(stmt)
