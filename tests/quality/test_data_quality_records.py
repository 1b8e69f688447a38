"""The records behind each data-quality figure (issue 18, page 6): ``GET
/api/v1/data-quality/records`` and the page ``/data-quality/records``, on both databases.

Each count of /data-quality links to its records; following the link and walking every page
lists exactly that many (an unmapped code is one row, however often seen; the trend counts
its sightings, the rows' ``count`` adds up to it). Paging is keyset with an opaque cursor; only
monitors and administrators read; parameters are checked; free text is masked; reads are
audited."""

from __future__ import annotations

import html
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from markupsafe import escape
from sqlalchemy import select

from mch_service.app import Services
from mch_service.audit.models import AuditEvent
from tests.auth.test_accounts import add_user, bearer, token_for
from tests.conftest import make_sender
from tests.quality.district import (
    BIRTH,
    PERSONAL_ERROR,
    PERSONAL_MESSAGE,
    PHONE,
    RESIDENT_ID,
    seed_district,
    spread_over_months,
)

API = "/api/v1/data-quality/records"


@pytest.fixture
def district(services: Services, http: httpx.Client, tmp_path: Path) -> dict[str, Any]:
    """The seeded district, its rows over the months, the data-quality job run; headers."""
    busiest = seed_district(services, tmp_path / "sim", pregnancies=10)
    zone = ZoneInfo(services.settings.timezone)
    spread_over_months(services, zone, datetime.now(zone).date())
    for name, role in (("admin1", "admin"), ("mon1", "monitor"), ("rev1", "reviewer")):
        add_user(services, name, role)
    admin = bearer(token_for(http, "admin1"))
    run = http.post("/api/v1/jobs/data_quality/run", headers=admin)
    assert run.json()["status"] == "succeeded", run.text
    return {
        "busiest": busiest,
        "admin": admin,
        "monitor": bearer(token_for(http, "mon1")),
        "reviewer": bearer(token_for(http, "rev1")),
    }


def _walk(http: httpx.Client, headers: dict[str, str], query: str, count: int = 4) -> list[dict]:
    """Every record of a list, page by page through the ``next`` links."""
    items: list[dict] = []
    url: str | None = f"{API}?{query}&_count={count}"
    pages = 0
    while url:
        r = http.get(url, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["items"]) <= count
        items += body["items"]
        url = body["next"]
        pages += 1
        assert pages < 500
    return items


def _listed(http: httpx.Client, headers: dict[str, str], link: str) -> int:
    """How many records a page link lists (an unmapped code counts once)."""
    query = html.unescape(urlsplit(link).query)
    return len(_walk(http, headers, query))


def _sightings(http: httpx.Client, headers: dict[str, str], link: str) -> int:
    """What a trend count counts: rows, or for unmapped codes their sightings."""
    query = html.unescape(urlsplit(link).query)
    items = _walk(http, headers, query)
    if dict(parse_qsl(query))["kind"] == "unmapped":
        return sum(int(i["count"]) for i in items)
    return len(items)


_CELL_LINK = re.compile(r'<a href="(/data-quality/records\?[^"]+)"[^>]*>([^<]+)</a>')


