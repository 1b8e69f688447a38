"""The plan of one entry of a request: what it asks (entry and parsed URL), which stored
record it is about, and what will be written for it. Filled in step by step by
``planning.py`` (targets, content keys, references), then carried out by the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from mch_service.fhir_api.entries import Entry, EntryResult
from mch_service.fhir_api.request_urls import RequestUrl
from mch_service.store.service import CurrentRow, Prepared

PlanKind = Literal["create", "update", "delete", "read", "noop", "alias"]

# The content key of a create waiting to be keyed by content (see ``content_keys.py``).
PENDING_CONTENT_KEY = "pending"


@dataclass
class Plan:
    entry: Entry
    url: RequestUrl
    kind: PlanKind | None = None
    fhir_id: str | None = None
    existing: CurrentRow | None = None
    create_key: str | None = None
    status_if_exists: int = 200
    prepared: Prepared | None = None
    result: EntryResult | None = None
    # (resource_type, token hash) of the business keys the written resource carries
    key_tokens: list[tuple[str, str]] = field(default_factory=list)
    # kind "alias": an entry of the same request with the same content creates the record
    alias_of: Plan | None = None
