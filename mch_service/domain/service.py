"""Keeping the domain tables consistent with the store.

``apply`` runs in the ingest transaction: stage 1 replaces the fact rows of every changed
resource, stage 2 re-assembles every woman those changes touch (locking her row, so that two
institutions' records for one woman arriving at once are assembled one after the other).
``rebuild`` derives everything again from the stored resources and gives the same rows.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from fhir_mappings import CodeTables, load_code_tables
from mch_service.database import Database
from mch_service.domain import pregnancy_ids, repository
from mch_service.domain.assemble import assemble
from mch_service.domain.extract import Extractor
from mch_service.domain.extraction.rows import Extracted, Source
from mch_service.domain.models import Birth, Death, Delivery, Pregnancy
from mch_service.sqlperiods import Period
from mch_service.store.service import ResourceStore, current_versions
from mch_service.timeutil import to_utc, utcnow

DOMAIN_TYPES = frozenset(
    {
        "Patient",
        "EpisodeOfCare",
        "Observation",
        "Encounter",
        "Procedure",
        "Condition",
        "RiskAssessment",
        "MedicationAdministration",
        "MedicationStatement",
        "MedicationRequest",
        "Immunization",
    }
)


@dataclass(frozen=True)
class Change:
    """A resource version the store just wrote (content None: deleted)."""

    resource_pk: int
    version_id: int
    institution_id: str
    resource_type: str
    fhir_id: str
    received_at: datetime
    content: dict[str, Any] | None


class DomainService:
    def __init__(self, extractor: Extractor, queued: bool = False) -> None:
        self.extractor = extractor
        # inline: women are re-assembled in the ingest transaction; queued: the transaction
        # only queues them (durably) and process_queue assembles many at once, later.
        self.queued = queued
        # Called in the same transaction after women were re-assembled (e.g. the work lists).
        self.listeners: list[Callable[[Session, set[str]], Any]] = []
        # The site's code table folder, when watched (watch_code_tables), and its last stamp.
        self._tables_folder: str | None = None
        self._canonical = ""
        self._tables_stamp: tuple[float, ...] = ()

    # -- stage 1 + 2 in the ingest transaction ------------------------------------------------

    def watch_code_tables(self, folder: str | None, canonical: str) -> None:
        """Reload the code tables when a file in the site's folder changes (the admin API
        writes there; every process picks the change up within seconds)."""
        self._tables_folder, self._canonical = folder, canonical
        self._tables_stamp = self._stamp()

    def _stamp(self) -> tuple[float, ...]:
        folder = self._tables_folder
        if not folder or not os.path.isdir(folder):
            return ()
        return tuple(
            sorted(
                os.stat(os.path.join(folder, f)).st_mtime_ns
                for f in os.listdir(folder)
                if f.endswith(".csv")
            )
        ) + (float(len(os.listdir(folder))),)

    def reload_codes_if_changed(self) -> bool:
        stamp = self._stamp()  # a listdir and a few stats: cheap enough for every write
        if stamp == self._tables_stamp:
            return False
        codes = load_code_tables(self._tables_folder, self._canonical)
        self.extractor = replace(self.extractor, codes=codes)
        self._tables_stamp = stamp
        return True

    def current_codes(self) -> CodeTables:
        """The site's code tables as of now (reloaded first if its files changed)."""
        self.reload_codes_if_changed()
        return self.extractor.codes

    def apply(self, session: Session, changes: Iterable[Change]) -> list[dict[str, Any]]:
        """Returns the data-quality issues these changes raised (for OperationOutcome
        warnings)."""
        self.reload_codes_if_changed()
        changes = [c for c in changes if c.resource_type in DOMAIN_TYPES]
        if not changes:
            return []
        # A resource at version 1 is new: it has no fact rows yet to look up and remove.
        pks = [c.resource_pk for c in changes if c.version_id > 1]
        # Who the old versions were about, so that a correction re-assembles the woman the
        # record used to belong to as well as the new one.
        touched = repository.take_facts(session, pks) if pks else set()
        extracted = Extracted()
        for c in changes:
            if c.content is None:
                continue
            one = self.extractor.extract(
                Source(
                    c.resource_pk,
                    c.version_id,
                    c.institution_id,
                    c.resource_type,
                    c.fhir_id,
                    c.received_at,
                ),
                c.content,
            )
            for table, rows in one.rows.items():
                extracted.rows.setdefault(table, []).extend(rows)
            extracted.unmapped.extend(one.unmapped)
            extracted.issues.extend(one.issues)
        repository.insert_extracted(session, extracted)
        for rows in extracted.rows.values():
            for r in rows:
                touched.add(str(r.get("subject") or r.get("ref") or ""))
                if r.get("mother_ref"):
                    touched.add(r["mother_ref"])
                if r.get("woman_key"):
                    touched.add("woman:" + r["woman_key"])
        women = repository.woman_keys_of(session, {t for t in touched if t})
        issues = list(extracted.issues)
        if self.queued:
            repository.enqueue_women(session, women, utcnow())
        else:
            issues += self.assemble_women(session, women)
        return issues

    def stored_issues(self, session: Session, pks: list[int]) -> list[dict[str, Any]]:
        """The data-quality issues stored for these resources (what a write of their current
        version raised), for a record resent unchanged: the sender is told again."""
        return repository.issues_of_resources(session, pks)

    def process_queue(self, db: Database, batch: int = 1000) -> int:
        """Assemble queued women, a batch at a time, until the queue is empty; returns how
        many were assembled. Several processes may run it: on PostgreSQL each takes rows the
        others are not working on."""
        done = 0
        while True:
            with db.transaction() as session:
                rows = repository.take_queued(session, batch)
                if not rows:
                    return done
                keys = {k for _, k in rows}
                self.assemble_women(session, keys)
                # only the rows read: one queued again meanwhile stays for the next round
                repository.delete_queued(session, [s for s, _ in rows])
                done += len(keys)

    def queue_length(self, db: Database) -> int:
        with db.reading() as session:
            return repository.queue_length(session)

    # -- stage 2 -------------------------------------------------------------------------

    def assemble_women(self, session: Session, keys: set[str]) -> list[dict[str, Any]]:
        issues: list[dict[str, Any]] = []
        ordered = sorted(keys)
        for start in range(0, len(ordered), 200):
            issues += self._assemble_chunk(session, ordered[start : start + 200])
        for listener in self.listeners:
            listener(session, keys)
        return issues

    def _assemble_chunk(self, session: Session, keys: list[str]) -> list[dict[str, Any]]:
        repository.lock_women(session, keys)
        records = repository.records_of_women(session, keys)
        refs_of: dict[str, list[str]] = defaultdict(list)
        for r in records:
            refs_of[r["woman_key"]].append(r["ref"])
        all_refs = [ref for refs in refs_of.values() for ref in refs]
        newborns = repository.newborn_records(session, all_refs)
        owner = {ref: key for key, refs in refs_of.items() for ref in refs}
        for n in newborns:
            owner[n["ref"]] = owner.get(n["mother_ref"], "")
        facts: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
        loaded_rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for name, d in repository.facts_of_subjects(session, list(owner)):
            facts[owner[d["subject"]]][name].append(d)
            loaded_rows[name].append(d)
        repository.delete_assembled(session, keys)
        issues: list[dict[str, Any]] = []
        now = utcnow()
        public_id = pregnancy_ids.namer(pregnancy_ids.load_key(session))
        rows: dict[type, list[dict[str, Any]]] = defaultdict(list)
        assignments: dict[str, dict[int, str]] = defaultdict(dict)  # table -> fact id -> pregnancy
        records_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in records:
            records_of[r["woman_key"]].append(r)
        women: dict[frozenset[str], list[dict[str, Any]]] = defaultdict(list)
        for key in keys:
            mine = records_of.get(key)
            values: dict[str, Any]
            if not mine:
                # kept (with no records) so that jobs see her change and drop her numbers
                values = {
                    "street": None,
                    "residence": None,
                    "resident_id_valid": False,
                    "record_count": 0,
                }
            else:
                refs = set(refs_of[key])
                result = assemble(
                    key,
                    mine,
                    [n for n in newborns if n["mother_ref"] in refs],
                    facts[key],
                    public_id,
                )
                values = {k: v for k, v in result.woman.items() if k != "key"}
                rows[Pregnancy] += result.pregnancies
                rows[Delivery] += result.deliveries
                rows[Birth] += result.births
                rows[Death] += result.deaths
                issues += result.issues
                for table_name, ids in result.assignments.items():
                    assignments[table_name].update(ids)
            values["changed_at"] = now
            women[frozenset(values)].append({"key": key, **values})
        for params in women.values():
            # one statement per set of columns (in practice one or two), not one per woman
            repository.update_women(session, params)
        repository.insert_assembled(session, rows, issues)
        # Only facts whose pregnancy changed are written (most keep theirs).
        for table_name, loaded in loaded_rows.items():
            wanted = assignments.get(table_name, {})
            changed = [
                {"id": r["id"], "pregnancy_id": wanted.get(r["id"])}
                for r in loaded
                if wanted.get(r["id"]) != r["pregnancy_id"]
            ]
            repository.set_fact_pregnancies(session, table_name, changed)
        return issues

    # -- rebuild -------------------------------------------------------------------------

    def rebuild(self, db: Database, store: ResourceStore, chunk: int = 2000) -> dict[str, int]:
        """Every domain row again from the stored resources (current versions)."""
        with db.transaction() as session:
            repository.delete_all_derived(session)
        counts = {"resources": 0, "women": 0}
        after = 0
        while True:
            with db.transaction() as session:
                versions = current_versions(session, store, DOMAIN_TYPES, after, chunk)
                if not versions:
                    break
                extracted = Extracted()
                for v in versions:
                    one = self.extractor.extract(
                        Source(
                            v.pk,
                            v.version_id,
                            v.institution_id,
                            v.resource_type,
                            v.fhir_id,
                            v.last_updated,
                        ),
                        v.content,
                    )
                    for table, trows in one.rows.items():
                        extracted.rows.setdefault(table, []).extend(trows)
                    extracted.unmapped.extend(one.unmapped)
                    extracted.issues.extend(one.issues)
                repository.insert_extracted(session, extracted)
                counts["resources"] += len(versions)
                after = versions[-1].pk
        with db.transaction() as session:
            keys = repository.woman_keys_with_records(session)
        ordered = sorted(keys)
        for start in range(0, len(ordered), 500):
            with db.transaction() as session:
                self.assemble_women(session, set(ordered[start : start + 500]))
        counts["women"] = len(keys)
        return counts


def unmapped_report(session: Session, institution_id: str | None = None) -> list[dict[str, Any]]:
    """Per sender, codes no table recognises: how many resources carry each, first and last
    seen, so that a site knows what to map."""
    return [
        {
            "institution": r[0],
            "resource_type": r[1],
            "element": r[2],
            "system": r[3],
            "code": r[4],
            "display": r[5],
            "count": r[6],
            "first_seen": to_utc(r[7]).isoformat(),
            "last_seen": to_utc(r[8]).isoformat(),
        }
        for r in repository.unmapped_code_counts(session, institution_id)
    ]


# -- per-sender counts other packages read (data quality) --------------------------------------


def women_records_by_institution(session: Session) -> list[tuple[str, int, int | None, int]]:
    """Per sender: (institution, women's patient records, with a valid resident ID, with a
    street code)."""
    return repository.women_records_by_institution(session)


def unmapped_codes_by_institution(session: Session) -> list[tuple[str, int]]:
    """Per sender: (institution, distinct codes no code table recognises)."""
    return repository.unmapped_codes_by_institution(session)


def issues_by_institution(session: Session) -> list[tuple[str, int]]:
    """Per sender: (institution, data-quality issues raised by its records)."""
    return repository.issues_by_institution(session)


def assembly_queue_state(session: Session) -> tuple[int, datetime | None]:
    """(women waiting in the assembly queue, when the oldest was queued: None if none), for
    health checks and metrics."""
    depth, oldest = repository.queue_depth_and_oldest(session)
    return depth, to_utc(oldest) if oldest is not None else None


