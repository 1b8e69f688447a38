"""The FHIR interface's use cases. Owns the units of work: a request or a transaction Bundle
commits once, a batch commits entry by entry, and a rejection is audited in a transaction of
its own (the rejected work rolled back; its audit row must not)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, TypeVar

import orjson
from pydantic import ValidationError
from sqlalchemy.orm import Session

from mch_service.audit.service import Actor, AuditRecord, record
from mch_service.database import Database
from mch_service.domain.service import Change, DomainService
from mch_service.errors import InvalidResource, Issue, MchError, TooLarge
from mch_service.fhir_api.fhir_models import Bundle, BundleEntry
from mch_service.fhir_api.interactions import Entry, EntryResult, Interactions
from mch_service.fhir_api.outcomes import information, operation_outcome, outcome_for_error
from mch_service.fhir_api.structural_rules import check_structure
from mch_service.fhir_api.validation import (
    ID_RE,
    model_input,
    pydantic_issues,
    validate_resource,
)
from mch_service.timeutil import utcnow

T = TypeVar("T")
log = logging.getLogger(__name__)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_STATUS_TEXT = {200: "200 OK", 201: "201 Created", 204: "204 No Content"}


def _status_line(code: int) -> str:
    """Bundle.entry.response.status is an HTTP status line ("400 Bad Request"), not a bare
    code: clients that split it on the space find the phrase they expect."""
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return str(code)


@dataclass(frozen=True)
class Prefer:
    """The Prefer header's return= preference: minimal | representation | OperationOutcome."""

    return_: str | None = None

    @classmethod
    def parse(cls, header: str | None) -> Prefer:
        for part in (header or "").split(";"):
            for item in part.split(","):
                key, _, value = item.strip().partition("=")
                if key.strip() == "return":
                    return cls(value.strip().strip('"'))
        return cls(None)