def test_every_count_on_the_page_lists_that_many_records(
    district: dict[str, Any], http: httpx.Client
) -> None:
    monitor = district["monitor"]
    busiest = district["busiest"]
    figures = {
        r["institution"]: r for r in http.get("/api/v1/data-quality", headers=monitor).json()
    }
    page = http.get(f"/data-quality?institution={busiest}", headers=monitor)
    assert page.status_code == 200
    table = page.text.split('id="quality-table"')[1].split("</table>")[0]
    checked = 0
    for row in re.findall(r'<tr data-id="([^"]+)"[^>]*>(.*?)</tr>', table, re.S):
        inst, cells = row
        links = {
            dict(parse_qsl(html.unescape(urlsplit(href).query)))["kind"]: (href, text)
            for href, text in _CELL_LINK.findall(cells)
        }
        assert set(links) == {"rejections", "unmapped", "warnings", "flags"}, inst
        rejections = _listed(http, monitor, links["rejections"][0])
        assert str(rejections) == links["rejections"][1] == str(figures[inst]["rejected"])
        unmapped = _listed(http, monitor, links["unmapped"][0])
        assert str(unmapped) == links["unmapped"][1] == str(figures[inst]["unmapped_codes"])
        warnings = _listed(http, monitor, links["warnings"][0])
        flags = _listed(http, monitor, links["flags"][0])
        assert links["warnings"][1].endswith(f" {warnings}")
        assert links["flags"][1].endswith(f" {flags}")
        assert warnings + flags == figures[inst]["plausibility_flags"], inst
        checked += 1
    assert checked == len(figures) >= 2
    # the seeded rows (tests/quality/district.py): at least what was added by hand
    assert figures[busiest]["rejected"] >= 11  # 12 refusals, the access refusal left out
    assert figures[busiest]["unmapped_codes"] >= 10  # X-0..X-4 in two systems
    # the trend: each month's count lists that many records of that month
    trend = page.text.split('id="quality-trend-table"')[1].split("</table>")[0]
    cells = re.findall(
        r'<td class="num" data-kind="([^"]+)"><a href="([^"]+)">(\d+)</a></td>', trend
    )
    assert {kind for kind, _, _ in cells} == {
        "rejections",
        "warnings",
        "flags",
        "unmapped_codes",
        "unresolved_references",
    }
    for kind, href, number in cells:
        assert "period=" in href
        assert _sightings(http, monitor, href) == int(number), (kind, href)


def test_the_records_page_shows_the_rows_with_headers_and_paging(
    district: dict[str, Any], http: httpx.Client
) -> None:
    busiest = district["busiest"]
    base = f"/data-quality/records?institution={busiest}&kind=rejections"
    first = http.get(f"{base}&_count=5", headers=district["monitor"])
    assert first.status_code == 200, first.text[:500]
    total = int(re.search(r'id="records-total">(\d+)<', first.text).group(1))  # type: ignore[union-attr]
    assert total >= 11
    body = first.text.split("<tbody>")[1].split("</tbody>")[0]
    assert body.count("<tr>") == 5
    assert '<th scope="col">错误</th>' in first.text
    assert 'id="back-link"' in first.text
    nxt = html.unescape(re.search(r'href="([^"]+)" id="next-page"', first.text).group(1))  # type: ignore[union-attr]
    seen = body.count("<tr>")
    while True:
        page = http.get(nxt, headers=district["monitor"])
        assert page.status_code == 200
        assert 'id="first-page"' in page.text
        seen += page.text.split("<tbody>")[1].split("</tbody>")[0].count("<tr>")
        more = re.search(r'href="([^"]+)" id="next-page"', page.text)
        if not more:
            break
        nxt = html.unescape(more.group(1))
    assert seen == total
    english = http.get(f"{base}&lang=en", headers=district["monitor"])
    assert "Rejections" in english.text
    assert '<th scope="col">Error</th>' in english.text


def test_paging_is_keyset_with_an_opaque_cursor(
    district: dict[str, Any], http: httpx.Client
) -> None:
    monitor, busiest = district["monitor"], district["busiest"]
    for kind in ("rejections", "warnings", "flags", "unmapped", "unresolved"):
        whole = http.get(f"{API}?institution={busiest}&kind={kind}&_count=100", headers=monitor)
        assert whole.status_code == 200, whole.text
        everything = whole.json()
        assert everything["next"] is None
        assert len(everything["items"]) == everything["total"] > 0, kind
        paged = _walk(http, monitor, f"institution={busiest}&kind={kind}", count=3)
        assert paged == everything["items"], kind
    # the resource with two unresolved references: both listed (tests/quality/district.py)
    unresolved = _walk(http, monitor, f"institution={busiest}&kind=unresolved", count=1)
    assert len(unresolved) == 13
    assert {"Patient/gone", "Patient/never-sent-0", "Patient"} <= {r["target"] for r in unresolved}
    first = http.get(f"{API}?institution={busiest}&kind=warnings&_count=2", headers=monitor)
    cursor = dict(parse_qsl(urlsplit(first.json()["next"]).query))["_cursor"]
    assert not cursor.isdigit()  # opaque: not an id to guess from
    # a cursor of another list is refused
    other = http.get(f"{API}?institution={busiest}&kind=flags&_cursor={cursor}", headers=monitor)
    assert other.status_code == 400
    assert other.json()["error"]["issues"][0]["expression"] == "_cursor"


