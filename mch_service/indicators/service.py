"""Computing, storing and serving indicator results.

The job keeps the fact tables of the district in memory between runs. A run asks which women
were re-assembled since the last one (``woman.changed_at``), rebuilds only their rows, and
recomputes only the periods their old and new rows fall in; a full run recomputes everything
and gives the same rows (tests check it).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from mch_service.auth.permissions import Permission, Principal
from mch_service.config import Settings
from mch_service.database import Database, table_of
from mch_service.domain import models
from mch_service.domain.streets import street_problem
from mch_service.errors import InvalidResource, Issue, NotFound
from mch_service.indicators import fact_tables
from mch_service.indicators.calculations import (
    RESULT_COLUMNS,
    IndicatorValue,
    compute_all,
    iter_values,
    members,
)
from mch_service.indicators.catalogue import BY_ID, CALCULATED, CATALOGUE, CATALOGUE_VERSION
from mch_service.indicators.errors import IndicatorInputError
from mch_service.indicators.loaders import build_frames
from mch_service.indicators.periods import (
    iter_periods,
    parse_period,
    period_containing,
    period_from_index,
)
from mch_service.indicators.results import IndicatorResult
from mch_service.indicators.settings import IndicatorSettings
from mch_service.indicators.warnings import early_warnings
from mch_service.timeutil import utcnow

DISTRICT, ALL = "district", "all"


def indicator_settings(settings: Settings) -> IndicatorSettings:
    return IndicatorSettings(
        statistical_year=settings.indicator_statistical_year,
        caesarean_basis=settings.indicator_caesarean_basis,
        case_managed_colours=tuple(settings.case_managed_colours),
        anaemia_denominator_excludes_thalassaemia=(
            settings.indicator_anaemia_denominator_excludes_thalassaemia
        ),
    )


@dataclass
class _Cache:
    frames: fact_tables.FactFrames
    watermark: datetime | None


def _event_days(frames: fact_tables.FactFrames) -> list[date]:
    days: list[pd.Series] = [
        frames.pregnancies[fact_tables.DELIVERY_DATE],
        frames.maternal_deaths[fact_tables.DEATH_DATE],
        frames.congenital_syphilis["recorded_date"],
    ]
    out: set[date] = set()
    for series in days:
        out |= {d.date() for d in series.dropna()}
    return sorted(out)


def periods_of(days: Iterable[date], statistical_year: bool) -> list[str]:
    labels: set[str] = set()
    for day in days:
        for kind in ("month", "quarter", "year"):
            labels.add(period_containing(day, kind, statistical_year=statistical_year).label)  # type: ignore[arg-type]
    return sorted(labels)


class IndicatorService:
    def __init__(
        self, db: Database, settings: IndicatorSettings, streets: Iterable[str] = ()
    ) -> None:
        self.db = db
        self.settings = settings
        # MCH_STREETS: an area filter must be "district" or one of these (any code if empty)
        self.streets = frozenset(streets)
        self._cache: _Cache | None = None
        self._lock = threading.Lock()

    # -- computing ---------------------------------------------------------------------

    def _watermark(self, session: Session) -> datetime | None:
        return session.scalar(select(func.max(models.Woman.changed_at)))

    def refresh(self, full: bool = False) -> int:
        """Recompute what changed since the last run (everything when ``full`` or on the first
        run of this process); returns the number of result rows written."""
        with self._lock:
            with self.db.reading() as session:
                watermark = self._watermark(session)
                cache = None if full else self._cache
                if cache is None:
                    frames = build_frames(session, self.settings.case_managed_colours)
                    periods = periods_of(_event_days(frames), self.settings.statistical_year)
                    written = self._store(frames, periods, replace_all=True)
                    self._cache = _Cache(frames, watermark)
                    return written
                if watermark is None or (
                    cache.watermark is not None and watermark <= cache.watermark
                ):
                    return 0
                changed = list(
                    session.scalars(
                        select(models.Woman.key).where(models.Woman.changed_at > cache.watermark)
                        if cache.watermark is not None
                        else select(models.Woman.key)
                    )
                )
                fresh = build_frames(session, self.settings.case_managed_colours, changed)
            old = cache.frames
            merged, before = _replace_women(old, fresh, set(changed))
            days = set(_event_days(before)) | set(_event_days(fresh))
            periods = periods_of(days, self.settings.statistical_year)
            written = self._store(merged, periods, replace_all=False) if periods else 0
            self._cache = _Cache(merged, watermark)
            return written

    def _store(self, frames: fact_tables.FactFrames, periods: list[str], replace_all: bool) -> int:
        fact_tables.check_frames(frames)
        results = (
            compute_all(frames, periods, self.settings)
            if periods
            else pd.DataFrame(columns=list(RESULT_COLUMNS))
        )
        now = utcnow()
        settings_json = self.settings.to_json()
        rows = [
            {
                "indicator_id": v.id,
                "period": v.period,
                "area": v.area,
                "institution": v.institution,
                "period_start": v.period_start,
                "period_end": v.period_end,
                "numerator": v.numerator,
                "denominator": v.denominator,
                "value": v.value,
                "unit": v.unit,
                "target": v.target,
                "direction": v.direction,
                "status": v.status,
                "catalogue_version": v.catalogue_version,
                "settings": settings_json,
                "computed_at": now,
            }
            for v in iter_values(results)
        ]
        with self.db.transaction() as session:
            if replace_all:
                session.execute(delete(IndicatorResult))
            else:
                for start in range(0, len(periods), 200):
                    session.execute(
                        delete(IndicatorResult).where(
                            IndicatorResult.period.in_(periods[start : start + 200])
                        )
                    )
            for start in range(0, len(rows), 5000):
                session.execute(insert(table_of(IndicatorResult)), rows[start : start + 5000])
        return len(rows)

    # -- reading -----------------------------------------------------------------------

    def _check(self, principal: Principal) -> None:
        principal.require(Permission.READ_INDICATORS)

    def _period(self, label: str) -> str:
        try:
            return parse_period(label, statistical_year=self.settings.statistical_year).label
        except (ValueError, IndicatorInputError) as exc:
            raise InvalidResource([Issue(str(exc), "period", "value")], str(exc)) from None

    def _area(self, area: str) -> None:
        problem = None if area == DISTRICT else street_problem(area, self.streets)
        if problem:
            raise InvalidResource([Issue(problem, "area", "value")], problem)

    def results(
        self, principal: Principal, period: str, area: str = DISTRICT, institution: str = ALL
    ) -> dict[str, Any]:
        self._check(principal)
        self._area(area)
        label = self._period(period)
        with self.db.reading() as session:
            rows = {
                r.indicator_id: r
                for r in session.scalars(
                    select(IndicatorResult).where(
                        IndicatorResult.period == label,
                        IndicatorResult.area == area,
                        IndicatorResult.institution == institution,
                    )
                )
            }
        computed = max((r.computed_at for r in rows.values()), default=None)
        out = []
        for ind in CATALOGUE:
            r = rows.get(ind.id)
            out.append(
                {
                    "id": ind.id,
                    "name_zh": ind.name_zh,
                    "name_en": ind.name_en,
                    "numerator": r.numerator if r else (None if ind.source == "external" else 0),
                    "denominator": r.denominator
                    if r
                    else (None if ind.source == "external" else 0),
                    "value": r.value if r else None,
                    "unit": ind.unit,
                    "target": ind.target,
                    "direction": ind.direction,
                    "status": r.status if r else "no_data",
                    "source": ind.source,
                }
            )
        return {
            "period": label,
            "area": area,
            "institution": institution,
            "catalogue_version": CATALOGUE_VERSION,
            "computed_at": computed.isoformat() if computed else None,
            "settings": self.settings.to_dict(),
            "results": out,
        }

    def series(
        self,
        principal: Principal,
        indicator_id: str,
        first: str,
        last: str,
        area: str = DISTRICT,
        institution: str = ALL,
    ) -> dict[str, Any]:
        self._check(principal)
        self._area(area)
        ind = BY_ID.get(indicator_id)
        if ind is None:
            raise NotFound(f"No indicator {indicator_id!r}")
        try:
            labels = [
                p.label
                for p in iter_periods(first, last, statistical_year=self.settings.statistical_year)
            ]
        except (ValueError, IndicatorInputError) as exc:
            raise InvalidResource([Issue(str(exc), "from", "value")], str(exc)) from None
        with self.db.reading() as session:
            rows = {
                r.period: r
                for r in session.scalars(
                    select(IndicatorResult).where(
                        IndicatorResult.indicator_id == indicator_id,
                        IndicatorResult.period.in_(labels),
                        IndicatorResult.area == area,
                        IndicatorResult.institution == institution,
                    )
                )
            }
        points = [
            {
                "period": label,
                "numerator": rows[label].numerator if label in rows else 0,
                "denominator": rows[label].denominator if label in rows else 0,
                "value": rows[label].value if label in rows else None,
                "status": rows[label].status if label in rows else "no_data",
            }
            for label in labels
        ]
        return {
            "id": ind.id,
            "name_zh": ind.name_zh,
            "name_en": ind.name_en,
            "unit": ind.unit,
            "target": ind.target,
            "direction": ind.direction,
            "area": area,
            "institution": institution,
            "catalogue_version": CATALOGUE_VERSION,
            "points": points,
        }

    def values(
        self,
        principal: Principal,
        periods: list[str],
        views: tuple[str, ...] = ("district", "street", "institution"),
    ) -> Iterator[IndicatorValue]:
        """Stored results as IndicatorValue objects, for exports (streamed from the database).
        Access and the periods are checked now, before the first row is sent."""
        self._check(principal)
        labels = [self._period(p) for p in periods]
        return self._iter_values(labels, views)

    def _iter_values(self, labels: list[str], views: tuple[str, ...]) -> Iterator[IndicatorValue]:
        settings = self.settings.to_dict()
        with self.db.reading() as session:
            stmt = (
                select(IndicatorResult)
                .where(IndicatorResult.period.in_(labels))
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
            for r in session.scalars(stmt):
                view = (
                    "district"
                    if r.area == DISTRICT and r.institution == ALL
                    else "street"
                    if r.institution == ALL
                    else "institution"
                )
                if view not in views:
                    continue
                ind = BY_ID[r.indicator_id]
                yield IndicatorValue(
                    id=r.indicator_id,
                    name_zh=ind.name_zh,
                    name_en=ind.name_en,
                    period=r.period,
                    period_start=r.period_start,
                    period_end=r.period_end,
                    area=r.area,
                    institution=r.institution,
                    numerator=r.numerator,
                    denominator=r.denominator,
                    value=r.value,
                    unit=r.unit,
                    target=r.target,
                    direction=r.direction,
                    status=r.status,  # type: ignore[arg-type]
                    catalogue_version=r.catalogue_version,
                    settings=json.loads(r.settings) if r.settings else settings,
                )

    def warnings(
        self,
        principal: Principal,
        period: str,
        area: str = DISTRICT,
        institution: str = ALL,
        window: int = 6,
    ) -> dict[str, Any]:
        """Indicators off target in ``period``, or whose trend over the last ``window``
        periods projects them off target by the end of the year."""
        self._check(principal)
        self._area(area)
        current = parse_period(
            self._period(period), statistical_year=self.settings.statistical_year
        )
        labels = [current.label]
        p = current
        for _ in range(window - 1):
            p = period_from_index(
                p.kind, p.index - 1, statistical_year=self.settings.statistical_year
            )
            labels.append(p.label)
        values = [
            v
            for v in self._iter_values(labels, ("district", "street", "institution"))
            if v.area == area and v.institution == institution
        ]
        flags = early_warnings(
            values, current.label, window=window, statistical_year=self.settings.statistical_year
        )
        return {
            "period": current.label,
            "area": area,
            "institution": institution,
            "warnings": [w.__dict__ for w in flags],
        }

    def catalogue(self) -> dict[str, Any]:
        return {
            "catalogue_version": CATALOGUE_VERSION,
            "settings": self.settings.to_dict(),
            "indicators": [_describe(i) for i in CATALOGUE],
        }

    def members(
        self,
        principal: Principal,
        indicator_id: str,
        period: str,
        area: str = DISTRICT,
        institution: str = ALL,
    ) -> dict[str, list[str]]:
        """Drill-down: the pregnancies behind a result (ids only; the caller masks)."""
        self._check(principal)
        self._area(area)
        if indicator_id not in {i.id for i in CALCULATED}:
            raise NotFound(f"No calculated indicator {indicator_id!r}")
        label = self._period(period)
        with self.db.reading() as session:
            frames = (
                self._cache.frames
                if self._cache
                else build_frames(session, self.settings.case_managed_colours)
            )
        return members(frames, indicator_id, label, area, institution, self.settings)


def _describe(ind: Any) -> dict[str, Any]:
    fields = ("id", "name_zh", "name_en", "unit", "target", "direction", "source")
    out = {f: getattr(ind, f, None) for f in fields}
    for f in (
        "numerator_zh",
        "numerator_en",
        "denominator_zh",
        "denominator_en",
        "period_basis",
        "settings",
        "reference",
    ):
        value = getattr(ind, f, None)
        if value is not None:
            out[f] = (
                value
                if isinstance(value, (str, int, float, list, dict))
                else (list(value) if isinstance(value, tuple) else str(value))
            )
    return out


def _replace_women(
    old: fact_tables.FactFrames, fresh: fact_tables.FactFrames, women: set[str]
) -> tuple[fact_tables.FactFrames, fact_tables.FactFrames]:
    """The cached frames with these women's rows swapped for fresh ones; also their old rows
    (whose periods must be recomputed too)."""
    old_preg = old.pregnancies
    drop_preg = old_preg[fact_tables.WOMAN_ID].isin(women)
    dropped_ids = set(old_preg.loc[drop_preg, fact_tables.PREGNANCY_ID])

    def swap(frame: pd.DataFrame, new: pd.DataFrame, mask: pd.Series) -> pd.DataFrame:
        kept = frame.loc[~mask]
        return (
            pd.concat([kept, new], ignore_index=True) if len(new) else kept.reset_index(drop=True)
        )

    births_mask = old.births[fact_tables.PREGNANCY_ID].isin(dropped_ids)
    deaths_mask = old.maternal_deaths[fact_tables.PREGNANCY_ID].isin(dropped_ids)
    cs_mask = old.congenital_syphilis[fact_tables.CASE_ID].isin(
        set(fresh.congenital_syphilis[fact_tables.CASE_ID])
    )
    before = fact_tables.FactFrames(
        old_preg.loc[drop_preg],
        old.births.loc[births_mask],
        old.maternal_deaths.loc[deaths_mask],
        old.congenital_syphilis.loc[cs_mask],
        old.case_managed_colours,
    )
    merged = fact_tables.FactFrames(
        swap(old_preg, fresh.pregnancies, drop_preg),
        swap(old.births, fresh.births, births_mask),
        swap(old.maternal_deaths, fresh.maternal_deaths, deaths_mask),
        swap(old.congenital_syphilis, fresh.congenital_syphilis, cs_mask),
        old.case_managed_colours,
    )
    return merged, before
