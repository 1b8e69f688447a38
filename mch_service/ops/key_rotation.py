"""Key rotation: re-seal everything sealed under an earlier root secret and recompute every
keyed hash, which change with the secret:

* the store: every resource version (content), the identifier index, content and create keys;
* the domain: ``patient_record``'s sealed personal data (resident ID, MRN, name, phone,
  address), its name hash (search by name), its resident-ID hash, and the woman key made
  from that hash (``rid:...``), renamed in every table that holds it (woman, pregnancy, death,
  case register, work lists, queue);
* the case register: follow-up notes and outcomes, close reasons, close/reopen reasons;
* the maternal death report cards: resident ID, name and review reason, and a card's woman key
  made from its resident ID.

Operators: move the old ``MCH_SECRET_KEY`` into ``MCH_PREVIOUS_SECRET_KEYS``, set a new one,
restart, run ``mch-service keys rotate``, restart without the old secret. Each batch is its
own transaction and a batch that is already done is a no-op, so an interrupted run is resumed
by running it again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from mch_service.cases.models import CaseEvent, CaseRecord, FollowUp, WorkItem
from mch_service.cases.sealing import (
    case_outcome_note_aad,
    case_outcome_place_aad,
    close_reason_aad,
    event_reason_aad,
    notes_aad,
    outcome_aad,
)
from mch_service.crypto import Crypto
from mch_service.database import Database
from mch_service.death_reports.models import ENTERED, MaternalDeathReport
from mch_service.domain.identity import woman_key
from mch_service.domain.models import AssemblyQueue, Death, PatientRecord, Pregnancy, Woman
from mch_service.domain.name_index import sealed_name_hash
from mch_service.store.indexing import canonical_content
from mch_service.store.models import FhirIdentifier, FhirResource, FhirResourceVersion
from mch_service.store.service import ResourceStore

if TYPE_CHECKING:
    from mch_service.domain.service import DomainService

CHUNK = 500
PERSONAL_FIELDS = ("resident_id", "mrn", "name", "phone", "address")
# Every table with a woman key (woman.key itself is handled apart: it is the primary key).
WOMAN_KEY_COLUMNS = (
    PatientRecord.woman_key,
    Pregnancy.woman_key,
    Death.woman_key,
    AssemblyQueue.woman_key,
    CaseRecord.woman_key,
    WorkItem.woman_key,
    MaternalDeathReport.woman_key,
)


def _body(content: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in content.items() if k != "id"}


def rotate_keys(
    db: Database, store: ResourceStore, domain: DomainService | None = None
) -> dict[str, int]:
    """Everything under the current secret; returns what was re-sealed or re-hashed.
    ``domain`` re-assembles a woman whose records were split between her old and new key
    (a record sent after the restart, before this run reached her); without it that case
    is refused rather than half done."""
    counts = _rotate_store(db, store)
    counts.update(_rotate_patient_records(db, store.crypto))
    counts.update(_rotate_woman_keys(db, store.crypto, domain))
    counts.update(_rotate_case_text(db, store.crypto))
    counts.update(_rotate_death_reports(db, store.crypto))
    return counts


def _rotate_store(db: Database, store: ResourceStore) -> dict[str, int]:
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
                        new_key = store.crypto.keyed_hash(canonical_content(body).decode())
                        # A create keyed on its references as sent (a conditional reference,
                        # 'Patient?_id=1') is stored resolved ('Patient/1'): re-keyed from the
                        # stored body it can equal another record's key. The key only spots
                        # a resend; the record already keyed so keeps it, this one goes
                        # without (a unique key must not stop the rotation, run after run).
                        taken = session.scalar(
                            select(FhirResource.pk).where(
                                FhirResource.institution_id == inst,
                                FhirResource.resource_type == rtype,
                                FhirResource.create_key == new_key,
                                FhirResource.pk != pk,
                            )
                        )
                        session.execute(
                            update(FhirResource)
                            .where(FhirResource.pk == pk)
                            .values(create_key=None if taken is not None else new_key)
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


def _resealed(crypto: Crypto, blob: bytes | None, aad: bytes) -> bytes | None:
    """The blob under the current key, or None when it already is (nothing to write)."""
    if blob is None or crypto.is_current(blob):
        return None
    return crypto.seal(crypto.open_sealed(blob, aad), aad)


def _resident_hash(crypto: Crypto, ref: str, sealed: bytes | None) -> str | None:
    """As the extractor computes it (mch_service.domain.extraction.patients), from the sealed ID."""
    if sealed is None:
        return None
    resident = crypto.open_sealed(sealed, f"patient_record/{ref}/resident_id".encode()).decode()
    return crypto.keyed_hash("resident-id|" + resident.upper())


def _rotate_patient_records(db: Database, crypto: Crypto) -> dict[str, int]:
    """Re-seal the personal data of every patient record and recompute its name hash (as
    ``mch-service pregnancies reindex-names`` does); re-hash the resident ID of records that
    are not a woman of the register (newborns, men), whose hash no key depends on. The
    women's resident-ID hashes change with their key, in _rotate_woman_keys."""
    pr = PatientRecord
    sealed_cols = [getattr(pr, f"{f}_sealed") for f in PERSONAL_FIELDS]
    resealed = rehashed = renamed = 0
    after = -1
    while True:
        with db.transaction() as session:
            rows = session.execute(
                select(
                    pr.resource_pk,
                    pr.ref,
                    pr.woman_key,
                    pr.resident_id_hash,
                    pr.name_hash,
                    *sealed_cols,
                )
                .where(pr.resource_pk > after)
                .order_by(pr.resource_pk)
                .limit(CHUNK)
            ).all()
            if not rows:
                return {
                    "patient_records": resealed,
                    "resident_hashes": rehashed,
                    "name_hashes": renamed,
                }
            for pk, ref, key, rid_hash, old_name_hash, *blobs in rows:
                values: dict[str, Any] = {}
                for field, blob in zip(PERSONAL_FIELDS, blobs, strict=True):
                    new = _resealed(crypto, blob, f"patient_record/{ref}/{field}".encode())
                    if new is not None:
                        values[f"{field}_sealed"] = new
                if rid_hash is not None and key is None:
                    fresh = _resident_hash(crypto, ref, blobs[0])
                    if fresh != rid_hash:
                        values["resident_id_hash"] = fresh
                        rehashed += 1
                name_hash = sealed_name_hash(crypto, ref, blobs[PERSONAL_FIELDS.index("name")])
                if name_hash != old_name_hash:
                    values["name_hash"] = name_hash
                    renamed += 1
                if values:
                    session.execute(update(pr).where(pr.resource_pk == pk).values(**values))
                    resealed += any(k.endswith("_sealed") for k in values)
            after = rows[-1][0]


