"""The queries of staff accounts, their tokens and the sign-in throttle (``staff_user``,
``staff_token``, ``sign_in_throttle``). Only auth's service and throttle call these."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from mch_service.auth.models import SignInThrottle, StaffToken, StaffUser

# -- accounts --------------------------------------------------------------------------------


def user_by_username(session: Session, username: str) -> StaffUser | None:
    return session.scalar(select(StaffUser).where(StaffUser.username == username))


def username_taken(session: Session, username: str) -> bool:
    return session.scalar(select(StaffUser.id).where(StaffUser.username == username)) is not None


def user_by_id(session: Session, user_id: int) -> StaffUser | None:
    return session.get(StaffUser, user_id)


def all_users(session: Session) -> list[StaffUser]:
    return list(session.scalars(select(StaffUser).order_by(StaffUser.username)))


def add_user(session: Session, user: StaffUser) -> None:
    session.add(user)
    session.flush()


# -- tokens ----------------------------------------------------------------------------------


def add_token(session: Session, token: StaffToken) -> None:
    session.add(token)
    session.flush()


def token_by_hash(session: Session, token_hash: str) -> StaffToken | None:
    return session.scalar(select(StaffToken).where(StaffToken.token_hash == token_hash))


def revoke_tokens_of(session: Session, user_id: int, now: datetime) -> None:
    session.execute(
        update(StaffToken)
        .where(StaffToken.user_id == user_id, StaffToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def revoke_token(session: Session, token_id: int, now: datetime) -> None:
    session.execute(update(StaffToken).where(StaffToken.id == token_id).values(revoked_at=now))


# -- sign-in throttle ------------------------------------------------------------------------


def throttle_row(session: Session, key: str) -> SignInThrottle | None:
    return session.get(SignInThrottle, key)


def throttle_rows(session: Session, keys: list[str]) -> list[SignInThrottle]:
    return list(session.scalars(select(SignInThrottle).where(SignInThrottle.key.in_(keys))))


def ensure_throttle_rows(session: Session, keys: Iterable[str], now: datetime) -> None:
    """A row for every key (none counted yet), leaving existing rows as they are."""
    insert = (
        postgresql.insert(SignInThrottle)
        if session.get_bind().dialect.name == "postgresql"
        else sqlite.insert(SignInThrottle)
    )
    session.execute(
        insert.on_conflict_do_nothing(),
        [{"key": k, "failures": 0, "blocked_until": None, "last_failure_at": now} for k in keys],
    )


def lock_throttle_rows(session: Session, keys: list[str]) -> list[SignInThrottle]:
    """The rows of these keys, locked for update in key order (one order for every process:
    no deadlock between them)."""
    return list(
        session.scalars(
            select(SignInThrottle)
            .where(SignInThrottle.key.in_(keys))
            .order_by(SignInThrottle.key)
            .with_for_update()
        )
    )


def put_throttle_row(session: Session, row: SignInThrottle) -> None:
    session.merge(row)


def delete_throttle_row(session: Session, row: SignInThrottle) -> None:
    session.delete(row)


def delete_user_throttle(session: Session, username: str) -> None:
    """The username-wide and per-pair rows of one username."""
    session.execute(
        delete(SignInThrottle).where(
            (SignInThrottle.key == f"user:{username}")
            | SignInThrottle.key.like(f"pair:%|{_like_escape(username)}", escape="\\")
        )
    )


def blocked_user_keys(session: Session, now: datetime) -> list[str]:
    return list(
        session.scalars(
            select(SignInThrottle.key).where(
                SignInThrottle.key.like("user:%"), SignInThrottle.blocked_until > now
            )
        )
    )


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
