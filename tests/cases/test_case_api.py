"""The register and lists through HTTP: kept current by new data, limited to a reviewer's
jurisdiction everywhere, safe against two reviewers saving at once."""

from __future__ import annotations

import io
import threading
from datetime import date

import httpx
import openpyxl
from sqlalchemy import select

from mch_service.app import Services
from mch_service.cases.models import CaseRecord
from tests.auth.test_accounts import add_user, bearer, token_for
from tests.conftest import SenderKey
from tests.domain.fixtures import (
    bundle,
    colour,
    delivery,
    entry,
    obs,
    patient,
    uid,
    visit,
)
from tests.domain.test_pregnancy_record import post
from tests.indicators.test_indicator_service import _valid_rid


def red_woman(http: httpx.Client, sender: SenderKey, street: str, mrn: str, rid: str) -> str:
    p = uid()
    out = post(
        http,
        sender,
        bundle(
            entry(patient("hosp-a", mrn, rid=rid, street=street), p),
            entry(obs(p, "8665-2", "2025-01-05", valueDateTime="2025-01-01")),
            entry(visit(p, "2025-01-05", first=True)),
            entry(colour(p, "2025-03-01", "red")),
        ),
    )
    return out["entry"][0]["response"]["location"].split("/_history")[0]


def case_id(services: Services, street: str) -> str:
    with services.db.reading() as session:
        return session.scalars(
            select(CaseRecord.pregnancy_id).where(CaseRecord.street == street)
        ).one()


