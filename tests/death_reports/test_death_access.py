"""The monitoring group's entry routes from every angle: the maternal death report card
(/api/v1/maternal-deaths: list, detail, enter, review) and the external figures
(PUT /api/v1/indicators/{id}/external).

The permission model (mch_service/auth/permissions.py): the monitoring group
(REVIEW_MATERNAL_DEATHS, ENTER_EXTERNAL_FIGURES) and administrators, district-wide. A
reviewer is refused whatever their jurisdiction - even one whose street is the dead woman's,
or whose institution reported the death: a reviewer's jurisdiction scopes the cases they work,
it never grants the monitoring group's review. An institution's API key is for the FHIR
interface only. A refused request changes nothing and shows nothing of the woman.
"""

from __future__ import annotations

from typing import Any

import httpx

from mch_service.app import Services
from mch_service.auth.permissions import system_principal
from mch_service.auth.schemas import JurisdictionUpdate
from tests.auth.test_accounts import add_user, bearer, token_for
from tests.conftest import SenderKey
from tests.death_reports.test_maternal_deaths import S1, delivered_and_died
from tests.indicators.test_indicator_service import _valid_rid

RID = _valid_rid("33010219900101505")
CARD = {
    "death_date": "2025-07-10",
    "pregnancy_end_date": "2025-07-01",
    "outcome": "delivered",
    "ga_days": 275,
    "street": S1,
    "cause_code": "O72.1",
    "resident_id": _valid_rid("33010219900101606"),
    "name": "王芳",
}
FIGURE = {"numerator": 1, "denominator": 40, "source": "预防母婴传播管理信息系统"}
EXTERNAL = "/api/v1/indicators/hiv_mtct_rate/external?period=2025"


def _staff(http: httpx.Client, services: Services, sender: SenderKey) -> dict[str, dict[str, str]]:
    """Headers per caller. Reviewers: scoped to the dead woman's street, to the institution that
    reported her death, to a prefix of that institution's id, and to nothing."""
    reviewers = {
        "rev-street": ([S1], []),
        "rev-inst": ([], [sender.institution_id]),
        "rev-inst-prefix": ([], [sender.institution_id[:-1]]),
        "rev-none": ([], []),
    }
    headers: dict[str, dict[str, str]] = {}
    for name, (streets, institutions) in reviewers.items():
        add_user(services, name, "reviewer", streets or ["placeholder"], institutions)
        with services.db.transaction() as session:
            services.accounts.update_jurisdiction(
                session,
                system_principal(),
                name,
                JurisdictionUpdate(streets=streets, institutions=institutions),
            )
        headers[name] = bearer(token_for(http, name))
    add_user(services, "admin1", "admin")
    add_user(services, "mon1", "monitor")
    headers["admin"] = bearer(token_for(http, "admin1"))
    headers["monitor"] = bearer(token_for(http, "mon1"))
    headers["sender"] = sender.headers  # an institution's API key
    headers["anonymous"] = {}
    return headers


ALLOWED = {"admin", "monitor"}
REFUSED = {
    "rev-street": 403,
    "rev-inst": 403,
    "rev-inst-prefix": 403,
    "rev-none": 403,
    "sender": 401,
    "anonymous": 401,
}


def _deaths(http: httpx.Client, admin: dict[str, str]) -> list[dict[str, Any]]:
    body = http.get("/api/v1/maternal-deaths?page_size=200", headers=admin).json()
    return sorted(body["items"], key=lambda d: d["id"])


def _external(http: httpx.Client, admin: dict[str, str]) -> tuple[Any, Any]:
    results = http.get("/api/v1/indicators?period=2025", headers=admin).json()["results"]
    r = {x["id"]: x for x in results}["hiv_mtct_rate"]
    return r["numerator"], r["denominator"]


def test_death_cards_and_external_figures_from_every_angle(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    # one fed death (a care complication, street S1, reported by the sender's institution)
    delivered_and_died(http, sender, "A1", RID, "2025-07-01", "2025-07-10", "Y60.0")
    h = _staff(http, services, sender)
    admin = h["admin"]
    card = {**CARD, "institution_id": sender.institution_id}
    (fed,) = _deaths(http, admin)
    before = (_deaths(http, admin), _external(http, admin))
    assert before[1] == (None, None)  # no figure entered yet

    for who, status in REFUSED.items():
        listed = http.get("/api/v1/maternal-deaths", headers=h[who])
        one = http.get(f"/api/v1/maternal-deaths/{fed['id']}", headers=h[who])
        created = http.post("/api/v1/maternal-deaths", json=card, headers=h[who])
        reviewed = http.post(
            f"/api/v1/maternal-deaths/{fed['id']}/review",
            json={"status": "excluded", "reason": "评审：非妊娠相关"},
            headers=h[who],
        )
        entered = http.put(EXTERNAL, json=FIGURE, headers=h[who])
        for name, r in {
            "list": listed,
            "detail": one,
            "create": created,
            "review": reviewed,
            "external": entered,
        }.items():
            assert r.status_code == status, (who, name, r.text)
            # nothing of the woman in a refusal: no masked ID, no cause, no name
            assert fed["resident_id"] not in r.text, (who, name)
            assert "Y60" not in r.text, (who, name)
            assert "王" not in r.text, (who, name)
        # ... and nothing changed: no card, the review still pending, no figure
        assert (_deaths(http, admin), _external(http, admin)) == before, who

    # the monitoring group and administrators: list, read, enter, review, enter a figure
    for who in sorted(ALLOWED):
        assert http.get("/api/v1/maternal-deaths", headers=h[who]).status_code == 200, who
        one = http.get(f"/api/v1/maternal-deaths/{fed['id']}", headers=h[who])
        assert one.status_code == 200, (who, one.text)
        created = http.post(
            "/api/v1/maternal-deaths",
            json={**card, "resident_id": _valid_rid(f"3301021990010170{len(who)}")},
            headers=h[who],
        )
        assert created.status_code == 201, (who, created.text)
        reviewed = http.post(
            f"/api/v1/maternal-deaths/{created.json()['id']}/review",
            json={"status": "confirmed"},
            headers=h[who],
        )
        assert (reviewed.status_code, reviewed.json()["reviewed_by"]) == (
            200,
            {"admin": "admin1", "monitor": "mon1"}[who],
        )
        entered = http.put(EXTERNAL, json={**FIGURE, "denominator": 40 + len(who)}, headers=h[who])
        assert entered.status_code == 200, (who, entered.text)
        assert _external(http, admin) == (1, 40 + len(who)), who
    # the fed death and the two cards
    assert len(_deaths(http, admin)) == 3
    # a fed death is shown masked to both (the woman is opened on her pregnancy page); an
    # entered card is in clear for an administrator only
    for who in sorted(ALLOWED):
        fed_seen = http.get(f"/api/v1/maternal-deaths/{fed['id']}", headers=h[who]).json()
        assert fed_seen["resident_id"] != RID, who
        assert "*" in fed_seen["resident_id"], who
    card_id = next(d["id"] for d in _deaths(http, admin) if d["source"] == "entered")
    clear = http.get(f"/api/v1/maternal-deaths/{card_id}", headers=admin).json()
    masked = http.get(f"/api/v1/maternal-deaths/{card_id}", headers=h["monitor"]).json()
    assert "*" not in clear["resident_id"]
    assert clear["name"] == "王芳"
    assert "*" in masked["resident_id"]
    assert masked["name"] != "王芳"
