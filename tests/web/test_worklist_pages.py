"""The reviewers' pages in a real browser (issue 18, pages 1, 2 and 4), on both databases: the
work lists with their tabs, filters, exports and call sheet, the home panel, the pregnancy
search; compared with what the JSON API answers the same person.

The district, at the lists' day 2025-03-20 (the work_lists job run for it); every woman booked
2025-01-05 (LMP 2025-01-01, EDD 2025-10-08) without test results:

    street 330102001 黄阁镇 (centre chc-01), sent by hospital-a:
      R  red 2025-03-01        follow_up_due (since 03-08) + missing_tests
      O  orange 2025-03-01     follow_up_due (since 03-15) + missing_tests
      P  green+purple 03-10    missing_tests (her purple follow-up is due 03-24)
      G  green 01-05           missing_tests
    street 330102002 南沙街道 (centre chc-02), sent by hospital-b:
      B  red 2025-03-01        follow_up_due + missing_tests

rev-a works 黄阁镇 (R, O, P, G: 2 follow-ups due, 4 tests missing), rev-b 南沙街道 (B only),
rev-i the institution hospital-b (B only).
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any
from urllib.parse import quote

import httpx
import openpyxl
import pytest
from sqlalchemy import select

from mch_service.app import Services
from mch_service.audit.models import AuditEvent
from tests.auth.test_accounts import PASSWORD
from tests.conftest import SenderKey
from tests.indicators.test_indicator_service import _valid_rid
from tests.web.reviewer_district import S1, S2, Woman
from tests.web.reviewer_district import district as reviewer_district

NAMES = {"R": "李红", "O": "张橙", "P": "陈紫", "G": "赵绿", "B": "王南"}
RIDS = {w: _valid_rid(f"3301021990{n:02d}01111") for n, w in enumerate(NAMES, start=1)}
LISTS = (
    "follow_up_due",
    "report_late",
    "outcome_unknown",
    "positive_untreated",
    "missing_tests",
    "postpartum_visit_due",
    "closed_out",
)


# each woman: her street and gradings (her sender: hospital-a, hospital-b for B)
GRADED = {
    "R": (S1, (("2025-03-01", ("red",)),)),
    "O": (S1, (("2025-03-01", ("orange",)),)),
    "P": (S1, (("2025-03-10", ("green", "purple")),)),
    "G": (S1, (("2025-01-05", ("green",)),)),
    "B": (S2, (("2025-03-01", ("red",)),)),
}


@pytest.fixture
def district(
    http: httpx.Client, services: Services, sender: SenderKey, other_sender: SenderKey
) -> dict[str, Any]:
    women = {
        w: (
            other_sender if w == "B" else sender,
            Woman(NAMES[w], RIDS[w], street, grades, f"M-{w}"),
        )
        for w, (street, grades) in GRADED.items()
    }
    staff = {
        "rev-a": ("reviewer", {"streets": [S1]}),
        "rev-b": ("reviewer", {"streets": [S2]}),
        "rev-i": ("reviewer", {"institutions": ["hospital-b"]}),
        "mon1": ("monitor", {}),
        "admin1": ("admin", {}),
    }
    return reviewer_district(
        http, services, (S1, S2), women, staff, ("rev-a", "rev-b", "rev-i", "admin1")
    )


def _api_items(http: httpx.Client, h: dict[str, str], query: str = "") -> list[dict[str, Any]]:
    r = http.get(f"/api/v1/cases?page_size=500{query}", headers=h)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def _api_total(http: httpx.Client, h: dict[str, str], query: str) -> int:
    r = http.get(f"/api/v1/cases?page_size=1{query}", headers=h)
    assert r.status_code == 200, r.text
    return int(r.json()["total"])


def _rows(tab: Any, table: str = "#worklist") -> list[tuple[str, str]]:
    """(pregnancy, list) of each row of the table on the page, in order."""
    rows = tab.page.locator(f"{table} tbody tr[data-pregnancy]")
    return [
        (rows.nth(n).get_attribute("data-pregnancy"), rows.nth(n).get_attribute("data-list"))
        for n in range(rows.count())
    ]


def _tab_counts(tab: Any) -> dict[str, int]:
    links = tab.page.locator("#list-tabs a")
    return {
        links.nth(n).get_attribute("data-list"): int(links.nth(n).locator(".count").inner_text())
        for n in range(links.count())
    }


def test_a_reviewer_works_her_lists_as_the_api_lists_them(
    tabs: Any, http: httpx.Client, district: dict[str, Any]
) -> None:
    h, ids = district["h"]["rev-a"], district["ids"]
    tab = tabs()
    tab.sign_in("rev-a", then="/worklists")
    page = tab.page
    assert page.locator("h1").inner_text().startswith("工作清单")
    assert "2025-03-20" in page.locator("#as-of").inner_text()
    # the navigation names the page for a reviewer
    assert page.locator("#main-nav a[href='/worklists']").inner_text() == "工作清单"
    # a tab per list, its count the API's total for that list (worked out by hand: R and O
    # are due a follow-up, all four have tests missing)
    counts = _tab_counts(tab)
    assert counts == {
        "all": 6,
        "follow_up_due": 2,
        "report_late": 0,
        "outcome_unknown": 0,
        "positive_untreated": 0,
        "missing_tests": 4,
        "postpartum_visit_due": 0,
        "closed_out": 0,
    }
    for key in LISTS:
        assert counts[key] == _api_total(http, h, f"&list={key}"), key
    # the rows are the API's, in its order (most urgent first), each opening the case page
    api = _api_items(http, h)
    assert _rows(tab) == [(i["pregnancy_id"], i["list"]) for i in api]
    first = page.locator("#worklist tbody tr").first
    href = first.locator("a.case-link").get_attribute("href")
    assert href == f"/cases/{ids['R']}"
    text = first.inner_text()
    # the call sheet's fields as the API gives them to a reviewer: full name, phone, centre by
    # name, GA as 11+1周 and EDD, last contact and next due, the risk factors
    for expected in (
        "李红",
        api[0]["phone"],
        "红",
        "黄阁镇",
        "黄阁镇社区卫生服务中心",
        "11+1周",
        "2025-10-08",
        "2025-03-01",
        "2025-03-08",
        "逾期 12 天",
        "未记录因素",
    ):
        assert expected in text, expected
    assert first.locator(".badge.colour-red").inner_text() == "红"
    tab.shot("worklists-all")

    # the follow_up_due tab: R and O, as the API lists them
    page.locator("#list-tabs a[data-list='follow_up_due']").click()
    page.wait_for_load_state()
    assert _rows(tab) == [(ids["R"], "follow_up_due"), (ids["O"], "follow_up_due")]
    assert page.locator("#list-tabs a[aria-current='page']").get_attribute("data-list") == (
        "follow_up_due"
    )
    # a filter narrows the list: orange only (the API's answer to the same filter)
    page.get_by_label("颜色").select_option("orange")
    page.locator("#apply-filters").click()
    page.wait_for_load_state()
    narrowed = _api_items(http, h, "&list=follow_up_due&colour=orange")
    assert (
        _rows(tab)
        == [(i["pregnancy_id"], i["list"]) for i in narrowed]
        == [(ids["O"], "follow_up_due")]
    )
    # the tab counts follow the filters (orange: O on two lists)
    assert _tab_counts(tab)["all"] == 2 == _api_total(http, h, "&colour=orange")
    # the purple filter on all lists: P only
    tab.goto("/worklists?colour=purple")
    assert _rows(tab) == [(ids["P"], "missing_tests")]
    assert tab.page.locator("#worklist .badge.colour-purple").count() == 1
    # overdue only, sorted by name (the reviewer sees full names)
    tab.goto("/worklists?list=missing_tests&overdue=true&sort=name")
    expected = _api_items(http, h, "&list=missing_tests&overdue=true&sort=name")
    assert _rows(tab) == [(i["pregnancy_id"], i["list"]) for i in expected]
    assert len(expected) == 4


def test_paging_walks_the_whole_list_and_is_bounded(
    tabs: Any, http: httpx.Client, district: dict[str, Any]
) -> None:
    api = [(i["pregnancy_id"], i["list"]) for i in _api_items(http, district["h"]["rev-a"])]
    tab = tabs()
    tab.sign_in("rev-a", then="/worklists?page_size=4")
    first = _rows(tab)
    assert "第 1/2 页，共 6 条" in tab.page.locator("#worklist caption").inner_text()
    tab.page.locator("#next-page").click()
    tab.page.wait_for_load_state()
    assert first + _rows(tab) == api
    assert tab.page.locator("#next-page").count() == 0
    assert tab.page.locator("#prev-page").count() == 1
    # past the last page: the last page; a page size out of bounds: the default
    tab.goto("/worklists?page_size=4&page=99")
    assert _rows(tab) == api[4:]
    tab.goto("/worklists?page_size=100000")
    assert tab.page.locator("select[name=page_size]").input_value() == "50"
    assert _rows(tab) == api


def test_the_export_links_download_the_rows_on_the_page(
    tabs: Any, district: dict[str, Any]
) -> None:
    tab = tabs()
    tab.sign_in("rev-a", then="/worklists?list=missing_tests")
    page = tab.page
    shown = _rows(tab)
    assert len(shown) == 4
    with page.expect_download() as got:
        page.locator("#export-xlsx").click()
    with open(got.value.path(), "rb") as f:
        sheet = openpyxl.load_workbook(io.BytesIO(f.read()), read_only=True).active
    assert sheet is not None
    cells = list(sheet.iter_rows(values_only=True))
    head = list(cells[0])
    pid, lst = head.index("孕产妇档案 pregnancy"), head.index("工作清单 list")
    assert [(r[pid], r[lst]) for r in cells[1:]] == shown
    with page.expect_download() as got_csv:
        page.locator("#export-csv").click()
    with open(got_csv.value.path(), encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert [(r["孕产妇档案 pregnancy"], r["工作清单 list"]) for r in rows] == shown
    # the export link carries the page's filters (and no paging)
    href = page.locator("#export-csv").get_attribute("href")
    assert href == "/api/v1/cases/export.csv?list=missing_tests&sort=urgency"


def test_the_call_sheet_prints_names_and_phones_for_the_entitled(
    tabs: Any, http: httpx.Client, services: Services, district: dict[str, Any]
) -> None:
    h = district["h"]["rev-a"]
    tab = tabs()
    tab.sign_in("rev-a", then="/worklists?list=follow_up_due")
    tab.page.locator("#call-sheet").click()
    tab.page.wait_for_load_state()
    assert tab.page.url.endswith("/worklists/call-sheet?list=follow_up_due&sort=urgency")
    assert tab.page.locator("h1").inner_text().startswith("电话随访单 · 随访到期")
    api = _api_items(http, h, "&list=follow_up_due")
    rows = tab.page.locator("#call-sheet-table tbody tr")
    assert rows.count() == len(api) == 2
    for n, item in enumerate(api):
        text = rows.nth(n).inner_text()
        assert item["full_name"] in text
        assert item["phone"] in text
        assert "黄阁镇社区卫生服务中心" in text
    # printing hides the page frame (the print style sheet)
    tab.page.emulate_media(media="print")
    assert tab.page.locator("header").is_hidden()
    assert tab.page.locator("#print").is_hidden()
    tab.page.emulate_media(media="screen")
    tab.shot("worklists-call-sheet")
    # every woman shown with her phone is audited, as the API audits it
    with services.db.transaction() as session:
        shown = session.scalars(
            select(AuditEvent.target_id).where(
                AuditEvent.action == "cases.call_sheet", AuditEvent.actor_id == "rev-a"
            )
        ).all()
    assert set(shown) >= {i["pregnancy_id"] for i in api}


def test_a_reviewer_sees_only_her_jurisdiction(
    tabs: Any, http: httpx.Client, district: dict[str, Any]
) -> None:
    ids = district["ids"]
    for user in ("rev-b", "rev-i"):  # by street, by institution
        tab = tabs()
        tab.sign_in(user, then="/worklists")
        assert sorted(_rows(tab)) == sorted(
            [(ids["B"], "follow_up_due"), (ids["B"], "missing_tests")]
        )
        assert _rows(tab) == [
            (i["pregnancy_id"], i["list"]) for i in _api_items(http, district["h"][user])
        ]
        assert _tab_counts(tab)["all"] == 2
        # a case of another street is not hers: nothing of it on the page
        assert ids["R"] not in tab.page.content()
        if user == "rev-b":  # the street filter offers her her street only
            options = tab.page.locator("select[name=street] option")
            assert options.all_inner_texts() == ["全部", "南沙街道"]
        # the home panel counts her lists only, overdue first
        tab.goto("/")
        panel = tab.page.locator("#home-lists tbody tr")
        assert [panel.nth(n).get_attribute("data-list") for n in range(panel.count())] == [
            "follow_up_due",
            "missing_tests",
        ]


def test_the_home_panel_lists_her_open_lists_overdue_first(
    tabs: Any, http: httpx.Client, district: dict[str, Any]
) -> None:
    h = district["h"]["rev-a"]
    tab = tabs()
    tab.sign_in("rev-a")
    rows = tab.page.locator("#home-lists tbody tr")
    got = {
        rows.nth(n).get_attribute("data-list"): rows.nth(n).locator("td").all_inner_texts()
        for n in range(rows.count())
    }
    # overdue items first: missing_tests (R, O, P, G all 44 days past 02-03) has 4 overdue,
    # follow_up_due 2 (R since 03-08, O since 03-15); the empty lists are left out
    assert list(got) == ["missing_tests", "follow_up_due"]
    for key, cells in got.items():
        assert int(cells[1]) == _api_total(http, h, f"&list={key}")
        assert int(cells[2]) == _api_total(http, h, f"&list={key}&overdue=true")
    assert got["follow_up_due"][1:] == ["2", "2"]
    counts = http.get("/api/v1/cases/counts", headers=h).json()
    assert counts["as_of"] == "2025-03-20"
    assert {c["list"]: c["total"] for c in counts["lists"]}["missing_tests"] == 4
    tab.shot("home-reviewer")
    tab.page.locator("#home-lists a[href='/worklists?list=follow_up_due']").click()
    tab.page.wait_for_load_state()
    assert tab.page.url.endswith("/worklists?list=follow_up_due")


def test_monitors_and_senders_are_refused_and_not_offered_the_pages(
    tabs: Any, http: httpx.Client, district: dict[str, Any], sender: SenderKey
) -> None:
    tab = tabs()
    tab.sign_in("mon1")
    assert tab.page.locator("#main-nav a[href='/worklists']").count() == 0
    assert tab.page.locator("#main-nav a[href='/pregnancies/search']").count() == 0
    assert tab.page.locator("#reviewer-panel").count() == 0
    for path in ("/worklists", "/worklists/call-sheet", "/pregnancies/search"):
        response = tab.goto(path)
        assert response.status == 403, path
        assert "李红" not in tab.page.content()
    tab.shot("worklists-refused-monitor")
    # an institution's API key is no staff sign-in: the pages send it to the sign-in page
    for path in ("/worklists", "/pregnancies/search"):
        r = http.get(path, headers={"Authorization": f"Bearer {sender.api_key}"})
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/login"), path
    assert http.get("/api/v1/cases/counts", headers=sender.headers).status_code == 401


def test_the_search_finds_by_resident_id_and_mrn_within_jurisdiction(
    tabs: Any, services: Services, district: dict[str, Any]
) -> None:
    ids = district["ids"]
    tab = tabs()
    tab.sign_in("rev-a", then="/pregnancies/search")
    page = tab.page
    assert "完整姓名" in page.locator("#name-search-help").inner_text()
    page.get_by_label("身份证号、病案号或姓名").fill(RIDS["R"])
    page.locator("#search-submit").click()
    page.wait_for_load_state()
    links = page.locator("#search-results a.case-link")
    assert links.count() == 1
    assert links.first.get_attribute("href") == f"/cases/{ids['R']}"
    assert "黄阁镇" in page.locator("#search-results").inner_text()
    # whose pregnancy it is, masked as in the lists (李红 -> 李*)
    assert links.first.inner_text() == "李*"
    row = page.locator("#search-results tbody tr").first.inner_text()
    assert RIDS["R"][:6] + "*" * 8 + RIDS["R"][-4:] in row
    assert RIDS["R"] not in row
    tab.shot("pregnancy-search")
    # typed in groups, with spaces: the same woman
    page.get_by_label("身份证号、病案号或姓名").fill(f"{RIDS['R'][:6]} {RIDS['R'][6:]}")
    page.locator("#search-submit").click()
    page.wait_for_load_state()
    assert page.locator("#search-results a.case-link").count() == 1
    # by MRN at hospital-a
    page.get_by_label("病案号（门诊号/住院号）").check()
    page.get_by_label("身份证号、病案号或姓名").fill("M-O")
    page.get_by_label("机构（按病案号或姓名查询时可选）").select_option("hospital-a")
    page.locator("#search-submit").click()
    page.wait_for_load_state()
    assert [
        page.locator("#search-results a.case-link").nth(n).get_attribute("href")
        for n in range(page.locator("#search-results a.case-link").count())
    ] == [f"/cases/{ids['O']}"]
    # the same MRN at another institution: no match (exact, per institution)
    page.get_by_label("病案号（门诊号/住院号）").check()
    page.get_by_label("身份证号、病案号或姓名").fill("M-O")
    page.get_by_label("机构（按病案号或姓名查询时可选）").select_option("hospital-b")
    page.locator("#search-submit").click()
    page.wait_for_load_state()
    assert page.locator("#search-none").count() == 1
    # part of an ID finds nothing: no substring search over personal data
    page.get_by_label("身份证号", exact=True).check()
    page.get_by_label("身份证号、病案号或姓名").fill(RIDS["R"][:10])
    page.locator("#search-submit").click()
    page.wait_for_load_state()
    assert page.locator("#search-none").count() == 1
    # a woman outside her jurisdiction answers as no match
    page.get_by_label("身份证号", exact=True).check()
    page.get_by_label("身份证号、病案号或姓名").fill(RIDS["B"])
    page.locator("#search-submit").click()
    page.wait_for_load_state()
    assert page.locator("#search-none").count() == 1
    assert ids["B"] not in page.content()
    # the searched values never in a URL (so never in an access log), nor kept in the page
    for value in (RIDS["R"], RIDS["B"], "M-O"):
        assert not [u for u in tab.requested if value in u], value
    assert RIDS["B"] not in page.content()
    # audited as the API audits a lookup: by what, how many found, never the value
    with services.db.transaction() as session:
        details = session.scalars(
            select(AuditEvent.detail).where(
                AuditEvent.action == "pregnancy.lookup", AuditEvent.actor_id == "rev-a"
            )
        ).all()
    assert sorted(d or "" for d in details) == sorted(
        [
            "by resident_id: 1 found",
            "by resident_id: 1 found",  # the same, typed with a space
            "by mrn: 1 found",
            "by mrn: 0 found",
            "by resident_id: 0 found",
            "by resident_id: 0 found",
        ]
    )
    assert not any(RIDS["R"] in (d or "") for d in details)


def test_the_search_finds_by_name_within_jurisdiction(
    tabs: Any, services: Services, district: dict[str, Any]
) -> None:
    """By name: the whole name, spaces and full-width forms aside, narrowed by birth date; a
    namesake outside her jurisdiction is not shown; posted, audited without the name."""
    ids = district["ids"]
    tab = tabs()
    tab.sign_in("rev-a", then="/pregnancies/search")
    page = tab.page

    def search(name: str, born: str = "") -> list[str | None]:
        page.get_by_label("姓名", exact=True).check()
        page.get_by_label("身份证号、病案号或姓名").fill(name)
        page.get_by_label("出生日期（按姓名查询时可选，用于区分同名）").fill(born)
        page.locator("#search-submit").click()
        page.wait_for_load_state()
        links = page.locator("#search-results a.case-link")
        return [links.nth(n).get_attribute("href") for n in range(links.count())]

    assert search("李 红") == [f"/cases/{ids['R']}"]
    assert page.get_by_label("姓名", exact=True).is_checked()  # the kind of search is kept...
    assert page.get_by_label("身份证号、病案号或姓名").input_value() == ""  # ...not the name
    tab.shot("pregnancy-search-by-name")
    assert search("李\u3000红", "1990-03-07") == [f"/cases/{ids['R']}"]  # her birth date
    assert search("李红", "1990-03-08") == []  # another birth date: not her
    assert page.locator("#search-none").count() == 1
    assert search("李") == []  # never a part of a name
    assert search("王南") == []  # B lives in 南沙街道: not rev-a's
    assert ids["B"] not in page.content()
    # a date that is no date: a message on the page, not an error page
    page.get_by_label("姓名", exact=True).check()
    page.get_by_label("身份证号、病案号或姓名").fill("李红")
    page.evaluate(
        "() => { const d = document.getElementById('search-birth-date');"
        " d.type = 'text'; d.value = '1990-02-30'; }"
    )
    page.locator("#search-submit").click()
    page.wait_for_load_state()
    assert "YYYY-MM-DD" in page.content()
    assert page.locator("#search-results").count() == 0
    for value in ("李", "王南", "1990-03-07"):
        assert not [u for u in tab.requested if value in u or quote(value) in u], value
    with services.db.transaction() as session:
        details = session.scalars(
            select(AuditEvent.detail).where(
                AuditEvent.action == "pregnancy.lookup", AuditEvent.actor_id == "rev-a"
            )
        ).all()
    assert sorted(d or "" for d in details) == sorted(
        [
            "by name: 1 found",
            "by name and birth_date: 1 found",
            "by name and birth_date: 0 found",
            "by name: 0 found",
            "by name: 0 found",
        ]
    )
    assert not any("李" in (d or "") or "王南" in (d or "") for d in details)
    # rev-b (南沙街道) finds B by the same name
    other = tabs()
    other.sign_in("rev-b", then="/pregnancies/search")
    other.page.get_by_label("姓名", exact=True).check()
    other.page.get_by_label("身份证号、病案号或姓名").fill("王 南")
    other.page.locator("#search-submit").click()
    other.page.wait_for_load_state()
    assert other.page.locator("#search-results a.case-link").first.get_attribute("href") == (
        f"/cases/{ids['B']}"
    )


def test_the_search_form_needs_its_csrf_token(http: httpx.Client, district: dict[str, Any]) -> None:
    login = http.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
    assert token is not None
    http.post(
        "/login",
        data={"username": "rev-a", "password": PASSWORD, "csrf_token": token.group(1)},
    )
    forged = http.post("/pregnancies/search", data={"by": "resident_id", "value": RIDS["R"]})
    assert forged.status_code == 303  # back to the sign-in: nothing searched
    assert district["ids"]["R"] not in forged.text


def test_the_filters_are_reached_with_the_keyboard_alone(
    tabs: Any, http: httpx.Client, district: dict[str, Any]
) -> None:
    tab = tabs()
    tab.sign_in("rev-a", then="/worklists")
    page = tab.page
    reached = None
    for _ in range(40):
        page.keyboard.press("Tab")
        name = page.evaluate("document.activeElement.getAttribute('name')")
        if name == "colour":
            reached = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            break
    assert reached is not None, "the colour filter is not reachable with Tab"
    assert reached != "none"  # a visible focus ring
    page.keyboard.press("ArrowDown")  # 红 (the first colour after 全部)
    for _ in range(20):  # on to the button, and press it
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "apply-filters":
            break
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "colour=red" in page.url
    assert _rows(tab) == [
        (i["pregnancy_id"], i["list"])
        for i in _api_items(http, district["h"]["rev-a"], "&colour=red")
    ]
    tab.shot("worklists-red-by-keyboard")


def test_the_pages_in_english(tabs: Any, district: dict[str, Any]) -> None:
    tab = tabs()
    tab.sign_in("rev-a", then="/worklists?lang=en")
    assert tab.page.locator("h1").inner_text().startswith("Work lists")
    assert "Follow-up due" in tab.page.locator("#list-tabs").inner_text()
    assert tab.page.locator("#worklist .badge.colour-red").first.inner_text() == "Red"
    tab.shot("worklists-en")
    tab.goto("/pregnancies/search")
    assert tab.page.locator("h1").inner_text() == "Find a pregnancy"


ZH_COLOURS = "红 (red)、橙 (orange)、黄 (yellow)、绿 (green)、紫 (purple)"
ZH_SORTS = (
    "紧急程度（默认） (urgency)、起始日期 (since)、下次到期 (due)、颜色 (colour)、姓名 (name)、"
    "镇街 (street)、机构 (institution)"
)
# the bad filter -> the message the page gives for it (the filter, the value, what it takes)
BAD_FILTERS = {
    "list=nope": (
        "list",
        "清单不接受“nope”，可选：随访到期 (follow_up_due)、报告超时 (report_late)、"
        "妊娠结局不明 (outcome_unknown)、阳性未治疗 (positive_untreated)、"
        "必查项目缺失 (missing_tests)、产后访视到期 (postpartum_visit_due)、",
    ),
    "sort=zzz": ("sort", f"排序不接受“zzz”，可选：{ZH_SORTS}"),
    "overdue=maybe": ("overdue", "是否逾期不接受“maybe”，可选：已逾期 (true)、未逾期 (false)"),
    "street=nonsense!": ("street", "镇街不接受“nonsense!”，可选：黄阁镇 (330102001)"),
    "page_size=abc": ("page_size", "每页条数不接受“abc”，可选：1 至 100 的整数"),
    "page_size=500": ("page_size", "每页条数不接受“500”，可选：1 至 100 的整数"),
    "page=abc": ("page", "页码不接受“abc”，可选：从 1 起的整数"),
}


def _bad_filters(html: str) -> dict[str, str]:
    """filter -> message of the page's list of filters it did not take."""
    return dict(re.findall(r'<li data-filter="(\w+)">([^<]*)</li>', html))


