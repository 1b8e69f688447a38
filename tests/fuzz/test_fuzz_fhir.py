"""Property-based fuzzing of the FHIR interface with hypothesis: valid and mutated resources,
Bundles, searches, reads and NDJSON imports against the real server on SQLite and PostgreSQL.
See harness.py for what is asserted and the budget."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import hypothesis.strategies as st
from hypothesis import example, given

from mch_service.app import Services
from mch_service.fhir_api.bulk import INTERNAL_ERROR
from tests.conftest import SenderKey
from tests.fuzz.harness import FUZZ_SETTINGS, check_answer, row_counts
from tests.fuzz.strategies import bundles, ids, nasty_text, resources, search_queries

# The findings, always tried first (the random examples come on top): valid but extreme
# dates (the date-range index overflowed), ids with a NUL or a trailing newline.
EXTREME = ["9999", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]


def _obs(day: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": day,
    }


EXTREME_BATCH = {
    "resourceType": "Bundle",
    "type": "batch",
    "entry": [
        {"request": {"method": "POST", "url": "Observation"}, "resource": _obs(day)}
        for day in ["2025-03-01", *EXTREME]
    ],
}


def _body(resource: Any) -> bytes:
    # json, not orjson: it writes any Python value, lone surrogates included (escaped)
    return json.dumps(resource).encode()


def _seed(http: httpx.Client, sender: SenderKey) -> None:
    r = http.put(
        "/fhir/Patient/p1",
        json={
            "resourceType": "Patient",
            "id": "p1",
            "identifier": [{"system": "urn:oid:1.2.156.1.mrn", "value": "M1"}],
        },
        headers=sender.headers,
    )
    assert r.status_code in (200, 201), r.text


def test_resources(http: httpx.Client, sender: SenderKey, services: Services) -> None:
    _seed(http, sender)

    @FUZZ_SETTINGS
    @given(resource=resources(), how=st.sampled_from(["create", "update", "validate"]), rid=ids)
    @example(resource=_obs(EXTREME[1]), how="create", rid="x")
    @example(resource={"resourceType": "Patient"}, how="update", rid="abc\n")
    @example(resource={"resourceType": "Patient"}, how="update", rid="a\x00b")
    def run(resource: Any, how: str, rid: str) -> None:
        rtype = resource.get("resourceType") if isinstance(resource, dict) else None
        rtype = rtype if isinstance(rtype, str) and rtype.isalpha() else "Observation"
        if how == "create":
            method, url = "POST", f"/fhir/{rtype}"
        elif how == "update":
            method, url = "PUT", f"/fhir/{rtype}/{quote(rid, safe='', errors='surrogatepass')}"
        else:
            method, url = "POST", f"/fhir/{rtype}/$validate"
        before = row_counts(services)
        r = http.request(method, url, content=_body(resource), headers=sender.headers)
        check_answer(services, method, url, r, before)

    run()


def test_bundles(http: httpx.Client, sender: SenderKey, services: Services) -> None:
    _seed(http, sender)

    @FUZZ_SETTINGS
    @given(bundle=bundles())
    @example(bundle=EXTREME_BATCH)
    @example(bundle={**EXTREME_BATCH, "type": "transaction"})
    def run(bundle: dict[str, Any]) -> None:
        before = row_counts(services)
        r = http.post("/fhir", content=_body(bundle), headers=sender.headers)
        check_answer(services, "POST", "/fhir", r, before)

    run()


def test_searches_and_reads(http: httpx.Client, sender: SenderKey, services: Services) -> None:
    _seed(http, sender)

    @FUZZ_SETTINGS
    @given(
        query=search_queries(),
        rtype=st.sampled_from(["Observation", "Patient", "Encounter"]),
        rid=st.one_of(ids, nasty_text),
        vid=st.one_of(st.integers(-1, 2**80).map(str), nasty_text),
    )
    @example(
        query=[("_cursor", "9223372036854775808"), ("date", "ge0000-01-01")],
        rtype="Observation",
        rid="a\x00b",
        vid="12345678901234567890123",
    )
    def run(query: list[tuple[str, str]], rtype: str, rid: str, vid: str) -> None:
        # a lone surrogate goes out as the bytes it would be (invalid UTF-8)
        rid_q, vid_q = (quote(v, safe="", errors="surrogatepass") for v in (rid, vid))
        for url in [
            f"/fhir/{rtype}?{urlencode(query, errors='surrogatepass')}",
            f"/fhir/{rtype}/{rid_q}",
            f"/fhir/{rtype}/{rid_q}/_history",
            f"/fhir/{rtype}/{rid_q}/_history/{vid_q}",
            f"/fhir/$import/{rid_q}",
        ]:
            if url.endswith("/") or "//" in url:
                continue  # an empty segment is another route
            check_answer(services, "GET", url, http.get(url, headers=sender.headers), None)
        url = f"/fhir/{rtype}/{rid_q}"
        if rid_q:
            before = row_counts(services)
            r = http.delete(url, headers=sender.headers)
            check_answer(services, "DELETE", url, r, before)

    run()


def test_imports(http: httpx.Client, sender: SenderKey, services: Services) -> None:
    """A bad line is reported, never a failed job, and never a 5xx."""
    _seed(http, sender)
    headers = {**sender.headers, "Content-Type": "application/fhir+ndjson"}

    @FUZZ_SETTINGS
    @given(lines=st.lists(resources(), min_size=1, max_size=5))
    @example(lines=[_obs(day) for day in ["2025-03-01", *EXTREME]])
    def run(lines: list[Any]) -> None:
        body = b"\n".join(_body(line) for line in lines) + b"\n"
        r = http.post("/fhir/$import", content=body, headers=headers)
        check_answer(services, "POST", "/fhir/$import", r, None)
        assert r.status_code == 202, r.text
        url = "/fhir" + r.headers["content-location"].split("/fhir", 1)[1]
        deadline = time.monotonic() + 60
        while True:
            status = http.get(url, headers=headers)
            check_answer(services, "GET", url, status, None)
            if status.status_code == 200:
                break
            assert time.monotonic() < deadline
            time.sleep(0.02)
        job = status.json()
        assert job["status"] == "done", job
        assert job["report"]["lines"] == len(lines), job
        assert job["report"]["accepted"] + job["report"]["rejected"] == len(lines), job
        # a line the server failed on is reported, but it is a 5xx all the same
        faults = [e for e in job["report"]["errors"] if e["reason"] == INTERNAL_ERROR]
        assert not faults, job

    run()
