"""Staff accounts, sign-in, tokens and sessions."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mch_service.audit.service import Actor, AuditRecord, record
from mch_service.auth.models import StaffToken, StaffUser
from mch_service.auth.passwords import (
    hash_password,
    needs_rehash,
    strength_problem,
    verify_password,
)
from mch_service.auth.permissions import Permission, Principal, Role
from mch_service.auth.throttle import Throttle
from mch_service.config import Settings
from mch_service.database import Database
from mch_service.domain.streets import street_problem
from mch_service.errors import (
    Conflict,
    InvalidResource,
    Issue,
    MchError,
    NotFound,
    TooManyRequests,
    Unauthorized,
)
from mch_service.timeutil import to_utc, utcnow

_USERNAME = re.compile(r"[A-Za-z0-9_.\-]{3,64}")  # fullmatch: `$` lets "name\n" by
# Only write last_seen when it moved by this much: a busy page must not write on every request.
_TOUCH_EVERY = timedelta(seconds=60)
_BUSY = "Too many sign-ins at this moment; try again in a second"


def _throttled(seconds: int) -> str:
    return f"Too many failed sign-ins; try again in {seconds} s"


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime
    csrf_token: str | None
    token_id: int


@dataclass(frozen=True)
class UserView:
    """What an administrator sees of an account (never the hash)."""

    username: str
    display_name: str
    role: str
    streets: list[str]
    institutions: list[str]
    active: bool
    locked: bool
    created_at: datetime

    @classmethod
    def of(cls, u: StaffUser, now: datetime, slowed: bool = False) -> UserView:
        return cls(
            u.username,
            u.display_name,
            u.role,
            list(u.jurisdiction_streets or []),
            list(u.jurisdiction_institutions or []),
            u.active,
            slowed or (u.locked_until is not None and to_utc(u.locked_until) > now),
            to_utc(u.created_at),
        )


def actor_of(principal: Principal) -> Actor:
    return Actor("user", principal.username, principal.client_ip)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _bad(message: str, field: str) -> MchError:
    return InvalidResource([Issue(message, field, "value")], message)


class StaffAccounts:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.throttle = Throttle(settings)

    # -- accounts ------------------------------------------------------------------------

    def add_user(
        self,
        session: Session,
        by: Principal,
        username: str,
        role: str,
        password: str,
        streets: list[str] | None = None,
        institutions: list[str] | None = None,
        display_name: str = "",
    ) -> UserView:
        by.require(Permission.MANAGE_USERS)
        if not _USERNAME.fullmatch(username):
            raise _bad("Username: 3-64 letters, digits, '.', '_' or '-'", "username")
        try:
            role_ = Role(role)
        except ValueError:
            raise _bad("Role must be admin, reviewer or monitor", "role") from None
        problem = strength_problem(password, username)
        if problem:
            raise _bad(f"Password too weak: {problem}", "password")
        self._check_streets(streets or [])
        if role_ == Role.REVIEWER and not (streets or institutions):
            raise _bad(
                "A reviewer needs a jurisdiction: street codes and/or institution ids",
                "jurisdiction",
            )
        if session.scalar(select(StaffUser.id).where(StaffUser.username == username)):
            raise Conflict(f"User {username!r} already exists")
        now = utcnow()
        user = StaffUser(
            username=username,
            display_name=display_name,
            role=role_.value,
            password_hash=hash_password(password),
            jurisdiction_streets=sorted(set(streets or [])),
            jurisdiction_institutions=sorted(set(institutions or [])),
            active=True,
            failed_logins=0,
            created_at=now,
            password_changed_at=now,
        )
        session.add(user)
        session.flush()
        record(
            session,
            actor_of(by),
            [
                AuditRecord(
                    "user.add", "success", "StaffUser", username, detail=f"role {role_.value}"
                )
            ],
        )
        return UserView.of(user, now)

    def _check_streets(self, streets: list[str]) -> None:
        for i, code in enumerate(streets):
            problem = street_problem(code, self.settings.streets)
            if problem:
                raise _bad(problem, f"streets[{i}]")

    def _get(self, session: Session, username: str) -> StaffUser:
        user = session.scalar(select(StaffUser).where(StaffUser.username == username))
        if user is None:
            raise NotFound(f"No user {username!r}")
        return user

    def list_users(self, session: Session, by: Principal) -> list[UserView]:
        by.require(Permission.MANAGE_USERS)
        now = utcnow()
        slowed = Throttle.blocked_users(session, now)
        return [
            UserView.of(u, now, u.username in slowed)
            for u in session.scalars(select(StaffUser).order_by(StaffUser.username))
        ]

    def set_active(self, session: Session, by: Principal, username: str, active: bool) -> None:
        by.require(Permission.MANAGE_USERS)
        user = self._get(session, username)
        user.active = active
        if not active:
            self._revoke_all(session, user.id)
        record(
            session,
            actor_of(by),
            [
                AuditRecord(
                    "user.enable" if active else "user.disable", "success", "StaffUser", username
                )
            ],
        )

    def update_jurisdiction(
        self,
        session: Session,
        by: Principal,
        username: str,
        streets: list[str],
        institutions: list[str],
    ) -> UserView:
        by.require(Permission.MANAGE_USERS)
        self._check_streets(streets)
        user = self._get(session, username)
        user.jurisdiction_streets = sorted(set(streets))
        user.jurisdiction_institutions = sorted(set(institutions))
        record(
            session,
            actor_of(by),
            [AuditRecord("user.jurisdiction", "success", "StaffUser", username)],
        )
        return UserView.of(user, utcnow())

    def reset_password(self, session: Session, by: Principal, username: str, password: str) -> None:
        by.require(Permission.MANAGE_USERS)
        user = self._get(session, username)
        problem = strength_problem(password, username)
        if problem:
            raise _bad(f"Password too weak: {problem}", "password")
        user.password_hash = hash_password(password)
        user.password_changed_at = utcnow()
        user.failed_logins = 0
        user.locked_until = None
        Throttle.forget_user(session, username)  # and ends its sign-in back-off
        self._revoke_all(session, user.id)  # a reset signs the account out everywhere
        record(
            session,
            actor_of(by),
            [AuditRecord("user.reset_password", "success", "StaffUser", username)],
        )

    def _revoke_all(self, session: Session, user_id: int) -> None:
        session.execute(
            update(StaffToken)
            .where(StaffToken.user_id == user_id, StaffToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )

    def revoke_user_tokens(self, session: Session, by: Principal, username: str) -> None:
        by.require(Permission.MANAGE_USERS)
        user = self._get(session, username)
        self._revoke_all(session, user.id)
        record(
            session,
            actor_of(by),
            [AuditRecord("user.revoke_tokens", "success", "StaffUser", username)],
        )

    # -- sign-in -------------------------------------------------------------------------

    def sign_in(
        self, db: Database, username: str, password: str, kind: str, client_ip: str | None
    ) -> tuple[IssuedToken, Principal] | None:
        """Check the password and issue a token; None when refused (401). A refusal is the
        same whether the user exists or not, and costs the same hashing time. Attempts under
        back-off, or beyond the password checks this process runs at once, raise
        TooManyRequests (429) at once, before any hashing (auth/throttle.py). The password is
        hashed outside any transaction: a slow check holds no database lock."""
        if not self.throttle.hashing.acquire(blocking=False):
            raise TooManyRequests(_BUSY, 1)
        try:
            return self._sign_in(db, username, password, kind, client_ip)
        finally:
            self.throttle.hashing.release()

    def _sign_in(
        self, db: Database, username: str, password: str, kind: str, client_ip: str | None
    ) -> tuple[IssuedToken, Principal] | None:
        now = utcnow()
        anonymous = Actor("anonymous", None, client_ip)
        keys = self.throttle.keys(username, client_ip)
        with db.reading() as session:
            keys = self.throttle.effective(session, keys, username, client_ip, now)
            wait = self.throttle.wait(session, keys, now)
        if wait:
            raise TooManyRequests(_throttled(wait), wait)
        with db.transaction() as session:
            wait, started = self.throttle.claim(session, keys, now)
            user = session.scalar(select(StaffUser).where(StaffUser.username == username))
            stored = user.password_hash if user is not None and user.active else None
        if wait:
            raise TooManyRequests(_throttled(wait), wait)
        ok = verify_password(stored, password)
        with db.transaction() as session:
            user = session.scalar(select(StaffUser).where(StaffUser.username == username))
            if not ok or user is None or not user.active or user.password_hash != stored:
                detail = "wrong password" if stored else "unknown or disabled"
                if started:
                    detail += "; further attempts slowed down"
                record(
                    session,
                    anonymous,
                    [
                        AuditRecord(
                            "auth.sign_in", "denied", "StaffUser", username[:64], 401, detail
                        )
                    ],
                )
                return None
            self.throttle.succeeded(session, keys, username, client_ip, now)
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            issued = self._issue(session, user, kind, client_ip, now)
            record(
                session,
                Actor("user", username, client_ip),
                [AuditRecord("auth.sign_in", "success", "StaffUser", username, 200, kind)],
            )
            return issued, self._principal(user, issued.token_id)

    def _issue(
        self, session: Session, user: StaffUser, kind: str, client_ip: str | None, now: datetime
    ) -> IssuedToken:
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(24) if kind == "session" else None
        lifetime = (
            timedelta(hours=self.settings.session_max_hours)
            if kind == "session"
            else timedelta(hours=self.settings.token_hours)
        )
        row = StaffToken(
            token_hash=_token_hash(token),
            user_id=user.id,
            kind=kind,
            csrf_token=csrf,
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
            client_ip=client_ip,
        )
        session.add(row)
        session.flush()
        return IssuedToken(token, row.expires_at, csrf, row.id)

    @staticmethod
    def _principal(user: StaffUser, token_id: int | None) -> Principal:
        return Principal(
            user.id,
            user.username,
            Role(user.role),
            frozenset(user.jurisdiction_streets or ()),
            frozenset(user.jurisdiction_institutions or ()),
            token_id,
        )

    def resolve(
        self, session: Session, token: str, kind: str | None = None
    ) -> tuple[Principal, StaffToken]:
        """The signed-in staff member behind a token, or 401 (expired, idle, revoked)."""
        now = utcnow()
        row = session.scalar(select(StaffToken).where(StaffToken.token_hash == _token_hash(token)))
        if row is None or row.revoked_at is not None or (kind and row.kind != kind):
            raise Unauthorized("Sign in again: the token is unknown or was revoked")
        if to_utc(row.expires_at) <= now:
            raise Unauthorized("Sign in again: the token has expired")
        if row.kind == "session" and now - to_utc(row.last_seen_at) > timedelta(
            minutes=self.settings.session_idle_minutes
        ):
            raise Unauthorized("Signed out after inactivity; sign in again")
        user = session.get(StaffUser, row.user_id)
        if user is None or not user.active:
            raise Unauthorized("The account is disabled")
        if now - to_utc(row.last_seen_at) > _TOUCH_EVERY:
            row.last_seen_at = now
        return self._principal(user, row.id), row

    def revoke(self, session: Session, principal: Principal) -> None:
        if principal.token_id is not None:
            session.execute(
                update(StaffToken)
                .where(StaffToken.id == principal.token_id)
                .values(revoked_at=utcnow())
            )
        record(
            session,
            actor_of(principal),
            [AuditRecord("auth.sign_out", "success", "StaffUser", principal.username)],
        )
