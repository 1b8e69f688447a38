"""Audit log search and export (administrators). Reading the audit is itself audited."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from mch_service.audit.service import COLUMNS, AuditQuery, AuditRecord, iter_all, record, search
from mch_service.auth.dependencies import CurrentStaff
from mch_service.auth.permissions import Permission
from mch_service.auth.service import actor_of
from mch_service.safe_cells import csv_row, csv_writer

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


@router.get("/audit")
async def audit_search(
    request: Request,
    principal: CurrentStaff,
    q: Filters,
    limit: int = Query(100, ge=1, le=1000),
    before_id: int | None = None,
) -> dict[str, Any]:
    principal.require(Permission.READ_AUDIT)
    db = request.app.state.services.db

    def _run() -> list[dict[str, Any]]:
        with db.transaction() as session:
            record(session, actor_of(principal), [AuditRecord("audit.search", "success")])
            return search(session, q, limit, before_id)

    events = await run_in_threadpool(_run)
    return {"events": events, "next_before_id": events[-1]["id"] if len(events) == limit else None}


@router.get("/audit.csv")
async def audit_export(request: Request, principal: CurrentStaff, q: Filters) -> StreamingResponse:
    principal.require(Permission.READ_AUDIT)
    db = request.app.state.services.db

    def _note() -> None:
        with db.transaction() as session:
            record(session, actor_of(principal), [AuditRecord("audit.export", "success")])

    await run_in_threadpool(_note)

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
