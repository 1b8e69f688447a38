"""Indicator API and exports (monitoring officers and administrators)."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from typing import IO, Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from mch_service.auth.dependencies import CurrentStaff
from mch_service.deps import ServicesDep, in_reading, in_transaction
from mch_service.indicators.exports import (
    content_disposition,
    iter_csv,
    iter_drill_csv,
    iter_measure_reports,
    report_file_name,
    write_drill_xlsx,
)
from mch_service.indicators.report import ReportMeta, write_report_xlsx
from mch_service.indicators.schemas import (
    Catalogue,
    DrillDownQuery,
    EarlyWarnings,
    ExternalFigure,
    ExternalFigureRead,
    IndicatorRecords,
    IndicatorSeries,
    PeriodChoices,
    PeriodResults,
    ResultView,
    SeriesQuery,
)
from mch_service.indicators.service import record_export
from mch_service.indicators.view_exports import ViewLine, iter_view_csv, view_lines, write_view_xlsx
from mch_service.safe_cells import CSV_RESPONSE, XLSX_RESPONSE
from mch_service.timeutil import utcnow

router = APIRouter(prefix="/api/v1/indicators", tags=["indicators"])

ViewQuery = Annotated[ResultView, Query()]
# ?period=2025-08&period=2025-Q3, or ?period=2025-08,2025-Q3
PeriodsQuery = Annotated[list[str], Query()]


@router.get("", response_model=PeriodResults)
async def indicators(
    services: ServicesDep, principal: CurrentStaff, view: ViewQuery
) -> PeriodResults:
    return await in_reading(services, services.indicators.results, principal, view)


@router.get("/warnings", response_model=EarlyWarnings)
async def warnings(
    services: ServicesDep, principal: CurrentStaff, view: ViewQuery
) -> EarlyWarnings:
    """Early warnings: below target now, or trending below it by the year's end."""
    return await in_reading(services, services.indicators.warnings, principal, view)


@router.get("/periods", response_model=PeriodChoices)
async def periods(services: ServicesDep, principal: CurrentStaff) -> PeriodChoices:
    """The periods with stored figures (the values ``period`` takes), newest first by kind."""
    return await in_reading(services, services.indicators.periods, principal)


@router.get("/catalogue", response_model=Catalogue, response_model_exclude_unset=True)
async def catalogue(services: ServicesDep, principal: CurrentStaff) -> Catalogue:
    return services.indicators.catalogue(principal)


@router.get("/{indicator_id}/series", response_model=IndicatorSeries)
async def series(
    indicator_id: str,
    services: ServicesDep,
    principal: CurrentStaff,
    query: Annotated[SeriesQuery, Query()],
) -> IndicatorSeries:
    return await in_reading(services, services.indicators.series, principal, indicator_id, query)


@router.put("/{indicator_id}/external", response_model=ExternalFigureRead)
async def enter_external(
    indicator_id: str,
    figure: ExternalFigure,
    services: ServicesDep,
    principal: CurrentStaff,
    view: ViewQuery,
) -> ExternalFigureRead:
    """Enter an external indicator's figure (HIV MTCT, premarital examination, ...) for a
    period and area: it is stored with the results and shown with its target and status in
    results, series and exports (monitor, admin)."""
    return await in_transaction(
        services, services.indicators.enter_external, principal, indicator_id, view, figure
    )


DrillQuery = Annotated[DrillDownQuery, Query()]


async def _drill(
    services: ServicesDep, principal: Any, indicator_id: str, query: DrillDownQuery
) -> IndicatorRecords:
    view = ResultView(period=query.period, area=query.area, institution=query.institution)
    counted, rows = await run_in_threadpool(
        services.indicators.drill, principal, indicator_id, view
    )
    return await in_transaction(
        services,
        services.indicators.records,
        principal,
        services.crypto,
        indicator_id,
        query,
        counted,
        rows,
    )


@router.get("/{indicator_id}/records", response_model=IndicatorRecords)
async def records(
    indicator_id: str, services: ServicesDep, principal: CurrentStaff, query: DrillQuery
) -> IndicatorRecords:
    """Drill-down with reasons: the pregnancies counted in the numerator and the denominator
    (ids and masked identifiers; open one with /api/v1/pregnancies/{id} where allowed), and
    ``rows``: one per record with the units it adds to the denominator and the numerator and
    the criteria it met or missed. ``missed=true`` keeps the rows missing the numerator;
    ``criterion=checks_5plus`` the rows missing that criterion."""
    return await _drill(services, principal, indicator_id, query)


