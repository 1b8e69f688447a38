"""Shapes of the export-client administration (the staff API); the FHIR side answers FHIR
JSON (the manifest, OperationOutcomes) and NDJSON."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ExportClientCreate(BaseModel):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9\-\.]{1,64}$")
    name: str = Field(min_length=1, max_length=200)


class ExportClientRead(BaseModel):
    id: str
    name: str
    active: bool
    key_prefix: str
    created_at: str
    key_issued_at: str


class IssuedExportKey(BaseModel):
    """The key is shown once, here; only its hash is kept."""

    id: str
    api_key: str


# The answers of the $export routes, for the OpenAPI document (the routes render their own).
_OUTCOME_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {"resourceType": {"type": "string"}, "issue": {"type": "array"}},
    "description": "An OperationOutcome (FHIR R4)",
}
MANIFEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["transactionTime", "request", "requiresAccessToken", "output", "error"],
    "properties": {
        "transactionTime": {"type": "string", "format": "date-time"},
        "request": {"type": "string"},
        "requiresAccessToken": {"type": "boolean"},
        "output": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "type": {"type": "string"},
                    "url": {"type": "string"},
                    "count": {"type": "integer"},
                },
            },
        },
        "error": {"type": "array", "items": {"type": "object"}},
    },
    "description": "The Bulk Data export manifest (IG v2.0.0): one entry per NDJSON file",
}
KICK_OFF_RESPONSE: dict[int | str, dict[str, Any]] = {
    202: {
        "description": "Accepted: poll the Content-Location header's status URL",
        "content": {"application/fhir+json": {"schema": _OUTCOME_SCHEMA}},
    },
}
STATUS_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Done: the manifest",
        "content": {"application/json": {"schema": MANIFEST_SCHEMA}},
    },
    202: {"description": "Running: X-Progress and Retry-After headers, no body"},
}
CANCEL_RESPONSE: dict[int | str, dict[str, Any]] = {
    202: {
        "description": "Cancelled; the files are removed",
        "content": {"application/fhir+json": {"schema": _OUTCOME_SCHEMA}},
    },
}
FILE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "FHIR NDJSON: one resource per line",
        "content": {"application/fhir+ndjson": {"schema": {"type": "string"}}},
    },
}
