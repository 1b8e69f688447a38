"""The case page (issue 18, page 3) in a real browser, on both databases: a reviewer works a case
from a list, a colleague's stale form is refused with a message to reload, the round trip of
assign/close/reopen, the audited view of her identifiers, the keyboard alone, and the refusals.

The ward (set up by tests/web/reviewer_district.py; as tests/cases/test_work_lists_actionable.py):
street 330102001 黄阁镇 (centre chc-01), women booked 2025-01-05 at hospital-a with LMP
2025-01-01 (EDD 2025-10-08); R graded red and O orange on 2025-03-01. At the lists' day
2025-03-20 both are on follow_up_due (R since 03-08, red: 7 days; O since 03-15, orange: 14
days)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from mch_service.app import Services
from mch_service.audit.models import AuditEvent
from tests.auth.test_accounts import PASSWORD
from tests.conftest import SenderKey
from tests.domain.fixtures import delivery, entry, result
from tests.indicators.test_indicator_service import _valid_rid
from tests.web.reviewer_district import (
    S1,
    S2,
    Woman,
    book,
    district,
    pregnancies_by_name,
    run_lists,
)

NAMES = {"R": "李红", "O": "张橙"}
RIDS = {"R": _valid_rid("33010219900101111"), "O": _valid_rid("33010219910101111")}
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
ICD10 = "http://hl7.org/fhir/sid/icd-10"


def _listed(http: httpx.Client, h: dict[str, str], name: str) -> list[str]:
    r = http.get(f"/api/v1/cases?list={name}&page_size=500", headers=h)
    assert r.status_code == 200, r.text
    return [i["pregnancy_id"] for i in r.json()["items"]]


@pytest.fixture
def ward(http: httpx.Client, services: Services, sender: SenderKey) -> dict[str, Any]:
    women = {
        w: (sender, Woman(NAMES[w], RIDS[w], S1, (("2025-03-01", (grade,)),), f"M-{w}"))
        for w, grade in (("R", "red"), ("O", "orange"))
    }
    staff = {
        "rev-a": ("reviewer", {"streets": [S1]}),
        "rev-a2": ("reviewer", {"streets": [S1]}),
        "rev-b": ("reviewer", {"streets": [S2]}),
        "mon1": ("monitor", {}),
        "admin1": ("admin", {}),
    }
    return district(http, services, (S1,), women, staff, ("rev-a", "rev-b", "admin1"))


def _views(services: Services, pregnancy_id: str, actor: str) -> int:
    with services.db.reading() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(
                    AuditEvent.action == "pregnancy.view_personal",
                    AuditEvent.target_id == pregnancy_id,
                    AuditEvent.actor_id == actor,
                )
            )
            or 0
        )


def _submit(page: Any, button: str) -> Any:
    """Click a form's button and wait for the page it leads to: that page's response."""
    with page.expect_navigation() as nav:
        page.locator(button).click()
    return nav.value


def test_a_reviewer_records_a_follow_up_and_the_item_leaves_the_list(
    tabs: Any, ward: dict[str, Any], http: httpx.Client, services: Services
) -> None:
    h, r = ward["h"], ward["ids"]["R"]
    assert r in _listed(http, h["rev-a"], "follow_up_due")
    assert _views(services, r, "rev-a") == 0
    tab = tabs()
    tab.sign_in("rev-a", then=f"/cases/{r}")
    page = tab.page
    # the woman in full, her colour, her lists with what clears them
    assert page.locator("#case-name").inner_text().startswith("李红")
    assert page.locator("#woman-rid").inner_text().strip() == RIDS["R"]
    assert page.locator("#woman-phone").inner_text() == "13912345678"
    assert page.locator("#case-colour").inner_text().strip() == "红"
    assert page.locator("#edd").inner_text() == "2025-10-08"
    item = page.locator('#work-items [data-list="follow_up_due"]')
    assert "随访到期" in item.inner_text()
    assert "红色：19天未联系（随访间隔7天）" in item.inner_text()
    assert "一次产检、评估或登记的随访，或妊娠结束" in item.inner_text()
    # one timeline, each with its day, GA (LMP 2025-01-01) and institution by name
    grading = page.locator("#timeline tr.tl-risk_assessment")
    assert grading.locator("td").nth(0).inner_text() == "2025-03-01"
    assert grading.locator("td").nth(1).inner_text() == "8+3周"  # 59 days
    assert "红" in grading.inner_text()
    assert "Institution hospital-a" in grading.inner_text()
    booking = page.locator("#timeline tr.tl-prenatal_visit")
    assert booking.locator("td").nth(1).inner_text() == "0+4周"
    assert "初诊建册" in booking.inner_text()
    assert page.locator("#gradings tbody tr").count() == 1
    version = int(page.locator("#case-version").inner_text())
    tab.shot("case-page")
    # the view of her identifiers is audited, as the API's full read is
    assert _views(services, r, "rev-a") == 1

    form = page.locator("#follow-up-form")
    form.get_by_label("联系日期").fill("2025-03-19")
    form.get_by_label("随访方式").select_option(label="电话随访")
    form.get_by_label("随访结果").select_option(label="已联系，情况正常")
    form.get_by_label("备注").fill("本人接听，下周产检")
    done = _submit(page, "#fu-submit")
    assert done.status == 200
    assert re.search(rf"/cases/{r}\?done=case_follow_up$", page.url)
    assert page.locator("#notice").inner_text() == "随访已保存"
    row = page.locator("#timeline tr.tl-follow_up")
    assert row.locator("td").nth(0).inner_text() == "2025-03-19"
    assert row.locator("td").nth(1).inner_text() == "11+0周"  # 77 days
    assert "电话随访：已联系，情况正常" in row.inner_text()
    assert "本人接听，下周产检" in row.inner_text()
    assert int(page.locator("#case-version").inner_text()) == version + 1
    assert page.locator('#case-history tr[data-action="follow_up"]').count() == 1
    assert page.locator('#work-items [data-list="follow_up_due"]').count() == 0
    tab.shot("case-page-follow-up-saved")
    # the item left the list (the API, another reviewer's token for the same street is not
    # needed: the reviewer's own)
    assert r not in _listed(http, h["rev-a"], "follow_up_due")
    assert ward["ids"]["O"] in _listed(http, h["rev-a"], "follow_up_due")
    detail = http.get(f"/api/v1/cases/{r}", headers=h["rev-a"]).json()
    assert [(f["contact_date"], f["kind"], f["outcome"]) for f in detail["follow_ups"]] == [
        ("2025-03-19", "phone", "reached")
    ]
    # two page views (before and after) and the API read just now: three audited views
    assert _views(services, r, "rev-a") == 3
    # the English switch: the same page, the same data
    tab.goto(f"/cases/{r}?lang=en")
    assert page.locator("#timeline-h").inner_text() == "Timeline of the pregnancy"
    assert "phone call: reached, all well" in page.locator("#timeline tr.tl-follow_up").inner_text()
    assert page.locator("#case-colour").inner_text().strip() == "Red"
    tab.shot("case-page-en")
    tab.goto(f"/cases/{r}?lang=zh")
    tab.shot("case-page-first-screen", full_page=False)
    assert _views(services, r, "rev-a") == 5


def test_a_stale_form_says_reload_and_changes_nothing(
    tabs: Any, ward: dict[str, Any], http: httpx.Client
) -> None:
    h, o = ward["h"], ward["ids"]["O"]
    first, second = tabs(), tabs()
    first.sign_in("rev-a", then=f"/cases/{o}")
    second.sign_in("rev-a2", then=f"/cases/{o}")
    read_at = int(second.page.locator("#case-version").inner_text())
    # the first reviewer assigns the case to her colleague
    first.page.locator("#assign-panel summary").click()
    first.page.locator("#assign-form").get_by_label("负责人").select_option("rev-a2")
    assert _submit(first.page, "#as-submit").status == 200
    assert first.page.locator("#notice").inner_text() == "负责人已保存"
    now = int(first.page.locator("#case-version").inner_text())
    assert now == read_at + 1
    # the second, on the page she opened before, records a follow-up: refused as stale
    form = second.page.locator("#follow-up-form")
    form.get_by_label("联系日期").fill("2025-03-18")
    form.get_by_label("随访方式").select_option("home_visit")
    form.get_by_label("随访结果").select_option("booked")
    form.get_by_label("备注").fill("入户未遇")
    stale = _submit(second.page, "#fu-submit")
    assert stale.status == 409
    message = second.page.locator("#error").inner_text()
    assert "其他人已修改了该专案" in message
    assert f"第 {read_at} 版" in message
    assert "重新提交" in message
    # the page shows the case as it is now, with what she typed kept
    assert int(second.page.locator("#case-version").inner_text()) == now
    assert "rev-a2" in second.page.locator("#case-assignee").inner_text()
    assert form.get_by_label("联系日期").input_value() == "2025-03-18"
    assert form.get_by_label("随访方式").input_value() == "home_visit"
    assert form.get_by_label("备注").input_value() == "入户未遇"
    assert second.page.locator("#timeline tr.tl-follow_up").count() == 0
    second.shot("case-page-stale-version")
    detail = http.get(f"/api/v1/cases/{o}", headers=h["rev-a"]).json()
    assert detail["follow_ups"] == []
    assert (detail["case"]["version"], detail["case"]["assignee"]) == (now, "rev-a2")
    assert o in _listed(http, h["rev-a"], "follow_up_due")
    # submitted again from the reloaded page it is saved
    assert _submit(second.page, "#fu-submit").status == 200
    assert second.page.locator("#notice").inner_text() == "随访已保存"
    assert len(http.get(f"/api/v1/cases/{o}", headers=h["rev-a"]).json()["follow_ups"]) == 1


def test_assign_close_and_reopen_round_trip(
    tabs: Any, ward: dict[str, Any], http: httpx.Client, services: Services
) -> None:
    h, r = ward["h"], ward["ids"]["R"]
    tab = tabs()
    tab.sign_in("rev-a", then=f"/cases/{r}")
    page = tab.page
    v0 = int(page.locator("#case-version").inner_text())
    page.locator("#assign-panel summary").click()
    assignees = page.locator("#as-assignee option").all_inner_texts()
    assert assignees[1:] == ["rev-a（rev-a）", "rev-a2（rev-a2）"]  # not rev-b: other street
    page.locator("#as-assignee").select_option("rev-a2")
    _submit(page, "#as-submit")
    assert "rev-a2" in page.locator("#case-assignee").inner_text()
    # close: the coded reasons are the service's
    page.locator("#close-panel summary").click()
    codes = page.locator("#cl-code option").all_inner_texts()
    assert codes == ["请选择", "转出", "失访", "迁出", "分娩结案", "死亡", "其他"]
    page.locator("#close-form").get_by_label("结案原因").select_option(label="转出")
    page.locator("#close-form").get_by_label("结案说明").fill("转至市妇幼保健院")
    _submit(page, "#cl-submit")
    assert page.locator("#notice").inner_text() == "已结案"
    state = page.locator("#case-state").inner_text()
    assert "已结案" in state
    assert "转出：转至市妇幼保健院" in state
    assert page.locator("#close-form").count() == 0
    tab.shot("case-page-closed")
    api = http.get(f"/api/v1/cases/{r}", headers=h["rev-a"]).json()["case"]
    assert (api["status"], api["close_code"], api["version"]) == (
        "closed",
        "transferred_out",
        v0 + 2,
    )
    assert r in _listed(http, h["rev-a"], "closed_out")
    page.locator("#reopen-panel summary").click()
    page.locator("#reopen-form").get_by_label("重新开案原因").fill("已返回本区")
    _submit(page, "#ro-submit")
    assert page.locator("#notice").inner_text() == "已重新开案"
    assert int(page.locator("#case-version").inner_text()) == v0 + 3
    history = page.locator("#case-history tbody tr")
    assert [history.nth(i).get_attribute("data-action") for i in range(3)] == [
        "reopen",
        "close",
        "assign",
    ]
    assert "已返回本区" in history.nth(0).inner_text()
    assert "rev-a" in history.nth(0).inner_text()
    api = http.get(f"/api/v1/cases/{r}", headers=h["rev-a"]).json()
    assert (api["case"]["status"], api["case"]["assignee"]) == ("open", "rev-a2")
    assert [e["action"] for e in api["events"]][-3:] == ["assign", "close", "reopen"]
    assert r not in _listed(http, h["rev-a"], "closed_out")
    # each change is in the audit log, by whom, against her case
    with services.db.reading() as session:
        audited = session.execute(
            select(AuditEvent.action, AuditEvent.actor_id)
            .where(
                AuditEvent.target_id == r,
                AuditEvent.action.in_(["case.assign", "case.close", "case.reopen"]),
            )
            .order_by(AuditEvent.id)
        ).all()
    assert [tuple(a) for a in audited] == [
        ("case.assign", "rev-a"),
        ("case.close", "rev-a"),
        ("case.reopen", "rev-a"),
    ]


def test_a_refused_value_is_shown_next_to_its_field(
    tabs: Any, ward: dict[str, Any], http: httpx.Client
) -> None:
    h, r = ward["h"], ward["ids"]["R"]
    tab = tabs()
    tab.sign_in("rev-a", then=f"/cases/{r}")
    form = tab.page.locator("#follow-up-form")
    form.get_by_label("联系日期").fill("2025-03-19")
    form.get_by_label("随访方式").select_option("phone")
    form.get_by_label("随访结果").select_option("not_reached")
    form.get_by_label("下次随访日期").fill("2025-03-10")  # before the contact
    refused = _submit(tab.page, "#fu-submit")
    assert refused.status == 400
    assert "未保存" in tab.page.locator("#error").inner_text()
    assert (
        tab.page.locator("#follow_up-next_due-error").inner_text() == "下次随访日期不能早于联系日期"
    )
    assert form.get_by_label("下次随访日期").get_attribute("aria-invalid") == "true"
    assert form.get_by_label("下次随访日期").input_value() == "2025-03-10"
    assert form.get_by_label("随访结果").input_value() == "not_reached"
    tab.shot("case-page-field-error")
    # two problems at once are both named at once (not one per try)
    form.get_by_label("联系日期").fill("2099-01-01")
    assert _submit(tab.page, "#fu-submit").status == 400
    assert tab.page.locator("#follow_up-contact_date-error").inner_text() == "联系日期不能晚于今天"
    assert (
        tab.page.locator("#follow_up-next_due-error").inner_text() == "下次随访日期不能早于联系日期"
    )
    tab.shot("case-page-two-field-errors")
    assert http.get(f"/api/v1/cases/{r}", headers=h["rev-a"]).json()["follow_ups"] == []


def test_the_follow_up_form_with_the_keyboard_alone(
    tabs: Any, ward: dict[str, Any], http: httpx.Client
) -> None:
    h, r = ward["h"], ward["ids"]["R"]
    tab = tabs()
    tab.sign_in("rev-a", then=f"/cases/{r}")
    page, keys = tab.page, tab.page.keyboard
    for _ in range(60):  # Tab from the top of the page to the form's first field
        keys.press("Tab")
        if page.evaluate("document.activeElement.id") == "fu-contact_date":
            break
    assert page.evaluate("document.activeElement.id") == "fu-contact_date"
    keys.press("Control+A")
    keys.type("2025-03-19")
    keys.press("Tab")  # the kind: the first coded choice, 电话随访
    keys.press("ArrowDown")
    keys.press("Tab")  # the outcome: 已联系，情况正常
    keys.press("ArrowDown")
    keys.press("ArrowDown")  # 已联系，需就诊
    keys.press("Tab")
    keys.type("keyboard only")
    keys.press("Tab")
    keys.type("2025-03-26")
    with page.expect_navigation():
        keys.press("Enter")
    assert page.locator("#notice").inner_text() == "随访已保存"
    fu = http.get(f"/api/v1/cases/{r}", headers=h["rev-a"]).json()["follow_ups"]
    assert [
        (f["contact_date"], f["kind"], f["outcome"], f["notes"], f["next_due"]) for f in fu
    ] == [("2025-03-19", "phone", "reached_needs_care", "keyboard only", "2025-03-26")]


def test_the_lists_day_is_the_pages_day_when_the_lists_are_behind_today(
    tabs: Any, ward: dict[str, Any], http: httpx.Client
) -> None:
    """The lists are as of LISTS_DAY (2025-03-20), long before today: the page says so, gives
    her GA on that day, and the form's default contact date is that day, so a follow-up saved
    as offered takes her off the list at once (a contact dated today would only count once the
    lists reach today)."""
    h, r = ward["h"], ward["ids"]["R"]
    tab = tabs()
    tab.sign_in("rev-a", then=f"/cases/{r}")
    page = tab.page
    note = page.locator("#lists-day").inner_text()
    assert note.startswith("工作清单按 2025-03-20 计算")
    assert page.locator("dt", has=page.locator("text=孕周（2025-03-20）")).count() == 1
    assert page.locator("#ga-now").inner_text() == "11+1周"  # LMP 2025-01-01, 78 days
    form = page.locator("#follow-up-form")
    assert form.get_by_label("联系日期").input_value() == "2025-03-20"
    form.get_by_label("随访方式").select_option(label="电话随访")
    form.get_by_label("随访结果").select_option(label="已联系，情况正常")
    assert _submit(page, "#fu-submit").status == 200
    assert page.locator("#notice").inner_text() == "随访已保存"
    assert page.locator('#work-items [data-list="follow_up_due"]').count() == 0
    assert r not in _listed(http, h["rev-a"], "follow_up_due")
    fu = http.get(f"/api/v1/cases/{r}", headers=h["rev-a"]).json()["follow_ups"]
    assert [f["contact_date"] for f in fu] == ["2025-03-20"]


def test_who_may_not_see_the_case_is_refused_and_nothing_leaks(
    tabs: Any, ward: dict[str, Any], http: httpx.Client, sender: SenderKey
) -> None:
    r = ward["ids"]["R"]
    outsider = tabs()
    outsider.sign_in("rev-b", then=f"/cases/{r}")
    api = http.get(f"/api/v1/cases/{r}", headers=ward["h"]["rev-b"])
    assert api.status_code == 404
    html = outsider.page.content()
    for secret in ("李红", RIDS["R"], "13912345678", "随访到期"):
        assert secret not in html
    assert outsider.page.locator("h1").inner_text() == "无权访问或操作未完成"
    assert outsider.goto(f"/cases/{r}").status == 404  # as the API: no such case for her
    outsider.shot("case-page-refused")
    # her forms refuse the same way, and change nothing
    token = outsider.page.locator('input[name="csrf_token"]').first.input_value()
    posted = outsider.page.request.post(
        f"{outsider.base_url}/cases/{r}/close",
        form={"csrf_token": token, "version": "1", "code": "other", "reason": "x"},
    )
    assert posted.status == 404
    assert "李红" not in posted.text()
    monitor = tabs()
    monitor.sign_in("mon1", then=f"/cases/{r}")
    assert "李红" not in monitor.page.content()
    assert monitor.page.locator("h1").inner_text() == "无权访问或操作未完成"
    assert monitor.goto(f"/cases/{r}").status == 403
    # a sender's key is not a staff sign-in: to the sign-in page, nothing shown
    sent = http.get(f"/cases/{r}", headers=sender.headers, follow_redirects=False)
    assert sent.status_code == 303
    assert sent.headers["location"].startswith("/login")
    assert "李红" not in sent.text
    assert http.get(f"/api/v1/cases/{r}", headers=ward["h"]["rev-a"]).json()["case"]["status"] == (
        "open"
    )


@contextmanager
def _signed_in(http: httpx.Client, username: str) -> Iterator[httpx.Client]:
    """Another person's cookie session on the live server, signed in with the form."""
    with httpx.Client(base_url=str(http.base_url)) as client:
        login = client.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
        assert csrf is not None
        client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf_token": csrf.group(1)},
        )
        yield client


