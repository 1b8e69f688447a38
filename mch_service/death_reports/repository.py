"""SQL of the report cards and of the fed deaths they review. Every function takes the session
of the caller's transaction and never commits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mch_service.death_reports.models import ENTERED, FEED, MaternalDeathReport
from mch_service.domain.models import Death, Pregnancy, Woman
from mch_service.institutions.models import Institution

# The fed deaths the monitoring group reviews: in pregnancy or within 42 days of its end.
IN_SCOPE = ("pregnancy", "postpartum")


def fed_deaths(session: Session) -> list[tuple[Death, str | None, Pregnancy | None]]:
    """Every fed death in pregnancy or within 42 days, with the woman's street and the
    pregnancy it ended or followed."""
    stmt = (
        select(Death, Woman.street, Pregnancy)
        .join(Woman, Woman.key == Death.woman_key)
        .outerjoin(Pregnancy, Pregnancy.id == Death.pregnancy_id)
        .where(Death.timing.in_(IN_SCOPE), Death.pregnancy_id.is_not(None))
    )
    return [(d, street, p) for d, street, p in session.execute(stmt).all()]


def fed_death(
    session: Session, pregnancy_id: str
) -> tuple[Death, str | None, Pregnancy | None] | None:
    stmt = (
        select(Death, Woman.street, Pregnancy)
        .join(Woman, Woman.key == Death.woman_key)
        .outerjoin(Pregnancy, Pregnancy.id == Death.pregnancy_id)
        .where(Death.timing.in_(IN_SCOPE), Death.pregnancy_id == pregnancy_id)
    )
    row = session.execute(stmt).first()
    return (row[0], row[1], row[2]) if row else None


def reviews_of_fed(session: Session, woman_keys: Sequence[str]) -> dict[str, MaternalDeathReport]:
    """The review rows of fed deaths, by the woman's key."""
    if not woman_keys:
        return {}
    stmt = select(MaternalDeathReport).where(
        MaternalDeathReport.kind == FEED, MaternalDeathReport.woman_key.in_(list(woman_keys))
    )
    return {r.woman_key or "": r for r in session.scalars(stmt)}


def entered(session: Session) -> list[MaternalDeathReport]:
    stmt = select(MaternalDeathReport).where(MaternalDeathReport.kind == ENTERED)
    return list(session.scalars(stmt))


def entered_one(session: Session, report_id: int) -> MaternalDeathReport | None:
    row = session.get(MaternalDeathReport, report_id)
    return row if row is not None and row.kind == ENTERED else None


def fed_women(session: Session, woman_keys: Sequence[str]) -> set[str]:
    """Which of these women a feed reports dead in pregnancy or within 42 days."""
    if not woman_keys:
        return set()
    stmt = select(Death.woman_key).where(
        Death.timing.in_(IN_SCOPE), Death.woman_key.in_(list(woman_keys))
    )
    return set(session.scalars(stmt))


def institution_exists(session: Session, institution_id: str) -> bool:
    return session.get(Institution, institution_id) is not None


def add(session: Session, values: dict[str, Any]) -> MaternalDeathReport:
    row = MaternalDeathReport(**values)
    session.add(row)
    session.flush()  # the id, for the seals' associated data
    return row
