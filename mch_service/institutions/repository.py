"""The queries of sending institutions and their API keys (``institution``,
``institution_api_key``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session

from mch_service.institutions.models import Institution, InstitutionApiKey, Street


def get(session: Session, institution_id: str) -> Institution | None:
    return session.get(Institution, institution_id)


def add_institution(session: Session, institution: Institution) -> None:
    session.add(institution)
    session.flush()


def add_key(session: Session, key: InstitutionApiKey) -> None:
    session.add(key)
    session.flush()


def all_institutions(session: Session) -> list[Institution]:
    return list(session.scalars(select(Institution).order_by(Institution.id)))


def keys_of(session: Session, institution_id: str) -> list[InstitutionApiKey]:
    return list(
        session.scalars(
            select(InstitutionApiKey)
            .where(InstitutionApiKey.institution_id == institution_id)
            .order_by(InstitutionApiKey.id)
        )
    )


def revoke_keys(session: Session, institution_id: str, key_id: int | None, now: datetime) -> int:
    """Revoke the institution's unrevoked keys (or the one ``key_id``); how many were."""
    stmt = update(InstitutionApiKey).where(
        InstitutionApiKey.institution_id == institution_id,
        InstitutionApiKey.revoked_at.is_(None),
    )
    if key_id is not None:
        stmt = stmt.where(InstitutionApiKey.id == key_id)
    return session.execute(stmt.values(revoked_at=now)).rowcount  # type: ignore[attr-defined,no-any-return]


def sender_of_key(session: Session, key_hash: str) -> Row[str, str, bool] | None:
    """(institution id, name, active) of the institution holding this unrevoked key."""
    return session.execute(
        select(Institution.id, Institution.name, Institution.active)
        .join(InstitutionApiKey, InstitutionApiKey.institution_id == Institution.id)
        .where(InstitutionApiKey.key_hash == key_hash)
        .where(InstitutionApiKey.revoked_at.is_(None))
    ).first()


def all_streets(session: Session) -> list[Street]:
    return list(session.scalars(select(Street).order_by(Street.code)))


def get_street(session: Session, code: str) -> Street | None:
    return session.get(Street, code)


def add_street(session: Session, street: Street) -> None:
    session.add(street)
    session.flush()


def names(session: Session) -> tuple[list[Row[str, str, str]], list[Row[str, str, str | None]]]:
    """(id, name, kind) of every institution and (code, name, centre id) of every street."""
    institutions = list(session.execute(select(Institution.id, Institution.name, Institution.kind)))
    streets = list(session.execute(select(Street.code, Street.name, Street.centre_id)))
    return institutions, streets  # type: ignore[return-value]
