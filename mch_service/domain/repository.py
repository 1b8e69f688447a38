"""SQL of the domain tables: fact rows, patient records, women, pregnancies and what hangs on
them, the assembly queue, the unmapped codes and the pregnancy-id key. Batch-shaped: the
ingest calls these on every write."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Integer, delete, false, func, or_, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mch_service import sqlbulk
from mch_service.database import table_of
from mch_service.domain.extraction.rows import Extracted
from mch_service.domain.fact_tables import FACT_TABLES
from mch_service.domain.models import (
    AssemblyQueue,
    Birth,
    DataQualityIssue,
    Death,
    Delivery,
    PatientRecord,
    Pregnancy,
    PregnancyIdKey,
    UnmappedCode,
    Woman,
)
from mch_service.sqlperiods import Period, period_bucket
from mch_service.store.models import FhirResource
from mch_service.timeutil import to_utc

ASSEMBLED = (Birth, Delivery, Death, Pregnancy)
_PR = PatientRecord.__table__.c  # Core columns for the per-write look-ups


def _columns(table: type) -> list[str]:
    return [c.name for c in table.__table__.columns]  # type: ignore[attr-defined]


# -- stage 1: fact rows ---------------------------------------------------------------------


def subjects_of(session: Session, pks: list[int]) -> set[str]:
    """Who these resources' fact rows and patient records are about ("woman:<key>" for a
    woman key)."""
    out: set[str] = set()
    for table in FACT_TABLES.values():
        out |= set(session.scalars(select(table.subject).where(table.resource_pk.in_(pks))))  # type: ignore[attr-defined]
    for ref, key, mother in session.execute(
        select(PatientRecord.ref, PatientRecord.woman_key, PatientRecord.mother_ref).where(
            PatientRecord.resource_pk.in_(pks)
        )
    ):
        out |= {ref, mother} if mother else {ref}
        if key:
            out.add("woman:" + key)
    out.discard(None)  # type: ignore[arg-type]
    return out


def delete_facts(session: Session, pks: list[int]) -> None:
    """The fact rows, patient records, unmapped codes and resource-level issues of these
    resources."""
    for table in (*FACT_TABLES.values(), PatientRecord, UnmappedCode):
        session.execute(delete(table).where(table.resource_pk.in_(pks)))  # type: ignore[attr-defined]
    session.execute(
        delete(DataQualityIssue).where(
            DataQualityIssue.resource_pk.in_(pks), DataQualityIssue.pregnancy_id.is_(None)
        )
    )


def take_facts(session: Session, pks: list[int]) -> set[str]:
    """``subjects_of`` then ``delete_facts``: who these resources' rows were about, and the
    rows gone. On PostgreSQL one statement (a DELETE ... RETURNING per table, in one WITH)
    instead of two dozen round trips: every update of a record pays for it."""
    if not sqlbulk.is_postgres(session):
        subjects = subjects_of(session, pks)
        delete_facts(session, pks)
        return subjects
    parts, selects = [], []
    for i, table in enumerate(FACT_TABLES.values()):
        name = table.__tablename__  # type: ignore[attr-defined]
        parts.append(f"f{i} AS (DELETE FROM {name} WHERE resource_pk = ANY(%s) RETURNING subject)")
        selects.append(f"SELECT subject, NULL::text, NULL::text FROM f{i}")
    parts += [
        "pr AS (DELETE FROM patient_record WHERE resource_pk = ANY(%s) "
        "RETURNING ref, woman_key, mother_ref)",
        "uc AS (DELETE FROM unmapped_code WHERE resource_pk = ANY(%s) RETURNING 1)",
        "dq AS (DELETE FROM data_quality_issue WHERE resource_pk = ANY(%s) "
        "AND pregnancy_id IS NULL RETURNING 1)",
    ]
    selects.append("SELECT ref, woman_key, mother_ref FROM pr")
    rows = sqlbulk.pg_rows(
        session,
        "WITH " + ", ".join(parts) + " " + " UNION ALL ".join(selects),
        (list(pks),) * (len(FACT_TABLES) + 3),
    )
    out: set[str] = set()
    for subject, key, mother in rows:
        out.add(subject)
        if mother:
            out.add(mother)
        if key:
            out.add("woman:" + key)
    out.discard(None)  # type: ignore[arg-type]
    return out


def insert_extracted(session: Session, extracted: Extracted) -> None:
    sqlbulk.insert_many(
        session,
        [
            *((table_of(table), rows) for table, rows in extracted.rows.items()),
            (table_of(UnmappedCode), extracted.unmapped),
            (table_of(DataQualityIssue), extracted.issues),
        ],
    )


def woman_keys_of(session: Session, subjects: set[str]) -> set[str]:
    """The women these subjects are (a patient record's woman, a newborn's mother's)."""
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


def woman_keys_with_records(session: Session) -> set[str]:
    return set(
        session.scalars(  # type: ignore[arg-type]
            select(PatientRecord.woman_key).where(PatientRecord.woman_key.is_not(None)).distinct()
        )
    )


# -- the assembly queue ---------------------------------------------------------------------


def enqueue_women(session: Session, keys: set[str], now: datetime) -> None:
    sqlbulk.insert_rows(
        session,
        table_of(AssemblyQueue),
        [{"woman_key": k, "enqueued_at": now} for k in sorted(keys)],
    )


def take_queued(session: Session, batch: int) -> list[tuple[int, str]]:
    """The oldest queued (seq, woman key) rows; on PostgreSQL only rows no other transaction
    is working on."""
    stmt = select(AssemblyQueue.seq, AssemblyQueue.woman_key).order_by(AssemblyQueue.seq)
    stmt = stmt.limit(batch)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return [(seq, key) for seq, key in session.execute(stmt)]


def delete_queued(session: Session, seqs: list[int]) -> None:
    for start in range(0, len(seqs), 1000):
        session.execute(
            delete(AssemblyQueue).where(AssemblyQueue.seq.in_(seqs[start : start + 1000]))
        )


def queue_length(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AssemblyQueue)) or 0