def test_register_lists_jurisdiction_and_concurrency(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    red_woman(http, sender, "330102001", "A1", _valid_rid("33010219900101111"))
    red_woman(http, sender, "330102002", "B1", _valid_rid("33010219910101111"))
    # a red grading makes a case at once; today both are long past their EDD too
    with services.db.reading() as session:
        cases = session.scalars(select(CaseRecord)).all()
    assert {(c.street, c.status, c.colour) for c in cases} == {
        ("330102001", "open", "red"),
        ("330102002", "open", "red"),
    }
    add_user(services, "rev-a", "reviewer", streets=["330102001"])
    add_user(services, "rev-b", "reviewer", streets=["330102002"])
    add_user(services, "mon1", "monitor")
    rev_a, rev_b = bearer(token_for(http, "rev-a")), bearer(token_for(http, "rev-b"))
    mine = http.get("/api/v1/cases?list=outcome_unknown", headers=rev_a).json()
    assert mine["total"] == 1
    item = mine["items"][0]
    assert item["street"] == "330102001"
    assert item["name"] == "王*"
    assert "*" in item["resident_id"]
    all_a = http.get("/api/v1/cases", headers=rev_a).json()
    assert {i["street"] for i in all_a["items"]} == {"330102001"}
    other = case_id(services, "330102002")
    assert http.get(f"/api/v1/cases/{other}", headers=rev_a).status_code == 404
    assert http.get(f"/api/v1/pregnancies/{other}", headers=rev_a).status_code == 404
    exported = http.get("/api/v1/cases/export.csv", headers=rev_a).content.decode("utf-8-sig")
    assert "330102002" not in exported
    assert "330102001" in exported
    book = openpyxl.load_workbook(
        io.BytesIO(
            http.get("/api/v1/cases/export.xlsx?list=outcome_unknown", headers=rev_b).content
        )
    )
    streets = {row[6] for row in book.active.iter_rows(min_row=2, values_only=True)}
    assert streets == {"330102002"}
    assert http.get("/api/v1/cases", headers=bearer(token_for(http, "mon1"))).status_code == 403

    mine_id = case_id(services, "330102001")
    detail = http.get(f"/api/v1/cases/{mine_id}", headers=rev_a).json()
    assert detail["pregnancy"]["woman"]["name"] == "王芳"  # full on the case page
    assert [g["colour"] for g in detail["gradings"]] == ["red"]
    version = detail["case"]["version"]
    body = {
        "version": version,
        "contact_date": "2025-03-05",
        "kind": "phone",
        "outcome": "reached; booked at level-3 hospital",
        "notes": "丈夫接听",
    }
    results: list[int] = []

    def save() -> None:
        with httpx.Client(base_url=str(http.base_url)) as c:
            results.append(
                c.post(f"/api/v1/cases/{mine_id}/follow-ups", json=body, headers=rev_a).status_code
            )

    threads = [threading.Thread(target=save) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [201, 412]
    after = http.get(f"/api/v1/cases/{mine_id}", headers=rev_a).json()
    assert len(after["follow_ups"]) == 1
    assert after["follow_ups"][0]["notes"] == "丈夫接听"
    stale = http.post(
        f"/api/v1/cases/{mine_id}/close",
        headers=rev_a,
        json={"version": version, "reason": "moved away"},
    )
    assert stale.status_code == 412
    assert "reload" in stale.json()["error"]["message"]
    closed = http.post(
        f"/api/v1/cases/{mine_id}/close",
        headers=rev_a,
        json={"version": after["case"]["version"], "reason": "moved away"},
    )
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    no_reason = http.post(
        f"/api/v1/cases/{mine_id}/reopen",
        headers=rev_a,
        json={"version": closed.json()["version"], "reason": ""},
    )
    assert no_reason.status_code == 400
    assigned = http.post(
        f"/api/v1/cases/{mine_id}/reopen",
        headers=rev_a,
        json={"version": closed.json()["version"], "reason": "came back"},
    )
    assert assigned.json()["status"] == "open"


def test_a_delivery_removes_outcome_unknown_at_once(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    patient_ref = red_woman(http, sender, "330102001", "A2", _valid_rid("33010219920202222"))
    add_user(services, "rev-a", "reviewer", streets=["330102001"])
    rev = bearer(token_for(http, "rev-a"))
    assert http.get("/api/v1/cases?list=outcome_unknown", headers=rev).json()["total"] == 1
    post(http, sender, bundle(*delivery(patient_ref, "2025-10-01", "2025-10-01", "2025-10-03")))
    assert http.get("/api/v1/cases?list=outcome_unknown", headers=rev).json()["total"] == 0


def test_lists_at_a_chosen_day_through_the_job(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    red_woman(http, sender, "330102001", "A3", _valid_rid("33010219930303333"))
    add_user(services, "admin1", "admin")
    admin = bearer(token_for(http, "admin1"))
    run = http.post("/api/v1/jobs/work_lists/run?as_of=2025-03-08", headers=admin)
    assert run.json()["status"] == "succeeded", run.text
    items = http.get("/api/v1/cases", headers=admin).json()["items"]
    assert {(i["list"], i["since"], i["as_of"]) for i in items} == {
        ("follow_up_due", "2025-03-08", "2025-03-08"),
        ("missing_tests", "2025-02-03", "2025-03-08"),
    }
    assert date.fromisoformat(items[0]["as_of"]) == date(2025, 3, 8)


def test_a_follow_up_is_refused_with_all_its_problems_at_once(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    red_woman(http, sender, "330102001", "A1", _valid_rid("33010219900101111"))
    add_user(services, "rev-a", "reviewer", streets=["330102001"])
    rev_a = bearer(token_for(http, "rev-a"))
    pid = case_id(services, "330102001")
    version = http.get(f"/api/v1/cases/{pid}", headers=rev_a).json()["case"]["version"]
    body = {
        "version": version,
        "contact_date": "2099-01-01",  # in the future
        "kind": "fax",  # not a kind
        "outcome": " ",  # none
        "next_due": "2098-12-31",  # before the contact
    }
    r = http.post(f"/api/v1/cases/{pid}/follow-ups", json=body, headers=rev_a)
    assert r.status_code == 400
    issues = r.json()["error"]["issues"]
    assert [i["expression"] for i in issues] == ["kind", "outcome", "contact_date", "next_due"]
    assert http.get(f"/api/v1/cases/{pid}", headers=rev_a).json()["follow_ups"] == []
