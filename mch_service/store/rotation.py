"""Key rotation: re-seal every stored version under the current root secret and recompute the
keyed hashes (identifier index, content and create keys), which change with the secret.

Operators: move the old ``MCH_SECRET_KEY`` into ``MCH_PREVIOUS_SECRET_KEYS``, set a new one,
run ``mch-service keys rotate`` (idempotent; safe to run again if interrupted), then remove the
old secret from ``MCH_PREVIOUS_SECRET_KEYS``.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import delete, insert, select, update

from mch_service.database import Database
from mch_service.store.indexing import canonical_content
from mch_service.store.models import FhirIdentifier, FhirResource, FhirResourceVersion
from mch_service.store.service import ResourceStore

CHUNK = 500


def _body(content: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in content.items() if k != "id"}


def rotate_keys(db: Database, store: ResourceStore) -> dict[str, int]:
    counts = {"resources": 0, "versions": 0, "identifiers": 0}
    after = 0
    while True:
        with db.transaction() as session:
            rows = session.execute(
                select(
                    FhirResource.pk,
                    FhirResource.resource_type,
                    FhirResource.fhir_id,
                    FhirResource.institution_id,
                    FhirResource.version_id,
                    FhirResource.deleted,
                    FhirResource.create_key,
                )
                .where(FhirResource.pk > after)
                .order_by(FhirResource.pk)
                .limit(CHUNK)
            ).all()
            if not rows:
                return counts
            for pk, rtype, fid, inst, current_version, deleted, create_key in rows:
                versions = session.execute(
                    select(
                        FhirResourceVersion.pk,
                        FhirResourceVersion.version_id,
                        FhirResourceVersion.content,
                    )
                    .where(FhirResourceVersion.resource_pk == pk)
                    .order_by(FhirResourceVersion.version_id)
                ).all()
                current: dict[str, Any] | None = None
                for vpk, vid, blob in versions:
                    if blob is None:
                        continue
                    plain = store.unseal(rtype, fid, vid, blob)
                    content = orjson.loads(plain)
                    values: dict[str, Any] = {
                        "content_hash": store.crypto.keyed_hash(
                            canonical_content(_body(content)).decode()
                        )
                    }
                    if not store.crypto.is_current(blob):
                        values["content"] = store.seal(rtype, fid, vid, plain)
                        counts["versions"] += 1
                    session.execute(
                        update(FhirResourceVersion)
                        .where(FhirResourceVersion.pk == vpk)
                        .values(**values)
                    )
                    if vid == 1 and create_key is not None:
                        body = {k: v for k, v in content.items() if k not in ("id", "meta")}
                        session.execute(
                            update(FhirResource)
                            .where(FhirResource.pk == pk)
                            .values(
                                create_key=store.crypto.keyed_hash(canonical_content(body).decode())
                            )
                        )
                    if vid == current_version:
                        current = content
                session.execute(delete(FhirIdentifier).where(FhirIdentifier.resource_pk == pk))
                if current is not None and not deleted:
                    prep = store.prepare(rtype, current)
                    session.execute(
                        update(FhirResource)
                        .where(FhirResource.pk == pk)
                        .values(content_hash=prep.content_hash)
                    )
                    idents = [
                        {
                            "resource_pk": pk,
                            "institution_id": inst,
                            "resource_type": rtype,
                            "token_hash": store.token_hash(t),
                            "value_hash": store.value_hash(t.value),
                            "is_key": store.identifier_policy.is_key(rtype, t),
                        }
                        for t in prep.index.identifiers
                    ]
                    if idents:
                        session.execute(insert(FhirIdentifier), idents)
                    counts["identifiers"] += len(idents)
                counts["resources"] += 1
            after = rows[-1][0]