class FhirService:
    def __init__(
        self,
        db: Database,
        interactions: Interactions,
        max_bundle_entries: int,
        domain: DomainService | None = None,
        max_resource_bytes: int | None = None,
        max_batch_gets: int | None = None,
        max_batch_response_bytes: int | None = None,
    ) -> None:
        self.db = db
        self.interactions = interactions
        self.max_bundle_entries = max_bundle_entries
        self.domain = domain
        self.max_resource_bytes = max_resource_bytes
        self.max_batch_gets = max_batch_gets
        self.max_batch_response_bytes = max_batch_response_bytes

    def _derive(self, session: Session, actor: Actor, results: list[EntryResult]) -> None:
        """The domain tables follow the store in the same transaction; plausibility flags come
        back to the sender as warnings on the entries they concern."""
        assert self.domain is not None
        changes = [
            Change(
                r.pk,
                r.version_id or 0,
                actor.id or "",
                r.resource_type,
                r.fhir_id,
                r.last_updated or utcnow(),
                r.resource if r.action != "deleted" else None,
            )
            for r in results
            if r.pk
            and r.resource_type
            and r.fhir_id
            and r.action in ("created", "updated", "deleted")
        ]
        by_pk = {r.pk: r for r in results if r.pk}
        for issue in self.domain.apply(session, changes):
            target = by_pk.get(int(issue.get("resource_pk") or 0))
            if target is not None:
                target.warnings.append(
                    Issue(issue["message"], issue.get("element"), "business-rule", "warning")
                )

    # -- helpers -------------------------------------------------------------------------

    def _audited_write(
        self, actor: Actor, entries: list[Entry], action: str, validated: bool = False
    ) -> list[EntryResult]:
        try:
            if not validated:
                self.interactions.validate_entries(entries)
            with self.db.transaction() as session:
                results = self.interactions.execute(session, actor.id or "", entries)
                if self.domain is not None:
                    self._derive(session, actor, results)
                record(
                    session,
                    actor,
                    [_audit_of(r) for r in results if r.action != "read" and r.action != "search"],
                )
            return results
        except MchError as exc:
            self._audit_rejection(actor, action, entries[0].url if entries else None, exc)
            raise

    def _audit_rejection(
        self, actor: Actor, action: str, target: str | None, exc: MchError
    ) -> None:
        rtype, _, rid = (target or "").partition("?")[0].partition("/")
        rid = rid.split("/")[0]
        # The rejected id may be why it was rejected (a NUL, which PostgreSQL refuses even in
        # the audit row): only a well-formed id is kept.
        if rid and not ID_RE.fullmatch(rid):
            rid = "(invalid id)"
        with self.db.transaction() as session:
            record(
                session,
                actor,
                [
                    AuditRecord(
                        action=f"fhir.{action}",
                        outcome="rejected",
                        target_type=rtype or None,
                        target_id=rid or None,
                        status_code=exc.status_code,
                        # Where and what kind, not the messages: those may quote content
                        # (personal data), and the audit log must never hold any.
                        detail=_CONTROL.sub(
                            "?",
                            "; ".join(
                                f"{i.expression or '-'} [{i.code}]" for i in exc.all_issues()
                            ),
                        )[:2000],
                    )
                ],
            )

    def _read(self, fn: Callable[..., T], *args: Any) -> T:
        with self.db.reading() as session:
            return fn(session, *args)

    def write_entries(self, actor: Actor, entries: list[Entry], action: str) -> list[EntryResult]:
        """Validated entries written atomically (bulk import)."""
        return self._audited_write(actor, entries, action, validated=True)

    # -- single interactions -------------------------------------------------------------

    def create(
        self, actor: Actor, rtype: str, resource: Any, if_none_exist: str | None
    ) -> EntryResult:
        entry = Entry("POST", rtype, resource, if_none_exist=if_none_exist, root=rtype)
        return self._audited_write(actor, [entry], "create")[0]

    def update(self, actor: Actor, url: str, resource: Any, if_match: str | None) -> EntryResult:
        rtype = url.split("?")[0].split("/")[0]
        entry = Entry("PUT", url, resource, if_match=if_match, root=rtype)
        return self._audited_write(actor, [entry], "update")[0]

    def delete(self, actor: Actor, url: str, if_match: str | None) -> EntryResult:
        entry = Entry("DELETE", url, if_match=if_match, root=url.split("?")[0].split("/")[0])
        return self._audited_write(actor, [entry], "delete")[0]

    def _audited_read(
        self, actor: Actor, action: str, target: str, fn: Callable[..., T], *args: Any
    ) -> T:
        """A sender's read, search or history call, audited as staff reads are: one row per
        resource it returned (so that "who read Patient/x" is an ordinary audit search), all
        written in one bulk insert. A refused read (not found, another sender's) is audited
        too. Never the query string: search parameters carry identifiers."""
        try:
            result = self._read(fn, *args)
        except MchError as exc:
            self._audit_rejection(actor, action, target, exc)
            raise
        with self.db.transaction() as session:
            record(session, actor, _read_audit(action, target, result))
        return result

    def read(
        self, actor: Actor, rtype: str, fhir_id: str, version: str | None = None
    ) -> EntryResult:
        action = "vread" if version is not None else "read"
        return self._audited_read(
            actor,
            action,
            f"{rtype}/{fhir_id}",
            self.interactions.read,
            actor.id,
            rtype,
            fhir_id,
            version,
        )

    def history(
        self, actor: Actor, rtype: str, fhir_id: str, before: int | None = None
    ) -> dict[str, Any]:
        return self._audited_read(
            actor,
            "history",
            f"{rtype}/{fhir_id}",
            self.interactions.history,
            actor.id,
            rtype,
            fhir_id,
            before,
        )

    def search(self, actor: Actor, url: str) -> dict[str, Any]:
        result = self._audited_read(
            actor,
            "search",
            url.split("?")[0],
            self.interactions.read_or_search,
            actor.id,
            url,
            "",
        )
        assert result.bundle is not None
        return result.bundle

    def validate(self, rtype: str, resource: Any) -> dict[str, Any]:
        """$validate: the same checks as a write, nothing stored. The body is the resource, or
        a Parameters resource whose parameter 'resource' holds it."""
        if isinstance(resource, dict) and resource.get("resourceType") == "Parameters":
            resource = _resource_parameter(resource)
        issues = validate_resource(
            resource,
            rtype,
            reject_example_urls=self.interactions.reject_example_urls,
            reject_active_content=self.interactions.reject_active_content,
        )
        if not issues and isinstance(resource, dict) and resource.get("resourceType") != rtype:
            issues = [
                Issue(
                    f"The resource is a {resource.get('resourceType')}, not a {rtype}",
                    "resourceType",
                    "value",
                )
            ]
        if issues:
            raise InvalidResource(issues)
        return information("The resource is valid FHIR R4 and would be accepted")

    # -- bundles -------------------------------------------------------------------------

    def bundle(self, actor: Actor, bundle: Any, prefer: Prefer) -> dict[str, Any]:
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            raise InvalidResource(
                [
                    Issue(
                        "POST to the base URL takes a Bundle of type transaction or batch",
                        "resourceType",
                        "value",
                    )
                ]
            )
        btype = bundle.get("type")
        if btype not in ("transaction", "batch"):
            raise InvalidResource(
                [
                    Issue(
                        f"Bundle type {btype!r} cannot be processed at the base URL: send a "
                        "'transaction' or 'batch' Bundle (to store a document or collection "
                        "Bundle as "
                        "it is, POST it to /fhir/Bundle)",
                        "Bundle.type",
                        "value",
                    )
                ]
            )
        raw_entries = bundle.get("entry") or []
        if not isinstance(raw_entries, list):
            raise InvalidResource(
                [Issue("Bundle.entry must be an array", "Bundle.entry", "structure")]
            )
        if len(raw_entries) > self.max_bundle_entries:
            raise TooLarge(
                f"The Bundle has {len(raw_entries)} entries; this server takes at most "
                f"{self.max_bundle_entries} per Bundle (see /fhir/metadata). Split it."
            )
        gets = sum(
            1
            for e in raw_entries
            if isinstance(e, dict)
            and isinstance(e.get("request"), dict)
            and e["request"].get("method") == "GET"
        )
        if self.max_batch_gets is not None and gets > self.max_batch_gets:
            too_many = TooLarge(
                f"The Bundle has {gets} GET entries; this server answers at most "
                f"{self.max_batch_gets} reads and searches per Bundle (see /fhir/metadata). "
                "Split it."
            )
            self._audit_rejection(actor, str(btype), "Bundle", too_many)
            raise too_many
        try:
            strict = self.interactions.reject_example_urls
            envelope_issues = [
                Issue(i.message, i.expression, i.code)
                for i in check_structure(
                    bundle,
                    reject_example_urls=strict,
                    reject_active_content=self.interactions.reject_active_content,
                )
            ]
            envelope_issues += _envelope_issues(bundle, strict)
            envelope_issues += _size_issues(raw_entries, self.max_resource_bytes)
            entries = [_entry_of(i, e) for i, e in enumerate(raw_entries)]
        except MchError as exc:
            self._audit_rejection(actor, btype, "Bundle", exc)
            raise
        if btype == "transaction":
            if envelope_issues:
                invalid = InvalidResource(envelope_issues, "The transaction Bundle is not valid")
                self._audit_rejection(actor, "transaction", "Bundle", invalid)
                raise invalid
            for e in entries:
                if e.resource is not None:
                    e.resource = dict(e.resource)  # references get rewritten in place
            results = self._audited_write(actor, entries, "transaction", validated=True)
            return _response_bundle("transaction-response", results, prefer)
        return self._batch(actor, entries, envelope_issues, prefer)

    def _batch(
        self, actor: Actor, entries: list[Entry], envelope_issues: list[Issue], prefer: Prefer
    ) -> dict[str, Any]:
        out = []
        by_entry: dict[int, list[Issue]] = {}
        for issue in envelope_issues:
            idx = _entry_index(issue.expression)
            by_entry.setdefault(idx if idx is not None else -1, []).append(issue)
        if -1 in by_entry:
            raise InvalidResource(by_entry[-1], "The batch Bundle is not valid")
        budget = self.max_batch_response_bytes
        size = 0
        for e in entries:
            assert e.index is not None
            try:
                if e.index in by_entry:
                    raise InvalidResource(by_entry[e.index])
                if e.method == "GET":
                    if budget is not None and size >= budget:
                        raise _response_full(budget)
                    target = e.url.split("?")[0]
                    result = self._audited_read(
                        actor,
                        "search" if target.count("/") == 0 else "read",
                        target,
                        self.interactions.read_or_search,
                        actor.id,
                        e.url,
                        e.request_expr,
                    )
                else:
                    result = self._audited_write(actor, [e], "batch", validated=True)[0]
                answer = _response_entry(result, prefer)
                if budget is not None:
                    # The response is bounded: a read that would push it over the limit is
                    # answered 413 in its entry (ask for it again in another batch); the
                    # entries are independent in a batch, so the others still count.
                    grown = size + len(orjson.dumps(answer))
                    if e.method == "GET" and grown > budget:
                        raise _response_full(budget)
                    size = grown
                out.append(answer)
            except MchError as exc:
                out.append(
                    {
                        "response": {
                            "status": _status_line(exc.status_code),
                            "outcome": outcome_for_error(exc),
                        }
                    }
                )
            except Exception as exc:  # noqa: BLE001 - see below
                # A fault of ours in one entry (its own transaction rolled back) must not
                # turn the whole answer into a 500: the entries before it are committed, and
                # the sender has to learn which. Logged by type only (content is personal data).
                log.error("unexpected %s in batch entry %s", type(exc).__name__, e.index)
                out.append(
                    {
                        "response": {
                            "status": _status_line(500),
                            "outcome": operation_outcome(
                                [
                                    Issue(
                                        "Internal error on this entry; it has been logged and "
                                        "nothing of it was stored",
                                        e.request_expr,
                                        "exception",
                                        "fatal",
                                    )
                                ]
                            ),
                        }
                    }
                )
        return {"resourceType": "Bundle", "type": "batch-response", "entry": out}


