"""Warnings at write time and the sender's own data-quality view (issue 15): what the service
cannot read is named to the sender when it writes (the entry's OperationOutcome warnings and
the Warning header), again on an unchanged resend, and in ``GET /fhir/$data-quality``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from jobs.runner import run_job
from mch_service.app import Services
from mch_service.audit.service import Actor, AuditRecord, record
from mch_service.config import Settings
from tests.auth.test_accounts import add_user, bearer, token_for
from tests.conftest import SenderKey

LIS = "http://lis.hosp-c.example.cn/codes"
LIS_RESULTS = "http://lis.hosp-c.example.cn/results"
COLOUR = "http://mch-service.local/fhir/CodeSystem/pregnancy-risk-colour"
OUTCOME = {"Prefer": "return=OperationOutcome"}


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    # the hospital mapped its LIS test codes, but not yet its result codes
    site = tmp_path / "site"
    site.mkdir()
    (site / "lis.csv").write_text(
        "concept,system,code,display,value,unit\n"
        f"hbsag_test,{LIS},HBSAG,乙肝表面抗原,,\n"
        f"hiv_test,{LIS},HIV-AB,HIV抗体筛查,,\n",
        encoding="utf-8",
    )
    return settings.model_copy(update={"code_tables_dir": str(site)})


def _obs(code: dict[str, Any], **value: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [code]},
        "subject": {"reference": "Patient/w1"},
        "effectiveDateTime": "2025-03-10T09:00:00+08:00",
        **value,
    }


HIV = {"system": "http://loinc.org", "code": "56888-1"}


def _patient(http: httpx.Client, sender: SenderKey) -> None:
    r = http.put(
        "/fhir/Patient/w1",
        json={"resourceType": "Patient", "id": "w1", "gender": "female"},
        headers=sender.headers,
    )
    assert r.status_code == 201, r.text


def _warnings(r: httpx.Response) -> list[tuple[str, str, str]]:
    """(rule, expression, diagnostics) of an OperationOutcome's warnings."""
    body = r.json()
    if body.get("resourceType") != "OperationOutcome":
        return []
    return [
        (i["details"]["coding"][0]["code"], i["expression"][0], i["diagnostics"])
        for i in body["issue"]
        if i["severity"] == "warning"
    ]


def _rules(r: httpx.Response) -> list[tuple[str, str]]:
    return [(rule, expr) for rule, expr, _ in _warnings(r)]


CASES = [
    # a screening result as text: stored, result unknown
    (_obs(HIV, valueString="阳性"), [("result_as_text", "Observation.valueString")]),
    # a mapped LIS test whose result code has no result_value row
    (
        _obs(
            {"system": LIS, "code": "HBSAG"},
            valueCodeableConcept={"coding": [{"system": LIS_RESULTS, "code": "POS"}]},
        ),
        [("result_unmapped", "Observation.valueCodeableConcept")],
    ),
    # a typo in the code system
    (
        _obs({"system": "http://loinc.org/", "code": "8665-2"}, valueDateTime="2025-01-06"),
        [("code_system_typo", "Observation.code")],
    ),
    # a time without an offset
    (
        {
            **_obs(
                HIV,
                valueCodeableConcept={
                    "coding": [{"system": "http://snomed.info/sct", "code": "260385009"}]
                },
            ),
            "effectiveDateTime": "2025-03-10T09:00:00",
        },
        [("time_without_offset", "Observation.effectiveDateTime")],
    ),
    # no subject
    (
        {
            k: v
            for k, v in _obs(
                HIV,
                valueCodeableConcept={
                    "coding": [{"system": "http://snomed.info/sct", "code": "260385009"}]
                },
            ).items()
            if k != "subject"
        },
        [("subject_missing", "Observation.subject")],
    ),
    # a literal reference to a record never sent
    (
        {
            **_obs(
                HIV,
                valueCodeableConcept={
                    "coding": [{"system": "http://snomed.info/sct", "code": "260385009"}]
                },
            ),
            "subject": {"reference": "Patient/never-sent"},
        },
        [("reference_unresolved", "Observation.subject")],
    ),
    # an implausible value
    (
        _obs(
            {"system": "http://loinc.org", "code": "718-7"},
            valueQuantity={"value": 900, "unit": "g/L"},
        ),
        [("haemoglobin_out_of_range", "Observation.valueQuantity")],
    ),
    # the colour's Chinese name as its code
    (
        {
            "resourceType": "RiskAssessment",
            "status": "final",
            "subject": {"reference": "Patient/w1"},
            "occurrenceDateTime": "2025-03-10T09:00:00+08:00",
            "prediction": [{"qualitativeRisk": {"coding": [{"system": COLOUR, "code": "橙色"}]}}],
        },
        [("risk_colour_unknown", "RiskAssessment.prediction.qualitativeRisk")],
    ),
]