@router.get("/{indicator_id}/records.csv", response_class=StreamingResponse, responses=CSV_RESPONSE)
async def records_csv(
    indicator_id: str, services: ServicesDep, principal: CurrentStaff, query: DrillQuery
) -> StreamingResponse:
    """The drill-down's rows as CSV (UTF-8 with a BOM, Chinese headers, text cells,
    identifiers masked); the same filters as /records."""
    body = await _drill(services, principal, indicator_id, query)
    text = "".join(iter_drill_csv(body))
    name = report_file_name(f"{indicator_id}-records", query.period, query.area, "csv")
    return StreamingResponse(
        iter([text.encode("utf-8")]),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": content_disposition(name)},
    )


@router.get(
    "/{indicator_id}/records.xlsx", response_class=StreamingResponse, responses=XLSX_RESPONSE
)
async def records_xlsx(
    indicator_id: str, services: ServicesDep, principal: CurrentStaff, query: DrillQuery
) -> StreamingResponse:
    """The drill-down's rows as a workbook (text cells, identifiers masked)."""
    body = await _drill(services, principal, indicator_id, query)
    buffer = io.BytesIO()
    await run_in_threadpool(write_drill_xlsx, body, buffer)
    name = report_file_name(f"{indicator_id}-records", query.period, query.area, "xlsx")
    return StreamingResponse(
        iter([buffer.getvalue()]),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": content_disposition(name)},
    )


def _periods(raw: list[str]) -> list[str]:
    return [p for item in raw for p in item.split(",") if p]


def _report_name(periods: list[str], ext: str) -> tuple[str, str]:
    """(ASCII name, Chinese name) of a report file, both carrying the periods."""
    label = "_".join(periods)
    return (
        report_file_name("indicators", label, "district", ext),
        f"妇幼健康指标监测报表_{label}.{ext}",
    )


@router.get("/export.csv", response_class=StreamingResponse, responses=CSV_RESPONSE)
async def export_csv(
    services: ServicesDep, principal: CurrentStaff, period: PeriodsQuery
) -> StreamingResponse:
    """Every stored result of the periods (every view) as CSV: Chinese headers, names beside
    codes, values rounded to two decimals (and unrounded beside them), markers."""
    periods = _periods(period)
    values = await run_in_threadpool(services.indicators.values, principal, periods)
    names, _, _ = await run_in_threadpool(services.indicators.report_context, periods)
    await in_transaction(services, record_export, principal, f"csv {','.join(periods)}")
    district = services.settings.district_name

    def body() -> Iterator[bytes]:
        for chunk in iter_csv(values, names, district):
            yield chunk.encode("utf-8")

    ascii_name, name = _report_name(periods, "csv")
    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": content_disposition(ascii_name, name)},
    )


