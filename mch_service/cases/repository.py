"""The queries of the case register and work lists: ``case_record``, ``follow_up``,
``case_event`` and ``work_item``. The case service calls these; nothing else runs SQL on these
tables (the pregnancy facts the lists are computed from come from domain/case_reads.py)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    case,
    delete,
    false,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mch_service import sqlbulk
from mch_service.auth.permissions import Principal
from mch_service.cases.models import CaseEvent, CaseRecord, FollowUp, WorkItem
from mch_service.database import table_of

# Above this many pregnancies a refresh reads the whole register at once (one scan instead of
# thousands of IN lists).
_WHOLE_REGISTER_FROM = 5000
_CHUNK = 1000
# The orders of a list: in SQL (a column, then what breaks ties); by the street's or the first
# institution's name in SQL too, through a rank the caller gives each code (``NamedOrder``);
# by the woman's name (sealed) in Python over at most MAX_SORTED_IN_MEMORY items.
URGENCY_ORDER = (WorkItem.urgency, WorkItem.days_overdue.desc(), WorkItem.since)
SORTS: dict[str, tuple[Any, ...]] = {
    "urgency": URGENCY_ORDER,
    "since": (WorkItem.since,),
    "due": (WorkItem.next_due, WorkItem.urgency),
    # by colour is by urgency: purple and red, then orange, yellow, green
    "colour": (WorkItem.urgency,),
}
NAME_SORTS = ("name", "street", "institution")
IN_MEMORY_SORTS = ("name",)
MAX_SORTED_IN_MEMORY = 20000


@dataclass(frozen=True)
class NamedOrder:
    """An order by a code's name: each code's rank (its name's place among the names; codes of
    one name share a rank), ``other`` for a missing code (and one unseen when the ranks were
    made)."""

    sort: str  # "street" or "institution"
    ranks: dict[str, int]
    other: int


def first_institution(institutions: str) -> str:
    """The first of a work item's space-separated institution ids ("" when none)."""
    return (institutions.split() or [""])[0]


def _ranked(order: NamedOrder) -> ColumnElement[int] | None:
    """The rank of an item's code as an SQL expression (None: every item ranks alike)."""
    if not order.ranks:
        return None
    if order.sort == "street":
        return case(order.ranks, value=WorkItem.street, else_=order.other)
    whens = [
        (
            or_(
                WorkItem.institutions == code,
                WorkItem.institutions.startswith(code + " ", autoescape=True),
            ),
            rank,
        )
        for code, rank in order.ranks.items()
    ]
    return case(*whens, else_=order.other)