def _form_fields(html: str, form_id: str) -> dict[str, str]:
    form = html[html.index(f'id="{form_id}"') :]
    form = form[: form.index("</form>")]
    return dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form))


def test_a_late_report_is_acknowledged_and_a_form_without_its_token_changes_nothing(
    ward: dict[str, Any], http: httpx.Client, services: Services
) -> None:
    h, r = ward["h"], ward["ids"]["R"]
    # the lists at today: the red grading of 2025-03-01 reached the district long after 24 hours
    today = services.cases.today().isoformat()
    run = http.post(f"/api/v1/jobs/work_lists/run?as_of={today}", headers=h["admin1"])
    assert run.json()["status"] == "succeeded", run.text
    assert r in _listed(http, h["rev-a"], "report_late")
    with _signed_in(http, "rev-a") as browser:
        page = browser.get(f"/cases/{r}?lang=en")
        assert page.status_code == 200
        assert "Acknowledge the late report" in page.text
        assert "Reported late" in page.text
        fields = _form_fields(page.text, "ack-form")
        version = int(fields["version"])
        # without the session's CSRF token: back to the sign-in page, nothing done
        forged = browser.post(f"/cases/{r}/acknowledge-late", data={"version": str(version)})
        assert forged.status_code == 303
        # (after signing in again: back to the case page, not to the form's address)
        assert forged.headers["location"] == f"/login?next=/cases/{r}"
        assert r in _listed(http, h["rev-a"], "report_late")
        done = browser.post(f"/cases/{r}/acknowledge-late", data=fields)
        assert done.status_code == 303
        assert done.headers["location"] == f"/cases/{r}?done=case_acknowledge_late"
        after = browser.get(done.headers["location"])
        assert "Late report acknowledged" in after.text
        assert 'id="ack-form"' not in after.text
    assert r not in _listed(http, h["rev-a"], "report_late")
    case = http.get(f"/api/v1/cases/{r}", headers=h["rev-a"]).json()
    assert case["case"]["version"] == version + 1
    assert [e["action"] for e in case["events"]] == ["acknowledge_late"]