def sender_issues(
    session: Session,
    institution_id: str,
    pregnancy_level: bool,
    start: datetime | None,
    end: datetime | None,
    after_id: int,
    limit: int,
) -> tuple[int, list[dict[str, Any]]]:
    """One sender's data-quality issues, record-level or pregnancy-level (see the
    repository): the count and a page of rows."""
    total, rows = repository.sender_issues(
        session, institution_id, pregnancy_level, start, end, after_id, limit
    )
    return total, [
        {
            "id": row[0],
            "resource_type": row[1],
            "resource_id": row[2],
            "version": row[3],
            "last_updated": to_utc(row[4]).isoformat() if row[4] is not None else None,
            "pregnancy_id": row[5],
            "rule": row[6],
            "element": row[7],
            "message": row[8],
        }
        for row in rows
    ]


def sender_issues_by_period(
    session: Session, institution_id: str, pregnancy_level: bool, periods: Sequence[Period]
) -> dict[str, int]:
    """How many of one sender's issues (as ``sender_issues``) fall in each period, by label."""
    return repository.sender_issues_by_period(session, institution_id, pregnancy_level, periods)


def sender_unmapped_by_period(
    session: Session, institution_id: str, periods: Sequence[Period]
) -> dict[str, int]:
    """How many of one sender's unmapped-code rows fall in each period, by label."""
    return repository.sender_unmapped_by_period(session, institution_id, periods)


