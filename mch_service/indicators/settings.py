"""Settings that shape indicator results (docs/indicator-rules.md marks them **setting**).

The app reads the environment (``MCH_INDICATOR_*``, ``MCH_CASE_MANAGED_COLOURS``) and passes the
values in; nothing here reads the environment. Every result stores ``to_dict()`` of the settings
that produced it, so a number can always be traced to the rule variant behind it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Literal

from mch_service.indicators.errors import IndicatorInputError

# Severity order of the five-colour grading (《孕产妇妊娠风险评估与管理工作规范》2017);
# purple is a separate flag that can coexist with any severity colour.
SEVERITY_COLOURS: tuple[str, ...] = ("green", "yellow", "orange", "red")
RISK_COLOURS: tuple[str, ...] = (*SEVERITY_COLOURS, "purple")

CaesareanBasis = Literal["births", "women"]
CAESAREAN_BASES: tuple[str, ...] = ("births", "women")


@dataclass(frozen=True)
class SettingInfo:
    """How a setting is documented: the environment variable the app reads it from, and what it
    changes, for docs/indicators.md and the notes sheet of an export."""

    env: str
    text_zh: str
    text_en: str


SETTING_INFO: Mapping[str, SettingInfo] = {
    "statistical_year": SettingInfo(
        "MCH_INDICATOR_STATISTICAL_YEAR",
        "年度按统计年度（上年10月1日至当年9月30日）计算；默认按日历年。季度和月份始终按日历。",
        "A year period is the statistical year (1 October of the previous year to 30 September);"
        " default the calendar year. Quarters and months are always calendar ones.",
    ),
    "caesarean_basis": SettingInfo(
        "MCH_INDICATOR_CAESAREAN_BASIS",
        "births：剖宫产活产数/活产数（默认）；women：剖宫产产妇数/产妇数（产科质控口径）。",
        "births: live births by caesarean / live births (default); women: women delivered by"
        " caesarean / women delivered (the obstetric quality-control variant).",
    ),
    "case_managed_colours": SettingInfo(
        "MCH_CASE_MANAGED_COLOURS",
        "纳入专案管理的风险颜色，默认橙、红、紫。",
        "Risk colours under case management (专案管理); default orange, red, purple.",
    ),
    "anaemia_denominator_excludes_thalassaemia": SettingInfo(
        "MCH_INDICATOR_ANAEMIA_DENOMINATOR_EXCLUDES_THALASSAEMIA",
        "为 true（默认）时，地贫孕妇（诊断或筛查阳性）同时从分子和分母中剔除；"
        "为 false 时只从分子中剔除。",
        "When true (the default), women with thalassaemia (a diagnosis or a positive screening"
        " result) leave the numerator and the denominator; when false, the numerator only.",
    ),
    "syphilis_adequate_days": SettingInfo(
        "MCH_INDICATOR_SYPHILIS_ADEQUATE_DAYS",
        "梅毒规范治疗：青霉素治疗开始日至分娩日至少相隔的天数，默认 30（WHO/CDC 充分治疗口径；"
        "国家规范要求分娩前完成规范疗程，此为本地操作化）。",
        "Syphilis adequate treatment: the least number of days from the start of penicillin to"
        " the delivery day; default 30 (the WHO/CDC adequacy rule; the national norm asks for a"
        " full course completed before delivery, of which this is the local operationalisation).",
    ),
}


@dataclass(frozen=True)
class IndicatorSettings:
    """The rule variants in force. Frozen and validated, so a result can trust it."""

    statistical_year: bool = False
    caesarean_basis: CaesareanBasis = "births"
    case_managed_colours: tuple[str, ...] = ("orange", "red", "purple")
    anaemia_denominator_excludes_thalassaemia: bool = True
    syphilis_adequate_days: int = 30

    def __post_init__(self) -> None:
        # `type(...) is bool`: a string "false" from an environment variable must not pass as
        # truthy; the app parses it before it gets here.
        for name in ("statistical_year", "anaemia_denominator_excludes_thalassaemia"):
            if type(getattr(self, name)) is not bool:
                raise IndicatorInputError(
                    f"Indicator setting {name} must be true or false, got {getattr(self, name)!r}"
                )
        days = self.syphilis_adequate_days
        if type(days) is not int or not 0 <= days <= 280:
            raise IndicatorInputError(
                "Indicator setting syphilis_adequate_days must be a whole number of days from 0 "
                f"to 280, got {days!r}"
            )
        if self.caesarean_basis not in CAESAREAN_BASES:
            raise IndicatorInputError(
                "Indicator setting caesarean_basis must be 'births' or 'women', got "
                f"{self.caesarean_basis!r}"
            )
        colours = self.case_managed_colours
        if isinstance(colours, str) or not all(isinstance(c, str) for c in colours):
            raise IndicatorInputError(
                "Indicator setting case_managed_colours must be a sequence of colour names, got "
                f"{colours!r}"
            )
        unknown = sorted(set(colours) - set(RISK_COLOURS))
        if unknown:
            raise IndicatorInputError(
                f"Unknown case-managed colour(s) {', '.join(unknown)}; choose from "
                f"{', '.join(RISK_COLOURS)}"
            )
        if not colours:
            raise IndicatorInputError("Indicator setting case_managed_colours must not be empty")
        # One canonical order, so that ("red", "orange") and ("orange", "red") are the same
        # settings and serialise identically.
        canonical = tuple(c for c in RISK_COLOURS if c in set(colours))
        object.__setattr__(self, "case_managed_colours", canonical)

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready dict, stored with each result."""
        return {
            "statistical_year": self.statistical_year,
            "caesarean_basis": self.caesarean_basis,
            "case_managed_colours": list(self.case_managed_colours),
            "anaemia_denominator_excludes_thalassaemia": (
                self.anaemia_denominator_excludes_thalassaemia
            ),
            "syphilis_adequate_days": self.syphilis_adequate_days,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> IndicatorSettings:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise IndicatorInputError(f"Unknown indicator setting(s): {', '.join(unknown)}")
        values = dict(data)
        if "case_managed_colours" in values:
            colours = values["case_managed_colours"]
            if isinstance(colours, list | tuple):
                values["case_managed_colours"] = tuple(colours)
        return cls(**values)  # type: ignore[arg-type]  # each field validates itself


DEFAULT_SETTINGS = IndicatorSettings()
