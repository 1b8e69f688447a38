"""FHIR JSON types held strictly (issue 15): a string for a decimal, integer or boolean, or a
number for a boolean or a date, is refused with the element named, in single writes, Bundles,
$validate and $import, and nothing is stored. fhir.resources' lax models took them."""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import SenderKey

WRONG = [
    ("Observation", {"valueQuantity": {"value": "121", "unit": "mmHg"}}, "valueQuantity.value"),
    ("Patient", {"active": "false"}, "active"),
    ("Patient", {"multipleBirthInteger": "9"}, "multipleBirthInteger"),
    ("Patient", {"active": 1}, "active"),
    ("Patient", {"birthDate": 0}, "birthDate"),
]


def _resource(rtype: str, extra: dict[str, Any]) -> dict[str, Any]:
    if rtype == "Observation":
        base: dict[str, Any] = {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "BP"},
        }
    else:
        base = {"resourceType": "Patient", "gender": "female"}
    return {**base, **extra}


def _total(http: httpx.Client, sender: SenderKey, rtype: str) -> int:
    return int(http.get(f"/fhir/{rtype}?_count=0", headers=sender.headers).json()["total"])


@pytest.mark.parametrize(("rtype", "extra", "element"), WRONG)
def test_single_write_and_validate_refuse_wrong_json_types(
    http: httpx.Client, sender: SenderKey, rtype: str, extra: dict[str, Any], element: str
) -> None:
    body = _resource(rtype, extra)
    r = http.post(f"/fhir/{rtype}", json=body, headers=sender.headers)
    assert r.status_code == 400, r.text
    assert [i["expression"] for i in r.json()["issue"]] == [[f"{rtype}.{element}"]]
    assert _total(http, sender, rtype) == 0
    v = http.post(f"/fhir/{rtype}/$validate", json=body, headers=sender.headers)
    assert v.status_code == 400, v.text
    assert [i["expression"] for i in v.json()["issue"]] == [[f"{rtype}.{element}"]]
    # the same with the right JSON type is fine
    ok = {**body, **_right(extra)}
    assert http.post(f"/fhir/{rtype}", json=ok, headers=sender.headers).status_code == 201


def _right(extra: dict[str, Any]) -> dict[str, Any]:
    fixed = {
        "valueQuantity": {"value": 121, "unit": "mmHg"},
        "active": False,
        "multipleBirthInteger": 9,
        "birthDate": "1992-04-05",
    }
    return {k: fixed[k] for k in extra}


def test_bundles_refuse_wrong_json_types_in_the_entry(
    http: httpx.Client, sender: SenderKey
) -> None:
    good = _resource("Patient", {})
    bad = _resource("Observation", {"valueQuantity": {"value": "121"}})
    entries = [
        {"resource": good, "request": {"method": "POST", "url": "Patient"}},
        {"resource": bad, "request": {"method": "POST", "url": "Observation"}},
    ]
    t = http.post(
        "/fhir",
        json={"resourceType": "Bundle", "type": "transaction", "entry": entries},
        headers=sender.headers,
    )
    assert t.status_code == 400, t.text
    expressions = [i["expression"] for i in t.json()["issue"]]
    assert ["Bundle.entry[1].resource.valueQuantity.value"] in expressions
    assert _total(http, sender, "Patient") == 0
    b = http.post(
        "/fhir",
        json={"resourceType": "Bundle", "type": "batch", "entry": entries},
        headers=sender.headers,
    )
    statuses = [e["response"]["status"][:3] for e in b.json()["entry"]]
    assert statuses == ["201", "400"]
    issue = b.json()["entry"][1]["response"]["outcome"]["issue"][0]
    assert issue["expression"] == ["Bundle.entry[1].resource.valueQuantity.value"]
    assert _total(http, sender, "Observation") == 0


def test_import_refuses_wrong_json_types_by_line(http: httpx.Client, sender: SenderKey) -> None:
    lines = [
        _resource("Patient", {"active": True}),
        _resource("Patient", {"active": "true"}),
        _resource("Observation", {"valueInteger": "3"}),
    ]
    body = b"\n".join(orjson.dumps(x) for x in lines) + b"\n"
    headers = {**sender.headers, "Content-Type": "application/fhir+ndjson"}
    r = http.post("/fhir/$import", content=body, headers=headers)
    assert r.status_code == 202, r.text
    path = "/fhir" + r.headers["content-location"].split("/fhir", 1)[1]
    deadline = time.monotonic() + 60
    while (s := http.get(path, headers=sender.headers)).status_code == 202:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    report = s.json()["report"]
    assert report["accepted"] == 1
    assert [e["line"] for e in report["errors"]] == [2, 3]
    assert "Patient.active" in orjson.dumps(report["errors"][0]).decode()
    assert "Observation.valueInteger" in orjson.dumps(report["errors"][1]).decode()
    assert _total(http, sender, "Patient") == 1
    assert _total(http, sender, "Observation") == 0
