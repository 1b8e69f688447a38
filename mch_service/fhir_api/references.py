"""Reference resolution in a request's resources, before they are stored: ``urn:uuid`` and
fullUrl references to entries of the request become 'Type/id'; conditional references
'Type?identifier=s|v' become the one record of this sender that has it (in this request or
stored). A literal 'Type/id' is left as sent: ids are scoped per sender, so it names the
sender's own record with that id (perhaps one not sent yet, as R4 allows), never another
sender's, and the same request is accepted whether or not another sender has a record with
that id."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from mch_service.errors import InvalidResource, Issue
from mch_service.fhir_api.entries import Entry
from mch_service.fhir_api.plans import Plan
from mch_service.fhir_api.request_urls import parse_condition
from mch_service.fhir_api.search import split_query
from mch_service.fhir_api.validation import reference_kind, reference_path
from mch_service.store.indexing import Token
from mch_service.store.service import ResourceStore


def rewrite_references(
    store: ResourceStore, session: Session, institution_id: str, plans: list[Plan]
) -> None:
    """Rewrite, in place, the references of every resource the request writes."""
    by_full_url = {p.entry.full_url: p for p in plans if p.entry.full_url}
    resolved: dict[str, str] = {}
    stored = _stored_matches(store, session, institution_id, plans, by_full_url)
    for plan in _rewritten(plans):
        for node, sent in plan.entry.references():
            ref = node["reference"]
            if ref != sent:  # already rewritten to the entry's 'Type/id' (content keys)
                continue
            target = by_full_url.get(ref)
            if target is not None:
                node["reference"] = _entry_reference(target, ref, plan.entry, node)
                continue
            kind = reference_kind(ref)
            if kind == "uuid":
                raise InvalidResource(
                    [
                        Issue(
                            f"Reference {ref!r} matches no entry fullUrl in this request",
                            reference_expression(plan.entry, node),
                            "not-found",
                        )
                    ]
                )
            if kind == "conditional":
                # the same condition is usually written many times in one bundle (every
                # entry about the woman): resolve it once
                if ref not in resolved:
                    resolved[ref] = resolve_conditional_reference(
                        store,
                        session,
                        institution_id,
                        ref,
                        plans,
                        reference_expression(plan.entry, node),
                        stored.get(ref),
                    )
                node["reference"] = resolved[ref]


def _rewritten(plans: list[Plan]) -> list[Plan]:
    """The plans whose resource's references are rewritten."""
    # A stored Bundle (document, collection) resolves its references among its own entries;
    # it is kept exactly as sent.
    return [
        p
        for p in plans
        if p.entry.resource is not None
        and p.entry.method in ("POST", "PUT")
        and p.url.resource_type != "Bundle"
    ]


def _stored_matches(
    store: ResourceStore,
    session: Session,
    institution_id: str,
    plans: list[Plan],
    by_full_url: dict[str, Plan],
) -> dict[str, set[tuple[str, str]]]:
    """For the request's conditional references by identifier only ('Type?identifier=s|v',
    the usual kind), the live stored records of this sender each one matches: two look-ups for
    the whole request (its identifiers, then those records), not two per reference. Any other
    condition (or one that does not parse: its error comes in order, below) is looked up on
    its own by ``resolve_conditional_reference``."""
    conditions: dict[str, tuple[str, list[Token]]] = {}
    for plan in _rewritten(plans):
        for node, sent in plan.entry.references():
            ref = node["reference"]
            if ref != sent or ref in by_full_url or ref in conditions:
                continue
            if reference_kind(ref) != "conditional":
                continue
            rtype, _, query = ref.partition("?")
            try:
                condition = parse_condition(split_query(query), "")
            except InvalidResource:
                continue
            if not condition.tokens or condition.ids or condition.values:
                continue
            if len(_written_in_request(rtype, set(condition.tokens), plans)) == 1:
                continue  # an entry of this request: no look-up (as below)
            conditions[ref] = (rtype, list(condition.tokens))
    if not conditions:
        return {}
    keys_of = {
        ref: [(rtype, store.token_hash(t)) for t in tokens]
        for ref, (rtype, tokens) in conditions.items()
    }
    found = store.pks_by_tokens(
        session, institution_id, sorted({k for keys in keys_of.values() for k in keys})
    )
    rows = store.current_by_pks(session, set().union(*found.values()))
    out: dict[str, set[tuple[str, str]]] = {}
    for ref, keys in keys_of.items():
        pks: set[int] = set().union(*(found.get(k, set()) for k in keys))
        out[ref] = {
            (rows[pk].resource_type, rows[pk].fhir_id)
            for pk in pks
            if pk in rows and not rows[pk].deleted
        }
    return out


