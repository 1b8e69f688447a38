"""The 本表 downloads (view.csv, view.xlsx) built from a view's results as the page gets them,
and the official report's head block (local times, the settings behind 填报单位 and 联系人).

Worked by hand: a street's quarter with 2 of 33 women tested late (2 / 33 × 100 = 6.0606…%,
shown 6.06%), one maternal death in 1,000 live births (1 / 1000 × 100,000 = 100.00/10万) and
the premarital examination rate (external) not entered: empty counts, 未填报."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import openpyxl
import pytest

from mch_service.config import Settings
from mch_service.indicators.catalogue import BY_ID
from mch_service.indicators.report import ReportMeta, write_report_xlsx
from mch_service.indicators.schemas import (
    IndicatorResult,
    IndicatorSettingsRead,
    PeriodResults,
)
from mch_service.indicators.settings import IndicatorSettings
from mch_service.indicators.view_exports import iter_view_csv, view_lines, write_view_xlsx

STREET = "440115001"


def _result(indicator_id: str, numerator: int | None, denominator: int | None) -> IndicatorResult:
    ind = BY_ID[indicator_id]
    value = None
    if numerator is not None and denominator:
        value = numerator * ind.multiplier / denominator
    return IndicatorResult(
        id=ind.id,
        name_zh=ind.name_zh,
        name_en=ind.name_en,
        numerator=numerator,
        denominator=denominator,
        value=value,
        unit=ind.unit,
        target=ind.target,
        direction=ind.direction,
        status="no_data" if numerator is None else "no_target",
        small_numbers=False,
        source=ind.source,
    )


def _results() -> PeriodResults:
    rates = [
        r.id
        for r in BY_ID.values()
        if r.unit == "%" and r.source == "calculated" and r.multiplier == 100
    ]
    return PeriodResults(
        period="2025-Q4",
        period_kind="quarter",
        period_start="2025-10-01",
        period_end="2025-12-31",
        provisional=False,
        final_on="2026-02-25",
        area=STREET,
        area_name="南沙街道",
        institution="all",
        institution_name="全部机构",
        catalogue_version="test",
        computed_at=None,
        settings=IndicatorSettingsRead.model_validate(IndicatorSettings().to_dict()),
        results=[
            _result("premarital_examination_rate", None, None),
            _result(rates[0], 2, 33),
            _result("maternal_mortality_ratio", 1, 1000),
        ],
    )


def test_the_view_csv_holds_every_line_in_order_with_the_pages_words() -> None:
    results = _results()
    lines = view_lines(results, [])
    text = "".join(iter_view_csv(results, lines, "zh")).lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    got = [(r["指标编号"], r["分子"], r["分母"], r["数值"], r["单位"], r["达标情况"]) for r in rows]
    rate = results.results[1].id
    assert got == [
        ("premarital_examination_rate", "", "", "", "%", "未填报"),
        (rate, "2", "33", "6.06", "%", "无目标值"),
        ("maternal_mortality_ratio", "1", "1000", "100.00", "/10万", "无目标值"),
    ]
    assert {r["地区名称"] for r in rows} == {"南沙街道"}
    english = "".join(iter_view_csv(results, lines, "en")).lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(english)))
    assert [r["单位"] for r in rows] == ["%", "%", "per 100,000"]
    assert rows[0]["达标情况"] == "Not entered"


def test_the_view_workbook_is_the_views_sheet_rounded_as_text_with_the_area_name() -> None:
    results = _results()
    buffer = io.BytesIO()
    assert write_view_xlsx(results, view_lines(results, []), buffer, "zh") == 3
    book = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))
    assert book.sheetnames == ["按镇街", "说明"]
    sheet = list(book["按镇街"].iter_rows(values_only=True))
    header = sheet[0]
    rows = [dict(zip(header, r, strict=True)) for r in sheet[1:]]
    assert [(r["地区"], r["地区名称"]) for r in rows] == [(STREET, "南沙街道")] * 3
    assert [r["数值"] for r in rows] == [None, "6.06", "100.00"]
    assert [r["单位"] for r in rows] == ["%", "%", "/10万"]
    assert rows[0]["达标情况"] == "未填报"
    assert (rows[0]["分子"], rows[0]["分母"]) == (None, None)
    cells = book["按镇街"]
    assert all(c.data_type == "s" for row in cells.iter_rows(min_row=2) for c in row if c.value)


def test_a_districts_view_is_the_全区_sheet() -> None:
    results = _results().model_copy(update={"area": "district", "area_name": "南沙区"})
    buffer = io.BytesIO()
    write_view_xlsx(results, view_lines(results, []), buffer, "zh")
    assert openpyxl.load_workbook(io.BytesIO(buffer.getvalue())).sheetnames == ["全区", "说明"]


class _Names:
    def street_name(self, code: str | None) -> str | None:
        return None

    def institution_name(self, institution_id: str | None) -> str | None:
        return None

    def institution_kind(self, institution_id: str | None) -> str | None:
        return None


def test_the_report_head_shows_local_minutes_and_the_settings_to_set() -> None:
    computed = datetime(2026, 12, 3, 12, 15, 29, 323948, tzinfo=UTC)
    meta = ReportMeta(
        district_name="南沙区",
        issuer="",
        contact="",
        periods=["2025-Q4"],
        data_cutoff=datetime(2026, 12, 3, 16, 5, tzinfo=UTC),  # 00:05 the next day locally
        computed_at=computed,
        produced_at=computed,
        timezone="Asia/Shanghai",
    )
    buffer = io.BytesIO()
    write_report_xlsx([], buffer, meta, _Names())
    summary = list(openpyxl.load_workbook(buffer)["汇总"].iter_rows(values_only=True))
    head = {r[0]: r[1] for r in summary[1:8]}
    assert head["计算时间"] == "2026-12-03 20:15"
    assert head["制表时间"] == "2026-12-03 20:15"
    assert head["数据截止时间"] == "2026-12-04 00:05"
    assert head["填报单位"] == "未设置（MCH_REPORT_ISSUER）"
    assert head["联系人及电话"] == "未设置（MCH_REPORT_CONTACT）"


def test_the_settings_the_report_names_are_the_ones_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCH_REPORT_ISSUER", "南沙区妇幼保健院")
    monkeypatch.setenv("MCH_REPORT_CONTACT", "张三 020-12345678")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.report_issuer == "南沙区妇幼保健院"
    assert settings.report_contact == "张三 020-12345678"
