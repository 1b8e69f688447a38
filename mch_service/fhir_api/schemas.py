"""The JSON (not FHIR) bodies of the FHIR interface: the NDJSON backfill's job ($import), as
it is accepted and as its status is polled. FHIR answers (resources, Bundles,
OperationOutcomes) are not described here: they are FHIR R4 JSON."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ImportAccepted(BaseModel):
    """202 to POST /fhir/$import: the job is queued; poll ``status_url``."""

    id: str
    status: str = Field(description="queued")
    lines_total: int
    status_url: str


class ImportRejection(BaseModel):
    model_config = ConfigDict(extra="allow")

    source: str
    line: int
    reason: str = Field(description="why the line was not stored, personal values redacted")


class ImportReportRead(BaseModel):
    """What an import did, line by line counted."""

    model_config = ConfigDict(extra="allow")

    lines: int
    accepted: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    errors: list[ImportRejection]


class ImportJobStatus(BaseModel):
    """GET /fhir/$import/{id}: 202 while queued or running, 200 once it ended. ``report`` and
    ``error`` are absent, not null, until there is one (dump with ``exclude_unset``)."""

    id: str
    status: str = Field(description="queued | running | done | failed | interrupted")
    lines_total: int
    lines_done: int
    created_at: str
    finished_at: str | None
    report: ImportReportRead | None = Field(None, description="present once the import is done")
    error: str | None = Field(None, description="present if the import failed: the fault's type")


_FHIR_RESOURCE_SCHEMA = {
    "type": "object",
    "required": ["resourceType"],
    "properties": {"resourceType": {"type": "string"}},
    "description": (
        "A FHIR R4 resource in JSON (http://hl7.org/fhir/R4/json.html): the resource read or "
        "written; a Bundle (searchset, history, batch-response or transaction-response) for "
        "searches, histories and Bundles; an OperationOutcome for $validate and conditional "
        "deletes; the CapabilityStatement for /metadata"
    ),
}
_OPERATION_OUTCOME_SCHEMA = {
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["OperationOutcome"]},
        "issue": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "severity": {"type": "string"},
                    "code": {"type": "string"},
                    "diagnostics": {"type": "string"},
                    "expression": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
    "description": "Why the request was refused: each issue names the element (expression)",
}
# The shapes of the FHIR routes' answers, for the OpenAPI document: a resource on success (the
# $import routes declare their own JSON), an OperationOutcome on refusal (every route).
FHIR_RESOURCE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A FHIR R4 resource",
        "content": {"application/fhir+json": {"schema": _FHIR_RESOURCE_SCHEMA}},
    },
}
FHIR_REFUSAL_RESPONSE: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "description": "Refused: an OperationOutcome",
        "content": {"application/fhir+json": {"schema": _OPERATION_OUTCOME_SCHEMA}},
    },
}


class DataQualitySection(BaseModel):
    """One list of the sender's data-quality view: how many in the period, a page of
    record-level items (fields per list in docs/interface-guide.md), the next page's URL."""

    total: int
    items: list[dict[str, Any]]
    next: str | None


class SenderDataQuality(BaseModel):
    """``GET /fhir/$data-quality``: the sender's own data quality (docs/interface-guide.md,
    "Your data quality")."""

    model_config = ConfigDict(populate_by_name=True)

    institution: str
    period: str | None
    from_: str | None = Field(alias="from")
    to: str | None
    summary: dict[str, int]
    rejections: DataQualitySection | None = None
    warnings: DataQualitySection | None = None
    flags: DataQualitySection | None = None
    unmapped_codes: DataQualitySection | None = None
    unresolved_references: DataQualitySection | None = None
