"""Reports the monitoring group can send (issue 17), on a simulated district loaded through the
service, on both databases: every indicator's drill-down adds up to its figure, the congenital
syphilis drill-down lists its case, unknown filters are refused with the valid values, an
external figure entered appears everywhere, the official workbook and the MeasureReports."""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from fhir.resources.R4B.measure import Measure
from fhir.resources.R4B.measurereport import MeasureReport

from mch_service.app import Services, build_services
from mch_service.database import Database
from mch_service.indicators.catalogue import CALCULATED, CATALOGUE
from mch_service.simulator import SimulationParams, simulate
from mch_service.simulator.load import load, register_institutions, site_code_tables
from tests.auth.test_accounts import add_user, bearer, token_for

YEAR = "2025"


@pytest.fixture
def district(services: Services, tmp_path: Path, live_server: Any) -> Iterator[httpx.Client]:
    """A simulated district (Nansha's streets, 2024-2025) with syphilis, congenital syphilis
    and maternal deaths common, computed, behind a live server; a monitor and an admin."""
    out = tmp_path / "sim"
    params = SimulationParams(
        pregnancies=70,
        seed=17,
        start=date(2024, 1, 1),
        end=date(2025, 12, 31),
        maternal_death_share=0.2,
        syphilis_prevalence=0.3,
        syphilis_treatment_share=0.5,
        congenital_syphilis_untreated_share=0.9,
        hiv_prevalence=0.1,
        hbsag_prevalence=0.2,
        severe_maternal_morbidity_share=0.2,
    )
    simulate(dataclasses.replace(params, as_of=(params.end,)), out)
    tables = site_code_tables(out, tmp_path / "tables")
    settings = services.settings.model_copy(
        update={"code_tables_dir": str(tables), "domain_assembly": "queued"}
    )
    svc = build_services(settings, Database(settings.database_url))
    try:
        keys = register_institutions(svc, out)
        load(svc, out)
        svc.domain.process_queue(svc.db)
        svc.indicators.refresh(full=True)
        live_server.point_at(svc)
        with httpx.Client(base_url=live_server.url, timeout=60) as client:
            add_user(svc, "mon1", "monitor")
            client.headers.update(bearer(token_for(client, "mon1")))
            client.institution_key = next(iter(keys.values()))  # type: ignore[attr-defined]
            yield client
    finally:
        svc.db.dispose()


def _results(http: httpx.Client, query: str) -> dict[str, dict[str, Any]]:
    r = http.get(f"/api/v1/indicators?{query}")
    assert r.status_code == 200, r.text
    return {x["id"]: x for x in r.json()["results"]}


def test_every_drilldown_adds_up_and_lists_its_events(district: httpx.Client) -> None:
    http = district
    figures = _results(http, f"period={YEAR}")
    events = 0
    for ind in CALCULATED:
        r = http.get(f"/api/v1/indicators/{ind.id}/records?period={YEAR}")
        assert r.status_code == 200, (ind.id, r.text)
        body = r.json()
        rows = body["rows"]
        fig = figures[ind.id]
        assert sum(x["units"] for x in rows) == fig["denominator"], ind.id
        assert sum(x["numerator_units"] for x in rows) == fig["numerator"], ind.id
        assert (body["units_total"], body["numerator_units_total"]) == (
            fig["denominator"],
            fig["numerator"],
        )
        if fig["numerator"]:
            assert any(x["in_numerator"] for x in rows), ind.id
        for x in rows:
            assert set(x["criteria"]) <= set(body["criteria_labels"]), ind.id
        if ind.id in ("congenital_syphilis_rate", "maternal_mortality_ratio"):
            kinds = [x for x in rows if x["kind"] != "delivery"]
            assert len(kinds) == fig["numerator"]
            events += len(kinds)
    # the situations were there: cases and deaths in the year
    assert figures["congenital_syphilis_rate"]["numerator"] > 0
    assert figures["maternal_mortality_ratio"]["numerator"] > 0
    assert events > 1


