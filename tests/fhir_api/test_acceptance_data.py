"""The shared acceptance data: official R4 examples are accepted, structurally invalid
validator cases are rejected with an OperationOutcome that locates the problem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import SenderKey
from tests.shared_data import SHARED_DATA, needs_shared_data, params, read_json

EXAMPLES = SHARED_DATA / "fhir-r4-examples"
CASES_DIR = SHARED_DATA / "fhir-validator-cases"
EXAMPLE_FILES = sorted(p for p in EXAMPLES.glob("*.json") if p.name != "package.json")
CASES = read_json(CASES_DIR / "cases.json", [])
INVALID = [c for c in CASES if c["structural_only_invalid"]]
VALID = [
    c
    for c in CASES
    if c["base_valid"]
    and not c["depends_on_external_context"]
    and not c.get("packages")
    and not c.get("supporting")
]
TRANSACTIONS = [p for p in EXAMPLE_FILES if json.loads(p.read_text()).get("type") == "transaction"]


@needs_shared_data
def test_the_shared_data_is_there() -> None:
    assert len(EXAMPLE_FILES) == 161
    assert len(INVALID) == 22


@pytest.mark.parametrize("path", params(EXAMPLE_FILES, lambda p: p.stem))
def test_every_official_example_is_accepted_and_stored(
    http: httpx.Client, sender: SenderKey, path: Path
) -> None:
    resource = json.loads(path.read_text())
    rtype = resource["resourceType"]
    r = http.post(f"/fhir/{rtype}", content=path.read_bytes(), headers=sender.headers)
    assert r.status_code == 201, r.text[:2000]
    stored = http.get(f"/fhir/{rtype}/{r.json()['id']}", headers=sender.headers).json()
    # kept as received, except for the id and version meta the server assigns
    for key, value in resource.items():
        if key not in ("id", "meta"):
            assert stored[key] == value, key


@pytest.mark.parametrize("case", params(VALID, lambda c: c["name"]))
def test_base_valid_validator_cases_are_accepted(
    http: httpx.Client, sender: SenderKey, case: dict[str, Any], services: Any
) -> None:
    # as the validator ran the case: with its security checks (MCH_FHIR_REJECT_ACTIVE_CONTENT,
    # on by default) only if the case asks for them (pat-security-good2 does not)
    security = bool((case.get("options") or {}).get("security-checks"))
    services.fhir.interactions.reject_active_content = security
    body = (CASES_DIR / case["file"]).read_bytes()
    r = http.post(f"/fhir/{case['resourceType']}/$validate", content=body, headers=sender.headers)
    assert r.status_code == 200, r.text[:2000]


def _expressions(outcome: dict[str, Any]) -> list[str]:
    return [e for issue in outcome["issue"] for e in issue.get("expression", [])]


# The reference validator refuses example.org extension urls except when validating examples
# (the official examples above use them): that rule is MCH_FHIR_REJECT_EXAMPLE_URLS.
NEEDS_EXAMPLE_URL_RULE = {"pat-example-extensions"}


@pytest.mark.parametrize("case", params(INVALID, lambda c: c["name"]))
def test_structurally_invalid_cases_are_rejected_with_located_issues(
    http: httpx.Client, sender: SenderKey, case: dict[str, Any], services: Any
) -> None:
    services.fhir.interactions.reject_example_urls = case["name"] in NEEDS_EXAMPLE_URL_RULE
    body = (CASES_DIR / case["file"]).read_bytes()
    # broken JSON is listed as "UNPARSEABLE:Patient"
    rtype = (case["resourceType"] or "Patient").split(":")[-1]
    r = http.post(f"/fhir/{rtype}", content=body, headers=sender.headers)
    assert 400 <= r.status_code < 500, r.text[:500]
    outcome = r.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert all(i["severity"] == "error" for i in outcome["issue"])
    expected = [
        e.split("/*")[0]
        for i in (case["base_expected"] or {}).get("error_issues") or []
        for e in i["expression"] or []
    ]
    got = _expressions(outcome)
    if case["resourceType"].startswith("UNPARSEABLE"):
        assert "not valid JSON" in outcome["issue"][0]["diagnostics"]
        assert "line" in outcome["issue"][0]["diagnostics"]  # says where the syntax broke
    else:
        # At least one issue points at (or inside) an element the reference validator names.
        assert any(
            g.startswith(tuple(expected)) or any(x.startswith(g) for x in expected) for g in got
        ), (got, expected)
    # nothing was stored
    search = http.get(f"/fhir/{rtype}", headers=sender.headers).json()
    assert search["total"] == 0


@pytest.mark.parametrize("path", params(TRANSACTIONS, lambda p: p.stem))
def test_official_transaction_bundles(http: httpx.Client, sender: SenderKey, path: Path) -> None:
    bundle = json.loads(path.read_text())
    r = http.post("/fhir", json=bundle, headers=sender.headers)
    if path.stem == "Bundle-bundle-transaction":
        # This example asks for things no conforming server can do on an empty store in one
        # transaction (If-Match on a missing record, a $lookup operation, a name search):
        # the whole transaction fails, nothing is written, and the outcome says where.
        assert r.status_code in (400, 404, 412), r.text[:1000]
        assert any(e.startswith("Bundle.entry[") for e in _expressions(r.json()))
        assert http.get("/fhir/Patient", headers=sender.headers).json()["total"] == 0
        batch = http.post("/fhir", json={**bundle, "type": "batch"}, headers=sender.headers)
        assert batch.status_code == 200
        statuses = [e["response"]["status"].split()[0] for e in batch.json()["entry"]]
        assert statuses[0] == "201"
        assert statuses[2] == "201"
        assert "412" in statuses  # the If-Match on Patient/123a
        return
    assert r.status_code == 200, r.text[:2000]
    result = r.json()
    assert result["type"] == "transaction-response"
    assert len(result["entry"]) == len(bundle["entry"])
    assert all(e["response"]["status"].startswith("201") for e in result["entry"])
    # references between entries now point at the stored ids
    first = result["entry"][0]["response"]["location"].split("/_history")[0]
    stored = http.get(f"/fhir/{first}", headers=sender.headers).json()
    assert "urn:uuid:" not in json.dumps(stored)
    # sending the same transaction again changes nothing
    again = http.post("/fhir", json=bundle, headers=sender.headers).json()
    assert [e["response"]["location"].split("/_history")[0] for e in again["entry"]] == [
        e["response"]["location"].split("/_history")[0] for e in result["entry"]
    ]
