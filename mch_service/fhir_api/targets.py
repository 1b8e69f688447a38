"""Which stored record of this sender each write of a request is about: by the id in its URL,
by the condition the sender gave (``?identifier=``, ``?_id=``, If-None-Exist), or by a business
key the resource carries (the identifier policy; other identifiers never make two creates one
record). Then what the write will do to it: create, update, delete, or nothing.

The look-ups of all writes are gathered first, so a Bundle of 25 entries costs a few queries;
the records found are locked (PostgreSQL), so writers of one record queue."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from mch_service.errors import Conflict, InvalidResource, Issue, NotFound, PreconditionFailed
from mch_service.fhir_api.entries import EntryResult
from mch_service.fhir_api.plans import PENDING_CONTENT_KEY, Plan
from mch_service.fhir_api.request_urls import Condition, if_none_exist_query, parse_condition
from mch_service.store.indexing import Token
from mch_service.store.service import CurrentRow, ResourceStore

TokenKey = tuple[str, str]  # (resource_type, token hash)


@dataclass
class _Lookups:
    """What the store said about the writes of one request."""

    current: dict[tuple[str, str], CurrentRow]  # records named by (type, id)
    condition_keys: dict[int, list[TokenKey]]  # per write: its condition's identifier tokens
    value_matches: dict[int, set[int]]  # per write: records its ``identifier=value`` matches
    by_business_key: dict[TokenKey, set[int]]
    by_condition: dict[TokenKey, set[int]]
    rows: dict[int, CurrentRow]  # every record a key or a condition matched, by pk


def resolve_targets(
    store: ResourceStore, session: Session, institution_id: str, writes: list[Plan]
) -> None:
    """Set each write's target record (``existing``, ``fhir_id``) and ``kind``; refuse the
    write whose condition or identifiers do not name one record, and the If-Match that does
    not hold."""
    lookups = _look_up(store, session, institution_id, writes)
    for i, plan in enumerate(writes):
        condition_matches = _condition_matches(lookups, i, plan)
        key_matches: set[int] = set().union(
            *(lookups.by_business_key.get(k, ()) for k in plan.key_tokens)
        )
        match = _the_one_match(lookups, plan, condition_matches, key_matches)
        _settle_target(lookups, plan, match)
        _check_key_owners(lookups, plan, match, key_matches)
        _check_if_match(plan)
        _choose_kind(plan)


# -- the look-ups --------------------------------------------------------------------------


def _look_up(
    store: ResourceStore, session: Session, institution_id: str, writes: list[Plan]
) -> _Lookups:
    by_id = [(p.url.resource_type, p.url.fhir_id) for p in writes if p.url.fhir_id]
    current = store.current_by_ids(session, institution_id, by_id, lock=True)  # type: ignore[arg-type]
    key_lookup: list[TokenKey] = []
    condition_lookup: list[TokenKey] = []
    condition_keys: dict[int, list[TokenKey]] = {}
    value_matches: dict[int, set[int]] = {}
    for i, plan in enumerate(writes):
        url = plan.url
        condition = _condition_of(plan)
        condition_tokens = condition.tokens if condition is not None else []
        if condition is not None and condition.ids:
            # ?_id= names the record as its URL would (If-None-Exist refuses _id)
            url.fhir_id = condition.ids[0]
            current.update(
                store.current_by_ids(
                    session, institution_id, [(url.resource_type, url.fhir_id)], lock=True
                )
            )
            condition_tokens = []
        if condition is not None and condition.values:
            value_matches[i] = store.pks_by_values(
                session,
                institution_id,
                url.resource_type,
                [store.value_hash(v) for v in condition.values],
            )
        plan.key_tokens = _business_keys(store, plan)
        key_lookup.extend(plan.key_tokens)
        condition_keys[i] = [(url.resource_type, store.token_hash(t)) for t in condition_tokens]
        condition_lookup.extend(condition_keys[i])
    by_business_key = store.pks_by_tokens(session, institution_id, key_lookup, keys_only=True)
    by_condition = store.pks_by_tokens(session, institution_id, condition_lookup)
    rows = store.current_by_pks(
        session,
        set().union(*by_business_key.values(), *by_condition.values(), *value_matches.values()),
        lock=True,
    )
    return _Lookups(current, condition_keys, value_matches, by_business_key, by_condition, rows)


def _condition_of(plan: Plan) -> Condition | None:
    """The condition of a conditional create (If-None-Exist, identifiers only) or of a
    conditional update or delete (the URL's query); None for the others."""
    entry, url = plan.entry, plan.url
    if entry.method == "POST":
        if not entry.if_none_exist:
            return None
        condition = parse_condition(
            if_none_exist_query(entry.if_none_exist, url.resource_type),
            f"{entry.request_expr}.ifNoneExist" if entry.index is not None else "If-None-Exist",
        )
        if condition.ids:
            raise InvalidResource(
                [
                    Issue(
                        "If-None-Exist matches on identifier only",
                        entry.request_expr,
                        "not-supported",
                    )
                ]
            )
        return condition
    if url.query:
        return parse_condition(url.query, entry.request_expr or "url")
    return None


def _business_keys(store: ResourceStore, plan: Plan) -> list[TokenKey]:
    """The business keys a written resource carries: a create with a key this sender already
    used is that record (INTERFACE.md), and no other record may take it."""
    if plan.entry.method not in ("POST", "PUT"):
        return []
    rtype = plan.url.resource_type
    policy = store.identifier_policy
    return [
        (rtype, store.token_hash(t))
        for t in policy.keys_of(rtype, resource_tokens(plan.entry.resource))
    ]


def resource_tokens(resource: dict[str, Any] | None) -> list[Token]:
    return [
        Token(t.get("system") or "", t["value"])
        for t in (resource or {}).get("identifier") or []
        if isinstance(t, dict) and isinstance(t.get("value"), str) and t["value"]
    ]


# -- the decisions, one write at a time ----------------------------------------------------


def _condition_matches(lookups: _Lookups, i: int, plan: Plan) -> set[int]:
    matches: set[int] = set().union(
        *(lookups.by_condition.get(k, ()) for k in lookups.condition_keys[i])
    )
    matches |= lookups.value_matches.get(i, set())
    if len(matches) > 1:
        raise PreconditionFailed(
            f"The condition matches {len(matches)} records; make it match exactly "
            "one (identifier=system|value of an identifier only that record has)",
            [Issue("Multiple matches", plan.entry.request_expr or "url", "multiple-matches")],
        )
    return matches


def _the_one_match(
    lookups: _Lookups, plan: Plan, condition_matches: set[int], key_matches: set[int]
) -> CurrentRow | None:
    """The record the condition (and, for a create, its business keys) names, if any."""
    matches = (
        condition_matches | key_matches if plan.entry.method == "POST" else set(condition_matches)
    )
    if len(matches) > 1:
        names = ", ".join(
            sorted(
                f"{lookups.rows[k].resource_type}/{lookups.rows[k].fhir_id}"
                for k in matches
                if k in lookups.rows
            )
        )
        raise _identifier_conflict(
            f"The identifiers of this record belong to different stored records ({names}); "
            "send one record per identifier",
            plan,
        )
    return lookups.rows[matches.pop()] if matches else None


def _settle_target(lookups: _Lookups, plan: Plan, match: CurrentRow | None) -> None:
    """An update or delete by id is about that id's record (which its identifiers must not
    name another of); the others are about the record matched, or a new one."""
    url = plan.url
    if url.fhir_id and plan.entry.method != "POST":
        existing = lookups.current.get((url.resource_type, url.fhir_id))
        if match is not None and (existing is None or match.pk != existing.pk):
            raise _identifier_conflict(
                f"An identifier of {url.resource_type}/{url.fhir_id} already belongs to "
                f"{match.resource_type}/{match.fhir_id} from this sender",
                plan,
            )
        plan.fhir_id, plan.existing = url.fhir_id, existing
    else:
        plan.existing = match
        plan.fhir_id = match.fhir_id if match else None


def _check_key_owners(
    lookups: _Lookups, plan: Plan, match: CurrentRow | None, key_matches: set[int]
) -> None:
    """An update may not give its record a business key another record holds."""
    owners = set(key_matches) if plan.entry.method == "PUT" else set()
    if match is not None:
        owners.discard(match.pk)
    if plan.existing is not None:
        owners.discard(plan.existing.pk)
    if owners:
        other = lookups.rows[owners.pop()]
        raise _identifier_conflict(
            f"An identifier of this {plan.url.resource_type} already belongs to "
            f"{other.resource_type}/{other.fhir_id} from this sender",
            plan,
        )


def _identifier_conflict(message: str, plan: Plan) -> Conflict:
    return Conflict(message, [Issue(message, f"{plan.entry.root}.identifier", "duplicate")])


def _check_if_match(plan: Plan) -> None:
    entry, existing = plan.entry, plan.existing
    if not entry.if_match:
        return
    if (
        existing is not None
        and not existing.deleted
        and etag_version(entry.if_match) == str(existing.version_id)
    ):
        return
    current_version = f'W/"{existing.version_id}"' if existing and not existing.deleted else "none"
    target = f"{existing.resource_type}/{existing.fhir_id}" if existing else plan.url.resource_type
    message = (
        f"If-Match {entry.if_match} does not match the current version of {target} "
        f"({current_version}); read the resource again and reapply the change"
    )
    raise PreconditionFailed(
        message,
        [
            Issue(
                message,
                f"{entry.request_expr}.ifMatch" if entry.index is not None else "If-Match",
                "conflict",
            )
        ],
        etag=current_version if current_version != "none" else None,
    )


def etag_version(raw: str) -> str:
    version = raw.strip()
    if version.startswith("W/"):
        version = version[2:]
    return version.strip('"')


def _choose_kind(plan: Plan) -> None:
    entry, url, existing = plan.entry, plan.url, plan.existing
    if entry.method == "DELETE":
        if existing is None or existing.deleted:
            # Deleting what is already gone is not an error (a retry must succeed);
            # an id that never existed is.
            if existing is None and url.fhir_id and not url.query:
                raise NotFound(f"{url.resource_type}/{url.fhir_id} does not exist")
            plan.kind = "noop"
            plan.result = EntryResult(204, url.resource_type, plan.fhir_id, action="unchanged")
        else:
            plan.kind = "delete"
    elif entry.method == "POST" and entry.if_none_exist and existing is not None:
        plan.kind = "noop"
        plan.result = EntryResult(
            200,
            url.resource_type,
            existing.fhir_id,
            existing.version_id,
            existing.last_updated,
            action="unchanged",
            pk=existing.pk,
        )
    elif existing is None:
        plan.kind = "create"
        if plan.fhir_id is None:
            plan.fhir_id = str(uuid.uuid4())
            plan.create_key = PENDING_CONTENT_KEY if entry.method == "POST" else None
    else:
        plan.kind = "update"
