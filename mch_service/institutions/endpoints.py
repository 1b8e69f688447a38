"""Administration of sending institutions and their API keys."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from mch_service.audit.service import AuditRecord, record
from mch_service.auth.dependencies import CurrentStaff
from mch_service.auth.permissions import Permission, Principal
from mch_service.auth.service import actor_of
from mch_service.institutions import service as inst

router = APIRouter(prefix="/api/v1/institutions", tags=["institutions"])


class NewInstitution(BaseModel):
    id: str
    name: str


def _admin(
    request: Request, principal: Principal, action: str, target: str | None, fn: Any, *args: Any
) -> Any:
    principal.require(Permission.MANAGE_INSTITUTIONS)
    db = request.app.state.services.db

    def _run() -> Any:
        with db.transaction() as session:
            result = fn(session, *args)
            if action:
                record(
                    session,
                    actor_of(principal),
                    [AuditRecord(action, "success", "Institution", target)],
                )
            return result

    return run_in_threadpool(_run)


@router.get("")
async def list_institutions(request: Request, principal: CurrentStaff) -> list[dict[str, Any]]:
    def _list(session: Any) -> list[dict[str, Any]]:
        return [
            {
                "id": i.id,
                "name": i.name,
                "active": i.active,
                "keys": [
                    {"key_id": k.id, "prefix": k.key_prefix, "revoked": k.revoked_at is not None}
                    for k in inst.list_keys(session, i.id)
                ],
            }
            for i in inst.list_institutions(session)
        ]

    return await _admin(request, principal, "", None, _list)  # type: ignore[no-any-return]


@router.post("", status_code=201)
async def add_institution(
    body: NewInstitution, request: Request, principal: CurrentStaff
) -> dict[str, Any]:
    issued = await _admin(
        request, principal, "institution.add", body.id, inst.add_institution, body.id, body.name
    )
    return {"id": issued.institution_id, "api_key": issued.api_key, "key_id": issued.key_id}


@router.post("/{institution_id}/rotate-key", status_code=201)
async def rotate_key(
    institution_id: str, request: Request, principal: CurrentStaff, revoke_old: bool = False
) -> dict[str, Any]:
    issued = await _admin(
        request,
        principal,
        "institution.rotate_key",
        institution_id,
        inst.rotate_key,
        institution_id,
        revoke_old,
    )
    return {"id": issued.institution_id, "api_key": issued.api_key, "key_id": issued.key_id}


@router.post("/{institution_id}/revoke-keys")
async def revoke_keys(
    institution_id: str, request: Request, principal: CurrentStaff, key_id: int | None = None
) -> dict[str, int]:
    n = await _admin(
        request,
        principal,
        "institution.revoke_keys",
        institution_id,
        inst.revoke_keys,
        institution_id,
        key_id,
    )
    return {"revoked": n}
