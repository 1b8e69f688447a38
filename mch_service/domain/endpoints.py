"""Staff API over the domain: the pregnancy record, unmapped codes, data-quality flags."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from mch_service.auth.dependencies import CurrentStaff
from mch_service.auth.permissions import Permission
from mch_service.deps import ServicesDep, in_reading, in_transaction
from mch_service.domain.pregnancy_record import lookup_pregnancies, read_pregnancy
from mch_service.domain.schemas import (
    PregnancyLookup,
    PregnancyLookupResult,
    PregnancyRecord,
    UnmappedCodeRead,
)
from mch_service.domain.service import unmapped_report

router = APIRouter(prefix="/api/v1", tags=["pregnancies"])


@router.get("/pregnancies/{pregnancy_id}", response_model=PregnancyRecord)
async def get_pregnancy(
    pregnancy_id: str, services: ServicesDep, principal: CurrentStaff
) -> dict[str, Any]:
    # a write transaction: the view is audited
    return await in_transaction(services, read_pregnancy, services.crypto, principal, pregnancy_id)


@router.post("/pregnancies/lookup", response_model=PregnancyLookupResult)
async def lookup_pregnancy(
    body: PregnancyLookup, services: ServicesDep, principal: CurrentStaff
) -> dict[str, Any]:
    """A woman's pregnancies by resident ID, MRN or Patient id (in the body, not the URL: it
    is personal data); exact match, jurisdiction applies, audited."""
    return await in_transaction(
        services, lookup_pregnancies, services.store, services.crypto, principal, body
    )


@router.get("/unmapped-codes", response_model=list[UnmappedCodeRead])
async def unmapped_codes(
    services: ServicesDep, principal: CurrentStaff, institution: str | None = None
) -> list[dict[str, Any]]:
    principal.require(Permission.MANAGE_CODE_TABLES)
    return await in_reading(services, unmapped_report, institution)
