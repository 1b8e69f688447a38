"""The audit log's HTTP routes: search and export, for administrators. Reading the audit is
itself audited.

Why here and not in ``audit/``: audit is the lower layer (it records and searches events and
knows nothing of auth); these routes need a signed-in staff member and the READ_AUDIT
permission, so they sit above both, with the other staff-access routes."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from mch_service.audit.schemas import AuditPage
from mch_service.audit.service import COLUMNS, AuditQuery, iter_all, note_export, read_page
from mch_service.auth.dependencies import CurrentStaff
from mch_service.auth.permissions import Permission
from mch_service.auth.service import actor_of
from mch_service.deps import ServicesDep, in_transaction
from mch_service.safe_cells import CSV_RESPONSE, csv_row, csv_writer

router = APIRouter(prefix="/api/v1", tags=["audit"])


def audit_filters(
    actor: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    request_id: str | None = None,
) -> AuditQuery:
    """Filters of the search and the export alike (``action`` ending in "." is a prefix;
    ``request_id`` is the X-Request-ID of a response, the access log's request_id)."""
    return AuditQuery(actor, action, outcome, target_type, target_id, since, until, request_id)


Filters = Annotated[AuditQuery, Depends(audit_filters)]


@router.get("/audit", response_model=AuditPage)
async def audit_search(
    services: ServicesDep,
    principal: CurrentStaff,
    q: Filters,
    limit: int = Query(100, ge=1, le=1000),
    before_id: int | None = None,
) -> AuditPage:
    principal.require(Permission.READ_AUDIT)
    return await in_transaction(services, read_page, actor_of(principal), q, limit, before_id)


@router.get("/audit.csv", response_class=StreamingResponse, responses=CSV_RESPONSE)
async def audit_export(
    services: ServicesDep, principal: CurrentStaff, q: Filters
) -> StreamingResponse:
    principal.require(Permission.READ_AUDIT)
    await in_transaction(services, note_export, actor_of(principal))
    db = services.db

    def rows() -> Iterator[bytes]:
        buf = io.StringIO()
        # usernames typed at sign-in, paths and details are anyone's text: neutralised cells
        writer = csv_writer(buf)
        buf.write("\ufeff")  # so that spreadsheet programs read the file as UTF-8
        writer.writerow(csv_row(COLUMNS))
        with db.reading() as session:
            for i, row in enumerate(iter_all(session, q), start=1):
                writer.writerow(csv_row(row.get(c) for c in COLUMNS))
                if i % 500 == 0:
                    yield buf.getvalue().encode()
                    buf.seek(0)
                    buf.truncate()
        yield buf.getvalue().encode()

    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )
