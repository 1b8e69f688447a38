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
PlanYear = Literal["statistical", "calendar"]
PLAN_YEARS: tuple[str, ...] = ("statistical", "calendar")


@dataclass(frozen=True)
class SettingInfo:
    """How a setting is documented: the environment variable the app reads it from, and what it
    changes, for docs/indicators.md and the notes sheet of an export."""

    env: str
    text_zh: str
    text_en: str


SETTING_INFO: Mapping[str, SettingInfo] = {
    "plan_year": SettingInfo(
        "MCH_INDICATOR_PLAN_YEAR",
        "规划目标按哪种年度监测：statistical（默认，统计年度，上年10月1日至当年9月30日，"
        "与年报一致）或 calendar（日历年）。早期预警按该年度的年末推算。"
        "两种年度的结果都会计算（SY2025 与 2025）。",
        "Which year the plan's targets are monitored on: statistical (default: the annual report's"
        " statistical year, 1 October to 30 September) or calendar. Early warnings project to the"
        " end of that year. Figures are computed for both (SY2025 and 2025).",
    ),
    "small_numbers_below": SettingInfo(
        "MCH_INDICATOR_SMALL_NUMBERS_BELOW",
        "分母小于该值（默认 20）的结果标注“小数字”：比率不稳定，达标情况记为“不可评估”，"
        "不产生预警。",
        'A result whose denominator is below this size (default 20) is flagged "small numbers":'
        ' the rate is unstable, its status is "not assessable" (neither met nor not met) and it'
        " raises no early warning.",
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
    "district_code": SettingInfo(
        "MCH_DISTRICT_CODE",
        "本区行政区划代码（GB/T 2260，默认 440115 南沙区）。区级数字按现住址统计："
        "住址镇街代码属本区，或住址区县为本区代码/名称的孕产妇；"
        "其余为非户籍/流动或住址不详，各列一行。",
        "The district's GB/T 2260 code (default 440115, Nansha). The district figure counts women"
        " by current address: a street code of the district, or an address district equal to"
        " this code or name; the others are the non_resident and address_unknown lines.",
    ),
    "district_name": SettingInfo(
        "MCH_DISTRICT_NAME",
        "本区名称（默认 南沙区），与住址中的区县名称比对。",
        "The district's name (default 南沙区), compared with the address's district text.",
    ),
    "hbig_hours": SettingInfo(
        "MCH_INDICATOR_HBIG_HOURS",
        "乙肝感染孕产妇所生儿童乙肝免疫球蛋白及时注射的时限（出生后小时数，含），默认12"
        "（《预防艾滋病、梅毒和乙肝母婴传播工作规范（2020年版）》）。",
        "Hours after birth within which the newborn's hepatitis B immunoglobulin counts as"
        " timely (inclusive); default 12 (the 2020 national PMTCT work specification).",
    ),
    "hepb_vaccine_hours": SettingInfo(
        "MCH_INDICATOR_HEPB_VACCINE_HOURS",
        "乙肝感染孕产妇所生儿童首针乙肝疫苗及时接种的时限（出生后小时数，含），默认24。",
        "Hours after birth within which the first hepatitis B vaccine dose counts as timely"
        " (inclusive); default 24.",
    ),
}


@dataclass(frozen=True)
class IndicatorSettings:
    """The rule variants in force. Frozen and validated, so a result can trust it."""

    plan_year: PlanYear = "statistical"
    small_numbers_below: int = 20
    caesarean_basis: CaesareanBasis = "births"
    case_managed_colours: tuple[str, ...] = ("orange", "red", "purple")
    anaemia_denominator_excludes_thalassaemia: bool = True
    syphilis_adequate_days: int = 30
    # Residence attribution (docs/indicator-rules.md, "Attribution"): which district the
    # district figure is of. The classification happens when a Patient is stored; these
    # values name it in every result.
    district_code: str = "440115"
    district_name: str = "南沙区"
    hbig_hours: int = 12
    hepb_vaccine_hours: int = 24

    def __post_init__(self) -> None:
        # `type(...) is bool`: a string "false" from an environment variable must not pass as
        # truthy; the app parses it before it gets here.
        for name in ("anaemia_denominator_excludes_thalassaemia",):
            if type(getattr(self, name)) is not bool:
                raise IndicatorInputError(
                    f"Indicator setting {name} must be true or false, got {getattr(self, name)!r}"
                )
        if self.plan_year not in PLAN_YEARS:
            raise IndicatorInputError(
                "Indicator setting plan_year must be 'statistical' or 'calendar', got "
                f"{self.plan_year!r}"
            )
        if type(self.small_numbers_below) is not int or self.small_numbers_below < 0:
            raise IndicatorInputError(
                "Indicator setting small_numbers_below must be a whole number >= 0, got "
                f"{self.small_numbers_below!r}"
            )
        for name in ("hbig_hours", "hepb_vaccine_hours"):
            hours = getattr(self, name)
            if type(hours) is not int or not 1 <= hours <= 24 * 28:
                raise IndicatorInputError(
                    f"Indicator setting {name} must be a whole number of hours from 1 to 672, "
                    f"got {hours!r}"
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
        for name in ("district_code", "district_name"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise IndicatorInputError(f"Indicator setting {name} must be a non-empty text")
        # One canonical order, so that ("red", "orange") and ("orange", "red") are the same
        # settings and serialise identically.
        canonical = tuple(c for c in RISK_COLOURS if c in set(colours))
        object.__setattr__(self, "case_managed_colours", canonical)

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready dict, stored with each result."""
        return {
            "plan_year": self.plan_year,
            "small_numbers_below": self.small_numbers_below,
            "caesarean_basis": self.caesarean_basis,
            "case_managed_colours": list(self.case_managed_colours),
            "anaemia_denominator_excludes_thalassaemia": (
                self.anaemia_denominator_excludes_thalassaemia
            ),
            "district_code": self.district_code,
            "district_name": self.district_name,
            "hbig_hours": self.hbig_hours,
            "hepb_vaccine_hours": self.hepb_vaccine_hours,
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