@router.get("/export.xlsx", response_class=StreamingResponse, responses=XLSX_RESPONSE)
async def export_xlsx(
    services: ServicesDep, principal: CurrentStaff, period: PeriodsQuery
) -> StreamingResponse:
    """The official report (妇幼健康指标监测报表): title, issuing body, period, data cut-off
    and computed-at; the indicators in the plan's order; street × indicator and institution ×
    indicator tables that add up to their totals; definitions and settings; footnotes; then the
    long data tables."""
    periods = _periods(period)
    settings = services.settings

    def build() -> IO[bytes]:
        values = list(services.indicators.values(principal, periods))
        labels = sorted({v.period for v in values}) or periods
        names, cutoff, computed = services.indicators.report_context(labels)
        meta = ReportMeta(
            district_name=settings.district_name,
            issuer=settings.report_issuer,
            contact=settings.report_contact,
            periods=[services.indicators.label_of(p) for p in periods],
            data_cutoff=cutoff,
            computed_at=computed,
            produced_at=utcnow(),
            settings=services.indicators.settings.to_dict(),
            timezone=settings.timezone,
        )
        spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
        write_report_xlsx(values, spool, meta, names)
        spool.seek(0)
        return spool

    spool = await run_in_threadpool(build)
    await in_transaction(services, record_export, principal, f"xlsx {','.join(periods)}")

    def body() -> Iterator[bytes]:
        while chunk := spool.read(65536):
            yield chunk
        spool.close()

    ascii_name, name = _report_name(periods, "xlsx")
    return StreamingResponse(
        body(),
        media_type=("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        headers={"Content-Disposition": content_disposition(ascii_name, name)},
    )


def _view_values(services: ServicesDep, principal: Any, view: ResultView) -> list[Any]:
    """The stored results of one view (period, area, institution): what GET /indicators shows,
    as exports write them; the view is checked as there."""
    label = services.indicators.check_view(principal, view)
    return [
        v
        for v in services.indicators.values(principal, [label])
        if v.area == view.area and v.institution == view.institution
    ]


# The page's language (the dashboard's links carry it): units and statuses in its words.
LangQuery = Annotated[Literal["zh", "en"], Query(description="zh (default) or en")]


def _view_table(
    services: ServicesDep, principal: Any, view: ResultView
) -> tuple[PeriodResults, list[ViewLine]]:
    """The page's table of one view: what GET /indicators answers (every catalogue indicator,
    external ones not entered included, in its order), each line with its stored result."""
    with services.db.reading() as session:
        results = services.indicators.results(session, principal, view)
    stored = _view_values(services, principal, view)
    return results, view_lines(results, stored)


@router.get("/view.csv", response_class=StreamingResponse, responses=CSV_RESPONSE)
async def view_csv(
    services: ServicesDep, principal: CurrentStaff, view: ViewQuery, lang: LangQuery = "zh"
) -> StreamingResponse:
    """The table of one view (``period``, ``area``, ``institution``: exactly what
    GET /indicators answers and the dashboard shows, in its order, external figures not
    entered included) as CSV, in the columns of export.csv; ``lang`` the page's language."""
    results, lines = await run_in_threadpool(_view_table, services, principal, view)
    await in_transaction(
        services, record_export, principal, f"csv {view.period} {view.area} {view.institution}"
    )
    text = "".join(iter_view_csv(results, lines, lang))
    name = report_file_name("indicators", results.period, view.area, "csv")
    return StreamingResponse(
        iter([text.encode("utf-8")]),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": content_disposition(name)},
    )


@router.get("/view.xlsx", response_class=StreamingResponse, responses=XLSX_RESPONSE)
async def view_xlsx(
    services: ServicesDep, principal: CurrentStaff, view: ViewQuery, lang: LangQuery = "zh"
) -> StreamingResponse:
    """The table of one view as a workbook: one sheet, the view's (values rounded as the page
    shows them, the area's and institution's names), and the notes sheet; text cells."""
    results, lines = await run_in_threadpool(_view_table, services, principal, view)
    buffer = io.BytesIO()
    await run_in_threadpool(write_view_xlsx, results, lines, buffer, lang)
    await in_transaction(
        services, record_export, principal, f"xlsx {view.period} {view.area} {view.institution}"
    )
    name = report_file_name("indicators", results.period, view.area, "xlsx")
    return StreamingResponse(
        iter([buffer.getvalue()]),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": content_disposition(name)},
    )


@router.get("/measure-reports")
async def measure_reports(
    request: Request, services: ServicesDep, principal: CurrentStaff, view: ViewQuery
) -> dict[str, Any]:
    """FHIR MeasureReports (summary), one per catalogue indicator with a figure, as a
    collection Bundle (FHIR JSON): ``date``, the district or street as ``subject``, the
    institution (or the issuing body) as ``reporter``, the settings as extensions, ``status``
    pending while the period is provisional; ``measure`` resolves at /fhir/Measure/{id}."""
    settings = services.settings
    measure_base = (settings.public_base or str(request.base_url).rstrip("/") + "/fhir").rstrip("/")

    def _run() -> list[dict[str, Any]]:
        label = services.indicators.check_view(principal, view)
        values = [
            v
            for v in services.indicators.values(principal, [label])
            if v.area == view.area and v.institution == view.institution
        ]
        names, _, _ = services.indicators.report_context([label])
        return list(
            iter_measure_reports(
                values,
                canonical_base=settings.canonical_base,
                generated=utcnow(),
                measure_base=measure_base,
                district=(settings.district_code, settings.district_name),
                reporter=settings.report_issuer or f"{settings.district_name}妇幼健康监测组",
                names=names,
            )
        )

    reports = await run_in_threadpool(_run)
    await in_transaction(services, record_export, principal, f"measure-reports {view.period}")
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": utcnow().isoformat(),
        "entry": [{"resource": r} for r in reports],
    }