def _response_full(budget: int) -> TooLarge:
    return TooLarge(
        f"The batch response reached its limit of {budget} bytes (see /fhir/metadata); this "
        "read was not answered: send it again in another batch"
    )


def _size_issues(entries: list[Any], limit: int | None) -> list[Issue]:
    """Entries whose resource is over MCH_MAX_RESOURCE_BYTES, serialised."""
    if limit is None:
        return []
    issues = []
    for i, e in enumerate(entries):
        resource = e.get("resource") if isinstance(e, dict) else None
        if resource is None:
            continue
        try:
            size = len(orjson.dumps(resource))
        except orjson.JSONEncodeError:
            continue  # not serialisable as it is: validation says why
        if size > limit:
            issues.append(
                Issue(
                    f"The resource is {size} bytes; one resource may have at most {limit} "
                    "(see /fhir/metadata)",
                    f"Bundle.entry[{i}].resource",
                    "too-costly",
                )
            )
    return issues


def _resource_parameter(parameters: dict[str, Any]) -> Any:
    items = parameters.get("parameter")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise InvalidResource(
            [Issue("Parameters.parameter must be an array", "Parameters.parameter", "structure")]
        )
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidResource(
                [
                    Issue(
                        "Each parameter must be an object with a name",
                        f"Parameters.parameter[{i}]",
                        "structure",
                    )
                ]
            )
        if item.get("name") == "resource":
            return item.get("resource")
    return None


