"""The answer to a transaction or batch Bundle: a transaction-response or batch-response
Bundle whose entries carry each entry's status line, location, ETag and, as the Prefer
header asks, the resource or an OperationOutcome."""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from mch_service.errors import Issue, MchError, TooLarge
from mch_service.fhir_api.entries import EntryResult
from mch_service.fhir_api.outcomes import information, operation_outcome, outcome_for_error

_STATUS_TEXT = {200: "200 OK", 201: "201 Created", 204: "204 No Content"}


@dataclass(frozen=True)
class Prefer:
    """The Prefer header's return= preference: minimal | representation | OperationOutcome."""

    return_: str | None = None

    @classmethod
    def parse(cls, header: str | None) -> Prefer:
        for part in (header or "").split(";"):
            for item in part.split(","):
                key, _, value = item.strip().partition("=")
                if key.strip() == "return":
                    return cls(value.strip().strip('"'))
        return cls(None)


def status_line(code: int) -> str:
    """Bundle.entry.response.status is an HTTP status line ("400 Bad Request"), not a bare
    code: clients that split it on the space find the phrase they expect."""
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return str(code)


def response_entry(result: EntryResult, prefer: Prefer) -> dict[str, Any]:
    response: dict[str, Any] = {"status": _STATUS_TEXT.get(result.status, str(result.status))}
    if result.location:
        response["location"] = result.location
        response["etag"] = f'W/"{result.version_id}"'
    if result.last_updated:
        response["lastModified"] = result.last_updated.isoformat().replace("+00:00", "Z")
    entry: dict[str, Any] = {"response": response}
    if result.warnings:
        response["outcome"] = operation_outcome(result.warnings)
    if result.bundle is not None:
        entry["resource"] = result.bundle
    elif result.action == "read" and result.resource is not None:
        entry["resource"] = result.resource
    elif prefer.return_ == "representation" and result.resource is not None:
        entry["resource"] = result.resource
    elif prefer.return_ == "OperationOutcome" and not result.warnings:
        # with warnings, the outcome above is the OperationOutcome asked for: never replaced
        response["outcome"] = information(f"{result.action}")
    return entry


def response_bundle(bundle_type: str, results: list[EntryResult], prefer: Prefer) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": bundle_type,
        "entry": [response_entry(r, prefer) for r in results],
    }


def error_entry(exc: MchError) -> dict[str, Any]:
    """A batch entry refused with ``exc``."""
    return {
        "response": {
            "status": status_line(exc.status_code),
            "outcome": outcome_for_error(exc),
        }
    }


def internal_error_entry(request_expr: str) -> dict[str, Any]:
    """A batch entry that met a fault of ours (its own transaction rolled back)."""
    return {
        "response": {
            "status": status_line(500),
            "outcome": operation_outcome(
                [
                    Issue(
                        "Internal error on this entry; it has been logged and "
                        "nothing of it was stored",
                        request_expr,
                        "exception",
                        "fatal",
                    )
                ]
            ),
        }
    }


def response_full(budget: int) -> TooLarge:
    return TooLarge(
        f"The batch response reached its limit of {budget} bytes (see /fhir/metadata); this "
        "read was not answered: send it again in another batch"
    )
