"""The keyed hash of a woman's name (``patient_record.name_hash``): staff find her by name
through it, an exact match, never by comparing or scanning names in clear.

The name is NFKC-normalised (full-width letters and digits become their ordinary forms, the
ideographic space an ordinary one) and every whitespace character removed, so "王 小红",
"王小红" and "王　小红" are one name; then hashed as ``name|<name>`` with the same key as the
resident-ID hash (``Crypto.keyed_hash``), which changes with the root secret.

Records stored before this column existed (migration 0018) have no hash until
``mch-service pregnancies reindex-names`` runs (``reindex_names``); ``mch-service keys
rotate`` recomputes every hash under the new secret the same way.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from sqlalchemy import select, update

from mch_service.crypto import Crypto
from mch_service.database import Database
from mch_service.domain.models import PatientRecord

CHUNK = 500


def normalise_name(name: str) -> str:
    """NFKC, then every whitespace character removed (Unicode whitespace, so U+3000 too)."""
    return "".join(unicodedata.normalize("NFKC", name).split())


def name_hash(keyed_hash: Callable[[str], str], name: str | None) -> str | None:
    """The keyed hash of a name as staff search it; None for no name (or only spaces)."""
    normal = normalise_name(name or "")
    return keyed_hash("name|" + normal) if normal else None


def sealed_name_hash(crypto: Crypto, ref: str, sealed: bytes | None) -> str | None:
    """The hash of a patient record's sealed name (as the extractor seals it: the seal is bound
    to the record and the field, see extraction.patients)."""
    if sealed is None:
        return None
    name = crypto.open_sealed(sealed, f"patient_record/{ref}/name".encode()).decode()
    return name_hash(crypto.keyed_hash, name)


def reindex_names(db: Database, crypto: Crypto) -> dict[str, int]:
    """Recompute the name hash of every patient record from its sealed name, one batch per
    transaction (an interrupted run is finished by running it again). Returns how many records
    were read and how many hashes were written (missing or under an earlier secret)."""
    pr = PatientRecord
    read = changed = 0
    after = -1
    while True:
        with db.transaction() as session:
            rows = session.execute(
                select(pr.resource_pk, pr.ref, pr.name_sealed, pr.name_hash)
                .where(pr.resource_pk > after)
                .order_by(pr.resource_pk)
                .limit(CHUNK)
            ).all()
            if not rows:
                return {"patient_records": read, "name_hashes": changed}
            for pk, ref, sealed, current in rows:
                fresh = sealed_name_hash(crypto, ref, sealed)
                if fresh == current:
                    continue
                # only if the hash is still the one read: a record updated meanwhile (the
                # service keeps serving) was hashed from its new name by the extraction
                unchanged = pr.name_hash.is_(None) if current is None else pr.name_hash == current
                done = session.execute(
                    update(pr).where(pr.resource_pk == pk, unchanged).values(name_hash=fresh)
                )
                changed += done.rowcount  # type: ignore[attr-defined]
            read += len(rows)
            after = rows[-1][0]