def _entry_index(expression: str | None) -> int | None:
    if expression and expression.startswith("Bundle.entry["):
        return int(expression[len("Bundle.entry[") :].split("]")[0])
    return None


def _envelope_issues(bundle: dict[str, Any], reject_example_urls: bool) -> list[Issue]:
    """The Bundle's own elements (type, entry.request, ...) against the R4 model, without
    validating each entry's resource twice (entries are validated one by one, located)."""
    entries = bundle.get("entry") or []
    issues = _envelope_model_issues(bundle, entries)
    if issues:
        return issues
    issues = []
    for i, e in enumerate(entries):
        request = e.get("request") if isinstance(e, dict) else None
        if not isinstance(request, dict):
            issues.append(
                Issue(
                    "Each entry of a transaction or batch needs a request (method and url)",
                    f"Bundle.entry[{i}].request",
                    "required",
                )
            )
            continue
        resource = e.get("resource")
        if request.get("method") in ("POST", "PUT"):
            if resource is None:
                issues.append(
                    Issue(
                        f"A {request.get('method')} entry needs a resource",
                        f"Bundle.entry[{i}].resource",
                        "required",
                    )
                )
            else:
                issues.extend(
                    validate_resource(
                        resource,
                        f"Bundle.entry[{i}].resource",
                        structure_checked=True,
                        reject_example_urls=reject_example_urls,
                    )
                )
    return issues


# Entry envelopes (request, fullUrl, search, response) of real Bundles come in a few shapes
# ({"method": "POST", "url": "Observation"} over and over): the model's verdict on a shape is
# kept, so that a Bundle of 25 entries costs about one model validation, not 25.
_ENTRY_VERDICTS: dict[bytes, list[Issue]] = {}
_MAX_VERDICTS = 4096
_NO_SPACE = re.compile(r"\S*")


