"""bundle_checks.check_bundle, the one entry point of the transaction/batch envelope rules."""

from __future__ import annotations

from typing import Any

import pytest

from mch_service.errors import InvalidResource, MchError, TooLarge
from mch_service.fhir_api.bundle_checks import BUNDLE_ITSELF, BundleLimits, check_bundle


def _get(url: str) -> dict[str, Any]:
    return {"request": {"method": "GET", "url": url}}


def _rejections() -> tuple[list[tuple[str, MchError]], Any]:
    seen: list[tuple[str, MchError]] = []
    return seen, lambda bundle_type, exc: seen.append((bundle_type, exc))


def test_a_body_that_is_no_transaction_or_batch_is_refused_unaudited() -> None:
    seen, reject = _rejections()
    with pytest.raises(InvalidResource):
        check_bundle({"resourceType": "Bundle", "type": "document"}, BundleLimits(10), reject)
    assert seen == []


def test_too_many_reads_are_refused_and_handed_to_reject_with_the_type() -> None:
    seen, reject = _rejections()
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [_get("Patient")] * 3}
    with pytest.raises(TooLarge):
        check_bundle(bundle, BundleLimits(10, max_gets=2), reject)
    assert [(t, type(e)) for t, e in seen] == [("batch", TooLarge)]


def test_entry_problems_are_located_at_their_entry() -> None:
    _, reject = _rejections()
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            _get("Patient"),
            {"resource": {"resourceType": "Patient"}},  # no request
            {"request": {"method": "POST", "url": "Patient"}},  # no resource
        ],
    }
    checked = check_bundle(bundle, BundleLimits(10), reject)
    assert checked.type == "batch"
    assert [e.index for e in checked.entries] == [0, 1, 2]
    by_entry = checked.issues_by_entry()
    assert sorted(by_entry) == [1, 2]
    assert BUNDLE_ITSELF not in by_entry
    assert by_entry[1][0].expression == "Bundle.entry[1].request"
    assert by_entry[2][0].expression == "Bundle.entry[2].resource"


def test_a_duplicate_full_url_is_a_located_issue() -> None:
    _, reject = _rejections()
    patient = {"resourceType": "Patient", "gender": "female"}
    entry = {
        "fullUrl": "urn:uuid:5f3c1c9e-3f4b-4c43-9a55-0a7d8f1f2b11",
        "resource": patient,
        "request": {"method": "POST", "url": "Patient"},
    }
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [entry, dict(entry)]}
    checked = check_bundle(bundle, BundleLimits(10), reject)
    assert [i.expression for i in checked.issues] == ["Bundle.entry[1].fullUrl"]
    assert "bdl-7" in checked.issues[0].message