def _entry_reference(target: Plan, ref: str, entry: Entry, node: dict[str, Any]) -> str:
    """'Type/id' of the entry a fullUrl reference points at."""
    if target.fhir_id is None:
        raise InvalidResource(
            [
                Issue(
                    f"Reference {ref!r} points at an entry that is not written",
                    reference_expression(entry, node),
                    "value",
                )
            ]
        )
    return f"{target.url.resource_type}/{target.fhir_id}"


def reference_expression(entry: Entry, node: dict[str, Any]) -> str:
    """Expression of a Reference's value, e.g. 'Bundle.entry[3].resource.subject.reference'."""
    assert entry.resource is not None
    return f"{reference_path(entry.resource, node, entry.root)}.reference"


def resolve_conditional_reference(
    store: ResourceStore,
    session: Session,
    institution_id: str,
    ref: str,
    plans: list[Plan],
    expr: str,
    stored: set[tuple[str, str]] | None = None,
) -> str:
    """'Type/id' of the one record 'Type?identifier=...' (or '?_id=') names: an entry of this
    request that carries the identifier, or a stored record of this sender (``stored``: those
    records when already looked up, see ``_stored_matches``)."""
    rtype, _, query = ref.partition("?")
    condition = parse_condition(split_query(query), expr)
    in_request = _written_in_request(rtype, set(condition.tokens), plans)
    if len(in_request) == 1 and not condition.ids:
        return "{}/{}".format(*in_request.pop())
    if stored is not None:
        return _one_match(ref, expr, set(stored) | in_request)
    keys = [(rtype, store.token_hash(t)) for t in condition.tokens]
    found: set[int] = set().union(*store.pks_by_tokens(session, institution_id, keys).values())
    if condition.values:
        found |= store.pks_by_values(
            session, institution_id, rtype, [store.value_hash(v) for v in condition.values]
        )
    rows = store.current_by_pks(session, found)
    matches = {(r.resource_type, r.fhir_id) for r in rows.values() if not r.deleted}
    if condition.ids:
        matches = (
            {m for m in matches if m[1] in condition.ids}
            if condition.tokens or condition.values  # both conditions hold
            else _live_ids(store, session, institution_id, rtype, condition.ids)
        )
    matches |= in_request
    return _one_match(ref, expr, matches)


def _one_match(ref: str, expr: str, matches: set[tuple[str, str]]) -> str:
    if len(matches) != 1:
        raise InvalidResource(
            [
                Issue(
                    f"Conditional reference {ref!r} matches {len(matches)} records of this "
                    "sender; it "
                    "must match exactly one",
                    expr,
                    "not-found" if not matches else "multiple-matches",
                )
            ]
        )
    return "{}/{}".format(*matches.pop())


def _written_in_request(rtype: str, wanted: set[Token], plans: list[Plan]) -> set[tuple[str, str]]:
    """(type, id) of the entries of this request that write a ``rtype`` with one of these
    identifiers."""
    return {
        (p.url.resource_type, p.fhir_id)
        for p in plans
        if p.url.resource_type == rtype
        and p.entry.resource is not None
        and p.entry.method in ("POST", "PUT")
        and p.fhir_id
        and wanted
        & {
            Token(i.get("system") or "", str(i.get("value")))
            for i in p.entry.resource.get("identifier") or []
            if isinstance(i, dict)
        }
    }


def _live_ids(
    store: ResourceStore, session: Session, institution_id: str, rtype: str, ids: list[str]
) -> set[tuple[str, str]]:
    """(type, id) of the sender's live records among these ids."""
    return {
        (rtype, i)
        for i in ids
        if (row := store.current_by_ids(session, institution_id, [(rtype, i)]).get((rtype, i)))
        and not row.deleted
    }
