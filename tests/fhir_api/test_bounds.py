"""Bounded resources on the FHIR interface: one resource's size, an NDJSON line's size, GET
entries per batch, a batch response's size, and search and history pages in bytes."""

from __future__ import annotations

import io
from http import HTTPStatus
from typing import Any

import httpx
import orjson

from mch_service.app import Services
from mch_service.fhir_api.bulk import LineTooLong, iter_lines
from tests.conftest import SenderKey
from tests.fhir_api.test_import import wait_for_import

MRN = "urn:oid:1.2.156.1.mrn"


def _patient(i: int, padding: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "Patient",
        "id": f"p{i}",
        "identifier": [{"system": MRN, "value": f"M{i}"}],
    }
    if padding:
        out["extension"] = [{"url": "http://hospital.test/pad", "valueString": "a" * padding}]
    return out


class _Reads(io.BytesIO):
    """A file that remembers the longest piece it handed out."""

    longest = 0

    def readline(self, size: int | None = -1) -> bytes:  # type: ignore[override]
        piece = super().readline(size)
        self.longest = max(self.longest, len(piece))
        return piece


def test_a_long_ndjson_line_is_skipped_in_pieces() -> None:
    body = b'{"a": 1}\n' + b"x" * 1_000_000 + b"\n" + b'{"b": 2}\n' + b"y" * 5000
    fh = _Reads(body)
    out = list(iter_lines("body", fh, 1000))
    assert [(n, type(raw)) for _, n, raw in out] == [
        (1, bytes),
        (2, LineTooLong),
        (3, bytes),
        (4, LineTooLong),
    ]
    assert out[1][2] == LineTooLong(1_000_000, 1000)
    assert out[3][2] == LineTooLong(5000, 1000)
    assert fh.longest <= 64 * 1024  # never the whole line at once


def test_an_ndjson_line_over_the_resource_limit_is_that_lines_error(
    services: Services, http: httpx.Client, sender: SenderKey
) -> None:
    limit = services.settings.max_resource_bytes
    lines = [
        orjson.dumps(_patient(1)),
        orjson.dumps(_patient(2, padding=limit + 10)),
        orjson.dumps(_patient(3)),
    ]
    headers = {**sender.headers, "Content-Type": "application/fhir+ndjson"}
    r = http.post("/fhir/$import", content=b"\n".join(lines) + b"\n", headers=headers)
    assert r.status_code == 202, r.text
    report = wait_for_import(
        http, "/fhir" + r.headers["content-location"].split("/fhir", 1)[1], headers
    )
    assert report["status"] == "done"
    assert report["report"]["created"] == 2
    assert [e["line"] for e in report["report"]["errors"]] == [2]
    assert str(limit) in report["report"]["errors"][0]["reason"]
    assert http.get("/fhir/Patient/p2", headers=sender.headers).status_code == 404
    assert http.get("/fhir/Patient/p3", headers=sender.headers).status_code == 200


def test_one_resource_over_the_limit_is_refused(
    services: Services, http: httpx.Client, sender: SenderKey
) -> None:
    services.settings.max_resource_bytes = 20_000
    services.fhir.max_resource_bytes = 20_000
    big = _patient(1, padding=30_000)
    r = http.put("/fhir/Patient/p1", content=orjson.dumps(big), headers=sender.headers)
    assert r.status_code == 413
    assert r.json()["issue"][0]["code"] == "too-costly"
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"resource": big, "request": {"method": "PUT", "url": "Patient/p1"}},
            {"resource": _patient(2), "request": {"method": "PUT", "url": "Patient/p2"}},
        ],
    }
    r = http.post("/fhir", content=orjson.dumps(bundle), headers=sender.headers)
    assert r.status_code == 200, r.text
    first, second = r.json()["entry"]
    assert first["response"]["status"] == "400 Bad Request"
    issue = first["response"]["outcome"]["issue"][0]
    assert (issue["code"], issue["expression"]) == ("too-costly", ["Bundle.entry[0].resource"])
    assert second["response"]["status"].startswith("201")
    bundle["type"] = "transaction"
    r = http.post("/fhir", content=orjson.dumps(bundle), headers=sender.headers)
    assert r.status_code == 400
    assert r.json()["issue"][0]["expression"] == ["Bundle.entry[0].resource"]


def _put(http: httpx.Client, sender: SenderKey, resource: dict[str, Any]) -> None:
    r = http.put(
        f"/fhir/Patient/{resource['id']}", content=orjson.dumps(resource), headers=sender.headers
    )
    assert r.status_code in (200, 201), r.text


def _gets(ids: list[str]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"request": {"method": "GET", "url": f"Patient/{i}"}} for i in ids],
    }


