"""OperationOutcome rendering: every FHIR error names the element it is about."""

from __future__ import annotations

from typing import Any

from mch_service.errors import Issue, MchError


def operation_outcome(issues: list[Issue]) -> dict[str, Any]:
    out = []
    for issue in issues:
        item: dict[str, Any] = {
            "severity": issue.severity,
            "code": issue.code,
            "diagnostics": issue.message,
            "details": {"text": issue.message},
        }
        if issue.expression:
            item["expression"] = [issue.expression]
        out.append(item)
    return {"resourceType": "OperationOutcome", "issue": out}


def outcome_for_error(exc: MchError) -> dict[str, Any]:
    # Located issues say more than a summary line; the summary stands alone only when there
    # are none.
    return operation_outcome(exc.all_issues())


def information(message: str) -> dict[str, Any]:
    return operation_outcome([Issue(message, None, "informational", "information")])