def _rotate_woman_keys(
    db: Database, crypto: Crypto, domain: DomainService | None
) -> dict[str, int]:
    """A woman with a valid resident ID is keyed by its keyed hash: recompute it, and rename
    her key everywhere, one batch of women per transaction (all of one woman's rows move
    together, so a stop between batches leaves every woman whole under one key)."""
    pr = PatientRecord
    renamed = 0
    after = ""
    while True:
        with db.transaction() as session:
            keys = [
                k
                for k in session.scalars(
                    select(pr.woman_key)
                    .where(pr.woman_key > after, pr.woman_key.like("rid:%"))
                    .group_by(pr.woman_key)
                    .order_by(pr.woman_key)
                    .limit(CHUNK)
                )
                if k
            ]
            if not keys:
                return {"women": renamed}
            # the same lock the assembly takes, in the same order: a record of hers arriving
            # now waits for this batch (PostgreSQL; SQLite's writer lock does it anyway)
            session.execute(
                select(Woman.key).where(Woman.key.in_(keys)).order_by(Woman.key).with_for_update()
            )
            mapping: dict[str, tuple[str, str]] = {}
            seen: set[str] = set()
            for key, ref, sealed, record_pk in session.execute(
                select(pr.woman_key, pr.ref, pr.resident_id_sealed, pr.resource_pk)
                .where(pr.woman_key.in_(keys), pr.resident_id_sealed.is_not(None))
                .order_by(pr.woman_key, pr.resource_pk)
            ):
                if key is None or key in seen:
                    continue
                seen.add(key)
                fresh = _resident_hash(crypto, ref, sealed)
                assert fresh is not None
                new_key = woman_key(fresh, record_pk)
                if new_key != key:
                    mapping[key] = (new_key, fresh)
            for old, (new, fresh) in mapping.items():
                _rename_woman(session, old, new, fresh, domain)
            renamed += len(mapping)
            after = keys[-1]


