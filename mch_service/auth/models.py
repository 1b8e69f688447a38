from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from mch_service.database import Base


class StaffUser(Base):
    """A person who signs in: an administrator, a reviewer or a monitoring officer."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # admin | reviewer | monitor
    # A reviewer's jurisdiction: street/town codes and/or institution ids (empty = none).
    jurisdiction_streets: Mapped[list[str]] = mapped_column(JSON, default=list)
    jurisdiction_institutions: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    password_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StaffToken(Base):
    """A sign-in: a bearer token for scripts or a browser session. Only a hash is stored."""

    __tablename__ = "staff_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # bearer | session
    csrf_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    client_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)


class SignInThrottle(Base):
    """Failed sign-ins counted per key: one username from one address ("pair:"), one username
    from anywhere ("user:"), one address for any username ("addr:"). Kept in the database so
    that every server process sees the same counts (README, Configuration)."""

    __tablename__ = "sign_in_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_failure_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
