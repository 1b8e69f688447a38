"""The data-quality figures over HTTP (computed by the daily ``data_quality`` job)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query

from mch_service.auth.dependencies import CurrentStaff
from mch_service.auth.permissions import Permission
from mch_service.deps import ServicesDep, in_reading
from mch_service.quality.schemas import DataQualityMonth, DataQualityRead, DataQualityTrend
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
