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
from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import numpy as np
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
from mch_service.indicators.calculations import compute_all, external_value, members
from mch_service.indicators.catalogue import (
    BY_ID,
    CALCULATED,
    CATALOGUE,
    CATALOGUE_VERSION,
    Indicator,
)
from mch_service.indicators.display import honest_status
from mch_service.indicators.drilldown import (
    CRITERION_LABELS,
    KIND_CS,
    KIND_DEATH,
    KIND_DELIVERY,
    DrillRow,
    criterion_ids,
    drilldown,
)
from mch_service.indicators.errors import IndicatorInputError
from mch_service.indicators.exports import area_name, institution_name
from mch_service.indicators.loaders import (
    build_frames,
    last_change,
    last_report_change,
    women_changed_since,
)
from mch_service.indicators.periods import (
    PROVISIONAL_DAYS,
    Period,
    iter_periods,
    parse_period,
    periods_holding,
)
from mch_service.indicators.ports import CaseRegister, NoCaseRegister
from mch_service.indicators.results import IndicatorResult as StoredResult
from mch_service.indicators.schemas import (
    OVER_DENOMINATOR,
    Catalogue,
    CatalogueEntry,
    CountedRecord,
    CriterionRead,
    DrillDownQuery,
    DrillDownRow,
    EarlyWarningRead,
    EarlyWarnings,
    ExternalFigure,
    ExternalFigureRead,
    IndicatorRecords,
    IndicatorResult,
    IndicatorSeries,
    IndicatorSettingsRead,
    PeriodChoice,
    PeriodChoices,
    PeriodResults,
    ResultView,
    SeriesPoint,
    SeriesQuery,
    WarningPoint,
)
from mch_service.indicators.settings import IndicatorSettings
from mch_service.indicators.values import RESULT_COLUMNS, IndicatorValue
from mch_service.indicators.warnings import EarlyWarning, early_warnings
from mch_service.institutions.service import ReferenceNames, reference_names
from mch_service.streets import street_problem
from mch_service.timeutil import to_utc, utcnow

DISTRICT, ALL = "district", "all"
_SHANGHAI = ZoneInfo("Asia/Shanghai")


def indicator_settings(settings: Settings) -> IndicatorSettings:
    return IndicatorSettings(
        plan_year=settings.indicator_plan_year,
        small_numbers_below=settings.indicator_small_numbers_below,
        caesarean_basis=settings.indicator_caesarean_basis,
        case_managed_colours=tuple(settings.case_managed_colours),
        anaemia_denominator_excludes_thalassaemia=(
            settings.indicator_anaemia_denominator_excludes_thalassaemia
        ),
        district_code=settings.district_code,
        district_name=settings.district_name,
        hbig_hours=settings.indicator_hbig_hours,
        hepb_vaccine_hours=settings.indicator_hepb_vaccine_hours,
        syphilis_adequate_days=settings.indicator_syphilis_adequate_days,
    )


@dataclass
class _Cache:
    frames: fact_tables.FactFrames
    watermark: datetime | None
    reports: datetime | None = None  # the report cards' last change (maternal deaths)
    # the case register's last change (a follow-up or a closing) when the frames were built
    case_watermark: datetime | None = None


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


def _card_days_of(frames: fact_tables.FactFrames, women: set[str]) -> set[date]:
    """Death days of report cards of these women: a fed death arriving for one of them makes
    her card count no more (once per woman), in the card's period too."""
    deaths = frames.maternal_deaths
    if fact_tables.ENTERED not in deaths.columns or fact_tables.WOMAN_ID not in deaths.columns:
        return set()
    mine = deaths[fact_tables.ENTERED].to_numpy(dtype=bool) & deaths[fact_tables.WOMAN_ID].isin(
        women
    ).to_numpy(dtype=bool)
    return {d.date() for d in deaths.loc[mine, fact_tables.DEATH_DATE].dropna()}


def periods_of(days: Iterable[date]) -> list[str]:
    """Every period (of every kind) that holds one of ``days``."""
    labels: set[str] = set()
    months: set[tuple[int, int]] = set()
    for day in days:
        if (day.year, day.month) in months:
            continue  # the periods of a day depend on its month only
        months.add((day.year, day.month))
        labels.update(p.label for p in periods_holding(day))
    return sorted(labels)


