"""What the interactions are asked and what they answer: an ``Entry`` (one plain request, or
one entry of a transaction or batch Bundle) and its ``EntryResult``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mch_service.errors import Issue
from mch_service.fhir_api.validation import reference_nodes


@dataclass
class Entry:
    method: str
    url: str  # relative to the FHIR base: "Patient", "Patient/1", "Patient?identifier=s|v"
    resource: dict[str, Any] | None = None
    full_url: str | None = None
    if_match: str | None = None
    if_none_exist: str | None = None
    index: int | None = None  # position in the bundle, None for a plain request
    # Backfill: content equal to any stored version of the record counts as already there.
    history_is_noop: bool = False
    root: str = ""  # expression of the resource, e.g. "Bundle.entry[2].resource" or "Patient"
    request_expr: str = ""  # expression of the request line, e.g. "Bundle.entry[2].request"
    # The resource's Reference objects with their values as sent (see ``references``).
    _refs: list[tuple[dict[str, Any], str]] | None = field(default=None, repr=False)

    def references(self) -> list[tuple[dict[str, Any], str]]:
        """(Reference object, value as sent) of every reference in the resource, found once.
        Processing rewrites the objects in place; ``restore_references`` puts the values as
        sent back, so that a retried attempt starts from what the client sent."""
        if self._refs is None:
            self._refs = (
                [(n, n["reference"]) for n in reference_nodes(self.resource)]
                if self.resource is not None
                else []
            )
        return self._refs

    def restore_references(self) -> None:
        for node, sent in self._refs or ():
            node["reference"] = sent


@dataclass
class EntryResult:
    status: int
    resource_type: str | None = None
    fhir_id: str | None = None
    version_id: int | None = None
    last_updated: datetime | None = None
    resource: dict[str, Any] | None = None
    outcome_text: str | None = None
    action: str | None = None  # created | updated | unchanged | deleted | read | search
    bundle: dict[str, Any] | None = None
    pk: int | None = None  # the store's key of the written resource
    warnings: list[Issue] = field(default_factory=list)  # data-quality flags on accepted data

    @property
    def location(self) -> str | None:
        if self.resource_type and self.fhir_id and self.version_id:
            return f"{self.resource_type}/{self.fhir_id}/_history/{self.version_id}"
        return None
