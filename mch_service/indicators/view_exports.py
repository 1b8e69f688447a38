"""The 本表 downloads (GET /api/v1/indicators/view.csv and view.xlsx): exactly the dashboard's
table for one period, area and institution.

The lines are the ones ``GET /api/v1/indicators`` answers (``PeriodResults``: every catalogue
indicator, in the catalogue's order, which is the order of the page's groups), so an external
indicator the monitoring group has not entered yet is a line too, with empty counts and the
page's 未填报. Values are rounded as the page shows them (``display.format_number``; the CSV
keeps the unrounded value in a column of its own), units and statuses in the page's language
(``lang``: zh by default). Every XLSX cell is text (safe_cells).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import xlsxwriter

from mch_service.indicators.catalogue import BY_ID
from mch_service.indicators.display import (
    NOT_ENTERED_LABELS,
    STATUS_LABELS,
    UNIT_LABELS,
    Language,
    format_number,
    format_target,
)
from mch_service.indicators.exports import BOM, CSV_HEADERS, settings_text_zh
from mch_service.indicators.fact_tables import ALL_INSTITUTIONS, DISTRICT
from mch_service.indicators.schemas import IndicatorResult, PeriodResults
from mch_service.indicators.values import IndicatorValue
from mch_service.safe_cells import XLSX_OPTIONS, csv_row, csv_writer, xlsx_text


@dataclass(frozen=True)
class ViewLine:
    """One line of the page's table: the figure as ``GET /indicators`` answers it, and the
    stored result behind it (None for an indicator with nothing stored)."""

    result: IndicatorResult
    stored: IndicatorValue | None

    @property
    def not_entered(self) -> bool:
        return self.result.source == "external" and self.result.numerator is None


def in_group_order(results: Iterable[IndicatorResult]) -> list[IndicatorResult]:
    """The order of the page's table: the catalogue's groups in the order they first occur in
    the plan, the lines of each in the plan's order (web.monitor_pages groups them so)."""
    groups: dict[str, list[IndicatorResult]] = {}
    for r in results:
        groups.setdefault(BY_ID[r.id].group, []).append(r)
    return [r for lines in groups.values() for r in lines]


def view_lines(results: PeriodResults, stored: Iterable[IndicatorValue]) -> list[ViewLine]:
    """The page's lines, in its order, each with its stored result (for the settings and
    catalogue version the figure was computed with)."""
    by_id = {v.id: v for v in stored}
    return [ViewLine(r, by_id.get(r.id)) for r in in_group_order(results.results)]


def unit_label(unit: str, lang: Language) -> str:
    """The unit as the page writes it after a number, without a leading space."""
    return UNIT_LABELS[unit][lang].strip()


def status_label(line: ViewLine, lang: Language) -> str:
    """The status as the page shows it (未填报 for an external figure not entered)."""
    if line.not_entered:
        return NOT_ENTERED_LABELS[lang]
    return STATUS_LABELS[line.result.status][lang]


def _count(n: int | None) -> str:
    return "" if n is None else str(n)


def _value(value: float | None) -> str:
    return "" if value is None else format_number(value)


def _yes(flag: bool) -> str:
    return "是" if flag else ""


def iter_view_csv(results: PeriodResults, lines: list[ViewLine], lang: Language) -> Iterator[str]:
    """CSV text in the columns of export.csv (Chinese headers), one line per page line."""
    buffer = io.StringIO()
    writer = csv_writer(buffer)

    def take() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(csv_row(CSV_HEADERS))
    yield BOM + take()
    for line in lines:
        r = line.result
        settings = line.stored.settings if line.stored else results.settings.model_dump()
        version = line.stored.catalogue_version if line.stored else results.catalogue_version
        writer.writerow(
            csv_row(
                (
                    r.id,
                    r.name_zh,
                    r.name_en,
                    results.period,
                    results.period_start,
                    results.period_end,
                    results.area,
                    results.area_name,
                    results.institution,
                    results.institution_name,
                    "" if r.numerator is None else r.numerator,
                    "" if r.denominator is None else r.denominator,
                    _value(r.value),
                    unit_label(r.unit, lang),
                    format_target(r.direction, r.target, r.unit, lang),
                    status_label(line, lang),
                    _yes(r.small_numbers),
                    _yes(results.provisional),
                    "" if r.value is None else r.value,
                    version,
                    settings_text_zh(settings),
                )
            )
        )
        yield take()


