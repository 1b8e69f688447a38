"""Sender isolation: ids scoped per sender, references that never reach another sender's
records, and answers that do not tell whether another sender's id exists."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select

from mch_service.app import Services
from mch_service.domain.models import Pregnancy, RiskAssessmentFact
from tests.auth.test_accounts import add_user, bearer, token_for
from tests.conftest import SenderKey, make_sender
from tests.domain.fixtures import bundle, colour, entry, obs, patient, uid, visit


def _post(http: httpx.Client, sender: SenderKey, b: dict[str, Any]) -> httpx.Response:
    return http.post("/fhir", json=b, headers=sender.headers)


def _pregnancies(services: Services) -> list[Pregnancy]:
    with services.db.reading() as session:
        return list(session.scalars(select(Pregnancy).order_by(Pregnancy.id)))


def _a_woman_at_hospital_a(http: httpx.Client, hosp_a: SenderKey) -> str:
    """A woman with a pregnancy at hosp-a; returns her Patient id there."""
    p = uid()
    r = _post(
        http,
        hosp_a,
        bundle(
            entry(patient("hosp-a", "A1"), p),
            entry(visit(p, "2025-03-01T10:00:00+08:00", first=True)),
            entry(obs(p, "8665-2", "2025-03-01", valueDateTime="2025-01-01")),
        ),
    )
    assert r.status_code == 200, r.text
    location = r.json()["entry"][0]["response"]["location"]
    return location.split("/")[1]  # type: ignore[no-any-return]


def test_a_reference_to_another_senders_patient_never_reaches_her(
    http: httpx.Client, services: Services
) -> None:
    """The attack: hosp-b writes a red RiskAssessment about `Patient/<hosp-a's id>`. It must
    not join hosp-a's woman (her pregnancy would gain hosp-b, and hosp-b's reviewer would read
    her name, resident ID, phone and address), and hosp-b's answer must be the one it gets for
    an id nobody has."""
    hosp_a, hosp_b = make_sender(services, "hosp-a"), make_sender(services, "hosp-b")
    her_id = _a_woman_at_hospital_a(http, hosp_a)
    [pregnancy] = _pregnancies(services)
    assert pregnancy.institutions.split() == ["hosp-a"]

    theirs = _post(http, hosp_b, bundle(entry(colour(f"Patient/{her_id}", "2025-03-05", "red"))))
    nobodys = _post(
        http, hosp_b, bundle(entry(colour(f"Patient/{uuid.uuid4()}", "2025-03-05", "red")))
    )
    assert theirs.status_code == nobodys.status_code
    assert [e["response"]["status"] for e in theirs.json()["entry"]] == [
        e["response"]["status"] for e in nobodys.json()["entry"]
    ]

    after = _pregnancies(services)
    assert [(p.id, p.institutions) for p in after] == [(pregnancy.id, "hosp-a")]
    with services.db.reading() as session:
        colours = session.scalars(
            select(RiskAssessmentFact.colour).where(RiskAssessmentFact.pregnancy_id == pregnancy.id)
        ).all()
    assert "red" not in colours
    # a reviewer whose jurisdiction is hosp-b only does not get to her record
    add_user(services, "rev-b", "reviewer", institutions=["hosp-b"])
    r = http.get(f"/api/v1/pregnancies/{pregnancy.id}", headers=bearer(token_for(http, "rev-b")))
    assert r.status_code == 404
    assert "王" not in r.text
    assert "13912345678" not in r.text


def test_a_conditional_reference_resolves_only_among_the_senders_own(
    http: httpx.Client, services: Services
) -> None:
    hosp_a, hosp_b = make_sender(services, "hosp-a"), make_sender(services, "hosp-b")
    her_id = _a_woman_at_hospital_a(http, hosp_a)
    [pregnancy] = _pregnancies(services)
    answers = {}
    for name, ref in (
        ("theirs by id", f"Patient?_id={her_id}"),
        ("nobody's by id", "Patient?_id=no-such-id"),
        ("theirs by MRN", "Patient?identifier=http://hosp-a.example.cn/mrn|A1"),
        ("nobody's by MRN", "Patient?identifier=http://hosp-a.example.cn/mrn|Z9"),
        ("theirs by value", "Patient?identifier=A1"),
        ("nobody's by value", "Patient?identifier=Z9"),
    ):
        r = _post(http, hosp_b, bundle(entry(colour(ref, "2025-03-05", "red"))))
        assert r.status_code == 400, (name, r.text)
        [issue] = r.json()["issue"]
        assert issue["expression"] == ["Bundle.entry[0].resource.subject.reference"]
        answers[name] = (issue["code"], issue["diagnostics"].replace(ref, "REF"))
    assert answers["theirs by id"] == answers["nobody's by id"]
    assert answers["theirs by MRN"] == answers["nobody's by MRN"]
    assert answers["theirs by value"] == answers["nobody's by value"]
    assert http.get("/fhir/RiskAssessment", headers=hosp_b.headers).json()["total"] == 0
    assert [(p.id, p.institutions) for p in _pregnancies(services)] == [(pregnancy.id, "hosp-a")]


def test_ids_are_scoped_per_sender_a_put_neither_takes_nor_blocks(
    http: httpx.Client, sender: SenderKey, other_sender: SenderKey
) -> None:
    # the other sender takes an id first: this sender's PUT of that id is not blocked
    first = http.put(
        "/fhir/Patient/future",
        json={"resourceType": "Patient", "id": "future", "gender": "male"},
        headers=other_sender.headers,
    )
    assert first.status_code == 201
    mine = http.put(
        "/fhir/Patient/future",
        json={"resourceType": "Patient", "id": "future", "gender": "female"},
        headers=sender.headers,
    )
    assert mine.status_code == 201, mine.text
    # and a PUT to an id this sender holds does not take it from it
    again = http.put(
        "/fhir/Patient/future",
        json={"resourceType": "Patient", "id": "future", "gender": "other"},
        headers=other_sender.headers,
    )
    assert again.status_code == 200
    assert http.get("/fhir/Patient/future", headers=sender.headers).json()["gender"] == "female"
    assert http.get("/fhir/Patient/future", headers=other_sender.headers).json()["gender"] == (
        "other"
    )
    history = http.get("/fhir/Patient/future/_history", headers=sender.headers).json()
    assert history["total"] == 1
    # a delete by one sender leaves the other's record alone
    assert http.delete("/fhir/Patient/future", headers=other_sender.headers).status_code == 204
    assert http.get("/fhir/Patient/future", headers=sender.headers).status_code == 200
    assert http.get("/fhir/Patient/future", headers=other_sender.headers).status_code == 410


def test_the_same_patient_id_at_two_senders_is_two_women(
    http: httpx.Client, services: Services
) -> None:
    """Without a resident ID, a woman is one institution's record of her: two senders'
    Patient/shared are two women, never merged by their id."""
    senders = [make_sender(services, i) for i in ("hosp-a", "hosp-b")]
    for s in senders:
        body = patient(s.institution_id, "M1", rid=None, id="shared")
        assert http.put("/fhir/Patient/shared", json=body, headers=s.headers).status_code == 201
        r = _post(
            http,
            s,
            bundle(
                entry(visit("Patient/shared", "2025-03-01T10:00:00+08:00", first=True)),
                entry(obs("Patient/shared", "8665-2", "2025-03-01", valueDateTime="2025-01-01")),
            ),
        )
        assert r.status_code == 200, r.text
    assert sorted(p.institutions for p in _pregnancies(services)) == ["hosp-a", "hosp-b"]
    with services.db.reading() as session:
        keys = session.scalars(select(Pregnancy.woman_key)).all()
    assert len(set(keys)) == 2
