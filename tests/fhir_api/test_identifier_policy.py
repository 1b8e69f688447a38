"""The identifier policy: which identifiers are business keys, a real EHR feed (Synthea's
transaction Bundles) accepted whole, and deterministic conflicts answered as such."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from mch_service.app import Services
from mch_service.audit.service import Actor
from mch_service.errors import Conflict
from mch_service.fhir_api.bundle_responses import Prefer
from mch_service.store.identifier_policy import IdentifierPolicy
from mch_service.store.models import FhirResource
from tests.conftest import SenderKey

CLAIM_GROUP = "https://bluebutton.cms.gov/resources/identifier/claim-group"
CLAIM_ID = "https://bluebutton.cms.gov/resources/variables/clm_id"
SYNTHEA = "https://github.com/synthetichealth/synthea"
LOINC, SNOMED = "http://loinc.org", "http://snomed.info/sct"


def _urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _entry(resource: dict[str, Any], full_url: str | None = None) -> dict[str, Any]:
    return {
        "fullUrl": full_url or _urn(),
        "resource": resource,
        "request": {"method": "POST", "url": resource["resourceType"]},
    }


def _cc(system: str, code: str, text: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": text}], "text": text}


def synthea_bundle() -> dict[str, Any]:
    """A transaction shaped like Synthea's R4 output: the patient, her organisation and
    practitioner, encounters with procedures and observations, a Claim and an
    ExplanationOfBenefit per encounter (the EOBs share one claim-group identifier), Coverage
    and Provenance; urn:uuid references throughout. Fixed uuids: the same Bundle twice is
    what a feed that resends looks like."""
    ns = uuid.UUID("8a3f0c1e-5d2b-4c6a-9e7f-1b2c3d4e5f60")

    def u(name: str) -> str:
        return f"urn:uuid:{uuid.uuid5(ns, name)}"

    pat, org, prac = u("patient"), u("organization"), u("practitioner")
    entries = [
        _entry(
            {
                "resourceType": "Patient",
                "identifier": [
                    {"system": SYNTHEA, "value": "0b2d6c3e-4f1a-4e57-9d2c-1a2b3c4d5e6f"},
                    {
                        "type": _cc(
                            "http://terminology.hl7.org/CodeSystem/v2-0203", "MR", "Medical Record"
                        ),
                        "system": "http://hospital.smarthealthit.org",
                        "value": "0b2d6c3e-4f1a-4e57-9d2c-1a2b3c4d5e6f",
                    },
                    {"system": "http://hl7.org/fhir/sid/us-ssn", "value": "999-41-8211"},
                ],
                "name": [{"use": "official", "family": "Rutherford", "given": ["Maria"]}],
                "gender": "female",
                "birthDate": "1994-05-12",
                "address": [{"line": ["123 Main St"], "city": "Boston", "country": "US"}],
            },
            pat,
        ),
        _entry(
            {
                "resourceType": "Organization",
                "identifier": [{"system": SYNTHEA, "value": "ef58ea08-d883-3957-8300"}],
                "active": True,
                "name": "General Hospital",
            },
            org,
        ),
        _entry(
            {
                "resourceType": "Practitioner",
                "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "9999967594"}],
                "active": True,
                "name": [{"family": "Kohler", "given": ["Ted"], "prefix": ["Dr."]}],
                "gender": "male",
            },
            prac,
        ),
    ]
    for n, day in enumerate(("2025-02-03", "2025-03-17")):
        enc, claim, proc = u(f"enc{n}"), u(f"claim{n}"), u(f"proc{n}")
        start, end = f"{day}T09:00:00+08:00", f"{day}T09:30:00+08:00"
        entries += [
            _entry(
                {
                    "resourceType": "Encounter",
                    "status": "finished",
                    "class": {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                        "code": "AMB",
                    },
                    "type": [_cc(SNOMED, "424619006", "Prenatal visit")],
                    "subject": {"reference": pat},
                    "participant": [{"individual": {"reference": prac}}],
                    "period": {"start": start, "end": end},
                    "serviceProvider": {"reference": org},
                },
                enc,
            ),
            _entry(
                {
                    "resourceType": "Procedure",
                    "status": "completed",
                    "code": _cc(SNOMED, "5880005", "Physical examination"),
                    "subject": {"reference": pat},
                    "encounter": {"reference": enc},
                    "performedPeriod": {"start": start, "end": end},
                },
                proc,
            ),
            _entry(
                {
                    "resourceType": "Observation",
                    "status": "final",
                    "category": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/"
                                    "observation-category",
                                    "code": "vital-signs",
                                }
                            ]
                        }
                    ],
                    "code": _cc(LOINC, "29463-7", "Body Weight"),
                    "subject": {"reference": pat},
                    "encounter": {"reference": enc},
                    "effectiveDateTime": start,
                    "issued": "2025-02-03T01:00:00.000Z",
                    "valueQuantity": {
                        "value": 61.5 + n,
                        "unit": "kg",
                        "system": "http://unitsofmeasure.org",
                        "code": "kg",
                    },
                }
            ),
            _entry(
                {
                    "resourceType": "Claim",
                    "status": "active",
                    "type": _cc(
                        "http://terminology.hl7.org/CodeSystem/claim-type",
                        "professional",
                        "Professional",
                    ),
                    "use": "claim",
                    "patient": {"reference": pat},
                    "billablePeriod": {"start": start, "end": end},
                    "created": end,
                    "provider": {"reference": org},
                    "priority": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/processpriority",
                                "code": "normal",
                            }
                        ]
                    },
                    "procedure": [{"sequence": 1, "procedureReference": {"reference": proc}}],
                    "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": "NHI"}}],
                    "item": [
                        {
                            "sequence": 1,
                            "productOrService": _cc(SNOMED, "424619006", "Prenatal visit"),
                            "encounter": [{"reference": enc}],
                        }
                    ],
                    "total": {"value": 136.0 + n, "currency": "USD"},
                },
                claim,
            ),
            _entry(
                {
                    "resourceType": "ExplanationOfBenefit",
                    "contained": [
                        {
                            "resourceType": "Coverage",
                            "id": "coverage",
                            "status": "active",
                            "type": {"text": "NHI"},
                            "beneficiary": {"reference": pat},
                            "payor": [{"display": "NHI"}],
                        }
                    ],
                    "identifier": [
                        {"system": CLAIM_ID, "value": str(uuid.uuid5(ns, f"clm{n}"))},
                        {"system": CLAIM_GROUP, "value": "99999999999"},
                    ],
                    "status": "active",
                    "type": _cc(
                        "http://terminology.hl7.org/CodeSystem/claim-type",
                        "professional",
                        "Professional",
                    ),
                    "use": "claim",
                    "patient": {"reference": pat},
                    "billablePeriod": {"start": start, "end": end},
                    "created": end,
                    "insurer": {"display": "NHI"},
                    "provider": {"reference": prac},
                    "claim": {"reference": claim},
                    "outcome": "complete",
                    "insurance": [{"focal": True, "coverage": {"reference": "#coverage"}}],
                    "total": [
                        {
                            "category": _cc(
                                "http://terminology.hl7.org/CodeSystem/adjudication",
                                "submitted",
                                "Submitted Amount",
                            ),
                            "amount": {"value": 136.0 + n, "currency": "USD"},
                        }
                    ],
                }
            ),
        ]
    entries += [
        _entry(
            {
                "resourceType": "Coverage",
                "status": "active",
                "beneficiary": {"reference": pat},
                "payor": [{"reference": org}],
            }
        ),
        _entry(
            {
                "resourceType": "Provenance",
                "target": [{"reference": pat}],
                "recorded": "2025-03-17T09:30:00+08:00",
                "agent": [{"who": {"reference": prac}, "onBehalfOf": {"reference": org}}],
            }
        ),
    ]
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _counts(services: Services, institution: str) -> Counter[str]:
    with services.db.reading() as session:
        rows = session.execute(
            select(FhirResource.resource_type, func.count())
            .where(FhirResource.institution_id == institution, FhirResource.deleted.is_(False))
            .group_by(FhirResource.resource_type)
        ).all()
    return Counter(dict(rows))


def test_a_synthea_transaction_is_accepted_whole_and_twice_is_once(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    bundle = synthea_bundle()
    first = http.post("/fhir", json=bundle, headers=sender.headers)
    assert first.status_code == 200, first.text
    assert {e["response"]["status"] for e in first.json()["entry"]} == {"201 Created"}
    expected = Counter(e["resource"]["resourceType"] for e in bundle["entry"])
    assert _counts(services, sender.institution_id) == expected
    assert expected["ExplanationOfBenefit"] == 2  # two records, one claim-group identifier
    # the EOBs are found by their shared (not unique) identifier
    group = http.get(
        f"/fhir/ExplanationOfBenefit?identifier={CLAIM_GROUP}|99999999999", headers=sender.headers
    ).json()
    assert group["total"] == 2

    second = http.post("/fhir", json=synthea_bundle(), headers=sender.headers)
    assert second.status_code == 200, second.text
    assert {e["response"]["status"] for e in second.json()["entry"]} == {"200 OK"}
    assert [e["response"]["location"] for e in second.json()["entry"]] == [
        e["response"]["location"] for e in first.json()["entry"]
    ]
    assert _counts(services, sender.institution_id) == expected


def test_an_identifier_that_is_not_a_key_makes_a_new_record_unless_matching_is_asked(
    http: httpx.Client, sender: SenderKey
) -> None:
    def weight(kg: float) -> dict[str, Any]:
        return {
            "resourceType": "Observation",
            "identifier": [{"system": "urn:visit", "value": "V-1"}],
            "status": "final",
            "code": {"text": "weight"},
            "valueQuantity": {"value": kg, "unit": "kg"},
        }

    a = http.post("/fhir/Observation", json=weight(60), headers=sender.headers)
    b = http.post("/fhir/Observation", json=weight(61), headers=sender.headers)
    assert (a.status_code, b.status_code) == (201, 201)
    assert a.json()["id"] != b.json()["id"]
    # asked for: a conditional create that matches two records is refused, not guessed
    c = http.post(
        "/fhir/Observation",
        json=weight(62),
        headers={**sender.headers, "If-None-Exist": "identifier=urn:visit|V-1"},
    )
    assert c.status_code == 412
    d = http.put(
        "/fhir/Observation?identifier=urn:visit|V-1", json=weight(63), headers=sender.headers
    )
    assert d.status_code == 412
    assert [i["code"] for i in d.json()["issue"]] == ["multiple-matches"]
    # one match: the conditional update updates it
    http.delete(f"/fhir/Observation/{a.json()['id']}", headers=sender.headers)
    e = http.put(
        "/fhir/Observation?identifier=urn:visit|V-1", json=weight(64), headers=sender.headers
    )
    assert e.status_code == 200
    assert e.json()["id"] == b.json()["id"]
    total = http.get("/fhir/Observation?identifier=urn:visit|V-1", headers=sender.headers).json()
    assert total["total"] == 1


def test_a_patient_identifier_is_a_key_by_default(http: httpx.Client, sender: SenderKey) -> None:
    body = {"resourceType": "Patient", "identifier": [{"system": "urn:mrn:x", "value": "7"}]}
    a = http.post("/fhir/Patient", json=body, headers=sender.headers)
    b = http.post("/fhir/Patient", json={**body, "gender": "female"}, headers=sender.headers)
    assert (a.status_code, b.status_code) == (201, 200)
    assert a.json()["id"] == b.json()["id"]


def test_the_policy_is_configurable_per_type_and_system(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    services.store.identifier_policy = IdentifierPolicy(
        ("Patient", f"ExplanationOfBenefit|{CLAIM_ID}")
    )
    bundle = synthea_bundle()
    assert http.post("/fhir", json=bundle, headers=sender.headers).status_code == 200
    # the claim id is now a key: an EOB sent again with it (changed) is the same record
    eob_id = next(
        e["resource"]["identifier"][0]["value"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "ExplanationOfBenefit"
    )
    found = http.get(
        f"/fhir/ExplanationOfBenefit?identifier={CLAIM_ID}|{eob_id}", headers=sender.headers
    ).json()
    [stored] = [e["resource"] for e in found["entry"]]
    again = {k: v for k, v in stored.items() if k not in ("id", "meta")}
    r = http.post(
        "/fhir/ExplanationOfBenefit", json={**again, "outcome": "partial"}, headers=sender.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["id"] == stored["id"]
    assert _counts(services, sender.institution_id)["ExplanationOfBenefit"] == 2
    # and with the claim group made a key, the two EOBs sharing it are refused, by entry
    services.store.identifier_policy = IdentifierPolicy(
        ("Patient", f"ExplanationOfBenefit|{CLAIM_GROUP}")
    )
    other = synthea_bundle()
    r = http.post("/fhir", json=_renamed(other), headers=sender.headers)
    assert r.status_code == 400, r.text
    eob_entries = [
        i
        for i, e in enumerate(other["entry"])
        if e["resource"]["resourceType"] == "ExplanationOfBenefit"
    ]
    assert {x for i in r.json()["issue"] for x in i["expression"]} == {
        f"Bundle.entry[{i}].resource.identifier" for i in eob_entries
    }
    assert "Concurrent" not in r.text


def _renamed(bundle: dict[str, Any]) -> dict[str, Any]:
    """The same feed for another woman (new content everywhere), so nothing matches stored
    records by content."""
    out: dict[str, Any] = orjson_roundtrip(bundle)
    for e in out["entry"]:
        res = e["resource"]
        if res["resourceType"] == "Patient":
            res["identifier"] = [{"system": "urn:mrn:x", "value": str(uuid.uuid4())}]
        else:
            res["meta"] = {"tag": [{"system": "urn:test", "code": str(uuid.uuid4())}]}
    return out


def orjson_roundtrip(value: Any) -> Any:
    import orjson

    return orjson.loads(orjson.dumps(value))


def test_two_entries_with_one_key_are_refused_by_entry_not_as_a_race(
    http: httpx.Client, sender: SenderKey
) -> None:
    mrn = {"system": "urn:mrn:x", "value": "TWICE"}
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            _entry({"resourceType": "Patient", "identifier": [mrn], "gender": "female"}),
            _entry({"resourceType": "Patient", "identifier": [mrn], "gender": "other"}),
        ],
    }
    r = http.post("/fhir", json=bundle, headers=sender.headers)
    assert r.status_code == 400, r.text
    assert [x for i in r.json()["issue"] for x in i["expression"]] == [
        "Bundle.entry[0].resource.identifier",
        "Bundle.entry[1].resource.identifier",
    ]
    assert "Concurrent" not in r.text
    assert http.get("/fhir/Patient", headers=sender.headers).json()["total"] == 0


def test_the_same_content_twice_in_one_transaction_is_one_record(
    http: httpx.Client, sender: SenderKey
) -> None:
    obs = {"resourceType": "Observation", "status": "final", "code": {"text": "weight"}}
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [_entry(obs), _entry(obs)]}
    r = http.post("/fhir", json=bundle, headers=sender.headers)
    assert r.status_code == 200, r.text
    entries = r.json()["entry"]
    assert [e["response"]["status"] for e in entries] == ["201 Created", "200 OK"]
    assert entries[0]["response"]["location"] == entries[1]["response"]["location"]
    assert http.get("/fhir/Observation", headers=sender.headers).json()["total"] == 1


def test_a_unique_key_stop_that_recurs_is_a_client_error_naming_entries(
    services: Services, sender: SenderKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """However the request's records collide, an attempt that plans exactly as the one the
    key stopped is stopped again: answered at once, naming entries, not retried as a race."""
    calls = {"n": 0}

    def apply_always_stopped(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        raise IntegrityError("INSERT", None, Exception("UNIQUE constraint failed: fhir_identifier"))

    monkeypatch.setattr(services.store, "apply", apply_always_stopped)
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            _entry({"resourceType": "Patient", "identifier": [{"system": "s", "value": "1"}]}),
            _entry({"resourceType": "Observation", "status": "final", "code": {"text": "x"}}),
        ],
    }
    with pytest.raises(Conflict) as raised:
        services.fhir.bundle(
            Actor("institution", sender.institution_id, None), bundle, Prefer(None)
        )
    assert calls["n"] == 2
    assert "again will not help" in raised.value.message
    assert [i.expression for i in raised.value.issues] == ["Bundle.entry[0].resource.identifier"]
