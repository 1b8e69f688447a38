"""Administration pages in a real browser (issue 18, page 7), on both databases: what an
administrator does there, and what the other roles may not."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from mch_service.app import Services
from mch_service.institutions.service import add_institution
from tests.auth.test_accounts import PASSWORD, add_user


@pytest.fixture
def admin(services: Services) -> str:
    add_user(services, "admin1", "admin")
    return "admin1"


def test_an_administrator_adds_an_institution_and_sees_its_key_once(
    tabs: Any, admin: str, http: httpx.Client
) -> None:
    tab = tabs()
    tab.sign_in(admin, then="/admin/institutions")
    page = tab.page
    assert page.locator("h1").inner_text() == "机构与密钥"
    form = page.locator("#add-institution")
    form.get_by_label("编码").fill("hosp-new")
    form.get_by_label("名称").fill("广州市南沙区新医院")
    form.get_by_label("类型").select_option("hospital")
    tab.shot("admin-institution-key-once")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    key = page.locator("#issued-key").inner_text()
    assert key.startswith("mch_")
    assert len(key) > 40
    assert "只显示这一次" in page.locator("#issued").inner_text()
    tab.shot("admin-institution-key-issued")
    # the key is real: the new institution can use the FHIR interface with it
    r = http.get("/fhir/Patient", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200, r.text
    # and it is never shown again: the list has its prefix only
    tab.goto("/admin/institutions")
    row = page.locator('#institutions tr[data-id="hosp-new"]')
    assert "广州市南沙区新医院" in row.inner_text()
    assert "医院" in row.inner_text()
    assert key not in page.content()
    assert key[:12] in row.inner_text()


def test_revoking_keys_from_the_page_stops_the_institution(
    tabs: Any, admin: str, services: Services, http: httpx.Client
) -> None:
    with services.db.transaction() as session:
        issued = add_institution(session, "hosp-a", "第一人民医院", "hospital")
    headers = {"Authorization": f"Bearer {issued.api_key}"}
    assert http.get("/fhir/Patient", headers=headers).status_code == 200
    tab = tabs()
    tab.sign_in(admin, then="/admin/institutions")
    row = tab.page.locator('#institutions tr[data-id="hosp-a"]')
    row.locator("button.danger").click()  # not without the confirmation box: nothing happens
    assert http.get("/fhir/Patient", headers=headers).status_code == 200
    row.get_by_label("确认（该机构将无法报送）").check()
    row.locator("button.danger").click()
    tab.page.wait_for_load_state()
    assert "已全部吊销" in tab.page.locator("#notice").inner_text()
    assert "已吊销" in tab.page.locator('#institutions tr[data-id="hosp-a"]').inner_text()
    assert http.get("/fhir/Patient", headers=headers).status_code == 401


def test_a_refused_form_says_why_and_keeps_the_page(tabs: Any, admin: str) -> None:
    tab = tabs()
    tab.sign_in(admin, then="/admin/institutions")
    form = tab.page.locator("#add-institution")
    for _ in range(2):  # the second time the id is taken
        form = tab.page.locator("#add-institution")
        form.get_by_label("编码").fill("hosp-x")
        form.get_by_label("名称").fill("X")
        form.locator("button[type=submit]").click()
        tab.page.wait_for_load_state()
    assert "already exists" in tab.page.locator("#error").inner_text()
    assert tab.page.locator('#institutions tr[data-id="hosp-x"]').count() == 1


def test_an_administrator_registers_a_street_with_its_centre(
    tabs: Any, admin: str, services: Services
) -> None:
    with services.db.transaction() as session:
        add_institution(session, "chc-01", "南沙街道社区卫生服务中心", "chc")
    tab = tabs()
    tab.sign_in(admin, then="/admin/streets")
    form = tab.page.locator("#set-street")
    form.get_by_label("代码").fill("440115001")
    form.get_by_label("名称", exact=True).fill("南沙街道")
    form.get_by_label("责任社区卫生服务中心").select_option("chc-01")
    form.locator("button[type=submit]").click()
    tab.page.wait_for_load_state()
    row = tab.page.locator("#streets tbody tr").first.inner_text()
    assert "440115001" in row
    assert "南沙街道社区卫生服务中心" in row
    tab.shot("admin-streets")


def test_accounts_are_created_and_sign_in_with_the_keyboard_alone(tabs: Any, admin: str) -> None:
    tab = tabs()
    tab.sign_in(admin, then="/admin/users")
    page = tab.page
    page.locator("#add-user").get_by_label("用户名").focus()
    page.keyboard.type("rev-nansha")
    page.keyboard.press("Tab")
    page.keyboard.type("李审核")
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")  # role: admin -> reviewer (the select's second option)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    page.keyboard.type("440115001, 440115002")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    row = page.locator('#users tr[data-username="rev-nansha"]')
    assert "审核员" in row.inner_text()
    assert row.locator('input[name="streets"]').input_value() == "440115001, 440115002"
    tab.shot("admin-users")
    other = tabs()
    other.sign_in("rev-nansha")
    assert "rev-nansha" in other.page.locator("#who").inner_text()


def test_jobs_run_from_the_page_and_their_runs_are_listed(tabs: Any, admin: str) -> None:
    tab = tabs()
    tab.sign_in(admin, then="/admin/jobs")
    tab.page.locator('#jobs tr[data-job="data_quality"] button').click()
    tab.page.wait_for_load_state()
    assert tab.page.locator("#notice").count() == 1
    first_run = tab.page.locator("#runs tbody tr").first.inner_text()
    assert "data_quality" in first_run
    assert "手动" in first_run
    # times as staff read them: the district's zone, to the second, no ISO "T" or offset
    started = tab.page.locator("#runs tbody tr td:nth-child(4)").first.inner_text()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", started), started
    tab.shot("admin-jobs")


def test_the_audit_log_is_searched_and_exported(tabs: Any, admin: str, http: httpx.Client) -> None:
    tab = tabs()
    tab.sign_in(admin, then="/admin/audit")
    form = tab.page.locator("#audit-filters")
    form.get_by_label("操作", exact=True).fill("auth.")
    form.locator("button[type=submit]").click()
    tab.page.wait_for_load_state()
    actions = tab.page.locator("#audit-events tbody tr td:nth-child(3)").all_inner_texts()
    assert actions
    assert all(a.startswith("auth.") for a in actions)
    href = tab.page.locator("#audit-csv").get_attribute("href")
    assert href == "/api/v1/audit.csv?action=auth."
    with tab.page.expect_download() as download:
        tab.page.locator("#audit-csv").click()
    assert download.value.suggested_filename.endswith(".csv")
    tab.shot("admin-audit")


@pytest.mark.parametrize("role", ["reviewer", "monitor"])
def test_other_roles_see_no_administration(
    tabs: Any, services: Services, role: str, http: httpx.Client
) -> None:
    add_user(services, "someone", role)
    tab = tabs()
    tab.sign_in("someone")
    nav = tab.page.locator("#main-nav").inner_text()
    assert "机构与密钥" not in nav
    assert "审计日志" not in nav
    for path in ("/admin/institutions", "/admin/streets", "/admin/users", "/admin/jobs"):
        response = tab.goto(path)
        assert response.status == 403, path
        assert tab.page.locator("#error").count() == 1


def test_the_english_switch_and_the_administrators_home(
    tabs: Any, admin: str, services: Services, http: httpx.Client
) -> None:
    with services.db.transaction() as session:
        issued = add_institution(session, "hosp-a", "第一人民医院", "hospital")
        add_institution(session, "hosp-b", "第六人民医院", "hospital")
    headers = {
        "Authorization": f"Bearer {issued.api_key}",
        "Content-Type": "application/fhir+json",
    }
    ok = http.post("/fhir/Patient", json={"resourceType": "Patient"}, headers=headers)
    bad = http.post(
        "/fhir/Patient",
        json={"resourceType": "Patient", "birthDate": "2025-13-01"},
        headers=headers,
    )
    assert (ok.status_code, bad.status_code) == (201, 400)
    http.get("/fhir/Patient/nope", headers=headers)  # a refused read is no refused write
    tab = tabs()
    tab.sign_in(admin)
    cells = tab.page.locator('#feeds tr[data-id="hosp-a"] td').all_inner_texts()
    assert cells[2:] == ["1", "1"]  # accepted, refused today
    quiet = tab.page.locator('#feeds tr[data-id="hosp-b"] td').all_inner_texts()
    assert quiet[1:] == ["30天内无报送", "0", "0"]
    tab.shot("home-admin")
    tab.page.locator("#switch-lang").click()
    tab.page.wait_for_load_state()
    assert "Institutions and keys" in tab.page.locator("#main-nav").inner_text()
    tab.goto("/admin/institutions")
    assert tab.page.locator("h1").inner_text() == "Institutions and keys"
