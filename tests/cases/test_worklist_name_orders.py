"""``sort=street`` and ``sort=institution`` order a work list by the names a reviewer sees (the
code when unregistered, none last), urgency breaking ties, page by page in SQL, on both
databases. The expected order is worked out here, in Python, from the rows the test writes."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from mch_service.app import Services
from mch_service.cases import repository
from mch_service.cases.models import WorkItem
from mch_service.institutions.service import add_institution, set_street
from tests.auth.test_accounts import add_user, bearer, token_for

AS_OF = date(2026, 3, 1)
# codes whose names sort otherwise than the codes; two codes share one name; one street and
# one institution unregistered (listed by code); women without a street
STREETS = {
    "440115001": "南沙街",
    "440115002": "东涌镇",
    "440115003": "黄阁镇",
    "440115004": "东涌镇",
}
INSTITUTIONS = {
    "hosp-a": "区妇幼保健院",
    "chc-b": "东涌社区卫生服务中心",
    "chc-c": "黄阁社区卫生服务中心",
}
STREET_OF = [*STREETS, "440115099", None]
INSTITUTIONS_OF = ["hosp-a", "chc-b hosp-a", "chc-c", "chc-b", "zz-unregistered", ""]
URGENCY = [(0, 12), (1, 5), (1, 0), (2, 3), (3, 0), (0, 0)]


def _rows(n: int) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        urgency, days_overdue = URGENCY[(i * 7) % len(URGENCY)]
        rows.append(
            {
                "list_name": "missing_tests",
                "pregnancy_id": f"P{i:04d}",
                "woman_key": f"W{i:04d}",
                "as_of": AS_OF,
                "since": AS_OF - timedelta(days=(i * 5) % 9),
                "overdue": days_overdue > 0,
                "colour": ["red", "orange", "orange", "yellow", "green", "red"][urgency],
                "purple": False,
                "street": STREET_OF[(i * 3) % len(STREET_OF)],
                "institutions": INSTITUTIONS_OF[(i * 5) % len(INSTITUTIONS_OF)],
                "reason": "r",
                "clears": "c",
                "urgency": urgency,
                "days_overdue": days_overdue,
            }
        )
    return rows


@pytest.fixture
def admin(services: Services, http: httpx.Client) -> dict[str, str]:
    with services.db.transaction() as session:
        for code, name in STREETS.items():
            set_street(session, code, name)
        for inst, name in INSTITUTIONS.items():
            add_institution(session, inst, name)
    add_user(services, "admin1", "admin")
    return bearer(token_for(http, "admin1"))


def _write(services: Services, rows: list[dict[str, Any]]) -> None:
    with services.db.transaction() as session:
        session.add_all(WorkItem(**row) for row in rows)


def _expected(rows: list[dict[str, Any]], sort: str, descending: bool) -> list[str]:
    by_urgency = sorted(
        enumerate(rows),
        key=lambda ir: (ir[1]["urgency"], -ir[1]["days_overdue"], ir[1]["since"], ir[0]),
    )

    def name(row: dict[str, Any]) -> str:
        if sort == "street":
            return STREETS.get(row["street"] or "") or row["street"] or "\uffff"
        first = (row["institutions"].split() or [""])[0]
        return INSTITUTIONS.get(first) or first or "\uffff"

    ordered = sorted((r for _, r in by_urgency), key=name, reverse=descending)  # stable
    return [r["pregnancy_id"] for r in ordered]


def _pages(http: httpx.Client, auth: dict[str, str], query: str, size: int) -> list[str]:
    out: list[str] = []
    page = 1
    while True:
        r = http.get(f"/api/v1/cases?{query}&page={page}&page_size={size}", headers=auth)
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        out += [i["pregnancy_id"] for i in items]
        if len(items) < size:
            return out
        page += 1


@pytest.mark.parametrize("sort", ["street", "institution"])
@pytest.mark.parametrize("descending", [False, True])
def test_named_orders_page_as_one_sorted_list(
    services: Services, http: httpx.Client, admin: dict[str, str], sort: str, descending: bool
) -> None:
    rows = _rows(41)
    _write(services, rows)
    query = f"sort={sort}&descending={str(descending).lower()}"
    got = _pages(http, admin, query, 6)
    assert got == _expected(rows, sort, descending)
    # the names a reviewer sees follow the order
    first = http.get(f"/api/v1/cases?{query}&page_size=50", headers=admin).json()["items"]
    if sort == "street" and not descending:
        assert [i["street_name"] for i in first[:2]] == ["东涌镇", "东涌镇"]


def test_a_named_order_filters_as_the_list_does(
    services: Services, http: httpx.Client, admin: dict[str, str]
) -> None:
    rows = _rows(30)
    _write(services, rows)
    got = _pages(http, admin, "sort=institution&overdue=true", 4)
    assert got == [p for p in _expected(rows, "institution", False) if rows[int(p[1:])]["overdue"]]


def test_street_and_institution_orders_are_not_capped(
    services: Services, http: httpx.Client, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sealed names are sorted in memory up to a bound; the street's and the institution's
    names are not sealed and sort in SQL, whatever the list's length."""
    monkeypatch.setattr(repository, "MAX_SORTED_IN_MEMORY", 10)
    rows = _rows(25)
    _write(services, rows)
    for sort in ("street", "institution"):
        r = http.get(f"/api/v1/cases?sort={sort}&page=3&page_size=10", headers=admin)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] == 25
        assert [i["pregnancy_id"] for i in body["items"]] == _expected(rows, sort, False)[20:]
    r = http.get("/api/v1/cases?sort=name", headers=admin)
    assert r.status_code == 400
    assert "at most 10" in r.text