def _rename_woman(
    session: Session, old: str, new: str, fresh_hash: str, domain: DomainService | None
) -> None:
    from mch_service.timeutil import utcnow

    pr = PatientRecord
    session.execute(
        update(pr).where(pr.woman_key == old).values(woman_key=new, resident_id_hash=fresh_hash)
    )
    for column in WOMAN_KEY_COLUMNS[1:]:
        session.execute(update(column.class_).where(column == old).values(woman_key=new))
    if session.get(Woman, new) is None:
        # changed_at: the indicator job sees her (under the new key) as changed
        session.execute(update(Woman).where(Woman.key == old).values(key=new, changed_at=utcnow()))
        return
    # Records of hers arrived under the new secret before this run reached her: one woman
    # again, assembled from all her records (pregnancy ids come from the facts: unchanged).
    if domain is None:
        raise RuntimeError(
            "a woman has records under both the old and the new key; run the rotation "
            "through `mch-service keys rotate`, which re-assembles her"
        )
    session.execute(delete(Woman).where(Woman.key == old))
    domain.assemble_women(session, {new})


def _rotate_case_text(db: Database, crypto: Crypto) -> dict[str, int]:
    """Reviewers' sealed text: follow-up notes and outcomes, close reasons, event reasons."""
    done = 0
    done += _reseal_table(
        db,
        crypto,
        FollowUp.id,
        FollowUp.pregnancy_id,
        {"notes_sealed": notes_aad, "outcome_sealed": outcome_aad},
    )
    done += _reseal_table(
        db,
        crypto,
        CaseRecord.pregnancy_id,
        CaseRecord.pregnancy_id,
        {
            "close_reason_sealed": close_reason_aad,
            "outcome_place_sealed": case_outcome_place_aad,
            "outcome_note_sealed": case_outcome_note_aad,
        },
    )
    done += _reseal_table(
        db, crypto, CaseEvent.id, CaseEvent.pregnancy_id, {"reason_sealed": event_reason_aad}
    )
    return {"case_texts": done}


def _death_report_aad(field: str) -> Any:
    return lambda report_id: f"maternal_death_report/{report_id}/{field}".encode()


def _rotate_death_reports(db: Database, crypto: Crypto) -> dict[str, int]:
    """The report cards' sealed fields, then each entered card's woman key from its resident
    ID (a card of a woman no feed knows is renamed by nothing else)."""
    done = _reseal_table(
        db,
        crypto,
        MaternalDeathReport.id,
        MaternalDeathReport.id,
        {
            f"{field}_sealed": _death_report_aad(field)
            for field in ("resident_id", "name", "review_reason")
        },
    )
    with db.transaction() as session:
        cards = session.execute(
            select(MaternalDeathReport.id, MaternalDeathReport.resident_id_sealed).where(
                MaternalDeathReport.kind == ENTERED,
                MaternalDeathReport.resident_id_sealed.is_not(None),
            )
        ).all()
        for report_id, blob in cards:
            if blob is None:
                continue
            aad = _death_report_aad("resident_id")(report_id)
            rid = crypto.open_sealed(blob, aad).decode()
            key = woman_key(crypto.keyed_hash("resident-id|" + rid), 0)
            session.execute(
                update(MaternalDeathReport)
                .where(MaternalDeathReport.id == report_id)
                .values(woman_key=key)
            )
    return {"death_reports": done}


def _reseal_table(
    db: Database,
    crypto: Crypto,
    pk: Any,
    pregnancy: Any,
    columns: dict[str, Any],
) -> int:
    model = pk.class_
    cols = [getattr(model, c) for c in columns]
    done = 0
    after: Any = None
    while True:
        with db.transaction() as session:
            stmt = select(pk, pregnancy, *cols).order_by(pk).limit(CHUNK)
            if after is not None:
                stmt = stmt.where(pk > after)
            rows = session.execute(stmt).all()
            if not rows:
                return done
            for key, pid, *blobs in rows:
                values = {
                    name: new
                    for (name, aad), blob in zip(columns.items(), blobs, strict=True)
                    if (new := _resealed(crypto, blob, aad(pid))) is not None
                }
                if values:
                    session.execute(update(model).where(pk == key).values(**values))
                    done += 1
            after = rows[-1][0]
