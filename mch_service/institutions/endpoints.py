"""Administration of sending institutions and their API keys."""

from __future__ import annotations

from fastapi import APIRouter

from mch_service.auth.dependencies import CurrentStaff
from mch_service.deps import ServicesDep, in_transaction
from mch_service.institutions import service as institutions
from mch_service.institutions.schemas import (
    InstitutionCreate,
    InstitutionRead,
    IssuedKeyRead,
    KeysRevoked,
)

router = APIRouter(prefix="/api/v1/institutions", tags=["institutions"])


@router.get("", response_model=list[InstitutionRead])
async def list_institutions(
    services: ServicesDep, principal: CurrentStaff
) -> list[InstitutionRead]:
    return await in_transaction(services, institutions.institutions_for_staff, principal)


@router.post("", status_code=201, response_model=IssuedKeyRead)
async def add_institution(
    body: InstitutionCreate, services: ServicesDep, principal: CurrentStaff
) -> IssuedKeyRead:
    return await in_transaction(services, institutions.add_for_staff, principal, body)


@router.post("/{institution_id}/rotate-key", status_code=201, response_model=IssuedKeyRead)
async def rotate_key(
    institution_id: str, services: ServicesDep, principal: CurrentStaff, revoke_old: bool = False
) -> IssuedKeyRead:
    return await in_transaction(
        services, institutions.rotate_key_for_staff, principal, institution_id, revoke_old
    )


@router.post("/{institution_id}/revoke-keys", response_model=KeysRevoked)
async def revoke_keys(
    institution_id: str, services: ServicesDep, principal: CurrentStaff, key_id: int | None = None
) -> KeysRevoked:
    return await in_transaction(
        services, institutions.revoke_keys_for_staff, principal, institution_id, key_id
    )