# --- XLSX -------------------------------------------------------------------------------------


def sheet_title(results: PeriodResults) -> str:
    """The one data sheet's name: the view chosen on the page (全区, 按镇街, 按机构, 镇街×机构;
    the area lines 非本区居民 and 住址不详 are 按地区)."""
    street = results.area != DISTRICT
    every = results.institution == ALL_INSTITUTIONS
    if not street:
        return "全区" if every else "按机构"
    if results.area in ("non_resident", "address_unknown"):
        return "按地区" if every else "按地区×机构"
    return "按镇街" if every else "镇街×机构"


VIEW_XLSX_COLUMNS: tuple[tuple[str, int], ...] = (
    ("指标编号", 30),
    ("指标名称", 26),
    ("Indicator", 36),
    ("统计期", 10),
    ("开始日期", 12),
    ("结束日期", 12),
    ("地区", 12),
    ("地区名称", 14),
    ("机构", 14),
    ("机构名称", 18),
    ("分子", 10),
    ("分母", 10),
    ("数值", 10),
    ("单位", 10),
    ("目标", 10),
    ("达标情况", 14),
    ("小数字", 8),
    ("暂定", 8),
)


def write_view_xlsx(
    results: PeriodResults, lines: list[ViewLine], target: IO[bytes], lang: Language
) -> int:
    """A workbook of one data sheet, the page's view (``sheet_title``), and the notes sheet
    (说明) saying which view it holds; every cell text. Returns the number of lines."""
    workbook = xlsxwriter.Workbook(target, {"in_memory": True, **XLSX_OPTIONS})
    header = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    ws = workbook.add_worksheet(sheet_title(results))
    for col, (title, width) in enumerate(VIEW_XLSX_COLUMNS):
        ws.set_column(col, col, width)
        ws.write_string(0, col, title, header)
    ws.freeze_panes(1, 0)
    for row, line in enumerate(lines, start=1):
        r = line.result
        cells: list[Any] = [
            r.id,
            r.name_zh,
            r.name_en,
            results.period,
            results.period_start,
            results.period_end,
            results.area,
            results.area_name,
            results.institution,
            results.institution_name,
            _count(r.numerator),
            _count(r.denominator),
            _value(r.value),
            unit_label(r.unit, lang),
            format_target(r.direction, r.target, r.unit, lang),
            status_label(line, lang),
            _yes(r.small_numbers),
            _yes(results.provisional),
        ]
        for col, cell in enumerate(cells):
            text = xlsx_text(cell)
            if text:
                ws.write_string(row, col, text)
    notes = workbook.add_worksheet("说明")
    notes.set_column(0, 0, 30)
    notes.set_column(1, 1, 80)
    notes.write_string(0, 0, "说明 Notes", header)
    notes.write_string(0, 1, "", header)
    rows = [
        ("本表 This table", f"{results.period} {results.area_name} {results.institution_name}"),
        (
            "工作表 Sheets",
            f"仅含所选视图（{sheet_title(results)}）；全区、按镇街、按机构等其他视图见"
            " 妇幼健康指标监测报表 / only the view chosen on the dashboard; the other views"
            " are in the official report (export.xlsx)",
        ),
        ("指标目录版本 Catalogue version", results.catalogue_version),
        ("行数 Lines", str(len(lines))),
        (
            "数值 Values",
            "按页面显示修约（两位小数），未修约值见 CSV / rounded as the page shows them"
            " (two decimals); the CSV keeps the unrounded value",
        ),
        ("未填报 Not entered", "监测组尚未填报的外部指标：分子、分母、数值为空"),
        ("计算规则 Rules", "docs/indicators.md, docs/indicator-rules.md"),
        ("设置 Settings", settings_text_zh(results.settings.model_dump())),
    ]
    for i, (key, text) in enumerate(rows, start=1):
        notes.write_string(i, 0, key)
        notes.write_string(i, 1, text)
    workbook.close()
    return len(lines)
