"""Exports of indicator results: CSV, XLSX and FHIR R4 MeasureReport.

They take aggregate results only (``IndicatorValue``: counts, rates, period, street code,
institution id), never fact tables, so no personal data can reach a file. Each consumes an
iterable once, row by row, so a large export streams: CSV lines and MeasureReports are yielded,
and the XLSX workbook is written in xlsxwriter's constant-memory mode.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO, Any
from urllib.parse import quote

import xlsxwriter

from mch_service.indicators.catalogue import CATALOGUE, CATALOGUE_VERSION
from mch_service.indicators.display import (
    FLAG_LABELS,
    SETTING_NAMES_ZH,
    STATUS_LABELS,
    format_number,
    format_target,
    setting_text_zh,
)
from mch_service.indicators.fact_tables import ALL_INSTITUTIONS, DISTRICT
from mch_service.indicators.settings import SETTING_INFO
from mch_service.indicators.values import IndicatorValue
from mch_service.safe_cells import XLSX_OPTIONS, csv_row, csv_writer, xlsx_text

BOM = "\ufeff"  # so that Excel on a Chinese Windows opens the UTF-8 file correctly

CSV_HEADERS: tuple[str, ...] = (
    "指标编号",
    "指标名称",
    "指标名称（英文）",
    "统计期",
    "开始日期",
    "结束日期",
    "地区",
    "地区名称",
    "机构",
    "机构名称",
    "分子",
    "分母",
    "数值",
    "单位",
    "目标",
    "达标情况",
    "小数字",
    "暂定",
    "数值（未修约）",
    "目录版本",
    "设置",
)
_AREA_NAMES = {"non_resident": "非本区居民", "address_unknown": "住址不详"}


def area_name(area: str, district_name: str, names: Any | None) -> str:
    """A result's area in words: the district's name, 非本区居民, 住址不详 or the street's
    name (its code when the register has none)."""
    if area == DISTRICT:
        return district_name
    if area in _AREA_NAMES:
        return _AREA_NAMES[area]
    return (names.street_name(area) if names else None) or area


def institution_name(institution: str, names: Any | None) -> str:
    if institution == ALL_INSTITUTIONS:
        return "全部机构"
    return (names.institution_name(institution) if names else None) or institution


def settings_text_zh(settings: dict[str, object]) -> str:
    """The settings in Chinese: 规划监测年度：统计年度；最小分母：20；..."""
    return "；".join(
        f"{SETTING_NAMES_ZH.get(k, k)}：{setting_text_zh(v)}" for k, v in sorted(settings.items())
    )


def _target_text(v: IndicatorValue) -> str:
    return format_target(v.direction, v.target, v.unit, "zh")


def _yes(flag: bool) -> str:
    return "是" if flag else ""


def iter_csv(
    results: Iterable[IndicatorValue], names: Any | None = None, district_name: str = "全区"
) -> Iterator[str]:
    """CSV text, one line per yield, the first with a UTF-8 BOM and the Chinese header. 数值 is
    rounded to two decimals (数值（未修约） keeps the exact value); area and institution names
    beside their codes; the settings in Chinese."""
    buffer = io.StringIO()
    # street codes and institution ids come from senders: neutralised cells (safe_cells)
    writer = csv_writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(csv_row(CSV_HEADERS))
    yield BOM + flush()
    for v in results:
        writer.writerow(
            csv_row(
                (
                    v.id,
                    v.name_zh,
                    v.name_en,
                    v.period,
                    v.period_start.isoformat(),
                    v.period_end.isoformat(),
                    v.area,
                    area_name(v.area, district_name, names),
                    v.institution,
                    institution_name(v.institution, names),
                    v.numerator,
                    v.denominator,
                    "" if v.value is None else format_number(v.value),
                    v.unit,
                    _target_text(v),
                    STATUS_LABELS[v.status]["zh"],
                    _yes(v.small_numbers),
                    _yes(v.provisional),
                    v.value,
                    v.catalogue_version,
                    settings_text_zh(v.settings),
                )
            )
        )
        yield flush()


def write_csv(results: Iterable[IndicatorValue], stream: IO[str]) -> int:
    """Write the CSV to a text stream (open it with ``newline=""``). Returns the row count."""
    rows = -1
    for line in iter_csv(results):
        stream.write(line)
        rows += 1
    return rows


# --- XLSX -------------------------------------------------------------------------------------

_SHEETS = {
    "district": "全区",
    "street": "按镇街",
    "institution": "按机构",
    "street_institution": "镇街×机构",
}
_STATUS_FORMATS = {
    "met": {"bg_color": "#C6EFCE", "font_color": "#006100"},  # green
    "not_met": {"bg_color": "#FFC7CE", "font_color": "#9C0006"},  # red
    "no_data": {"bg_color": "#D9D9D9", "font_color": "#3F3F3F"},  # grey
    "no_target": {},
    "count_only": {"bg_color": "#FFF2CC", "font_color": "#7F6000"},  # amber
    "not_assessable": {"bg_color": "#EDEDED", "font_color": "#595959", "italic": True},
}


def view_of(v: IndicatorValue) -> str:
    if v.area == DISTRICT:
        return "district" if v.institution == ALL_INSTITUTIONS else "institution"
    return "street" if v.institution == ALL_INSTITUTIONS else "street_institution"


def _columns(view: str) -> list[tuple[str, int]]:
    place = {
        "district": [],
        "street": [("镇街", 12)],
        "institution": [("机构", 14)],
        "street_institution": [("镇街", 12), ("机构", 14)],
    }[view]
    return [
        ("指标编号", 30),
        ("指标名称", 26),
        ("Indicator", 36),
        ("统计期", 10),
        ("开始日期", 12),
        ("结束日期", 12),
        *place,
        ("分子", 10),
        ("分母", 10),
        ("数值", 10),
        ("单位", 10),
        ("目标", 10),
        ("达标情况", 10),
        ("小数字", 8),
        ("暂定", 8),
    ]


def write_xlsx(
    results: Iterable[IndicatorValue], target: str | os.PathLike[str] | IO[bytes]
) -> int:
    """Write a workbook: one sheet per view (全区, 按镇街, 按机构; a 镇街×机构 sheet only when
    such rows occur) and a notes sheet (说明) with the catalogue version and settings. Every
    cell is text (safe_cells): counts and unrounded values as the CSV and the API write them,
    dates ``YYYY-MM-DD``. Returns the number of result rows."""
    workbook = xlsxwriter.Workbook(target, {"constant_memory": True, **XLSX_OPTIONS})
    count = add_data_sheets(workbook, results)
    workbook.close()
    return count


def add_data_sheets(workbook: Any, results: Iterable[IndicatorValue]) -> int:
    """The long tables (全区, 按镇街, 按机构, 镇街×机构 when present) and the notes sheet (说明)
    added to ``workbook``; returns the number of result rows."""
    header = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    status_formats = {s: workbook.add_format(spec) for s, spec in _STATUS_FORMATS.items()}
    sheets: dict[str, Any] = {}
    next_row: dict[str, int] = {}

    def sheet(view: str) -> Any:
        if view not in sheets:
            ws = workbook.add_worksheet(_SHEETS[view])
            for col, (title, width) in enumerate(_columns(view)):
                ws.set_column(col, col, width)
                ws.write_string(0, col, title, header)
            ws.freeze_panes(1, 0)
            sheets[view] = ws
            next_row[view] = 1
        return sheets[view]

    for view in ("district", "street", "institution"):
        sheet(view)
    settings_seen: dict[str, dict[str, object]] = {}
    versions_seen: set[str] = set()
    count = 0
    for v in results:
        view = view_of(v)
        ws = sheet(view)
        row = next_row[view]
        next_row[view] += 1
        count += 1
        settings_seen.setdefault(json.dumps(v.settings, sort_keys=True), v.settings)
        versions_seen.add(v.catalogue_version)
        place = {
            "district": [],
            "street": [v.area],
            "institution": [v.institution],
            "street_institution": [v.area, v.institution],
        }[view]
        cells: list[object] = [v.id, v.name_zh, v.name_en, v.period]
        for col, text in enumerate(cells):
            ws.write_string(row, col, str(text))
        col = len(cells)
        ws.write_string(row, col, xlsx_text(v.period_start))
        ws.write_string(row, col + 1, xlsx_text(v.period_end))
        col += 2
        for text in place:
            ws.write_string(row, col, text)
            col += 1
        ws.write_string(row, col, xlsx_text(v.numerator))
        ws.write_string(row, col + 1, xlsx_text(v.denominator))
        if v.value is None:
            ws.write_blank(row, col + 2, None, status_formats["no_data"])
        else:
            ws.write_string(row, col + 2, xlsx_text(v.value))
        ws.write_string(row, col + 3, v.unit)
        ws.write_string(row, col + 4, _target_text(v))
        ws.write_string(row, col + 5, STATUS_LABELS[v.status]["zh"], status_formats[v.status])
        ws.write_string(row, col + 6, _yes(v.small_numbers))
        ws.write_string(row, col + 7, _yes(v.provisional))

    notes = workbook.add_worksheet("说明")
    notes.set_column(0, 0, 42)
    notes.set_column(1, 1, 70)
    lines: list[tuple[str, str]] = [
        ("指标目录版本 Catalogue version", ", ".join(sorted(versions_seen)) or CATALOGUE_VERSION),
        ("结果行数 Result rows", str(count)),
        (
            "数值 Values",
            "按单位乘数计算，未四舍五入，与 CSV 和接口相同的文本 / unrounded, as text equal to the"
            " CSV and the API",
        ),
        ("计算规则 Rules", "docs/indicators.md, docs/indicator-rules.md"),
        ("", ""),
        ("达标情况 Status", ""),
        *((STATUS_LABELS[s]["zh"], STATUS_LABELS[s]["en"]) for s in _STATUS_FORMATS),
        ("", ""),
        *((FLAG_LABELS[f]["zh"], FLAG_LABELS[f]["en"]) for f in FLAG_LABELS),
        ("", ""),
    ]
    # reading notes of the catalogue (e.g. one maternal death moves a district's ratio by ~10)
    for ind in CATALOGUE:
        if ind.note_zh or ind.note_en:
            lines.append((f"{ind.name_zh} {ind.id}", f"{ind.note_zh} / {ind.note_en}"))
    for settings in settings_seen.values():
        lines.append(("设置 Settings", json.dumps(settings, ensure_ascii=False, sort_keys=True)))
        for name, value in settings.items():
            info = SETTING_INFO.get(name)
            label = f"{name} ({info.env})" if info else name
            lines.append((label, json.dumps(value, ensure_ascii=False)))
    notes.write_string(0, 0, "说明 Notes", header)
    notes.write_string(0, 1, "", header)
    for i, (key, text) in enumerate(lines, start=1):
        status = next((s for s in _STATUS_FORMATS if STATUS_LABELS[s]["zh"] == key), None)
        notes.write_string(i, 0, key, status_formats[status] if status else None)
        notes.write_string(i, 1, text)
    return count


# --- FHIR R4 MeasureReport --------------------------------------------------------------------

_POPULATION = "http://terminology.hl7.org/CodeSystem/measure-population"
_IMPROVEMENT = "http://terminology.hl7.org/CodeSystem/measure-improvement-notation"
_UCUM = "http://unitsofmeasure.org"
_UCUM_CODES = {"%": "%", "‰": "[ppth]", "per 100,000": "/10*5"}


def measure_id(indicator_id: str) -> str:
    """The FHIR id of an indicator's Measure (a FHIR id has no '_'): hiv-test-rate."""
    return indicator_id.replace("_", "-")


