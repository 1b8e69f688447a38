"""Render docs/indicators.md from the catalogue, so the published definitions cannot drift from
the code (tests/indicators/test_indicator_docs.py fails when the file is out of date).

    .venv/bin/python -m mch_service.indicators.docs           # rewrite docs/indicators.md
    .venv/bin/python -m mch_service.indicators.docs --check   # exit 1 when it is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mch_service.indicators.catalogue import (
    CATALOGUE,
    CATALOGUE_VERSION,
    GROUP_TITLES,
    PERIOD_BASIS_TEXT,
    Indicator,
)
from mch_service.indicators.display import DIRECTION_SYMBOLS, UNIT_LABELS, format_target
from mch_service.indicators.settings import DEFAULT_SETTINGS, SETTING_INFO

DOCS_PATH = Path(__file__).resolve().parents[2] / "docs" / "indicators.md"
RULES_LINK = "[indicator-rules.md](indicator-rules.md)"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _target(i: Indicator) -> str:
    return format_target(i.direction, i.target, i.unit, "zh") or "—"


def _reference(i: Indicator) -> str:
    r = i.reference
    if r is None:
        return "—"
    unit = UNIT_LABELS[i.unit]["zh"]
    return f"{r.source_zh} / {r.source_en} {DIRECTION_SYMBOLS[r.direction]}{r.value:g}{unit}"


def _settings(i: Indicator) -> str:
    return ", ".join(f"`{s}`" for s in i.settings) or "—"


def render() -> str:
    defaults = DEFAULT_SETTINGS.to_dict()
    out: list[str] = [
        "# 指标定义 Indicator definitions",
        "",
        "<!-- Generated from mch_service/indicators/catalogue.py; do not edit by hand. -->",
        "<!-- Regenerate: .venv/bin/python -m mch_service.indicators.docs -->",
        "",
        f"Catalogue version **{CATALOGUE_VERSION}**. Every stored result carries this version and"
        " the settings that produced it.",
        "",
        "This page is what each indicator counts, as a monitoring officer reads it. The exact"
        f" day-level rules (day boundaries, gestational age, cohorts, attribution) are in"
        f" {RULES_LINK}.",
        "",
        "- **Period** (统计期): a month `2025-03`, a quarter `2025-Q1`, a calendar year `2025`, a"
        " statistical year `SY2025` (1 Oct 2024 – 30 Sep 2025, the annual report's year) or the 12"
        " months to a month `2025-03-R12`. A period is **provisional** (暂定) until its end + 56"
        " days; a result whose denominator is below the small-numbers size is flagged **小数字**;"
        " ratios per 100,000 are shown per year or rolling 12 months only (shorter periods:"
        " counts).",
        "- **Delivery cohort** (分娩队列): the women whose delivery day is in the period, looking"
        " back over the whole pregnancy and forward to 42 days postpartum. Only deliveries at"
        " 28+0 weeks or later count (GA ≥ 196 days; GA unknown: a baby of ≥ 1000 g); an earlier"
        " ending is a loss (流产/引产) in no cohort count.",
        "- **产妇数** = women delivered; **活产数** = their live births (twins count twice).",
        "  Where a numerator counts women and the denominator counts live births, as the national"
        " reports do, a stillbirth-only delivery adds to the numerator and not to the denominator.",
        "- **Area** (地区): by the woman's current address (现住址). `district` counts the"
        " district's residents wherever they delivered; a street/town (镇街) its residents;"
        " `non_resident` (非户籍/流动) the women living elsewhere and `address_unknown` those"
        " with no usable address, neither in the district rate. **Institution view** (机构):"
        " the place of service, every woman whatever her residence: the delivering institution;"
        " for maternal deaths and congenital syphilis the reporting one.",
        "- **Value** = numerator ÷ denominator × 100 (%), 1,000 (‰) or 100,000 (/10万);"
        " *no data* (无数据) when the denominator is 0. Rounded for display only.",
        "- **Status** (达标情况): met (达标) / not met (未达标) against the plan target;"
        " no data (无数据); no target (无目标值) when the indicator has none.",
        "",
        "## Settings",
        "",
        "| Setting | Environment variable | Default | Effect |",
        "|---|---|---|---|",
    ]
    for name, info in SETTING_INFO.items():
        default = defaults[name]
        shown = ", ".join(default) if isinstance(default, list) else str(default).lower()
        out.append(
            f"| `{name}` | `{info.env}` | `{shown}` | {_cell(info.text_zh)}<br>"
            f"{_cell(info.text_en)} |"
        )
    out += [
        "",
        "## Summary",
        "",
        "| id | 指标 | Indicator | Unit | Target 目标 | Reference 参考值 | Source |",
        "|---|---|---|---|---|---|---|",
    ]
    for i in CATALOGUE:
        out.append(
            f"| `{i.id}` | {i.name_zh} | {_cell(i.name_en)} | {i.unit} | {_target(i)} |"
            f" {_cell(_reference(i))} | {i.source}{' (local 本地)' if i.local else ''} |"
        )
    for group, (title_zh, title_en) in GROUP_TITLES.items():
        members = [i for i in CATALOGUE if i.group == group]
        if not members:
            continue
        out += ["", f"## {title_zh} — {title_en}"]
        for i in members:
            basis_zh, basis_en = PERIOD_BASIS_TEXT[i.period_basis]
            out += [
                "",
                f"### {i.name_zh} — {i.name_en}",
                "",
                # the anchor the dashboard links to (/docs/indicators#<id>)
                f'<a id="{i.id}"></a>`{i.id}`',
                "",
                "| | |",
                "|---|---|",
                f"| 分子 Numerator | {_cell(i.numerator_zh)}<br>{_cell(i.numerator_en)} |",
                f"| 分母 Denominator | {_cell(i.denominator_zh)}<br>{_cell(i.denominator_en)} |",
                f"| 单位 Unit | {i.unit} (× {i.multiplier:,}) |",
                f"| 统计口径 Period basis | {basis_zh}<br>{basis_en} |",
                f"| 目标 Target | {_target(i)} |",
                f"| 参考值 Reference | {_cell(_reference(i))} |",
                f"| 设置 Settings | {_settings(i)} |",
            ]
            if i.note_zh or i.note_en:
                out.append(f"| 注 Note | {_cell(i.note_zh)}<br>{_cell(i.note_en)} |")
            if i.source == "external":
                out.append(
                    "| 来源 Source | 外部填报：由监测组录入，不由本系统计算<br>"
                    "external: entered by the monitoring group, not calculated here |"
                )
            else:
                out.append(f"| 规则 Rules | {RULES_LINK} |")
            if i.local:
                out.append(
                    "| 本地指标 Local | 本地指标，不属于全国妇幼健康统计调查制度<br>"
                    "local indicator, not part of the national MCH statistical system |"
                )
    out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render docs/indicators.md from the catalogue")
    parser.add_argument("--check", action="store_true", help="exit 1 when the file is stale")
    args = parser.parse_args(argv)
    text = render()
    current = DOCS_PATH.read_text(encoding="utf-8") if DOCS_PATH.exists() else None
    if args.check:
        if current != text:
            print(
                f"{DOCS_PATH} is out of date; run: .venv/bin/python -m mch_service.indicators.docs"
            )
            return 1
        return 0
    if current != text:
        DOCS_PATH.write_text(text, encoding="utf-8")
        print(f"wrote {DOCS_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
