"""Bad or extreme input never gets a 5xx (issue 12): valid but extreme dates are stored and
searchable, malformed ids, cursors, versions and bodies get a precise 4xx, and a fault in one
entry of a batch or one line of an import does not take the others down with it."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from mch_service.app import Services
from mch_service.store.indexing import FAR_FUTURE, FAR_PAST, date_range
from tests.conftest import SenderKey
from tests.fhir_api.test_import import wait_for_import

# Valid R4 at the edges of what the date-range index (and Python) can hold.
EXTREME_DATES = ["9999", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "0001"]


def _obs(day: str, patient: str = "p1") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": day,
        "valueQuantity": {"value": 110, "unit": "g/L"},
    }


def _stored(services: Services) -> int:
    from sqlalchemy import func, select

    from mch_service.store.models import FhirResource

    with services.db.reading() as session:
        return int(session.scalar(select(func.count()).select_from(FhirResource)) or 0)


def _issue(r: httpx.Response) -> dict[str, Any]:
    body = r.json()
    assert body["resourceType"] == "OperationOutcome", body
    return body["issue"][0]  # type: ignore[no-any-return]


# -- the date-range index -------------------------------------------------------------------


@pytest.mark.parametrize("value", EXTREME_DATES)
def test_extreme_dates_have_a_clamped_range(value: str) -> None:
    from zoneinfo import ZoneInfo

    rng = date_range(value, ZoneInfo("Asia/Shanghai"))
    assert rng is not None
    assert FAR_PAST <= rng[0] <= rng[1] <= FAR_FUTURE


@pytest.mark.parametrize(
    "value", ["0000-01-01", "2025-13", "2025-02-30", "2025-03-01T24:00:00Z", "2025\n", "٢٠٢٥"]
)
def test_impossible_dates_have_no_range(value: str) -> None:
    from zoneinfo import ZoneInfo

    assert date_range(value, ZoneInfo("Asia/Shanghai")) is None


def test_batch_with_extreme_dates_stores_every_entry(
    http: httpx.Client, sender: SenderKey, services: Services
) -> None:
    entries = [
        {"request": {"method": "POST", "url": "Observation"}, "resource": _obs(day)}
        for day in ["2025-03-01", *EXTREME_DATES]
    ]
    r = http.post(
        "/fhir",
        json={"resourceType": "Bundle", "type": "batch", "entry": entries},
        headers=sender.headers,
    )
    assert r.status_code == 200, r.text
    assert [e["response"]["status"] for e in r.json()["entry"]] == ["201 Created"] * 5
    assert _stored(services) == 5
    # and searchable: the far future is found from the year 9000 on, the far past before 1000
    late = http.get("/fhir/Observation?date=ge9000-01-01", headers=sender.headers).json()
    early = http.get("/fhir/Observation?date=lt1000-01-01", headers=sender.headers).json()
    assert (late["total"], early["total"]) == (2, 2)


def test_transaction_with_an_extreme_date_is_stored(
    http: httpx.Client, sender: SenderKey, services: Services
) -> None:
    r = http.post(
        "/fhir",
        json={
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {"request": {"method": "POST", "url": "Observation"}, "resource": _obs(day)}
                for day in EXTREME_DATES
            ],
        },
        headers=sender.headers,
    )
    assert r.status_code == 200, r.text
    assert _stored(services) == len(EXTREME_DATES)


def _import(http: httpx.Client, sender: SenderKey, lines: list[dict[str, Any]]) -> dict[str, Any]:
    body = b"\n".join(orjson.dumps(line) for line in lines) + b"\n"
    headers = {**sender.headers, "Content-Type": "application/fhir+ndjson"}
    r = http.post("/fhir/$import", content=body, headers=headers)
    assert r.status_code == 202, r.text
    return wait_for_import(
        http, "/fhir" + r.headers["content-location"].split("/fhir", 1)[1], headers
    )


def test_import_with_extreme_dates_stores_every_line(
    http: httpx.Client, sender: SenderKey, services: Services
) -> None:
    status = _import(http, sender, [_obs(day) for day in ["2025-03-01", *EXTREME_DATES]])
    assert status["status"] == "done", status
    assert status["report"]["created"] == 5, status
    assert _stored(services) == 5


# -- a fault of ours in one entry or line ---------------------------------------------------


def _fail_on(services: Services, monkeypatch: pytest.MonkeyPatch, marker: str) -> None:
    """Make storing a resource whose content holds ``marker`` raise an unexpected error."""
    store = services.fhir.interactions.store
    real = store.prepare

    def prepare(rtype: str, content: dict[str, Any]) -> Any:
        if marker in orjson.dumps(content).decode():
            raise RuntimeError("a bug of ours")
        return real(rtype, content)

    monkeypatch.setattr(store, "prepare", prepare)


def test_a_fault_in_one_batch_entry_is_reported_on_that_entry(
    http: httpx.Client, sender: SenderKey, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail_on(services, monkeypatch, "2025-03-02")
    entries = [
        {"request": {"method": "POST", "url": "Observation"}, "resource": _obs(day)}
        for day in ["2025-03-01", "2025-03-02", "2025-03-03"]
    ]
    r = http.post(
        "/fhir",
        json={"resourceType": "Bundle", "type": "batch", "entry": entries},
        headers=sender.headers,
    )
    assert r.status_code == 200, r.text
    statuses = [e["response"]["status"] for e in r.json()["entry"]]
    assert statuses == ["201 Created", "500 Internal Server Error", "201 Created"]
    failed = r.json()["entry"][1]["response"]["outcome"]["issue"][0]
    assert failed["expression"] == ["Bundle.entry[1].request"]
    assert _stored(services) == 2  # the failing entry left nothing behind


def test_a_fault_on_one_import_line_keeps_the_others(
    http: httpx.Client, sender: SenderKey, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail_on(services, monkeypatch, "2025-03-02")
    status = _import(http, sender, [_obs(d) for d in ["2025-03-01", "2025-03-02", "2025-03-03"]])
    assert status["status"] == "done", status
    report = status["report"]
    assert (report["created"], report["rejected"]) == (2, 1), report
    assert report["errors"][0]["line"] == 2
    assert _stored(services) == 2


# -- search parameters ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "element"),
    [
        ("_cursor=9223372036854775808", "_cursor"),
        ("_cursor=%C2%B2", "_cursor"),
        ("_count=%C2%B2", "_count"),
        ("date=ge0000-01-01", "date"),
        ("date=2025-13", "date"),
        ("date=2025-03-01T25:00:00Z", "date"),
        ("_lastUpdated=gt2025-02-30", "_lastUpdated"),
        ("_id=a%00b", "_id"),
        ("_id=abc%0A", "_id"),
        ("patient=a%00b", "patient"),
        ("subject=Patient/a%00b", "subject"),
        ("identifier=urn:x|a%00b", "identifier"),
    ],
)
def test_bad_search_parameters_are_a_located_400(
    http: httpx.Client, sender: SenderKey, query: str, element: str
) -> None:
    r = http.get(f"/fhir/Observation?{query}", headers=sender.headers)
    assert r.status_code == 400, r.text
    assert _issue(r)["expression"] == [element]


def test_the_largest_cursor_is_valid(http: httpx.Client, sender: SenderKey) -> None:
    r = http.get("/fhir/Observation?_cursor=9223372036854775807", headers=sender.headers)
    assert r.status_code == 200, r.text
    assert r.json()["total"] == 0


# -- ids and versions -----------------------------------------------------------------------


@pytest.mark.parametrize("bad_id", ["a%00b", "abc%0A", "a" * 65])
def test_invalid_ids_are_a_400_on_every_route(
    http: httpx.Client, sender: SenderKey, services: Services, bad_id: str
) -> None:
    patient = {"resourceType": "Patient", "gender": "female"}
    for method, url, body in [
        ("GET", f"/fhir/Patient/{bad_id}", None),
        ("GET", f"/fhir/Patient/{bad_id}/_history", None),
        ("GET", f"/fhir/Patient/{bad_id}/_history/1", None),
        ("PUT", f"/fhir/Patient/{bad_id}", patient),
        ("DELETE", f"/fhir/Patient/{bad_id}", None),
        ("PUT", f"/fhir/Patient?_id={bad_id}", patient),
        ("DELETE", f"/fhir/Patient?_id={bad_id}", None),
    ]:
        r = http.request(method, url, json=body, headers=sender.headers)
        assert r.status_code == 400, (method, url, r.text)
        assert "not a valid resource id" in _issue(r)["diagnostics"]
    assert _stored(services) == 0


def test_a_version_id_beyond_the_store_is_not_found(http: httpx.Client, sender: SenderKey) -> None:
    r = http.put(
        "/fhir/Patient/p1", json={"resourceType": "Patient", "id": "p1"}, headers=sender.headers
    )
    assert r.status_code == 201, r.text
    for vid in ["12345678901234567890123", "2147483648", "%C2%B2"]:
        r = http.get(f"/fhir/Patient/p1/_history/{vid}", headers=sender.headers)
        assert r.status_code == 404, (vid, r.text)
    assert http.get("/fhir/Patient/p1/_history/1", headers=sender.headers).status_code == 200


def test_import_job_ids_that_are_no_job(http: httpx.Client, sender: SenderKey) -> None:
    for job_id in ["a%00b", "not-a-uuid", "00000000-0000-0000-0000-000000000000"]:
        r = http.get(f"/fhir/$import/{job_id}", headers=sender.headers)
        assert r.status_code == 404, (job_id, r.text)


# -- bodies ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parameter", "element"),
    [
        ({"name": "resource"}, "Parameters.parameter"),
        ([1], "Parameters.parameter[0]"),
        (["resource"], "Parameters.parameter[0]"),
        ([None, {"name": "resource"}], "Parameters.parameter[0]"),
    ],
)
def test_validate_with_malformed_parameters_is_a_400(
    http: httpx.Client, sender: SenderKey, parameter: Any, element: str
) -> None:
    r = http.post(
        "/fhir/Patient/$validate",
        json={"resourceType": "Parameters", "parameter": parameter},
        headers=sender.headers,
    )
    assert r.status_code == 400, r.text
    assert _issue(r)["expression"] == [element]


def test_validate_with_a_resource_parameter_still_works(
    http: httpx.Client, sender: SenderKey
) -> None:
    r = http.post(
        "/fhir/Patient/$validate",
        json={
            "resourceType": "Parameters",
            "parameter": [
                {"name": "mode", "valueCode": "create"},
                {"name": "resource", "resource": {"resourceType": "Patient"}},
            ],
        },
        headers=sender.headers,
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "body", [b"{", b'{"username": "\\ud800x", "password": "p"}', b"\xff\xfe", b"[1, 2"]
)
def test_token_with_malformed_json_is_a_400(
    http: httpx.Client, services: Services, body: bytes
) -> None:
    r = http.post("/api/v1/token", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "invalid"


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "ad\x00min", "password": "whatever-1234"},
        {"username": "\ud800", "password": "whatever-1234"},
        {"username": {"a": 1}, "password": ["x"]},
    ],
)
def test_token_with_impossible_usernames_is_a_plain_refusal(
    http: httpx.Client, services: Services, credentials: dict[str, Any]
) -> None:
    # orjson would refuse to write a lone surrogate; the json module writes it escaped
    import json

    r = http.post(
        "/api/v1/token",
        content=json.dumps(credentials).encode(),
        headers={"Content-Type": "application/json"},
    )
    if isinstance(credentials["username"], str):
        # a lone surrogate is no JSON text (RFC 8259); a NUL no staff-API body may hold
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "invalid"
    else:
        assert r.status_code == 401, r.text


def test_token_form_with_a_nul_username_is_a_plain_refusal(
    http: httpx.Client, services: Services
) -> None:
    r = http.post("/api/v1/token", data={"username": "ad\x00min", "password": "whatever-1234"})
    assert r.status_code == 400, r.text


def test_staff_bodies_with_a_nul_are_a_400_and_change_nothing(
    http: httpx.Client, services: Services
) -> None:
    admin = _admin(services, http)
    user = {"username": "abc", "role": "monitor", "password": "Quiet-river-stone-2025!"}
    r = http.post("/api/v1/users", json={**user, "display_name": "a\x00b"}, headers=admin)
    assert r.status_code == 400, r.text
    r = http.post("/api/v1/institutions", json={"id": "inst1", "name": "a\x00b"}, headers=admin)
    assert r.status_code == 400, r.text
    users = http.get("/api/v1/users", headers=admin).json()
    assert [u["username"] for u in users] == ["nofive-admin"]
    # an escaped backslash before "u0000" is no NUL
    r = http.post("/api/v1/users", json={**user, "display_name": "a\\u0000b"}, headers=admin)
    assert r.status_code == 201, r.text


def test_an_id_ending_in_a_newline_is_not_stored(
    http: httpx.Client, sender: SenderKey, services: Services
) -> None:
    r = http.put("/fhir/Patient/abc%0A", json={"resourceType": "Patient"}, headers=sender.headers)
    assert r.status_code == 400, r.text
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "request": {"method": "PUT", "url": "Patient/abc\n"},
                "resource": {"resourceType": "Patient"},
            }
        ],
    }
    r = http.post("/fhir", json=bundle, headers=sender.headers)
    assert r.status_code == 400, r.text
    assert _stored(services) == 0


# -- the staff API (found by the fuzz tests) ------------------------------------------------


def _admin(services: Services, http: httpx.Client) -> dict[str, str]:
    from mch_service.auth.permissions import system_principal
    from mch_service.auth.schemas import UserCreate

    with services.db.transaction() as session:
        services.accounts.add_user(
            session,
            system_principal(),
            UserCreate(username="nofive-admin", role="admin", password="Quiet-river-stone-2025!"),
        )
    r = http.post(
        "/api/v1/token", json={"username": "nofive-admin", "password": "Quiet-river-stone-2025!"}
    )
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_staff_urls_with_control_characters_are_a_400(
    http: httpx.Client, services: Services
) -> None:
    admin = _admin(services, http)
    for url in ["/api/v1/cases/a%00b", "/api/v1/pregnancies/a%00b", "/api/v1/audit?actor=a%00"]:
        r = http.get(url, headers=admin)
        assert r.status_code == 400, (url, r.text)
        assert r.json()["error"]["code"] == "invalid"


def test_job_runs_with_a_negative_limit_are_a_400(http: httpx.Client, services: Services) -> None:
    admin = _admin(services, http)
    assert http.get("/api/v1/jobs?limit=-1", headers=admin).status_code == 400
    assert http.get("/api/v1/jobs?limit=5", headers=admin).status_code == 200
