"""The official indicator report (妇幼健康指标监测报表) as a workbook the monitoring group can
send: the title with the district's name, the issuing body and contact, the period, the data
cut-off and computed-at; the indicators in the plan's order (the catalogue's) with Chinese names
and units; a street × indicator table whose rows add up to the district (a "street unknown" row,
the non-residents and unknown addresses beside it); the institutions likewise; the definitions
with the full rule text and the settings in Chinese; footnotes. Then the long data tables of
``exports.write_xlsx`` (全区, 按镇街, 按机构) for reading by machine.

Aggregates only (``IndicatorValue``), like every export: no personal data can reach the file.
Every cell is text (safe_cells).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import xlsxwriter

from mch_service.indicators.catalogue import CATALOGUE, GROUP_TITLES, PERIOD_BASIS_TEXT, Indicator
from mch_service.indicators.display import (
    FLAG_LABELS,
    SETTING_NAMES_ZH,
    STATUS_LABELS,
    format_number,
    format_target,
    setting_text_zh,
)
from mch_service.indicators.exports import add_data_sheets
from mch_service.indicators.fact_tables import (
    ADDRESS_UNKNOWN_AREA,
    ALL_INSTITUTIONS,
    DISTRICT,
    NON_RESIDENT_AREA,
)
from mch_service.indicators.periods import parse_period
from mch_service.indicators.settings import SETTING_INFO
from mch_service.indicators.values import IndicatorValue
from mch_service.safe_cells import XLSX_OPTIONS, xlsx_text

STREET_UNKNOWN = "street_unknown"
INSTITUTION_UNKNOWN = "institution_unknown"

_KIND_ZH: Mapping[str, str] = {
    "hospital": "医院",
    "mch_hospital": "妇幼保健院",
    "chc": "社区卫生服务中心",
    "other": "其他",
}


class Names(Protocol):
    """The names behind codes (``institutions.service.ReferenceNames``)."""

    def street_name(self, code: str | None) -> str | None: ...

    def institution_name(self, institution_id: str | None) -> str | None: ...

    def institution_kind(self, institution_id: str | None) -> str | None: ...


@dataclass(frozen=True)
class ReportMeta:
    district_name: str
    issuer: str
    contact: str
    periods: Sequence[str]
    data_cutoff: datetime | None  # the last change of the data the figures were computed from
    computed_at: datetime | None  # the latest computation of the figures
    produced_at: datetime
    settings: Mapping[str, object] = field(default_factory=dict)
    # the district's zone (MCH_TIMEZONE): the times above are local, "2026-12-03 20:15"
    timezone: str = "Asia/Shanghai"

    @property
    def title(self) -> str:
        return f"{self.district_name}妇女发展规划 妇幼健康指标监测报表"


def unit_text(unit: str) -> str:
    """The unit as the report prints it: %, ‰, 1/10万."""
    return "/10万" if unit == "per 100,000" else unit


def value_text(value: float | None) -> str:
    return "" if value is None else format_number(value)


def markers(v: IndicatorValue) -> str:
    out = []
    if v.small_numbers:
        out.append("小数字")
    if v.provisional:
        out.append("暂定")
    return "、".join(out)


def _period_text(label: str) -> str:
    p = parse_period(label)
    return f"{p.label}（{p.start.isoformat()} 至 {p.end.isoformat()}）"


def stamp_text(value: datetime | None, zone: str) -> str:
    """A time as the report prints it: local time in the district's zone, to the minute
    ("2026-12-03 20:15"); an instant without an offset is taken as UTC."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


# The settings behind the head block's 填报单位 and 联系人及电话 (config.Settings).
ISSUER_SETTING = "MCH_REPORT_ISSUER"
CONTACT_SETTING = "MCH_REPORT_CONTACT"


def unset_text(setting: str) -> str:
    return f"未设置（{setting}）"


@dataclass
class _Counts:
    numerator: int = 0
    denominator: int = 0


def _ratio(ind: Indicator, numerator: int, denominator: int) -> str:
    if denominator <= 0:
        return ""
    return format_number(numerator * ind.multiplier / denominator)


