"""The pregnancy record as staff read it: the woman (masked unless the reader may see her
data), dating, and every fact on one timeline with its source institution and resource."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from mch_service.audit.service import AuditRecord, record
from mch_service.auth.permissions import Permission, Principal
from mch_service.auth.service import actor_of
from mch_service.crypto import Crypto
from mch_service.domain import repository
from mch_service.domain.fact_tables import FACT_DATE, FACT_TABLES, TIMELINE_FIELDS
from mch_service.domain.identity import resident_id_valid
from mch_service.domain.models import NewbornObservation, PatientRecord, Pregnancy
from mch_service.domain.name_index import name_hash
from mch_service.domain.schemas import PregnancyLookup
from mch_service.errors import MchError, NotFound
from mch_service.store.service import (
    ResourceStore,
    patient_pks_by_identifier,
    references_of,
)


def mask(value: str | None, keep_start: int = 1, keep_end: int = 0) -> str | None:
    """'王芳' -> '王*', '110101199003074578' -> '110101********4578' (with 6, 4)."""
    if not value:
        return value
    if len(value) <= keep_start + keep_end:
        return value[0] + "*" * (len(value) - 1)
    return (
        value[:keep_start]
        + "*" * (len(value) - keep_start - keep_end)
        + (value[-keep_end:] if keep_end else "")
    )


def _iso(v: Any) -> Any:
    return v.isoformat() if isinstance(v, date) else v


def open_personal(crypto: Crypto, record: PatientRecord | None, field: str) -> str | None:
    """One sealed personal field of a patient record in clear (the seal binds it to the record
    and field: see extraction.patients.extract_patient)."""
    blob = getattr(record, f"{field}_sealed", None) if record is not None else None
    if not blob or record is None:
        return None
    return crypto.open_sealed(blob, f"patient_record/{record.ref}/{field}".encode()).decode()


def masked_identity(
    session: Session, crypto: Crypto, woman_keys: set[str]
) -> dict[str, dict[str, str | None]]:
    """Masked name and resident ID of each woman, from her most recently received record
    (only that one is opened)."""
    latest: dict[str, PatientRecord] = {}
    if woman_keys:
        for r in repository.patient_records_by_receipt(session, woman_keys):
            latest[r.woman_key or ""] = r
    return {
        key: {
            "name": mask(open_personal(crypto, r, "name")),
            "resident_id": mask(open_personal(crypto, r, "resident_id"), 6, 4),
        }
        for key, r in latest.items()
    }


def call_identity(
    session: Session, crypto: Crypto, woman_keys: set[str]
) -> dict[str, dict[str, str | None]]:
    """Full name and phone of each woman, from her most recently received record: the call
    sheet of a work list, for staff allowed to read personal data (the caller audits it)."""
    latest: dict[str, PatientRecord] = {}
    if woman_keys:
        for r in repository.patient_records_by_receipt(session, woman_keys):
            latest[r.woman_key or ""] = r
    return {
        key: {
            "full_name": open_personal(crypto, r, "name"),
            "phone": open_personal(crypto, r, "phone"),
        }
        for key, r in latest.items()
    }


def in_jurisdiction(principal: Principal, pregnancy: Pregnancy) -> bool:
    return principal.in_jurisdiction(pregnancy.street, set((pregnancy.institutions or "").split()))


def read_pregnancy(
    session: Session, crypto: Crypto, principal: Principal, pregnancy_id: str
) -> dict[str, Any]:
    principal.require(Permission.READ_PREGNANCIES)
    p = repository.pregnancy(session, pregnancy_id)
    # Outside a reviewer's jurisdiction the answer is the same as for no such pregnancy.
    if p is None or not in_jurisdiction(principal, p):
        raise NotFound(f"No pregnancy {pregnancy_id}")
    full = principal.can(Permission.READ_PERSONAL_DATA)
    records = repository.woman_records_by_receipt(session, p.woman_key)
    latest = records[-1] if records else None

    resident = next(
        (
            open_personal(crypto, r, "resident_id")
            for r in reversed(records)
            if r.resident_id_sealed
        ),
        None,
    )
    woman: dict[str, Any] = {
        "key": p.woman_key,
        "name": open_personal(crypto, latest, "name"),
        "resident_id": resident,
        "phone": open_personal(crypto, latest, "phone"),
        "address": open_personal(crypto, latest, "address"),
        "street": p.street,
        "birth_date": _iso(latest.birth_date) if latest else None,
        "resident_id_valid": any(r.resident_id_valid for r in records),
        # the domain keys references per sender ("<institution>/Patient/123"); the sender's
        # own "Patient/123" is what staff can look up with it
        "records": [
            {
                "institution": r.institution_id,
                "resource": r.ref.removeprefix(f"{r.institution_id}/"),
            }
            for r in records
        ],
        "masked": not full,
    }
    if not full:
        woman.update(
            name=mask(woman["name"]),
            resident_id=mask(resident, 6, 4),
            phone=mask(woman["phone"], 3, 4),
            address=None,
            birth_date=(woman["birth_date"] or "")[:4] or None,
        )
    timeline: list[dict[str, Any]] = []
    pks: set[int] = set()
    for name, table in FACT_TABLES.items():
        if name == "encounter_record":
            continue
        for row in repository.facts_of_pregnancy(session, table, pregnancy_id):
            pks.add(row.resource_pk)
            item = {
                "date": _iso(getattr(row, FACT_DATE[name])),
                "kind": name,
                "institution": row.institution_id,
                "resource_pk": row.resource_pk,
                "version": row.version_id,
            }
            # the fact's own kind (a postpartum visit's visit / 42-day check, a dating's lmp,
            # an Apgar's minute) is its "type": "kind" is always the fact table's name
            item.update(
                {
                    ("type" if f == "kind" else f): _iso(getattr(row, f))
                    for f in TIMELINE_FIELDS[name]
                }
            )
            timeline.append(item)
    refs = references_of(session, pks) if pks else {}
    for item in timeline:
        item["resource"] = refs.get(item.pop("resource_pk"))
    timeline.sort(key=lambda i: (i["date"] or "", i["kind"], i["resource"] or ""))
    # each newborn's Apgar scores by minute (newborn observations: subject is the baby)
    scores: dict[str, dict[str, float | None]] = {}
    for o in repository.facts_of_pregnancy(session, NewbornObservation, pregnancy_id):
        if o.kind.startswith("apgar_") and o.subject:
            scores.setdefault(o.subject, {}).setdefault(o.kind, o.value)
    delivery = repository.delivery_of(session, pregnancy_id)
    births = repository.births_of(session, pregnancy_id)
    death = repository.death_of(session, pregnancy_id)
    # the pregnancy's flags, and those of its records and of the woman's Patient records (a
    # resident ID failing its check digit is flagged on her Patient)
    flagged = sorted(pks | {r.resource_pk for r in records})
    issues = [
        {"rule": i.rule, "message": i.message, "element": i.element, "resource_pk": i.resource_pk}
        for i in repository.issues_of(session, pregnancy_id)
    ]
    seen = {(i["rule"], i["resource_pk"]) for i in issues}
    issues += [
        i
        for i in repository.issues_of_resources(session, flagged)
        if i["pregnancy_id"] is None and (i["rule"], i["resource_pk"]) not in seen
    ]
    issue_refs = references_of(session, {int(i["resource_pk"]) for i in issues if i["resource_pk"]})
    record(
        session,
        actor_of(principal),
        [
            AuditRecord(
                "pregnancy.view_personal" if full else "pregnancy.view",
                "success",
                "Pregnancy",
                pregnancy_id,
            )
        ],
    )
    return {
        "id": p.id,
        "woman": woman,
        "dating": {"lmp": _iso(p.lmp), "edd": _iso(p.edd), "source": p.dating_source},
        "first_contact": {
            "date": _iso(p.first_contact_date),
            "institution": p.first_contact_institution,
        },
        "end": {"date": _iso(p.end_date), "kind": p.end_kind},
        "institutions": (p.institutions or "").split(),
        "excluded_from_indicators": p.excluded,
        "delivery": None
        if delivery is None
        else {
            "date": _iso(delivery.delivery_date),
            "admission": _iso(delivery.admission_date),
            "discharge": _iso(delivery.discharge_date),
            "institution": delivery.institution_id,
            "mode": delivery.mode,
            "facility": delivery.facility,
            "ga_days": delivery.ga_days,
            "live_births": delivery.live_births,
            "stillbirths": delivery.stillbirths,
        },
        "births": [
            {
                "seq": b.seq,
                "live": b.live,
                "sex": b.sex,
                "weight_g": b.weight_g,
                "apgar": b.apgar,
                "apgar_1": scores.get(b.newborn_ref or "", {}).get("apgar_1"),
                "apgar_5": scores.get(b.newborn_ref or "", {}).get("apgar_5"),
                "neonatal_death_age_days": b.neonatal_death_age_days,
            }
            for b in births
        ],
        "death": None
        if death is None
        else {
            "date": _iso(death.death_date),
            "timing": death.timing,
            "maternal": death.maternal,
            "cause": death.cause_code,
            "institution": death.institution_id,
        },
        "data_quality": [
            {
                "rule": i["rule"],
                "message": i["message"],
                "element": i["element"],
                "resource": issue_refs.get(int(i["resource_pk"] or 0)),
            }
            for i in issues
        ],
        "timeline": timeline,
    }


def masked_summaries(
    session: Session, crypto: Crypto, pregnancy_ids: list[str]
) -> list[dict[str, Any]]:
    """One line per pregnancy for drill-down lists: identifiers always masked."""
    out = []
    for start in range(0, len(pregnancy_ids), 500):
        chunk = pregnancy_ids[start : start + 500]
        pregs = {r[0]: r for r in repository.pregnancy_summaries(session, chunk)}
        identity = masked_identity(session, crypto, {r[3] for r in pregs.values()})
        for pid in chunk:
            p = pregs.get(pid)
            if p is None:
                continue
            masked = identity.get(p[3], {})
            out.append(
                {
                    "pregnancy_id": pid,
                    "name": masked.get("name"),
                    "resident_id": masked.get("resident_id"),
                    "street": p[1],
                    "end_date": _iso(p[2]),
                }
            )
    return out


LOOKUP_LIMIT = 50


def _pregnancies_by_identifier(
    session: Session,
    store: ResourceStore,
    crypto: Crypto,
    principal: Principal,
    query: PregnancyLookup,
) -> list[Pregnancy]:
    rid_hash: str | None = None
    pks: list[int] = []
    ref: str | None = None
    if query.resident_id:
        # as typed from a card: spaces anywhere (18 characters read in groups) are not part of it
        value = "".join(query.resident_id.split()).upper()
        if resident_id_valid(value):
            rid_hash = crypto.keyed_hash("resident-id|" + value)
        # also as sent, on any institution's Patient (an ID failing its check digit links
        # nothing, but its records can still be found)
        pks = patient_pks_by_identifier(
            store, session, "".join(query.resident_id.split()), None, 200
        )
    elif query.mrn:
        pks = patient_pks_by_identifier(store, session, query.mrn.strip(), query.institution, 200)
    else:
        if not query.institution:
            raise MchError("A Patient id is its institution's own: send institution too", 400)
        pid = (query.patient or "").strip().removeprefix("Patient/")
        ref = f"{query.institution}/Patient/{pid}"
    records = repository.patient_records_for_lookup(session, rid_hash, pks, ref, 200)
    keys = sorted({r.woman_key for r in records if r.woman_key})
    found = repository.pregnancies_of_women(session, keys, 500)
    return [p for p in found if in_jurisdiction(principal, p)]


def _pregnancies_by_name(
    session: Session, crypto: Crypto, principal: Principal, query: PregnancyLookup
) -> list[Pregnancy]:
    """By the keyed hash of her normalised name (name_index), jurisdiction applied in SQL (a
    common name has many namesakes elsewhere), one more than listed to tell a cut list."""
    wanted = name_hash(crypto.keyed_hash, query.name)
    if wanted is None:
        raise MchError("The name is empty: send her full name", 400)
    jurisdiction = (
        None if principal.sees_everything else (principal.streets, principal.institutions)
    )
    found = repository.pregnancies_by_name(
        session, wanted, query.birth_date, query.institution, jurisdiction, LOOKUP_LIMIT + 1
    )
    return [p for p in found if in_jurisdiction(principal, p)]


def lookup_pregnancies(
    session: Session,
    store: ResourceStore,
    crypto: Crypto,
    principal: Principal,
    query: PregnancyLookup,
) -> dict[str, Any]:
    """A woman's pregnancies by her resident ID (身份证号), an institution's MRN or its
    Patient id, or her name (with her birth date to tell namesakes apart): an exact match
    through keyed hashes (the value is never compared in clear nor stored), within the
    caller's jurisdiction (a reviewer finds only hers: others answer as no match), audited
    without the value."""
    principal.require(Permission.READ_PREGNANCIES)
    given = [k for k in ("resident_id", "mrn", "patient", "name") if getattr(query, k)]
    if len(given) != 1:
        raise MchError("Send exactly one of resident_id, mrn, patient or name", 400)
    kind = given[0]
    if query.birth_date is not None and kind != "name":
        raise MchError("birth_date narrows a search by name: send it with name only", 400)
    if kind == "name":
        visible = _pregnancies_by_name(session, crypto, principal, query)
    else:
        visible = _pregnancies_by_identifier(session, store, crypto, principal, query)
    truncated = len(visible) > LOOKUP_LIMIT
    how = f"by {kind}" + (" and birth_date" if query.birth_date else "")
    count = f"more than {LOOKUP_LIMIT}" if truncated else str(len(visible))
    record(
        session,
        actor_of(principal),
        [
            AuditRecord(
                "pregnancy.lookup",
                "success",
                "Pregnancy",
                None,
                200,
                f"{how}: {count} found",
            )
        ],
    )
    shown = visible[:LOOKUP_LIMIT]
    # masked, as in every list: enough to tell which woman a match is, nothing more
    identity = masked_identity(session, crypto, {p.woman_key for p in shown if p.woman_key})
    return {
        "matches": [
            {
                "pregnancy_id": p.id,
                "name": identity.get(p.woman_key or "", {}).get("name"),
                "resident_id": identity.get(p.woman_key or "", {}).get("resident_id"),
                "lmp": _iso(p.lmp),
                "edd": _iso(p.edd),
                "first_contact_date": _iso(p.first_contact_date),
                "end_date": _iso(p.end_date),
                "end_kind": p.end_kind,
                "street": p.street,
                "institutions": (p.institutions or "").split(),
            }
            for p in shown
        ],
        "truncated": truncated,
    }
