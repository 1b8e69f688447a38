"""The records behind a data-quality figure (issue 18, page 6): ``/data-quality/records``,
linked from each count of ``/data-quality`` (the per-institution table and the trend).

The rows come from ``quality.records.read_records``, the function ``GET
/api/v1/data-quality/records`` calls, with the same parameters: the same roles, validation,
masking, paging and audit. The download link is that API route with the page's query."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from mch_service.deps import ServicesDep, in_transaction
from mch_service.errors import MchError
from mch_service.institutions import service as institutions
from mch_service.quality.records import DEFAULT_COUNT, MAX_COUNT, RecordsQuery, next_query
from mch_service.quality.records import read_records as quality_records
from mch_service.web.monitor_pages import monitor_viewer, records_link
from mch_service.web.rendering import Viewer, refused, render

router = APIRouter(include_in_schema=False)

# The columns of each kind's table: (key of the row, label key).
COLUMNS = {
    "rejections": ("at", "action", "resource_type", "resource_id", "status", "error"),
    "warnings": ("rule", "resource_type", "resource_id", "element", "message", "last_updated"),
    "flags": (
        "rule",
        "pregnancy_id",
        "resource_type",
        "resource_id",
        "element",
        "message",
        "last_updated",
    ),
    "unmapped": ("system", "code", "display", "count", "first_seen", "last_seen"),
    "unresolved": ("resource_type", "resource_id", "element", "target", "last_updated"),
}
TIMES = frozenset({"at", "last_updated", "first_seen", "last_seen"})


def _count(raw: str | None) -> int:
    if raw is None or not raw.isdigit() or not 1 <= int(raw) <= MAX_COUNT:
        return DEFAULT_COUNT if raw is None else -1  # -1: refused with the API's message
    return int(raw)


@router.get("/data-quality/records")
async def data_quality_records_page(request: Request, services: ServicesDep) -> Response:
    who = await monitor_viewer(request, services)
    if not isinstance(who, Viewer):
        return who
    params = request.query_params
    query = RecordsQuery(
        institution=params.get("institution", "").strip()[:64],
        kind=params.get("kind", "").strip()[:20],
        period=params.get("period", "").strip()[:20] or None,
        count=_count(params.get("_count")),
        cursor=params.get("_cursor") or None,
    )
    zone = ZoneInfo(services.settings.timezone)
    try:
        page = await in_transaction(services, quality_records, who.principal, zone, query)
    except MchError as exc:
        return refused(request, who, exc)
    directory = await in_transaction(services, institutions.institutions_for_staff, who.principal)
    names = {i.id: i.name for i in directory}
    cursor = page["next_cursor"]
    here = {k: v for k, v in next_query(query, "").items() if k != "_cursor"}
    rows = [
        {
            col: (_local(item.get(col), zone) if col in TIMES else item.get(col))
            for col in COLUMNS[query.kind]
        }
        for item in page["items"]
    ]
    return render(
        request,
        "data_quality_records.html",
        {
            "page": page,
            "kind": query.kind,
            "columns": COLUMNS[query.kind],
            "rows": rows,
            "name": names.get(query.institution, query.institution),
            "next_link": f"/data-quality/records?{urlencode(next_query(query, cursor))}"
            if cursor
            else None,
            "first_link": f"/data-quality/records?{urlencode(here)}" if query.cursor else None,
            "api_link": f"/api/v1/data-quality/records?{urlencode(here)}",
            "kind_links": [(k, records_link(query.institution, k, query.period)) for k in COLUMNS],
            "back_link": f"/data-quality?{urlencode({'institution': query.institution})}#trend",
        },
        who=who,
    )


def _local(value: Any, zone: ZoneInfo) -> Any:
    """An ISO timestamp in the district's time, to the minute (as the other pages show)."""
    if not isinstance(value, str):
        return value
    try:
        return datetime.fromisoformat(value).astimezone(zone).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return value
