"""The records behind each data-quality figure, for the monitoring group and administrators
(``GET /api/v1/data-quality/records``, the page ``/data-quality/records``).

One institution, one kind, one period (or all time), keyset paged with an opaque cursor:

- ``rejections``: refused requests (when, what, status, error): the ``rejected`` figure;
- ``warnings``: record-level rules (resource, rule, element, message) and
- ``flags``: rules raised when records were put into a pregnancy (with the pregnancy): the two
  parts of ``plausibility_flags``;
- ``unmapped``: one row per unrecognised (system, code), how often seen: ``unmapped_codes``;
- ``unresolved``: references to records of the sender's own it never sent (or deleted).

With a month the rows are those the trend counts for that month (the sender's own view's
lists). Staff read these, not the sender: free text (errors, messages, displays) is masked, its
quoted values, dates and digit runs replaced with ``…``, so no resident ID, phone or birth
date a sender put into a message reaches the page; resource ids with an ID-like run too.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from mch_service.audit import service as audit_service
from mch_service.audit.service import Actor, AuditRecord
from mch_service.auth.permissions import Permission, Principal
from mch_service.auth.service import actor_of
from mch_service.domain.service import sender_issues, sender_unmapped_codes
from mch_service.errors import InvalidResource, Issue
from mch_service.institutions.service import list_institutions
from mch_service.quality.rules import what_to_do
from mch_service.quality.service import period_range
from mch_service.store.service import unresolved_reference_page

KINDS = ("rejections", "warnings", "flags", "unmapped", "unresolved")
MAX_COUNT = 100
DEFAULT_COUNT = 50
MASK = "…"
RECORDS_PARAMS = ("institution", "kind", "period", "_count", "_cursor")

_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|‘[^’]*’|“[^”]*”|「[^」]*」")
_DATE = re.compile(
    r"\d{4}[-/.年]\d{1,2}(?:[-/.月]\d{1,2}日?)?(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
    r"(?:Z|[+-]\d{2}:?\d{2})?)?"
)
_DIGITS = re.compile(r"\d{3,}[Xx]?")
_ID_LIKE = re.compile(r"\d{11,}[Xx]?")


def mask_text(text: str | None) -> str | None:
    """Free text for staff eyes: quoted values, dates and runs of three digits or more
    replaced with ``…`` (what is left says which rule and element, not whose)."""
    if text is None:
        return None
    text = _QUOTED.sub(MASK, text)
    text = _DATE.sub(MASK, text)
    return _DIGITS.sub(MASK, text)


def mask_id(text: str | None) -> str | None:
    """A resource id or reference with a run shaped like a resident ID or phone masked."""
    return None if text is None else _ID_LIKE.sub(MASK, text)


@dataclass(frozen=True)
class RecordsQuery:
    institution: str
    kind: str
    period: str | None = None
    count: int = DEFAULT_COUNT
    cursor: str | None = None


def next_query(query: RecordsQuery, cursor: str) -> dict[str, str]:
    """The query string of the page after this one (the API's and the page's next link)."""
    out = {"institution": query.institution, "kind": query.kind}
    if query.period:
        out["period"] = query.period
    return {**out, "_count": str(query.count), "_cursor": cursor}


def _refuse(message: str, where: str) -> InvalidResource:
    return InvalidResource([Issue(message, where, "value")], message)


def encode_cursor(kind: str, after: Any) -> str:
    raw = json.dumps({"k": kind, "a": after}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str) -> Any:
    """The position a cursor of this kind holds; anything else is refused (400)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        data = None
    after = data.get("a") if isinstance(data, dict) else None
    if not isinstance(data, dict) or data.get("k") != kind:
        raise _refuse("_cursor is not one this list gave: follow the next link", "_cursor")
    if kind == "unmapped":
        if (
            isinstance(after, list)
            and len(after) == 2
            and all(isinstance(a, str) and len(a) <= 200 for a in after)
        ):
            return (after[0], after[1])
    elif isinstance(after, int) and not isinstance(after, bool) and 0 <= after < 2**62:
        return after
    raise _refuse("_cursor is not one this list gave: follow the next link", "_cursor")


