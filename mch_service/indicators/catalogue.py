"""The indicator catalogue: what each indicator counts, as a monitoring officer reads it.

Declarative and versioned. Every stored result carries ``CATALOGUE_VERSION``; change the version
whenever an entry's meaning changes (tests/indicators/test_indicator_catalogue.py holds a
fingerprint per version, so an edit without a new version fails). The day-level rules behind the
text are in docs/indicator-rules.md; the calculation of each id is its entry in
``calculations.CALCULATIONS``. Entries are in keyword form: the definition (numerator and
denominator, in Chinese and English) sits beside the id it defines. How to add one:
docs/add-an-indicator.md.
Sources: /shared/INDICATORS.md (ids, names, plan targets, references) and
docs/indicator-rules.md (numerators, denominators, settings).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from mch_service.indicators.errors import IndicatorInputError
from mch_service.indicators.periods import PeriodKind
from mch_service.indicators.settings import SETTING_INFO

CATALOGUE_VERSION = "2026.2"

Unit = Literal["%", "‰", "per 100,000"]
Direction = Literal[">=", "<", "<="]
PeriodBasis = Literal["delivery_cohort", "event_date", "entered"]
Source = Literal["calculated", "external"]
Group = Literal["maternal_care", "infection", "risk", "outcomes", "who_anc", "external"]

UNIT_MULTIPLIERS: Mapping[str, int] = MappingProxyType(
    {"%": 100, "‰": 1000, "per 100,000": 100_000}
)
GROUP_TITLES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "maternal_care": ("孕产期保健", "Maternal care"),
        "infection": (
            "预防艾滋病、梅毒和乙肝母婴传播",
            "Prevention of mother-to-child transmission",
        ),
        "risk": ("妊娠风险与贫血", "Pregnancy risk and anaemia"),
        "outcomes": ("孕产妇与围产儿结局", "Maternal and perinatal outcomes"),
        "who_anc": ("WHO 产前保健对照指标", "WHO SMART ANC comparison set"),
        "external": ("外部填报指标", "Entered by the monitoring group (external)"),
    }
)
PERIOD_BASIS_TEXT: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "delivery_cohort": (
            "分娩队列：分娩日在统计期内",
            "Delivery cohort: delivery day in the period",
        ),
        "event_date": ("事件日期在统计期内", "Event day in the period"),
        "entered": ("由监测组按期填报", "Entered per period by the monitoring group"),
    }
)


@dataclass(frozen=True)
class Reference:
    """A national or WHO benchmark shown beside the figure; the plan target decides status."""

    source_zh: str
    source_en: str
    direction: Direction
    value: float


@dataclass(frozen=True)
class Indicator:
    id: str
    group: Group
    name_zh: str
    name_en: str
    numerator_zh: str
    numerator_en: str
    denominator_zh: str
    denominator_en: str
    unit: Unit
    period_basis: PeriodBasis
    target: float | None = None
    direction: Direction | None = None
    reference: Reference | None = None
    # IndicatorSettings field names whose value changes this indicator's result.
    settings: tuple[str, ...] = ()
    source: Source = "calculated"
    # The period kinds whose results show the rate; in the others the result shows the counts
    # only (status "count_only"). None: every kind.
    rate_periods: tuple[PeriodKind, ...] | None = None
    # A reading note shown with the definition (e.g. how far one event moves a small figure).
    note_zh: str = ""
    note_en: str = ""
    # A local indicator (本地指标): not in the national statistical system; its name says so.
    local: bool = False

    def __post_init__(self) -> None:
        if (self.target is None) != (self.direction is None):
            raise ValueError(f"{self.id}: a target needs a direction and vice versa")
        if self.unit not in UNIT_MULTIPLIERS:
            raise ValueError(f"{self.id}: unknown unit {self.unit!r}")
        unknown = [s for s in self.settings if s not in SETTING_INFO]
        if unknown:
            raise ValueError(f"{self.id}: unknown setting(s) {unknown}")
        if self.local != ("（本地）" in self.name_zh):
            raise ValueError(f"{self.id}: a local indicator, and only it, is named （本地）")
        if (self.source == "external") != (self.period_basis == "entered"):
            raise ValueError(f"{self.id}: external indicators, and only they, are entered")

    @property
    def multiplier(self) -> int:
        return UNIT_MULTIPLIERS[self.unit]


# Denominator wordings shared by many indicators (docs/indicator-rules.md, "The indicators").
_LIVE_BIRTHS_ZH = "统计期内分娩产妇的活产数（双胎计 2 个）"
_LIVE_BIRTHS_EN = "Live births of the women delivered in the period (twins count twice)"
_WOMEN_ZH = "统计期内分娩的产妇数"
_WOMEN_EN = "Women delivered in the period"
_COHORT: PeriodBasis = "delivery_cohort"
# The small-numbers flag is on every calculated result.
_EVERY = ("small_numbers_below",)
# Per-100,000 figures of a district are read per year (calendar or statistical) or over a
# rolling 12 months: one death or case moves the ratio by about 10 per 100,000 at district size.
_YEARLY: tuple[PeriodKind, ...] = ("year", "statistical_year", "rolling_year")
_SYPHILIS_INFECTED_ZH = (
    "统计期内分娩的梅毒感染产妇数（妊娠期内梅毒螺旋体抗原血清学试验与非螺旋体抗原血清学试验均阳性，"
    "或出院前诊断）"
)
_SYPHILIS_INFECTED_EN = (
    "Syphilis-infected women delivered in the period (a treponemal and a non-treponemal test "
    "both positive in the pregnancy, or a diagnosis on or before discharge)"
)

_INFECTIONS = (
    # id prefix, Chinese name, English name
    ("hiv", "艾滋病", "HIV"),
    ("syphilis", "梅毒", "syphilis"),
    ("hbsag", "乙肝表面抗原", "HBsAg"),
)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _infection_tests() -> tuple[Indicator, ...]:
    entries: list[Indicator] = []
    for code, zh, en in _INFECTIONS:
        entries.append(
            Indicator(
                id=f"{code}_test_rate",
                group="infection",
                name_zh=f"孕产妇{zh}检测率",
                name_en=f"{_capital(en)} testing rate, pregnancy and delivery",
                numerator_zh=f"统计期内分娩的产妇中，孕期或分娩时（妊娠开始至出院）接受{zh}检测者",
                numerator_en=(
                    f"Women delivered in the period who were tested for {en} during pregnancy or "
                    "at delivery (pregnancy start to discharge)"
                ),
                denominator_zh=_WOMEN_ZH,
                denominator_en=_WOMEN_EN,
                unit="%",
                period_basis=_COHORT,
                target=98.0,
                direction=">=",
                settings=_EVERY,
            )
        )
    for code, zh, en in _INFECTIONS:
        entries.append(
            Indicator(
                id=f"{code}_test_in_pregnancy_rate",
                group="infection",
                name_zh=f"孕期{zh}检测率",
                name_en=f"{_capital(en)} testing rate in pregnancy",
                numerator_zh=f"统计期内分娩的产妇中，孕期（分娩入院日之前）接受{zh}检测者",
                numerator_en=(
                    f"Women delivered in the period who were tested for {en} during pregnancy "
                    "(before the delivery admission day)"
                ),
                denominator_zh=_WOMEN_ZH,
                denominator_en=_WOMEN_EN,
                unit="%",
                period_basis=_COHORT,
                settings=_EVERY,
            )
        )
    for code, zh, en in _INFECTIONS:
        entries.append(
            Indicator(
                id=f"{code}_early_test_rate",
                group="infection",
                name_zh=f"孕早期{zh}检测率",
                name_en=f"{_capital(en)} testing rate in early pregnancy",
                numerator_zh=f"统计期内分娩的产妇中，孕13周前（检测日孕龄<91天）接受{zh}检测者",
                numerator_en=(
                    f"Women delivered in the period who were tested for {en} before 13+0 weeks "
                    "(GA < 91 days on the test day)"
                ),
                denominator_zh=_WOMEN_ZH,
                denominator_en=_WOMEN_EN,
                unit="%",
                period_basis=_COHORT,
                reference=Reference(
                    source_zh="国家参考值",
                    source_en="National reference",
                    direction=">=",
                    value=70.0,
                ),
                settings=_EVERY,
            )
        )
    return tuple(entries)


# Infants of infected mothers (docs/indicator-rules.md, "Infants of infected mothers"):
# 《预防艾滋病、梅毒和乙肝母婴传播工作规范（2020年版）》 defines the measures; the ≥ 95% of the
# national elimination action plan is shown as a reference, not a plan target.
_EMTCT_PLAN = Reference(
    source_zh="《消除艾滋病、梅毒和乙肝母婴传播行动计划（2022—2025年）》",
    source_en="National EMTCT action plan 2022-2025",
    direction=">=",
    value=95.0,
)
_EXPOSED_INFANTS: tuple[tuple[str, str, str, str, str, str, str, tuple[str, ...], bool], ...] = (
    (
        "hbig_12h_rate",
        "乙肝感染孕产妇所生儿童乙肝免疫球蛋白12小时内注射率",
        "HBIG within 12 hours, infants of HBsAg-positive women",
        "出生后12小时内（按设置）注射乙肝免疫球蛋白者；出生时间或注射时间不详者不计入",
        "those given hepatitis B immunoglobulin within 12 hours of birth (by setting); a baby "
        "whose birth or injection time is unknown is not counted",
        "乙肝表面抗原阳性",
        "HBsAg-positive",
        ("hbig_hours",),
        True,
    ),
    (
        "hepb_vaccine_24h_rate",
        "乙肝感染孕产妇所生儿童首针乙肝疫苗及时接种率",
        "First hepatitis B vaccine dose on time, infants of HBsAg-positive women",
        "出生后24小时内（按设置）接种首针乙肝疫苗者；出生时间或接种时间不详者不计入",
        "those given the first hepatitis B vaccine dose within 24 hours of birth (by setting); "
        "a baby whose birth or vaccination time is unknown is not counted",
        "乙肝表面抗原阳性",
        "HBsAg-positive",
        ("hepb_vaccine_hours",),
        False,
    ),
    (
        "hiv_exposed_infant_arv_rate",
        "艾滋病感染孕产妇所生儿童抗病毒用药率",
        "Antiretroviral prophylaxis rate, infants of HIV-positive women",
        "有本人（儿童）抗病毒用药记录者",
        "those with an antiretroviral record of their own (the child as its subject)",
        "艾滋病感染",
        "HIV-positive",
        (),
        True,
    ),
    (
        "syphilis_exposed_infant_prophylaxis_rate",
        "梅毒感染孕产妇所生儿童预防性治疗率",
        "Preventive treatment rate, infants of syphilis-positive women",
        "有本人（儿童）青霉素类（ATC J01CE）治疗记录者",
        "those with a penicillin (ATC J01CE) record of their own (the child as its subject)",
        "梅毒感染",
        "syphilis-positive",
        (),
        True,
    ),
)

CATALOGUE: tuple[Indicator, ...] = (
    Indicator(
        id="systematic_management_rate",
        group="maternal_care",
        name_zh="孕产妇系统管理率",
        name_en="Maternal systematic management rate",
        numerator_zh=(
            "统计期内分娩的产妇中，同时满足以下四项者：孕13周前（孕龄<91天）首次产前检查或建册；"
            "产前检查≥5次；住院分娩；出院后28天内接受产后访视"
        ),
        numerator_en=(
            "Women delivered in the period who had all of: first contact (booking or prenatal "
            "check) before 13+0 weeks (GA < 91 days); ≥ 5 prenatal checks; a facility delivery; a "
            "postpartum visit within 28 days of discharge"
        ),
        denominator_zh=_LIVE_BIRTHS_ZH,
        denominator_en=_LIVE_BIRTHS_EN,
        unit="%",
        period_basis=_COHORT,
        target=90.0,
        direction=">=",
        settings=_EVERY,
    ),
    Indicator(
        id="early_registration_rate",
        group="maternal_care",
        name_zh="早孕建册率",
        name_en="Early pregnancy registration rate",
        numerator_zh="统计期内分娩的产妇中，孕13周前（孕龄<91天）建册或首次产前检查者",
        numerator_en=(
            "Women delivered in the period whose booking or first prenatal check was before 13+0 "
            "weeks (GA < 91 days)"
        ),
        denominator_zh=_LIVE_BIRTHS_ZH,
        denominator_en=_LIVE_BIRTHS_EN,
        unit="%",
        period_basis=_COHORT,
        settings=_EVERY,
    ),
    Indicator(
        id="prenatal_care_rate",
        group="maternal_care",
        name_zh="产前检查率",
        name_en="Prenatal care rate",
        numerator_zh="统计期内分娩的产妇中，产前检查≥1次者",
        numerator_en="Women delivered in the period with ≥ 1 prenatal check",
        denominator_zh=_LIVE_BIRTHS_ZH,
        denominator_en=_LIVE_BIRTHS_EN,
        unit="%",
        period_basis=_COHORT,
        reference=Reference(
            source_zh="WHO 消除母婴传播认证",
            source_en="WHO EMTCT validation",
            direction=">=",
            value=95.0,
        ),
        settings=_EVERY,
    ),
    Indicator(
        id="prenatal_5plus_rate",
        group="maternal_care",
        name_zh="产前检查≥5次率",
        name_en="Rate of ≥ 5 prenatal checks",
        numerator_zh="统计期内分娩的产妇中，产前检查≥5次者（分娩入院日之前有产前检查的不同日数）",
        numerator_en=(
            "Women delivered in the period with ≥ 5 prenatal checks (distinct days with a prenatal "
            "visit before the delivery admission day)"
        ),
        denominator_zh=_LIVE_BIRTHS_ZH,
        denominator_en=_LIVE_BIRTHS_EN,
        unit="%",
        period_basis=_COHORT,
        settings=_EVERY,
    ),
    Indicator(
        id="postpartum_visit_rate",
        group="maternal_care",
        name_zh="产后访视率",
        name_en="Postpartum visit rate",
        numerator_zh="统计期内分娩的产妇中，出院后28天内（含出院当天）接受产后访视者",
        numerator_en=(
            "Women delivered in the period with a postpartum visit within 28 days of discharge "
            "(discharge day included)"
        ),
        denominator_zh=_LIVE_BIRTHS_ZH,
        denominator_en=_LIVE_BIRTHS_EN,
        unit="%",
        period_basis=_COHORT,
        settings=_EVERY,
    ),
    Indicator(
        id="postpartum_42d_check_rate",
        group="maternal_care",
        name_zh="产后42天健康检查率",
        name_en="42-day postpartum check rate",
        numerator_zh="统计期内分娩的产妇中，产后第35至56天接受产后42天健康检查者",
        numerator_en=(
            "Women delivered in the period with the 42-day postpartum check (days 35 to 56 after "
            "delivery)"
        ),
        denominator_zh=_WOMEN_ZH,
        denominator_en=_WOMEN_EN,
        unit="%",
        period_basis=_COHORT,
        settings=_EVERY,
    ),
    Indicator(
        id="postpartum_depression_screening_rate",
        group="maternal_care",
        name_zh="产后抑郁筛查率（本地）",
        name_en="Postpartum depression screening rate (local)",
        numerator_zh="统计期内分娩的产妇中，产后第35至56天（产后42天检查）有爱丁堡产后抑郁量表（EPDS）评分者",
        numerator_en=(
            "Women delivered in the period with an Edinburgh Postnatal Depression Scale (EPDS) "
            "score recorded 35 to 56 days after delivery (the 42-day check)"
        ),
        denominator_zh=_WOMEN_ZH,
        denominator_en=_WOMEN_EN,
        unit="%",
        period_basis=_COHORT,
        settings=_EVERY,
        local=True,
    ),
    Indicator(
        id="facility_delivery_rate",
        group="maternal_care",
        name_zh="住院分娩率",
        name_en="Facility delivery rate",
        numerator_zh="统计期内在医疗机构（非家庭）分娩的活产数",
        numerator_en=(
            "Live births of the period's deliveries that took place in a facility (not at home)"
        ),
        denominator_zh=_LIVE_BIRTHS_ZH,
        denominator_en=_LIVE_BIRTHS_EN,
        unit="%",
        period_basis=_COHORT,
        settings=_EVERY,
    ),
    Indicator(
        id="caesarean_rate",
        group="maternal_care",
        name_zh="剖宫产率",
        name_en="Caesarean section rate",
        numerator_zh="统计期内剖宫产的活产数；设置为 women 时：剖宫产的产妇数",
        numerator_en=(
            "Live births by caesarean section among the period's deliveries; with the women basis: "
            "women delivered by caesarean"
        ),
        denominator_zh=f"{_LIVE_BIRTHS_ZH}；设置为 women 时：{_WOMEN_ZH}",
        denominator_en=f"{_LIVE_BIRTHS_EN}; with the women basis: {_WOMEN_EN.lower()}",
        unit="%",
        period_basis=_COHORT,
        settings=(*_EVERY, "caesarean_basis"),
    ),
    *_infection_tests(),
    Indicator(
        id="hiv_treatment_rate",
        group="infection",
        name_zh="艾滋病感染孕产妇抗病毒用药率",
        name_en="Antiretroviral treatment rate of HIV-positive women",
        numerator_zh=(
            "统计期内分娩的艾滋病感染产妇中，抗病毒用药（HIV 抗病毒药物）疗程与妊娠期"
            "（妊娠开始至出院）有重叠者（孕前开始并持续用药者计入）"
        ),
        numerator_en=(
            "HIV-infected women delivered in the period with an antiretroviral (HIV ART) regimen "
            "overlapping the pregnancy (pregnancy start to discharge; ART started before the LMP "
            "and continued counts)"
        ),
        denominator_zh=(
            "统计期内分娩的艾滋病感染产妇数（出院前确证试验阳性或诊断；仅筛查有反应不计）"
        ),
        denominator_en=(
            "HIV-infected women delivered in the period (a positive confirmatory test or a "
            "diagnosis on or before discharge; a reactive screening test alone does not count)"
        ),
        unit="%",
        period_basis=_COHORT,
        target=95.0,
        direction=">=",
        settings=_EVERY,
    ),
    Indicator(
        id="syphilis_treatment_rate",
        group="infection",
        name_zh="梅毒感染孕产妇治疗率",
        name_en="Treatment rate of syphilis-positive women",
        numerator_zh=(
            "统计期内分娩的梅毒感染产妇中，梅毒治疗（青霉素类；头孢曲松、红霉素须有梅毒用药指征）"
            "疗程与妊娠期（妊娠开始至出院）有重叠者"
        ),
        numerator_en=(
            "Syphilis-infected women delivered in the period with a syphilis regimen (penicillin; "
            "ceftriaxone or erythromycin only with a syphilis indication) overlapping the "
            "pregnancy (pregnancy start to discharge)"
        ),
        denominator_zh=_SYPHILIS_INFECTED_ZH,
        denominator_en=_SYPHILIS_INFECTED_EN,
        unit="%",
        period_basis=_COHORT,
        target=95.0,
        direction=">=",
        settings=_EVERY,
    ),
    Indicator(
        id="syphilis_adequate_treatment_rate",
        group="infection",
        name_zh="梅毒感染孕产妇规范治疗率",
        name_en="Adequate treatment rate of syphilis-infected women",
        numerator_zh=(
            "统计期内分娩的梅毒感染产妇中，青霉素治疗开始日早于分娩日至少 N 天者（默认 30 天；"
            "国家规范要求分娩前完成规范疗程，此为本地操作化）"
        ),
        numerator_en=(
            "Syphilis-infected women delivered in the period whose penicillin treatment started "
            "at least N days before the delivery day (default 30; the national norm asks for a "
            "full course completed before delivery, of which this is the local "
            "operationalisation)"
        ),
        denominator_zh=_SYPHILIS_INFECTED_ZH,
        denominator_en=_SYPHILIS_INFECTED_EN,
        unit="%",
        period_basis=_COHORT,
        settings=(*_EVERY, "syphilis_adequate_days"),
    ),
    Indicator(
        id="high_risk_proportion",
        group="risk",
        name_zh="高危孕产妇比例",
        name_en="Proportion of high-risk women",
        numerator_zh="统计期内分娩的产妇中，孕期最高风险颜色为黄、橙或红，或有紫色标识者",
        numerator_en=(
            "Women delivered in the period whose highest risk colour in pregnancy was yellow, "
            "orange or red, or who were graded purple"
        ),
        denominator_zh=_WOMEN_ZH,
        denominator_en=_WOMEN_EN,
        unit="%",
        period_basis=_COHORT,
        settings=_EVERY,
    ),
    Indicator(
        id="high_risk_management_rate",
        group="risk",
        name_zh="高危孕产妇管理率",
        name_en="High-risk women management rate",
        numerator_zh=(
            "分母中，首次评为非绿色之后（次日起）至产后28天内有再次妊娠风险评估（动态评估）或专案随访"
            "记录者（仅有产前检查不计）"
        ),
        numerator_en=(
            "Of the denominator, the women re-assessed for risk (another assessment) or with a "
            "follow-up recorded in the case register after their first non-green assessment (a "
            "later day) up to 28 days after delivery; a prenatal visit alone does not count"
        ),
        denominator_zh="统计期内分娩的产妇中，孕期最高风险颜色为黄、橙或红，或有紫色标识者",
        denominator_en=(
            "Women delivered in the period whose highest risk colour in pregnancy was yellow, "
            "orange or red, or who were graded purple"
        ),
        unit="%",
        period_basis=_COHORT,
        settings=_EVERY,
    ),
    Indicator(
        id="high_risk_case_management_rate",
        group="risk",
        name_zh="高危孕产妇专案管理率",
        name_en="High-risk case management rate (专案管理)",
        numerator_zh=(
            "分母中，首次评为专案管理颜色后按时报告建案（橙色3天、红色24小时内），且按颜色规定间隔"
            "随访（红7天、橙14天、紫14天）至产后42天或结案者"
        ),
        numerator_en=(
            "Of the denominator, the women whose case was opened within the reporting limit of "
            "their first case-managed assessment (orange 3 days, red 24 hours) and followed up "
            "at the colour's interval (red 7, orange 14, purple 14 days) until 42 days "
            "postpartum or the case's closing"
        ),
        denominator_zh=(
            "统计期内分娩的产妇中，孕期最高风险颜色（或紫色标识）属于专案管理颜色者（默认橙、红、"
            "紫）"
        ),
        denominator_en=(
            "Women delivered in the period whose highest colour (or purple flag) was in the "
            "case-managed set (default orange, red, purple)"
        ),
        unit="%",
        period_basis=_COHORT,
        settings=(*_EVERY, "case_managed_colours"),
    ),
    Indicator(
        id="high_risk_facility_delivery_rate",
        group="risk",
        name_zh="高危孕产妇住院分娩率",
        name_en="Facility delivery rate of high-risk women",
        numerator_zh="分母中，在医疗机构分娩（非家庭分娩）者",
        numerator_en="Of the denominator, the women delivered in a facility (not at home)",
        denominator_zh="统计期内分娩的产妇中，孕期最高风险颜色为黄、橙或红，或有紫色标识者",
        denominator_en=(
            "Women delivered in the period whose highest risk colour in pregnancy was yellow, "
            "orange or red, or who were graded purple"
        ),
        unit="%",
        period_basis=_COHORT,
        settings=_EVERY,
    ),
    Indicator(
        id="anaemia_prevalence_non_thalassaemia",
        group="risk",
        name_zh="孕妇非地贫贫血患病率",
        name_en="Anaemia prevalence in pregnancy, thalassaemia excluded",
        numerator_zh=(
            "统计期内分娩的产妇中，妊娠开始至分娩入院日任一次血红蛋白<110 g/L且无地中海贫血诊断或"
            "携带者结果者"
        ),
        numerator_en=(
            "Women delivered in the period with any haemoglobin < 110 g/L from the pregnancy start "
            "to the delivery admission day and no thalassaemia diagnosis or carrier result"
        ),
        denominator_zh=(
            "统计期内分娩的产妇中，妊娠开始至分娩入院日至少有1次血红蛋白结果者（默认剔除地贫孕妇；"
            "按设置可保留）"
        ),
        denominator_en=(
            "Women delivered in the period with ≥ 1 haemoglobin result from the pregnancy start to "
            "the delivery admission day (women with thalassaemia left out by default; by setting, "
            "kept)"
        ),
        unit="%",
        period_basis=_COHORT,
        target=10.0,
        direction="<",
        settings=(*_EVERY, "anaemia_denominator_excludes_thalassaemia"),
    ),
    Indicator(
        id="maternal_mortality_ratio",
        group="outcomes",
        name_zh="孕产妇死亡率",
        name_en="Maternal mortality ratio",
        numerator_zh=(
            "死亡日在统计期内的孕产妇死亡数：妊娠期或妊娠结束后42天内死亡，仅不含意外及偶然原因"
            "（ICD-10 V01–X59 意外、X85–Y09 加害、Y10–Y36 意图不明/依法处置/战争）；医疗并发症"
            "（Y40–Y84）计为直接产科死亡；自杀（X60–X84）计入并待监测组审核；含孕产妇死亡报告卡"
            "补报的死亡（同一妇女只计一次），不含审核排除的死亡"
        ),
        numerator_en=(
            "Maternal deaths with the death day in the period: death during pregnancy or within 42 "
            "days of its end; only accidental and incidental causes are excluded (ICD-10 V01-X59 "
            "accidents, X85-Y09 assault, Y10-Y36 undetermined intent, legal intervention, war); "
            "complications of medical and surgical care (Y40-Y84) count as direct obstetric "
            "deaths; suicide (X60-X84) counts, pending the monitoring group's review; deaths "
            "entered from the maternal death report card count (once per woman), deaths "
            "excluded on review do not"
        ),
        denominator_zh=_LIVE_BIRTHS_ZH,
        denominator_en=_LIVE_BIRTHS_EN,
        unit="per 100,000",
        period_basis="event_date",
        target=7.5,
        direction="<",
        settings=_EVERY,
        rate_periods=_YEARLY,
        note_zh=(
            "请同时看死亡数与活产数：区级每年约一万活产，一例死亡即使比率变化约10/10万；"
            "比率宜按年度或滚动12个月解读"
        ),
        note_en=(
            "Read the count of deaths and of live births beside the ratio: with about 10,000 "
            "live births a year in a district, one death moves the ratio by about 10 per "
            "100,000; read the ratio for a year or a rolling 12 months"
        ),
    ),
    Indicator(
        id="severe_maternal_morbidity_ratio",
        group="outcomes",
        name_zh="危重孕产妇发生率",
        name_en="Severe maternal morbidity ratio",
        numerator_zh=(
            "统计期内分娩的产妇中，自妊娠开始至产后42天内有危重孕产妇（WHO 孕产妇濒死标准）"
            "诊断记录的人数（数据源报送时）"
        ),
        numerator_en=(
            "Women delivered in the period with a severe maternal morbidity (near-miss, WHO "
            "criteria) record from the pregnancy start to 42 days after the delivery (where "
            "the feed carries it)"
        ),
        denominator_zh=_LIVE_BIRTHS_ZH,
        denominator_en=_LIVE_BIRTHS_EN,
        unit="‰",
        period_basis=_COHORT,
        settings=_EVERY,
    ),
    Indicator(
        id="congenital_syphilis_rate",
        group="outcomes",
        name_zh="先天梅毒报告发病率",
        name_en="Reported congenital syphilis incidence",
        numerator_zh=(
            "首次诊断日在统计期内的先天梅毒病例数（按儿童计，同一儿童多次或多家机构诊断计1例；"
            "ICD-10 A50）"
        ),
        numerator_en=(
            "Congenital syphilis cases (ICD-10 A50) whose first diagnosis is recorded in the "
            "period, counted per child (one child diagnosed again or elsewhere is one case)"
        ),
        denominator_zh=_LIVE_BIRTHS_ZH,
        denominator_en=_LIVE_BIRTHS_EN,
        unit="per 100,000",
        period_basis="event_date",
        target=15.0,
        direction="<",
        settings=_EVERY,
        rate_periods=_YEARLY,
    ),
    *(
        Indicator(
            id=indicator_id,
            group="infection",
            name_zh=name_zh,
            name_en=name_en,
            numerator_zh=f"分母中，{numerator_zh}",
            numerator_en=f"Of the denominator, {numerator_en}",
            denominator_zh=f"统计期内分娩的{mother_zh}孕产妇的活产数（双胎计 2 个）",
            denominator_en=(
                f"Live births of the {mother_en} women delivered in the period (twins count twice)"
            ),
            unit="%",
            period_basis=_COHORT,
            reference=_EMTCT_PLAN if with_reference else None,
            settings=(*_EVERY, *settings),
        )
        for (
            indicator_id,
            name_zh,
            name_en,
            numerator_zh,
            numerator_en,
            mother_zh,
            mother_en,
            settings,
            with_reference,
        ) in _EXPOSED_INFANTS
    ),
    Indicator(
        id="perinatal_mortality_rate",
        group="outcomes",
        name_zh="围产儿死亡率",
        name_en="Perinatal mortality rate",
        numerator_zh=(
            "统计期内分娩的孕满28周（196天；孕周不详时出生体重≥1000克）的死胎死产数 + "
            "出生后0至6天内死亡的活产新生儿数"
        ),
        numerator_en=(
            "Stillbirths at ≥ 28+0 weeks (196 days; weight ≥ 1000 g when GA is unknown) + live "
            "births who died 0 to 6 days after birth, among the period's deliveries"
        ),
        denominator_zh="上述死胎死产数 + 活产数",
        denominator_en="Those stillbirths + live births of the period's deliveries",
        unit="‰",
        period_basis=_COHORT,
        settings=_EVERY,
    ),
    Indicator(
        id="low_birth_weight_rate",
        group="outcomes",
        name_zh="低出生体重儿百分比",
        name_en="Low birth weight rate",
        numerator_zh="统计期内分娩的出生体重<2500克的活产数",
        numerator_en="Live births weighing < 2500 g among the period's deliveries",
        denominator_zh=_LIVE_BIRTHS_ZH,
        denominator_en=_LIVE_BIRTHS_EN,
        unit="%",
        period_basis=_COHORT,
        settings=_EVERY,
    ),
    Indicator(
        id="preterm_birth_rate",
        group="outcomes",
        name_zh="早产率",
        name_en="Preterm birth rate",
        numerator_zh="统计期内分娩的活产中，分娩孕周<37周（孕龄<259天）者",
        numerator_en=(
            "Live births of the period's deliveries born before 37+0 weeks (GA < 259 days)"
        ),
        denominator_zh=_LIVE_BIRTHS_ZH,
        denominator_en=_LIVE_BIRTHS_EN,
        unit="%",
        period_basis=_COHORT,
        settings=_EVERY,
    ),
    Indicator(
        id="macrosomia_rate",
        group="outcomes",
        name_zh="巨大儿发生率",
        name_en="Macrosomia rate",
        numerator_zh="统计期内分娩的出生体重≥4000克的活产数",
        numerator_en="Live births weighing ≥ 4000 g among the period's deliveries",
        denominator_zh=_LIVE_BIRTHS_ZH,
        denominator_en=_LIVE_BIRTHS_EN,
        unit="%",
        period_basis=_COHORT,
        settings=_EVERY,
    ),
    Indicator(
        id="thalassaemia_screening_rate",
        group="risk",
        name_zh="孕妇地中海贫血筛查率",
        name_en="Thalassaemia screening rate in pregnancy",
        numerator_zh="统计期内分娩的产妇中，妊娠开始至分娩入院日有地中海贫血筛查记录者",
        numerator_en=(
            "Women delivered in the period with a thalassaemia screening record from the "
            "pregnancy start to the delivery admission day"
        ),
        denominator_zh=_WOMEN_ZH,
        denominator_en=_WOMEN_EN,
        unit="%",
        period_basis=_COHORT,
        settings=_EVERY,
    ),
    Indicator(
        id="prenatal_screening_rate",
        group="maternal_care",
        name_zh="产前筛查率",
        name_en="Prenatal screening rate",
        numerator_zh=(
            "统计期内分娩的产妇中，妊娠开始至分娩入院日有产前筛查（血清学筛查或胎儿游离DNA检测）"
            "记录者"
        ),
        numerator_en=(
            "Women delivered in the period with a prenatal screening record (serum screening or "
            "cell-free fetal DNA test) from the pregnancy start to the delivery admission day"
        ),
        denominator_zh=_WOMEN_ZH,
        denominator_en=_WOMEN_EN,
        unit="%",
        period_basis=_COHORT,
        settings=_EVERY,
    ),
    Indicator(
        id="prenatal_diagnosis_rate",
        group="maternal_care",
        name_zh="产前诊断率",
        name_en="Prenatal diagnosis rate",
        numerator_zh=(
            "统计期内分娩的产妇中，妊娠开始至分娩入院日接受产前诊断操作（羊膜腔穿刺、绒毛取样、"
            "脐血管穿刺）者"
        ),
        numerator_en=(
            "Women delivered in the period with a prenatal diagnosis procedure (amniocentesis, "
            "chorionic villus sampling, cordocentesis) from the pregnancy start to the delivery "
            "admission day"
        ),
        denominator_zh=_WOMEN_ZH,
        denominator_en=_WOMEN_EN,
        unit="%",
        period_basis=_COHORT,
        settings=_EVERY,
    ),
    Indicator(
        id="who_anc_first_contact_12w_rate",
        group="who_anc",
        name_zh="孕12周前首次产前接触率（WHO）",
        name_en="First ANC contact at ≤ 12 weeks (WHO)",
        numerator_zh="统计期内分娩的产妇中，首次产前接触孕龄≤84天（12+0周含）者",
        numerator_en=(
            "Women delivered in the period with the first contact at GA ≤ 84 days (12+0 weeks "
            "included)"
        ),
        denominator_zh=_WOMEN_ZH,
        denominator_en=_WOMEN_EN,
        unit="%",
        period_basis=_COHORT,
        settings=_EVERY,
    ),
    Indicator(
        id="who_anc_4plus_rate",
        group="who_anc",
        name_zh="产前接触≥4次率（WHO）",
        name_en="≥ 4 ANC contacts (WHO)",
        numerator_zh="统计期内分娩的产妇中，产前检查≥4次者",
        numerator_en="Women delivered in the period with ≥ 4 prenatal checks",
        denominator_zh=_WOMEN_ZH,
        denominator_en=_WOMEN_EN,
        unit="%",
        period_basis=_COHORT,
        settings=_EVERY,
    ),
    Indicator(
        id="who_anc_8plus_rate",
        group="who_anc",
        name_zh="产前接触≥8次率（WHO）",
        name_en="≥ 8 ANC contacts (WHO)",
        numerator_zh="统计期内分娩的产妇中，产前检查≥8次者",
        numerator_en="Women delivered in the period with ≥ 8 prenatal checks",
        denominator_zh=_WOMEN_ZH,
        denominator_en=_WOMEN_EN,
        unit="%",
        period_basis=_COHORT,
        settings=_EVERY,
    ),
    # Not derivable from hospital feeds: other programmes own them, and the monitoring group
    # enters the figure so it can be seen beside the rest (INDICATORS.md).
    Indicator(
        id="premarital_examination_rate",
        group="external",
        name_zh="婚前医学检查率",
        name_en="Premarital medical examination rate",
        numerator_zh="统计期内接受婚前医学检查的人数（婚前保健项目口径）",
        numerator_en=(
            "People who had a premarital medical examination in the period (as the premarital care "
            "programme reports it)"
        ),
        denominator_zh="同期结婚登记人数",
        denominator_en="People registering a marriage in the period",
        unit="%",
        period_basis="entered",
        target=65.0,
        direction=">=",
        source="external",
    ),
    Indicator(
        id="prepregnancy_check_rate",
        group="external",
        name_zh="孕前优生健康检查率",
        name_en="Pre-pregnancy health check rate",
        numerator_zh="统计期内接受孕前优生健康检查的目标人群数（孕前优生项目口径）",
        numerator_en=(
            "People in the target group who had the pre-pregnancy health check in the period (as "
            "the pre-pregnancy programme reports it)"
        ),
        denominator_zh="同期目标人群数（计划怀孕夫妇）",
        denominator_en="Target group in the period (couples planning a pregnancy)",
        unit="%",
        period_basis="entered",
        target=80.0,
        direction=">=",
        source="external",
    ),
    Indicator(
        id="hiv_mtct_rate",
        group="infection",
        name_zh="艾滋病母婴传播率",
        name_en="HIV mother-to-child transmission rate",
        numerator_zh=(
            "HIV 感染孕产妇所生儿童中，随访至18月龄确诊感染 HIV 的人数（预防母婴传播项目口径）"
        ),
        numerator_en=(
            "Children of HIV-positive mothers found HIV-infected at the 18-month follow-up (as "
            "the PMTCT programme reports it)"
        ),
        denominator_zh="同期完成18月龄随访的 HIV 感染孕产妇所生儿童数",
        denominator_en="Children of HIV-positive mothers with the 18-month follow-up completed",
        unit="%",
        period_basis="entered",
        target=2.0,
        direction="<",
        source="external",
    ),
    Indicator(
        id="cervical_cancer_screening_rate",
        group="external",
        name_zh="宫颈癌筛查率",
        name_en="Cervical cancer screening rate",
        numerator_zh="接受宫颈癌筛查的适龄妇女数（宫颈癌筛查项目口径）",
        numerator_en=(
            "Women of the screening age who were screened for cervical cancer (as the screening "
            "programme reports it)"
        ),
        denominator_zh="同期适龄妇女数",
        denominator_en="Women of the screening age",
        unit="%",
        period_basis="entered",
        target=70.0,
        direction=">=",
        source="external",
    ),
)

BY_ID: Mapping[str, Indicator] = MappingProxyType({i.id: i for i in CATALOGUE})
if len(BY_ID) != len(CATALOGUE):  # pragma: no cover - a duplicated id is a programming error
    raise RuntimeError("duplicate indicator id in the catalogue")

CALCULATED: tuple[Indicator, ...] = tuple(i for i in CATALOGUE if i.source == "calculated")
EXTERNAL: tuple[Indicator, ...] = tuple(i for i in CATALOGUE if i.source == "external")


def get_indicator(indicator_id: str) -> Indicator:
    try:
        return BY_ID[indicator_id]
    except KeyError:
        raise IndicatorInputError(f"Unknown indicator {indicator_id!r}") from None
