"""FHIR interactions: create, update, delete, read and search, alone or as bundle entries.

A single request is processed as a transaction of one entry, so a PUT and the same PUT inside
a transaction Bundle follow one code path. Processing order follows the R4 transaction rules
(DELETE, POST, PUT, then GET), ``urn:uuid`` and conditional references are resolved, and
uniqueness lives in the database: when another request wins a race for the same identifier or
content, the unique key stops us, we roll back to a savepoint and resolve again (finding the
winner's record), so the same record sent twice is stored once.
"""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from mch_service.errors import (
    Conflict,
    Gone,
    InvalidResource,
    Issue,
    MchError,
    NotFound,
    PreconditionFailed,
)
from mch_service.fhir_api.resource_types import R4_RESOURCE_TYPES
from mch_service.fhir_api.search import parse_search, parse_token, split_query
from mch_service.fhir_api.validation import (
    ID_RE,
    reference_kind,
    reference_nodes,
    reference_path,
    validate_resource,
)
from mch_service.store import repository as repo
from mch_service.store.indexing import Token, canonical_content
from mch_service.store.repository import ConcurrentUpdate, CurrentRow
from mch_service.store.service import Prepared, ResourceStore, WriteOp, WriteOutcome
from mch_service.timeutil import utcnow

MAX_ATTEMPTS = 6
MAX_VERSION = 2**31 - 1  # version ids are 32-bit in the store
_METHOD_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "GET": 3}


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


@dataclass
class _Url:
    resource_type: str
    fhir_id: str | None = None
    version_id: str | None = None
    query: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class _Plan:
    entry: Entry
    url: _Url
    kind: Literal["create", "update", "delete", "read", "noop", "alias"] | None = None
    fhir_id: str | None = None
    existing: CurrentRow | None = None
    create_key: str | None = None
    status_if_exists: int = 200
    prepared: Prepared | None = None
    result: EntryResult | None = None
    # (resource_type, token hash) of the business keys the written resource carries
    key_tokens: list[tuple[str, str]] = field(default_factory=list)
    # kind "alias": an entry of the same request with the same content creates the record
    alias_of: _Plan | None = None


def check_id(fhir_id: str, expr: str | None) -> None:
    """A resource id in a URL or a condition: R4's id shape, or a 400 before any look-up (an
    id with a NUL would be a database error on PostgreSQL, one ending in a newline would break
    the Location header of the answer)."""
    if not ID_RE.fullmatch(fhir_id):
        raise InvalidResource(
            [
                Issue(
                    f"{fhir_id!r} is not a valid resource id (1-64 letters, digits, '-' or '.')",
                    expr,
                    "value",
                )
            ]
        )


def parse_url(raw: str, expr: str) -> _Url:
    path, _, query = raw.partition("?")
    parts = [p for p in path.strip("/").split("/") if p]
    if "://" in path:
        # An absolute URL (a base of its own, as in bundles built elsewhere): the request is
        # about the resource named by its last "Type/id" segments.
        starts = [i for i, part in enumerate(parts) if part in R4_RESOURCE_TYPES]
        parts = parts[starts[-1] :] if starts else []
    if not parts or parts[0] not in R4_RESOURCE_TYPES:
        raise InvalidResource(
            [Issue(f"Request URL {raw!r} does not start with an R4 resource type", expr, "value")]
        )
    url = _Url(parts[0], query=split_query(query))
    if len(parts) >= 2:
        if not ID_RE.fullmatch(parts[1]):
            raise InvalidResource(
                [Issue(f"{parts[1]!r} is not a valid resource id", expr, "value")]
            )
        url.fhir_id = parts[1]
    if len(parts) == 4 and parts[2] == "_history":
        url.version_id = parts[3]
    elif len(parts) > 2:
        raise InvalidResource(
            [Issue(f"Request URL {raw!r} is not supported here", expr, "not-supported")]
        )
    return url


@dataclass
class _Condition:
    tokens: list[Token]  # identifier=system|value
    values: list[str]  # identifier=value (any system)
    ids: list[str]  # _id


