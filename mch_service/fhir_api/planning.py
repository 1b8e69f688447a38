"""Planning of a request's writes, before anything is written: which record each entry is
about (``targets.py``), which creates are already stored by content (``content_keys.py``), the
references rewritten (``references.py``), and the store operations in R4 transaction order
(DELETE, POST, PUT, then GET). Planning only reads (and locks) stored records: a request
planned again after a lost race resolves to the winner's records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from mch_service.fhir_api.bundle_checks import check_entry_request, check_no_double_targets
from mch_service.fhir_api.content_keys import resolve_content_keys
from mch_service.fhir_api.entries import Entry
from mch_service.fhir_api.plans import Plan
from mch_service.fhir_api.references import rewrite_references
from mch_service.fhir_api.request_urls import parse_url
from mch_service.fhir_api.targets import resolve_targets
from mch_service.store.service import ResourceStore, WriteOp

# R4 transaction processing order (http.html#trules); GET entries are answered last.
METHOD_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "GET": 3}
WRITE_METHODS = ("POST", "PUT", "DELETE")


@dataclass
class RequestPlan:
    plans: list[Plan]  # one per entry, in the request's order
    writes: list[Plan]  # the entries that write
    ops: list[WriteOp]  # what the store is to write, in processing order
    op_plans: list[Plan]  # the plan of each op
    # What this attempt decided (see ``Interactions.execute``: an attempt that decides the same
    # as one a unique key stopped will be stopped again).
    signature: tuple[Any, ...]


def plan_request(
    store: ResourceStore, session: Session, institution_id: str, entries: list[Entry]
) -> RequestPlan:
    for entry in entries:  # a retry starts again from the references as sent
        entry.restore_references()
    plans = [Plan(e, parse_url(e.url, e.request_expr or e.root)) for e in entries]
    for plan in plans:
        check_entry_request(plan.entry, plan.url)
    writes = [p for p in plans if p.entry.method in WRITE_METHODS]
    resolve_targets(store, session, institution_id, writes)
    resolve_content_keys(store, session, institution_id, writes)
    check_no_double_targets(writes)
    rewrite_references(store, session, institution_id, plans)
    ops, op_plans = _write_ops(store, session, writes)
    return RequestPlan(plans, writes, ops, op_plans, _signature(writes))


def _write_ops(
    store: ResourceStore, session: Session, writes: list[Plan]
) -> tuple[list[WriteOp], list[Plan]]:
    """The store operations, in processing order; entries that change nothing have none."""
    ops: list[WriteOp] = []
    op_plans: list[Plan] = []
    # A backfill's content equal to any stored version is already there: the hashes of the
    # versions of the records it updates.
    known = store.version_hashes(
        session,
        [
            p.existing.pk
            for p in writes
            if p.entry.history_is_noop and p.existing is not None and p.kind == "update"
        ],
    )
    for plan in sorted(writes, key=lambda p: METHOD_ORDER[p.entry.method]):
        if plan.kind in ("noop", "alias"):
            continue
        assert plan.fhir_id is not None
        if plan.kind == "delete":
            ops.append(WriteOp("delete", plan.url.resource_type, plan.fhir_id, plan.existing))
        else:
            assert plan.entry.resource is not None
            content = {**plan.entry.resource, "id": plan.fhir_id}
            plan.prepared = store.prepare(plan.url.resource_type, content)
            ops.append(
                WriteOp(
                    "create" if plan.kind == "create" else "update",
                    plan.url.resource_type,
                    plan.fhir_id,
                    plan.existing,
                    plan.prepared,
                    plan.create_key,
                    frozenset(known.get(plan.existing.pk, ()) if plan.existing else ()),
                )
            )
        op_plans.append(plan)
    return ops, op_plans


def _signature(writes: list[Plan]) -> tuple[Any, ...]:
    return tuple(
        (
            p.kind,
            p.url.resource_type,
            # a new server-assigned id differs on every attempt; it decides nothing
            None if p.kind == "create" and not p.url.fhir_id else p.fhir_id,
            p.existing.pk if p.existing else None,
            p.existing.version_id if p.existing else None,
            p.create_key,
        )
        for p in writes
    )
