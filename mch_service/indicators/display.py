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
