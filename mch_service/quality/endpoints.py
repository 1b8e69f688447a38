"""The data-quality figures over HTTP (computed by the daily ``data_quality`` job)."""

from __future__ import annotations

from fastapi import APIRouter

from mch_service.auth.dependencies import CurrentStaff
from mch_service.auth.permissions import Permission
from mch_service.deps import ServicesDep, in_reading
from mch_service.quality.schemas import DataQualityRead
from mch_service.quality.service import report

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