def chunks(ids: Sequence[str], size: int = _CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


# -- kept current from the facts -------------------------------------------------------------


def follow_up_dates(session: Session, pregnancy_ids: Sequence[str]) -> Iterator[Row[str, date]]:
    """(pregnancy id, contact date) of every recorded follow-up of these pregnancies."""
    for chunk in chunks(pregnancy_ids):
        yield from session.execute(
            select(FollowUp.pregnancy_id, FollowUp.contact_date).where(
                FollowUp.pregnancy_id.in_(chunk), FollowUp.corrected_by.is_(None)
            )
        )


def follow_up_next_dues(
    session: Session, pregnancy_ids: Sequence[str]
) -> Iterator[Row[str, date, date | None]]:
    """(pregnancy id, contact date, next due) of the follow-ups in force (not corrected), in
    the order they were recorded."""
    for chunk in chunks(pregnancy_ids):
        yield from session.execute(
            select(FollowUp.pregnancy_id, FollowUp.contact_date, FollowUp.next_due)
            .where(FollowUp.pregnancy_id.in_(chunk), FollowUp.corrected_by.is_(None))
            .order_by(FollowUp.contact_date, FollowUp.id)
        )


def recorded_outcomes(
    session: Session, pregnancy_ids: Sequence[str]
) -> Iterator[Row[str, str | None, date | None, date | None]]:
    """(pregnancy id, outcome kind, outcome day, list day it was recorded on) of the outcomes
    reviewers recorded."""
    for chunk in chunks(pregnancy_ids):
        yield from session.execute(
            select(
                CaseRecord.pregnancy_id,
                CaseRecord.outcome_kind,
                CaseRecord.outcome_date,
                CaseRecord.outcome_recorded_on,
            ).where(CaseRecord.pregnancy_id.in_(chunk), CaseRecord.outcome_kind.is_not(None))
        )


def all_recorded_outcomes(
    session: Session, woman_keys: list[str] | None
) -> list[Row[str, str, date | None]]:
    """(pregnancy id, kind, day) of every recorded outcome of these women (None: all)."""
    stmt = select(CaseRecord.pregnancy_id, CaseRecord.outcome_kind, CaseRecord.outcome_date).where(
        CaseRecord.outcome_kind.is_not(None)
    )
    if woman_keys is None:
        return list(session.execute(stmt))
    out: list[Row[str, str, date | None]] = []
    for chunk in chunks(woman_keys):
        out += session.execute(stmt.where(CaseRecord.woman_key.in_(chunk)))
    return out


def list_as_of(session: Session) -> date | None:
    """The day the stored lists are computed at (None: no items)."""
    return session.scalar(select(func.max(WorkItem.as_of)))


def get_follow_up(session: Session, follow_up_id: int) -> FollowUp | None:
    return session.get(FollowUp, follow_up_id)


def late_acknowledgements(
    session: Session, pregnancy_ids: Sequence[str]
) -> Iterator[Row[str, str | None]]:
    """(pregnancy id, detail) of every "acknowledge_late" event: the detail is the risk
    assessment's resource pk."""
    for chunk in chunks(pregnancy_ids):
        yield from session.execute(
            select(CaseEvent.pregnancy_id, CaseEvent.detail).where(
                CaseEvent.pregnancy_id.in_(chunk), CaseEvent.action == "acknowledge_late"
            )
        )


def reviewer_closings(
    session: Session, pregnancy_ids: Sequence[str]
) -> Iterator[Row[str, str | None, date | None]]:
    """(pregnancy id, close code, closed on) of the cases a reviewer closed."""
    for chunk in chunks(pregnancy_ids):
        yield from session.execute(
            select(CaseRecord.pregnancy_id, CaseRecord.close_code, CaseRecord.closed_on).where(
                CaseRecord.pregnancy_id.in_(chunk),
                CaseRecord.status == "closed",
                CaseRecord.closed_by_reviewer.is_(True),
            )
        )


def cases_of_women(session: Session, woman_keys: list[str] | None) -> list[CaseRecord]:
    """The cases of these women, or every case (None)."""
    if woman_keys is None:
        return list(session.scalars(select(CaseRecord)))
    out: list[CaseRecord] = []
    for chunk in chunks(woman_keys):
        out += session.scalars(select(CaseRecord).where(CaseRecord.woman_key.in_(chunk)))
    return out


def last_event_at(session: Session) -> datetime | None:
    return session.scalar(select(func.max(CaseEvent.at)))


def women_with_events_since(session: Session, watermark: datetime | None) -> list[str]:
    stmt = (
        select(CaseRecord.woman_key)
        .join(CaseEvent, CaseEvent.pregnancy_id == CaseRecord.pregnancy_id)
        .distinct()
    )
    if watermark is not None:
        stmt = stmt.where(CaseEvent.at > watermark)
    return list(session.scalars(stmt))


def close_code_counts(session: Session, principal: Principal) -> dict[str, int]:
    """Closed cases in the principal's jurisdiction per close code (no code: "other")."""
    stmt = (
        select(CaseRecord.close_code, func.count())
        .where(CaseRecord.status == "closed", _case_in_jurisdiction(principal))
        .group_by(CaseRecord.close_code)
    )
    counts: dict[str, int] = {}
    for code, n in session.execute(stmt):
        key = code or "other"
        counts[key] = counts.get(key, 0) + int(n)
    return counts


def delete_work_items(session: Session, woman_keys: list[str] | None) -> None:
    """The work items of these women, or of everyone (None)."""
    if woman_keys is None:
        session.execute(delete(WorkItem))
        return
    for chunk in chunks(woman_keys, 500):
        session.execute(delete(WorkItem).where(WorkItem.woman_key.in_(chunk)))


def insert_work_items(session: Session, rows: list[dict[str, Any]]) -> None:
    sqlbulk.insert_rows(session, table_of(WorkItem), rows)


def cases_by_pregnancy(session: Session, pregnancy_ids: list[str]) -> dict[str, CaseRecord]:
    if len(pregnancy_ids) < _WHOLE_REGISTER_FROM:
        stmt = select(CaseRecord).where(CaseRecord.pregnancy_id.in_(pregnancy_ids))
    else:
        stmt = select(CaseRecord)
    return {c.pregnancy_id: c for c in session.scalars(stmt)}


def add(session: Session, row: CaseRecord | FollowUp | CaseEvent) -> None:
    session.add(row)


def add_new_case(session: Session, case: CaseRecord) -> bool:
    """Insert a new case record; False when another transaction inserted one for the same
    pregnancy first (two reviewers opening a record at once: one wins, as with versions)."""
    try:
        with session.begin_nested():
            session.add(case)
            session.flush()
    except IntegrityError:
        return False
    return True


# -- reading ---------------------------------------------------------------------------------


def _in_jurisdiction(principal: Principal) -> ColumnElement[bool]:
    if principal.sees_everything:
        return true()
    conds: list[ColumnElement[bool]] = []
    if principal.streets:
        conds.append(WorkItem.street.in_(sorted(principal.streets)))
    for inst in sorted(principal.institutions):
        conds.append(_has_institution(inst))
    return or_(*conds) if conds else false()


def _case_in_jurisdiction(principal: Principal) -> ColumnElement[bool]:
    if principal.sees_everything:
        return true()
    conds: list[ColumnElement[bool]] = []
    if principal.streets:
        conds.append(CaseRecord.street.in_(sorted(principal.streets)))
    for inst in sorted(principal.institutions):
        conds.append((" " + CaseRecord.institutions + " ").like(f"% {inst} %"))
    return or_(*conds) if conds else false()


def _has_institution(institution: str) -> ColumnElement[bool]:
    # work_item.institutions is a space-separated list of ids
    return (" " + WorkItem.institutions + " ").like(f"% {institution} %")


def work_item_filters(
    principal: Principal,
    list_name: str | None,
    colour: str | None,
    street: str | None,
    institution: str | None,
    overdue: bool | None,
) -> list[ColumnElement[bool]]:
    conds = [_in_jurisdiction(principal)]
    if list_name:
        conds.append(WorkItem.list_name == list_name)
    if colour == "purple":
        conds.append(WorkItem.purple.is_(True))
    elif colour:
        conds.append(WorkItem.colour == colour)
    if street:
        conds.append(WorkItem.street == street)
    if institution:
        conds.append(_has_institution(institution))
    if overdue is not None:
        conds.append(WorkItem.overdue.is_(overdue))
    return conds


def _matching(
    conditions: Iterable[ColumnElement[bool]], assignee: str | None
) -> Select[WorkItem, str | None, str | None]:
    stmt = (
        select(WorkItem, CaseRecord.assignee, CaseRecord.status)
        .outerjoin(CaseRecord, CaseRecord.pregnancy_id == WorkItem.pregnancy_id)
        .where(*conditions)
    )
    if assignee:
        stmt = stmt.where(CaseRecord.assignee == assignee)
    return stmt


def item_codes(
    session: Session, conditions: Iterable[ColumnElement[bool]], assignee: str | None, sort: str
) -> set[str | None]:
    """The distinct streets (sort "street") or first institutions ("institution") of the
    matching items: what a NamedOrder ranks."""
    column = WorkItem.street if sort == "street" else WorkItem.institutions
    stmt = _matching(conditions, assignee).with_only_columns(column).distinct()
    codes = set(session.scalars(stmt))
    return codes if sort == "street" else {first_institution(c or "") for c in codes}


def work_item_page(
    session: Session,
    conditions: Iterable[ColumnElement[bool]],
    assignee: str | None,
    sort: str | NamedOrder,
    descending: bool,
    page: int,
    page_size: int,
) -> tuple[int, list[tuple[WorkItem, str | None, str | None]]]:
    """(total, one page of (work item, its case's assignee, its case's status)); for a sort in
    IN_MEMORY_SORTS every matching item up to MAX_SORTED_IN_MEMORY (page and page_size ignored:
    the caller sorts and pages; none when there are more)."""
    conditions = list(conditions)
    stmt = _matching(conditions, assignee)
    # the outer join cannot add rows (one case a pregnancy): counted without it unless the
    # assignee filter needs it
    counted = select(func.count()).select_from(WorkItem).where(*conditions)
    if assignee:
        counted = select(func.count()).select_from(stmt.subquery())
    total = session.scalar(counted) or 0
    if isinstance(sort, str) and sort in IN_MEMORY_SORTS:
        if total > MAX_SORTED_IN_MEMORY:
            return total, []
        stmt = stmt.order_by(*URGENCY_ORDER, WorkItem.id).limit(MAX_SORTED_IN_MEMORY)
        return total, [(item, assignee, status) for item, assignee, status in session.execute(stmt)]
    if isinstance(sort, NamedOrder):
        # equal names keep the urgency order, ascending or descending (a stable sort)
        ranked = _ranked(sort)
        by_rank = () if ranked is None else (ranked.desc() if descending else ranked.asc(),)
        keys: tuple[Any, ...] = (*by_rank, *URGENCY_ORDER, WorkItem.id)
    else:
        first, *rest = SORTS[sort]
        keys = ((first.desc() if descending else first.asc()).nulls_last(), *rest, WorkItem.id)
    stmt = stmt.order_by(*keys).limit(page_size).offset((page - 1) * page_size)
    # the case's assignee and status are None for an item whose pregnancy has no case
    return total, [(item, assignee, status) for item, assignee, status in session.execute(stmt)]


def work_item_counts(
    session: Session, conditions: Iterable[ColumnElement[bool]], assignee: str | None
) -> dict[str, tuple[int, int]]:
    """Per list: (items, overdue items) matching the conditions (and the case's assignee),
    counted as ``work_item_page`` counts its total."""
    stmt = (
        select(
            WorkItem.list_name,
            func.count(),
            func.coalesce(func.sum(case((WorkItem.overdue.is_(True), 1), else_=0)), 0),
        )
        .outerjoin(CaseRecord, CaseRecord.pregnancy_id == WorkItem.pregnancy_id)
        .where(*conditions)
    )
    if assignee:
        stmt = stmt.where(CaseRecord.assignee == assignee)
    rows = session.execute(stmt.group_by(WorkItem.list_name))
    return {name: (int(total), int(overdue)) for name, total, overdue in rows}


def get_case(session: Session, pregnancy_id: str) -> CaseRecord | None:
    return session.get(CaseRecord, pregnancy_id)


def follow_ups_of(session: Session, pregnancy_id: str) -> list[FollowUp]:
    return list(
        session.scalars(
            select(FollowUp)
            .where(FollowUp.pregnancy_id == pregnancy_id)
            .order_by(FollowUp.contact_date, FollowUp.id)
        )
    )


def events_of(session: Session, pregnancy_id: str) -> list[CaseEvent]:
    return list(
        session.scalars(
            select(CaseEvent).where(CaseEvent.pregnancy_id == pregnancy_id).order_by(CaseEvent.id)
        )
    )


def work_items_of(session: Session, pregnancy_id: str) -> list[WorkItem]:
    return list(session.scalars(select(WorkItem).where(WorkItem.pregnancy_id == pregnancy_id)))


# -- reviewers' changes ----------------------------------------------------------------------


def bump_version(session: Session, pregnancy_id: str, version: int) -> bool:
    """Compare-and-set in the database: two reviewers saving at once cannot both win. True
    when the case was at ``version`` (and is now at the next)."""
    bumped = session.execute(
        update(CaseRecord)
        .where(CaseRecord.pregnancy_id == pregnancy_id, CaseRecord.version == version)
        .values(version=CaseRecord.version + 1)
    )
    return bumped.rowcount == 1  # type: ignore[attr-defined,no-any-return]


def reload(session: Session, case: CaseRecord) -> None:
    session.refresh(case)


def flush(session: Session) -> None:
    session.flush()