def sender_unmapped_codes(
    session: Session,
    institution_id: str,
    start: datetime | None,
    end: datetime | None,
    after: tuple[str, str] | None,
    limit: int,
) -> tuple[int, list[dict[str, Any]]]:
    """One sender's unrecognised codes, one row a (system, code) with how often it was seen:
    distinct codes and a page after ``after`` (system, code)."""
    total, rows = repository.sender_unmapped_codes(
        session, institution_id, start, end, after, limit
    )
    return total, [
        {
            "system": row[0],
            "code": row[1],
            "count": int(row[2]),
            "display": row[3],
            "first_seen": to_utc(row[4]).isoformat(),
            "last_seen": to_utc(row[5]).isoformat(),
        }
        for row in rows
    ]


def issue_kinds_by_institution(session: Session) -> dict[str, dict[str, int]]:
    """Per sender, its data-quality issues split as its own view lists them: ``warnings``
    (record-level) and ``flags`` (raised when its records were assembled)."""
    out: dict[str, dict[str, int]] = {}
    for inst, pregnancy, n in repository.issue_kinds_by_institution(session):
        out.setdefault(inst, {"warnings": 0, "flags": 0})["flags" if pregnancy else "warnings"] = n
    return out


def sender_unmapped(
    session: Session,
    institution_id: str,
    start: datetime | None,
    end: datetime | None,
    after_id: int,
    limit: int,
) -> tuple[int, int, list[dict[str, Any]]]:
    """One sender's unrecognised codes at record level: rows, distinct codes, a page."""
    total, distinct, rows = repository.sender_unmapped(
        session, institution_id, start, end, after_id, limit
    )
    return (
        total,
        distinct,
        [
            {
                "id": row[0],
                "resource_type": row[1],
                "resource_id": row[2],
                "element": row[3],
                "system": row[4],
                "code": row[5],
                "display": row[6],
                "seen_at": to_utc(row[7]).isoformat(),
            }
            for row in rows
        ],
    )
