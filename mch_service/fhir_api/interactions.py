"""FHIR interactions: create, update, delete, read and search, alone or as bundle entries.

A single request is processed as a transaction of one entry, so a PUT and the same PUT inside
a transaction Bundle follow one code path: validated, planned (``planning.py``: targets,
content keys, references, R4 processing order), written by the store, answered. Uniqueness
lives in the database: when another request wins a race for the same identifier or content,
the unique key stops us, we roll the attempt back and plan again (finding the winner's
record), so the same record sent twice is stored once. Reads are ``reads.py``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from mch_service.errors import Conflict, InvalidResource, Issue, MchError
from mch_service.fhir_api.entries import Entry, EntryResult
from mch_service.fhir_api.planning import RequestPlan, plan_request
from mch_service.fhir_api.reads import Reads
from mch_service.fhir_api.validation import validate_resource
from mch_service.store.service import ConcurrentUpdate, ResourceStore, WriteOutcome
from mch_service.timeutil import utcnow

MAX_ATTEMPTS = 6
_STATUS_OF = {"created": 201, "updated": 200, "unchanged": 200, "deleted": 204}


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
        self.store = store
        self.reads = Reads(store, zone, default_count, max_count, base, max_page_bytes)
        self.reject_example_urls = reject_example_urls
        self.reject_active_content = reject_active_content

    @property
    def max_page_bytes(self) -> int | None:
        """The most content bytes on one page of search or history (MCH_MAX_PAGE_BYTES)."""
        return self.reads.max_page_bytes

    @max_page_bytes.setter
    def max_page_bytes(self, value: int | None) -> None:
        self.reads.max_page_bytes = value

    # -- writes --------------------------------------------------------------------------

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
        self,
        transaction: Callable[[], AbstractContextManager[Session]],
        institution_id: str,
        entries: list[Entry],
        then: Callable[[Session, list[EntryResult]], None] | None = None,
    ) -> list[EntryResult]:
        """Run the entries atomically (validated beforehand), each attempt in a transaction of
        its own (``transaction()``), followed in it by ``then`` (the derived records and the
        audit rows); the results of the attempt that committed.

        A unique key that stops a write is a race only if another request wrote the record
        in between: the next attempt then resolves to that record and plans differently. An
        attempt that plans exactly as the one the key stopped will be stopped again (the
        conflict is within this request, or with what is stored), so it is answered as the
        client's error it is, naming the entries, never as a transient conflict. The writes
        are the transaction's first work, so an attempt that fails is rolled back whole
        (rather than to a savepoint: two statements fewer for every request)."""
        stopped: tuple[Any, ...] | None = None
        for _attempt in range(MAX_ATTEMPTS):
            planned: list[tuple[Any, ...]] = []
            try:
                with transaction() as session:
                    try:
                        results = self._execute_once(session, institution_id, entries, planned)
                    except (IntegrityError, ConcurrentUpdate, OperationalError) as exc:
                        raise _Stopped(exc) from exc
                    if then is not None:
                        then(session, results)
                return results
            except _Stopped as stop:
                # A unique key or a version check stopped us (another request wrote the same
                # record first), PostgreSQL broke a deadlock, or the connection was cut before
                # anything committed: resolve again and retry.
                cause = stop.cause
                if isinstance(cause, OperationalError) and not _is_retryable(cause):
                    raise cause from None
                if isinstance(cause, IntegrityError) and planned:
                    if planned[0] == stopped:
                        raise _lasting_conflict(entries, cause) from cause
                    stopped = planned[0]
        raise Conflict("Concurrent changes to the same records kept conflicting; send it again")

    def _execute_once(
        self,
        session: Session,
        institution_id: str,
        entries: list[Entry],
        planned: list[tuple[Any, ...]] | None = None,
    ) -> list[EntryResult]:
        request = plan_request(self.store, session, institution_id, entries)
        if planned is not None:  # what this attempt decided, for ``execute`` to compare
            planned.append(request.signature)
        # the time of the write is taken once planning holds the records' locks, so that a
        # record's versions are in time order
        outcomes = self.store.apply(session, institution_id, request.ops, utcnow())
        return self._results(session, institution_id, request, outcomes)

    def _results(
        self,
        session: Session,
        institution_id: str,
        request: RequestPlan,
        outcomes: list[WriteOutcome],
    ) -> list[EntryResult]:
        """The answer of each entry, in the request's order: what was written, the record an
        entry was found to be (noop, alias), or what a GET entry reads."""
        for plan, outcome in zip(request.op_plans, outcomes, strict=True):
            plan.result = _result_of(outcome)
        for plan in request.writes:
            if plan.alias_of is not None and plan.alias_of.result is not None:
                first = plan.alias_of.result
                plan.result = EntryResult(
                    200,
                    first.resource_type,
                    first.fhir_id,
                    first.version_id,
                    first.last_updated,
                    action="unchanged",
                    pk=first.pk,
                )
        for plan in request.plans:
            if plan.entry.method == "GET":
                plan.result = self.reads.read_or_search(
                    session, institution_id, plan.entry.url, plan.entry.request_expr
                )
        return [p.result for p in request.plans if p.result is not None]

    # -- reads ---------------------------------------------------------------------------

    def read_or_search(self, session: Session, inst: str, url: str, expr: str = "") -> EntryResult:
        return self.reads.read_or_search(session, inst, url, expr)

    def read(
        self, session: Session, inst: str, rtype: str, fhir_id: str, version: str | None = None
    ) -> EntryResult:
        return self.reads.read(session, inst, rtype, fhir_id, version)

    def history(
        self, session: Session, inst: str, rtype: str, fhir_id: str, before: int | None = None
    ) -> dict[str, Any]:
        return self.reads.history(session, inst, rtype, fhir_id, before)


def _result_of(outcome: WriteOutcome) -> EntryResult:
    return EntryResult(
        _STATUS_OF[outcome.status],
        outcome.resource_type,
        outcome.fhir_id,
        outcome.version_id,
        outcome.last_updated,
        outcome.content,
        action=outcome.status,
        pk=outcome.pk,
    )


class _Stopped(Exception):
    """An attempt's writes stopped by the database (its transaction is rolled back)."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _is_retryable(exc: OperationalError) -> bool:
    """PostgreSQL broke a deadlock (40P01) or a serialization failure (40001), or the
    connection was cut before the attempt committed (the pool connects again)."""
    return exc.connection_invalidated or getattr(exc.orig, "sqlstate", None) in (
        "40P01",
        "40001",
    )


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