def _envelope_model_issues(bundle: dict[str, Any], entries: Any) -> list[Issue]:
    """The Bundle's own elements and each entry's envelope against the R4 model (resources are
    validated one by one elsewhere)."""
    if not isinstance(entries, list):
        entries = []
    top = {k: v for k, v in bundle.items() if k != "entry"}
    if "entry" in bundle and not isinstance(bundle["entry"], list):
        top["entry"] = bundle["entry"]
    try:
        Bundle.model_validate(model_input(top))
    except ValidationError as exc:
        return pydantic_issues("Bundle", exc)
    issues: list[Issue] = []
    for i, e in enumerate(entries):
        if not isinstance(e, dict):
            try:
                BundleEntry.model_validate(e)
            except ValidationError as exc:
                issues += pydantic_issues(f"Bundle.entry[{i}]", exc)
            continue
        envelope = {k: v for k, v in e.items() if k != "resource"}
        full_url = envelope.get("fullUrl")
        if isinstance(full_url, str) and _NO_SPACE.fullmatch(full_url):
            envelope["fullUrl"] = "urn:x"  # any valid uri: the shape is what the model judges
        key = orjson.dumps(envelope, option=orjson.OPT_SORT_KEYS)
        verdict = _ENTRY_VERDICTS.get(key)
        if verdict is None:
            try:
                BundleEntry.model_validate(model_input(envelope))
                verdict = []
            except ValidationError as exc:
                verdict = pydantic_issues("", exc)
            if len(_ENTRY_VERDICTS) >= _MAX_VERDICTS:
                _ENTRY_VERDICTS.clear()
            _ENTRY_VERDICTS[key] = verdict
        issues += [
            Issue(x.message, f"Bundle.entry[{i}]{x.expression or ''}", x.code, x.severity)
            for x in verdict
        ]
    return issues


def _entry_of(i: int, e: Any) -> Entry:
    request = e.get("request") if isinstance(e, dict) else None
    request = request if isinstance(request, dict) else {}
    return Entry(
        method=str(request.get("method") or ""),
        url=str(request.get("url") or ""),
        resource=e.get("resource") if isinstance(e, dict) else None,
        full_url=e.get("fullUrl") if isinstance(e, dict) else None,
        if_match=request.get("ifMatch"),
        if_none_exist=request.get("ifNoneExist"),
        index=i,
        root=f"Bundle.entry[{i}].resource",
        request_expr=f"Bundle.entry[{i}].request",
    )


def _audit_of(r: EntryResult) -> AuditRecord:
    action = {
        "created": "create",
        "updated": "update",
        "unchanged": "unchanged",
        "deleted": "delete",
    }.get(r.action or "", r.action or "write")
    return AuditRecord(
        action=f"fhir.{action}",
        outcome="success",
        target_type=r.resource_type,
        target_id=r.fhir_id,
        status_code=r.status,
        detail=f"version {r.version_id}" if r.version_id else None,
    )


def _read_audit(action: str, target: str, result: Any) -> list[AuditRecord]:
    """The audit rows of a successful read: one per resource returned (a search's matches and
    includes; a history's versions are one row for the resource); a search that found nothing
    still leaves one row, naming only the type."""
    rtype, _, rid = target.partition("/")
    if isinstance(result, EntryResult) and result.bundle is not None:
        result = result.bundle
    if isinstance(result, EntryResult):
        return [
            AuditRecord(
                f"fhir.{action}",
                "success",
                result.resource_type or rtype,
                result.fhir_id or rid.split("/")[0] or None,
                200,
                f"version {result.version_id}" if action == "vread" else None,
            )
        ]
    entries = result.get("entry") or []
    if action == "history":
        return [
            AuditRecord(
                "fhir.history", "success", rtype, rid.split("/")[0], 200, f"{len(entries)} versions"
            )
        ]
    seen: dict[tuple[str, str], None] = {}
    for entry in entries:
        resource = entry.get("resource") or {}
        if resource.get("resourceType") and resource.get("id"):
            seen[(resource["resourceType"], resource["id"])] = None
    if not seen:
        return [AuditRecord(f"fhir.{action}", "success", rtype or None, None, 200, "0 resources")]
    return [AuditRecord(f"fhir.{action}", "success", t, i, 200) for t, i in seen]


def _response_entry(r: EntryResult, prefer: Prefer) -> dict[str, Any]:
    response: dict[str, Any] = {"status": _STATUS_TEXT.get(r.status, str(r.status))}
    if r.location:
        response["location"] = r.location
        response["etag"] = f'W/"{r.version_id}"'
    if r.last_updated:
        response["lastModified"] = r.last_updated.isoformat().replace("+00:00", "Z")
    entry: dict[str, Any] = {"response": response}
    if r.warnings:
        response["outcome"] = operation_outcome(r.warnings)
    if r.bundle is not None:
        entry["resource"] = r.bundle
    elif r.action == "read" and r.resource is not None:
        entry["resource"] = r.resource
    elif prefer.return_ == "representation" and r.resource is not None:
        entry["resource"] = r.resource
    elif prefer.return_ == "OperationOutcome":
        response["outcome"] = information(f"{r.action}")
    return entry


def _response_bundle(btype: str, results: list[EntryResult], prefer: Prefer) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": btype,
        "entry": [_response_entry(r, prefer) for r in results],
    }
