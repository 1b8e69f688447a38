"""The FHIR interface's use cases. Owns the units of work: a request or a transaction Bundle
commits once, a batch commits entry by entry, and a rejection is audited in a transaction of
its own (the rejected work rolled back; its audit row must not)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy.orm import Session

from mch_service.audit.service import Actor, AuditRecord, record
from mch_service.database import Database
from mch_service.domain.service import Change, DomainService
from mch_service.errors import InvalidResource, Issue, MchError
from mch_service.fhir_api.audit_rows import read_rows, rejection_row, write_row
from mch_service.fhir_api.bundle_checks import (
    BUNDLE_ITSELF,
    BundleLimits,
    CheckedBundle,
    check_bundle,
)
from mch_service.fhir_api.bundle_responses import (
    Prefer,
    error_entry,
    internal_error_entry,
    response_bundle,
    response_entry,
    response_full,
)
from mch_service.fhir_api.entries import Entry, EntryResult
from mch_service.fhir_api.interactions import Interactions
from mch_service.fhir_api.outcomes import information
from mch_service.fhir_api.validation import validate_resource
from mch_service.quality.service import sender_view
from mch_service.store.service import unresolved_references
from mch_service.timeutil import utcnow

P = ParamSpec("P")
T = TypeVar("T")
log = logging.getLogger(__name__)


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
        """The domain tables follow the store in the same transaction; the data-quality issues
        come back to the sender as warnings on the entries they concern: those these writes
        raised, those stored for a record resent unchanged (the same warning again), and
        references to a record of the sender's that is not stored."""
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
        by_pk: dict[int, list[EntryResult]] = {}
        for r in results:
            if r.pk and r.action in ("created", "updated", "unchanged"):
                by_pk.setdefault(r.pk, []).append(r)
        issues = self.domain.apply(session, changes)
        written = {c.resource_pk for c in changes}
        resent = sorted(pk for pk in by_pk if pk not in written)
        if resent:
            issues += self.domain.stored_issues(session, resent)
        for pk, element, named in unresolved_references(session, actor.id or "", list(by_pk)):
            rtype = by_pk[pk][0].resource_type
            issues.append(
                {
                    "resource_pk": pk,
                    "rule": "reference_unresolved",
                    "element": f"{rtype}.{element}",
                    "message": f"{named} is not a record you have sent: the record is kept "
                    f"and links once {named} arrives; send {named} (or refer to it by "
                    "identifier, or by urn:uuid in the same transaction)",
                }
            )
        for issue in issues:
            for target in by_pk.get(int(issue.get("resource_pk") or 0), ()):
                warning = Issue(
                    issue["message"],
                    issue.get("element"),
                    "business-rule",
                    "warning",
                    issue.get("rule"),
                )
                if warning not in target.warnings:
                    target.warnings.append(warning)

    # -- units of work -------------------------------------------------------------------

    def _audited_write(
        self, actor: Actor, entries: list[Entry], action: str, validated: bool = False
    ) -> list[EntryResult]:
        try:
            if not validated:
                self.interactions.validate_entries(entries)

            def then(session: Session, results: list[EntryResult]) -> None:
                if self.domain is not None:
                    self._derive(session, actor, results)
                record(
                    session,
                    actor,
                    [write_row(r) for r in results if r.action != "read" and r.action != "search"],
                )

            return self.interactions.execute(self.db.transaction, actor.id or "", entries, then)
        except MchError as exc:
            self._audit_rejection(actor, action, entries[0].url if entries else None, exc)
            raise

    def _audit_rejection(
        self, actor: Actor, action: str, target: str | None, exc: MchError
    ) -> None:
        with self.db.transaction() as session:
            record(session, actor, [rejection_row(action, target, exc)])

    def _audited_read(
        self,
        actor: Actor,
        action: str,
        target: str,
        fn: Callable[Concatenate[Session, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """A sender's read, search or history call, audited as staff reads are: one row per
        resource it returned (so that "who read Patient/x" is an ordinary audit search), all
        written in one bulk insert. A refused read (not found, another sender's) is audited
        too. Never the query string: search parameters carry identifiers."""
        try:
            with self.db.reading() as session:
                result = fn(session, *args, **kwargs)
        except MchError as exc:
            self._audit_rejection(actor, action, target, exc)
            raise
        with self.db.transaction() as session:
            record(session, actor, read_rows(action, target, result))
        return result

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

    def read(
        self, actor: Actor, rtype: str, fhir_id: str, version: str | None = None
    ) -> EntryResult:
        action = "vread" if version is not None else "read"
        return self._audited_read(
            actor,
            action,
            f"{rtype}/{fhir_id}",
            self.interactions.read,
            actor.id or "",
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
            actor.id or "",
            rtype,
            fhir_id,
            before,
        )

    def data_quality(
        self,
        actor: Actor,
        zone: ZoneInfo,
        period: str | None,
        kinds: tuple[str, ...],
        cursor: int,
        count: int,
    ) -> dict[str, Any]:
        """The sender's own data-quality view (``GET /fhir/$data-quality``), audited as a
        read of the sender's own report."""
        try:
            with self.db.reading() as session:
                view = sender_view(session, actor.id or "", zone, period, kinds, cursor, count)
        except MchError as exc:
            self._audit_rejection(actor, "data-quality", None, exc)
            raise
        with self.db.transaction() as session:
            record(
                session,
                actor,
                [AuditRecord("fhir.data-quality", "success", None, None, 200, period)],
            )
        return view

    def search(self, actor: Actor, url: str) -> dict[str, Any]:
        result = self._audited_read(
            actor,
            "search",
            url.split("?")[0],
            self.interactions.read_or_search,
            actor.id or "",
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
        """A transaction or batch Bundle POSTed to the base."""
        checked = check_bundle(
            bundle,
            self._bundle_limits(),
            lambda bundle_type, exc: self._audit_rejection(actor, bundle_type, "Bundle", exc),
        )
        if checked.type == "transaction":
            return self._transaction(actor, checked, prefer)
        return self._batch(actor, checked, prefer)

    def _bundle_limits(self) -> BundleLimits:
        return BundleLimits(
            max_entries=self.max_bundle_entries,
            max_gets=self.max_batch_gets,
            max_resource_bytes=self.max_resource_bytes,
            reject_example_urls=self.interactions.reject_example_urls,
            reject_active_content=self.interactions.reject_active_content,
        )

    def _transaction(self, actor: Actor, checked: CheckedBundle, prefer: Prefer) -> dict[str, Any]:
        """All entries or none: one problem anywhere refuses the whole Bundle."""
        if checked.issues:
            invalid = InvalidResource(checked.issues, "The transaction Bundle is not valid")
            self._audit_rejection(actor, "transaction", "Bundle", invalid)
            raise invalid
        for entry in checked.entries:
            if entry.resource is not None:
                entry.resource = dict(entry.resource)  # references get rewritten in place
        results = self._audited_write(actor, checked.entries, "transaction", validated=True)
        return response_bundle("transaction-response", results, prefer)

    def _batch(self, actor: Actor, checked: CheckedBundle, prefer: Prefer) -> dict[str, Any]:
        """Each entry on its own (its own transaction); the answer is bounded in bytes."""
        by_entry = checked.issues_by_entry()
        if BUNDLE_ITSELF in by_entry:
            raise InvalidResource(by_entry[BUNDLE_ITSELF], "The batch Bundle is not valid")
        out = []
        budget = self.max_batch_response_bytes
        size = 0
        for entry in checked.entries:
            assert entry.index is not None
            try:
                if entry.index in by_entry:
                    raise InvalidResource(by_entry[entry.index])
                if entry.method == "GET" and budget is not None and size >= budget:
                    raise response_full(budget)
                answer = response_entry(self._batch_entry(actor, entry), prefer)
                if budget is not None:
                    # The response is bounded: a read that would push it over the limit is
                    # answered 413 in its entry (ask for it again in another batch); the
                    # entries are independent in a batch, so the others still count.
                    grown = size + len(orjson.dumps(answer))
                    if entry.method == "GET" and grown > budget:
                        raise response_full(budget)
                    size = grown
                out.append(answer)
            except MchError as exc:
                out.append(error_entry(exc))
            except Exception as exc:  # noqa: BLE001 - see below
                # A fault of ours in one entry (its own transaction rolled back) must not
                # turn the whole answer into a 500: the entries before it are committed, and
                # the sender has to learn which. Logged by type only (content is personal data).
                log.error("unexpected %s in batch entry %s", type(exc).__name__, entry.index)
                out.append(internal_error_entry(entry.request_expr))
        return {"resourceType": "Bundle", "type": "batch-response", "entry": out}

    def _batch_entry(self, actor: Actor, entry: Entry) -> EntryResult:
        if entry.method == "GET":
            target = entry.url.split("?")[0]
            return self._audited_read(
                actor,
                "search" if target.count("/") == 0 else "read",
                target,
                self.interactions.read_or_search,
                actor.id or "",
                entry.url,
                entry.request_expr,
            )
        return self._audited_write(actor, [entry], "batch", validated=True)[0]


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