# -- stage 2: assembling women --------------------------------------------------------------


# Make the missing women's rows and lock every one, in one pass in the array's order: a woman
# is inserted (her new row locked) or, there already, locked (DO UPDATE ... WHERE false locks
# the row and writes nothing). Inserting the new ones first and then locking all in order
# deadlocked two assembly rounds: one held a new woman it had just inserted while it waited
# for an existing one the other held, the other waited on the first's insert of the same new
# woman (seen in the 30,000 scale run: rounds failed and were done again).
_LOCK_WOMEN_PG = (
    "INSERT INTO woman (key, resident_id_valid, record_count) "
    "SELECT k, false, 0 FROM unnest(%s::varchar[]) WITH ORDINALITY AS u(k, n) ORDER BY n "
    "ON CONFLICT (key) DO UPDATE SET key = excluded.key WHERE false"
)


def lock_women(session: Session, keys: list[str]) -> None:
    """Make the women's rows if missing and lock them, in key order (no deadlocks: every
    round locks its women in this one order, a chunk of them after the other in the same
    order)."""
    if sqlbulk.is_postgres(session):
        # one statement for the batch (an executemany was a statement per woman: 0.4 a
        # Bundle entry of the district feed)
        sqlbulk.pg_execute(session, _LOCK_WOMEN_PG, (sorted(keys),))
        return
    session.execute(
        sqlite.insert(Woman).on_conflict_do_nothing(),
        [
            {
                "key": k,
                "street": None,
                "residence": None,
                "resident_id_valid": False,
                "record_count": 0,
            }
            for k in keys
        ],
    )
    # SQLite: one writer at a time holds the database; there is nothing to lock row by row


def patient_records_where(session: Session, column: Any, values: list[str]) -> list[dict[str, Any]]:
    """Patient records (as dicts) whose ``column`` is one of ``values``."""
    cols = _columns(PatientRecord)
    return [
        dict(zip(cols, r, strict=True))
        for r in session.execute(
            select(*PatientRecord.__table__.columns).where(sqlbulk.one_of(session, column, values))
        )
    ]


def records_of_women(session: Session, keys: list[str]) -> list[dict[str, Any]]:
    records = patient_records_where(session, PatientRecord.woman_key, keys)
    for r in records:
        r["received_at"] = to_utc(r["received_at"])
    return records