@pytest.mark.parametrize(("resource", "expected"), CASES)
def test_each_mistake_is_named_at_write_time_and_again_on_an_unchanged_resend(
    http: httpx.Client, sender: SenderKey, resource: dict[str, Any], expected: list[Any]
) -> None:
    _patient(http, sender)
    rtype = resource["resourceType"]
    first = http.post(f"/fhir/{rtype}", json=resource, headers={**sender.headers, **OUTCOME})
    assert first.status_code == 201, first.text
    assert _rules(first) == expected
    header = first.headers["Warning"]
    assert header.startswith(f'199 mch-service "{expected[0][0]} at {expected[0][1]}: ')
    # the same record again: stored once, the same warnings again
    again = http.post(f"/fhir/{rtype}", json=resource, headers={**sender.headers, **OUTCOME})
    assert again.status_code == 200, again.text
    assert _warnings(again) == _warnings(first)
    assert again.headers["Warning"] == header
    # a plain answer (the resource) still carries the header
    plain = http.post(f"/fhir/{rtype}", json=resource, headers=sender.headers)
    assert plain.headers["Warning"] == header


def test_the_warnings_say_what_to_do(http: httpx.Client, sender: SenderKey) -> None:
    _patient(http, sender)
    text = http.post("/fhir/Observation", json=CASES[0][0], headers={**sender.headers, **OUTCOME})
    [(_, _, message)] = _warnings(text)
    assert "'阳性'" in message
    assert "valueCodeableConcept" in message
    assert "10828004" in message
    # the header is Latin-1: the Chinese text escaped, the OperationOutcome has it as sent
    assert "\\u9633\\u6027" in text.headers["Warning"]
    typo = http.post("/fhir/Observation", json=CASES[2][0], headers={**sender.headers, **OUTCOME})
    [(_, _, message)] = _warnings(typo)
    assert "did you mean 'http://loinc.org'" in message
    colour = http.post(
        "/fhir/RiskAssessment", json=CASES[7][0], headers={**sender.headers, **OUTCOME}
    )
    [(_, _, message)] = _warnings(colour)
    assert "橙色 is 'orange'" in message


def test_a_transaction_entry_carries_its_warnings(http: httpx.Client, sender: SenderKey) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:0b0c8a3e-6c59-4c1e-9a51-3f0a4d1a0001",
                "resource": {"resourceType": "Patient", "gender": "female"},
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": {
                    **_obs(HIV, valueString="阳性"),
                    "subject": {"reference": "urn:uuid:0b0c8a3e-6c59-4c1e-9a51-3f0a4d1a0001"},
                },
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }
    r = http.post("/fhir", json=bundle, headers=sender.headers)
    assert r.status_code == 200, r.text
    patient, obs = r.json()["entry"]
    # the woman's record has no address: flagged when her pregnancy is assembled
    assert [i["details"]["coding"][0]["code"] for i in patient["response"]["outcome"]["issue"]] == [
        "address_unknown"
    ]
    [issue] = obs["response"]["outcome"]["issue"]
    assert (issue["severity"], issue["expression"]) == ("warning", ["Observation.valueString"])
    assert issue["details"]["coding"][0]["code"] == "result_as_text"


def _this_month() -> str:
    return datetime.now(UTC).astimezone().strftime("%Y-%m")


