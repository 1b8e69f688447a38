"""Registering sending institutions and authenticating them by API key; the staff API's
operations on them (permission checked and audited, at the end)."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.orm import Session

from mch_service.audit.service import AuditRecord, record
from mch_service.auth.permissions import Permission, Principal
from mch_service.auth.service import actor_of
from mch_service.errors import Conflict, MchError, NotFound, Unauthorized
from mch_service.institutions import repository
from mch_service.institutions.models import Institution, InstitutionApiKey, Street
from mch_service.institutions.schemas import (
    ApiKeyRead,
    InstitutionCreate,
    InstitutionKind,
    InstitutionRead,
    IssuedKeyRead,
    KeysRevoked,
    StreetRead,
    StreetWrite,
)
from mch_service.streets import street_problem
from mch_service.timeutil import utcnow

_ID_PATTERN = re.compile(r"[A-Za-z0-9\-\.]{1,64}")  # fullmatch: `$` lets "id\n" by
KEY_PREFIX = "mch_"


@dataclass(frozen=True)
class Sender:
    """An authenticated institution, as the FHIR interface sees it."""

    institution_id: str
    name: str


@dataclass(frozen=True)
class IssuedKey:
    institution_id: str
    api_key: str
    key_id: int


def _hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def _issue(session: Session, institution_id: str) -> IssuedKey:
    api_key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = InstitutionApiKey(
        institution_id=institution_id,
        key_prefix=api_key[:12],
        key_hash=_hash_key(api_key),
        created_at=utcnow(),
    )
    repository.add_key(session, row)
    return IssuedKey(institution_id, api_key, row.id)


INSTITUTION_KINDS: tuple[str, ...] = ("hospital", "mch_hospital", "chc", "other")


def add_institution(
    session: Session, institution_id: str, name: str, kind: InstitutionKind | str = "other"
) -> IssuedKey:
    if not _ID_PATTERN.fullmatch(institution_id):
        raise MchError(
            "Institution id must be 1-64 letters, digits, '-' or '.' (it appears in audit and "
            "provenance records)"
        )
    if kind not in INSTITUTION_KINDS:
        raise MchError("Institution kind must be one of " + ", ".join(INSTITUTION_KINDS))
    if repository.get(session, institution_id) is not None:
        raise Conflict(f"Institution {institution_id!r} already exists")
    repository.add_institution(
        session,
        Institution(id=institution_id, name=name, kind=kind, active=True, created_at=utcnow()),
    )
    return _issue(session, institution_id)


def rotate_key(session: Session, institution_id: str, revoke_old: bool = False) -> IssuedKey:
    """Issue a new key. Old keys stay valid unless ``revoke_old``, so a site can switch over
    without downtime and revoke the old key afterwards."""
    _get(session, institution_id)
    if revoke_old:
        revoke_keys(session, institution_id)
    return _issue(session, institution_id)


def revoke_keys(session: Session, institution_id: str, key_id: int | None = None) -> int:
    _get(session, institution_id)
    _forget_checked_keys_with(session)
    return repository.revoke_keys(session, institution_id, key_id, utcnow())


def set_active(session: Session, institution_id: str, active: bool) -> None:
    _get(session, institution_id).active = active
    _forget_checked_keys_with(session)


def list_institutions(session: Session) -> list[Institution]:
    return repository.all_institutions(session)


def list_keys(session: Session, institution_id: str) -> list[InstitutionApiKey]:
    return repository.keys_of(session, institution_id)


def _get(session: Session, institution_id: str) -> Institution:
    inst = repository.get(session, institution_id)
    if inst is None:
        raise NotFound(f"No institution {institution_id!r}")
    return inst


# Recently checked keys: key hash -> (sender, monotonic time it was checked). Revoking a key
# or disabling an institution clears it here at once; other processes see the change when
# their entry is older than MCH_API_KEY_CACHE_SECONDS.
_CHECKED: dict[str, tuple[Sender, float]] = {}
_MAX_CHECKED = 10_000
# The cache's clock (tests set it to step through the window exactly).
clock = time.monotonic


def forget_checked_keys() -> None:
    _CHECKED.clear()


def _forget_checked_keys_with(session: Session) -> None:
    """Forget now, and again when the session commits: a request checking the key between
    the change and the commit still reads the old state and would remember it."""
    forget_checked_keys()
    event.listen(session, "after_commit", lambda _s: forget_checked_keys(), once=True)


def cached_sender(api_key: str, max_age: float) -> Sender | None:
    """The sender of a key checked less than ``max_age`` seconds ago, else None."""
    if max_age <= 0:
        return None
    hit = _CHECKED.get(_hash_key(api_key))
    if hit is not None and clock() - hit[1] < max_age:
        return hit[0]
    return None


def authenticate(session: Session, api_key: str) -> Sender:
    row = repository.sender_of_key(session, _hash_key(api_key))
    if row is None or not row.active:
        raise Unauthorized("The API key is missing, wrong, revoked, or its institution is disabled")
    sender = Sender(row.id, row.name)
    if len(_CHECKED) >= _MAX_CHECKED:
        _CHECKED.clear()
    _CHECKED[_hash_key(api_key)] = (sender, clock())
    return sender


# -- the staff API (administrators): permission checked, each change audited -------------------


def _audited(session: Session, by: Principal, action: str, institution_id: str) -> None:
    record(session, actor_of(by), [AuditRecord(action, "success", "Institution", institution_id)])


def institutions_for_staff(session: Session, by: Principal) -> list[InstitutionRead]:
    """Every institution: the directory (id, name, kind, active) for any staff member, with
    the key prefixes for administrators."""
    admin = by.can(Permission.MANAGE_INSTITUTIONS)
    return [
        InstitutionRead(
            id=i.id,
            name=i.name,
            kind=i.kind,  # type: ignore[arg-type]
            active=i.active,
            keys=[
                ApiKeyRead(key_id=k.id, prefix=k.key_prefix, revoked=k.revoked_at is not None)
                for k in list_keys(session, i.id)
            ]
            if admin
            else None,
        )
        for i in list_institutions(session)
    ]


def _issued(issued: IssuedKey) -> IssuedKeyRead:
    return IssuedKeyRead(id=issued.institution_id, api_key=issued.api_key, key_id=issued.key_id)


def add_for_staff(session: Session, by: Principal, body: InstitutionCreate) -> IssuedKeyRead:
    by.require(Permission.MANAGE_INSTITUTIONS)
    issued = add_institution(session, body.id, body.name, body.kind)
    _audited(session, by, "institution.add", body.id)
    return _issued(issued)


def rotate_key_for_staff(
    session: Session, by: Principal, institution_id: str, revoke_old: bool
) -> IssuedKeyRead:
    by.require(Permission.MANAGE_INSTITUTIONS)
    issued = rotate_key(session, institution_id, revoke_old)
    _audited(session, by, "institution.rotate_key", institution_id)
    return _issued(issued)


def revoke_keys_for_staff(
    session: Session, by: Principal, institution_id: str, key_id: int | None
) -> KeysRevoked:
    by.require(Permission.MANAGE_INSTITUTIONS)
    revoked = revoke_keys(session, institution_id, key_id)
    _audited(session, by, "institution.revoke_keys", institution_id)
    return KeysRevoked(revoked=revoked)


# -- reference data: names of institutions and streets ----------------------------------------


@dataclass(frozen=True)
class ReferenceNames:
    """The names behind the codes, for lists, reports and exports: institution id -> (name,
    kind), street code -> (name, responsible centre id). Small tables, read whole."""

    institutions: dict[str, tuple[str, str]]
    streets: dict[str, tuple[str, str | None]]

    def institution_name(self, institution_id: str | None) -> str | None:
        hit = self.institutions.get(institution_id or "")
        return hit[0] if hit else None

    def institution_kind(self, institution_id: str | None) -> str | None:
        hit = self.institutions.get(institution_id or "")
        return hit[1] if hit else None

    def street_name(self, code: str | None) -> str | None:
        hit = self.streets.get(code or "")
        return hit[0] if hit else None

    def centre_of(self, street_code: str | None) -> str | None:
        """The id of the community health centre responsible for the street (None if the
        street is not registered or has none)."""
        hit = self.streets.get(street_code or "")
        return hit[1] if hit else None

    def centre_name_of(self, street_code: str | None) -> str | None:
        return self.institution_name(self.centre_of(street_code))


def reference_names(session: Session) -> ReferenceNames:
    institutions, streets = repository.names(session)
    return ReferenceNames(
        institutions={row[0]: (row[1], row[2]) for row in institutions},
        streets={row[0]: (row[1], row[2]) for row in streets},
    )


def list_streets(session: Session) -> list[Street]:
    return repository.all_streets(session)


def set_street(
    session: Session,
    code: str,
    name: str,
    centre_id: str | None = None,
    name_en: str | None = None,
    known_streets: tuple[str, ...] | list[str] = (),
) -> Street:
    """Register a street (or rename it, or change its centre). The code must be a usable street
    code (and one of MCH_STREETS when the site lists them); the centre an institution."""
    problem = street_problem(code, known_streets)
    if problem:
        raise MchError(problem, code="value")
    if centre_id is not None and repository.get(session, centre_id) is None:
        raise MchError(f"centre_id: no institution {centre_id!r}", code="value")
    street = repository.get_street(session, code)
    if street is None:
        street = Street(code=code, name=name, name_en=name_en, centre_id=centre_id)
        street.updated_at = utcnow()
        repository.add_street(session, street)
        return street
    street.name, street.name_en, street.centre_id = name, name_en, centre_id
    street.updated_at = utcnow()
    session.flush()
    return street


def _street_read(street: Street, names: ReferenceNames) -> StreetRead:
    return StreetRead(
        code=street.code,
        name=street.name,
        name_en=street.name_en,
        centre_id=street.centre_id,
        centre_name=names.institution_name(street.centre_id),
    )


def streets_for_staff(session: Session, by: Principal) -> list[StreetRead]:
    """The street register, for any staff member (reference data, no personal data)."""
    del by  # any signed-in staff member
    names = reference_names(session)
    return [_street_read(s, names) for s in list_streets(session)]


def set_street_for_staff(
    session: Session,
    by: Principal,
    code: str,
    body: StreetWrite,
    known_streets: tuple[str, ...] | list[str] = (),
) -> StreetRead:
    by.require(Permission.MANAGE_INSTITUTIONS)
    street = set_street(session, code, body.name, body.centre_id, body.name_en, known_streets)
    record(session, actor_of(by), [AuditRecord("street.set", "success", "Street", code)])
    return _street_read(street, reference_names(session))