def newborn_records(session: Session, mother_refs: list[str]) -> list[dict[str, Any]]:
    if not mother_refs:
        return []
    return patient_records_where(session, PatientRecord.mother_ref, mother_refs)


def facts_of_subjects(
    session: Session, subjects: list[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(fact table name, row as a dict) of every fact row about these subjects."""
    for name, table in FACT_TABLES.items():
        tcols = _columns(table)
        for start in range(0, len(subjects), 500):
            chunk = subjects[start : start + 500]
            for row in session.execute(
                select(*table.__table__.columns).where(  # type: ignore[attr-defined]
                    sqlbulk.one_of(session, table.subject, chunk)  # type: ignore[attr-defined]
                )
            ):
                yield name, dict(zip(tcols, row, strict=True))


def delete_assembled(session: Session, keys: list[str]) -> None:
    """The women's pregnancies and what hangs on them (deliveries, births, deaths, their
    pregnancy-level issues), before they are assembled again."""
    old_ids = list(
        session.scalars(
            select(Pregnancy.id).where(sqlbulk.one_of(session, Pregnancy.woman_key, keys))
        )
    )
    if old_ids:
        for table in (Birth, Delivery):
            session.execute(
                delete(table).where(sqlbulk.one_of(session, table.pregnancy_id, old_ids))
            )
    session.execute(delete(Death).where(sqlbulk.one_of(session, Death.woman_key, keys)))
    if old_ids:
        session.execute(delete(Pregnancy).where(sqlbulk.one_of(session, Pregnancy.id, old_ids)))
        session.execute(
            delete(DataQualityIssue).where(
                sqlbulk.one_of(session, DataQualityIssue.pregnancy_id, old_ids)
            )
        )


def update_women(session: Session, params: list[dict[str, Any]]) -> None:
    """One statement for women whose rows set the same columns."""
    sqlbulk.update_rows(session, table_of(Woman), "key", params)


def insert_assembled(
    session: Session, rows: dict[type, list[dict[str, Any]]], issues: list[dict[str, Any]]
) -> None:
    sqlbulk.insert_many(
        session,
        [
            *((table_of(t), rows[t]) for t in (Pregnancy, Delivery, Birth, Death)),
            (table_of(DataQualityIssue), issues),
        ],
    )


def set_fact_pregnancies(session: Session, table_name: str, changed: list[dict[str, Any]]) -> None:
    """One statement per fact table: each {"id", "pregnancy_id"} given."""
    sqlbulk.update_rows(session, table_of(FACT_TABLES[table_name]), "id", changed)


def delete_all_derived(session: Session) -> None:
    """Every domain row (before a rebuild)."""
    for table in (
        *ASSEMBLED,
        Woman,
        DataQualityIssue,
        UnmappedCode,
        PatientRecord,
        *FACT_TABLES.values(),
    ):
        session.execute(delete(table))


# -- reports --------------------------------------------------------------------------------


def unmapped_code_counts(session: Session, institution_id: str | None) -> list[Any]:
    """Per (sender, type, element, system, code): a display, how many resources, first and
    last seen; most frequent first per sender."""
    u = UnmappedCode
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
    return list(session.execute(stmt))


# -- the pregnancy-id key -------------------------------------------------------------------


def pregnancy_id_key(session: Session) -> str | None:
    return session.scalar(select(PregnancyIdKey.key).where(PregnancyIdKey.id == 1))


def add_pregnancy_id_key(session: Session, key: str) -> None:
    """Store the key unless another process stored one first."""
    try:
        with session.begin_nested():
            session.add(PregnancyIdKey(id=1, key=key))
    except IntegrityError:
        pass  # another process made it first: use theirs


# -- the pregnancy record as staff read it --------------------------------------------------


def patient_records_by_receipt(session: Session, woman_keys: Iterable[str]) -> list[PatientRecord]:
    """The women's patient records, oldest received first."""
    return list(
        session.scalars(
            select(PatientRecord)
            .where(PatientRecord.woman_key.in_(woman_keys))
            .order_by(PatientRecord.received_at)
        )
    )


def woman_records_by_receipt(session: Session, woman_key: str | None) -> list[PatientRecord]:
    return list(
        session.scalars(
            select(PatientRecord)
            .where(PatientRecord.woman_key == woman_key)
            .order_by(PatientRecord.received_at)
        )
    )


def pregnancy(session: Session, pregnancy_id: str) -> Pregnancy | None:
    return session.get(Pregnancy, pregnancy_id)


def facts_of_pregnancy(session: Session, table: type, pregnancy_id: str) -> list[Any]:
    stmt = select(table).where(table.pregnancy_id == pregnancy_id)  # type: ignore[attr-defined,var-annotated]
    return list(session.scalars(stmt))


def delivery_of(session: Session, pregnancy_id: str) -> Delivery | None:
    return session.get(Delivery, pregnancy_id)


def births_of(session: Session, pregnancy_id: str) -> list[Birth]:
    return list(
        session.scalars(select(Birth).where(Birth.pregnancy_id == pregnancy_id).order_by(Birth.seq))
    )


def death_of(session: Session, pregnancy_id: str) -> Death | None:
    return session.scalar(select(Death).where(Death.pregnancy_id == pregnancy_id))


def issues_of(session: Session, pregnancy_id: str) -> list[DataQualityIssue]:
    return list(
        session.scalars(
            select(DataQualityIssue).where(DataQualityIssue.pregnancy_id == pregnancy_id)
        )
    )


def issues_of_resources(session: Session, pks: list[int]) -> list[dict[str, Any]]:
    """The issues stored for these resources (resource-level and pregnancy-level)."""
    out: list[dict[str, Any]] = []
    for start in range(0, len(pks), 500):
        for i in session.scalars(
            select(DataQualityIssue)
            .where(DataQualityIssue.resource_pk.in_(pks[start : start + 500]))
            .order_by(DataQualityIssue.id)
        ):
            out.append(
                {
                    "resource_pk": i.resource_pk,
                    "pregnancy_id": i.pregnancy_id,
                    "institution_id": i.institution_id,
                    "rule": i.rule,
                    "element": i.element,
                    "message": i.message,
                }
            )
    return out


def pregnancy_summaries(session: Session, pregnancy_ids: list[str]) -> list[Any]:
    """(id, street, end date, woman key) of these pregnancies (at most 500 ids at a time)."""
    return list(
        session.execute(
            select(Pregnancy.id, Pregnancy.street, Pregnancy.end_date, Pregnancy.woman_key).where(
                Pregnancy.id.in_(pregnancy_ids)
            )
        )
    )


# -- per-sender counts (data quality) -------------------------------------------------------


def women_records_by_institution(session: Session) -> list[tuple[str, int, int | None, int]]:
    """Per sender, its women's patient records (not newborns'): how many, how many with a
    valid resident ID, how many with a street."""
    pr = PatientRecord
    return [
        (inst, n, valid, streets)
        for inst, n, valid, streets in session.execute(
            select(
                pr.institution_id,
                func.count(),
                func.sum(func.cast(pr.resident_id_valid, Integer)),
                func.count(pr.street),
            )
            .where(pr.mother_ref.is_(None))
            .group_by(pr.institution_id)
        )
    ]


def unmapped_codes_by_institution(session: Session) -> list[tuple[str, int]]:
    """Per sender, how many distinct (system, code) no code table recognises."""
    return [
        (inst, n)
        for inst, n in session.execute(
            select(
                UnmappedCode.institution_id,
                func.count(func.distinct(UnmappedCode.system + "|" + UnmappedCode.code)),
            ).group_by(UnmappedCode.institution_id)
        )
    ]


def issues_by_institution(session: Session) -> list[tuple[str, int]]:
    """Per sender, how many data-quality issues its records raised."""
    return [
        (str(inst), n)
        for inst, n in session.execute(
            select(DataQualityIssue.institution_id, func.count())
            .where(DataQualityIssue.institution_id.is_not(None))
            .group_by(DataQualityIssue.institution_id)
        )
    ]


def queue_depth_and_oldest(session: Session) -> tuple[int, datetime | None]:
    depth, oldest = session.execute(select(func.count(), func.min(AssemblyQueue.enqueued_at))).one()
    return depth, oldest


def sender_issues(
    session: Session,
    institution_id: str,
    pregnancy_level: bool,
    start: datetime | None,
    end: datetime | None,
    after_id: int,
    limit: int,
) -> tuple[int, list[Any]]:
    """One sender's data-quality issues (record-level, or raised when its records were
    assembled into a pregnancy) of records last written in [start, end): how many, and a
    page after ``after_id`` of (id, type, resource id, version, last updated, pregnancy, rule,
    element, message)."""
    i, r = DataQualityIssue, FhirResource
    conditions = _sender_issue_level(institution_id, pregnancy_level)
    if start is not None:
        conditions.append(r.last_updated >= start)
    if end is not None:
        conditions.append(r.last_updated < end)
    joined = select(func.count()).select_from(i).outerjoin(r, r.pk == i.resource_pk)
    total = session.scalar(joined.where(*conditions)) or 0
    rows = session.execute(
        select(
            i.id,
            r.resource_type,
            r.fhir_id,
            r.version_id,
            r.last_updated,
            i.pregnancy_id,
            i.rule,
            i.element,
            i.message,
        )
        .select_from(i)
        .outerjoin(r, r.pk == i.resource_pk)
        .where(*conditions, i.id > after_id)
        .order_by(i.id)
        .limit(limit)
    ).all()
    return int(total), list(rows)


def _sender_issue_level(institution_id: str, pregnancy_level: bool) -> list[Any]:
    i = DataQualityIssue
    return [
        i.institution_id == institution_id,
        i.pregnancy_id.is_not(None) if pregnancy_level else i.pregnancy_id.is_(None),
    ]


def sender_issues_by_period(
    session: Session, institution_id: str, pregnancy_level: bool, periods: Sequence[Period]
) -> dict[str, int]:
    """How many of ``sender_issues`` fall in each period (by the record's last write)."""
    i, r = DataQualityIssue, FhirResource
    label, span = period_bucket(r.last_updated, periods)
    stmt = (
        select(label, func.count())
        .select_from(i)
        .join(r, r.pk == i.resource_pk)
        .where(*_sender_issue_level(institution_id, pregnancy_level), *span)
        .group_by(label)
    )
    return {str(k): int(n) for k, n in session.execute(stmt) if k is not None}


def sender_unmapped_by_period(
    session: Session, institution_id: str, periods: Sequence[Period]
) -> dict[str, int]:
    """How many rows of ``sender_unmapped`` fall in each period (by when they were seen)."""
    u = UnmappedCode
    label, span = period_bucket(u.seen_at, periods)
    stmt = (
        select(label, func.count()).where(u.institution_id == institution_id, *span).group_by(label)
    )
    return {str(k): int(n) for k, n in session.execute(stmt) if k is not None}


def sender_unmapped(
    session: Session,
    institution_id: str,
    start: datetime | None,
    end: datetime | None,
    after_id: int,
    limit: int,
) -> tuple[int, int, list[Any]]:
    """One sender's unrecognised codes seen in [start, end): how many rows, how many distinct
    (system, code), and a page after ``after_id`` of (id, type, resource id, element, system,
    code, display, seen at)."""
    u, r = UnmappedCode, FhirResource
    conditions: list[Any] = [u.institution_id == institution_id]
    if start is not None:
        conditions.append(u.seen_at >= start)
    if end is not None:
        conditions.append(u.seen_at < end)
    total = session.scalar(select(func.count()).select_from(u).where(*conditions)) or 0
    distinct = (
        session.scalar(
            select(func.count()).select_from(
                select(u.system, u.code).where(*conditions).distinct().subquery()
            )
        )
        or 0
    )
    rows = session.execute(
        select(u.id, r.resource_type, r.fhir_id, u.element, u.system, u.code, u.display, u.seen_at)
        .select_from(u)
        .join(r, r.pk == u.resource_pk)
        .where(*conditions, u.id > after_id)
        .order_by(u.id)
        .limit(limit)
    ).all()
    return int(total), int(distinct), list(rows)


def sender_unmapped_codes(
    session: Session,
    institution_id: str,
    start: datetime | None,
    end: datetime | None,
    after: tuple[str, str] | None,
    limit: int,
) -> tuple[int, list[Any]]:
    """One sender's unrecognised codes seen in [start, end), one row a (system, code): how
    many distinct, and a page after ``after`` in (system, code) order of (system, code, how
    many rows, a display, first seen, last seen)."""
    u = UnmappedCode
    conditions: list[Any] = [u.institution_id == institution_id]
    if start is not None:
        conditions.append(u.seen_at >= start)
    if end is not None:
        conditions.append(u.seen_at < end)
    total = (
        session.scalar(
            select(func.count()).select_from(
                select(u.system, u.code).where(*conditions).distinct().subquery()
            )
        )
        or 0
    )
    stmt = select(
        u.system,
        u.code,
        func.count(),
        func.max(u.display),
        func.min(u.seen_at),
        func.max(u.seen_at),
    ).where(*conditions)
    if after is not None:
        stmt = stmt.where(or_(u.system > after[0], (u.system == after[0]) & (u.code > after[1])))
    rows = session.execute(
        stmt.group_by(u.system, u.code).order_by(u.system, u.code).limit(limit)
    ).all()
    return int(total), list(rows)


def issue_kinds_by_institution(session: Session) -> list[tuple[str, bool, int]]:
    """Per sender, how many of its data-quality issues are record-level (False) and
    pregnancy-level (True): the two parts of ``issues_by_institution``."""
    i = DataQualityIssue
    level = i.pregnancy_id.is_not(None)
    return [
        (str(inst), bool(pregnancy), int(n))
        for inst, pregnancy, n in session.execute(
            select(i.institution_id, level, func.count())
            .where(i.institution_id.is_not(None))
            .group_by(i.institution_id, level)
        )
    ]


def patient_records_for_lookup(
    session: Session,
    resident_id_hash: str | None,
    pks: list[int],
    ref: str | None,
    limit: int,
) -> list[PatientRecord]:
    """Patient records by the domain's resident-ID hash, by store key, or by reference."""
    r = PatientRecord
    conditions: list[Any] = []
    if resident_id_hash is not None:
        conditions.append(r.resident_id_hash == resident_id_hash)
    if pks:
        conditions.append(r.resource_pk.in_(pks))
    if ref is not None:
        conditions.append(r.ref == ref)
    if not conditions:
        return []
    return list(session.scalars(select(r).where(or_(*conditions)).limit(limit)))


def pregnancies_by_name(
    session: Session,
    name_hash: str,
    birth_date: date | None,
    institution: str | None,
    jurisdiction: tuple[frozenset[str], frozenset[str]] | None,
    limit: int,
) -> list[Pregnancy]:
    """Pregnancies of the women with a patient record of this name hash (and birth date, and
    sending institution, when given), within a jurisdiction ((streets, institutions); None:
    the whole district), in SQL: a common name's matches outside it must not crowd out hers."""
    r, p = PatientRecord, Pregnancy
    women = select(r.woman_key).where(r.name_hash == name_hash, r.woman_key.is_not(None))
    if birth_date is not None:
        women = women.where(r.birth_date == birth_date)
    if institution is not None:
        women = women.where(r.institution_id == institution)
    stmt = select(p).where(p.woman_key.in_(women))
    if jurisdiction is not None:
        streets, institutions = jurisdiction
        conds: list[Any] = []
        if streets:
            conds.append(p.street.in_(sorted(streets)))
        for inst in sorted(institutions):
            # pregnancy.institutions is a space-separated list of ids
            pattern = (
                "% " + inst.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + " %"
            )
            conds.append((" " + p.institutions + " ").like(pattern, escape="\\"))
        stmt = stmt.where(or_(*conds) if conds else false())
    return list(session.scalars(stmt.order_by(p.end_date.desc(), p.id).limit(limit)))


def pregnancies_of_women(session: Session, keys: list[str], limit: int) -> list[Pregnancy]:
    if not keys:
        return []
    return list(
        session.scalars(
            select(Pregnancy)
            .where(Pregnancy.woman_key.in_(keys))
            .order_by(Pregnancy.end_date.desc(), Pregnancy.id)
            .limit(limit)
        )
    )
