"""The monitoring group's pages: the indicator dashboard (a period and area's table with the early
warnings), one indicator (its trend chart, the records behind the figure, the external-figure
form) and data quality per institution; and the monitor's panel of the home page.

Every figure comes from the service function the JSON API route calls, with the same arguments
(``services.indicators.results``, ``.warnings``, ``.series``, ``.drill`` + ``.records``,
``.enter_external``; ``quality.service.report``): the same permission, view checks, masking
and audit. Downloads are links to the API routes with the view's own query string, so a file
holds exactly what the page shows. Rounding and wording come from ``indicators.display``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from mch_service.auth.permissions import Permission, Principal, Role
from mch_service.deps import ServicesDep, in_reading, in_transaction
from mch_service.errors import MchError, NotFound
from mch_service.indicators.catalogue import BY_ID, GROUP_TITLES
from mch_service.indicators.display import (
    FLAG_LABELS,
    SETTING_NAMES_ZH,
    STATUS_LABELS,
    UNIT_LABELS,
    format_number,
    format_target,
    setting_text_zh,
)
from mch_service.indicators.drilldown import CRITERION_LABELS
from mch_service.indicators.periods import parse_period
from mch_service.indicators.schemas import (
    OVER_DENOMINATOR,
    CatalogueEntry,
    DrillDownQuery,
    ExternalFigure,
    IndicatorResult,
    PeriodResults,
    ResultView,
    SeriesQuery,
)
from mch_service.institutions import service as institutions
from mch_service.quality import service as quality
from mch_service.web.i18n import labels, language
from mch_service.web.rendering import Viewer, refused, render, viewer

router = APIRouter(include_in_schema=False)

DRILL_PAGE_ROWS = 50
# How many periods the trend chart shows, ending with the period on screen.
TREND_LENGTH = {"month": 12, "quarter": 8, "year": 5, "statistical_year": 5, "rolling_year": 12}
PERIOD_KINDS = ("quarter", "month", "year", "statistical_year", "rolling_year")
QUALITY_COLUMNS = (
    "resources",
    "rejected",
    "rejection_rate",
    "resident_id_valid_share",
    "street_share",
    "delay_days_median",
    "late_share",
    "unmapped_codes",
    "plausibility_flags",
)
QUALITY_SHARES = frozenset(
    {"rejection_rate", "resident_id_valid_share", "street_share", "late_share"}
)
# Settings that shape every figure: shown once above the table, not on each line.
COMMON_SETTINGS = ("small_numbers_below", "plan_year")
TREND_KINDS = ("rejections", "warnings", "flags", "unmapped_codes", "unresolved_references")
# The records list behind each count of the trend (/data-quality/records?kind=).
RECORD_KINDS = {
    "rejections": "rejections",
    "warnings": "warnings",
    "flags": "flags",
    "unmapped_codes": "unmapped",
    "unresolved_references": "unresolved",
}


async def monitor_viewer(request: Request, services: ServicesDep) -> Viewer | Response:
    """The signed-in member if they may read indicators (monitors, administrators)."""
    who = await viewer(request, services)
    if isinstance(who, Viewer) and not who.principal.can(Permission.READ_INDICATORS):
        return refused(request, who, MchError("This page is for the monitoring group", 403))
    return who


# -- the view: period, area, institution -------------------------------------------------------


async def _pickers(services: ServicesDep, principal: Principal, lang: str) -> dict[str, Any]:
    """The period, area and institution choices, by name, from the services the API's
    /indicators/periods, /streets and /institutions routes call."""
    periods = await in_reading(services, services.indicators.periods, principal)
    streets = await in_transaction(services, institutions.streets_for_staff, principal)
    directory = await in_transaction(services, institutions.institutions_for_staff, principal)
    by_kind: dict[str, list[str]] = {}
    for p in periods.periods:
        by_kind.setdefault(p.kind, []).append(p.period)
    district = services.settings.district_name
    areas = [("district", district)]
    areas += [
        (s.code, (s.name_en or s.name) if lang == "en" else s.name)
        for s in sorted(streets, key=lambda s: s.name)
    ]
    return {
        "current": periods.current,
        "period_groups": [(kind, by_kind[kind]) for kind in PERIOD_KINDS if kind in by_kind],
        "areas": areas,
        "area_lines": ["non_resident", "address_unknown"],
        "institutions": [(i.id, i.name) for i in sorted(directory, key=lambda i: i.name)],
    }


def _view(request: Request, current: str | None) -> ResultView | None:
    params = request.query_params
    period = params.get("period", "").strip()[:20] or current
    if not period:
        return None
    return ResultView(
        period=period,
        area=params.get("area", "").strip()[:64] or "district",
        institution=params.get("institution", "").strip()[:64] or "all",
    )


def _query(view: ResultView, **more: Any) -> str:
    return urlencode(
        {"period": view.period, "area": view.area, "institution": view.institution, **more}
    )


# -- how a figure reads -------------------------------------------------------------------------


def _value_text(value: float | None, unit: str, lang: str) -> str:
    if value is None:
        return ""
    return f"{format_number(value)}{UNIT_LABELS[unit]['en' if lang == 'en' else 'zh']}"


def _row(
    r: IndicatorResult, entry: CatalogueEntry, settings: dict[str, Any], lang: str
) -> dict[str, Any]:
    """One line of the table: the API's figure, rounded for display only, with its wording."""
    zh = lang != "en"
    not_entered = r.source == "external" and r.numerator is None
    return {
        "id": r.id,
        "name": r.name_zh if zh else r.name_en,
        "numerator": "" if r.numerator is None else r.numerator,
        "denominator": "" if r.denominator is None else r.denominator,
        "value": _value_text(r.value, r.unit, lang),
        "target": format_target(r.direction, r.target, r.unit, "zh" if zh else "en"),
        "status": "not_entered" if not_entered else r.status,
        "status_text": None if not_entered else STATUS_LABELS[r.status]["zh" if zh else "en"],
        "small_numbers": r.small_numbers,
        "source": r.source,
        "settings": [
            (SETTING_NAMES_ZH.get(name, name) if zh else name, _setting_text(settings, name, zh))
            for name in entry.settings
            if name not in COMMON_SETTINGS
        ],
    }


