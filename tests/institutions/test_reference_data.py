"""The street register and the institution directory: names behind the codes (issues 16, 17).

Through the HTTP API on both databases: an administrator registers streets with their centres,
every staff member reads them; the directory names institutions for all staff, key prefixes for
administrators only; bad codes and unknown centres are refused and change nothing."""

from __future__ import annotations

import httpx
import pytest

from mch_service.app import Services
from mch_service.institutions.service import add_institution, reference_names
from tests.auth.test_accounts import add_user, bearer, token_for


@pytest.fixture
def staff(services: Services, http: httpx.Client) -> dict[str, dict[str, str]]:
    with services.db.transaction() as session:
        add_institution(session, "chc-01", "广州市南沙区南沙街道社区卫生服务中心", "chc")
        add_institution(session, "mch-hosp", "广州市南沙区妇幼保健院", "mch_hospital")
    add_user(services, "admin1", "admin")
    add_user(services, "mon1", "monitor")
    add_user(services, "rev1", "reviewer")
    return {u: bearer(token_for(http, u)) for u in ("admin1", "mon1", "rev1")}


def test_admin_registers_a_street_every_staff_member_reads_it(
    http: httpx.Client, services: Services, staff: dict[str, dict[str, str]]
) -> None:
    r = http.put(
        "/api/v1/streets/440115001",
        json={"name": "南沙街道", "name_en": "Nansha Subdistrict", "centre_id": "chc-01"},
        headers=staff["admin1"],
    )
    assert r.status_code == 200, r.text
    for user in ("mon1", "rev1"):
        listed = http.get("/api/v1/streets", headers=staff[user]).json()
        assert listed == [
            {
                "code": "440115001",
                "name": "南沙街道",
                "name_en": "Nansha Subdistrict",
                "centre_id": "chc-01",
                "centre_name": "广州市南沙区南沙街道社区卫生服务中心",
            }
        ]
    # renaming keeps one row
    r = http.put("/api/v1/streets/440115001", json={"name": "南沙"}, headers=staff["admin1"])
    assert r.json()["centre_id"] is None
    with services.db.reading() as session:
        names = reference_names(session)
    assert names.street_name("440115001") == "南沙"
    assert names.centre_of("440115001") is None
    assert names.institution_name("mch-hosp") == "广州市南沙区妇幼保健院"
    assert names.institution_kind("mch-hosp") == "mch_hospital"
    assert names.street_name("440115999") is None


def test_a_monitor_may_not_change_the_register(
    http: httpx.Client, staff: dict[str, dict[str, str]]
) -> None:
    r = http.put("/api/v1/streets/440115001", json={"name": "x"}, headers=staff["mon1"])
    assert r.status_code == 403
    assert http.get("/api/v1/streets", headers=staff["mon1"]).json() == []


@pytest.mark.parametrize(
    ("code", "body", "fragment"),
    [
        ("=1+1", {"name": "x"}, "street code"),
        ("district", {"name": "x"}, "area names"),
        ("440115001", {"name": "x", "centre_id": "nowhere"}, "centre_id"),
        ("440115001", {"name": ""}, "name"),
    ],
)
def test_bad_streets_are_refused_and_change_nothing(
    http: httpx.Client, staff: dict[str, dict[str, str]], code: str, body: dict, fragment: str
) -> None:
    r = http.put(f"/api/v1/streets/{code}", json=body, headers=staff["admin1"])
    assert 400 <= r.status_code < 500, r.text
    assert fragment in r.text
    assert http.get("/api/v1/streets", headers=staff["admin1"]).json() == []


def test_the_directory_names_institutions_keys_for_admins_only(
    http: httpx.Client, staff: dict[str, dict[str, str]]
) -> None:
    monitor_view = http.get("/api/v1/institutions", headers=staff["mon1"]).json()
    assert [(i["id"], i["name"], i["kind"]) for i in monitor_view] == [
        ("chc-01", "广州市南沙区南沙街道社区卫生服务中心", "chc"),
        ("mch-hosp", "广州市南沙区妇幼保健院", "mch_hospital"),
    ]
    assert all(i["keys"] is None for i in monitor_view)
    admin_view = http.get("/api/v1/institutions", headers=staff["admin1"]).json()
    assert all(len(i["keys"]) == 1 and "prefix" in i["keys"][0] for i in admin_view)


def test_an_institution_kind_outside_the_list_is_refused(
    http: httpx.Client, staff: dict[str, dict[str, str]]
) -> None:
    r = http.post(
        "/api/v1/institutions",
        json={"id": "x-1", "name": "X", "kind": "pharmacy"},
        headers=staff["admin1"],
    )
    assert r.status_code == 422 or r.status_code == 400
    assert "kind" in r.text