def _setting_extension(name: str, value: object) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"url": name, "valueBoolean": value}
    if isinstance(value, int):
        return {"url": name, "valueInteger": value}
    if isinstance(value, (list, tuple)):
        return {"url": name, "valueString": ",".join(str(x) for x in value)}
    return {"url": name, "valueString": str(value)}


def measure_report(
    v: IndicatorValue,
    *,
    canonical_base: str,
    generated: datetime | None = None,
    measure_base: str | None = None,
    district: tuple[str, str] | None = None,
    reporter: str | None = None,
    names: Any | None = None,
) -> dict[str, Any]:
    """One summary MeasureReport (FHIR R4) for one result, as a JSON-ready dict.

    The Measure is ``{canonical_base}/Measure/{indicator id}|{catalogue version}``; the street
    is the subject (a Location by identifier) and the institution the reporter (an
    Organization by identifier) when the result is for one. ``generated`` becomes ``date``
    (the caller's clock; omitted when not given)."""
    base = canonical_base.rstrip("/")
    measures = (measure_base or base).rstrip("/")
    report: dict[str, Any] = {
        "resourceType": "MeasureReport",
        "extension": [
            {
                # one sub-extension per setting the figure was computed with
                "url": f"{base}/StructureDefinition/indicator-settings",
                "extension": [
                    _setting_extension(name, value) for name, value in sorted(v.settings.items())
                ],
            },
            {
                "url": f"{base}/StructureDefinition/indicator-status",
                "valueCode": v.status.replace("_", "-"),
            },
            {
                "url": f"{base}/StructureDefinition/small-numbers",
                "valueBoolean": v.small_numbers,
            },
        ],
        # pending: the period's records may still arrive (provisional figures)
        "status": "pending" if v.provisional else "complete",
        "type": "summary",
        "measure": f"{measures}/Measure/{measure_id(v.id)}|{v.catalogue_version}",
        "period": {"start": v.period_start.isoformat(), "end": v.period_end.isoformat()},
    }
    if v.area in (DISTRICT, "non_resident", "address_unknown"):
        if district is not None:
            code, name = district
            report["subject"] = {
                "type": "Location",
                "identifier": {"system": f"{base}/NamingSystem/district", "value": code},
                "display": name
                + {"non_resident": " 非本区居民", "address_unknown": " 住址不详"}.get(v.area, ""),
            }
    else:
        report["subject"] = {
            "type": "Location",
            "identifier": {"system": f"{base}/NamingSystem/street", "value": v.area},
        }
        street_name = names.street_name(v.area) if names else None
        if street_name:
            report["subject"]["display"] = street_name
    if generated is not None:
        report["date"] = generated.isoformat()
    if v.institution != ALL_INSTITUTIONS:
        report["reporter"] = {
            "type": "Organization",
            "identifier": {"system": f"{base}/NamingSystem/institution", "value": v.institution},
        }
        inst_name = names.institution_name(v.institution) if names else None
        if inst_name:
            report["reporter"]["display"] = inst_name
    elif reporter:
        report["reporter"] = {"type": "Organization", "display": reporter}
    if v.direction is not None:
        code = "increase" if v.direction == ">=" else "decrease"
        report["improvementNotation"] = {"coding": [{"system": _IMPROVEMENT, "code": code}]}
    group: dict[str, Any] = {
        "code": {
            "coding": [
                {"system": f"{base}/CodeSystem/mch-indicator", "code": v.id, "display": v.name_en}
            ],
            "text": v.name_zh,
        },
        "population": [
            {
                "code": {"coding": [{"system": _POPULATION, "code": "numerator"}]},
                "count": v.numerator,
            },
            {
                "code": {"coding": [{"system": _POPULATION, "code": "denominator"}]},
                "count": v.denominator,
            },
        ],
    }
    if v.value is not None:
        group["measureScore"] = {
            "value": v.value,
            "unit": v.unit,
            "system": _UCUM,
            "code": _UCUM_CODES[v.unit],
        }
    report["group"] = [group]
    return report