def write_report_xlsx(
    values: Iterable[IndicatorValue],
    target: Any,
    meta: ReportMeta,
    names: Names,
) -> int:
    """Write the official workbook; returns the number of result rows read."""
    rows = list(values)
    by_key: dict[tuple[str, str, str, str], IndicatorValue] = {
        (v.id, v.period, v.area, v.institution): v for v in rows
    }
    workbook = xlsxwriter.Workbook(target, {"in_memory": True, **XLSX_OPTIONS})
    title = workbook.add_format({"bold": True, "font_size": 16})
    bold = workbook.add_format({"bold": True})
    header = workbook.add_format(
        {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True}
    )
    note = workbook.add_format({"italic": True, "font_color": "#595959", "text_wrap": True})
    cell = workbook.add_format({"border": 1})

    def head_block(ws: Any, subtitle: str) -> int:
        ws.write_string(0, 0, meta.title, title)
        lines = [
            ("报表", subtitle),
            ("填报单位", meta.issuer or unset_text(ISSUER_SETTING)),
            ("联系人及电话", meta.contact or unset_text(CONTACT_SETTING)),
            ("统计期", "；".join(_period_text(p) for p in meta.periods)),
            ("数据截止时间", stamp_text(meta.data_cutoff, meta.timezone) or "无数据"),
            ("计算时间", stamp_text(meta.computed_at, meta.timezone) or "未计算"),
            ("制表时间", stamp_text(meta.produced_at, meta.timezone)),
        ]
        for n, (key, text) in enumerate(lines, start=1):
            ws.write_string(n, 0, key, bold)
            ws.write_string(n, 1, text)
        return len(lines) + 2

    # --- 1. the summary: the district (its residents), plan order --------------------------
    ws = workbook.add_worksheet("汇总")
    ws.set_column(0, 0, 14)
    ws.set_column(1, 1, 30)
    ws.set_column(2, 2, 34)
    ws.set_column(3, 12, 11)
    r = head_block(ws, f"全区（{meta.district_name}常住孕产妇，按现住址）")
    columns = (
        "序号",
        "指标分组",
        "指标名称",
        "指标编号",
        "统计期",
        "单位",
        "数值",
        "分子",
        "分母",
        "目标",
        "达标情况",
        "标注",
        "来源",
    )
    for c, text in enumerate(columns):
        ws.write_string(r, c, text, header)
    r += 1
    for period in meta.periods:
        for n, ind in enumerate(CATALOGUE, start=1):
            v = by_key.get((ind.id, period, DISTRICT, ALL_INSTITUTIONS))
            status = v.status if v else "no_data"
            cells = [
                str(n),
                GROUP_TITLES[ind.group][0],
                ind.name_zh,
                ind.id,
                period,
                unit_text(ind.unit),
                value_text(v.value) if v else "",
                xlsx_text(v.numerator) if v else "",
                xlsx_text(v.denominator) if v else "",
                format_target(ind.direction, ind.target, ind.unit, "zh"),
                (
                    "未填报"
                    if ind.source == "external" and v is None
                    else STATUS_LABELS[status]["zh"]
                ),
                markers(v) if v else "",
                "监测组填报" if ind.source == "external" else "系统计算",
            ]
            for c, text in enumerate(cells):
                ws.write_string(r, c, text, cell)
            r += 1
    r += 1
    ws.write_string(r, 0, "注", bold)
    for text in footnotes(meta):
        r += 1
        ws.write_string(r, 0, text, note)

    # --- 2. streets × indicators, per period ------------------------------------------------
    indicators = list(CATALOGUE)
    streets = sorted(
        {v.area for v in rows if v.institution == ALL_INSTITUTIONS}
        - {DISTRICT, NON_RESIDENT_AREA, ADDRESS_UNKNOWN_AREA}
    )
    institutions = sorted({v.institution for v in rows if v.area == DISTRICT} - {ALL_INSTITUTIONS})
    for period in meta.periods:
        suffix = "" if len(meta.periods) == 1 else f" {period}"
        _cross_sheet(
            workbook,
            f"镇街×指标{suffix}"[:31],
            meta,
            head_block,
            header,
            note,
            indicators,
            period,
            lines=[
                *(
                    (code, names.street_name(code) or code, code, ALL_INSTITUTIONS)
                    for code in streets
                ),
                (STREET_UNKNOWN, "街道不详（本区居民，无镇街代码）", None, None),
                ("total", f"合计：全区（{meta.district_name}居民）", DISTRICT, ALL_INSTITUTIONS),
                (
                    NON_RESIDENT_AREA,
                    "非本区居民（不计入全区）",
                    NON_RESIDENT_AREA,
                    ALL_INSTITUTIONS,
                ),
                (
                    ADDRESS_UNKNOWN_AREA,
                    "住址不详（不计入全区）",
                    ADDRESS_UNKNOWN_AREA,
                    ALL_INSTITUTIONS,
                ),
            ],
            by_key=by_key,
            first_column="镇街",
            note_text=(
                "各镇街与“街道不详”行相加等于“合计：全区”行（分子、分母）；非本区居民和住址不详"
                "者单列，不计入全区及任何镇街。"
            ),
        )
        _cross_sheet(
            workbook,
            f"机构×指标{suffix}"[:31],
            meta,
            head_block,
            header,
            note,
            indicators,
            period,
            lines=[
                *(
                    (
                        inst,
                        (names.institution_name(inst) or inst)
                        + (
                            f"（{_KIND_ZH.get(kind, kind)}）"
                            if (kind := names.institution_kind(inst))
                            else ""
                        ),
                        DISTRICT,
                        inst,
                    )
                    for inst in institutions
                ),
                (INSTITUTION_UNKNOWN, "机构不详（无分娩或报告机构）", None, None),
                ("total", "合计：全部服务对象（含非本区居民、住址不详）", "*", ALL_INSTITUTIONS),
            ],
            by_key=by_key,
            first_column="机构",
            note_text=(
                "按服务地点统计：分娩机构（死亡、先天梅毒为报告机构），不论住址。各机构与“机构不详”"
                "行相加等于“合计：全部服务对象”行（= 全区 + 非本区居民 + 住址不详）。"
            ),
        )

    # --- 3. definitions and settings -------------------------------------------------------
    ws = workbook.add_worksheet("指标定义")
    r = head_block(ws, "指标定义与设置")
    widths = (6, 28, 30, 60, 50, 8, 10, 24, 40)
    for c, w in enumerate(widths):
        ws.set_column(c, c, w)
    cols = ("序号", "指标名称", "指标编号", "分子", "分母", "单位", "目标", "统计口径", "说明")
    for c, text in enumerate(cols):
        ws.write_string(r, c, text, header)
    r += 1
    for n, ind in enumerate(CATALOGUE, start=1):
        reference = (
            f"参考：{ind.reference.source_zh} "
            f"{format_target(ind.reference.direction, ind.reference.value, ind.unit, 'zh')}"
            if ind.reference
            else ""
        )
        cells = [
            str(n),
            ind.name_zh,
            ind.id,
            ind.numerator_zh,
            ind.denominator_zh,
            unit_text(ind.unit),
            format_target(ind.direction, ind.target, ind.unit, "zh"),
            PERIOD_BASIS_TEXT[ind.period_basis][0],
            "；".join(x for x in (ind.note_zh, reference) if x),
        ]
        for c, text in enumerate(cells):
            ws.write_string(r, c, text, note if c >= 3 else None)
        r += 1
    r += 1
    ws.write_string(r, 0, "设置", bold)
    r += 1
    for c, text in enumerate(("设置", "取值", "说明")):
        ws.write_string(r, c + 1, text, header)
    r += 1
    for name, value in meta.settings.items():
        info = SETTING_INFO.get(name)
        ws.write_string(r, 1, SETTING_NAMES_ZH.get(name, name))
        ws.write_string(r, 2, setting_text_zh(value))
        ws.write_string(r, 3, info.text_zh if info else "", note)
        r += 1
    r += 1
    ws.write_string(r, 0, "达标情况与标注", bold)
    for key, labels in (*STATUS_LABELS.items(), *FLAG_LABELS.items()):
        r += 1
        ws.write_string(r, 1, labels["zh"])
        ws.write_string(r, 2, key)
    # --- 4. the long tables, for reading by machine ----------------------------------------
    add_data_sheets(workbook, rows)
    workbook.close()
    return len(rows)