def test_the_sender_sees_its_own_data_quality_at_record_level(
    http: httpx.Client, sender: SenderKey, other_sender: SenderKey
) -> None:
    _patient(http, sender)
    ids = {}
    for resource, expected in CASES:
        r = http.post(f"/fhir/{resource['resourceType']}", json=resource, headers=sender.headers)
        assert r.status_code == 201, r.text
        ids[expected[0][0]] = r.json()["id"]
    # one refused write, and one refused access (not counted: it is not a record rejected)
    bad = http.post(
        "/fhir/Observation",
        json=_obs(HIV, valueQuantity={"value": "121"}),
        headers=sender.headers,
    )
    assert bad.status_code == 400
    assert http.get("/fhir/$data-quality").status_code == 401

    view = http.get("/fhir/$data-quality", headers=sender.headers)
    assert view.status_code == 200, view.text
    body = view.json()
    assert body["institution"] == sender.institution_id
    assert body["summary"] == {
        "rejections": 1,
        # seven record-level warnings (the unresolved reference is listed on its own)
        "warnings": 7,
        # her Patient has no address: flagged on her pregnancy
        "flags": 1,
        # the LIS result code, the mistyped LOINC system, the colour name
        "unmapped_codes": 3,
        "unmapped_distinct_codes": 3,
        "unresolved_references": 1,
    }
    warnings = {w["rule"]: w for w in body["warnings"]["items"]}
    assert set(warnings) == {
        "result_as_text",
        "result_unmapped",
        "code_system_typo",
        "time_without_offset",
        "subject_missing",
        "haemoglobin_out_of_range",
        "risk_colour_unknown",
    }
    text = warnings["result_as_text"]
    assert (text["resource_type"], text["resource_id"], text["element"]) == (
        "Observation",
        ids["result_as_text"],
        "Observation.valueString",
    )
    assert "valueCodeableConcept" in text["what_to_do"]
    [flag] = body["flags"]["items"]
    assert (flag["rule"], flag["resource_type"], flag["resource_id"]) == (
        "address_unknown",
        "Patient",
        "w1",
    )
    assert flag["pregnancy_id"]
    assert "现住址" in flag["what_to_do"]
    [rejected] = body["rejections"]["items"]
    assert (rejected["status"], rejected["action"]) == (400, "fhir.create")
    assert "Observation.valueQuantity.value" in rejected["detail"]
    codes = {(u["element"], u["system"], u["code"]) for u in body["unmapped_codes"]["items"]}
    assert ("value", LIS_RESULTS, "POS") in codes
    [ref] = body["unresolved_references"]["items"]
    assert (ref["resource_id"], ref["element"], ref["target"]) == (
        ids["reference_unresolved"],
        "Observation.subject",
        "Patient/never-sent",
    )
    # by period: this month has them, 2025 has none
    month = http.get(f"/fhir/$data-quality?period={_this_month()}", headers=sender.headers)
    assert month.json()["summary"] == body["summary"]
    old = http.get("/fhir/$data-quality?period=2025", headers=sender.headers).json()
    assert old["summary"] == dict.fromkeys(body["summary"], 0)
    # only ever the sender's own
    other = http.get("/fhir/$data-quality", headers=other_sender.headers).json()
    assert other["summary"] == dict.fromkeys(body["summary"], 0)


def test_the_view_pages_and_refuses_what_it_does_not_take(
    http: httpx.Client, sender: SenderKey
) -> None:
    _patient(http, sender)
    for resource, _ in CASES:
        http.post(f"/fhir/{resource['resourceType']}", json=resource, headers=sender.headers)
    url: str | None = "/fhir/$data-quality?kind=warnings&_count=3"
    seen: list[str] = []
    pages = 0
    while url:
        page = http.get(url, headers=sender.headers)
        assert page.status_code == 200, page.text
        section = page.json()["warnings"]
        assert len(section["items"]) <= 3
        seen += [w["rule"] for w in section["items"]]
        url = section["next"]
        if url:
            assert url.startswith(str(http.base_url).rstrip("/") + "/fhir/$data-quality?")
            url = urlsplit(url).path + "?" + urlsplit(url).query
        pages += 1
    assert (len(seen), len(set(seen)), pages) == (7, 7, 3)
    for query, where in (
        ("period=2025-13", "period"),
        ("period=June", "period"),
        ("kind=everything", "kind"),
        ("_count=0", "_count"),
        ("patient=w1", "patient"),
        ("_cursor=5", "_cursor"),
    ):
        r = http.get(f"/fhir/$data-quality?{query}", headers=sender.headers)
        assert r.status_code == 400, (query, r.text)
        assert r.json()["issue"][0]["expression"] == [where]


