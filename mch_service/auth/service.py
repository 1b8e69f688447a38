"""Staff accounts, sign-in, tokens and sessions.

Layering: auth sits above audit. Auth records sign-ins, sign-outs and account changes through
``audit.service``; audit knows nothing of auth (the audit log's HTTP routes, which need a
signed-in administrator, live in ``auth/audit_endpoints.py``)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from mch_service.audit.service import Actor, AuditRecord, record
from mch_service.auth import repository
from mch_service.auth.models import StaffToken, StaffUser
from mch_service.auth.passwords import (
    hash_password,
    needs_rehash,
    strength_problem,
    verify_password,
)
from mch_service.auth.permissions import Permission, Principal, Role
from mch_service.auth.schemas import JurisdictionUpdate, UserCreate, UserRead
from mch_service.auth.throttle import Throttle
from mch_service.config import Settings
from mch_service.database import Database
from mch_service.errors import (
    Conflict,
    InvalidResource,
    Issue,
    MchError,
    NotFound,
    TooManyRequests,
    Unauthorized,
)
from mch_service.streets import street_problem
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


def user_read(user: StaffUser, now: datetime, slowed: bool = False) -> UserRead:
    """What an administrator sees of an account (never the hash)."""
    return UserRead(
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        streets=list(user.jurisdiction_streets or []),
        institutions=list(user.jurisdiction_institutions or []),
        active=user.active,
        locked=slowed or (user.locked_until is not None and to_utc(user.locked_until) > now),
        created_at=to_utc(user.created_at),
    )


def actor_of(principal: Principal) -> Actor:
    return Actor("user", principal.username, principal.client_ip)


def case_workers(session: Session) -> list[tuple[Principal, str]]:
    """The active accounts that may work cases (reviewers; administrators are district-wide
    but not assignees), each as a principal with its jurisdiction, and its display name."""
    return [
        (StaffAccounts._principal(u, None), u.display_name or "")
        for u in repository.all_users(session)
        if u.active and u.role == Role.REVIEWER
    ]


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _bad(message: str, field: str) -> MchError:
    return InvalidResource([Issue(message, field, "value")], message)


class StaffAccounts:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.throttle = Throttle(settings)

    # -- accounts ------------------------------------------------------------------------

    def add_user(self, session: Session, by: Principal, new_user: UserCreate) -> UserRead:
        by.require(Permission.MANAGE_USERS)
        if not _USERNAME.fullmatch(new_user.username):
            raise _bad("Username: 3-64 letters, digits, '.', '_' or '-'", "username")
        try:
            role_ = Role(new_user.role)
        except ValueError:
            raise _bad("Role must be admin, reviewer or monitor", "role") from None
        problem = strength_problem(new_user.password, new_user.username)
        if problem:
            raise _bad(f"Password too weak: {problem}", "password")
        self._check_streets(new_user.streets)
        if role_ == Role.REVIEWER and not (new_user.streets or new_user.institutions):
            raise _bad(
                "A reviewer needs a jurisdiction: street codes and/or institution ids",
                "jurisdiction",
            )
        if repository.username_taken(session, new_user.username):
            raise Conflict(f"User {new_user.username!r} already exists")
        now = utcnow()
        user = StaffUser(
            username=new_user.username,
            display_name=new_user.display_name,
            role=role_.value,
            password_hash=hash_password(new_user.password),
            jurisdiction_streets=sorted(set(new_user.streets)),
            jurisdiction_institutions=sorted(set(new_user.institutions)),
            active=True,
            failed_logins=0,
            created_at=now,
            password_changed_at=now,
        )
        repository.add_user(session, user)
        record(
            session,
            actor_of(by),
            [
                AuditRecord(
                    "user.add",
                    "success",
                    "StaffUser",
                    new_user.username,
                    detail=f"role {role_.value}",
                )
            ],
        )
        return user_read(user, now)

    def _check_streets(self, streets: list[str]) -> None:
        for i, code in enumerate(streets):
            problem = street_problem(code, self.settings.streets)
            if problem:
                raise _bad(problem, f"streets[{i}]")

    def _get(self, session: Session, username: str) -> StaffUser:
        user = repository.user_by_username(session, username)
        if user is None:
            raise NotFound(f"No user {username!r}")
        return user

    def list_users(self, session: Session, by: Principal) -> list[UserRead]:
        by.require(Permission.MANAGE_USERS)
        now = utcnow()
        slowed = Throttle.blocked_users(session, now)
        return [user_read(u, now, u.username in slowed) for u in repository.all_users(session)]

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
        self, session: Session, by: Principal, username: str, jurisdiction: JurisdictionUpdate
    ) -> UserRead:
        by.require(Permission.MANAGE_USERS)
        self._check_streets(jurisdiction.streets)
        user = self._get(session, username)
        user.jurisdiction_streets = sorted(set(jurisdiction.streets))
        user.jurisdiction_institutions = sorted(set(jurisdiction.institutions))
        record(
            session,
            actor_of(by),
            [AuditRecord("user.jurisdiction", "success", "StaffUser", username)],
        )
        return user_read(user, utcnow())

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
        repository.revoke_tokens_of(session, user_id, utcnow())

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
            user = repository.user_by_username(session, username)
            stored = user.password_hash if user is not None and user.active else None
        if wait:
            raise TooManyRequests(_throttled(wait), wait)
        ok = verify_password(stored, password)
        with db.transaction() as session:
            user = repository.user_by_username(session, username)
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
        repository.add_token(session, row)
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
        row = repository.token_by_hash(session, _token_hash(token))
        if row is None or row.revoked_at is not None or (kind and row.kind != kind):
            raise Unauthorized("Sign in again: the token is unknown or was revoked")
        if to_utc(row.expires_at) <= now:
            raise Unauthorized("Sign in again: the token has expired")
        if row.kind == "session" and now - to_utc(row.last_seen_at) > timedelta(
            minutes=self.settings.session_idle_minutes
        ):
            raise Unauthorized("Signed out after inactivity; sign in again")
        user = repository.user_by_id(session, row.user_id)
        if user is None or not user.active:
            raise Unauthorized("The account is disabled")
        if now - to_utc(row.last_seen_at) > _TOUCH_EVERY:
            row.last_seen_at = now
        return self._principal(user, row.id), row

    def revoke(self, session: Session, principal: Principal) -> None:
        if principal.token_id is not None:
            repository.revoke_token(session, principal.token_id, utcnow())
        record(
            session,
            actor_of(principal),
            [AuditRecord("auth.sign_out", "success", "StaffUser", principal.username)],
        )
