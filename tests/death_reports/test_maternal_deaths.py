"""Rule 5 of issue 14 through HTTP: maternal deaths by their cause (a complication of care
counts, an accident does not, a suicide counts pending review), the report card (a death no
feed reports; a card for a fed death counts once), the monitoring group's review, and external
figures (HIV mother-to-child transmission) entered by the monitoring group.

Numbers are worked by hand in the comments (《全国妇幼健康统计调查制度》: 孕产妇死亡率 = maternal
deaths / 活产数 × 100,000; ICD-10 / ICD-MM, WHO 2012 for the causes)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from mch_service.app import Services
from mch_service.audit.models import AuditEvent
from tests.auth.test_accounts import add_user, bearer, token_for
from tests.conftest import SenderKey
from tests.domain.fixtures import ICD10, bundle, coding, delivery, entry, patient, uid
from tests.domain.test_pregnancy_record import post
from tests.indicators.test_indicator_service import _valid_rid

S1, S2 = "330102001", "330102002"
RID_A = _valid_rid("33010219900101101")  # Y60.0: counts
RID_B = _valid_rid("33010219900101202")  # V89.2: an accident, does not count
RID_C = _valid_rid("33010219900101303")  # X70: counts, pending review
RID_D = _valid_rid("33010219900101404")  # no feed: only the report card


def delivered_and_died(
    http: httpx.Client, sender: SenderKey, mrn: str, rid: str, day: str, died: str, cause: str
) -> None:
    """A woman delivered (one live birth) on ``day`` who died on ``died``, cause ``cause``."""
    p = uid()
    post(
        http,
        sender,
        bundle(
            entry(patient(sender.institution_id, mrn, rid=rid, street=S1), p),
            *delivery(p, day, day, day),
        ),
    )
    delivered_and_died_later(http, sender, p, mrn, rid, died, cause)


def figure(http: httpx.Client, headers: dict[str, str], period: str, area: str = "district") -> Any:
    body = http.get(f"/api/v1/indicators?period={period}&area={area}", headers=headers).json()
    r = {x["id"]: x for x in body["results"]}["maternal_mortality_ratio"]
    return r["numerator"], r["denominator"]


def expressions(response: httpx.Response) -> list[str]:
    return sorted(i["expression"] for i in response.json()["error"]["issues"])


def refresh(http: httpx.Client, admin: dict[str, str]) -> None:
    run = http.post("/api/v1/jobs/indicators/run", headers=admin)
    assert run.status_code == 200, run.text
    assert run.json()["status"] == "succeeded", run.text


def test_deaths_by_cause_report_card_and_review(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    delivered_and_died(http, sender, "A1", RID_A, "2025-07-01", "2025-07-10", "Y60.0")
    delivered_and_died(http, sender, "B1", RID_B, "2025-07-02", "2025-07-12", "V89.2")
    delivered_and_died(http, sender, "C1", RID_C, "2025-07-03", "2025-07-15", "X70")
    add_user(services, "admin1", "admin")
    add_user(services, "mon1", "monitor")
    add_user(services, "rev1", "reviewer", streets=[S1])
    admin, monitor = bearer(token_for(http, "admin1")), bearer(token_for(http, "mon1"))
    reviewer = bearer(token_for(http, "rev1"))
    refresh(http, admin)
    # July 2025: three live births; A (care complication) and C (suicide) count, B (transport
    # accident) does not: 2 deaths / 3 live births.
    assert figure(http, monitor, "2025-07") == (2, 3)

    listed = http.get("/api/v1/maternal-deaths", headers=monitor)
    assert listed.status_code == 200, listed.text
    items = {i["cause_code"]: i for i in listed.json()["items"]}
    assert set(items) == {"Y60.0", "V89.2", "X70"}
    assert items["Y60.0"]["cause_class"] == "care_complication"
    assert items["Y60.0"]["classification"] == "direct"
    assert items["Y60.0"]["counted"] is True
    assert (items["Y60.0"]["outcome"], items["Y60.0"]["pregnancy_end_date"]) == (
        "delivered",
        "2025-07-01",
    )
    assert items["V89.2"]["classification"] == "accidental_incidental"
    assert items["V89.2"]["counted"] is False
    # the suicide is counted and waits for the monitoring group
    assert items["X70"]["cause_class"] == "self_harm"
    assert (items["X70"]["classification"], items["X70"]["review_status"]) == (
        "pending",
        "pending",
    )
    assert items["X70"]["counted"] is True
    assert all("*" in (i["resident_id"] or "*") for i in items.values())
    assert RID_C not in listed.text

    # A card for A (the feed already reports her) and one for D (no feed reports her).
    card = {
        "death_date": "2025-07-10",
        "pregnancy_end_date": "2025-07-01",
        "outcome": "delivered",
        "ga_days": 275,
        "street": S1,
        "institution_id": sender.institution_id,
        "cause_code": "O72.1",
        "resident_id": RID_A,
        "name": "王芳",
    }
    dup = http.post("/api/v1/maternal-deaths", json=card, headers=monitor)
    assert dup.status_code == 201, dup.text
    assert dup.json()["counted"] is False  # the fed death of the same woman is the one counted
    d_card = {
        **card,
        "resident_id": RID_D,
        "name": "李娜",
        "street": S2,
        "death_date": "2025-08-05",
        "pregnancy_end_date": "2025-07-20",
    }
    created = http.post("/api/v1/maternal-deaths", json=d_card, headers=monitor)
    assert created.status_code == 201, created.text
    d_id = created.json()["id"]
    assert created.json()["counted"] is True
    assert created.json()["resident_id"] != RID_D
    assert "*" in created.json()["resident_id"]
    refresh(http, admin)
    # A counts once: July stays 2/3. D counts in August (her death day) under her card's
    # street S2: 1 death / 0 live births in August; the year: A, C and D = 3 / 3.
    assert figure(http, monitor, "2025-07") == (2, 3)
    assert figure(http, monitor, "2025-08") == (1, 0)
    assert figure(http, monitor, "2025-08", area=S2) == (1, 0)
    assert figure(http, monitor, "2025") == (3, 3)

    # The monitoring group excludes C's death, with a reason; the figures follow.
    c_id = items["X70"]["id"]
    no_reason = http.post(
        f"/api/v1/maternal-deaths/{c_id}/review", json={"status": "excluded"}, headers=monitor
    )
    assert no_reason.status_code == 400
    assert no_reason.json()["error"]["issues"][0]["expression"] == "reason"
    excluded = http.post(
        f"/api/v1/maternal-deaths/{c_id}/review",
        json={"status": "excluded", "reason": "评审：非妊娠相关", "classification": "pending"},
        headers=monitor,
    )
    assert excluded.status_code == 200, excluded.text
    assert (excluded.json()["review_status"], excluded.json()["counted"]) == ("excluded", False)
    assert excluded.json()["reviewed_by"] == "mon1"
    confirmed = http.post(
        f"/api/v1/maternal-deaths/{d_id}/review", json={"status": "confirmed"}, headers=monitor
    )
    assert confirmed.json()["review_status"] == "confirmed"
    refresh(http, admin)
    # July: A only = 1/3; the year: A and D = 2/3.
    assert figure(http, monitor, "2025-07") == (1, 3)
    assert figure(http, monitor, "2025") == (2, 3)

    # Read one: the reason; identifiers masked for a monitor, in clear for an admin; audited.
    one = http.get(f"/api/v1/maternal-deaths/{c_id}", headers=monitor).json()
    assert one["review_reason"] == "评审：非妊娠相关"
    assert http.get(f"/api/v1/maternal-deaths/{d_id}", headers=admin).json()["resident_id"] == RID_D
    assert "*" in http.get(f"/api/v1/maternal-deaths/{d_id}", headers=monitor).json()["name"]
    with services.db.reading() as session:
        actions = set(session.scalars(select(AuditEvent.action)))
    assert {"maternal_deaths.read", "maternal_deaths.create", "maternal_deaths.review"} <= actions

    # Paging and filters.
    page = http.get("/api/v1/maternal-deaths?page_size=2&page=2", headers=monitor).json()
    assert (page["total"], len(page["items"])) == (5, 2)  # 3 fed + 2 cards, 2 on page 2
    pending = http.get("/api/v1/maternal-deaths?status=pending", headers=monitor).json()
    assert pending["total"] == 3  # A and B (fed, unreviewed) and A's card

    # Refusals: precise 4xx, never 500.
    assert http.get("/api/v1/maternal-deaths", headers=reviewer).status_code == 403
    assert http.get("/api/v1/maternal-deaths/card-999", headers=monitor).status_code == 404
    assert http.get("/api/v1/maternal-deaths/nonsense", headers=monitor).status_code == 404
    assert http.get("/api/v1/maternal-deaths?page_size=0", headers=monitor).status_code == 400
    assert http.get("/api/v1/maternal-deaths?page_size=201", headers=monitor).status_code == 400
    late = {**d_card, "death_date": "2025-09-15"}  # 57 days after the end
    bad = http.post("/api/v1/maternal-deaths", json=late, headers=monitor)
    assert bad.status_code == 400
    assert expressions(bad) == ["death_date"]
    wrong = {
        **d_card,
        "institution_id": "nowhere",
        "resident_id": RID_D[:-1] + ("0" if RID_D[-1] != "0" else "1"),
        "cause_code": "not-icd",
    }
    bad = http.post("/api/v1/maternal-deaths", json=wrong, headers=monitor)
    assert bad.status_code == 400
    assert "cause_code" in bad.text
    wrong.pop("cause_code")
    bad = http.post("/api/v1/maternal-deaths", json=wrong, headers=monitor)
    assert bad.status_code == 400
    assert expressions(bad) == ["institution_id", "resident_id"]
    undelivered = {**d_card, "outcome": "delivered", "pregnancy_end_date": None}
    assert (
        http.post("/api/v1/maternal-deaths", json=undelivered, headers=monitor).status_code == 400
    )


def test_external_figure_hiv_mtct(http: httpx.Client, services: Services) -> None:
    add_user(services, "admin1", "admin")
    add_user(services, "mon1", "monitor")
    add_user(services, "rev1", "reviewer")
    admin, monitor = bearer(token_for(http, "admin1")), bearer(token_for(http, "mon1"))
    reviewer = bearer(token_for(http, "rev1"))
    body = {
        "numerator": 1,
        "denominator": 40,
        "source": "预防母婴传播管理信息系统",
        "note": "18月龄随访",
    }
    put = http.put(
        "/api/v1/indicators/hiv_mtct_rate/external?period=2025", json=body, headers=monitor
    )
    assert put.status_code == 200, put.text
    # 1 / 40 = 2.5 %: the plan wants < 2 %, not met
    assert (put.json()["value"], put.json()["status"]) == (2.5, "not_met")
    assert put.json()["target"] == 2.0
    # a recomputation keeps it
    refresh(http, admin)
    results = http.get("/api/v1/indicators?period=2025", headers=monitor).json()["results"]
    r = {x["id"]: x for x in results}["hiv_mtct_rate"]
    assert (r["numerator"], r["denominator"], r["status"], r["source"]) == (
        1,
        40,
        "not_met",
        "external",
    )
    series = http.get("/api/v1/indicators/hiv_mtct_rate/series?from=2025&to=2025", headers=monitor)
    assert series.status_code == 200, series.text
    assert series.json()["points"][0]["numerator"] == 1
    csv = http.get("/api/v1/indicators/export.csv?period=2025", headers=monitor)
    assert csv.status_code == 200
    assert "hiv_mtct_rate" in csv.text
    # the catalogue's reading note beside the maternal mortality ratio
    entries = http.get("/api/v1/indicators/catalogue", headers=monitor).json()["indicators"]
    mmr = {e["id"]: e for e in entries}["maternal_mortality_ratio"]
    assert "about 10 per 100,000" in mmr["note_en"]
    assert "10/10万" in mmr["note_zh"]
    # entered again: the new figure replaces the old (1/80 = 1.25 %, met)
    again = http.put(
        "/api/v1/indicators/hiv_mtct_rate/external?period=2025",
        json={**body, "denominator": 80},
        headers=admin,
    )
    assert again.json()["status"] == "met"

    def refused(url: str, payload: dict[str, Any], headers: dict[str, str] = monitor) -> Any:
        r = http.put(url, json=payload, headers=headers)
        assert 400 <= r.status_code < 500, r.text
        return r

    base = "/api/v1/indicators/hiv_mtct_rate/external"
    assert refused(f"{base}?period=2025", body, reviewer).status_code == 403
    r = refused("/api/v1/indicators/hiv_test_rate/external?period=2025", body)
    assert expressions(r) == ["indicator_id"]
    assert refused("/api/v1/indicators/nope/external?period=2025", body).status_code == 404
    r = refused(f"{base}?period=2025-13", body)
    assert expressions(r) == ["period"]
    r = refused(f"{base}?period=2025", {**body, "numerator": -1})
    assert "numerator" in r.text
    r = refused(f"{base}?period=2025", {**body, "numerator": 41})
    assert expressions(r) == ["numerator"]
    assert refused(f"{base}?period=2025&area=nowhere!", body).status_code == 400


def test_key_rotation_reseals_cards_and_rekeys_their_women(
    services: Services, sender: SenderKey
) -> None:
    from mch_service.auth.permissions import system_principal
    from mch_service.database import Database
    from mch_service.death_reports.models import MaternalDeathReport
    from mch_service.death_reports.schemas import DeathCardCreate, DeathReview
    from mch_service.ops.key_rotation import rotate_keys
    from tests.conftest import TEST_SECRET

    admin = system_principal()
    card = DeathCardCreate.model_validate(
        {
            "resident_id": RID_D,
            "name": "李娜",
            "death_date": "2025-08-05",
            "pregnancy_end_date": "2025-07-20",
            "outcome": "delivered",
            "street": S2,
            "institution_id": sender.institution_id,
            "cause_code": "O72.1",
        }
    )
    with services.db.transaction() as session:
        made = services.deaths.create(session, admin, card)
        services.deaths.review(
            session, admin, made.id, DeathReview(status="excluded", reason="重复报告")
        )
        old_key = session.scalars(select(MaternalDeathReport.woman_key)).one()
    rotated_settings = services.settings.model_copy(
        update={
            "secret_key": "another-root-secret-for-the-death-cards-0123456789",
            "previous_secret_keys": [TEST_SECRET],
        }
    )
    from mch_service.app import build_services

    rotated = build_services(rotated_settings, Database(rotated_settings.database_url))
    try:
        assert rotate_keys(rotated.db, rotated.store)["death_reports"] == 1
        only_new = rotated_settings.model_copy(update={"previous_secret_keys": []})
        fresh = build_services(only_new, Database(only_new.database_url))
        with fresh.db.transaction() as session:
            one = fresh.deaths.read(session, admin, made.id)
            new_key = session.scalars(select(MaternalDeathReport.woman_key)).one()
        assert (one.resident_id, one.name, one.review_reason) == (RID_D, "李娜", "重复报告")
        # the card's woman key follows the secret, as the domain's keys do
        assert new_key != old_key
        assert new_key == "rid:" + fresh.crypto.keyed_hash("resident-id|" + RID_D)[:40]
        fresh.db.dispose()
    finally:
        rotated.db.dispose()


def test_a_card_stops_counting_when_the_feed_reports_the_death_incrementally(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    # The card says she died on 2 August; the hospital later sends her death on 30 July
    # (delivered 20 July). One death: first the card's (August 1/0), then the feed's only
    # (July 1/1, August 0/0), also when the indicator job only recomputes what changed.
    rid = _valid_rid("33010219900101505")
    p = uid()
    post(
        http,
        sender,
        bundle(
            entry(patient(sender.institution_id, "E1", rid=rid, street=S1), p),
            *delivery(p, "2025-07-20", "2025-07-20", "2025-07-20"),
        ),
    )
    add_user(services, "mon1", "monitor")
    monitor = bearer(token_for(http, "mon1"))
    card = {
        "death_date": "2025-08-02",
        "pregnancy_end_date": "2025-07-20",
        "outcome": "delivered",
        "street": S1,
        "institution_id": sender.institution_id,
        "resident_id": rid,
    }
    assert http.post("/api/v1/maternal-deaths", json=card, headers=monitor).status_code == 201
    services.indicators.refresh(full=True)
    assert figure(http, monitor, "2025-07") == (0, 1)
    assert figure(http, monitor, "2025-08") == (1, 0)
    delivered_and_died_later(http, sender, p, "E1", rid, "2025-07-30", "O72.1")
    assert services.indicators.refresh() > 0  # incremental: only what changed
    assert figure(http, monitor, "2025-07") == (1, 1)
    assert figure(http, monitor, "2025-08") == (0, 0)


def delivered_and_died_later(
    http: httpx.Client, sender: SenderKey, p: str, mrn: str, rid: str, died: str, cause: str
) -> None:
    woman = patient(sender.institution_id, mrn, rid=rid, street=S1, deceasedDateTime=died)
    post(
        http,
        sender,
        bundle(
            {
                "fullUrl": p,
                "resource": woman,
                "request": {
                    "method": "PUT",
                    "url": f"Patient?identifier=http://{sender.institution_id}.example.cn/mrn|{mrn}",
                },
            },
            entry(
                {
                    "resourceType": "Condition",
                    "code": coding(ICD10, cause),
                    "subject": {"reference": p},
                    "recordedDate": died,
                }
            ),
        ),
    )


def test_an_incremental_run_sees_a_card_entered_and_reviewed_since_the_last_run(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    # A card changes no woman's records: the job notices it by the cards' own last change
    # (``last_report_change``) and computes everything again. Her delivery in July (one live
    # birth), her death on the card in August: August 1 death / 0 live births, then 0/0 once
    # the monitoring group excludes the card.
    rid = _valid_rid("33010219900101606")
    p = uid()
    post(
        http,
        sender,
        bundle(
            entry(patient(sender.institution_id, "F1", rid=rid, street=S1), p),
            *delivery(p, "2025-07-20", "2025-07-20", "2025-07-20"),
        ),
    )
    add_user(services, "mon1", "monitor")
    monitor = bearer(token_for(http, "mon1"))
    services.indicators.refresh(full=True)
    assert figure(http, monitor, "2025-08") == (0, 0)
    card = {
        "death_date": "2025-08-02",
        "pregnancy_end_date": "2025-07-20",
        "outcome": "delivered",
        "street": S1,
        "institution_id": sender.institution_id,
        "resident_id": rid,
    }
    made = http.post("/api/v1/maternal-deaths", json=card, headers=monitor)
    assert made.status_code == 201, made.text
    assert services.indicators.refresh() > 0
    assert figure(http, monitor, "2025-08") == (1, 0)
    excluded = http.post(
        f"/api/v1/maternal-deaths/{made.json()['id']}/review",
        json={"status": "excluded", "reason": "重复报告"},
        headers=monitor,
    )
    assert excluded.status_code == 200, excluded.text
    assert services.indicators.refresh() > 0
    assert figure(http, monitor, "2025-08") == (0, 0)