def _cross_sheet(
    workbook: Any,
    sheet_name: str,
    meta: ReportMeta,
    head_block: Any,
    header: Any,
    note: Any,
    indicators: list[Indicator],
    period: str,
    *,
    lines: list[tuple[str, str, str | None, str | None]],
    by_key: Mapping[tuple[str, str, str, str], IndicatorValue],
    first_column: str,
    note_text: str,
) -> None:
    """One row per line (street or institution, then the balancing and total lines), three
    columns per indicator: 分子, 分母, 数值. A balancing line (area None) is the total minus the
    listed lines, so the lines add up to the total exactly."""
    ws = workbook.add_worksheet(sheet_name)
    r = head_block(ws, f"{first_column} × 指标（{period}）")
    ws.set_column(0, 0, 16)
    ws.set_column(1, 1, 30)
    ws.write_string(r, 0, "代码", header)
    ws.write_string(r, 1, first_column, header)
    ws.write_string(r + 1, 0, "", header)
    ws.write_string(r + 1, 1, "", header)
    for n, ind in enumerate(indicators):
        col = 2 + 3 * n
        ws.merge_range(r, col, r, col + 2, f"{ind.name_zh}（{unit_text(ind.unit)}）", header)
        for k, text in enumerate(("分子", "分母", "数值")):
            ws.write_string(r + 1, col + k, text, header)
    ws.write_string(r + 2, 0, "指标编号", note)
    for n, ind in enumerate(indicators):
        ws.write_string(r + 2, 2 + 3 * n, ind.id, note)
    r += 3

    def counts(ind: Indicator, area: str, institution: str) -> _Counts | None:
        if area == "*":  # every residence: the three area lines
            parts = [
                by_key.get((ind.id, period, a, institution))
                for a in (DISTRICT, NON_RESIDENT_AREA, ADDRESS_UNKNOWN_AREA)
            ]
            if all(p is None for p in parts):
                return None
            return _Counts(
                sum(p.numerator for p in parts if p), sum(p.denominator for p in parts if p)
            )
        v = by_key.get((ind.id, period, area, institution))
        return _Counts(v.numerator, v.denominator) if v else None

    # the lines the balancing line completes: those before it
    balance_at = next(n for n, line in enumerate(lines) if line[2] is None)
    listed = lines[:balance_at]
    total_line = next(line for line in lines if line[0] == "total")
    for code, label, area, institution in lines:
        ws.write_string(r, 0, "" if code == "total" else code)
        ws.write_string(r, 1, label)
        for n, ind in enumerate(indicators):
            col = 2 + 3 * n
            if area is None:  # the balancing line
                total = counts(ind, total_line[2] or DISTRICT, total_line[3] or ALL_INSTITUTIONS)
                if total is None or ind.source == "external":
                    continue
                num, den = total.numerator, total.denominator
                for _, _, a, i in listed:
                    got = counts(ind, a or DISTRICT, i or ALL_INSTITUTIONS)
                    if got:
                        num -= got.numerator
                        den -= got.denominator
                got_counts: _Counts | None = _Counts(num, den)
            else:
                got_counts = counts(ind, area, institution or ALL_INSTITUTIONS)
            if got_counts is None:
                continue
            ws.write_string(r, col, str(got_counts.numerator))
            ws.write_string(r, col + 1, str(got_counts.denominator))
            if ind.rate_periods is None or parse_period(period).kind in ind.rate_periods:
                ws.write_string(
                    r, col + 2, _ratio(ind, got_counts.numerator, got_counts.denominator)
                )
        r += 1
    r += 1
    ws.write_string(r, 0, "注", note)
    ws.write_string(r, 1, note_text, note)


def footnotes(meta: ReportMeta) -> list[str]:
    below = meta.settings.get("small_numbers_below", 20)
    return [
        f"1. 全区数字按现住址统计本区常住孕产妇（{meta.district_name}）；"
        "非本区居民和住址不详者单列，见“镇街×指标”表。",
        "2. 分娩队列指标按分娩日期归入统计期；孕产妇死亡按死亡日期，先天梅毒按首次诊断日期。",
        f"3. 小数字：分母大于0且小于{below}的结果，比率不稳定，达标情况记为“不可评估”。",
        "4. 暂定：统计期结束后56天内（产后访视和42天检查仍可补报），数字可能变化。",
        "5. 孕产妇死亡率、先天梅毒发病率按年（或滚动12个月）计算，月、季仅报告例数。",
        "6. 婚前医学检查率、孕前优生健康检查率、宫颈癌筛查率、艾滋病母婴传播率由监测组按期填报。",
        "7. 数值保留两位小数；分子、分母为实数。指标定义与设置见“指标定义”表。",
        f"8. 数据截止时间、计算时间、制表时间为本区当地时间（{meta.timezone}，MCH_TIMEZONE），"
        "精确到分钟。",
    ]
