"""Public pregnancy ids: opaque, stable, not guessable.

A pregnancy is named internally by the smallest store key among its records (``P1009``): that
name is deterministic, which is what keeps the case register, bookmarks and links valid when
``mch-service domain rebuild`` re-derives every pregnancy. It is also sequential, so it never
leaves the database: every URL, payload and export uses the public id, an HMAC-SHA256 of the
internal name under a random key kept in the database (``pregnancy_id_key``), cut to 128 bits
and written in 26 lower-case base32 characters.

Why a key of its own in the database, not one derived from ``MCH_SECRET_KEY``: rotating the
secret must not rename every pregnancy (the case register and every saved link would point at
nothing). Whoever can read that table can read the pregnancy table too, so it needs no more
protection than the ids it makes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable

from sqlalchemy.orm import Session

from mch_service.domain import repository

PUBLIC_ID_LENGTH = 26


def public_id(key: bytes, internal: str) -> str:
    digest = hmac.new(key, internal.encode(), hashlib.sha256).digest()[:16]
    return base64.b32encode(digest).decode().rstrip("=").lower()


def namer(key: bytes) -> Callable[[str], str]:
    return lambda internal: public_id(key, internal)


def new_key() -> str:
    return secrets.token_hex(32)


def load_key(session: Session) -> bytes:
    """The database's key, made on first use if missing (the migration makes it; a database
    emptied table by table, as the tests do, gets a new one)."""
    found = repository.pregnancy_id_key(session)
    if found is None:
        repository.add_pregnancy_id_key(session, new_key())
        found = repository.pregnancy_id_key(session)
        assert found is not None
    return bytes.fromhex(found)