def test_too_many_gets_in_a_batch_are_refused_whole(
    services: Services, http: httpx.Client, sender: SenderKey
) -> None:
    services.fhir.max_batch_gets = 3
    r = http.post(
        "/fhir", content=orjson.dumps(_gets(["a", "b", "c", "d"])), headers=sender.headers
    )
    assert r.status_code == 413
    assert r.json()["resourceType"] == "OperationOutcome"
    assert "4 GET entries" in r.json()["issue"][0]["diagnostics"]
    r = http.post("/fhir", content=orjson.dumps(_gets(["a", "b", "c"])), headers=sender.headers)
    assert r.status_code == 200


def test_a_batch_response_is_bounded_in_bytes(
    services: Services, http: httpx.Client, sender: SenderKey
) -> None:
    for i in range(1, 6):
        _put(http, sender, _patient(i, padding=1000))
    services.fhir.max_batch_response_bytes = 3000  # room for two of them
    r = http.post(
        "/fhir", content=orjson.dumps(_gets([f"p{i}" for i in range(1, 6)])), headers=sender.headers
    )
    assert r.status_code == 200
    statuses = [e["response"]["status"] for e in r.json()["entry"]]
    assert statuses == ["200 OK", "200 OK"] + [f"413 {HTTPStatus(413).phrase}"] * 3
    assert len(r.content) < 3000 + 5 * 1000
    outcome = r.json()["entry"][2]["response"]["outcome"]
    assert outcome["issue"][0]["code"] == "too-costly"


def _follow(http: httpx.Client, url: str, sender: SenderKey) -> list[dict[str, Any]]:
    pages = []
    while url:
        page = http.get(url, headers=sender.headers).json()
        pages.append(page)
        url = next(
            (
                "/fhir" + link["url"].split("/fhir", 1)[1]
                for link in page.get("link", [])
                if link["relation"] == "next"
            ),
            "",
        )
    return pages


def test_search_pages_are_bounded_in_bytes(
    services: Services, http: httpx.Client, sender: SenderKey
) -> None:
    for i in range(1, 6):
        _put(http, sender, _patient(i, padding=1000))
    services.fhir.interactions.max_page_bytes = 2500  # two of them
    pages = _follow(http, "/fhir/Patient?_count=50", sender)
    assert [len(p["entry"]) for p in pages] == [2, 2, 1]
    ids = [e["resource"]["id"] for p in pages for e in p["entry"]]
    assert sorted(ids) == [f"p{i}" for i in range(1, 6)]
    assert pages[0]["total"] == 5


def test_history_pages_are_bounded_and_linked(
    services: Services, http: httpx.Client, sender: SenderKey
) -> None:
    for n in range(5):
        p = _patient(1, padding=1000)
        p["gender"] = ["female", "male", "other", "unknown", "female"][n]
        _put(http, sender, p)
    services.fhir.interactions.max_page_bytes = 2500
    pages = _follow(http, "/fhir/Patient/p1/_history", sender)
    assert [len(p["entry"]) for p in pages] == [2, 2, 1]
    versions = [e["response"]["etag"] for p in pages for e in p["entry"]]
    assert versions == [f'W/"{v}"' for v in (5, 4, 3, 2, 1)]
    assert {p["total"] for p in pages} == {5}
    r = http.get("/fhir/Patient/p1/_history?_cursor=x", headers=sender.headers)
    assert r.status_code == 400


def test_a_resource_with_100k_unknown_codings_costs_bounded_rows(
    services: Services, http: httpx.Client, sender: SenderKey
) -> None:
    from sqlalchemy import func, select

    from mch_service.domain.models import DataQualityIssue, UnmappedCode

    n = 100_000
    obs = {
        "resourceType": "Observation",
        "id": "many",
        "status": "final",
        "code": {"coding": [{"system": "urn:x", "code": f"c{i}"} for i in range(n)]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2025-03-01",
    }
    r = http.put(
        "/fhir/Observation/many",
        content=orjson.dumps(obs),
        headers={**sender.headers, "Prefer": "return=OperationOutcome"},
    )
    assert r.status_code == 201, r.text
    assert r.headers["Warning"].startswith('199 mch-service "codings_capped at Observation.code: ')
    issues = {i["expression"][0]: i["diagnostics"] for i in r.json()["issue"]}
    cap = services.settings.max_codings_per_element
    assert issues["Observation.code"] == f"{n} codings; only the first {cap} were read"
    with services.db.reading() as session:
        rows = session.scalar(select(func.count()).select_from(UnmappedCode))
        counted = session.scalars(
            select(DataQualityIssue.message).where(DataQualityIssue.rule == "unmapped_codes_capped")
        ).all()
    assert rows == services.settings.max_unmapped_codes_per_resource
    assert counted == [
        f"{cap - rows} more codes that no code table recognises were not recorded "
        f"(at most {rows} per resource)"
    ]
