"""Sending institutions and their API keys (administration; the directory for all staff),
and the street register (names and responsible centres)."""

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
    StreetRead,
    StreetWrite,
)

router = APIRouter(prefix="/api/v1/institutions", tags=["institutions"])
streets_router = APIRouter(prefix="/api/v1/streets", tags=["institutions"])


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


@streets_router.get("", response_model=list[StreetRead])
async def list_streets(services: ServicesDep, principal: CurrentStaff) -> list[StreetRead]:
    """The district's streets and towns with their names and responsible centres."""
    return await in_transaction(services, institutions.streets_for_staff, principal)


@streets_router.put("/{code}", response_model=StreetRead)
async def set_street(
    code: str, body: StreetWrite, services: ServicesDep, principal: CurrentStaff
) -> StreetRead:
    """Register a street, rename it or change its centre (administrators)."""
    return await in_transaction(
        services,
        institutions.set_street_for_staff,
        principal,
        code,
        body,
        tuple(services.settings.streets),
    )
