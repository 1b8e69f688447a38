"""Computing, storing and serving indicator results.

The job keeps the fact tables of the district in memory between runs. A run asks which women
were re-assembled since the last one (``woman.changed_at``), rebuilds only their rows, and
recomputes only the periods their old and new rows fall in; a full run recomputes everything
and gives the same rows (tests check it).

Reads of the domain are in ``loaders.py``, the SQL on stored results in ``repository.py``;
the reading methods take the session of the route's transaction (``deps.in_reading``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime

import pandas as pd
from sqlalchemy.orm import Session

from mch_service.audit.service import AuditRecord, record
from mch_service.auth.permissions import Permission, Principal
from mch_service.auth.service import actor_of
from mch_service.config import Settings
from mch_service.crypto import Crypto
from mch_service.database import Database
from mch_service.domain.pregnancy_record import masked_summaries
from mch_service.errors import InvalidResource, Issue, NotFound
from mch_service.indicators import fact_tables, repository
from mch_service.indicators.calculations import compute_all, members
from mch_service.indicators.catalogue import (
    BY_ID,
    CALCULATED,
    CATALOGUE,
    CATALOGUE_VERSION,
    Indicator,
)
from mch_service.indicators.errors import IndicatorInputError
from mch_service.indicators.loaders import build_frames, last_change, women_changed_since
from mch_service.indicators.periods import (
    iter_periods,
    parse_period,
    period_containing,
    period_from_index,
)
from mch_service.indicators.results import IndicatorResult as StoredResult
from mch_service.indicators.schemas import (
    Catalogue,
    CatalogueEntry,
    CountedRecord,
    EarlyWarningRead,
    EarlyWarnings,
    IndicatorRecords,
    IndicatorResult,
    IndicatorSeries,
    IndicatorSettingsRead,
    PeriodResults,
    ResultView,
    SeriesPoint,
    SeriesQuery,
)
from mch_service.indicators.settings import IndicatorSettings
from mch_service.indicators.values import RESULT_COLUMNS, IndicatorValue, iter_values
from mch_service.indicators.warnings import early_warnings
from mch_service.streets import street_problem
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
        syphilis_adequate_days=settings.indicator_syphilis_adequate_days,
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

    def refresh(self, full: bool = False) -> int:
        """Recompute what changed since the last run (everything when ``full`` or on the first
        run of this process); returns the number of result rows written."""
        with self._lock:
            with self.db.reading() as session:
                watermark = last_change(session)
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
                changed = women_changed_since(session, cache.watermark)
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
            repository.replace_results(session, rows, periods, replace_all)
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

    def results(self, session: Session, principal: Principal, view: ResultView) -> PeriodResults:
        """Every catalogue indicator's stored figure for one period and view."""
        self._check(principal)
        self._area(view.area)
        label = self._period(view.period)
        rows = repository.results_by_indicator(session, label, view.area, view.institution)
        computed = max((r.computed_at for r in rows.values()), default=None)
        return PeriodResults(
            period=label,
            area=view.area,
            institution=view.institution,
            catalogue_version=CATALOGUE_VERSION,
            computed_at=computed.isoformat() if computed else None,
            settings=IndicatorSettingsRead.model_validate(self.settings.to_dict()),
            results=[_result(indicator, rows.get(indicator.id)) for indicator in CATALOGUE],
        )

    def series(
        self, session: Session, principal: Principal, indicator_id: str, query: SeriesQuery
    ) -> IndicatorSeries:
        """One indicator's stored figures for every period from ``query.first`` to
        ``query.last`` (0/0 and no_data where nothing is stored)."""
        self._check(principal)
        self._area(query.area)
        ind = BY_ID.get(indicator_id)
        if ind is None:
            raise NotFound(f"No indicator {indicator_id!r}")
        statistical_year = self.settings.statistical_year
        try:
            periods = iter_periods(query.first, query.last, statistical_year=statistical_year)
            labels = [p.label for p in periods]
        except (ValueError, IndicatorInputError) as exc:
            raise InvalidResource([Issue(str(exc), "from", "value")], str(exc)) from None
        rows = repository.results_by_period(
            session, indicator_id, labels, query.area, query.institution
        )
        return IndicatorSeries(
            id=ind.id,
            name_zh=ind.name_zh,
            name_en=ind.name_en,
            unit=ind.unit,
            target=ind.target,
            direction=ind.direction,
            area=query.area,
            institution=query.institution,
            catalogue_version=CATALOGUE_VERSION,
            points=[_point(label, rows.get(label)) for label in labels],
        )

    def values(
        self,
        principal: Principal,
        periods: list[str],
        views: tuple[str, ...] = ("district", "street", "institution"),
    ) -> Iterator[IndicatorValue]:
        """Stored results as IndicatorValue objects, for exports (streamed from the database in
        a read transaction of their own, since a streamed export outlives its route).
        Access and the periods are checked now, before the first row is sent."""
        self._check(principal)
        labels = [self._period(p) for p in periods]
        return self._stream_values(labels, views)

    def _stream_values(self, labels: list[str], views: tuple[str, ...]) -> Iterator[IndicatorValue]:
        with self.db.reading() as session:
            yield from self._values_in(session, labels, views)

    def _values_in(
        self, session: Session, labels: list[str], views: tuple[str, ...]
    ) -> Iterator[IndicatorValue]:
        settings = self.settings.to_dict()
        for r in repository.iter_results(session, labels):
            ind = BY_ID.get(r.indicator_id)
            if _view_of(r) not in views or ind is None:
                # an indicator taken out of the catalogue (who_anc_syphilis_test_rate, issue
                # 14): its stored rows stay until the next refresh and are not shown
                continue
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
        self, session: Session, principal: Principal, view: ResultView, window: int = 6
    ) -> EarlyWarnings:
        """Indicators off target in ``view.period``, or whose trend over the last ``window``
        periods projects them off target by the end of the year."""
        self._check(principal)
        self._area(view.area)
        statistical_year = self.settings.statistical_year
        current = parse_period(self._period(view.period), statistical_year=statistical_year)
        labels = [current.label]
        p = current
        for _ in range(window - 1):
            p = period_from_index(p.kind, p.index - 1, statistical_year=statistical_year)
            labels.append(p.label)
        values = [
            v
            for v in self._values_in(session, labels, ("district", "street", "institution"))
            if v.area == view.area and v.institution == view.institution
        ]
        flags = early_warnings(
            values, current.label, window=window, statistical_year=statistical_year
        )
        return EarlyWarnings(
            period=current.label,
            area=view.area,
            institution=view.institution,
            warnings=[EarlyWarningRead.model_validate(asdict(w)) for w in flags],
        )

    def catalogue(self, principal: Principal) -> Catalogue:
        self._check(principal)
        return Catalogue(
            catalogue_version=CATALOGUE_VERSION,
            settings=IndicatorSettingsRead.model_validate(self.settings.to_dict()),
            indicators=[_describe(i) for i in CATALOGUE],
        )

    def members(
        self, principal: Principal, indicator_id: str, view: ResultView
    ) -> dict[str, list[str]]:
        """Drill-down: the pregnancies behind a result (ids only; the caller masks)."""
        self._check(principal)
        self._area(view.area)
        if indicator_id not in {i.id for i in CALCULATED}:
            raise NotFound(f"No calculated indicator {indicator_id!r}")
        label = self._period(view.period)
        with self.db.reading() as session:
            frames = (
                self._cache.frames
                if self._cache
                else build_frames(session, self.settings.case_managed_colours)
            )
        return members(frames, indicator_id, label, view.area, view.institution, self.settings)

    def records(
        self,
        session: Session,
        principal: Principal,
        crypto: Crypto,
        indicator_id: str,
        view: ResultView,
        counted: dict[str, list[str]],
    ) -> IndicatorRecords:
        """The drill-down's ``counted`` ids (from ``members``) as masked records; the look is
        audited."""
        what = f"{view.period} {view.area} {view.institution}"
        audit = AuditRecord(
            "indicators.drilldown", "success", "IndicatorResult", indicator_id, 200, what
        )
        record(session, actor_of(principal), [audit])

        def listed(part: str) -> list[CountedRecord]:
            summaries = masked_summaries(session, crypto, counted[part])
            return [CountedRecord.model_validate(summary) for summary in summaries]

        return IndicatorRecords(
            id=indicator_id,
            period=view.period,
            area=view.area,
            institution=view.institution,
            numerator_count=len(counted["numerator"]),
            denominator_count=len(counted["denominator"]),
            numerator=listed("numerator"),
            denominator=listed("denominator"),
        )