def _page_rows(html: str) -> list[str]:
    return re.findall(r'<tr data-pregnancy="([^"]+)"', html)


def test_a_bad_filter_is_a_message_not_an_error_page(
    http: httpx.Client, district: dict[str, Any]
) -> None:
    """A filter the lists do not take is named in the work-list page itself (400) with the
    values it takes; the other filters still apply. Never a 500, never a bare error page."""
    h = district["h"]["rev-a"]
    csv_rows = http.get("/api/v1/cases/export.csv?list=missing_tests", headers=h)
    assert len(list(csv.reader(io.StringIO(csv_rows.text.lstrip("\ufeff"))))) == 5
    red = [i["pregnancy_id"] for i in _api_items(http, h, "&colour=red")]
    tests = [i["pregnancy_id"] for i in _api_items(http, h, "&list=missing_tests")]
    assert len(red) == 2  # R: follow_up_due and missing_tests
    assert len(tests) == 4  # R, O, P, G
    login = http.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
    assert token is not None
    http.post(
        "/login",
        data={"username": "rev-a", "password": PASSWORD, "csrf_token": token.group(1)},
    )
    good = http.get("/worklists?colour=red&page_size=7")
    assert good.status_code == 200
    assert 'id="bad-filters"' not in good.text
    assert _page_rows(good.text) == red
    for bad, (name, message) in BAD_FILTERS.items():
        r = http.get(f"/worklists?{bad}&colour=red")  # the colour is good: it still applies
        assert r.status_code == 400, (bad, r.status_code)
        assert "<html" in r.text, bad
        assert 'id="worklist-filters"' in r.text, bad
        shown = _bad_filters(r.text)
        assert list(shown) == [name], (bad, shown)
        assert shown[name].startswith(message), (bad, shown[name])
        assert '<option value="red" selected>' in r.text, bad
        assert _page_rows(r.text) == red, bad
    # the colour, as sent (escaped), with the list kept
    r = http.get("/worklists?colour=<b>nope</b>&list=missing_tests&sort=zzz")
    assert r.status_code == 400
    shown = _bad_filters(r.text.replace("&lt;", "‹").replace("&gt;", "›"))
    assert shown == {
        "colour": f"颜色不接受“‹b›nope‹/b›”，可选：{ZH_COLOURS}",
        "sort": f"排序不接受“zzz”，可选：{ZH_SORTS}",
    }
    assert "<b>nope" not in r.text
    assert _page_rows(r.text) == tests
    # the call sheet prints no list with a filter left out: it says which, in the page frame
    sheet = http.get("/worklists/call-sheet?overdue=maybe&colour=red")
    assert sheet.status_code == 400
    assert "<html" in sheet.text
    assert "是否逾期不接受“maybe”，可选：已逾期 (true)、未逾期 (false)" in sheet.text
    assert _page_rows(sheet.text) == []
    # in English
    r = http.get("/worklists?colour=nope&lang=en")
    assert _bad_filters(r.text) == {
        "colour": "Colour does not take “nope”; choose one of: "
        "Red (red), Orange (orange), Yellow (yellow), Green (green), Purple (purple)"
    }