def test_the_staff_figures_are_whole_counts_and_leave_access_refusals_out(
    http: httpx.Client, services: Services, sender: SenderKey, other_sender: SenderKey
) -> None:
    _patient(http, sender)
    assert http.post("/fhir/Observation", json=CASES[0][0], headers=sender.headers).is_success
    bad = http.post(
        "/fhir/Observation", json=_obs(HIV, valueQuantity={"value": "121"}), headers=sender.headers
    )
    assert bad.status_code == 400
    with services.db.transaction() as session:  # an access refusal: not a rejected record
        record(
            session,
            Actor("institution", sender.institution_id, None),
            [AuditRecord("fhir.read", "rejected", "Patient", "x", 403, None)],
        )
    assert run_job(services, "data_quality").status == "succeeded"
    add_user(services, "mon1", "monitor")
    r = http.get(
        f"/api/v1/data-quality?institution={sender.institution_id}",
        headers=bearer(token_for(http, "mon1")),
    )
    assert r.status_code == 200, r.text
    [row] = r.json()
    assert row["institution"] == sender.institution_id
    # the Patient, the Observation; the 400; result_as_text and address_unknown
    assert (row["resources"], row["rejected"], row["plausibility_flags"]) == (2, 1, 2)
    assert row["unmapped_codes"] == 0
    assert isinstance(row["unmapped_codes"], int)


def test_refused_reads_are_not_rejections(http: httpx.Client, sender: SenderKey) -> None:
    assert http.get("/fhir/Patient/nobody", headers=sender.headers).status_code == 404
    assert http.get("/fhir/Patient?colour=red", headers=sender.headers).status_code == 400
    bad = http.put(
        "/fhir/Patient/p1",
        json={"resourceType": "Patient", "id": "p1", "birthDate": "2025-02-30"},
        headers=sender.headers,
    )
    assert bad.status_code == 400
    body = http.get("/fhir/$data-quality?kind=rejections", headers=sender.headers).json()
    assert body["summary"]["rejections"] == 1
    [item] = body["rejections"]["items"]
    assert (item["action"], item["resource_type"], item["resource_id"], item["status"]) == (
        "fhir.update",
        "Patient",
        "p1",
        400,
    )
    assert "Patient.birthDate" in item["detail"]


def test_a_reference_resolves_only_to_a_live_record_of_the_same_sender(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    # The "not a record you have sent" warning, each way a target can be missing or present:
    # the sender's live record (no warning), one written in the same transaction (none),
    # its deleted record (warned), another sender's record with the same type and id
    # (warned: references never cross senders). Asked with Prefer: return=OperationOutcome,
    # each entry's outcome holds its warnings (it once held only "created").
    from tests.conftest import make_sender

    other = make_sender(services, "hosp-other")
    _patient(http, sender)  # Patient/w1, live
    gone = http.put(
        "/fhir/Patient/w-gone",
        json={"resourceType": "Patient", "id": "w-gone", "gender": "female"},
        headers=sender.headers,
    )
    assert gone.status_code == 201, gone.text
    assert http.delete("/fhir/Patient/w-gone", headers=sender.headers).status_code in (200, 204)
    theirs = http.put(
        "/fhir/Patient/w-theirs",
        json={"resourceType": "Patient", "id": "w-theirs", "gender": "female"},
        headers=other.headers,
    )
    assert theirs.status_code == 201, theirs.text
    new = "urn:uuid:8f0c6a0e-6c1f-4a55-9d5e-0d3f4b8a1c11"

    def obs(subject: str, full_url: str) -> dict[str, Any]:
        return {
            "fullUrl": full_url,
            "resource": {
                **_obs(HIV, valueDateTime="2025-01-06"),
                "subject": {"reference": subject},
            },
            "request": {"method": "POST", "url": "Observation"},
        }

    subjects = ["Patient/w1", new, "Patient/w-gone", "Patient/w-theirs"]
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": new,
                "resource": {"resourceType": "Patient", "gender": "female"},
                "request": {"method": "POST", "url": "Patient"},
            },
            *[
                obs(s, f"urn:uuid:00000000-0000-4000-8000-00000000000{n}")
                for n, s in enumerate(subjects)
            ],
        ],
    }
    r = http.post("/fhir", json=bundle, headers={**sender.headers, **OUTCOME})
    assert r.status_code == 200, r.text
    warned = [
        [
            i["diagnostics"].split(" is not a record")[0]
            for i in (e["response"].get("outcome") or {}).get("issue", [])
            if (i.get("details") or {}).get("coding", [{}])[0].get("code") == "reference_unresolved"
        ]
        for e in r.json()["entry"]
    ]
    assert warned == [[], [], [], ["Patient/w-gone"], ["Patient/w-theirs"]]