def _condition(query: list[tuple[str, str]], expr: str) -> _Condition:
    """Conditional operations match by business identifier (``identifier=system|value``, or
    ``identifier=value`` for any system) or ``_id``. Anything else is refused rather than
    half-understood."""
    cond = _Condition([], [], [])
    for name, value in query:
        if name == "identifier":
            system, val = parse_token(value)
            if not val:
                raise InvalidResource([Issue("identifier needs a value", expr, "value")])
            if system is None:
                cond.values.append(val)
            else:
                cond.tokens.append(Token(system, val))
        elif name == "_id":
            check_id(value, expr)
            cond.ids.append(value)
        elif name not in ("_format",):
            raise InvalidResource(
                [
                    Issue(
                        f"Conditional operations match on identifier or _id only, not {name!r}",
                        expr,
                        "not-supported",
                    )
                ]
            )
    if not (cond.tokens or cond.values or cond.ids):
        raise InvalidResource(
            [Issue("A conditional operation needs identifier=system|value", expr, "required")]
        )
    return cond


def _query_of(raw: str, rtype: str) -> list[tuple[str, str]]:
    # Some senders write If-None-Exist as a full search URL ("Patient?identifier=...").
    if raw.startswith(rtype + "?"):
        raw = raw[len(rtype) + 1 :]
    return split_query(raw.lstrip("?"))


def _ref_expr(entry: Entry, node: dict[str, Any]) -> str:
    """Expression of a Reference's value, e.g. 'Bundle.entry[3].resource.subject.reference'."""
    assert entry.resource is not None
    return f"{reference_path(entry.resource, node, entry.root)}.reference"


def _is_retryable(exc: OperationalError) -> bool:
    # PostgreSQL: deadlock_detected (40P01), serialization_failure (40001)
    return getattr(exc.orig, "sqlstate", None) in ("40P01", "40001")


def _lasting_conflict(entries: list[Entry], exc: IntegrityError) -> MchError:
    """A conflict that will recur, located at the entries that could have caused it: those
    with a business identifier when an identifier key stopped us, else those that create."""
    text = str(exc.orig)
    on_identifier = "fhir_identifier" in text
    suspects = [
        e
        for e in entries
        if e.method in ("POST", "PUT")
        and (not on_identifier or (e.resource or {}).get("identifier"))
    ] or entries
    return Conflict(
        "The request conflicts with itself or with stored records on a unique key; sending it "
        "again will not help. Check the identifiers and ids of the entries named.",
        [
            Issue(
                "Conflicts on a unique key",
                f"{e.root}.identifier" if on_identifier else (e.request_expr or e.root),
                "duplicate",
            )
            for e in suspects
        ],
    )


def _resource_tokens(resource: dict[str, Any] | None) -> list[Token]:
    return [
        Token(t.get("system") or "", t["value"])
        for t in (resource or {}).get("identifier") or []
        if isinstance(t, dict) and isinstance(t.get("value"), str) and t["value"]
    ]


def _etag_version(raw: str) -> str:
    v = raw.strip()
    if v.startswith("W/"):
        v = v[2:]
    return v.strip('"')


# The base of the links and fullUrls we return, as the client reached this server (set per
# request by the routes). Clients such as fhirpy follow a 'next' link only when it starts with
# the base they were given, so the canonical base (an identifier, not an address) will not do.
# A ContextVar because transactions, batches and searches all build them deep below the route;
# the thread pool the routes use copies the context into the worker thread.
public_base: ContextVar[str | None] = ContextVar("fhir_public_base", default=None)