class IndicatorService:
    def __init__(
        self,
        db: Database,
        settings: IndicatorSettings,
        streets: Iterable[str] = (),
        case_register: CaseRegister | None = None,
        zone: tzinfo = _SHANGHAI,
    ) -> None:
        self.db = db
        # the case register's facts (rule 7), through the port wired in mch_service/services.py
        self.case_register: CaseRegister = case_register or NoCaseRegister()
        self.case_facts = self.case_register.facts
        self.settings = settings
        # the district's zone (MCH_TIMEZONE): "provisional" compares its today with a period
        self.zone = zone
        # MCH_STREETS: an area filter must be "district" or one of these (any code if empty)
        self.streets = frozenset(streets)
        self._cache: _Cache | None = None
        self._lock = threading.Lock()
        # result rows the last refresh of this process inserted, updated or deleted
        self.last_changed = 0

    # -- computing ---------------------------------------------------------------------

    def refresh(self, full: bool = False) -> int:
        """Recompute what changed since the last run (everything when ``full`` or on the first
        run of this process); returns the number of result rows computed (``last_changed``: how
        many of them the store inserted, updated or deleted)."""
        with self._lock:
            with self.db.reading() as session:
                watermark = last_change(session)
                reports = last_report_change(session)
                case_watermark = self.case_register.last_change(session)
                cache = None if full else self._cache
                if cache is not None and cache.reports != reports:
                    cache = None  # a death entered or reviewed: rare, recompute everything
                if cache is None:
                    frames = build_frames(
                        session, self.settings.case_managed_colours, case_facts=self.case_facts
                    )
                    periods = periods_of(_event_days(frames))
                    written = self._store(frames, periods, replace_all=True)
                    self._cache = _Cache(frames, watermark, reports, case_watermark)
                    return written
                women_moved = watermark is not None and (
                    cache.watermark is None or watermark > cache.watermark
                )
                cases_moved = case_watermark is not None and (
                    cache.case_watermark is None or case_watermark > cache.case_watermark
                )
                if not women_moved and not cases_moved:
                    self.last_changed = 0
                    return 0
                changed = sorted(
                    set(women_changed_since(session, cache.watermark) if women_moved else [])
                    | set(
                        self.case_register.women_changed_since(session, cache.case_watermark)
                        if cases_moved
                        else []
                    )
                )
                fresh = build_frames(
                    session, self.settings.case_managed_colours, changed, self.case_facts
                )
            old = cache.frames
            merged, before = _replace_women(old, fresh, set(changed))
            days = set(_event_days(before)) | set(_event_days(fresh))
            days |= _card_days_of(merged, set(changed))
            periods = periods_of(days)
            written = self._store(merged, periods, replace_all=False) if periods else 0
            self._cache = _Cache(
                merged,
                watermark if women_moved else cache.watermark,
                cache.reports,
                case_watermark if cases_moved else cache.case_watermark,
            )
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
        rows = stored_rows(results, settings_json, now)
        with self.db.transaction() as session:
            self.last_changed = repository.write_results(
                session, rows, periods, replace_all, {"computed_at": now, "full": replace_all}
            )
        return len(rows)

    # -- reading -----------------------------------------------------------------------

    def _check(self, principal: Principal) -> None:
        principal.require(Permission.READ_INDICATORS)

    def _period(self, label: str) -> str:
        try:
            return parse_period(label).label
        except (ValueError, IndicatorInputError) as exc:
            raise InvalidResource([Issue(str(exc), "period", "value")], str(exc)) from None

    def _check_view(self, session: Session, area: str, institution: str, label: str | None) -> None:
        """An unknown area or institution, or a period outside the data, is refused with the
        valid values (4xx): a mistyped filter must not answer 0/0 "no data"."""
        self._area(area)
        names = reference_names(session)
        if area not in fact_tables.RESERVED_AREAS:
            known = set(names.streets) | set(self.streets) | set(repository.stored_areas(session))
            known -= set(fact_tables.RESERVED_AREAS)
            if area not in known:
                listed = ", ".join(
                    f"{code} ({names.street_name(code)})" if names.street_name(code) else code
                    for code in sorted(known)
                )
                message = "Unknown area; valid areas: district, non_resident, address_unknown" + (
                    f", {listed}" if listed else ""
                )
                raise InvalidResource([Issue(message, "area", "value")], message)
        if institution != ALL:
            known_inst = set(names.institutions) | set(repository.stored_institutions(session))
            known_inst.discard(ALL)
            if institution not in known_inst:
                listed = ", ".join(
                    f"{i} ({names.institution_name(i)})" if names.institution_name(i) else i
                    for i in sorted(known_inst)
                )
                message = "Unknown institution; valid institutions: all" + (
                    f", {listed}" if listed else ""
                )
                raise InvalidResource([Issue(message, "institution", "value")], message)
        if label is not None:
            self._in_data(session, label)

    def _in_data(self, session: Session, label: str) -> None:
        """A period that starts after today, or lies wholly outside the stored results' span,
        is refused with the span (4xx)."""
        p = parse_period(label)
        first, last = repository.stored_span(session)
        today = self.today()
        outside = p.start > today
        if first is not None and last is not None:
            outside = outside or p.end < first or p.start > last
        if outside:
            span = f"{first.isoformat()} to {last.isoformat()}" if first and last else "none yet"
            message = (
                f"The period {p.label} is outside the data (figures cover {span}; today is "
                f"{today.isoformat()}); valid periods: a year such as {today.year - 1}, "
                "SY2025, 2025-Q1, 2025-03 or 2025-03-R12 within that span"
            )
            raise InvalidResource([Issue(message, "period", "value")], message)

    def _names(self, session: Session, area: str, institution: str) -> dict[str, str]:
        """The view's names beside its codes (area_name, institution_name)."""
        names = reference_names(session)
        return {
            "area_name": area_name(area, self.settings.district_name, names),
            "institution_name": institution_name(institution, names),
        }

    def _area(self, area: str) -> None:
        # district, non_resident, address_unknown: the area lines by residence
        reserved = area in fact_tables.RESERVED_AREAS
        problem = None if reserved else street_problem(area, self.streets)
        if problem:
            raise InvalidResource([Issue(problem, "area", "value")], problem)

    def results(self, session: Session, principal: Principal, view: ResultView) -> PeriodResults:
        """Every catalogue indicator's stored figure for one period and view."""
        self._check(principal)
        label = self._period(view.period)
        self._check_view(session, view.area, view.institution, label)
        period = parse_period(label)
        rows = repository.results_by_indicator(session, label, view.area, view.institution)
        computed = _computed_at(session, rows.values())
        return PeriodResults(
            period=label,
            period_kind=period.kind,
            period_start=period.start.isoformat(),
            period_end=period.end.isoformat(),
            provisional=self._provisional(period.end),
            final_on=period.final_on.isoformat(),
            area=view.area,
            institution=view.institution,
            **self._names(session, view.area, view.institution),
            catalogue_version=CATALOGUE_VERSION,
            computed_at=to_utc(computed).isoformat() if computed else None,
            settings=IndicatorSettingsRead.model_validate(self.settings.to_dict()),
            results=[
                _result(indicator, stored, stored is not None and self._small(stored))
                for indicator in CATALOGUE
                for stored in [rows.get(indicator.id)]
            ],
        )

    def periods(self, session: Session, principal: Principal) -> PeriodChoices:
        """The periods with stored figures that have begun, by kind (years, statistical years,
        quarters, months, rolling years), newest first; ``current`` the newest quarter."""
        self._check(principal)
        today = self.today()
        order = ("year", "statistical_year", "quarter", "month", "rolling_year")
        found = [parse_period(label) for label in repository.stored_periods(session)]
        begun = sorted(
            (p for p in found if p.start <= today),
            key=lambda p: (order.index(p.kind), -p.start.toordinal()),
        )
        quarters = [p.label for p in begun if p.kind == "quarter"]
        return PeriodChoices(
            current=quarters[0] if quarters else None,
            periods=[
                PeriodChoice(
                    period=p.label,
                    kind=p.kind,
                    start=p.start.isoformat(),
                    end=p.end.isoformat(),
                    provisional=self._provisional(p.end),
                )
                for p in begun
            ],
        )

    def series(
        self, session: Session, principal: Principal, indicator_id: str, query: SeriesQuery
    ) -> IndicatorSeries:
        """One indicator's stored figures for every period from ``query.first`` to
        ``query.last`` (0/0 and no_data where nothing is stored)."""
        self._check(principal)
        self._check_view(session, query.area, query.institution, None)
        ind = BY_ID.get(indicator_id)
        if ind is None:
            raise NotFound(f"No indicator {indicator_id!r}")
        try:
            periods = list(iter_periods(query.first, query.last))
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
            **self._names(session, query.area, query.institution),
            catalogue_version=CATALOGUE_VERSION,
            points=[
                _point(
                    p, stored, stored is not None and self._small(stored), self._provisional(p.end)
                )
                for p in periods
                for stored in [rows.get(p.label)]
            ],
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
        if not labels:
            message = "Name at least one period (?period=2025 or ?period=2025-Q1,2025-Q2)"
            raise InvalidResource([Issue(message, "period", "required")], message)
        with self.db.reading() as session:
            for label in labels:
                self._in_data(session, label)
        return self._stream_values(labels, views)

    def report_context(
        self, labels: list[str]
    ) -> tuple[ReferenceNames, datetime | None, datetime | None]:
        """For an official report: the names behind codes, the data cut-off (the last change
        of the women's records or the report cards) and when the periods' figures were last
        computed."""
        with self.db.reading() as session:
            names = reference_names(session)
            changes = [c for c in (last_change(session), last_report_change(session)) if c]
            computed = repository.computed_at_of(session, labels)
        cutoff = max((to_utc(c) for c in changes), default=None)
        return names, cutoff, to_utc(computed) if computed else None

    def label_of(self, period: str) -> str:
        """The canonical label of a period (2025q1 -> 2025-Q1)."""
        return self._period(period)

    def check_view(self, principal: Principal, view: ResultView) -> str:
        """The view's period label once its area, institution and period are known ones."""
        self._check(principal)
        label = self._period(view.period)
        with self.db.reading() as session:
            self._check_view(session, view.area, view.institution, label)
        return label

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
            small = self._small(r)
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
                status=honest_status(r.status, small),  # type: ignore[arg-type]
                catalogue_version=r.catalogue_version,
                settings=json.loads(r.settings) if r.settings else settings,
                small_numbers=small,
                provisional=self._provisional(r.period_end),
            )

    def today(self) -> date:
        return utcnow().astimezone(self.zone).date()

    def _provisional(self, period_end: date) -> bool:
        """Records of the period may still arrive: today is its end + 56 days or earlier."""
        return self.today() <= period_end + timedelta(days=PROVISIONAL_DAYS)

    def _small(self, stored: StoredResult) -> bool:
        """The denominator is above 0 and below the small-numbers size the figure was computed
        with (stored in its settings; the current one for a figure stored before the flag)."""
        below = self.settings.small_numbers_below
        if stored.settings:
            below = int(json.loads(stored.settings).get("small_numbers_below", below))
        denominator = stored.denominator or 0
        return 0 < denominator < below

    def warnings(
        self, session: Session, principal: Principal, view: ResultView, window: int = 6
    ) -> EarlyWarnings:
        """Indicators off target in ``view.period``, or whose trend over the last ``window``
        periods projects them off target by the end of the year."""
        self._check(principal)
        current = parse_period(self._period(view.period))
        self._check_view(session, view.area, view.institution, current.label)
        labels = [current.label]
        p = current
        for _ in range(window - 1):
            p = p.previous()
            labels.append(p.label)
        # complete periods only: a provisional period's records may still arrive
        values = [
            v
            for v in self._values_in(session, labels, ("district", "street", "institution"))
            if v.area == view.area and v.institution == view.institution and not v.provisional
        ]
        complete = not self._provisional(current.end)
        flags = (
            early_warnings(values, current.label, window=window, plan_year=self.settings.plan_year)
            if complete
            else []
        )
        order = {label: n for n, label in enumerate(reversed(labels))}
        used: dict[str, list[WarningPoint]] = {}
        for v in sorted(values, key=lambda v: order.get(v.period, 0)):
            if v.small_numbers or v.value is None:
                continue
            used.setdefault(v.id, []).append(
                WarningPoint(
                    period=v.period, numerator=v.numerator, denominator=v.denominator, value=v.value
                )
            )

        def read(w: EarlyWarning) -> EarlyWarningRead:
            points = used.get(w.indicator_id, [])
            if w.kind == "off_target":
                method, method_zh = "current_value", "本期数值与目标比较"
                points = [p for p in points if p.period == current.label]
            else:
                method, method_zh = "least_squares_trend", "最小二乘线性趋势外推（仅完整统计期）"
            return EarlyWarningRead.model_validate(
                {**asdict(w), "method": method, "method_zh": method_zh, "points_used": points}
            )

        return EarlyWarnings(
            period=current.label,
            area=view.area,
            institution=view.institution,
            **self._names(session, view.area, view.institution),
            complete=complete,
            warnings=[read(w) for w in flags],
        )

    def enter_external(
        self,
        session: Session,
        principal: Principal,
        indicator_id: str,
        view: ResultView,
        figure: ExternalFigure,
    ) -> ExternalFigureRead:
        """Store the monitoring group's figure of an external indicator for a period and view
        (kept by every recomputation; audited). A proportion's numerator cannot exceed its
        denominator."""
        principal.require(Permission.ENTER_EXTERNAL_FIGURES)
        ind = BY_ID.get(indicator_id)
        if ind is None:
            raise NotFound(f"No indicator {indicator_id!r}")
        if ind.source != "external":
            message = f"{indicator_id} is calculated from the feeds, not entered"
            raise InvalidResource([Issue(message, "indicator_id", "value")], message)
        self._check_view(session, view.area, ALL, None)
        if view.institution != ALL:
            message = "External figures are entered for all institutions (institution=all)"
            raise InvalidResource([Issue(message, "institution", "value")], message)
        label = self._period(view.period)
        if parse_period(label).start > self.today():
            message = f"{label} has not begun: figures are entered for past or current periods"
            raise InvalidResource([Issue(message, "period", "value")], message)
        if ind.unit == "%" and figure.numerator > figure.denominator:
            message = "A proportion's numerator cannot exceed its denominator"
            issue = Issue(message, "numerator", "value", rule=OVER_DENOMINATOR)
            raise InvalidResource([issue], message)
        try:
            v = external_value(
                indicator_id,
                label,
                figure.numerator,
                figure.denominator,
                view.area,
                view.institution,
                self.settings,
            )
        except IndicatorInputError as exc:
            raise InvalidResource([Issue(str(exc), "period", "value")], str(exc)) from None
        now = utcnow()
        repository.put_result(
            session,
            {
                **_stored_row(v, self.settings.to_json(), now),
                "entered_source": figure.source,
                "entered_note": figure.note,
                "entered_by": principal.username,
            },
        )
        what = f"{label} {view.area} {figure.numerator}/{figure.denominator}"
        audit = AuditRecord(
            "indicators.external", "success", "IndicatorResult", indicator_id, 200, what
        )
        record(session, actor_of(principal), [audit])
        return ExternalFigureRead(
            id=v.id,
            period=v.period,
            area=v.area,
            institution=v.institution,
            numerator=v.numerator,
            denominator=v.denominator,
            value=v.value,
            unit=v.unit,
            target=v.target,
            direction=v.direction,
            status=v.status,
            source=figure.source,
            note=figure.note,
            entered_by=principal.username,
            entered_at=now.isoformat(),
        )

    def catalogue(self, principal: Principal) -> Catalogue:
        self._check(principal)
        return Catalogue(
            catalogue_version=CATALOGUE_VERSION,
            settings=IndicatorSettingsRead.model_validate(self.settings.to_dict()),
            indicators=[_describe(i) for i in CATALOGUE],
        )

    def drill(
        self, principal: Principal, indicator_id: str, view: ResultView
    ) -> tuple[dict[str, list[str]], list[DrillRow]]:
        """Drill-down: the ids behind a result (``members``) and its rows with reasons (the
        caller masks and names)."""
        self._check(principal)
        if indicator_id not in {i.id for i in CALCULATED}:
            raise NotFound(f"No calculated indicator {indicator_id!r}")
        label = self._period(view.period)
        with self.db.reading() as session:
            self._check_view(session, view.area, view.institution, label)
            frames = (
                self._cache.frames
                if self._cache
                else build_frames(
                    session, self.settings.case_managed_colours, case_facts=self.case_facts
                )
            )
        counted = members(frames, indicator_id, label, view.area, view.institution, self.settings)
        rows = drilldown(frames, indicator_id, label, view.area, view.institution, self.settings)
        return counted, rows

    def records(
        self,
        session: Session,
        principal: Principal,
        crypto: Crypto,
        indicator_id: str,
        query: DrillDownQuery,
        counted: dict[str, list[str]],
        rows: list[DrillRow] | None = None,
    ) -> IndicatorRecords:
        """The drill-down's ``counted`` ids (from ``drill``) as masked records, and its rows
        with names, masked identifiers and the filters applied; the look is audited."""
        what = f"{query.period} {query.area} {query.institution}"
        audit = AuditRecord(
            "indicators.drilldown", "success", "IndicatorResult", indicator_id, 200, what
        )
        record(session, actor_of(principal), [audit])
        ind = BY_ID[indicator_id]
        known = criterion_ids(indicator_id, self.settings)
        if query.criterion is not None and query.criterion not in known:
            message = f"Unknown criterion; valid criteria of {indicator_id}: {', '.join(known)}"
            raise InvalidResource([Issue(message, "criterion", "value")], message)

        def listed(part: str) -> list[CountedRecord]:
            summaries = masked_summaries(session, crypto, counted[part])
            return [CountedRecord.model_validate(summary) for summary in summaries]

        rows = rows or []
        chosen = [
            r
            for r in rows
            if (not query.missed or r.missed)
            and (
                query.criterion is None
                or (query.criterion in r.criteria and not r.criteria[query.criterion]["met"])
            )
        ]
        names = reference_names(session)
        pregnancy_ids = sorted({r.pregnancy_id for r in chosen if r.pregnancy_id})
        masked = {m["pregnancy_id"]: m for m in masked_summaries(session, crypto, pregnancy_ids)}
        date_kinds = {KIND_DELIVERY: "delivery", KIND_DEATH: "death", KIND_CS: "diagnosis"}
        out_rows = []
        for r in chosen:
            m = masked.get(r.pregnancy_id or "")
            out_rows.append(
                DrillDownRow(
                    pregnancy_id=r.pregnancy_id if m is not None else None,
                    record_id=r.record_id,
                    kind=r.kind,
                    units=r.units,
                    in_numerator=r.in_numerator,
                    numerator_units=r.numerator_units,
                    missed=r.missed,
                    criteria={k: CriterionRead.model_validate(v) for k, v in r.criteria.items()},
                    institution=r.institution,
                    institution_name=names.institution_name(r.institution),
                    street=r.street,
                    street_name=names.street_name(r.street),
                    responsible_centre=names.centre_name_of(r.street),
                    area=r.area,
                    date=r.date,
                    date_kind=date_kinds[r.kind],
                    name=m["name"] if m else None,
                    resident_id=m["resident_id"] if m else None,
                )
            )
        return IndicatorRecords(
            id=indicator_id,
            name_zh=ind.name_zh,
            name_en=ind.name_en,
            period=query.period,
            area=query.area,
            institution=query.institution,
            numerator_count=len(counted["numerator"]),
            denominator_count=len(counted["denominator"]),
            numerator=listed("numerator"),
            denominator=listed("denominator"),
            criteria_labels={k: CRITERION_LABELS.get(k, (k, k))[0] for k in known},
            missed=query.missed,
            criterion=query.criterion,
            rows_total=len(rows),
            units_total=sum(r.units for r in rows),
            numerator_units_total=sum(r.numerator_units for r in rows),
            rows=out_rows,
        )


