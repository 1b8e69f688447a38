"""The data-quality figures over HTTP (computed by the daily ``data_quality`` job)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from mch_service.auth.dependencies import CurrentStaff
from mch_service.auth.permissions import Permission
from mch_service.deps import ServicesDep, in_reading, in_transaction
from mch_service.errors import InvalidResource, Issue
from mch_service.quality.records import (
    DEFAULT_COUNT,
    MAX_COUNT,
    RECORDS_PARAMS,
    RecordsQuery,
    next_query,
    read_records,
)
from mch_service.quality.schemas import (
    DataQualityMonth,
    DataQualityRead,
    DataQualityRecords,
    DataQualityTrend,
)
from mch_service.quality.service import last_months, monthly_trend, report

router = APIRouter(prefix="/api/v1", tags=["data quality"])


@router.get("/data-quality", response_model=list[DataQualityRead])
async def data_quality(
    services: ServicesDep, principal: CurrentStaff, institution: str | None = None
) -> list[DataQualityRead]:
    """Per institution (``?institution=`` for one): every figure, counts as whole numbers
    (0 when none). A sender reads its own, record by record, at GET /fhir/$data-quality."""
    principal.require(Permission.READ_INDICATORS)
    rows = await in_reading(services, report, institution)
    return [DataQualityRead.model_validate(row) for row in rows]


@router.get("/data-quality/trend", response_model=DataQualityTrend)
async def data_quality_trend(
    services: ServicesDep,
    principal: CurrentStaff,
    institution: str,
    months: Annotated[int, Query(ge=1, le=36)] = 12,
) -> DataQualityTrend:
    """One institution's rejections, warnings, flags, unmapped codes and unresolved references
    month by month (by receipt, the district's months), the last ``months`` to this one."""
    principal.require(Permission.READ_INDICATORS)
    zone = ZoneInfo(services.settings.timezone)
    labels = last_months(datetime.now(zone).date(), months)
    rows = await in_reading(services, monthly_trend, institution, zone, labels)
    return DataQualityTrend(
        institution=institution, months=[DataQualityMonth.model_validate(r) for r in rows]
    )


@router.get(
    "/data-quality/records",
    response_class=JSONResponse,
    responses={200: {"model": DataQualityRecords, "description": "A page of records"}},
)
async def data_quality_records(
    request: Request, services: ServicesDep, principal: CurrentStaff
) -> JSONResponse:
    """The records behind one institution's figure: ``kind`` (rejections, warnings, flags,
    unmapped, unresolved), ``period`` (YYYY or YYYY-MM; none: all time), ``_count`` (1-100)
    rows after ``_cursor`` (the ``next`` link's); free text masked; audited."""
    principal.require(Permission.READ_INDICATORS)
    params = request.query_params
    unknown = sorted(k for k in params if k not in RECORDS_PARAMS)
    if unknown:
        message = f"Unknown parameter {unknown[0]!r}: this route takes {', '.join(RECORDS_PARAMS)}"
        raise InvalidResource([Issue(message, unknown[0], "not-supported")], message)
    count = params.get("_count", str(DEFAULT_COUNT))
    if not count.isdigit() or not 1 <= int(count) <= MAX_COUNT:
        message = f"_count must be a whole number from 1 to {MAX_COUNT}"
        raise InvalidResource([Issue(message, "_count", "value")], message)
    query = RecordsQuery(
        institution=params.get("institution", ""),
        kind=params.get("kind", ""),
        period=params.get("period") or None,
        count=int(count),
        cursor=params.get("_cursor") or None,
    )
    zone = ZoneInfo(services.settings.timezone)
    page = await in_transaction(services, read_records, principal, zone, query)
    cursor = page.pop("next_cursor")
    page["next"] = (
        f"/api/v1/data-quality/records?{urlencode(next_query(query, cursor))}" if cursor else None
    )
    return JSONResponse(page, headers={"Cache-Control": "no-store"})