def iter_measure_reports(
    results: Iterable[IndicatorValue],
    *,
    canonical_base: str,
    generated: datetime | None = None,
    **options: Any,
) -> Iterator[dict[str, Any]]:
    for v in results:
        yield measure_report(v, canonical_base=canonical_base, generated=generated, **options)


def measure_resource(ind: Any, *, measure_base: str, canonical_base: str) -> dict[str, Any]:
    """The FHIR R4 Measure of a catalogue indicator (what its MeasureReports point at)."""
    base = canonical_base.rstrip("/")
    multiplier = ind.multiplier
    measure: dict[str, Any] = {
        "resourceType": "Measure",
        "id": measure_id(ind.id),
        "url": f"{measure_base.rstrip('/')}/Measure/{measure_id(ind.id)}",
        "identifier": [{"system": f"{base}/CodeSystem/mch-indicator", "value": ind.id}],
        "version": CATALOGUE_VERSION,
        "name": "".join(part.capitalize() for part in ind.id.split("_")),
        "title": ind.name_zh,
        "subtitle": ind.name_en,
        "status": "active",
        "experimental": False,
        "description": f"{ind.name_zh}（{ind.name_en}）。分子：{ind.numerator_zh}；分母："
        f"{ind.denominator_zh}。单位：{ind.unit}（×{multiplier}）。",
        "scoring": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/measure-scoring",
                    "code": "proportion" if ind.unit == "%" else "ratio",
                }
            ]
        },
        "type": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/measure-type",
                        "code": "outcome" if ind.group == "outcomes" else "process",
                    }
                ]
            }
        ],
        "group": [
            {
                "code": {
                    "coding": [
                        {
                            "system": f"{base}/CodeSystem/mch-indicator",
                            "code": ind.id,
                            "display": ind.name_en,
                        }
                    ],
                    "text": ind.name_zh,
                },
                "population": [
                    {
                        "code": {"coding": [{"system": _POPULATION, "code": code}]},
                        "description": f"{zh} / {en}",
                        "criteria": {"language": "text/plain", "expression": en},
                    }
                    for code, zh, en in (
                        ("numerator", ind.numerator_zh, ind.numerator_en),
                        ("denominator", ind.denominator_zh, ind.denominator_en),
                    )
                ],
            }
        ],
    }
    if ind.direction is not None:
        code = "increase" if ind.direction == ">=" else "decrease"
        measure["improvementNotation"] = {"coding": [{"system": _IMPROVEMENT, "code": code}]}
    if ind.target is not None:
        measure["guidance"] = (
            f"目标 / target: {format_target(ind.direction, ind.target, ind.unit, 'zh')}"
        )
    return measure