def test_the_counts_are_the_list_totals_under_every_filter(
    http: httpx.Client, district: dict[str, Any]
) -> None:
    """GET /api/v1/cases/counts (the tabs, the home panel) against the list's own total, for
    each list, person and filter."""
    for user in ("rev-a", "rev-b", "rev-i", "admin1"):
        h = district["h"][user]
        for query in ("", "&colour=red", "&colour=purple", "&overdue=true", f"&street={S1}"):
            counts = http.get(f"/api/v1/cases/counts?{query}", headers=h).json()["lists"]
            for c in counts:
                assert c["total"] == _api_total(http, h, f"{query}&list={c['list']}"), (user, c)
                overdue = _api_total(http, h, f"{query}&list={c['list']}&overdue=true")
                assert c["overdue"] == overdue, (user, query, c)
    everyone = http.get("/api/v1/cases/counts", headers=district["h"]["admin1"]).json()
    assert sum(c["total"] for c in everyone["lists"]) == 8  # R, O, B: 2 items; P, G: 1


def test_risk_factors_are_read_one_a_line() -> None:
    from mch_service.web.review_pages import risk_factors

    text = "2025-03-01 red: no factors recorded 未记录因素; 2025-03-10 green/purple: 瘢痕子宫"
    assert risk_factors(text) == [
        ("2025-03-01", ["red"], ""),
        ("2025-03-10", ["green", "purple"], "瘢痕子宫"),
    ]
    assert risk_factors("") == []
    assert risk_factors("as sent") == [("", [], "as sent")]
