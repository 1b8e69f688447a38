"""Building FHIR for domain tests: a woman's records as each institution would send them."""

from __future__ import annotations

import uuid
from typing import Any

RESIDENT = "urn:oid:2.16.156.10011.1.3"
CANONICAL = "http://mch-service.local/fhir"
RID = "11010519491231002X"  # a valid GB 11643 check digit
STREET = "330102001"


def uid() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def patient(
    inst: str,
    mrn: str,
    rid: str | None = RID,
    street: str = STREET,
    name: str = "王芳",
    **extra: Any,
) -> dict[str, Any]:
    ids = [{"system": f"http://{inst}.example.cn/mrn", "value": mrn}]
    if rid:
        ids.insert(0, {"system": RESIDENT, "value": rid})
    return {
        "resourceType": "Patient",
        "identifier": ids,
        "name": [{"text": name}],
        "gender": "female",
        "birthDate": "1990-03-07",
        "telecom": [{"system": "phone", "value": "13912345678"}],
        "address": [
            {
                "use": "home",
                "line": ["幸福路88号"],
                # in the district (MCH_DISTRICT_NAME's default): a resident
                "district": "南沙区",
                "city": "广州市",
                "extension": [
                    {"url": f"{CANONICAL}/StructureDefinition/address-street", "valueCode": street}
                ],
            }
        ],
        **extra,
    }


def entry(resource: dict[str, Any], full_url: str | None = None) -> dict[str, Any]:
    return {
        "fullUrl": full_url or uid(),
        "resource": resource,
        "request": {"method": "POST", "url": resource["resourceType"]},
    }


def bundle(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "transaction", "entry": list(entries)}


def coding(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


LOINC, SNOMED, ICD10 = (
    "http://loinc.org",
    "http://snomed.info/sct",
    "http://hl7.org/fhir/sid/icd-10",
)


def visit(subject: str, day: str, first: bool = False, inst_id: str = "v") -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "type": [coding(SNOMED, "424441002" if first else "424619006")],
        "subject": {"reference": subject},
        "period": {"start": day},
    }


def obs(subject: str, code: str, day: str, **value: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": coding(LOINC, code),
        "subject": {"reference": subject},
        "effectiveDateTime": day,
        **value,
    }


def result(subject: str, code: str, day: str, positive: bool = False) -> dict[str, Any]:
    return obs(
        subject,
        code,
        day,
        valueCodeableConcept=coding(SNOMED, "10828004" if positive else "260385009"),
    )


def colour(subject: str, day: str, *colours: str) -> dict[str, Any]:
    return {
        "resourceType": "RiskAssessment",
        "status": "final",
        "subject": {"reference": subject},
        "occurrenceDateTime": day,
        "prediction": [
            {"qualitativeRisk": coding(f"{CANONICAL}/CodeSystem/pregnancy-risk-colour", c)}
            for c in colours
        ],
    }


def delivery(
    subject: str, admit: str, day: str, discharge: str, caesarean: bool = False, z37: str = "Z37.0"
) -> list[dict[str, Any]]:
    enc = uid()
    return [
        entry(
            {
                "resourceType": "Encounter",
                "status": "finished",
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "IMP",
                },
                "subject": {"reference": subject},
                "period": {"start": admit, "end": discharge},
            },
            enc,
        ),
        entry(
            {
                "resourceType": "Procedure",
                "status": "completed",
                "code": coding(SNOMED, "11466000" if caesarean else "700000006"),
                "subject": {"reference": subject},
                "encounter": {"reference": enc},
                "performedDateTime": day,
            }
        ),
        entry(
            {
                "resourceType": "Condition",
                "code": coding(ICD10, z37),
                "subject": {"reference": subject},
                "encounter": {"reference": enc},
                "onsetDateTime": day,
            }
        ),
    ]