class Interactions:
    def __init__(
        self,
        store: ResourceStore,
        zone: ZoneInfo,
        default_count: int,
        max_count: int,
        base: str = "",
        reject_example_urls: bool = False,
        max_page_bytes: int | None = None,
        reject_active_content: bool = True,
    ) -> None:
        self.max_page_bytes = max_page_bytes
        self.store = store
        self.zone = zone
        self.default_count = default_count
        self.max_count = max_count
        self.base = base  # fallback base of fullUrls when no request set public_base
        self.reject_example_urls = reject_example_urls
        self.reject_active_content = reject_active_content

    # -- entry point ---------------------------------------------------------------------

    def validate_entries(self, entries: list[Entry], structure_checked: bool = False) -> None:
        """All validation problems of all entries at once, before touching the database."""
        issues: list[Issue] = []
        for e in entries:
            if e.method in ("POST", "PUT"):
                if e.resource is None:
                    issues.append(Issue(f"A {e.method} needs a resource", e.root, "required"))
                    continue
                issues.extend(
                    validate_resource(
                        e.resource,
                        e.root,
                        structure_checked=structure_checked,
                        reject_example_urls=self.reject_example_urls,
                        reject_active_content=self.reject_active_content,
                    )
                )
        if issues:
            raise InvalidResource(issues)

    def execute(
        self, session: Session, institution_id: str, entries: list[Entry]
    ) -> list[EntryResult]:
        """Run the entries atomically in the caller's transaction (validated beforehand).

        A unique key that stops a write is a race only if another request wrote the record
        in between: the next attempt then resolves to that record and plans differently. An
        attempt that plans exactly as the one the key stopped will be stopped again (the
        conflict is within this request, or with what is stored), so it is answered as the
        client's error it is, naming the entries, never as a transient conflict."""
        stopped: tuple[Any, ...] | None = None
        for _attempt in range(MAX_ATTEMPTS):
            savepoint = session.begin_nested()
            planned: list[tuple[Any, ...]] = []
            try:
                results = self._execute_once(session, institution_id, entries, planned)
            except (IntegrityError, ConcurrentUpdate, OperationalError) as exc:
                # A unique key or a version check stopped us (another request wrote the same
                # record first), or PostgreSQL broke a deadlock: resolve again and retry.
                savepoint.rollback()
                if isinstance(exc, OperationalError) and not _is_retryable(exc):
                    raise
                if isinstance(exc, IntegrityError) and planned:
                    if planned[0] == stopped:
                        raise _lasting_conflict(entries, exc) from exc
                    stopped = planned[0]
                continue
            except BaseException:
                savepoint.rollback()
                raise
            savepoint.commit()
            return results
        raise Conflict("Concurrent changes to the same records kept conflicting; send it again")

    # -- planning ------------------------------------------------------------------------

    def _execute_once(
        self,
        session: Session,
        inst: str,
        entries: list[Entry],
        planned: list[tuple[Any, ...]] | None = None,
    ) -> list[EntryResult]:
        for e in entries:  # a retry starts again from the references as sent
            e.restore_references()
        plans = [_Plan(e, parse_url(e.url, e.request_expr or e.root)) for e in entries]
        for p in plans:
            self._check_request_shape(p)
        writes = [p for p in plans if p.entry.method in ("POST", "PUT", "DELETE")]
        self._resolve_targets(session, inst, writes)
        self._resolve_content_keys(session, inst, writes)
        self._check_no_double_targets(writes)
        self._rewrite_references(session, inst, plans)
        now = utcnow()
        ops: list[WriteOp] = []
        op_plans: list[_Plan] = []
        known = repo.version_hashes(
            session,
            [
                p.existing.pk
                for p in writes
                if p.entry.history_is_noop and p.existing is not None and p.kind == "update"
            ],
        )
        for p in sorted(writes, key=lambda p: _METHOD_ORDER[p.entry.method]):
            if p.kind in ("noop", "alias"):
                continue
            assert p.fhir_id is not None
            if p.kind == "delete":
                ops.append(WriteOp("delete", p.url.resource_type, p.fhir_id, p.existing))
            else:
                assert p.entry.resource is not None
                content = {**p.entry.resource, "id": p.fhir_id}
                p.prepared = self.store.prepare(p.url.resource_type, content)
                ops.append(
                    WriteOp(
                        "create" if p.kind == "create" else "update",
                        p.url.resource_type,
                        p.fhir_id,
                        p.existing,
                        p.prepared,
                        p.create_key,
                        frozenset(known.get(p.existing.pk, ()) if p.existing else ()),
                    )
                )
            op_plans.append(p)
        if planned is not None:  # what this attempt decided, for ``execute`` to compare
            planned.append(
                tuple(
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
            )
        outcomes = self.store.apply(session, inst, ops, now)
        for p, o in zip(op_plans, outcomes, strict=True):
            p.result = self._result_of(p, o)
        for p in writes:
            if p.alias_of is not None and p.alias_of.result is not None:
                first = p.alias_of.result
                p.result = EntryResult(
                    200,
                    first.resource_type,
                    first.fhir_id,
                    first.version_id,
                    first.last_updated,
                    action="unchanged",
                )
        for p in plans:
            if p.entry.method == "GET":
                p.result = self.read_or_search(session, inst, p.entry.url, p.entry.request_expr)
        return [p.result for p in plans if p.result is not None]

    def _check_request_shape(self, p: _Plan) -> None:
        e, u = p.entry, p.url
        expr = e.request_expr or e.root
        if e.method not in _METHOD_ORDER:
            raise InvalidResource(
                [
                    Issue(
                        f"Method {e.method!r} is not supported; use GET, POST, PUT or DELETE",
                        expr,
                        "not-supported",
                    )
                ]
            )
        if e.method in ("POST", "PUT"):
            assert e.resource is not None
            rtype = e.resource.get("resourceType")
            if rtype != u.resource_type:
                raise InvalidResource(
                    [
                        Issue(
                            f"The resource is a {rtype} but the request URL names "
                            f"{u.resource_type}",
                            f"{e.root}.resourceType" if e.index is not None else "resourceType",
                            "value",
                        )
                    ]
                )
        if e.method == "POST" and (u.fhir_id or u.query):
            raise InvalidResource(
                [
                    Issue(
                        "POST creates at the type URL (e.g. 'Patient'); use PUT "
                        "to write a given id",
                        expr,
                        "value",
                    )
                ]
            )
        if e.method in ("PUT", "DELETE") and not u.fhir_id and not u.query:
            raise InvalidResource(
                [
                    Issue(
                        f"{e.method} needs an id ('{u.resource_type}/123') or a "
                        "condition ('?identifier=system|value')",
                        expr,
                        "required",
                    )
                ]
            )
        if e.method == "PUT" and u.fhir_id:
            assert e.resource is not None
            body_id = e.resource.get("id")
            if body_id is not None and body_id != u.fhir_id:
                raise InvalidResource(
                    [
                        Issue(
                            f"The resource id {body_id!r} differs from the id in the URL "
                            f"{u.fhir_id!r}",
                            f"{e.root}.id",
                            "value",
                        )
                    ]
                )

    def _resolve_targets(self, session: Session, inst: str, writes: list[_Plan]) -> None:
        """Find which stored resource of this sender each write is about: by id, by the
        condition the sender gave, or by a business key the resource carries (the identifier
        policy; other identifiers never make two creates one record)."""
        policy = self.store.identifier_policy
        by_id = [(p.url.resource_type, p.url.fhir_id) for p in writes if p.url.fhir_id]
        current = repo.current_by_ids(session, inst, by_id, lock=True)  # type: ignore[arg-type]
        key_lookup: list[tuple[str, str]] = []
        cond_lookup: list[tuple[str, str]] = []
        plan_cond: dict[int, list[tuple[str, str]]] = {}
        value_matches: dict[int, set[int]] = {}
        for i, p in enumerate(writes):
            e, u = p.entry, p.url
            cond_tokens: list[Token] = []
            cond: _Condition | None = None
            if e.method == "POST":
                if e.if_none_exist:
                    cond = _condition(
                        _query_of(e.if_none_exist, u.resource_type),
                        f"{e.request_expr}.ifNoneExist" if e.index is not None else "If-None-Exist",
                    )
                    if cond.ids:
                        raise InvalidResource(
                            [
                                Issue(
                                    "If-None-Exist matches on identifier only",
                                    e.request_expr,
                                    "not-supported",
                                )
                            ]
                        )
                    cond_tokens = cond.tokens
            elif u.query:
                cond = _condition(u.query, e.request_expr or "url")
                cond_tokens = cond.tokens
                if cond.ids:
                    u.fhir_id = cond.ids[0]
                    current.update(
                        repo.current_by_ids(
                            session, inst, [(u.resource_type, u.fhir_id)], lock=True
                        )
                    )
                    cond_tokens = []
            if cond is not None and cond.values:
                value_matches[i] = repo.pks_by_values(
                    session, inst, u.resource_type, [self.store.value_hash(v) for v in cond.values]
                )
            # The business keys a written resource carries: a create with a key this sender
            # already used is that record (INTERFACE.md), and no other record may take it.
            p.key_tokens = (
                [
                    (u.resource_type, self.store.token_hash(t))
                    for t in policy.keys_of(u.resource_type, _resource_tokens(e.resource))
                ]
                if e.method in ("POST", "PUT")
                else []
            )
            key_lookup.extend(p.key_tokens)
            plan_cond[i] = [(u.resource_type, self.store.token_hash(t)) for t in cond_tokens]
            cond_lookup.extend(plan_cond[i])
        found_keys = repo.pks_by_tokens(session, inst, key_lookup, keys_only=True)
        found_cond = repo.pks_by_tokens(session, inst, cond_lookup)
        rows_by_pk = repo.current_by_pks(
            session,
            set().union(*found_keys.values(), *found_cond.values(), *value_matches.values()),
            lock=True,
        )
        for i, p in enumerate(writes):
            e, u = p.entry, p.url
            cond_matches = set().union(*(found_cond.get(k, ()) for k in plan_cond[i]))
            cond_matches |= value_matches.get(i, set())
            if len(cond_matches) > 1:
                raise PreconditionFailed(
                    f"The condition matches {len(cond_matches)} records; make it match exactly "
                    "one (identifier=system|value of an identifier only that record has)",
                    [Issue("Multiple matches", e.request_expr or "url", "multiple-matches")],
                )
            key_matches = set().union(*(found_keys.get(k, ()) for k in p.key_tokens))
            matches = cond_matches | key_matches if e.method == "POST" else cond_matches
            if len(matches) > 1:
                names = ", ".join(
                    sorted(
                        f"{rows_by_pk[k].resource_type}/{rows_by_pk[k].fhir_id}"
                        for k in matches
                        if k in rows_by_pk
                    )
                )
                message = (
                    f"The identifiers of this record belong to different stored records ({names}); "
                    "send one record per identifier"
                )
                raise Conflict(
                    message,
                    [
                        Issue(
                            message,
                            f"{e.root}.identifier",
                            "duplicate",
                        )
                    ],
                )
            match = rows_by_pk[matches.pop()] if matches else None
            owners = set(key_matches) if e.method == "PUT" else set()
            if match is not None:
                owners.discard(match.pk)
            if u.fhir_id and not (e.method == "POST"):
                existing = current.get((u.resource_type, u.fhir_id))
                if match is not None and (existing is None or match.pk != existing.pk):
                    message = (
                        f"An identifier of {u.resource_type}/{u.fhir_id} already belongs to "
                        f"{match.resource_type}/{match.fhir_id} from this sender"
                    )
                    raise Conflict(
                        message,
                        [
                            Issue(
                                message,
                                f"{e.root}.identifier",
                                "duplicate",
                            )
                        ],
                    )
                p.fhir_id, p.existing = u.fhir_id, existing
            else:
                p.existing = match
                p.fhir_id = match.fhir_id if match else None
            if p.existing is not None:
                owners.discard(p.existing.pk)
            if owners:
                other = rows_by_pk[owners.pop()]
                message = (
                    f"An identifier of this {u.resource_type} already belongs to "
                    f"{other.resource_type}/{other.fhir_id} from this sender"
                )
                raise Conflict(
                    message,
                    [
                        Issue(
                            message,
                            f"{e.root}.identifier",
                            "duplicate",
                        )
                    ],
                )
            ex = p.existing
            if e.if_match and (
                ex is None or ex.deleted or _etag_version(e.if_match) != str(ex.version_id)
            ):
                current_v = f'W/"{ex.version_id}"' if ex and not ex.deleted else "none"
                target = f"{ex.resource_type}/{ex.fhir_id}" if ex else u.resource_type
                message = (
                    f"If-Match {e.if_match} does not match the current version of {target} "
                    f"({current_v}); read the resource again and reapply the change"
                )
                raise PreconditionFailed(
                    message,
                    [
                        Issue(
                            message,
                            f"{e.request_expr}.ifMatch" if e.index is not None else "If-Match",
                            "conflict",
                        )
                    ],
                    etag=current_v if current_v != "none" else None,
                )
            if e.method == "DELETE":
                if ex is None or ex.deleted:
                    # Deleting what is already gone is not an error (a retry must succeed);
                    # an id that never existed is.
                    if ex is None and u.fhir_id and not u.query:
                        raise NotFound(f"{u.resource_type}/{u.fhir_id} does not exist")
                    p.kind = "noop"
                    p.result = EntryResult(204, u.resource_type, p.fhir_id, action="unchanged")
                else:
                    p.kind = "delete"
            elif e.method == "POST" and e.if_none_exist and ex is not None:
                p.kind = "noop"
                p.result = EntryResult(
                    200,
                    u.resource_type,
                    ex.fhir_id,
                    ex.version_id,
                    ex.last_updated,
                    action="unchanged",
                )
            elif ex is None:
                p.kind = "create"
                if p.fhir_id is None:
                    p.fhir_id = str(uuid.uuid4())
                    p.create_key = "pending" if e.method == "POST" else None
            else:
                p.kind = "update"

    def _resolve_content_keys(self, session: Session, inst: str, writes: list[_Plan]) -> None:
        """Creates without a business identifier are de-duplicated by content: the same record
        sent twice is one record. Content includes references, so a create is keyed only once
        every bundle entry it points at is resolved; entries are keyed in rounds."""
        pending = [p for p in writes if p.create_key == "pending"]
        by_full_url = {p.entry.full_url: p for p in writes if p.entry.full_url}
        refs_of = {id(p): [sent for _, sent in p.entry.references()] for p in pending}
        first_of: dict[tuple[str, str], _Plan] = {}
        while pending:
            ready: list[_Plan] = []
            waiting: list[_Plan] = []
            for p in pending:
                refs = refs_of[id(p)]
                blocked = any(
                    r in by_full_url
                    and by_full_url[r].create_key == "pending"
                    and by_full_url[r] is not p
                    for r in refs
                )
                (waiting if blocked else ready).append(p)
            if not ready:  # a cycle of new records: key none of them
                for p in waiting:
                    p.create_key = None
                break
            keys = {}
            for p in ready:
                assert p.entry.resource is not None
                # references to entries of this request, as they will be stored ('Type/id'):
                # rewritten in place now (the same as _rewrite_references does after), except
                # in a Bundle resource, which is stored exactly as sent (keyed on a copy)
                resource = p.entry.resource
                if p.url.resource_type == "Bundle":
                    resource = orjson.loads(orjson.dumps(resource))
                    nodes = [(n, n["reference"]) for n in reference_nodes(resource)]
                else:
                    nodes = p.entry.references()
                for node, sent in nodes:
                    target = by_full_url.get(sent)
                    if target is not None and target.fhir_id:
                        node["reference"] = f"{target.url.resource_type}/{target.fhir_id}"
                body = {k: v for k, v in resource.items() if k not in ("id", "meta")}
                keys[id(p)] = (
                    p.url.resource_type,
                    self.store.crypto.keyed_hash(canonical_content(body).decode()),
                )
            # A record that points at a record created in this same request holds that new
            # record's fresh id: nothing stored can have its content, so no look-up.
            lookup = [
                keys[id(p)]
                for p in ready
                if not any(
                    (t := by_full_url.get(r)) is not None
                    and t is not p
                    and t.kind in ("create", "alias")
                    for r in refs_of[id(p)]
                )
            ]
            found = repo.pks_by_create_keys(session, inst, lookup) if lookup else {}
            rows = repo.current_by_pks(session, set(found.values())) if found else {}
            for p in ready:
                key = keys[id(p)]
                first = first_of.get(key)
                if key not in found and first is not None and first.kind == "create":
                    # The same content twice in one request is one record (the second
                    # entry is the first's), not two inserts of one unique key.
                    p.kind, p.alias_of, p.fhir_id = "alias", first, first.fhir_id
                    p.create_key = None
                    continue
                p.create_key = key[1]
                first_of.setdefault(key, p)
                if key in found:
                    row = rows[found[key]]
                    if row.deleted:  # a deleted record's key is cleared; defensive
                        continue
                    p.kind, p.existing, p.fhir_id = "noop", row, row.fhir_id
                    p.result = EntryResult(
                        200,
                        row.resource_type,
                        row.fhir_id,
                        row.version_id,
                        row.last_updated,
                        action="unchanged",
                    )
            pending = waiting

    def _check_no_double_targets(self, writes: list[_Plan]) -> None:
        """A transaction touches a record once, and gives a business key to one record: two
        entries that would store one key on two records are refused here, by entry, since
        the unique key would stop them on every attempt."""
        seen: dict[tuple[str, str], _Plan] = {}
        holder: dict[tuple[str, str], _Plan] = {}
        for p in writes:
            if p.kind in ("create", "update", "noop") and p.fhir_id is not None:
                for token in p.key_tokens:
                    other = holder.setdefault(token, p)
                    if other is not p and other.fhir_id != p.fhir_id:
                        raise InvalidResource(
                            [
                                Issue(
                                    f"Entries {other.entry.index} and {p.entry.index} carry "
                                    f"the same business identifier but are different "
                                    f"{token[0]} records; a key identifies one record (send "
                                    "it once)",
                                    f"{q.entry.root}.identifier",
                                    "duplicate",
                                )
                                for q in (other, p)
                            ]
                        )
            if p.kind in ("noop", "alias") or p.fhir_id is None:
                continue
            key = (p.url.resource_type, p.fhir_id)
            if key in seen:
                raise InvalidResource(
                    [
                        Issue(
                            f"Two entries of this bundle write {key[0]}/{key[1]} (entries "
                            f"{seen[key].entry.index} and {p.entry.index}); a transaction may "
                            "touch a "
                            "record once",
                            p.entry.request_expr or p.entry.root,
                            "duplicate",
                        )
                    ]
                )
            seen[key] = p

    def _rewrite_references(self, session: Session, inst: str, plans: list[_Plan]) -> None:
        """urn:uuid and fullUrl references to entries -> 'Type/id'; conditional references
        'Type?identifier=s|v' -> the one record of this sender that has it (in this bundle or
        stored). A literal 'Type/id' is left as sent: ids are scoped per sender, so it names
        the sender's own record with that id (perhaps one not sent yet, as R4 allows), never
        another sender's, and the same request is accepted whether or not another sender
        has a record with that id."""
        by_full_url = {p.entry.full_url: p for p in plans if p.entry.full_url}
        resolved: dict[str, str] = {}
        for p in plans:
            if p.entry.resource is None or p.entry.method not in ("POST", "PUT"):
                continue
            if p.url.resource_type == "Bundle":
                # A stored Bundle (document, collection) resolves its references among its own
                # entries; it is kept exactly as sent.
                continue
            for node, sent in p.entry.references():
                ref = node["reference"]
                if ref != sent:  # already rewritten to the entry's 'Type/id' (content keys)
                    continue
                target = by_full_url.get(ref)
                if target is not None:
                    if target.fhir_id is None:
                        raise InvalidResource(
                            [
                                Issue(
                                    f"Reference {ref!r} points at an entry that is not written",
                                    _ref_expr(p.entry, node),
                                    "value",
                                )
                            ]
                        )
                    node["reference"] = f"{target.url.resource_type}/{target.fhir_id}"
                    continue
                kind = reference_kind(ref)
                if kind == "uuid":
                    raise InvalidResource(
                        [
                            Issue(
                                f"Reference {ref!r} matches no entry fullUrl in this request",
                                _ref_expr(p.entry, node),
                                "not-found",
                            )
                        ]
                    )
                if kind == "conditional":
                    # the same condition is usually written many times in one bundle (every
                    # entry about the woman): resolve it once
                    if ref not in resolved:
                        resolved[ref] = self._resolve_conditional(
                            session, inst, ref, plans, _ref_expr(p.entry, node)
                        )
                    node["reference"] = resolved[ref]

    def _resolve_conditional(
        self, session: Session, inst: str, ref: str, plans: list[_Plan], expr: str
    ) -> str:
        rtype, _, query = ref.partition("?")
        cond = _condition(split_query(query), expr)
        tokens, ids = cond.tokens, cond.ids
        wanted = set(tokens)
        in_bundle = {
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
        if len(in_bundle) == 1 and not ids:
            return "{}/{}".format(*in_bundle.pop())
        keys = [(rtype, self.store.token_hash(t)) for t in tokens]
        found: set[int] = set().union(*repo.pks_by_tokens(session, inst, keys).values())
        if cond.values:
            found |= repo.pks_by_values(
                session, inst, rtype, [self.store.value_hash(v) for v in cond.values]
            )
        rows = repo.current_by_pks(session, found)
        matches = {(r.resource_type, r.fhir_id) for r in rows.values() if not r.deleted}
        if ids:
            matches = (
                {m for m in matches if m[1] in ids}
                if tokens
                else {
                    (rtype, i)
                    for i in ids
                    if (row := repo.current_by_ids(session, inst, [(rtype, i)]).get((rtype, i)))
                    and not row.deleted
                }
            )
        matches |= in_bundle
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

    def _result_of(self, p: _Plan, o: WriteOutcome) -> EntryResult:
        status = {"created": 201, "updated": 200, "unchanged": 200, "deleted": 204}[o.status]
        return EntryResult(
            status,
            o.resource_type,
            o.fhir_id,
            o.version_id,
            o.last_updated,
            o.content,
            action=o.status,
            pk=o.pk,
        )

    # -- reads ---------------------------------------------------------------------------

    def read_or_search(self, session: Session, inst: str, url: str, expr: str = "") -> EntryResult:
        u = parse_url(url, expr or "url")
        if u.fhir_id is None:
            return EntryResult(
                200, u.resource_type, bundle=self.search(session, inst, u), action="search"
            )
        return self.read(session, inst, u.resource_type, u.fhir_id, u.version_id)

    def read(
        self, session: Session, inst: str, rtype: str, fhir_id: str, version: str | None = None
    ) -> EntryResult:
        check_id(fhir_id, None)
        # Ids are scoped per sender: another sender's record is not found, the same answer
        # as for an id nobody used, so reads cannot probe which ids exist.
        row = self.store.current(session, inst, rtype, fhir_id)
        if row is None:
            raise NotFound(f"{rtype}/{fhir_id} does not exist")
        if version is not None:
            if not (version.isascii() and version.isdigit()) or int(version) > MAX_VERSION:
                raise NotFound(f"{rtype}/{fhir_id} has no version {version!r}")
            stored = self.store.content_of(session, row, int(version))
            if stored is None:
                raise NotFound(f"{rtype}/{fhir_id} has no version {version}")
            if stored.content is None:
                raise Gone(f"Version {version} of {rtype}/{fhir_id} is its deletion")
            return EntryResult(
                200, rtype, fhir_id, int(version), stored.recorded_at, stored.content, action="read"
            )
        if row.deleted:
            raise Gone(
                f"{rtype}/{fhir_id} was deleted (its history is kept: {rtype}/{fhir_id}/_history)"
            )
        stored = self.store.content_of(session, row)
        assert stored is not None
        return EntryResult(
            200, rtype, fhir_id, row.version_id, row.last_updated, stored.content, action="read"
        )

    def history(
        self, session: Session, inst: str, rtype: str, fhir_id: str, before: int | None = None
    ) -> dict[str, Any]:
        """Newest first, one page: at most max_count versions and max_page_bytes of content;
        a 'next' link (?_cursor=<version>) gives the older ones."""
        check_id(fhir_id, None)
        base = public_base.get() or self.base
        row = self.store.current(session, inst, rtype, fhir_id)
        if row is None:
            raise NotFound(f"{rtype}/{fhir_id} does not exist")
        entries: list[dict[str, Any]] = []
        size = 0
        more = last = None
        versions = repo.versions(session, row.pk)
        for vid, blob, operation, recorded in versions:
            if before is not None and vid >= before:
                continue
            raw = self.store.unseal(rtype, fhir_id, vid, blob) if blob else None
            if entries and (
                len(entries) >= self.max_count
                or (
                    self.max_page_bytes is not None and size + len(raw or b"") > self.max_page_bytes
                )
            ):
                more = last
                break
            last = vid
            size += len(raw or b"")
            entry: dict[str, Any] = {"fullUrl": f"{base}/{rtype}/{fhir_id}"}
            if raw:
                entry["resource"] = orjson.loads(raw)
            method = {"create": "POST", "update": "PUT", "delete": "DELETE"}[operation]
            entry["request"] = {
                "method": method,
                "url": rtype if method == "POST" else f"{rtype}/{fhir_id}",
            }
            entry["response"] = {
                "status": {"create": "201 Created", "update": "200 OK", "delete": "204 No Content"}[
                    operation
                ],
                "etag": f'W/"{vid}"',
                "lastModified": recorded.isoformat().replace("+00:00", "Z"),
            }
            entries.append(entry)
        page: dict[str, Any] = {
            "resourceType": "Bundle",
            "id": str(uuid.uuid4()),
            "type": "history",
            "total": len(versions),
            "entry": entries,
        }
        if more is not None:
            page["link"] = [
                {"relation": "next", "url": f"{base}/{rtype}/{fhir_id}/_history?_cursor={more}"}
            ]
        return page

    def search(self, session: Session, inst: str, u: _Url) -> dict[str, Any]:
        base = public_base.get() or self.base
        parsed = parse_search(
            u.resource_type,
            u.query,
            inst,
            self.store,
            self.zone,
            self.default_count,
            self.max_count,
        )
        total = repo.count(session, parsed.query)
        rows = repo.search(session, parsed.query) if parsed.count > 0 else []
        entries: list[dict[str, Any]] = []
        size = 0
        full = False
        for row, blob in rows:
            raw = (
                self.store.unseal(row.resource_type, row.fhir_id, row.version_id, blob)
                if blob is not None
                else b""
            )
            # A page is bounded in bytes too: the rest follows through the 'next' link.
            if entries and self.max_page_bytes is not None:
                if size + len(raw) > self.max_page_bytes:
                    full = True
                    break
            size += len(raw)
            entries.append(
                {
                    "fullUrl": f"{base}/{row.resource_type}/{row.fhir_id}",
                    "resource": orjson.loads(raw) if raw else None,
                    "search": {"mode": "match"},
                }
            )
        rows = rows[: len(entries)]
        echo = urlencode(parsed.echo)
        links = [
            {
                "relation": "self",
                "url": f"{base}/{u.resource_type}?{echo}"
                + (f"&_cursor={parsed.cursor}" if parsed.cursor is not None else ""),
            }
        ]
        if (full or len(rows) == parsed.count) and rows:
            links.append(
                {
                    "relation": "next",
                    "url": f"{base}/{u.resource_type}?{echo}&_cursor={rows[-1][0].pk}",
                }
            )
        return {
            "resourceType": "Bundle",
            "id": str(uuid.uuid4()),
            "type": "searchset",
            "total": total,
            "link": links,
            "entry": entries,
        }