def validate(query: RecordsQuery, known: list[str], zone: ZoneInfo) -> Any:
    """Refuse an unknown kind or institution, a bad period, count or cursor, naming the valid
    values; the cursor's position when all is well."""
    if query.kind not in KINDS:
        raise _refuse(f"kind is one of {', '.join(KINDS)}", "kind")
    if query.institution not in known:
        shown = ", ".join(known[:50]) + (" …" if len(known) > 50 else "")
        raise _refuse(f"Unknown institution; valid institutions: {shown or 'none'}", "institution")
    if not 1 <= query.count <= MAX_COUNT:
        raise _refuse(f"_count must be a whole number from 1 to {MAX_COUNT}", "_count")
    try:
        period_range(query.period, zone)
    except InvalidResource as exc:
        raise _refuse(exc.issues[0].message, "period") from None
    return decode_cursor(query.kind, query.cursor) if query.cursor else None


def records(
    session: Session, reader: Actor, zone: ZoneInfo, query: RecordsQuery, after: Any
) -> dict[str, Any]:
    """One page of the records behind a figure, masked; the look is audited (in the
    caller's transaction)."""
    start, end = period_range(query.period, zone)
    limit = query.count + 1
    inst = query.institution
    key = "id"
    if query.kind == "rejections":
        total, rows = audit_service.sender_rejections(session, inst, start, end, after or 0, limit)
        items = [
            {
                "id": r["id"],
                "at": r["at"],
                "action": r["action"],
                "resource_type": r["resource_type"],
                "resource_id": mask_id(r["resource_id"]),
                "status": r["status"],
                "error": mask_text(r["detail"]),
                "request_id": r["request_id"],
            }
            for r in rows
        ]
    elif query.kind in ("warnings", "flags"):
        level = query.kind == "flags"
        total, rows = sender_issues(session, inst, level, start, end, after or 0, limit)
        items = []
        for r in rows:
            item = {
                "id": r["id"],
                "rule": r["rule"],
                "resource_type": r["resource_type"],
                "resource_id": mask_id(r["resource_id"]),
                "version": r["version"],
                "last_updated": r["last_updated"],
                "element": r["element"],
                "message": mask_text(r["message"]),
                "what_to_do": what_to_do(r["rule"]),
            }
            if level:
                item["pregnancy_id"] = r["pregnancy_id"]
            items.append(item)
    elif query.kind == "unmapped":
        key = "position"
        total, rows = sender_unmapped_codes(session, inst, start, end, after, limit)
        items = [
            {**r, "display": mask_text(r["display"]), "position": [r["system"], r["code"]]}
            for r in rows
        ]
    else:
        key = "key"
        total, rows = unresolved_reference_page(session, inst, start, end, after or 0, limit)
        items = [
            {**r, "resource_id": mask_id(r["resource_id"]), "target": mask_id(r["target"])}
            for r in rows
        ]
    more = len(items) > query.count
    items = items[: query.count]
    next_cursor = encode_cursor(query.kind, items[-1][key]) if more and items else None
    for item in items:
        if key != "id":
            item.pop(key)
    what = f"{query.kind} {query.period or 'all'} {len(items)} of {total}"
    audit_service.record(
        session,
        reader,
        [AuditRecord("data_quality.records", "success", "Institution", inst, 200, what)],
    )
    return {
        "institution": inst,
        "kind": query.kind,
        "period": query.period,
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
        "total": total,
        "items": items,
        "next_cursor": next_cursor,
    }


def read_records(
    session: Session, principal: Principal, zone: ZoneInfo, query: RecordsQuery
) -> dict[str, Any]:
    """The checked, audited read of the API route and the page: monitors and administrators
    only (as the figures), the parameters validated, one page of masked records."""
    principal.require(Permission.READ_INDICATORS)
    known = sorted(i.id for i in list_institutions(session))
    after = validate(query, known, zone)
    return records(session, actor_of(principal), zone, query, after)
