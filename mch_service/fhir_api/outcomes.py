"""OperationOutcome rendering: every FHIR error names the element it is about."""

from __future__ import annotations

from typing import Any

from mch_service.errors import Issue, MchError

# The system of a data-quality warning's rule code in OperationOutcome.issue.details.
RULE_SYSTEM = "urn:mch-service:data-quality-rule"


def operation_outcome(issues: list[Issue]) -> dict[str, Any]:
    out = []
    for issue in issues:
        item: dict[str, Any] = {
            "severity": issue.severity,
            "code": issue.code,
            "diagnostics": issue.message,
            "details": {"text": issue.message},
        }
        if issue.rule:
            item["details"]["coding"] = [{"system": RULE_SYSTEM, "code": issue.rule}]
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


def warning_header(warnings: list[Issue], limit: int = 8) -> str:
    """The ``Warning`` header of an accepted write with data-quality warnings: one
    ``199 mch-service "<rule> at <element>: <message>"`` value a warning (RFC 7234 5.5), the
    first ``limit`` of them, then a count of the rest. HTTP headers are Latin-1: other
    characters are written as \\uXXXX escapes (the OperationOutcome has them as sent)."""
    values = []
    for issue in warnings[:limit]:
        text = issue.message
        if issue.expression:
            text = f"{issue.expression}: {text}"
        if issue.rule:
            text = f"{issue.rule} at {text}" if issue.expression else f"{issue.rule}: {text}"
        values.append(f'199 mch-service "{_header_text(text)}"')
    if len(warnings) > limit:
        values.append(
            f'199 mch-service "{len(warnings) - limit} more warning(s): ask with '
            'Prefer: return=OperationOutcome"'
        )
    return ", ".join(values)


def _header_text(text: str) -> str:
    out = []
    for ch in text[:500]:
        if ch in '"\\':
            out.append("\\" + ch)
        elif 0x20 <= ord(ch) < 0x7F:
            out.append(ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(" ")
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else "?")
    return "".join(out)
