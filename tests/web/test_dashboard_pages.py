"""The monitoring pages in a real browser (issue 18, pages 1, 5 and 6), on both databases.

The data: four women sent over FHIR by four institutions (tests/domain's
``care_at_three_institutions`` and tests/indicators' twins without prenatal care), then the
indicator and data-quality jobs. Two women delivered in August 2025: 王芳 (street 330102001,
南沙街道) by caesarean at hosp-b, with an HIV test; 李娜 (street 330102002, 黄阁镇) twins at
hosp-c, no prenatal care, no test. Worked by hand (docs/indicators.md):

- hiv_test_rate, August, district: 1 tested of 2 women = 50.00 % (target ≥ 98 %: not met);
- caesarean_rate: 1 caesarean live birth of 3 live births = 33.33 %;
- facility_delivery_rate, 黄阁镇: 2 of 2 live births (the twins) = 100.00 %.

The small-numbers size is set to 1 here so that these few women give met / not met figures and
warnings (with the default, 20, every figure would read "not assessable").
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest

from mch_service.app import Services
from mch_service.config import Settings
from mch_service.indicators.display import STATUS_LABELS, UNIT_LABELS
from mch_service.institutions.service import set_street
from tests.auth.test_accounts import add_user, bearer, token_for
from tests.conftest import TEST_SECRET, make_sender
from tests.domain.test_pregnancy_record import care_at_three_institutions
from tests.indicators.test_indicator_service import twins_without_prenatal_care

STREET_A, STREET_B = "330102001", "330102002"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        env="test",
        secret_key=TEST_SECRET,
        max_bundle_entries=50,
        max_body_bytes=5_000_000,
        indicator_small_numbers_below=1,
    )


@pytest.fixture
def figures(http: httpx.Client, services: Services) -> dict[str, dict[str, str]]:
    """The women sent, the streets named, the jobs run; the bearer headers of each role."""
    senders = care_at_three_institutions(http, services)
    twins_without_prenatal_care(http, services)
    with services.db.transaction() as session:
        set_street(session, STREET_A, "南沙街道")
        set_street(session, STREET_B, "黄阁镇")
    # one refused write by hosp-a: a rejection on the data-quality page
    refused = http.post(
        "/fhir/Observation",
        json={"resourceType": "Observation", "status": "final"},
        headers=senders["a"].headers,
    )
    assert 400 <= refused.status_code < 500, refused.text
    add_user(services, "admin1", "admin")
    add_user(services, "mon1", "monitor")
    add_user(services, "rev1", "reviewer")
    admin = bearer(token_for(http, "admin1"))
    for job in ("indicators", "data_quality"):
        run = http.post(f"/api/v1/jobs/{job}/run", headers=admin)
        assert run.json()["status"] == "succeeded", run.text
    return {
        "admin": admin,
        "monitor": bearer(token_for(http, "mon1")),
        "reviewer": bearer(token_for(http, "rev1")),
    }


def _value_text(value: float | None, unit: str) -> str:
    return "" if value is None else f"{value:.2f}{UNIT_LABELS[unit]['zh']}"


def _api_table(http: httpx.Client, headers: dict[str, str], query: str) -> dict[str, tuple]:
    """What the table must show, from the API's answer: (numerator, denominator, value as
    displayed, status)."""
    r = http.get(f"/api/v1/indicators?{query}", headers=headers)
    assert r.status_code == 200, r.text
    out = {}
    for x in r.json()["results"]:
        entered = not (x["source"] == "external" and x["numerator"] is None)
        out[x["id"]] = (
            "" if x["numerator"] is None else str(x["numerator"]),
            "" if x["denominator"] is None else str(x["denominator"]),
            _value_text(x["value"], x["unit"]),
            STATUS_LABELS[x["status"]]["zh"] if entered else "未填报",
        )
    return out


def _svg_texts(chart: Any) -> list[str]:
    """The words ECharts drew in the chart's SVG (axis labels, legend, the target's label)."""
    texts: list[str] = chart.locator("svg text").evaluate_all(
        "nodes => nodes.map(n => n.textContent)"
    )
    return texts


def _page_table(page: Any) -> dict[str, tuple]:
    out = {}
    for row in page.locator("#indicator-table tbody tr[data-id]").all():
        cell = {
            col: row.locator(f'td[data-col="{col}"]').inner_text().strip()
            for col in ("numerator", "denominator", "value", "status")
        }
        out[row.get_attribute("data-id")] = (
            cell["numerator"],
            cell["denominator"],
            cell["value"],
            cell["status"],
        )
    return out


def test_a_monitor_changes_period_and_area_and_the_table_follows(
    tabs: Any, figures: dict[str, dict[str, str]], http: httpx.Client
) -> None:
    tab = tabs()
    tab.sign_in("mon1", then="/indicators")
    page = tab.page
    assert page.locator("h1").inner_text() == "妇幼健康指标监测"
    # the first view: the newest quarter with figures, the district, every institution
    assert page.get_by_label("统计期").input_value() == "2025-Q3"
    assert _page_table(page) == _api_table(http, figures["monitor"], "period=2025-Q3")
    tab.shot("dashboard-2025-Q3")
    # the monitor picks August and a street by its name
    page.get_by_label("统计期").select_option("2025-08")
    page.get_by_label("地区").select_option(label="黄阁镇")
    page.locator("#show-view").click()
    page.wait_for_load_state()
    assert "area=330102002" in page.url
    street = _page_table(page)
    assert street == _api_table(http, figures["monitor"], f"period=2025-08&area={STREET_B}")
    assert "黄阁镇" in page.locator("#view-heading").inner_text()
    # the twins: 2 live births, both in a facility (worked by hand)
    assert street["facility_delivery_rate"][:3] == ("2", "2", "100.00%")
    # back to the district: the August figures worked by hand
    page.get_by_label("地区").select_option("district")
    page.locator("#show-view").click()
    page.wait_for_load_state()
    district = _page_table(page)
    assert district == _api_table(http, figures["monitor"], "period=2025-08")
    assert district["hiv_test_rate"] == ("1", "2", "50.00%", "未达标")
    assert district["caesarean_rate"][:3] == ("1", "3", "33.33%")
    assert district["premarital_examination_rate"][3] == "未填报"
    row = page.locator('#indicator-table tr[data-id="caesarean_rate"]')
    assert "剖宫产率口径：按活产数" in row.locator('td[data-col="choices"]').inner_text()
    # the small-numbers size of this run (1, set above) shapes every figure: said once
    assert "最小分母（小数字界值）：1" in page.locator("#common-choices").inner_text()
    # the definition one click away, at its own anchor
    page.locator("#def-hiv_test_rate").click()
    page.wait_for_load_state()
    assert page.url.endswith("/docs/indicators#hiv_test_rate")
    assert page.locator("#hiv_test_rate").count() == 1
    # the warnings, with the points they were drawn from (August is complete)
    page.go_back()
    page.wait_for_load_state()
    api = http.get("/api/v1/indicators/warnings?period=2025-08", headers=figures["monitor"])
    warned = {w["indicator_id"]: w for w in api.json()["warnings"]}
    assert "hiv_test_rate" in warned
    rows = page.locator("#warning-table tbody tr")
    assert {r.get_attribute("data-id") for r in rows.all()} == set(warned)
    hiv = page.locator('#warning-table tr[data-id="hiv_test_rate"]').inner_text()
    assert "2025-08：1/2 = 50.00" in hiv
    tab.shot("dashboard-2025-08")


def test_a_drill_down_lists_the_records_behind_the_figure_and_the_chart_draws(
    tabs: Any, figures: dict[str, dict[str, str]], http: httpx.Client
) -> None:
    tab = tabs()
    tab.sign_in("mon1")
    tab.goto("/indicators?period=2025-08")
    page = tab.page
    page.locator('#indicator-table tr[data-id="hiv_test_rate"] th a').click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text().startswith("孕产妇艾滋病检测率")
    numerator = int(page.locator("#fig-numerator").inner_text())
    denominator = int(page.locator("#fig-denominator").inner_text())
    assert (numerator, denominator) == (1, 2)
    rows = page.locator("#drill-table tbody tr")
    assert rows.count() == denominator  # one record per woman: the rows are the denominator
    in_numerator = [r.locator("td").nth(7).inner_text() for r in rows.all()]
    assert in_numerator.count("是") == numerator
    names = sorted(r.locator("td").nth(0).inner_text() for r in rows.all())
    assert names == ["李*", "王*"]  # masked, as the API masks
    assert "王芳" not in page.content()
    assert "hosp-c" in page.locator("#drill-table").inner_text() or "Institution hosp-c" in (
        page.locator("#drill-table").inner_text()
    )
    api = http.get(
        "/api/v1/indicators/hiv_test_rate/records?period=2025-08", headers=figures["monitor"]
    ).json()
    assert (api["units_total"], api["numerator_units_total"]) == (denominator, numerator)
    # the women who missed it, with the criterion missed
    page.get_by_label("只看未计入分子的").check()
    page.locator("#drill-apply").click()
    page.wait_for_load_state()
    missed = page.locator("#drill-table tbody tr")
    assert missed.count() == denominator - numerator
    assert missed.first.locator("td").nth(0).inner_text() == "李*"
    assert missed.first.locator(".failed").count() >= 1
    # the chart: ECharts' SVG with the axis, the target line and a legend
    chart = page.locator("#trend-chart")
    page.wait_for_selector("#trend-chart[data-drawn='true'] svg")
    texts = _svg_texts(chart)
    assert "2025-08" in texts  # the x axis: the months to August
    assert any(t.startswith("目标 ≥98%") for t in texts)  # the legend and the line's label
    assert any(t.startswith("数值") for t in texts)
    dashed = chart.locator("svg path[stroke-dasharray]")
    assert dashed.count() >= 1  # the target markLine
    tab.shot("indicator-hiv-test-rate")
    # the records as a file: the same rows
    with page.expect_download() as info:
        page.locator("#dl-records-csv").click()
    lines = list(csv.reader(io.StringIO(Path(info.value.path()).read_text("utf-8-sig"))))
    header = next(n for n, line in enumerate(lines) if line[0].startswith("记录编号"))
    records = lines[header + 1 :]
    assert len(records) == denominator - numerator  # the filter on screen is kept
    assert records[0][3] == "李*"


def _page_rows(page: Any) -> list[tuple[str, ...]]:
    """The table's lines in their order on screen: (id, numerator, denominator, value as
    shown, status as shown)."""
    return [(row_id, *cells) for row_id, cells in _page_table(page).items()]


def test_downloads_hold_exactly_the_table(
    tabs: Any, figures: dict[str, dict[str, str]], http: httpx.Client
) -> None:
    """The 本表 CSV and XLSX hold the page's lines, in its order, external figures not entered
    (未填报) included, with the page's rounding, units and status words."""
    tab = tabs()
    tab.sign_in("mon1")
    tab.goto(f"/indicators?period=2025-08&area={STREET_B}")
    page = tab.page
    on_screen = _page_rows(page)
    # the view has external figures nobody entered: the lines the downloads once left out
    not_entered = [r[0] for r in on_screen if r[4] == "未填报"]
    assert "premarital_examination_rate" in not_entered
    with page.expect_download() as info:
        page.locator("#dl-csv").click()
    text = Path(info.value.path()).read_text("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["地区"] for r in rows} == {STREET_B}
    assert {r["地区名称"] for r in rows} == {"黄阁镇"}
    assert {r["单位"] for r in rows} <= {"%", "‰", "/10万"}
    got = [
        (
            r["指标编号"],
            r["分子"],
            r["分母"],
            f"{r['数值']}{r['单位']}" if r["数值"] else "",
            r["达标情况"],
        )
        for r in rows
    ]
    assert got == on_screen
    with page.expect_download() as info:
        page.locator("#dl-xlsx").click()
    book = openpyxl.load_workbook(io.BytesIO(Path(info.value.path()).read_bytes()))
    # a street's view: its own sheet and the notes, no empty 全区 / 按机构 sheets
    assert book.sheetnames == ["按镇街", "说明"]
    sheet = list(book["按镇街"].iter_rows(values_only=True))
    header = sheet[0]
    names = ("指标编号", "地区", "地区名称", "分子", "分母", "数值", "单位", "达标情况")
    col = {name: header.index(name) for name in names}
    cells = [{n: r[col[n]] for n in names} for r in sheet[1:]]
    assert {(c["地区"], c["地区名称"]) for c in cells} == {(STREET_B, "黄阁镇")}
    got_xlsx = [
        (
            c["指标编号"],
            c["分子"] or "",
            c["分母"] or "",
            f"{c['数值']}{c['单位']}" if c["数值"] else "",
            c["达标情况"],
        )
        for c in cells
    ]
    assert got_xlsx == on_screen
    # every cell text (house rule), the values as rounded on screen
    assert all(isinstance(c["数值"], str) for c in cells if c["数值"] is not None)
    # the MeasureReports and the official report are the same view's
    href = page.locator("#dl-measure").get_attribute("href")
    assert href is not None
    assert f"area={STREET_B}" in href
    assert "period=2025-08" in href
    bundle = http.get(href, headers=figures["monitor"]).json()
    assert bundle["resourceType"] == "Bundle"
    assert page.locator("#dl-official").get_attribute("href") == (
        "/api/v1/indicators/export.xlsx?period=2025-08"
    )


def test_a_monitor_enters_an_external_figure_and_sees_it(
    tabs: Any, figures: dict[str, dict[str, str]], http: httpx.Client
) -> None:
    tab = tabs()
    tab.sign_in("mon1")
    tab.goto("/indicators/premarital_examination_rate?period=2025")
    page = tab.page
    assert "2025-01-01 – 2025-12-31" in page.locator("#view-heading").inner_text()
    form = page.locator("#external-form")
    assert "未填报" in page.locator("#fig-status").inner_text()
    # not a number: the message stands beside the field, the page stays
    form.get_by_label("分子（例数）").fill("abc")
    form.get_by_label("分母").fill("1000")
    form.get_by_label("数据来源").fill("婚检年报")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#err-numerator").inner_text() == "请填写非负整数"
    assert page.locator("#ext-denominator").input_value() == "1000"
    # no source: required, said in Chinese (not pydantic's English)
    form = page.locator("#external-form")
    form.get_by_label("分子（例数）").fill("850")
    form.get_by_label("数据来源").fill("")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#err-source").inner_text() == "此项必填"
    form = page.locator("#external-form")
    form.get_by_label("数据来源").fill("婚检年报")
    # more than the results table holds: too large, beside the field (was a 500)
    form = page.locator("#external-form")
    form.get_by_label("分子（例数）").fill("99999999999")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#err-numerator").inner_text() == "数值过大"
    tab.shot("indicator-external-form-too-large")
    # more than the denominator: the service's rule, beside the field it names
    form = page.locator("#external-form")
    form.get_by_label("分子（例数）").fill("1200")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#err-numerator").inner_text() == "比例指标的分子不能大于分母"
    tab.shot("indicator-external-form-error")
    form = page.locator("#external-form")
    form.get_by_label("分子（例数）").fill("850")
    form.get_by_label("备注").fill("区民政局数据")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#notice").inner_text() == "外部数据已保存"
    # 850 / 1000 × 100 = 85.00 % against a target of ≥ 65 %: met
    assert page.locator("#fig-value").inner_text() == "85.00%"
    assert "达标" in page.locator("#fig-status").inner_text()
    answer = http.get("/api/v1/indicators?period=2025", headers=figures["monitor"]).json()
    api = {r["id"]: r for r in answer["results"]}
    premarital = api["premarital_examination_rate"]
    assert (premarital["numerator"], premarital["denominator"]) == (850, 1000), premarital
    tab.shot("indicator-external-saved")
    tab.goto("/indicators?period=2025")
    row = _page_table(page)["premarital_examination_rate"]
    assert row == ("850", "1000", "85.00%", "达标")


def test_the_pages_read_in_english_too(
    figures: dict[str, dict[str, str]], http: httpx.Client
) -> None:
    for path in (
        "/indicators?period=2025-08&lang=en",
        "/indicators/hiv_test_rate?period=2025-08&lang=en",
        "/indicators/premarital_examination_rate?period=2025&lang=en",
        "/data-quality?lang=en",
        "/?lang=en",
    ):
        r = http.get(path, headers=figures["monitor"])
        assert r.status_code == 200, (path, r.text[:300])
        assert "妇幼健康指标监测" not in r.text
    english = http.get("/indicators?period=2025-08&lang=en", headers=figures["monitor"]).text
    assert "MCH indicator dashboard" in english
    assert "HIV testing rate, pregnancy and delivery" in english
    assert "not met" in english
    # the 本表 downloads follow the page's language: English units and statuses
    link = (
        'href="/api/v1/indicators/view.csv?period=2025-08&amp;area=district'
        '&amp;institution=all&amp;lang=en"'
    )
    assert link in english
    rows = list(
        csv.DictReader(
            io.StringIO(
                http.get(
                    "/api/v1/indicators/view.csv?period=2025&lang=en", headers=figures["monitor"]
                ).content.decode("utf-8-sig")
            )
        )
    )
    by_id = {r["指标编号"]: r for r in rows}
    assert by_id["maternal_mortality_ratio"]["单位"] == "per 100,000"
    assert by_id["premarital_examination_rate"]["达标情况"] == "Not entered"
    chinese = http.get("/api/v1/indicators/view.csv?period=2025", headers=figures["monitor"])
    by_id = {r["指标编号"]: r for r in csv.DictReader(io.StringIO(chinese.text.lstrip("\ufeff")))}
    assert by_id["maternal_mortality_ratio"]["单位"] == "/10万"
    assert by_id["premarital_examination_rate"]["达标情况"] == "未填报"


def test_reviewers_and_senders_are_refused(
    tabs: Any, figures: dict[str, dict[str, str]], http: httpx.Client, services: Services
) -> None:
    tab = tabs()
    tab.sign_in("rev1")
    nav = tab.page.locator("#main-nav").inner_text()
    assert "指标监测" not in nav
    assert "数据质量" not in nav
    for path in ("/indicators", "/indicators/hiv_test_rate?period=2025-08", "/data-quality"):
        response = tab.goto(path)
        assert response.status == 403, path
        assert "50.00" not in tab.page.content()
    reviewer = figures["reviewer"]
    post = http.post(
        "/indicators/premarital_examination_rate/external",
        data={"period": "2025", "numerator": "1", "denominator": "2", "source": "x"},
        headers=reviewer,
        follow_redirects=False,
    )
    assert post.status_code == 403
    # a monitor's own session, but a form without the session's CSRF token (another site's
    # forged form): refused, nothing stored
    monitor = tabs()
    monitor.sign_in("mon1")
    forged = monitor.page.request.post(
        monitor.base_url + "/indicators/premarital_examination_rate/external",
        form={"period": "2025", "numerator": "1", "denominator": "2", "source": "x"},
        max_redirects=0,
    )
    assert forged.status == 303
    assert forged.headers["location"].startswith("/login")
    # a sender's key opens no page and no figure
    sender = make_sender(services, "hosp-s")
    key = {"Authorization": sender.headers["Authorization"]}
    page = http.get("/indicators?period=2025-08", headers=key, follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login")
    assert http.get("/api/v1/indicators?period=2025-08", headers=key).status_code == 401
    # and nothing was entered
    api = http.get("/api/v1/indicators?period=2025", headers=figures["monitor"]).json()
    premarital = next(r for r in api["results"] if r["id"] == "premarital_examination_rate")
    assert premarital["numerator"] is None


def test_data_quality_per_institution_with_its_trend(
    tabs: Any, figures: dict[str, dict[str, str]], http: httpx.Client
) -> None:
    tab = tabs()
    tab.sign_in("mon1", then="/data-quality")
    page = tab.page
    api = {
        r["institution"]: r
        for r in http.get("/api/v1/data-quality", headers=figures["monitor"]).json()
    }
    rows = page.locator("#quality-table tbody tr")
    assert {r.get_attribute("data-id") for r in rows.all()} == set(api)
    for inst, figures_of in api.items():
        row = page.locator(f'#quality-table tr[data-id="{inst}"]')
        for metric in ("resources", "rejected", "unmapped_codes", "plausibility_flags"):
            # the figure (the rule flags' cell adds their two parts, each a link to its records)
            cell = row.locator(f'td[data-metric="{metric}"] .dq-figure').inner_text()
            assert cell == str(figures_of[metric]), (inst, metric)
    # the one refused write of hosp-a (sent above), on the page and in its trend
    assert api["hosp-a"]["rejected"] == 1
    page.locator('#quality-table tr[data-id="hosp-a"] th a').click()
    page.wait_for_load_state()
    assert "hosp-a" in page.url
    trend = http.get(
        "/api/v1/data-quality/trend?institution=hosp-a", headers=figures["monitor"]
    ).json()["months"]
    assert len(trend) == 12
    assert sum(m["rejections"] for m in trend) == 1
    table = page.locator("#quality-trend-table tbody tr")
    assert table.count() == 12
    this_month = table.last.locator("td").all_text_contents()
    assert this_month[0] == trend[-1]["month"]
    assert this_month[1] == "1"
    page.wait_for_selector("#quality-chart[data-drawn='true'] svg")
    texts = _svg_texts(page.locator("#quality-chart"))
    assert "拒收" in texts  # the legend
    assert trend[-1]["month"] in texts  # the x axis
    tab.shot("data-quality")


def test_a_data_quality_count_opens_its_records(
    tabs: Any, figures: dict[str, dict[str, str]], http: httpx.Client
) -> None:
    """Click hosp-a's rejected count: the refused write sent above, in a table with headers;
    the same row the API lists; back to the page; the trend's count opens the month's."""
    tab = tabs()
    tab.sign_in("mon1", then="/data-quality")
    page = tab.page
    page.locator('#quality-table tr[data-id="hosp-a"] td[data-metric="rejected"] a').click()
    page.wait_for_load_state()
    assert "/data-quality/records" in page.url
    assert "kind=rejections" in page.url
    assert page.locator("#records-total").inner_text() == "1"
    headers = page.locator("#records-table thead th").all_text_contents()
    assert headers == ["时间", "操作", "资源类型", "资源ID", "状态码", "错误"]
    rows = page.locator("#records-table tbody tr")
    assert rows.count() == 1
    api = http.get(
        "/api/v1/data-quality/records?institution=hosp-a&kind=rejections",
        headers=figures["monitor"],
    ).json()["items"]
    assert len(api) == 1
    cells = {
        c.get_attribute("data-col"): c.inner_text().strip() for c in rows.first.locator("td").all()
    }
    assert cells["status"] == str(api[0]["status"])
    assert cells["action"] == api[0]["action"] == "fhir.create"
    assert cells["error"] == api[0]["error"]
    assert tab.outside_requests() == []
    tab.shot("data-quality-records")
    page.locator("#back-link").click()
    page.wait_for_load_state()
    assert page.url.split("#")[0].endswith("/data-quality?institution=hosp-a")
    page.locator("#trend details summary").click()
    page.locator('#quality-trend-table td[data-kind="rejections"] a').click()
    page.wait_for_load_state()
    assert "period=" in page.url
    assert page.locator("#records-table tbody tr").count() == 1


def test_the_monitor_home_shows_the_period_off_target_and_the_warnings(
    tabs: Any, figures: dict[str, dict[str, str]], http: httpx.Client
) -> None:
    tab = tabs()
    tab.sign_in("mon1")
    page = tab.page
    panel = page.locator("#monitor-panel")
    assert "2025-Q3" in panel.locator("h2").inner_text()
    api = http.get("/api/v1/indicators?period=2025-Q3", headers=figures["monitor"]).json()
    off = {r["id"] for r in api["results"] if r["status"] == "not_met"}
    assert "hiv_test_rate" in off
    shown = {r.get_attribute("data-id") for r in panel.locator("#home-off-target tbody tr").all()}
    assert shown == off
    warned = http.get("/api/v1/indicators/warnings?period=2025-Q3", headers=figures["monitor"])
    ids = {w["indicator_id"] for w in warned.json()["warnings"]}
    assert ids
    assert {
        r.get_attribute("data-id") for r in panel.locator("#warning-table tbody tr").all()
    } == ids
    assert "页面将在后续版本提供" not in page.content()
    tab.shot("home-monitor")
    page.locator("#open-dashboard").click()
    page.wait_for_load_state()
    assert "/indicators?period=2025-Q3" in page.url
