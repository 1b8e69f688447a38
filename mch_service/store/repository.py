"""SQL of the resource store. Batch-shaped: a bundle of 25 resources costs a handful of
round trips, not 25 times a handful."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, delete, func, insert, not_, or_, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from mch_service import sqlbulk
from mch_service.database import table_of
from mch_service.sqlperiods import Period, period_bucket
from mch_service.store.models import (
    FhirIdentifier,
    FhirReference,
    FhirResource,
    FhirResourceVersion,
)
from mch_service.store.sqlrefs import id_sql, ref_id, ref_type, type_sql
from mch_service.timeutil import to_utc


@dataclass(frozen=True)
class CurrentRow:
    pk: int
    resource_type: str
    fhir_id: str
    institution_id: str
    version_id: int
    last_updated: datetime
    deleted: bool
    content_hash: str | None


# Core columns, not the ORM attributes: these look-ups run on every write, and a Core select
# skips the ORM's per-statement compile and result machinery.
_R = table_of(FhirResource).c
_I = table_of(FhirIdentifier).c
_V = table_of(FhirResourceVersion).c

_CURRENT_COLS = (
    _R.pk,
    _R.resource_type,
    _R.fhir_id,
    _R.institution_id,
    _R.version_id,
    _R.last_updated,
    _R.deleted,
    _R.content_hash,
)


_CURRENT_SQL = ", ".join(c.name for c in _CURRENT_COLS)


def _row(r: Any) -> CurrentRow:
    return CurrentRow(r[0], r[1], r[2], r[3], r[4], to_utc(r[5]), r[6], r[7])


def current_by_ids(
    session: Session,
    institution_id: str,
    keys: Sequence[tuple[str, str]],
    lock: bool = False,
) -> dict[tuple[str, str], CurrentRow]:
    """One sender's resources by (type, id): ids are scoped per sender, so another sender's
    record with the same id is never found here. ``lock`` takes row locks (PostgreSQL;
    SQLite's write transaction already excludes other writers), so writers of one record
    queue instead of failing each other's version check."""
    if not keys:
        return {}
    wanted = set(keys)
    ids, types = sorted({k[1] for k in wanted}), sorted({k[0] for k in wanted})
    # ids and types are matched separately, then paired here: a lock on a row with a wanted id
    # but another type is harmless (ids are server-assigned UUIDs or the sender's own)
    if sqlbulk.is_postgres(session):
        rows: Any = sqlbulk.pg_rows(
            session,
            f"SELECT {_CURRENT_SQL} FROM fhir_resource WHERE institution_id = %s "
            f"AND fhir_id = ANY(%s) AND resource_type = ANY(%s) "
            f"ORDER BY pk{' FOR UPDATE' if lock else ''}",
            (institution_id, ids, types),
        )
        return {(r[1], r[2]): _row(r) for r in rows if (r[1], r[2]) in wanted}
    stmt = (
        select(*_CURRENT_COLS)
        .where(
            _R.institution_id == institution_id,
            _R.fhir_id.in_(ids),
            _R.resource_type.in_(types),
        )
        .order_by(_R.pk)
    )
    rows = session.execute(stmt.with_for_update() if lock else stmt)
    return {(r[1], r[2]): _row(r) for r in rows if (r[1], r[2]) in wanted}


def current_by_pks(
    session: Session, pks: Iterable[int], lock: bool = False
) -> dict[int, CurrentRow]:
    pks = sorted(pks)
    if not pks:
        return {}
    if sqlbulk.is_postgres(session):
        rows: Any = sqlbulk.pg_rows(
            session,
            f"SELECT {_CURRENT_SQL} FROM fhir_resource WHERE pk = ANY(%s) "
            f"ORDER BY pk{' FOR UPDATE' if lock else ''}",
            (pks,),
        )
        return {r[0]: _row(r) for r in rows}
    stmt = select(*_CURRENT_COLS).where(_R.pk.in_(pks)).order_by(_R.pk)
    rows = session.execute(stmt.with_for_update() if lock else stmt)
    return {r[0]: _row(r) for r in rows}


def _pks_by_pairs(
    session: Session,
    key: Any,
    pk: Any,
    institution_id: str,
    pairs: Sequence[tuple[str, str]],
    extra: str = "",
) -> dict[tuple[str, str], set[int]]:
    """(resource_type, ``key`` value) -> the ``pk``s among one sender's rows of ``key``'s
    table; ``extra`` is a further SQL condition on that table."""
    if not pairs:
        return {}
    wanted = set(pairs)
    types, values = sorted({k[0] for k in wanted}), sorted({k[1] for k in wanted})
    cols = key.table.c
    if sqlbulk.is_postgres(session):
        rows: Any = sqlbulk.pg_rows(
            session,
            f"SELECT resource_type, {key.name}, {pk.name} FROM {key.table.name} "
            f"WHERE institution_id = %s AND resource_type = ANY(%s) AND {key.name} = ANY(%s)"
            + (f" AND {extra}" if extra else ""),
            (institution_id, types, values),
        )
    else:
        stmt = select(cols.resource_type, key, pk).where(
            cols.institution_id == institution_id,
            cols.resource_type.in_(types),
            key.in_(values),
        )
        rows = session.execute(stmt.where(text(extra)) if extra else stmt)
    out: dict[tuple[str, str], set[int]] = {}
    for r in rows:
        if (r[0], r[1]) in wanted:
            out.setdefault((r[0], r[1]), set()).add(r[2])
    return out


def pks_by_tokens(
    session: Session,
    institution_id: str,
    keys: Sequence[tuple[str, str]],
    keys_only: bool = False,
) -> dict[tuple[str, str], set[int]]:
    """(resource_type, token_hash) -> live resource pks of one sender carrying it. An
    identifier that is not a business key may be on several records; ``keys_only`` looks at
    business keys only (at most one record each)."""
    return _pks_by_pairs(
        session, _I.token_hash, _I.resource_pk, institution_id, keys, "is_key" if keys_only else ""
    )


def pks_by_values(
    session: Session, institution_id: str, resource_type: str, value_hashes: list[str]
) -> set[int]:
    """Live resources of one sender whose identifier has this value, in any system."""
    rows = session.execute(
        select(_I.resource_pk).where(
            _I.institution_id == institution_id,
            _I.resource_type == resource_type,
            sqlbulk.one_of(session, _I.value_hash, value_hashes),
        )
    )
    return {r[0] for r in rows}


def pks_by_create_keys(
    session: Session, institution_id: str, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """(resource_type, create_key) -> resource pk, for one sender (the key is unique)."""
    found = _pks_by_pairs(session, _R.create_key, _R.pk, institution_id, keys)
    return {k: min(v) for k, v in found.items()}


def insert_resources(
    session: Session, rows: list[dict[str, Any]]
) -> tuple[list[int], list[dict[str, Any]]]:
    """Give new current rows their primary keys, in the order given. On PostgreSQL the keys are
    reserved from the sequence and the rows come back, keys added, to be written together with
    their versions and index rows by ``write_rows`` (one statement); elsewhere they are
    inserted here and nothing comes back."""
    if not rows:
        return [], []
    table = table_of(FhirResource)
    pks = sqlbulk.reserve_pks(session, table, len(rows))
    if pks:
        return pks, [{**r, "pk": pk} for r, pk in zip(rows, pks, strict=True)]
    result = session.execute(
        insert(table).returning(table.c.pk, sort_by_parameter_order=True),
        rows,
    )
    return [r[0] for r in result], []


def update_resources(session: Session, rows: list[dict[str, Any]]) -> None:
    """Move resources to a new version. Each row names its ``pk`` and the ``expected_version``
    it was read at; a concurrent writer that got there first makes this raise, so the caller
    retries with fresh state rather than overwrite silently."""
    postgres = sqlbulk.is_postgres(session)
    for row in rows:
        values = {k: v for k, v in row.items() if k not in ("pk", "expected_version")}
        if postgres:
            # the driver's statement (one text per set of columns, prepared once): this runs
            # for every updated resource of every Bundle
            sets = ", ".join(f"{c} = %s" for c in values)
            changed = sqlbulk.pg_execute(
                session,
                f"UPDATE fhir_resource SET {sets} WHERE pk = %s AND version_id = %s",
                (*values.values(), row["pk"], row["expected_version"]),
            )
            if changed != 1:
                raise ConcurrentUpdate(row["pk"])
            continue
        result = session.execute(
            update(FhirResource)
            .where(FhirResource.pk == row["pk"], FhirResource.version_id == row["expected_version"])
            .values(**values)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConcurrentUpdate(row["pk"])


class ConcurrentUpdate(Exception):
    """Another transaction changed the resource between our read and our write."""


def version_hashes(session: Session, pks: Sequence[int]) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    if not pks:
        return out
    rows = session.execute(
        select(_V.resource_pk, _V.content_hash).where(
            sqlbulk.one_of(session, _V.resource_pk, list(pks)),
            _V.content_hash.is_not(None),
        )
    )
    for pk, h in rows:
        if h is not None:
            out.setdefault(pk, set()).add(h)
    return out


def write_rows(
    session: Session,
    resources: list[dict[str, Any]],
    versions: list[dict[str, Any]],
    replaced: Sequence[int],
    identifiers: list[dict[str, Any]],
    references: list[dict[str, Any]],
) -> None:
    """The rest of a write: new current rows not yet written (``insert_resources``), the new
    versions, and the search index of the resources written (the index rows of ``replaced``
    resources are deleted first). The inserts are one statement on PostgreSQL."""
    if replaced and sqlbulk.is_postgres(session):
        sqlbulk.pg_execute(
            session,
            "WITH i AS (DELETE FROM fhir_identifier WHERE resource_pk = ANY(%s)) "
            "DELETE FROM fhir_reference WHERE resource_pk = ANY(%s)",
            (list(replaced), list(replaced)),
        )
    elif replaced:
        session.execute(
            delete(FhirIdentifier).where(FhirIdentifier.resource_pk.in_(list(replaced)))
        )
        session.execute(delete(FhirReference).where(FhirReference.resource_pk.in_(list(replaced))))
    sqlbulk.insert_many(
        session,
        [
            (table_of(FhirResource), resources),
            (table_of(FhirResourceVersion), versions),
            (table_of(FhirIdentifier), identifiers),
            (table_of(FhirReference), references),
        ],
    )


def version_content(
    session: Session, resource_pk: int, version_id: int
) -> tuple[bytes | None, str, datetime] | None:
    row = session.execute(
        select(
            FhirResourceVersion.content,
            FhirResourceVersion.operation,
            FhirResourceVersion.recorded_at,
        ).where(
            FhirResourceVersion.resource_pk == resource_pk,
            FhirResourceVersion.version_id == version_id,
        )
    ).first()
    return (row[0], row[1], to_utc(row[2])) if row else None


def versions(session: Session, resource_pk: int) -> list[tuple[int, bytes | None, str, datetime]]:
    rows = session.execute(
        select(
            FhirResourceVersion.version_id,
            FhirResourceVersion.content,
            FhirResourceVersion.operation,
            FhirResourceVersion.recorded_at,
        )
        .where(FhirResourceVersion.resource_pk == resource_pk)
        .order_by(FhirResourceVersion.version_id.desc())
    )
    return [(r[0], r[1], r[2], to_utc(r[3])) for r in rows]


@dataclass
class DateFilter:
    """One date search parameter, parsed: which dates of a resource (``clinical``: its clinical
    period; ``last_updated``), the FHIR prefix, and the parameter's range [lo, hi). ``point``:
    the resource's date is a point that matches when it lies within the range (``_lastUpdated``
    with eq/ne)."""

    element: Literal["clinical", "last_updated"]
    prefix: str
    lo: datetime
    hi: datetime
    point: bool = False


def _date_condition(f: DateFilter) -> ColumnElement[bool]:
    if f.element == "clinical":
        column_lo, column_hi = FhirResource.date_start, FhirResource.date_end
    else:
        column_lo = column_hi = FhirResource.last_updated
    lo, hi = f.lo, f.hi
    if f.point:
        within = (column_lo >= lo) & (column_lo < hi)
        return not_(within) if f.prefix == "ne" else within
    if f.prefix == "ne":
        return not_((column_lo >= lo) & (column_hi <= hi))
    # Ranges are [lo, hi): a value matches by how its range relates to the parameter's.
    conditions: dict[str, ColumnElement[bool]] = {
        "eq": (column_lo >= lo) & (column_hi <= hi),
        "gt": column_hi > hi,
        "lt": column_lo < lo,
        "ge": column_hi > lo,
        "le": column_lo < hi,
        "sa": column_lo >= hi,
        "eb": column_hi <= lo,
    }
    return conditions[f.prefix]


@dataclass
class SearchQuery:
    institution_id: str
    resource_type: str
    ids: list[str] | None = None
    token_hashes: list[str] | None = None
    value_hashes: list[str] | None = None
    references: list[tuple[tuple[str, ...], list[str]]] | None = None  # (names, targets)
    date_filters: list[DateFilter] | None = None
    after_pk: int | None = None
    limit: int = 50


def _search_conditions(q: SearchQuery) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [
        FhirResource.institution_id == q.institution_id,
        FhirResource.resource_type == q.resource_type,
        FhirResource.deleted.is_(False),
    ]
    if q.ids is not None:
        conds.append(FhirResource.fhir_id.in_(q.ids))
    ident_or = []
    if q.token_hashes:
        ident_or.append(FhirIdentifier.token_hash.in_(q.token_hashes))
    if q.value_hashes:
        ident_or.append(FhirIdentifier.value_hash.in_(q.value_hashes))
    if q.token_hashes is not None or q.value_hashes is not None:
        if not ident_or:
            conds.append(FhirResource.pk.is_(None))
        else:
            conds.append(
                FhirResource.pk.in_(
                    select(FhirIdentifier.resource_pk).where(
                        FhirIdentifier.institution_id == q.institution_id,
                        FhirIdentifier.resource_type == q.resource_type,
                        or_(*ident_or),
                    )
                )
            )
    for names, targets in q.references or ():
        conds.append(
            FhirResource.pk.in_(
                select(FhirReference.resource_pk).where(
                    FhirReference.name.in_(names), FhirReference.target.in_(targets)
                )
            )
        )
    conds.extend(_date_condition(f) for f in q.date_filters or ())
    return conds


def search(session: Session, q: SearchQuery) -> list[tuple[CurrentRow, bytes | None]]:
    conds = _search_conditions(q)
    if q.after_pk is not None:
        conds.append(FhirResource.pk > q.after_pk)
    stmt = (
        select(*_CURRENT_COLS, FhirResourceVersion.content)
        .join(
            FhirResourceVersion,
            and_(
                FhirResourceVersion.resource_pk == FhirResource.pk,
                FhirResourceVersion.version_id == FhirResource.version_id,
            ),
        )
        .where(*conds)
        .order_by(FhirResource.pk)
        .limit(q.limit)
    )
    return [(_row(r), r[8]) for r in session.execute(stmt)]


def count(session: Session, q: SearchQuery) -> int:
    return (
        session.scalar(select(func.count()).select_from(FhirResource).where(*_search_conditions(q)))
        or 0
    )


# -- what other packages read of the store (through store.service) ----------------------------


def current_versions_after(
    session: Session,
    resource_types: Iterable[str],
    after_pk: int,
    limit: int,
    updated_after: datetime | None = None,
    updated_until: datetime | None = None,
) -> list[Any]:
    """Live resources of these types with a key above ``after_pk``, in key order, each with
    its current sealed content: (pk, type, id, institution, version, last_updated, blob).
    ``updated_after`` / ``updated_until``: only those whose current version was stored after /
    at or before these instants (the bulk export's _since and transactionTime)."""
    window = []
    if updated_after is not None:
        window.append(FhirResource.last_updated > updated_after)
    if updated_until is not None:
        window.append(FhirResource.last_updated <= updated_until)
    return session.execute(  # type: ignore[return-value]
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
            FhirResource.pk > after_pk,
            FhirResource.deleted.is_(False),
            FhirResource.resource_type.in_(resource_types),
            *window,
        )
        .order_by(FhirResource.pk)
        .limit(limit)
    ).all()


def type_and_ids(session: Session, pks: Iterable[int]) -> list[tuple[int, str, str]]:
    return [
        (pk, t, i)
        for pk, t, i in session.execute(
            select(FhirResource.pk, FhirResource.resource_type, FhirResource.fhir_id).where(
                FhirResource.pk.in_(pks)
            )
        )
    ]


def first_recorded(session: Session, pks: Sequence[int]) -> list[tuple[int, datetime]]:
    """(resource key, when version 1 was recorded)."""
    return [
        (pk, at)
        for pk, at in session.execute(
            select(FhirResourceVersion.resource_pk, FhirResourceVersion.recorded_at).where(
                FhirResourceVersion.resource_pk.in_(pks), FhirResourceVersion.version_id == 1
            )
        )
    ]


def live_counts_by_institution(session: Session) -> list[tuple[str, int]]:
    return [
        (inst, n)
        for inst, n in session.execute(
            select(FhirResource.institution_id, func.count())
            .where(FhirResource.deleted.is_(False))
            .group_by(FhirResource.institution_id)
        )
    ]


def live_dated(session: Session) -> list[tuple[str, datetime | None, datetime]]:
    """(institution, clinical start, last updated) of every live resource with a date."""
    return [
        (inst, start, updated)
        for inst, start, updated in session.execute(
            select(
                FhirResource.institution_id, FhirResource.date_start, FhirResource.last_updated
            ).where(FhirResource.deleted.is_(False), FhirResource.date_start.is_not(None))
        )
    ]


def newest_sealed_version(bind: Session | Connection) -> tuple[str, str, int, bytes] | None:
    """(type, id, version, sealed content) of the version stored last, if any."""
    row: Any = bind.execute(
        select(
            FhirResource.resource_type,
            FhirResource.fhir_id,
            FhirResourceVersion.version_id,
            FhirResourceVersion.content,
        )
        .join(FhirResource, FhirResource.pk == FhirResourceVersion.resource_pk)
        .where(FhirResourceVersion.content.is_not(None))
        .order_by(FhirResourceVersion.pk.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return row.resource_type, row.fhir_id, row.version_id, bytes(row.content)


def unresolved_of(
    session: Session, institution_id: str, pks: Sequence[int]
) -> list[tuple[int, str, str]]:
    """(resource key, element, 'Type/id') of the indexed references of these resources that
    name no live record of this sender's, in one statement (the write path asks this of
    every request it stores)."""
    if not pks:
        return []
    if sqlbulk.is_postgres(session):
        # the statement below as the driver's fixed text (prepared once): every write asks it
        rows: Any = sqlbulk.pg_rows(session, _UNRESOLVED_PG, (list(pks), institution_id))
        return [(pk, name, target) for pk, name, target in rows]
    ref = table_of(FhirReference)
    tgt = table_of(FhirResource)
    live = (
        select(tgt.c.pk)
        .where(
            tgt.c.institution_id == institution_id,
            tgt.c.resource_type == ref_type(ref.c.target),
            tgt.c.fhir_id == ref_id(ref.c.target),
            tgt.c.deleted.is_(False),
        )
        .exists()
    )
    stmt = select(ref.c.resource_pk, ref.c.name, ref.c.target).where(
        ref.c.resource_pk.in_(list(pks)), ~live
    )
    return [(pk, name, target) for pk, name, target in session.execute(stmt)]


# ``unresolved_of`` on PostgreSQL, the target split as ``ref_type`` / ``ref_id`` split it
_UNRESOLVED_PG = (
    "SELECT r.resource_pk, r.name, r.target FROM fhir_reference r "
    "WHERE r.resource_pk = ANY(%s) AND NOT EXISTS (SELECT 1 FROM fhir_resource t "
    f"WHERE t.institution_id = %s AND t.resource_type = {type_sql('r.target')} "
    f"AND t.fhir_id = {id_sql('r.target')} AND t.deleted IS false)"
)


def _dangling(institution_id: str) -> tuple[Any, Any, list[ColumnElement[bool]]]:
    """The sender's live resources joined to their references (``src``, ``ref``) and the
    conditions keeping the references that name no live record of the sender's."""
    src = table_of(FhirResource).alias("src")
    tgt = table_of(FhirResource).alias("tgt")
    ref = table_of(FhirReference).alias("ref")
    exists = (
        select(tgt.c.pk)
        .where(
            tgt.c.institution_id == src.c.institution_id,
            # "Type/id" split, not type || '/' || id built for every record: the index holds
            tgt.c.resource_type == ref_type(ref.c.target),
            tgt.c.fhir_id == ref_id(ref.c.target),
            tgt.c.deleted.is_(False),
        )
        .exists()
    )
    conditions: list[ColumnElement[bool]] = [
        src.c.institution_id == institution_id,
        src.c.deleted.is_(False),
        ~exists,
    ]
    return src, ref, conditions


def dangling_references_by_period(
    session: Session, institution_id: str, periods: Sequence[Period]
) -> dict[str, int]:
    """How many of the unresolved references (``_dangling``) fall in each period (by the
    last write)."""
    src, ref, conditions = _dangling(institution_id)
    label, span = period_bucket(src.c.last_updated, periods)
    stmt = (
        select(label, func.count())
        .select_from(src.join(ref, ref.c.resource_pk == src.c.pk))
        .where(*conditions, *span)
        .group_by(label)
    )
    return {str(k): int(n) for k, n in session.execute(stmt) if k is not None}


def unresolved_reference_page(
    session: Session,
    institution_id: str,
    start: datetime | None,
    end: datetime | None,
    after_ref: int,
    limit: int,
) -> tuple[int, list[tuple[int, str, str, str, str, datetime]]]:
    """The sender's unresolved references (``_dangling``), keyed by the reference (one row
    each, even for a resource with several): how many, and a page of (reference key, type, id,
    element, target, last updated) after ``after_ref``."""
    src, ref, conditions = _dangling(institution_id)
    if start is not None:
        conditions.append(src.c.last_updated >= start)
    if end is not None:
        conditions.append(src.c.last_updated < end)
    joined = src.join(ref, ref.c.resource_pk == src.c.pk)
    total = session.scalar(select(func.count()).select_from(joined).where(*conditions)) or 0
    stmt = (
        select(
            ref.c.pk,
            src.c.resource_type,
            src.c.fhir_id,
            ref.c.name,
            ref.c.target,
            src.c.last_updated,
        )
        .select_from(joined)
        .where(*conditions, ref.c.pk > after_ref)
        .order_by(ref.c.pk)
        .limit(limit)
    )
    return int(total), [tuple(r) for r in session.execute(stmt)]  # type: ignore[misc]


def patient_pks_by_value(
    session: Session, value_hash: str, institution_id: str | None, limit: int
) -> list[int]:
    """Live Patients (of one sender, or of any) with an identifier of this value (keyed hash)."""
    stmt = select(_I.resource_pk).where(_I.resource_type == "Patient", _I.value_hash == value_hash)
    if institution_id is not None:
        stmt = stmt.where(_I.institution_id == institution_id)
    return [r[0] for r in session.execute(stmt.limit(limit))]
