"""Shapes of the export-client administration (the staff API); the FHIR side answers FHIR
JSON (the manifest, OperationOutcomes) and NDJSON."""

from __future__ import annotations

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