def record_export(session: Session, principal: Principal, what: str) -> None:
    """Audit an export of indicator results (``what``: format and periods)."""
    audit = AuditRecord("indicators.export", "success", "IndicatorResult", None, 200, what)
    record(session, actor_of(principal), [audit])


def stored_rows(
    results: pd.DataFrame, settings_json: str, computed_at: datetime
) -> list[dict[str, object]]:
    """``indicator_result`` rows of ``compute_all``'s table, column by column: the same rows as
    ``_stored_row`` of each ``iter_values`` value (tests check), without an object per row
    (tens of thousands of rows per run: statistical and rolling years for every view)."""
    if results.empty:
        return []

    def optional_float(column: str) -> list[float | None]:
        present = results[column].notna().to_numpy(dtype=bool)
        values = results[column].to_numpy(dtype=np.float64, na_value=np.nan).tolist()
        return [v if keep else None for v, keep in zip(values, present, strict=True)]

    direction = results["direction"]
    columns: dict[str, list[object]] = {
        "indicator_id": results["indicator_id"].astype(str).tolist(),
        "period": results["period"].astype(str).tolist(),
        "area": results["area"].astype(str).tolist(),
        "institution": results["institution"].astype(str).tolist(),
        "period_start": pd.to_datetime(results["period_start"]).dt.date.tolist(),
        "period_end": pd.to_datetime(results["period_end"]).dt.date.tolist(),
        "numerator": results["numerator"].astype("int64").tolist(),
        "denominator": results["denominator"].astype("int64").tolist(),
        "value": list(optional_float("value")),
        "unit": results["unit"].astype(str).tolist(),
        "target": list(optional_float("target")),
        "direction": [None if pd.isna(d) else str(d) for d in direction.tolist()],
        "status": results["status"].astype(str).tolist(),
        "catalogue_version": results["catalogue_version"].astype(str).tolist(),
    }
    names = list(columns)
    return [
        {
            **dict(zip(names, row, strict=True)),
            "settings": settings_json,
            "computed_at": computed_at,
        }
        for row in zip(*columns.values(), strict=True)
    ]


