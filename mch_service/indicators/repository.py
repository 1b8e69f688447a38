"""The indicator package's SQL on its own table, ``indicator_result`` (stored results).

Reads of the domain tables (the engine's input, which women changed) are in ``loaders.py``.
Every function takes the session of the caller's transaction and never commits.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime

from sqlalchemy import bindparam, delete, func, insert, select, tuple_, update
from sqlalchemy.orm import Session

from mch_service.database import table_of
from mch_service.indicators.catalogue import EXTERNAL
from mch_service.indicators.results import IndicatorResult, IndicatorRun
from mch_service.timeutil import to_utc

DISTRICT, ALL = "district", "all"
EXTERNAL_IDS = tuple(i.id for i in EXTERNAL)

# Keeps each statement's parameter list well under the drivers' limits.
_DELETE_BATCH, _INSERT_BATCH = 200, 5000


_KEY = ("indicator_id", "period", "area", "institution")
# Every column a computation sets, but its time: a row whose values are all equal is confirmed,
# not rewritten.
_COMPARED = (
    "period_start",
    "period_end",
    "numerator",
    "denominator",
    "value",
    "unit",
    "target",
    "direction",
    "status",
    "catalogue_version",
    "settings",
)
_ResultKey = tuple[str, str, str, str]


def write_results(
    session: Session,
    rows: Sequence[Mapping[str, object]],
    periods: Sequence[str],
    replace_all: bool,
    run: Mapping[str, object],
) -> int:
    """Make the calculated results of ``periods`` (of every period when ``replace_all``) equal
    to ``rows``, writing only what changed: new rows inserted, rows whose values differ
    updated (their ``computed_at`` with them), rows no longer computed deleted. ``run`` is the
    job's run (``computed_at``, ``full``), stored in ``indicator_run`` in the same transaction.
    Returns how many rows changed."""
    table = table_of(IndicatorResult)
    # Entered figures of external indicators are no computation's to replace.
    calculated = IndicatorResult.indicator_id.not_in(EXTERNAL_IDS)
    columns = [table.c[c] for c in (*_KEY, *_COMPARED)]
    stored: dict[_ResultKey, tuple[object, ...]] = {}
    if replace_all:
        chunks: list[Sequence[str] | None] = [None]
    else:
        chunks = [periods[i : i + _DELETE_BATCH] for i in range(0, len(periods), _DELETE_BATCH)]
    for chunk in chunks:
        stmt = select(*columns).where(calculated)
        if chunk is not None:
            stmt = stmt.where(IndicatorResult.period.in_(chunk))
        for r in session.execute(stmt):
            stored[(r[0], r[1], r[2], r[3])] = tuple(r[4:])
    inserts: list[Mapping[str, object]] = []
    updates: list[dict[str, object]] = []
    for row in rows:
        key = (
            str(row["indicator_id"]),
            str(row["period"]),
            str(row["area"]),
            str(row["institution"]),
        )
        values = tuple(row[c] for c in _COMPARED)
        old = stored.pop(key, None)
        if old is None:
            inserts.append(row)
        elif old != values:
            updates.append(
                {
                    **{f"k_{c}": row[c] for c in _KEY},
                    **{c: row[c] for c in (*_COMPARED, "computed_at")},
                }
            )
    gone = list(stored)  # what was popped is still computed
    for start in range(0, len(gone), _DELETE_BATCH):
        session.execute(
            delete(IndicatorResult).where(
                tuple_(*[table.c[c] for c in _KEY]).in_(gone[start : start + _DELETE_BATCH])
            )
        )
    if updates:
        change = (
            update(table)
            .where(*[table.c[c] == bindparam(f"k_{c}") for c in _KEY])
            .values({c: bindparam(c) for c in (*_COMPARED, "computed_at")})
        )
        for start in range(0, len(updates), _INSERT_BATCH):
            session.execute(change, updates[start : start + _INSERT_BATCH])
    for start in range(0, len(inserts), _INSERT_BATCH):
        session.execute(insert(table), inserts[start : start + _INSERT_BATCH])
    changed = len(inserts) + len(updates) + len(gone)
    session.merge(
        IndicatorRun(
            id=1,
            computed_at=run["computed_at"],
            full=bool(run["full"]),
            rows_computed=len(rows),
            rows_changed=changed,
        )
    )
    return changed


def last_run(session: Session) -> IndicatorRun | None:
    """The indicator job's latest run, if it ever ran."""
    return session.get(IndicatorRun, 1)


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
    """(indicator, when its results were last computed): a calculated indicator's figures
    were last computed by the job's latest run even where none of them changed."""
    run = last_run(session)
    rows = session.execute(
        select(IndicatorResult.indicator_id, func.max(IndicatorResult.computed_at)).group_by(
            IndicatorResult.indicator_id
        )
    )
    return [
        (indicator, latest(computed, None) if indicator in EXTERNAL_IDS else latest(computed, run))
        for indicator, computed in rows
    ]


def latest(computed: datetime | None, run: IndicatorRun | None) -> datetime | None:
    """The later of a calculated result's own time and the job's latest run (UTC)."""
    times = [to_utc(t) for t in (computed, run.computed_at if run else None) if t is not None]
    return max(times, default=None)


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
    at = IndicatorResult.period.in_(periods)
    entered = session.scalar(
        select(func.max(IndicatorResult.computed_at)).where(
            at, IndicatorResult.indicator_id.in_(EXTERNAL_IDS)
        )
    )
    calculated = session.scalar(
        select(func.max(IndicatorResult.computed_at)).where(
            at, IndicatorResult.indicator_id.not_in(EXTERNAL_IDS)
        )
    )
    figures = latest(calculated, last_run(session)) if calculated is not None else None
    times = [to_utc(t) for t in (entered, figures) if t is not None]
    return max(times, default=None)
