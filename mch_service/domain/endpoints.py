"""Staff API over the domain: the pregnancy record, unmapped codes, data-quality flags."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from mch_service.auth.dependencies import CurrentStaff
from mch_service.auth.permissions import Permission
from mch_service.domain.read import read_pregnancy
from mch_service.domain.service import unmapped_report

router = APIRouter(prefix="/api/v1", tags=["pregnancies"])


@router.get("/pregnancies/{pregnancy_id}")
async def get_pregnancy(
    pregnancy_id: str, request: Request, principal: CurrentStaff
) -> dict[str, Any]:
    services = request.app.state.services

    def _read() -> dict[str, Any]:
        with services.db.transaction() as session:  # writes the audit row of the view
            return read_pregnancy(session, services.crypto, principal, pregnancy_id)

    return await run_in_threadpool(_read)


@router.get("/unmapped-codes")
async def unmapped_codes(
    request: Request, principal: CurrentStaff, institution: str | None = None
) -> list[dict[str, Any]]:
    principal.require(Permission.MANAGE_CODE_TABLES)
    db = request.app.state.services.db

    def _read() -> list[dict[str, Any]]:
        with db.reading() as session:
            return unmapped_report(session, institution)

    return await run_in_threadpool(_read)
