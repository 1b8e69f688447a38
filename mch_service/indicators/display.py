"""How results are shown to people: unit labels, target and status wording, and rounding.

Rounding happens here only: results keep the exact numerator, denominator and unrounded value
(docs/indicator-rules.md: "rounded only for display").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

Language = Literal["zh", "en"]

# Unit as written after a number.
UNIT_LABELS: Mapping[str, Mapping[Language, str]] = {
    "%": {"zh": "%", "en": "%"},
    "‰": {"zh": "‰", "en": "‰"},
    "per 100,000": {"zh": "/10万", "en": " per 100,000"},
}
DIRECTION_SYMBOLS: Mapping[str, str] = {">=": "≥", "<": "<", "<=": "≤"}
STATUS_LABELS: Mapping[str, Mapping[Language, str]] = {
    "met": {"zh": "达标", "en": "met"},
    "not_met": {"zh": "未达标", "en": "not met"},
    "no_data": {"zh": "无数据", "en": "no data"},
    "no_target": {"zh": "无目标值", "en": "no target"},
    # the denominator is below the minimum (MCH_INDICATOR_SMALL_NUMBERS_BELOW): neither met
    # nor not met (the counts are shown)
    "not_assessable": {
        "zh": "不可评估（分母小于最小值）",
        "en": "not assessable (denominator below the minimum)",
    },
    "count_only": {
        "zh": "仅报告例数（按年或滚动12个月计算率）",
        "en": "counts only (rate per year or rolling 12 months)",
    },
}
# An external figure (entered by the monitoring group) not entered yet: the page and the 本表
# downloads say so instead of a status.
NOT_ENTERED_LABELS: Mapping[Language, str] = {"zh": "未填报", "en": "Not entered"}
# Markers shown beside a figure (results, exports).
FLAG_LABELS: Mapping[str, Mapping[Language, str]] = {
    "small_numbers": {"zh": "小数字（分母过小，率不稳定）", "en": "small numbers (unstable rate)"},
    "provisional": {"zh": "暂定（数据仍在补报）", "en": "provisional (records still arriving)"},
}
VALUE_DECIMALS = 2


def format_number(value: float, decimals: int = VALUE_DECIMALS) -> str:
    return f"{value:.{decimals}f}"


def format_rate(value: float | None, unit: str, lang: Language = "zh") -> str:
    if value is None:
        return STATUS_LABELS["no_data"][lang]
    return f"{format_number(value)}{UNIT_LABELS[unit][lang]}"


def format_target(direction: str | None, target: float | None, unit: str, lang: Language) -> str:
    """``≥90%``; an empty string when there is no target."""
    if direction is None or target is None:
        return ""
    return f"{DIRECTION_SYMBOLS[direction]}{target:g}{UNIT_LABELS[unit][lang]}"


def honest_status(status: str, small_numbers: bool) -> str:
    """The status a reader is shown: a met / not met figure on small numbers is "not
    assessable" (one case moves it too far to judge it against the target)."""
    if small_numbers and status in ("met", "not_met"):
        return "not_assessable"
    return status


# Settings as an export names them (docs: SETTING_INFO has the text of each).
SETTING_NAMES_ZH: Mapping[str, str] = {
    "plan_year": "规划监测年度",
    "small_numbers_below": "最小分母（小数字界值）",
    "caesarean_basis": "剖宫产率口径",
    "case_managed_colours": "纳入专案管理的风险颜色",
    "anaemia_denominator_excludes_thalassaemia": "贫血患病率分母剔除地贫孕妇",
    "syphilis_adequate_days": "梅毒充分治疗天数",
    "district_code": "行政区划代码",
    "district_name": "区名称",
    "hbig_hours": "乙肝免疫球蛋白及时注射时限（小时）",
    "hepb_vaccine_hours": "首针乙肝疫苗及时接种时限（小时）",
}
_VALUE_ZH: Mapping[str, str] = {
    "statistical": "统计年度（上年10月1日至当年9月30日）",
    "calendar": "日历年",
    "births": "按活产数",
    "women": "按产妇数",
    "green": "绿",
    "yellow": "黄",
    "orange": "橙",
    "red": "红",
    "purple": "紫",
}


def setting_text_zh(value: object) -> str:
    """A setting's value in Chinese (是/否, 统计年度, 橙、红、紫, numbers as they are)."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (list, tuple)):
        return "、".join(setting_text_zh(v) for v in value)
    return _VALUE_ZH.get(str(value), str(value))