def _stored_row(v: IndicatorValue, settings_json: str, computed_at: datetime) -> dict[str, object]:
    """An ``indicator_result`` row of one value."""
    return {
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
        "computed_at": computed_at,
    }


def _result(ind: Indicator, stored: StoredResult | None, small: bool) -> IndicatorResult:
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
        status=honest_status(stored.status, small) if stored else "no_data",
        small_numbers=small,
        source=ind.source,
    )


def _point(
    period: Period, stored: StoredResult | None, small: bool, provisional: bool
) -> SeriesPoint:
    return SeriesPoint(
        period=period.label,
        numerator=stored.numerator if stored else 0,
        denominator=stored.denominator if stored else 0,
        value=stored.value if stored else None,
        status=honest_status(stored.status, small) if stored else "no_data",
        small_numbers=small,
        provisional=provisional,
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
        "note_zh": ind.note_zh,
        "note_en": ind.note_en,
        "local": ind.local,
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


def _computed_at(session: Session, rows: Iterable[StoredResult]) -> datetime | None:
    """When these stored figures were last computed: an entered figure when it was entered; a
    calculated one when the job last ran (it writes only the rows that change)."""
    rows = list(rows)
    calculated = [r.computed_at for r in rows if r.indicator_id not in repository.EXTERNAL_IDS]
    entered: list[datetime | None] = [
        to_utc(r.computed_at) for r in rows if r.indicator_id in repository.EXTERNAL_IDS
    ]
    if calculated:
        run = repository.last_run(session)
        entered.append(repository.latest(max(map(to_utc, calculated)), run))
    return max((t for t in entered if t is not None), default=None)


def computed_at_by_indicator(session: Session) -> list[tuple[str, datetime | None]]:
    """(indicator, when its results were last computed), for the freshness gauges."""
    return repository.computed_at_by_indicator(session)