def test_only_monitors_and_administrators_read_the_records(
    district: dict[str, Any], http: httpx.Client, services: Services
) -> None:
    query = f"{API}?institution={district['busiest']}&kind=rejections"
    assert http.get(query, headers=district["monitor"]).status_code == 200
    assert http.get(query, headers=district["admin"]).status_code == 200
    assert http.get(query, headers=district["reviewer"]).status_code == 403
    assert http.get(f"{query}&kind=nonsense", headers=district["reviewer"]).status_code == 403
    assert http.get(query).status_code == 401
    sender = make_sender(services, "hosp-s")
    key = {"Authorization": sender.headers["Authorization"]}
    assert http.get(query, headers=key).status_code == 401
    page = query.replace(API, "/data-quality/records")
    assert http.get(page, headers=district["reviewer"]).status_code == 403
    anonymous = http.get(page, follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")
    # each read is audited: who, which institution, which list
    with services.db.reading() as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "data_quality.records")
        ).all()
    assert {(r.actor_id, r.target_id) for r in rows} == {
        ("mon1", district["busiest"]),
        ("admin1", district["busiest"]),
    }
    assert all(r.detail and r.detail.startswith("rejections all ") for r in rows)


def test_messages_are_masked_for_staff(district: dict[str, Any], http: httpx.Client) -> None:
    monitor, busiest = district["monitor"], district["busiest"]
    shown: list[str] = []
    for kind in ("rejections", "warnings", "unmapped"):
        r = http.get(f"{API}?institution={busiest}&kind={kind}&_count=100", headers=monitor)
        shown.append(r.text)
        page = http.get(
            f"/data-quality/records?institution={busiest}&kind={kind}&_count=100",
            headers=monitor,
        )
        shown.append(page.text)
    for text in shown:
        for secret in (RESIDENT_ID, PHONE, BIRTH, "19900307"):
            assert secret not in text
    errors = [
        i["error"]
        for i in http.get(
            f"{API}?institution={busiest}&kind=rejections&_count=100", headers=monitor
        ).json()["items"]
        if i["status"] == 422
    ]
    # the seeded error, its rule and element kept, what the sender quoted blanked
    assert PERSONAL_ERROR.startswith("Patient.identifier[0].value: '")
    assert errors == [
        "Patient.identifier[0].value: … is not a valid resident ID (birth date …, phone …)"
    ]
    warnings = http.get(
        f"{API}?institution={busiest}&kind=warnings&_count=100", headers=monitor
    ).json()["items"]
    assert PERSONAL_MESSAGE.startswith("Observation dated ")
    assert "Observation dated … names resident …" in {w["message"] for w in warnings}


BAD = [
    ("kind=nonsense", "kind", "rejections, warnings, flags, unmapped, unresolved"),
    ("kind=rejections&institution=nowhere", "institution", "valid institutions"),
    ("kind=rejections&period=2025-13", "period", "YYYY-MM"),
    ("kind=rejections&period=last", "period", "YYYY"),
    ("kind=rejections&_count=0", "_count", "1 to 100"),
    ("kind=rejections&_count=101", "_count", "1 to 100"),
    ("kind=rejections&_count=ten", "_count", "1 to 100"),
    ("kind=rejections&_cursor=not-a-cursor", "_cursor", "next link"),
    # {"k":"rejections","a":-1}: the right list, an impossible position
    ("kind=rejections&_cursor=eyJrIjoicmVqZWN0aW9ucyIsImEiOi0xfQ", "_cursor", "next link"),
    ("kind=rejections&sort=at", "sort", "institution, kind, period"),
]


def test_bad_parameters_are_refused_naming_the_valid_values(
    district: dict[str, Any], http: httpx.Client
) -> None:
    for query, where, says in BAD:
        institution = "" if "institution=" in query else f"institution={district['busiest']}&"
        r = http.get(f"{API}?{institution}{query}", headers=district["monitor"])
        assert r.status_code == 400, (query, r.text)
        error = r.json()["error"]
        assert error["issues"][0]["expression"] == where, query
        assert says in error["message"], query
        if where == "institution":
            assert district["busiest"] in error["message"]
        page = http.get(f"/data-quality/records?{institution}{query}", headers=district["monitor"])
        # the page takes the API's parameters; another one in its address is ignored
        assert page.status_code == (200 if where == "sort" else 400), query
        if where != "sort":
            assert str(escape(error["message"])) in page.text  # as the page escapes it
