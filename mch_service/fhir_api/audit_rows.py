"""The audit rows of the FHIR interface: one per resource written or returned, one per refused
request. They say who did what to which record and with what outcome, never the content (the
audit log must hold no personal data)."""

from __future__ import annotations

import re
from typing import Any

from mch_service.audit.service import AuditRecord
from mch_service.errors import MchError
from mch_service.fhir_api.entries import EntryResult
from mch_service.fhir_api.validation import ID_RE

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_WRITE_ACTIONS = {
    "created": "create",
    "updated": "update",
    "unchanged": "unchanged",
    "deleted": "delete",
}


def write_row(result: EntryResult) -> AuditRecord:
    action = _WRITE_ACTIONS.get(result.action or "", result.action or "write")
    return AuditRecord(
        action=f"fhir.{action}",
        outcome="success",
        target_type=result.resource_type,
        target_id=result.fhir_id,
        status_code=result.status,
        detail=f"version {result.version_id}" if result.version_id else None,
    )


def read_rows(action: str, target: str, result: Any) -> list[AuditRecord]:
    """The audit rows of a successful read: one per resource returned (a search's matches and
    includes; a history's versions are one row for the resource); a search that found nothing
    still leaves one row, naming only the type."""
    rtype, _, rid = target.partition("/")
    if isinstance(result, EntryResult) and result.bundle is not None:
        result = result.bundle
    if isinstance(result, EntryResult):
        return [
            AuditRecord(
                f"fhir.{action}",
                "success",
                result.resource_type or rtype,
                result.fhir_id or rid.split("/")[0] or None,
                200,
                f"version {result.version_id}" if action == "vread" else None,
            )
        ]
    entries = result.get("entry") or []
    if action == "history":
        return [
            AuditRecord(
                "fhir.history", "success", rtype, rid.split("/")[0], 200, f"{len(entries)} versions"
            )
        ]
    seen: dict[tuple[str, str], None] = {}
    for entry in entries:
        resource = entry.get("resource") or {}
        if resource.get("resourceType") and resource.get("id"):
            seen[(resource["resourceType"], resource["id"])] = None
    if not seen:
        return [AuditRecord(f"fhir.{action}", "success", rtype or None, None, 200, "0 resources")]
    return [AuditRecord(f"fhir.{action}", "success", t, i, 200) for t, i in seen]


def rejection_row(action: str, target: str | None, exc: MchError) -> AuditRecord:
    rtype, _, rid = (target or "").partition("?")[0].partition("/")
    rid = rid.split("/")[0]
    # The rejected id may be why it was rejected (a NUL, which PostgreSQL refuses even in
    # the audit row): only a well-formed id is kept.
    if rid and not ID_RE.fullmatch(rid):
        rid = "(invalid id)"
    return AuditRecord(
        action=f"fhir.{action}",
        outcome="rejected",
        target_type=rtype or None,
        target_id=rid or None,
        status_code=exc.status_code,
        # Where and what kind, not the messages: those may quote content
        # (personal data), and the audit log must never hold any.
        detail=_CONTROL.sub(
            "?",
            "; ".join(f"{i.expression or '-'} [{i.code}]" for i in exc.all_issues()),
        )[:2000],
    )