# --- file names -------------------------------------------------------------------------------


def report_file_name(stem: str, period: str, area: str, ext: str) -> str:
    """``indicators_2025-Q3.xlsx``; a street or area line other than the district is named
    too (``indicators_2025-Q3_440115001.xlsx``). Only letters, digits, '.', '_' and '-'."""
    parts = [stem, period] + ([] if area == DISTRICT else [area])
    safe = "_".join(re.sub(r"[^0-9A-Za-z._-]+", "-", part) for part in parts)
    return f"{safe}.{ext}"


def content_disposition(ascii_name: str, name: str | None = None) -> str:
    """An attachment header: the ASCII name, and a UTF-8 one (RFC 6266) when given."""
    header = f'attachment; filename="{ascii_name}"'
    if name:
        header += f"; filename*=UTF-8''{quote(name)}"
    return header


# --- drill-down rows --------------------------------------------------------------------------

_KIND_ZH = {"delivery": "分娩", "maternal_death": "孕产妇死亡", "congenital_syphilis": "先天梅毒"}
DRILL_HEADERS: tuple[str, ...] = (
    "记录编号 record_id",
    "孕产期编号 pregnancy_id",
    "类型 kind",
    "姓名（脱敏）",
    "身份证号（脱敏）",
    "日期 date",
    "镇街代码 street",
    "镇街",
    "责任社区卫生服务中心",
    "机构编号 institution",
    "机构",
    "分母计数 units",
    "分子计数 numerator_units",
    "未计入分子 missed",
)


