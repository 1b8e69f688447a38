"""opaque pregnancy ids

Pregnancies were named ``P<smallest store key of their records>`` in every URL and payload:
sequential, so easy to enumerate. They are now named by an HMAC of that internal name under a
random key kept in ``pregnancy_id_key`` (see mch_service.domain.ids). This migration makes the
key and renames every pregnancy id already stored (the pregnancy record, its facts, the case
register and the work lists), so that cases and saved links follow their pregnancy, and seals
the case register's text again under the new ids (each blob is bound to its pregnancy id, see
mch_service.cases.sealing; it needs MCH_SECRET_KEY when such rows exist). Audit rows keep the
id they were written with.

Revision ID: 0011
Revises: 0006
Create Date: 2026-12-02 16:00:00
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# Every column holding a pregnancy id (the pregnancy table's own key first).
COLUMNS = (
    ("pregnancy", "id"),
    ("delivery", "pregnancy_id"),
    ("birth", "pregnancy_id"),
    ("death", "pregnancy_id"),
    ("data_quality_issue", "pregnancy_id"),
    ("care_episode", "pregnancy_id"),
    ("prenatal_visit", "pregnancy_id"),
    ("postpartum_visit", "pregnancy_id"),
    ("encounter_record", "pregnancy_id"),
    ("dating_observation", "pregnancy_id"),
    ("lab_result", "pregnancy_id"),
    ("risk_assessment", "pregnancy_id"),
    ("delivery_record", "pregnancy_id"),
    ("newborn_observation", "pregnancy_id"),
    ("treatment", "pregnancy_id"),
    ("diagnosis", "pregnancy_id"),
    ("case_record", "pregnancy_id"),
    ("case_event", "pregnancy_id"),
    ("follow_up", "pregnancy_id"),
    ("work_item", "pregnancy_id"),
)
_INTERNAL = re.compile(r"P[0-9]+")


def _public_id(key: bytes, internal: str) -> str:
    # The same as mch_service.domain.ids.public_id (kept here: a migration must not change
    # when the application's code does).
    digest = hmac.new(key, internal.encode(), hashlib.sha256).digest()[:16]
    return base64.b32encode(digest).decode().rstrip("=").lower()


# Sealed text bound to its pregnancy id: (table, key column, sealed column, associated data
# format). The same as mch_service.cases.sealing, copied for the reason given above.
SEALED = (
    ("follow_up", "id", "notes_sealed", "follow_up/{}"),
    ("follow_up", "id", "outcome_sealed", "follow_up/{}/outcome"),
    ("case_record", "pregnancy_id", "close_reason_sealed", "case_record/{}/close_reason"),
    ("case_event", "id", "reason_sealed", "case_event/{}/reason"),
)


def _crypto():  # type: ignore[no-untyped-def]
    from mch_service.config import get_settings
    from mch_service.crypto import Crypto

    settings = get_settings()
    return Crypto(settings.secret_key, settings.previous_secret_keys)


def _reseal(conn: sa.Connection, renamed: dict[str, str]) -> None:
    crypto = None
    for table, key, column, aad in SEALED:
        rows = conn.execute(
            sa.text(f"SELECT {key}, pregnancy_id, {column} FROM {table} WHERE {column} IS NOT NULL")
        ).all()
        updates = []
        for row_key, new_id, blob in rows:
            old_id = renamed.get(new_id)
            if old_id is None:
                continue
            crypto = crypto or _crypto()
            clear = crypto.open_sealed(bytes(blob), aad.format(old_id).encode())
            updates.append({"k": row_key, "v": crypto.seal(clear, aad.format(new_id).encode())})
        if updates:
            conn.execute(sa.text(f"UPDATE {table} SET {column} = :v WHERE {key} = :k"), updates)


def upgrade() -> None:
    op.create_table(
        "pregnancy_id_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pregnancy_id_key")),
    )
    key = secrets.token_hex(32)
    conn = op.get_bind()
    conn.execute(sa.text("INSERT INTO pregnancy_id_key (id, key) VALUES (1, :key)"), {"key": key})
    raw = bytes.fromhex(key)
    renamed: dict[str, str] = {}  # new id -> old id
    for table, column in COLUMNS:
        old = [
            v
            for (v,) in conn.execute(
                sa.text(f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL")
            )
            if _INTERNAL.fullmatch(v)
        ]
        renamed.update({_public_id(raw, v): v for v in old})
        if old:
            conn.execute(
                sa.text(f"UPDATE {table} SET {column} = :new WHERE {column} = :old"),
                [{"old": v, "new": _public_id(raw, v)} for v in old],
            )
    _reseal(conn, renamed)


def downgrade() -> None:
    # The ids stay as they are (an HMAC cannot be reversed); the older code names pregnancies
    # P<key> again at the next `mch-service domain rebuild`.
    op.drop_table("pregnancy_id_key")