def _drill(http: httpx.Client, indicator: str, query: str = "") -> dict[str, Any]:
    r = http.get(f"/api/v1/indicators/{indicator}/records?period={YEAR}{query}")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _sheet(book: Any, prefix: str) -> list[tuple[Any, ...]]:
    [name] = [n for n in book.sheetnames if n.startswith(prefix)]
    return list(book[name].iter_rows(values_only=True))


def test_reports_the_monitoring_group_can_send(district: httpx.Client) -> None:
    http = district

    # -- drill-down with reasons: the congenital syphilis case, filters, exports -----------
    cs = _drill(http, "congenital_syphilis_rate")
    cases = [x for x in cs["rows"] if x["kind"] == "congenital_syphilis"]
    assert cases
    assert all(x["in_numerator"] and x["units"] == 0 for x in cases)
    assert all(x["date_kind"] == "diagnosis" and x["institution_name"] for x in cases)
    # the mother's pregnancy, to open with /api/v1/pregnancies/{id}
    assert any(x["pregnancy_id"] and x["name"] for x in cases)
    smr = _drill(http, "systematic_management_rate")
    missed = _drill(http, "systematic_management_rate", "&missed=true")
    assert missed["rows_total"] == len(smr["rows"])
    assert 0 < len(missed["rows"]) < len(smr["rows"])
    assert all(x["numerator_units"] == 0 < x["units"] for x in missed["rows"])
    # the missed rows are those with a criterion not met, each one named
    assert all(not all(c["met"] for c in x["criteria"].values()) for x in missed["rows"])
    assert set(smr["criteria_labels"]) == {
        "early_registration",
        "checks_5plus",
        "facility_delivery",
        "postpartum_visit_28d",
    }
    name = next(k for k, c in missed["rows"][0]["criteria"].items() if not c["met"])
    few = _drill(http, "systematic_management_rate", f"&criterion={name}")
    assert few["rows"]
    assert all(not x["criteria"][name]["met"] for x in few["rows"])
    assert len(few["rows"]) == sum(not x["criteria"][name]["met"] for x in smr["rows"])
    checks = [x["criteria"]["checks_5plus"]["value"] for x in smr["rows"]]
    assert all(isinstance(v, int) for v in checks)  # the value behind the criterion
    row = smr["rows"][0]
    assert row["pregnancy_id"]
    assert "*" in (row["resident_id"] or "*")
    assert row["street_name"] is None or row["street_name"].endswith(("街道", "镇"))
    bad = http.get(
        f"/api/v1/indicators/systematic_management_rate/records?period={YEAR}&criterion=x"
    )
    assert bad.status_code == 400
    assert "checks_5plus" in bad.text
    exported = http.get(
        f"/api/v1/indicators/systematic_management_rate/records.csv?period={YEAR}&missed=true"
    )
    assert exported.status_code == 200
    assert (
        f"systematic_management_rate-records_{YEAR}.csv" in exported.headers["content-disposition"]
    )
    lines = exported.content.decode("utf-8-sig").splitlines()
    assert "产前检查≥5次" in lines[1]
    assert len(lines) == 2 + len(missed["rows"])
    book = openpyxl.load_workbook(
        io.BytesIO(
            http.get(
                f"/api/v1/indicators/congenital_syphilis_rate/records.xlsx?period={YEAR}"
            ).content
        )
    )
    cells = [c for r in book["明细"].iter_rows(values_only=True) for c in r if c]
    assert "先天梅毒" in cells

    # -- unknown filters and periods: 4xx with the valid values ----------------------------
    for query, expected in (
        ("period=2025&area=foo", "南沙街道"),
        ("period=2025&institution=foo", "all"),
        ("period=2027", "outside the data"),
        ("period=2019", "outside the data"),
    ):
        for path in (
            "/api/v1/indicators",
            "/api/v1/indicators/warnings",
            "/api/v1/indicators/hiv_test_rate/records",
            "/api/v1/indicators/measure-reports",
        ):
            r = http.get(f"{path}?{query}")
            assert r.status_code == 400, (path, query, r.status_code)
            assert expected in r.text, (path, query)
    assert http.get("/api/v1/indicators/export.csv?period=2027").status_code == 400
    assert (
        http.get("/api/v1/indicators/hiv_test_rate/series?from=2025-01&to=2025-03&area=foo")
    ).status_code == 400

    # -- an external figure: results, status, exports, MeasureReports -----------------------
    put = http.put(
        f"/api/v1/indicators/premarital_examination_rate/external?period={YEAR}",
        json={"numerator": 850, "denominator": 1000, "source": "婚检年报", "note": "区民政局"},
    )
    assert put.status_code == 200, put.text
    assert put.json()["entered_at"].endswith("+00:00")
    # a count beyond the results table's integers is refused, naming it; the figure stays
    huge = http.put(
        f"/api/v1/indicators/premarital_examination_rate/external?period={YEAR}",
        json={"numerator": 2**63, "denominator": 2**31, "source": "婚检年报"},
    )
    assert huge.status_code in (400, 422), huge.text
    where = {x for i in huge.json()["error"]["issues"] for x in [i["expression"]]}
    assert where == {"body.numerator", "body.denominator"}
    results = _results(http, f"period={YEAR}")
    pre = results["premarital_examination_rate"]
    assert (pre["numerator"], pre["denominator"], pre["value"]) == (850, 1000, 85.0)
    assert pre["status"] in ("met", "not_met")
    csv_text = http.get(f"/api/v1/indicators/export.csv?period={YEAR}").content.decode("utf-8-sig")
    assert "premarital_examination_rate" in csv_text
    assert "85.00" in csv_text

    # -- the official workbook -------------------------------------------------------------
    xlsx = http.get(f"/api/v1/indicators/export.xlsx?period={YEAR}")
    assert xlsx.status_code == 200
    assert f"indicators_{YEAR}.xlsx" in xlsx.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    summary = _sheet(book, "汇总")
    assert summary[0][0] == "南沙区妇女发展规划 妇幼健康指标监测报表"
    head = {r[0]: r[1] for r in summary[1:8]}
    assert head["统计期"].startswith(f"{YEAR}（{YEAR}-01-01 至 {YEAR}-12-31）")
    assert head["填报单位"] == "未设置（MCH_REPORT_ISSUER）"
    # local time in the district's zone (Asia/Shanghai by default), to the minute
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", head["数据截止时间"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", head["计算时间"])
    columns = summary[9]
    assert columns[:4] == ("序号", "指标分组", "指标名称", "指标编号")
    body = [r for r in summary[10:] if r[3] in {i.id for i in CATALOGUE}]
    # every catalogue indicator once, in the plan's (catalogue) order, with Chinese units
    assert [r[3] for r in body] == [i.id for i in CATALOGUE]
    by_id = {r[3]: dict(zip(columns, r, strict=False)) for r in body}
    assert by_id["premarital_examination_rate"]["数值"] == "85.00"
    assert by_id["premarital_examination_rate"]["来源"] == "监测组填报"
    assert by_id["maternal_mortality_ratio"]["单位"] == "/10万"
    assert by_id["cervical_cancer_screening_rate"]["达标情况"] == "未填报"
    for ind in CALCULATED:
        assert by_id[ind.id]["分子"] == str(results[ind.id]["numerator"])
        assert by_id[ind.id]["分母"] == str(results[ind.id]["denominator"])
    assert any("小数字" in str(r[0]) for r in summary)  # footnotes

    streets = _sheet(book, "镇街×指标")
    header_row = next(n for n, r in enumerate(streets) if r[0] == "代码")
    names_row = streets[header_row]
    ids_row = streets[header_row + 2]
    lines_ = {r[0] or "total": r for r in streets[header_row + 3 :] if r[1]}
    assert "南沙街道" in {r[1] for r in lines_.values()}
    assert "street_unknown" in lines_
    assert "non_resident" in lines_
    listed = [k for k in lines_ if k.startswith("440115") or k == "street_unknown"]
    assert len(listed) >= 5
    checked = 0
    for col, ind_id in enumerate(ids_row):
        if ind_id not in {i.id for i in CALCULATED}:
            continue
        for k in (0, 1):  # numerator, denominator: the streets add up to the district
            total = int(lines_["total"][col + k])
            assert sum(int(lines_[s][col + k] or 0) for s in listed) == total, ind_id
            expected = results[ind_id]["numerator" if k == 0 else "denominator"]
            assert total == expected, ind_id
        checked += 1
    assert checked == len(CALCULATED)
    assert names_row[2].startswith(CATALOGUE[0].name_zh)

    insts = _sheet(book, "机构×指标")
    inst_lines = [r for r in insts if r[0] and r[1] and r[0] not in ("代码", "指标编号", "注")]
    assert any("医院" in str(r[1]) or "中心" in str(r[1]) for r in inst_lines)

    definitions = [c for r in _sheet(book, "指标定义") for c in r if c]
    assert CATALOGUE[0].numerator_zh in definitions
    assert "最小分母（小数字界值）" in definitions
    assert "统计年度（上年10月1日至当年9月30日）" in definitions
    assert not any(str(c).startswith("MCH_") for c in definitions)

    # -- MeasureReports: date, subject, reporter, settings, resolvable Measures ---------------
    bundle = http.get(f"/api/v1/indicators/measure-reports?period={YEAR}").json()
    reports = {
        e["resource"]["group"][0]["code"]["coding"][0]["code"]: e["resource"]
        for e in bundle["entry"]
    }
    assert "premarital_examination_rate" in reports
    mr = reports["systematic_management_rate"]
    MeasureReport.model_validate(mr)
    assert mr["date"].endswith("+00:00")
    assert mr["subject"]["identifier"]["value"] == "440115"
    assert mr["reporter"]["display"]
    settings_ext = next(e for e in mr["extension"] if e["url"].endswith("indicator-settings"))
    assert {"url": "small_numbers_below", "valueInteger": 20} in settings_ext["extension"]
    assert mr["status"] == "complete"  # 2025 ended long before the machine's today
    measure_url, _, version = mr["measure"].partition("|")
    path = "/fhir/" + measure_url.split("/fhir/", 1)[1]
    staff_read = http.get(path)
    assert staff_read.status_code == 200, staff_read.text
    measure = Measure.model_validate(staff_read.json())
    assert measure.url == measure_url
    assert measure.version == version
    key = http.institution_key  # type: ignore[attr-defined]
    assert http.get(path, headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert http.get(path, headers={"Authorization": ""}).status_code == 401
    street = http.get(f"/api/v1/indicators/measure-reports?period={YEAR}&area=440115001").json()
    subject = street["entry"][0]["resource"]["subject"]
    assert (subject["identifier"]["value"], subject["display"]) == ("440115001", "南沙街道")

    # -- honest status, warnings, time zones -----------------------------------------------
    small = _results(http, f"period={YEAR}&area=440115001")
    flagged = [x for x in small.values() if x["small_numbers"]]
    assert flagged
    assert all(x["status"] not in ("met", "not_met") for x in flagged)
    assert any(x["status"] == "not_assessable" for x in flagged)
    named = http.get(f"/api/v1/indicators?period={YEAR}&area=440115001").json()
    assert (named["area_name"], named["institution_name"]) == ("南沙街道", "全部机构")
    whole = http.get(f"/api/v1/indicators?period={YEAR}").json()
    assert whole["area_name"] == "南沙区"
    assert whole["computed_at"].endswith("+00:00")
    warned = http.get(f"/api/v1/indicators/warnings?period={YEAR}-Q4").json()
    assert warned["complete"] is True
    for w in warned["warnings"]:
        assert w["method"] in ("current_value", "least_squares_trend")
        assert w["points_used"]
        assert all(p["denominator"] >= 20 for p in w["points_used"])