def record_export(session: Session, principal: Principal, what: str) -> None:
    """Audit an export of indicator results (``what``: format and periods)."""
    audit = AuditRecord("indicators.export", "success", "IndicatorResult", None, 200, what)
    record(session, actor_of(principal), [audit])


def _result(ind: Indicator, stored: StoredResult | None) -> IndicatorResult:
    # An external indicator nobody entered has no counts; a calculated one has 0/0.
    no_count = None if ind.source == "external" else 0
    return IndicatorResult(
        id=ind.id,
        name_zh=ind.name_zh,
        name_en=ind.name_en,
        numerator=stored.numerator if stored else no_count,
        denominator=stored.denominator if stored else no_count,
        value=stored.value if stored else None,
        unit=ind.unit,
        target=ind.target,
        direction=ind.direction,
        status=stored.status if stored else "no_data",
        source=ind.source,
    )


def _point(label: str, stored: StoredResult | None) -> SeriesPoint:
    return SeriesPoint(
        period=label,
        numerator=stored.numerator if stored else 0,
        denominator=stored.denominator if stored else 0,
        value=stored.value if stored else None,
        status=stored.status if stored else "no_data",
    )


def _view_of(stored: StoredResult) -> str:
    if stored.area == DISTRICT and stored.institution == ALL:
        return "district"
    return "street" if stored.institution == ALL else "institution"


def _describe(ind: Indicator) -> CatalogueEntry:
    """The catalogue entry as the API shows it; ``reference`` only when there is one."""
    described: dict[str, object] = {
        "id": ind.id,
        "name_zh": ind.name_zh,
        "name_en": ind.name_en,
        "unit": ind.unit,
        "target": ind.target,
        "direction": ind.direction,
        "source": ind.source,
        "numerator_zh": ind.numerator_zh,
        "numerator_en": ind.numerator_en,
        "denominator_zh": ind.denominator_zh,
        "denominator_en": ind.denominator_en,
        "period_basis": ind.period_basis,
        "settings": list(ind.settings),
    }
    if ind.reference is not None:
        described["reference"] = str(ind.reference)
    return CatalogueEntry.model_validate(described)


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


def computed_at_by_indicator(session: Session) -> list[tuple[str, datetime | None]]:
    """(indicator, when its results were last computed), for the freshness gauges."""
    return repository.computed_at_by_indicator(session)
