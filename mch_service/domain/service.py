"""Keeping the domain tables consistent with the store.

``apply`` runs in the ingest transaction: stage 1 replaces the fact rows of every changed
resource, stage 2 re-assembles every woman those changes touch (locking her row, so that two
institutions' records for one woman arriving at once are assembled one after the other).
``rebuild`` derives everything again from the stored resources and gives the same rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from mch_service import sqlbulk
from mch_service.database import Database, table_of
from mch_service.domain import ids as pregnancy_ids
from mch_service.domain import models as m
from mch_service.domain.assemble import FACT_TABLES, assemble
from mch_service.domain.extract import Extractor
from mch_service.domain.extraction.rows import Extracted, Source
from mch_service.store.models import FhirResource, FhirResourceVersion
from mch_service.store.service import ResourceStore
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
    }
)
ASSEMBLED = (m.Birth, m.Delivery, m.Death, m.Pregnancy)
_PR = m.PatientRecord.__table__.c  # Core columns for the per-write look-ups


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


def _columns(table: type) -> list[str]:
    return [c.name for c in table.__table__.columns]  # type: ignore[attr-defined]


class DomainService:
    def __init__(self, extractor: Extractor, queued: bool = False) -> None:
        self.extractor = extractor
        # inline: women are re-assembled in the ingest transaction; queued: the transaction
        # only queues them (durably) and process_queue assembles many at once, later.
        self.queued = queued
        # Called in the same transaction after women were re-assembled (e.g. the work lists).
        self.listeners: list[Callable[[Session, set[str]], Any]] = []

    # -- stage 1 + 2 in the ingest transaction ------------------------------------------------

    def watch_code_tables(self, folder: str | None, canonical: str) -> None:
        """Reload the code tables when a file in the site's folder changes (the admin API
        writes there; every process picks the change up within seconds)."""
        self._tables_folder, self._canonical = folder, canonical
        self._tables_stamp = self._stamp()

    def _stamp(self) -> tuple[float, ...]:
        import os

        folder = getattr(self, "_tables_folder", None)
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
        import dataclasses

        stamp = self._stamp()  # a listdir and a few stats: cheap enough for every write
        if stamp == getattr(self, "_tables_stamp", stamp):
            return False
        from fhir_mappings import load_code_tables

        codes = load_code_tables(self._tables_folder, self._canonical)
        self.extractor = dataclasses.replace(self.extractor, codes=codes)
        self._tables_stamp = stamp
        return True

    def apply(self, session: Session, changes: Iterable[Change]) -> list[dict[str, Any]]:
        """Returns the data-quality issues these changes raised (for OperationOutcome
        warnings)."""
        self.reload_codes_if_changed()
        changes = [c for c in changes if c.resource_type in DOMAIN_TYPES]
        if not changes:
            return []
        # A resource at version 1 is new: it has no fact rows yet to look up and remove.
        pks = [c.resource_pk for c in changes if c.version_id > 1]
        touched = self._subjects_of(session, pks) if pks else set()
        if pks:
            self._delete_facts(session, pks)
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
        self._insert(session, extracted)
        for rows in extracted.rows.values():
            for r in rows:
                touched.add(str(r.get("subject") or r.get("ref") or ""))
                if r.get("mother_ref"):
                    touched.add(r["mother_ref"])
                if r.get("woman_key"):
                    touched.add("woman:" + r["woman_key"])
        women = self._women_of(session, {t for t in touched if t})
        issues = list(extracted.issues)
        if self.queued:
            now = utcnow()
            sqlbulk.insert_rows(
                session,
                table_of(m.AssemblyQueue),
                [{"woman_key": k, "enqueued_at": now} for k in sorted(women)],
            )
        else:
            issues += self.assemble_women(session, women)
        return issues

    def process_queue(self, db: Database, batch: int = 1000) -> int:
        """Assemble queued women, a batch at a time, until the queue is empty; returns how
        many were assembled. Several processes may run it: on PostgreSQL each takes rows the
        others are not working on."""
        done = 0
        while True:
            with db.transaction() as session:
                stmt = (
                    select(m.AssemblyQueue.seq, m.AssemblyQueue.woman_key)
                    .order_by(m.AssemblyQueue.seq)
                    .limit(batch)
                )
                if session.get_bind().dialect.name == "postgresql":
                    stmt = stmt.with_for_update(skip_locked=True)
                rows = session.execute(stmt).all()
                if not rows:
                    return done
                keys = {k for _, k in rows}
                self.assemble_women(session, keys)
                # only the rows read: one queued again meanwhile stays for the next round
                seqs = [s for s, _ in rows]
                for start in range(0, len(seqs), 1000):
                    session.execute(
                        delete(m.AssemblyQueue).where(
                            m.AssemblyQueue.seq.in_(seqs[start : start + 1000])
                        )
                    )
                done += len(keys)

    def queue_length(self, db: Database) -> int:
        from sqlalchemy import func

        with db.reading() as session:
            return session.scalar(select(func.count()).select_from(m.AssemblyQueue)) or 0

    def _subjects_of(self, session: Session, pks: list[int]) -> set[str]:
        """Who the old versions were about, so that a correction re-assembles the woman the
        record used to belong to as well as the new one."""
        out: set[str] = set()
        for table in FACT_TABLES.values():
            out |= set(session.scalars(select(table.subject).where(table.resource_pk.in_(pks))))  # type: ignore[attr-defined]
        for ref, key, mother in session.execute(
            select(
                m.PatientRecord.ref, m.PatientRecord.woman_key, m.PatientRecord.mother_ref
            ).where(m.PatientRecord.resource_pk.in_(pks))
        ):
            out |= {ref, mother} if mother else {ref}
            if key:
                out.add("woman:" + key)
        out.discard(None)  # type: ignore[arg-type]
        return out

    def _delete_facts(self, session: Session, pks: list[int]) -> None:
        for table in (*FACT_TABLES.values(), m.PatientRecord, m.UnmappedCode):
            session.execute(delete(table).where(table.resource_pk.in_(pks)))  # type: ignore[attr-defined]
        session.execute(
            delete(m.DataQualityIssue).where(
                m.DataQualityIssue.resource_pk.in_(pks), m.DataQualityIssue.pregnancy_id.is_(None)
            )
        )

    def _insert(self, session: Session, extracted: Extracted) -> None:
        sqlbulk.insert_many(
            session,
            [
                *((table_of(table), rows) for table, rows in extracted.rows.items()),
                (table_of(m.UnmappedCode), extracted.unmapped),
                (table_of(m.DataQualityIssue), extracted.issues),
            ],
        )

    def _women_of(self, session: Session, subjects: set[str]) -> set[str]:
        keys = {s[6:] for s in subjects if s.startswith("woman:")}
        refs = [s for s in subjects if not s.startswith("woman:")]
        for start in range(0, len(refs), 500):
            chunk = refs[start : start + 500]
            rows: Any = (
                sqlbulk.pg_rows(
                    session,
                    "SELECT woman_key, mother_ref FROM patient_record WHERE ref = ANY(%s)",
                    (chunk,),
                )
                if sqlbulk.is_postgres(session)
                else session.execute(
                    select(_PR.woman_key, _PR.mother_ref).where(_PR.ref.in_(chunk))
                ).all()
            )
            keys |= {k for k, _ in rows if k}
            mothers = [mo for _, mo in rows if mo]
            if mothers:
                keys |= {
                    k
                    for k in session.scalars(
                        select(_PR.woman_key).where(sqlbulk.one_of(session, _PR.ref, mothers))
                    )
                    if k
                }
        return keys

    # -- stage 2 -------------------------------------------------------------------------

    def _lock(self, session: Session, keys: list[str]) -> None:
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            stmt = postgresql.insert(m.Woman).on_conflict_do_nothing()
        else:
            stmt = sqlite.insert(m.Woman).on_conflict_do_nothing()  # type: ignore[assignment]
        session.execute(
            stmt,
            [
                {"key": k, "street": None, "resident_id_valid": False, "record_count": 0}
                for k in keys
            ],
        )
        session.execute(
            select(m.Woman.key)
            .where(sqlbulk.one_of(session, m.Woman.key, keys))
            .order_by(m.Woman.key)
            .with_for_update()
        )

    def assemble_women(self, session: Session, keys: set[str]) -> list[dict[str, Any]]:
        issues: list[dict[str, Any]] = []
        ordered = sorted(keys)
        for start in range(0, len(ordered), 200):
            issues += self._assemble_chunk(session, ordered[start : start + 200])
        for listener in self.listeners:
            listener(session, keys)
        return issues

    def _assemble_chunk(self, session: Session, keys: list[str]) -> list[dict[str, Any]]:
        self._lock(session, keys)
        cols = _columns(m.PatientRecord)
        records = [
            dict(zip(cols, r, strict=True))
            for r in session.execute(
                select(*m.PatientRecord.__table__.columns).where(
                    sqlbulk.one_of(session, m.PatientRecord.woman_key, keys)
                )
            )
        ]
        for r in records:
            r["received_at"] = to_utc(r["received_at"])
        refs_of: dict[str, list[str]] = defaultdict(list)
        for r in records:
            refs_of[r["woman_key"]].append(r["ref"])
        all_refs = [ref for refs in refs_of.values() for ref in refs]
        newborns = (
            [
                dict(zip(cols, r, strict=True))
                for r in session.execute(
                    select(*m.PatientRecord.__table__.columns).where(
                        sqlbulk.one_of(session, m.PatientRecord.mother_ref, all_refs)
                    )
                )
            ]
            if all_refs
            else []
        )
        owner = {ref: key for key, refs in refs_of.items() for ref in refs}
        for n in newborns:
            owner[n["ref"]] = owner.get(n["mother_ref"], "")
        facts: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
        loaded_rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        subjects = list(owner)
        for name, table in FACT_TABLES.items():
            tcols = _columns(table)
            for start in range(0, len(subjects), 500):
                chunk = subjects[start : start + 500]
                for row in session.execute(
                    select(*table.__table__.columns).where(  # type: ignore[attr-defined]
                        sqlbulk.one_of(session, table.subject, chunk)  # type: ignore[attr-defined]
                    )
                ):
                    d = dict(zip(tcols, row, strict=True))
                    facts[owner[d["subject"]]][name].append(d)
                    loaded_rows[name].append(d)
        old_ids = list(
            session.scalars(
                select(m.Pregnancy.id).where(sqlbulk.one_of(session, m.Pregnancy.woman_key, keys))
            )
        )
        if old_ids:
            for table in (m.Birth, m.Delivery):
                session.execute(
                    delete(table).where(sqlbulk.one_of(session, table.pregnancy_id, old_ids))
                )
        session.execute(delete(m.Death).where(sqlbulk.one_of(session, m.Death.woman_key, keys)))
        if old_ids:
            session.execute(
                delete(m.Pregnancy).where(sqlbulk.one_of(session, m.Pregnancy.id, old_ids))
            )
            session.execute(
                delete(m.DataQualityIssue).where(
                    sqlbulk.one_of(session, m.DataQualityIssue.pregnancy_id, old_ids)
                )
            )
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
                values = {"street": None, "resident_id_valid": False, "record_count": 0}
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
                rows[m.Pregnancy] += result.pregnancies
                rows[m.Delivery] += result.deliveries
                rows[m.Birth] += result.births
                rows[m.Death] += result.deaths
                issues += result.issues
                for table_name, ids in result.assignments.items():
                    assignments[table_name].update(ids)
            values["changed_at"] = now
            women[frozenset(values)].append({"key": key, **values})
        for params in women.values():
            # one statement per set of columns (in practice one or two), not one per woman
            sqlbulk.update_rows(session, table_of(m.Woman), "key", params)
        sqlbulk.insert_many(
            session,
            [
                *((table_of(t), rows[t]) for t in (m.Pregnancy, m.Delivery, m.Birth, m.Death)),
                (table_of(m.DataQualityIssue), issues),
            ],
        )
        # Only facts whose pregnancy changed are written (most keep theirs).
        for table_name, loaded in loaded_rows.items():
            wanted = assignments.get(table_name, {})
            changed = [
                {"id": r["id"], "pregnancy_id": wanted.get(r["id"])}
                for r in loaded
                if wanted.get(r["id"]) != r["pregnancy_id"]
            ]
            # one statement per fact table, keyed by the fact id
            sqlbulk.update_rows(session, table_of(FACT_TABLES[table_name]), "id", changed)
        return issues

    # -- rebuild -------------------------------------------------------------------------

    def rebuild(self, db: Database, store: ResourceStore, chunk: int = 2000) -> dict[str, int]:
        """Every domain row again from the stored resources (current versions)."""
        with db.transaction() as session:
            for table in (
                *ASSEMBLED,
                m.Woman,
                m.DataQualityIssue,
                m.UnmappedCode,
                m.PatientRecord,
                *FACT_TABLES.values(),
            ):
                session.execute(delete(table))
        counts = {"resources": 0, "women": 0}
        after = 0
        while True:
            with db.transaction() as session:
                rows = session.execute(
                    select(
                        FhirResource.pk,
                        FhirResource.resource_type,
                        FhirResource.fhir_id,
                        FhirResource.institution_id,
                        FhirResource.version_id,
                        FhirResource.last_updated,
                        FhirResourceVersion.content,
                    )
                    .join(
                        FhirResourceVersion,
                        (FhirResourceVersion.resource_pk == FhirResource.pk)
                        & (FhirResourceVersion.version_id == FhirResource.version_id),
                    )
                    .where(
                        FhirResource.pk > after,
                        FhirResource.deleted.is_(False),
                        FhirResource.resource_type.in_(DOMAIN_TYPES),
                    )
                    .order_by(FhirResource.pk)
                    .limit(chunk)
                ).all()
                if not rows:
                    break
                extracted = Extracted()
                for pk, rtype, fid, inst, vid, updated, blob in rows:
                    content = orjson.loads(store.unseal(rtype, fid, vid, blob or b""))
                    one = self.extractor.extract(
                        Source(pk, vid, inst, rtype, fid, to_utc(updated)), content
                    )
                    for table, trows in one.rows.items():
                        extracted.rows.setdefault(table, []).extend(trows)
                    extracted.unmapped.extend(one.unmapped)
                    extracted.issues.extend(one.issues)
                self._insert(session, extracted)
                counts["resources"] += len(rows)
                after = rows[-1][0]
        with db.transaction() as session:
            keys: set[str] = set(
                session.scalars(  # type: ignore[arg-type]
                    select(m.PatientRecord.woman_key)
                    .where(m.PatientRecord.woman_key.is_not(None))
                    .distinct()
                )
            )
        ordered = sorted(keys)
        for start in range(0, len(ordered), 500):
            with db.transaction() as session:
                self.assemble_women(session, set(ordered[start : start + 500]))
        counts["women"] = len(keys)
        return counts


def unmapped_report(session: Session, institution_id: str | None = None) -> list[dict[str, Any]]:
    """Per sender, codes no table recognises: how many resources carry each, first and last
    seen, so that a site knows what to map."""
    from sqlalchemy import func

    u = m.UnmappedCode
    stmt = (
        select(
            u.institution_id,
            u.resource_type,
            u.element,
            u.system,
            u.code,
            func.max(u.display),
            func.count(func.distinct(u.resource_pk)),
            func.min(u.seen_at),
            func.max(u.seen_at),
        )
        .group_by(u.institution_id, u.resource_type, u.element, u.system, u.code)
        .order_by(
            u.institution_id, func.count(func.distinct(u.resource_pk)).desc(), u.system, u.code
        )
    )
    if institution_id:
        stmt = stmt.where(u.institution_id == institution_id)
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
        for r in session.execute(stmt)
    ]
