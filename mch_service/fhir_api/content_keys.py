"""Creates without a business identifier are de-duplicated by content: the same record sent
twice is one record. The content key is a keyed hash of the resource as it will be stored, and
the store keeps it unique per sender."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.orm import Session

from mch_service.fhir_api.entries import EntryResult
from mch_service.fhir_api.plans import PENDING_CONTENT_KEY, Plan
from mch_service.fhir_api.validation import reference_nodes
from mch_service.store.indexing import canonical_content
from mch_service.store.service import CurrentRow, ResourceStore

ContentKey = tuple[str, str]  # (resource_type, keyed hash of the content)


def resolve_content_keys(
    store: ResourceStore, session: Session, institution_id: str, writes: list[Plan]
) -> None:
    """Key the pending creates, and make a create whose content this sender already stored
    (or an earlier entry of this request creates) that record. Content includes references,
    so a create is keyed only once every bundle entry it points at is resolved: entries are
    keyed in rounds."""
    pending = [p for p in writes if p.create_key == PENDING_CONTENT_KEY]
    by_full_url = {p.entry.full_url: p for p in writes if p.entry.full_url}
    refs_of = {id(p): [sent for _, sent in p.entry.references()] for p in pending}
    first_of: dict[ContentKey, Plan] = {}
    while pending:
        ready, waiting = _ready_to_key(pending, by_full_url, refs_of)
        if not ready:  # a cycle of new records: key none of them
            for plan in waiting:
                plan.create_key = None
            break
        keys = {id(p): _content_key(store, p, by_full_url) for p in ready}
        # A record that points at a record created in this same request holds that new
        # record's fresh id: nothing stored can have its content, so no look-up.
        lookup = [keys[id(p)] for p in ready if not _points_at_new_record(p, by_full_url, refs_of)]
        found = store.pks_by_create_keys(session, institution_id, lookup) if lookup else {}
        rows = store.current_by_pks(session, set(found.values())) if found else {}
        for plan in ready:
            key = keys[id(plan)]
            first = first_of.get(key)
            if key not in found and first is not None and first.kind == "create":
                # The same content twice in one request is one record (the second
                # entry is the first's), not two inserts of one unique key.
                plan.kind, plan.alias_of, plan.fhir_id = "alias", first, first.fhir_id
                plan.create_key = None
                continue
            plan.create_key = key[1]
            first_of.setdefault(key, plan)
            if key in found:
                row = rows[found[key]]
                if row.deleted:  # a deleted record's key is cleared; defensive
                    continue
                plan.kind, plan.existing, plan.fhir_id = "noop", row, row.fhir_id
                plan.result = _unchanged(row)
        pending = waiting


def _ready_to_key(
    pending: list[Plan], by_full_url: dict[str, Plan], refs_of: dict[int, list[str]]
) -> tuple[list[Plan], list[Plan]]:
    """(ready, waiting): a create waits while it points at another pending create."""
    ready: list[Plan] = []
    waiting: list[Plan] = []
    for plan in pending:
        blocked = any(
            r in by_full_url
            and by_full_url[r].create_key == PENDING_CONTENT_KEY
            and by_full_url[r] is not plan
            for r in refs_of[id(plan)]
        )
        (waiting if blocked else ready).append(plan)
    return ready, waiting


def _content_key(store: ResourceStore, plan: Plan, by_full_url: dict[str, Plan]) -> ContentKey:
    assert plan.entry.resource is not None
    # references to entries of this request, as they will be stored ('Type/id'): rewritten in
    # place now (the same as references.rewrite_references does after), except in a Bundle
    # resource, which is stored exactly as sent (keyed on a copy)
    resource = plan.entry.resource
    nodes: list[tuple[dict[str, Any], str]]
    if plan.url.resource_type == "Bundle":
        resource = orjson.loads(orjson.dumps(resource))
        nodes = [(n, n["reference"]) for n in reference_nodes(resource)]
    else:
        nodes = plan.entry.references()
    for node, sent in nodes:
        target = by_full_url.get(sent)
        if target is not None and target.fhir_id:
            node["reference"] = f"{target.url.resource_type}/{target.fhir_id}"
    body = {k: v for k, v in resource.items() if k not in ("id", "meta")}
    return (
        plan.url.resource_type,
        store.crypto.keyed_hash(canonical_content(body).decode()),
    )


def _points_at_new_record(
    plan: Plan, by_full_url: dict[str, Plan], refs_of: dict[int, list[str]]
) -> bool:
    return any(
        (target := by_full_url.get(r)) is not None
        and target is not plan
        and target.kind in ("create", "alias")
        for r in refs_of[id(plan)]
    )


def _unchanged(row: CurrentRow) -> EntryResult:
    return EntryResult(
        200,
        row.resource_type,
        row.fhir_id,
        row.version_id,
        row.last_updated,
        action="unchanged",
        pk=row.pk,
    )