def _grouped(rows: list[dict[str, Any]], lang: str) -> list[tuple[str, list[dict[str, Any]]]]:
    """The table's lines under the catalogue's group titles: the groups in the order they first
    occur in the plan, the lines of each in the plan's order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(BY_ID[row["id"]].group, []).append(row)
    return [(GROUP_TITLES[key][1 if lang == "en" else 0], lines) for key, lines in groups.items()]


def _common_choices(settings: dict[str, Any], lang: str) -> list[tuple[str, str]]:
    zh = lang != "en"
    return [
        (SETTING_NAMES_ZH.get(name, name) if zh else name, _setting_text(settings, name, zh))
        for name in COMMON_SETTINGS
    ]


def _setting_text(settings: dict[str, Any], name: str, zh: bool) -> str:
    value = settings.get(name)
    if zh:
        return setting_text_zh(value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value).lower() if isinstance(value, bool) else str(value)


async def _catalogue(services: ServicesDep, principal: Principal) -> dict[str, CatalogueEntry]:
    cat = await run_in_threadpool(services.indicators.catalogue, principal)
    return {e.id: e for e in cat.indicators}


# -- the dashboard ----------------------------------------------------------------------------


@router.get("/indicators")
async def dashboard(request: Request, services: ServicesDep) -> Response:
    who = await monitor_viewer(request, services)
    if not isinstance(who, Viewer):
        return who
    lang = language(request)
    pickers = await _pickers(services, who.principal, lang)
    view = _view(request, pickers["current"])
    context: dict[str, Any] = {**pickers, "view": view, "groups": [], "results": None}
    if view is None:
        return render(request, "indicators.html", context, who=who)
    try:
        results = await in_reading(services, services.indicators.results, who.principal, view)
        warnings = await in_reading(services, services.indicators.warnings, who.principal, view)
    except MchError as exc:
        context["error"] = exc.message
        return render(request, "indicators.html", context, status=exc.status_code, who=who)
    catalogue = await _catalogue(services, who.principal)
    settings = results.settings.model_dump()
    names = {r.id: (r.name_zh if lang != "en" else r.name_en) for r in results.results}
    context.update(
        results=results,
        groups=_grouped([_row(r, catalogue[r.id], settings, lang) for r in results.results], lang),
        common_choices=_common_choices(settings, lang),
        warnings=warnings,
        warning_names=names,
        # the canonical period (2025q3 -> 2025-Q3): downloads name what the table shows
        query=_query(view.model_copy(update={"period": results.period})),
        # the 本表 downloads write units and statuses in the page's language
        download_query=_query(view.model_copy(update={"period": results.period}), lang=lang),
        official_query=urlencode({"period": results.period}),
        flag_labels={k: v["en" if lang == "en" else "zh"] for k, v in FLAG_LABELS.items()},
    )
    return render(request, "indicators.html", context, who=who)


# -- one indicator: trend, drill-down, external figure -------------------------------------------


def _trend_query(view: ResultView) -> SeriesQuery:
    last = parse_period(view.period)
    first = last
    for _ in range(TREND_LENGTH.get(last.kind, 8) - 1):
        first = first.previous()
    return SeriesQuery.model_validate(
        {"from": first.label, "to": last.label, "area": view.area, "institution": view.institution}
    )


def _chart(series: Any, lang: str, t: dict[str, str]) -> str:
    """What the chart script draws (static/js/charts.js), as JSON in a data- attribute."""
    zh = lang != "en"
    return json.dumps(
        {
            "title": series.name_zh if zh else series.name_en,
            "unit": UNIT_LABELS[series.unit]["zh" if zh else "en"],
            "periods": [p.period for p in series.points],
            "values": [p.value for p in series.points],
            "counts": [[p.numerator, p.denominator] for p in series.points],
            "flags": [
                [t["flag_provisional"]] * p.provisional
                + [t["flag_small_numbers"]] * p.small_numbers
                for p in series.points
            ],
            "target": series.target,
            "direction": series.direction,
            "labels": {
                "value": t["chart_value"],
                "target": t["chart_target"],
                "numerator": t["col_numerator"],
                "denominator": t["col_denominator"],
                "period": t["col_period"],
            },
        },
        ensure_ascii=False,
    )


async def _indicator_page(
    request: Request,
    services: ServicesDep,
    who: Viewer,
    indicator_id: str,
    form: dict[str, str] | None = None,
    field_errors: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
    posted: ResultView | None = None,
) -> Response:
    """The indicator page of the view in the query string (or ``posted``: the view a form
    was sent for), with the form's values and errors when it comes back refused."""
    lang = language(request)
    t = labels(lang)
    catalogue = await _catalogue(services, who.principal)
    entry = catalogue.get(indicator_id)
    if entry is None:
        return refused(request, who, NotFound(f"No indicator {indicator_id!r}"))
    pickers = await _pickers(services, who.principal, lang)
    view = posted or _view(request, pickers["current"])
    context: dict[str, Any] = {
        **pickers,
        "entry": entry,
        "name": entry.name_zh if lang != "en" else entry.name_en,
        "view": view,
        "form": form or {},
        "field_errors": field_errors or {},
        "error": error,
        "done": request.query_params.get("done"),
        "can_enter": who.principal.can(Permission.ENTER_EXTERNAL_FIGURES),
    }
    if view is None:
        return render(request, "indicator.html", context, status=status, who=who)
    params = request.query_params
    missed = params.get("missed") == "true"
    criterion = params.get("criterion", "").strip()[:64] or None
    try:
        page = max(int(params.get("page", "1") or 1), 1)
    except ValueError:
        page = 1
    try:
        results: PeriodResults = await in_reading(
            services, services.indicators.results, who.principal, view
        )
        series = await in_reading(
            services, services.indicators.series, who.principal, indicator_id, _trend_query(view)
        )
        records = None
        if entry.source == "calculated":
            query = DrillDownQuery(
                period=view.period,
                area=view.area,
                institution=view.institution,
                missed=missed,
                criterion=criterion,
            )
            counted, rows = await run_in_threadpool(
                services.indicators.drill, who.principal, indicator_id, view
            )
            records = await in_transaction(
                services,
                services.indicators.records,
                who.principal,
                services.crypto,
                indicator_id,
                query,
                counted,
                rows,
            )
    except MchError as exc:
        context["error"] = exc.message
        return render(request, "indicator.html", context, status=exc.status_code, who=who)
    result = next(r for r in results.results if r.id == indicator_id)
    settings = results.settings.model_dump()
    drill_more: dict[str, Any] = {}
    if missed:
        drill_more["missed"] = "true"
    if criterion:
        drill_more["criterion"] = criterion
    context.update(
        results=results,
        row=_row(result, entry, settings, lang),
        common_choices=_common_choices(settings, lang),
        chart=_chart(series, lang, t),
        series=series,
        records=records,
        missed=missed,
        criterion=criterion,
        query=_query(view),
        drill_query=_query(view, **drill_more),
        flag_labels={k: v["en" if lang == "en" else "zh"] for k, v in FLAG_LABELS.items()},
    )
    if records is not None:
        shown = records.rows[(page - 1) * DRILL_PAGE_ROWS : page * DRILL_PAGE_ROWS]
        context.update(
            drill_rows=[_drill_row(r, records.criteria_labels, lang) for r in shown],
            page=page,
            pages=max((len(records.rows) + DRILL_PAGE_ROWS - 1) // DRILL_PAGE_ROWS, 1),
            first_row=(page - 1) * DRILL_PAGE_ROWS + 1 if shown else 0,
            last_row=(page - 1) * DRILL_PAGE_ROWS + len(shown),
            criteria=[
                (k, v if lang != "en" else CRITERION_LABELS.get(k, (v, v))[1])
                for k, v in records.criteria_labels.items()
            ],
        )
    return render(request, "indicator.html", context, status=status, who=who)


def _drill_row(row: Any, criteria_labels: dict[str, str], lang: str) -> dict[str, Any]:
    """A record behind the figure as the table shows it: the criteria it missed, by name."""

    def label(key: str) -> str:
        zh = criteria_labels.get(key, key)
        return zh if lang != "en" else CRITERION_LABELS.get(key, (zh, zh))[1]

    return {
        "row": row,
        "failed": [(label(k), c.value) for k, c in row.criteria.items() if not c.met],
    }


@router.get("/indicators/{indicator_id}")
async def indicator_page(indicator_id: str, request: Request, services: ServicesDep) -> Response:
    who = await monitor_viewer(request, services)
    if not isinstance(who, Viewer):
        return who
    return await _indicator_page(request, services, who, indicator_id[:80])


# The form's refusals in the page's language, by pydantic's error type or the service issue's
# rule; anything else keeps the service's words.
_ERROR_LABELS = {
    "missing": "ext_err_required",
    "string_too_short": "ext_err_required",
    "string_too_long": "ext_err_too_long",
    "int_parsing": "ext_err_whole_number",
    "int_type": "ext_err_whole_number",
    "int_from_float": "ext_err_whole_number",
    "greater_than_equal": "ext_err_whole_number",
    "less_than_equal": "ext_err_too_large",
    OVER_DENOMINATOR: "ext_err_over_denominator",
}


def _field_errors(exc: ValidationError, t: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for e in exc.errors():
        where = str(e.get("loc", ("form",))[0])
        key = _ERROR_LABELS.get(str(e.get("type")))
        out.setdefault(where, t[key] if key else str(e.get("msg", "invalid")))
    return out


@router.post("/indicators/{indicator_id}/external")
async def enter_external(indicator_id: str, request: Request, services: ServicesDep) -> Response:
    """The external-figure form: PUT /api/v1/indicators/{id}/external's service, for the period
    and area on screen (all institutions)."""
    who = await monitor_viewer(request, services)
    if not isinstance(who, Viewer):
        return who
    indicator_id = indicator_id[:80]
    if not who.principal.can(Permission.ENTER_EXTERNAL_FIGURES):
        return refused(request, who, MchError("Your role may not enter figures", 403))
    raw = await request.form()
    form = {
        k: str(raw.get(k) or "").strip()[:2000]
        for k in ("numerator", "denominator", "source", "note")
    }
    period = str(raw.get("period") or "").strip()[:20]
    area = str(raw.get("area") or "district").strip()[:64]
    view = ResultView(period=period, area=area, institution="all")
    try:
        figure = ExternalFigure.model_validate(
            {
                "numerator": form["numerator"],
                "denominator": form["denominator"],
                "source": form["source"],
                "note": form["note"] or None,
            }
        )
        await in_transaction(
            services, services.indicators.enter_external, who.principal, indicator_id, view, figure
        )
    except ValidationError as exc:
        return await _indicator_page(
            request,
            services,
            who,
            indicator_id,
            form,
            _field_errors(exc, labels(language(request))),
            None,
            422,
            view,
        )
    except MchError as exc:
        t = labels(language(request))
        fields = {
            i.expression: t[_ERROR_LABELS[i.rule]] if i.rule in _ERROR_LABELS else i.message
            for i in exc.issues
            if i.expression in ("numerator", "denominator", "source", "note")
        }
        return await _indicator_page(
            request,
            services,
            who,
            indicator_id,
            form,
            fields,
            None if fields else exc.message,
            exc.status_code,
            view,
        )
    target = f"/indicators/{indicator_id}?{_query(view, done='external_saved')}"
    return RedirectResponse(target, status_code=303)


# -- data quality -------------------------------------------------------------------------------


def _quality_text(metric: str, value: Any) -> str:
    if value is None:
        return "—"
    if metric in QUALITY_SHARES:
        share = float(value) * 100
        # a few rejections among thousands are not none: never rounded to 0.0 % or 100.0 %
        if 0 < share < 0.05:
            return "<0.1%"
        if 99.95 <= share < 100:
            return ">99.9%"
        return f"{format_number(share, 1)}%"
    if metric == "delay_days_median":
        return format_number(float(value), 1)
    return str(value)


def _figure_link(institution: str, metric: str) -> str | None:
    """The records behind a count of the table (its rule flags split in two beside it)."""
    kind = {"rejected": "rejections", "unmapped_codes": "unmapped"}.get(metric)
    return records_link(institution, kind) if kind else None


def records_link(institution: str, kind: str, period: str | None = None) -> str:
    """The page of the records behind one figure (web/quality_pages.py)."""
    query = {"institution": institution, "kind": kind}
    if period:
        query["period"] = period
    return f"/data-quality/records?{urlencode(query)}"


@router.get("/data-quality")
async def data_quality_page(request: Request, services: ServicesDep) -> Response:
    who = await monitor_viewer(request, services)
    if not isinstance(who, Viewer):
        return who
    t = labels(language(request))
    rows = await in_reading(services, quality.report, None)
    split = await in_reading(services, quality.flag_split)
    directory = await in_transaction(services, institutions.institutions_for_staff, who.principal)
    names = {i.id: i.name for i in directory}
    chosen = request.query_params.get("institution", "").strip()[:64]
    ids = [r["institution"] for r in rows]
    if chosen not in ids:
        chosen = ids[0] if ids else ""
    zone = ZoneInfo(services.settings.timezone)
    trend = (
        await in_reading(
            services,
            quality.monthly_trend,
            chosen,
            zone,
            quality.last_months(datetime.now(zone).date(), 12),
        )
        if chosen
        else []
    )
    chart = json.dumps(
        {
            "title": names.get(chosen, chosen),
            "periods": [m["month"] for m in trend],
            "series": [
                {"name": t[f"dq_trend_{kind}"], "values": [m[kind] for m in trend]}
                for kind in TREND_KINDS
            ],
        },
        ensure_ascii=False,
    )
    return render(
        request,
        "data_quality.html",
        {
            "rows": [
                {
                    "id": r["institution"],
                    "name": names.get(r["institution"], r["institution"]),
                    "computed_at": r["computed_at"],
                    "cells": [
                        (m, _quality_text(m, r.get(m)), _figure_link(r["institution"], m))
                        for m in QUALITY_COLUMNS
                    ],
                    "split": [
                        (kind, n, records_link(r["institution"], kind))
                        for kind, n in split.get(
                            r["institution"], {"warnings": 0, "flags": 0}
                        ).items()
                    ],
                }
                for r in rows
            ],
            "columns": QUALITY_COLUMNS,
            "chosen": chosen,
            "chosen_name": names.get(chosen, chosen),
            "trend": [
                {
                    "month": m["month"],
                    "cells": [
                        (kind, m[kind], records_link(chosen, RECORD_KINDS[kind], m["month"]))
                        for kind in TREND_KINDS
                    ],
                }
                for m in trend
            ],
            "trend_kinds": TREND_KINDS,
            "chart": chart,
            "is_admin": who.principal.can(Permission.READ_AUDIT),
            "can_codes": who.principal.can(Permission.MANAGE_CODE_TABLES),
        },
        who=who,
    )


# -- the monitor's home panel -------------------------------------------------------------------


async def monitor_home(
    request: Request, services: ServicesDep, who: Viewer
) -> dict[str, Any] | None:
    """The monitoring group's panel of the home page: the current period's indicators off
    target (not met) and its early warnings (home_monitor.html). None for other roles (an
    administrator's home shows the feeds and jobs; the dashboard is in the menu)."""
    if who.role != Role.MONITOR:
        return None
    lang = language(request)
    periods = await in_reading(services, services.indicators.periods, who.principal)
    if periods.current is None:
        return {"monitor": {"view": None}}
    view = ResultView(period=periods.current)
    try:
        results = await in_reading(services, services.indicators.results, who.principal, view)
        warnings = await in_reading(services, services.indicators.warnings, who.principal, view)
    except MchError as exc:
        return {"monitor": {"view": view, "error": exc.message}}
    zh = lang != "en"
    off = [
        {
            "id": r.id,
            "name": r.name_zh if zh else r.name_en,
            "value": _value_text(r.value, r.unit, lang),
            "target": format_target(r.direction, r.target, r.unit, "zh" if zh else "en"),
            "numerator": r.numerator,
            "denominator": r.denominator,
        }
        for r in results.results
        if r.status == "not_met"
    ]
    names = {r.id: (r.name_zh if zh else r.name_en) for r in results.results}
    return {
        "monitor": {
            "view": view,
            "results": results,
            "off_target": off,
            "warnings": warnings,
            "warning_names": names,
            "query": _query(view),
        }
    }
