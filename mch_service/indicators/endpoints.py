"""Indicator API and exports (monitoring officers and administrators)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from mch_service.audit.service import AuditRecord, record
from mch_service.auth.dependencies import CurrentStaff
from mch_service.auth.permissions import Permission, Principal
from mch_service.auth.service import actor_of
from mch_service.domain.pregnancy_record import masked_summaries
from mch_service.indicators.exports import iter_csv, iter_measure_reports, write_xlsx

router = APIRouter(prefix="/api/v1/indicators", tags=["indicators"])


def _svc(request: Request) -> Any:
    return request.app.state.services.indicators


def _audit_export(request: Request, principal: Principal, what: str) -> None:
    with request.app.state.services.db.transaction() as session:
        record(
            session,
            actor_of(principal),
            [AuditRecord("indicators.export", "success", "IndicatorResult", None, 200, what)],
        )


@router.get("")
async def indicators(
    request: Request,
    principal: CurrentStaff,
    period: str,
    area: str = "district",
    institution: str = "all",
) -> dict[str, Any]:
    return await run_in_threadpool(_svc(request).results, principal, period, area, institution)


@router.get("/warnings")
async def warnings(
    request: Request,
    principal: CurrentStaff,
    period: str,
    area: str = "district",
    institution: str = "all",
) -> dict[str, Any]:
    """Early warnings: below target now, or trending below it by the year's end."""
    return await run_in_threadpool(
        _svc(request).warnings,
        principal,
        period,
        area,
        institution,
    )


@router.get("/catalogue")
async def catalogue(request: Request, principal: CurrentStaff) -> dict[str, Any]:
    principal.require(Permission.READ_INDICATORS)
    return _svc(request).catalogue()


@router.get("/{indicator_id}/series")
async def series(
    indicator_id: str,
    request: Request,
    principal: CurrentStaff,
    from_: str = Query(..., alias="from"),
    to: str = Query(...),
    area: str = "district",
    institution: str = "all",
) -> dict[str, Any]:
    return await run_in_threadpool(
        _svc(request).series,
        principal,
        indicator_id,
        from_,
        to,
        area,
        institution,
    )


@router.get("/{indicator_id}/records")
async def records(
    indicator_id: str,
    request: Request,
    principal: CurrentStaff,
    period: str,
    area: str = "district",
    institution: str = "all",
) -> dict[str, Any]:
    """Drill-down: the pregnancies counted in the numerator and the denominator (ids and
    masked identifiers; open one with /api/v1/pregnancies/{id} where allowed)."""
    services = request.app.state.services

    def _run() -> dict[str, Any]:
        members = services.indicators.members(principal, indicator_id, period, area, institution)
        with services.db.transaction() as session:
            record(
                session,
                actor_of(principal),
                [
                    AuditRecord(
                        "indicators.drilldown",
                        "success",
                        "IndicatorResult",
                        indicator_id,
                        200,
                        f"{period} {area} {institution}",
                    )
                ],
            )
            listed = {
                part: masked_summaries(session, services.crypto, ids)
                for part, ids in members.items()
            }
        return {
            "id": indicator_id,
            "period": period,
            "area": area,
            "institution": institution,
            "numerator_count": len(members["numerator"]),
            "denominator_count": len(members["denominator"]),
            **listed,
        }

    return await run_in_threadpool(_run)


def _periods(raw: list[str]) -> list[str]:
    return [p for item in raw for p in item.split(",") if p]


@router.get("/export.csv")
async def export_csv(
    request: Request, principal: CurrentStaff, period: list[str] = Query(...)
) -> StreamingResponse:
    periods = _periods(period)
    values = await run_in_threadpool(lambda: _svc(request).values(principal, periods))
    await run_in_threadpool(_audit_export, request, principal, f"csv {','.join(periods)}")

    def body() -> Iterator[bytes]:
        for chunk in iter_csv(values):
            yield chunk.encode("utf-8")

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="indicators.csv"'},
    )


@router.get("/export.xlsx")
async def export_xlsx(
    request: Request, principal: CurrentStaff, period: list[str] = Query(...)
) -> StreamingResponse:
    periods = _periods(period)

    def build() -> Any:
        spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
        write_xlsx(_svc(request).values(principal, periods), spool)
        spool.seek(0)
        return spool

    spool = await run_in_threadpool(build)
    await run_in_threadpool(_audit_export, request, principal, f"xlsx {','.join(periods)}")

    def body() -> Iterator[bytes]:
        while chunk := spool.read(65536):
            yield chunk
        spool.close()

    return StreamingResponse(
        body(),
        media_type=("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        headers={"Content-Disposition": 'attachment; filename="indicators.xlsx"'},
    )


@router.get("/measure-reports")
async def measure_reports(
    request: Request,
    principal: CurrentStaff,
    period: str,
    area: str = "district",
    institution: str = "all",
) -> dict[str, Any]:
    """FHIR MeasureReports (summary), one per indicator, as a collection Bundle."""
    services = request.app.state.services

    def _run() -> list[dict[str, Any]]:
        values = [
            v
            for v in services.indicators.values(principal, [period])
            if v.area == area and v.institution == institution
        ]
        return list(iter_measure_reports(values, canonical_base=services.settings.canonical_base))

    reports = await run_in_threadpool(_run)
    await run_in_threadpool(_audit_export, request, principal, f"measure-reports {period}")
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in reports],
    }
