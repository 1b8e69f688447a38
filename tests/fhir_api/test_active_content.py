"""Strings with HTML active content are refused (the reference validator's security checks),
naming the element; MCH_FHIR_REJECT_ACTIVE_CONTENT turns the check off."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mch_service.app import Services
from mch_service.fhir_api.structural_rules import check_structure
from tests.conftest import SenderKey

DIV = '<div xmlns="http://www.w3.org/1999/xhtml">{}</div>'


def _patient(**extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "gender": "female", **extra}


ACTIVE = [
    (_patient(name=[{"text": "<script>alert(1)</script>"}]), "Patient.name[0].text"),
    (_patient(name=[{"text": "<SCRIPT src=//x.example/a.js>"}]), "Patient.name[0].text"),
    (_patient(name=[{"family": "<iframe src=x>"}]), "Patient.name[0].family"),
    (
        _patient(name=[{"given": ["Li", '<img src=x onerror="alert(1)">']}]),
        "Patient.name[0].given[1]",
    ),
    (_patient(name=[{"text": "<img\nonload=alert(1)>"}]), "Patient.name[0].text"),
    (
        _patient(telecom=[{"system": "url", "value": "javascript:alert(1)"}]),
        "Patient.telecom[0].value",
    ),
]

# The narrative is R4's txt-1 (parsed XHTML), refused whatever the setting says.
NARRATIVE = [
    (
        _patient(text={"status": "generated", "div": DIV.format('<p onclick="x()">Li</p>')}),
        "Patient.text.div",
    ),
    (
        _patient(text={"status": "generated", "div": DIV.format("<script>x()</script>")}),
        "Patient.text.div",
    ),
    (
        _patient(
            text={"status": "generated", "div": DIV.format('<a href="JavaScript :x()">Li</a>')}
        ),
        "Patient.text.div",
    ),
]

HARMLESS = [
    _patient(name=[{"text": "Hb < 110 g/L, and one=2"}]),
    _patient(name=[{"text": "see javascript manual; onset=2025"}]),
    _patient(text={"status": "generated", "div": DIV.format('<p style="x"><b>Li</b> Na</p>')}),
    _patient(telecom=[{"system": "url", "value": "https://hospital.example.cn/?option=1"}]),
]


@pytest.mark.parametrize(("resource", "expression"), ACTIVE)
def test_active_content_is_found_and_located(resource: dict[str, Any], expression: str) -> None:
    issues = [i for i in check_structure(resource) if i.code == "security"]
    assert [i.expression for i in issues] == [expression]
    assert check_structure(resource, reject_active_content=False) == []


@pytest.mark.parametrize(("resource", "expression"), NARRATIVE)
def test_active_narrative_is_refused_by_txt1_either_way(
    resource: dict[str, Any], expression: str
) -> None:
    for setting in (True, False):
        issues = check_structure(resource, reject_active_content=setting)
        assert [(i.expression, i.code) for i in issues] == [(expression, "invariant")]


@pytest.mark.parametrize("resource", HARMLESS)
def test_harmless_text_and_narrative_pass(resource: dict[str, Any]) -> None:
    assert check_structure(resource) == []


def _count(services: Services) -> int:
    from sqlalchemy import func, select

    from mch_service.store.models import FhirResource

    with services.db.reading() as session:
        return int(session.scalar(select(func.count()).select_from(FhirResource)) or 0)


@pytest.mark.parametrize(("resource", "expression"), [ACTIVE[0], ACTIVE[-1]])
def test_a_write_with_active_content_is_refused(
    http: httpx.Client,
    sender: SenderKey,
    services: Services,
    resource: dict[str, Any],
    expression: str,
) -> None:
    r = http.post("/fhir/Patient", json=resource, headers=sender.headers)
    assert r.status_code == 400, r.text
    issue = r.json()["issue"][0]
    assert (issue["expression"], issue["code"]) == ([expression], "security")
    assert _count(services) == 0
    r = http.post("/fhir/Patient/$validate", json=resource, headers=sender.headers)
    assert r.status_code == 400, r.text


def test_bundles_name_the_entry(http: httpx.Client, sender: SenderKey, services: Services) -> None:
    bad, _ = ACTIVE[0]
    entries = [
        {"request": {"method": "POST", "url": "Patient"}, "resource": r}
        for r in (_patient(), bad, _patient(birthDate="1990-01-01"))
    ]
    r = http.post(
        "/fhir",
        json={"resourceType": "Bundle", "type": "transaction", "entry": entries},
        headers=sender.headers,
    )
    assert r.status_code == 400, r.text
    assert r.json()["issue"][0]["expression"] == ["Bundle.entry[1].resource.name[0].text"]
    assert _count(services) == 0
    r = http.post(
        "/fhir",
        json={"resourceType": "Bundle", "type": "batch", "entry": entries},
        headers=sender.headers,
    )
    assert [e["response"]["status"] for e in r.json()["entry"]] == [
        "201 Created",
        "400 Bad Request",
        "201 Created",
    ]
    assert _count(services) == 2


def test_the_setting_turns_the_check_off(
    http: httpx.Client, sender: SenderKey, services: Services
) -> None:
    services.fhir.interactions.reject_active_content = False
    r = http.post("/fhir/Patient", json=ACTIVE[0][0], headers=sender.headers)
    assert r.status_code == 201, r.text


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from mch_service.config import Settings

    assert Settings().fhir_reject_active_content is True
    monkeypatch.setenv("MCH_FHIR_REJECT_ACTIVE_CONTENT", "false")
    assert Settings().fhir_reject_active_content is False