def test_a_woman_without_a_record_is_opened_by_the_first_form_and_outcomes_are_checked(
    ward: dict[str, Any], http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    """A green woman has no case record: the page shows version 0 and the first action opens a
    lightweight record; the outcome form's required date and place are asked for by field."""
    green = (("2025-01-05", ("green",)),)
    book(http, sender, Woman("赵绿", _valid_rid("33010219930101111"), S1, green, "M-G"))
    run_lists(http, ward["h"]["admin1"])
    g = pregnancies_by_name(http, ward["h"]["rev-a"])["赵绿"]
    with _signed_in(http, "rev-a") as browser:
        page = browser.get(f"/cases/{g}")
        assert 'id="case-version">0<' in page.text
        assert "尚无工作记录" in page.text
        assert 'class="badge c-green">绿<' in page.text
        fields = _form_fields(page.text, "outcome-form")
        missing = browser.post(
            f"/cases/{g}/outcome",
            data={**fields, "kind": "delivered_elsewhere", "source": "family"},
        )
        assert missing.status_code == 400
        assert 'id="outcome-date-error">该结局须填写日期<' in missing.text
        assert 'id="outcome-place-error">院外分娩须填写地点<' in missing.text
        assert '<option value="family" selected>' in missing.text
        bad_date = browser.post(
            f"/cases/{g}/outcome",
            data={**fields, "kind": "miscarriage", "date": "2025/03/18"},
        )
        assert bad_date.status_code == 400
        assert 'id="outcome-date-error">日期格式应为 2025-06-30<' in bad_date.text
        saved = browser.post(
            f"/cases/{g}/outcome",
            data={**fields, "kind": "miscarriage", "date": "2025-03-18", "source": "woman"},
        )
        assert saved.status_code == 303, saved.text
        after = browser.get(saved.headers["location"]).text
        assert "妊娠结局已保存" in after
        assert 'id="case-version">1<' in after
        assert "妊娠结局（审核员登记）" in after
    case = http.get(f"/api/v1/cases/{g}", headers=ward["h"]["rev-a"]).json()["case"]
    assert (case["version"], case["managed"], case["outcome"]["kind"]) == (1, False, "miscarriage")
    assert case["outcome"]["date"] == "2025-03-18"


def test_the_timeline_of_a_delivered_woman_with_tests_and_ages(
    tabs: Any, ward: dict[str, Any], http: httpx.Client, sender: SenderKey
) -> None:
    """Tests and results, the delivery and a follow-up after it, on one timeline with the
    gestational age worked out from her LMP (2025-01-01) and the days after the delivery."""
    orange = (("2025-01-05", ("orange",)),)
    book(
        http,
        sender,
        Woman("钱产", _valid_rid("33010219950101111"), S1, orange, "M-D"),
        lambda p: [
            entry(result(p, "56888-1", "2025-02-01")),  # HIV, negative
            entry(result(p, "20507-0", "2025-02-01", positive=True)),  # syphilis RPR
            entry(
                {  # chronic hepatitis B (ICD-10 B18.1): named in Chinese, its code kept
                    "resourceType": "Condition",
                    "subject": {"reference": p},
                    "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
                    "code": {"coding": [{"system": ICD10, "code": "B18.1"}]},
                    "recordedDate": "2025-02-03",
                }
            ),
            *delivery(p, "2025-10-07", "2025-10-08", "2025-10-10"),
        ],
    )
    h = ward["h"]
    run_lists(http, h["admin1"], "2025-10-20")
    d = pregnancies_by_name(http, h["rev-a"])["钱产"]
    version = http.get(f"/api/v1/cases/{d}", headers=h["rev-a"]).json()["case"]["version"]
    saved = http.post(
        f"/api/v1/cases/{d}/follow-ups",
        headers=h["rev-a"],
        json={
            "version": version,
            "contact_date": "2025-10-15",
            "kind": "home_visit",
            "outcome": "reached",
        },
    )
    assert saved.status_code == 201, saved.text
    tab = tabs()
    tab.sign_in("rev-a", then=f"/cases/{d}")
    page = tab.page

    def cells(kind: str) -> list[list[str]]:
        rows = page.locator(f"#timeline tr.tl-{kind}")
        return [
            [c.strip() for c in rows.nth(i).locator("td").all_inner_texts()]
            for i in range(rows.count())
        ]

    # 2025-02-01 - 2025-01-01 = 31 days = 4+3; 2025-10-08 - 2025-01-01 = 280 days = 40+0
    assert sorted(cells("lab_result")) == sorted(
        [
            ["2025-02-01", "4+3周", "检验检查", "艾滋病检测 阴性", "Institution hospital-a"],
            ["2025-02-01", "4+3周", "检验检查", "梅毒检测 阳性", "Institution hospital-a"],
        ]
    )
    # 2025-02-03 - 2025-01-01 = 33 days = 4+5
    assert [r[:2] + r[3:4] for r in cells("diagnosis")] == [
        ["2025-02-03", "4+5周", "乙型肝炎 B18.1"]
    ]
    deliveries = cells("delivery_record")
    assert {r[0] for r in deliveries} == {"2025-10-08"}
    assert {r[1] for r in deliveries} == {"40+0周"}
    assert "活产1，死产0" in [r[3] for r in deliveries]
    # the follow-up a week after the delivery: days after the end, not weeks of pregnancy
    assert cells("follow_up") == [
        [
            "2025-10-15",
            "产后7天",
            "随访",
            "入户随访：已联系，情况正常",
            "高危管理团队\nrev-a",
        ]
    ]
    dates = [
        page.locator("#timeline tbody tr").nth(i).locator("td").first.inner_text()
        for i in range(page.locator("#timeline tbody tr").count())
    ]
    assert dates == sorted(dates)  # one timeline, in date order
    assert "2025-10-08" in page.locator("#woman").inner_text()
    tab.shot("case-page-delivered")


def test_from_the_list_to_the_case_and_back_the_worked_item_is_gone(
    tabs: Any, ward: dict[str, Any]
) -> None:
    """The reviewer's day in the pages alone: the list, a row opened, a follow-up recorded on the
    case page, back to the list where the item has left and the tab's count went down by one."""
    r, o = ward["ids"]["R"], ward["ids"]["O"]
    tab = tabs()
    tab.sign_in("rev-a", then="/worklists?list=follow_up_due")
    page = tab.page
    count = page.locator("#list-tabs a[data-list='follow_up_due'] .count")
    assert int(count.inner_text()) == 2
    rows = page.locator("#worklist tbody tr[data-pregnancy]")
    assert sorted(rows.nth(n).get_attribute("data-pregnancy") for n in range(2)) == sorted([r, o])
    with page.expect_navigation():
        page.locator(f"#worklist tr[data-pregnancy='{r}'] a.case-link").click()
    assert page.url.endswith(f"/cases/{r}")
    form = page.locator("#follow-up-form")
    form.get_by_label("联系日期").fill("2025-03-19")
    form.get_by_label("随访方式").select_option(label="电话随访")
    form.get_by_label("随访结果").select_option(label="已联系，情况正常")
    assert _submit(page, "#fu-submit").status == 200
    assert page.locator("#notice").inner_text() == "随访已保存"
    with page.expect_navigation():
        page.locator("#back-to-lists").click()
    page.locator("#list-tabs a[data-list='follow_up_due']").click()
    page.wait_for_load_state()
    assert int(count.inner_text()) == 1
    left = page.locator("#worklist tbody tr[data-pregnancy]")
    assert [left.nth(n).get_attribute("data-pregnancy") for n in range(left.count())] == [o]
