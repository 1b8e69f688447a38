"""Patient -> patient_record: who the record is about (resident ID, woman key, mother of a
newborn), her street and residence (in the district or not: the address is sealed, so it is
classified here, where it is in hand), and her personal data sealed field by field."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from mch_service.domain.extraction.rows import Extracted, Source, ViewRow, add_issue, local_ref
from mch_service.domain.identity import resident_id_valid, woman_key
from mch_service.domain.models import PatientRecord
from mch_service.domain.name_index import name_hash
from mch_service.streets import residence_of, street_problem

if TYPE_CHECKING:
    from mch_service.domain.extract import Extractor


def extract_patient(extractor: Extractor, src: Source, row: ViewRow, out: Extracted) -> None:
    ref = f"{src.institution_id}/Patient/{src.fhir_id}"
    resident, mrn = _resident_id_and_mrn(extractor, row)
    valid = bool(resident) and resident_id_valid(str(resident))
    rid_hash = (
        extractor.keyed_hash("resident-id|" + resident.upper()) if resident and valid else None
    )
    if resident and not valid:
        add_issue(
            src,
            out,
            "resident_id_check_digit",
            "Patient.identifier",
            "The resident ID number fails the GB 11643 check; it is kept but not "
            "used to link this woman's records across institutions",
        )
    mother = local_ref(src.institution_id, row.get("mother"))
    name = _name_text(row)
    address = _home_address(row)
    street = _street(extractor, src, address, out)
    residence = residence_of(
        address,
        _street_code(extractor, address),
        extractor.district_code,
        extractor.district_name,
        extractor.streets,
    )

    def seal(field_name: str, value: Any) -> bytes | None:
        if not value:
            return None
        data = value if isinstance(value, str) else orjson.dumps(value).decode()
        return extractor.seal(data.encode(), f"patient_record/{ref}/{field_name}".encode())

    out.add(
        PatientRecord,
        {
            "resource_pk": src.resource_pk,
            "version_id": src.version_id,
            "institution_id": src.institution_id,
            "ref": ref,
            "resident_id_hash": rid_hash,
            "resident_id_valid": valid,
            "name_hash": name_hash(extractor.keyed_hash, name),
            # a newborn (linked to its mother) or a male patient is not a woman of this register
            "woman_key": None
            if mother or row.get("gender") == "male"
            else woman_key(rid_hash, src.resource_pk),
            "mother_ref": mother,
            "resident_id_sealed": seal("resident_id", resident),
            "mrn_sealed": seal("mrn", mrn),
            "name_sealed": seal("name", name),
            "phone_sealed": seal("phone", ", ".join(row["telecoms"])),
            "address_sealed": seal(
                "address",
                " ".join((address or {}).get("line") or []) if isinstance(address, dict) else None,
            ),
            "street": street,
            "residence": residence,
            "birth_date": extractor.day(row.get("birth_date")),
            "gender": row.get("gender"),
            "deceased_at": extractor.day(row.get("deceased_datetime")),
            "multiple_birth": row.get("multiple_birth"),
            "received_at": src.received_at,
            "birth_time": extractor.instant(row.get("birth_time")),
        },
    )


def _resident_id_and_mrn(extractor: Extractor, row: ViewRow) -> tuple[Any, Any]:
    """The resident ID (an identifier in one of the resident-ID systems) and the first other
    identifier (the sender's record number)."""
    systems = extractor.resident_id_systems
    identifiers = [i for i in row["identifiers"] if isinstance(i, dict) and i.get("value")]
    resident = next((i.get("value") for i in identifiers if i.get("system") in systems), None)
    mrn = next((i.get("value") for i in identifiers if i.get("system") not in systems), None)
    return resident, mrn


def _home_address(row: ViewRow) -> Any:
    return (
        next(
            (a for a in row["addresses"] if isinstance(a, dict) and a.get("use") == "home"),
            None,
        )
        or (row["addresses"] or [None])[0]
    )


def _street_code(extractor: Extractor, address: Any) -> Any:
    """The address-street extension's value as sent (None without one)."""
    if not isinstance(address, dict):
        return None
    return next(
        (
            e.get("valueCode") or e.get("valueString")
            for e in address.get("extension") or []
            if isinstance(e, dict)
            and e.get("url") == f"{extractor.canonical}/StructureDefinition/address-street"
        ),
        None,
    )


def _street(extractor: Extractor, src: Source, address: Any, out: Extracted) -> str | None:
    """The address-street extension's code, if it is a usable street code."""
    street = _street_code(extractor, address)
    problem = street_problem(str(street), extractor.streets) if street is not None else None
    if problem is not None:
        # a valid record, kept; its street is not trusted for attribution (nor so for
        # jurisdictions, work lists and exports)
        add_issue(src, out, "street_unknown", "Patient.address.extension", problem)
        return None
    return street  # type: ignore[no-any-return]


def _name_text(row: ViewRow) -> str | None:
    name = row["names"][0] if row["names"] else None
    if not isinstance(name, dict):
        return None
    return name.get("text") or "".join(  # type: ignore[no-any-return]
        [name.get("family") or ""] + list(name.get("given") or [])
    )