def _criterion_text(met: bool, value: object) -> str:
    mark = "✓" if met else "✗"
    return mark if value is None or isinstance(value, bool) else f"{mark} ({value})"


def _drill_lines(records: Any) -> Iterator[list[object]]:
    criteria = list(records.criteria_labels)
    yield [*DRILL_HEADERS, *(f"{records.criteria_labels[c]} {c}" for c in criteria)]
    for r in records.rows:
        cells: list[object] = [
            r.record_id,
            r.pregnancy_id,
            _KIND_ZH.get(r.kind, r.kind),
            r.name,
            r.resident_id,
            r.date,
            r.street,
            r.street_name,
            r.responsible_centre,
            r.institution,
            r.institution_name,
            r.units,
            r.numerator_units,
            _yes(r.missed),
        ]
        for c in criteria:
            got = r.criteria.get(c)
            cells.append("" if got is None else _criterion_text(got.met, got.value))
        yield cells


def iter_drill_csv(records: Any) -> Iterator[str]:
    """A drill-down (``schemas.IndicatorRecords``) as CSV text: a title line, the Chinese
    headers with the ids, one line per row; identifiers as masked as in the API."""
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow(
        csv_row(
            (
                f"{records.name_zh}（{records.id}） 明细 {records.period} {records.area} "
                f"{records.institution}",
            )
        )
    )
    for cells in _drill_lines(records):
        writer.writerow(csv_row(cells))
    yield BOM + buffer.getvalue()


def write_drill_xlsx(records: Any, target: IO[bytes]) -> None:
    """A drill-down as a workbook: one sheet of rows, every cell text."""
    workbook = xlsxwriter.Workbook(target, {"in_memory": True, **XLSX_OPTIONS})
    header = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    ws = workbook.add_worksheet("明细")
    # the same title as the CSV's: which area and which institution the rows are of
    ws.write_string(
        0,
        0,
        f"{records.name_zh}（{records.id}） 明细 {records.period} {records.area} "
        f"{records.institution}",
    )
    for n, cells in enumerate(_drill_lines(records)):
        for col, cell in enumerate(cells):
            ws.write_string(
                n + 1, col, "" if cell is None else xlsx_text(cell), header if n == 0 else None
            )
    workbook.close()
