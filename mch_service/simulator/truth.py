"""The expected indicators and work lists, computed from the simulator's own facts with the
rules of docs/indicator-rules.md. Independent of the service: no service code is imported, so
the two implementations can check each other.

Pure functions over ``PregnancyFacts``; no clock, no I/O. The rule each step implements is
quoted in the comments so that a reader can hold the code against the document.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from mch_service.simulator.facts import (
    INFECTIONS,
    POSTPARTUM_VISITS,
    PRENATAL_VISITS,
    SEVERITY,
    CongenitalSyphilis,
    LabTest,
    MaternalDeath,
    Newborn,
    PregnancyFacts,
)
from mch_service.simulator.params import TruthSettings

# docs/indicator-rules.md, "The indicators", in table order.
INDICATORS: tuple[str, ...] = (
    "systematic_management_rate",
    "early_registration_rate",
    "prenatal_care_rate",
    "prenatal_5plus_rate",
    "postpartum_visit_rate",
    "postpartum_42d_check_rate",
    "postpartum_depression_screening_rate",
    "facility_delivery_rate",
    "caesarean_rate",
    "hiv_test_rate",
    "syphilis_test_rate",
    "hbsag_test_rate",
    "hiv_test_in_pregnancy_rate",
    "syphilis_test_in_pregnancy_rate",
    "hbsag_test_in_pregnancy_rate",
    "hiv_early_test_rate",
    "syphilis_early_test_rate",
    "hbsag_early_test_rate",
    "hiv_treatment_rate",
    "syphilis_treatment_rate",
    "syphilis_adequate_treatment_rate",
    "maternal_mortality_ratio",
    "high_risk_proportion",
    "high_risk_management_rate",
    "high_risk_case_management_rate",
    "high_risk_facility_delivery_rate",
    "anaemia_prevalence_non_thalassaemia",
    "congenital_syphilis_rate",
    "perinatal_mortality_rate",
    "low_birth_weight_rate",
    "severe_maternal_morbidity_ratio",
    "preterm_birth_rate",
    "macrosomia_rate",
    "hbig_12h_rate",
    "hepb_vaccine_24h_rate",
    "hiv_exposed_infant_arv_rate",
    "syphilis_exposed_infant_prophylaxis_rate",
    "thalassaemia_screening_rate",
    "prenatal_screening_rate",
    "prenatal_diagnosis_rate",
    "who_anc_first_contact_12w_rate",
    "who_anc_4plus_rate",
    "who_anc_8plus_rate",
)
_INDEX = {name: i for i, name in enumerate(INDICATORS)}
WORK_LISTS = (
    "follow_up_due",
    "report_late",
    "outcome_unknown",
    "positive_untreated",
    "missing_tests",
    "postpartum_visit_due",
    "closed_out",
)

EARLY_GA = 91  # "before 13+0 weeks" = GA in days < 91
WHO_FIRST_CONTACT_GA = 84  # WHO: first contact at ≤ 12 weeks, 12+0 included = GA ≤ 84 days
PERINATAL_GA = 196  # 28+0 weeks
DELIVERY_GA = 196  # 产妇数/活产数: a delivery at 28+0 weeks or later
DELIVERY_WEIGHT_G = 1000  # ... or, GA unknown, a baby of 1000 g or more
PRETERM_GA = 259  # 37+0 weeks
LOW_BIRTH_WEIGHT_G = 2500
MACROSOMIA_G = 4000
# The area lines by residence (docs/indicator-rules.md, "Attribution").
RESIDENCE_LINES = {
    "resident": "district",
    "non_resident": "non_resident",
    "unknown": "address_unknown",
}
ANAEMIA_G_PER_L = 110
# 高危孕产妇管理率: contacts count up to 28 days after delivery (docs/indicator-rules.md)
HIGH_RISK_MANAGED_DAYS_AFTER_DELIVERY = 28
POSTPARTUM_DAYS = 42
# 专案管理: reporting limits (hours) by colour (MCH_CASE_REPORT_LIMIT_HOURS defaults)
CLOSED_OUT = ("transferred_out", "lost_to_follow_up", "moved_away")
OUTCOME_CLOSINGS = (*CLOSED_OUT, "delivered", "died")


# --- dating --------------------------------------------------------------------------------


def effective_lmp(f: PregnancyFacts, as_of: date | None = None) -> date | None:
    """The day of GA 0 by the best dating: "the earliest reliable dating, a GA recorded before
    14+0 weeks (GA on day d = recorded GA + (d − its date)) or the LMP (GA = d − LMP),
    whichever was recorded first; else EDD (GA = 280 − (EDD − d)); else the earliest GA
    recorded later". Every rule reduces to one day L with GA(d) = d − L. With ``as_of`` only
    records dated on or before it count (work lists)."""
    records = [d for d in f.dating if as_of is None or d.day <= as_of]
    # (reliability, day recorded, GA before LMP on the same day) -> the day L
    ranked: list[tuple[int, date, int, date]] = []
    for d in records:
        if d.ga_days is not None:
            lmp = d.day - timedelta(days=d.ga_days)
            ranked.append((0 if d.ga_days < 98 else 2, d.day, 0, lmp))
        if d.lmp is not None:
            ranked.append((0, d.day, 1, d.lmp))
        if d.edd is not None:
            ranked.append((1, d.day, 1, d.edd - timedelta(days=280)))
    return min(ranked)[3] if ranked else None


def pregnancy_start(f: PregnancyFacts) -> date | None:
    """ "From its start (LMP; without dating, the first record)"."""
    return effective_lmp(f) or f.first_record_day()


def _ga(lmp: date | None, day: date) -> int | None:
    return None if lmp is None else (day - lmp).days


# --- infections ----------------------------------------------------------------------------


def confirmed_days(tests: Iterable[LabTest], infection: str, lo: date, hi: date) -> list[date]:
    """Days on which the results dated in [lo, hi] confirm the infection: "HIV: a positive
    confirmatory result; hepatitis B: a positive HBsAg; syphilis: a treponemal and a
    non-treponemal test both positive" (the pair: the day the second of them is there)."""
    dated = [t for t in tests if t.infection == infection and t.result == "positive"]
    dated = [t for t in dated if lo <= t.day <= hi]
    if infection == "hiv":
        return [t.day for t in dated if t.method == "confirmatory"]
    if infection == "hbsag":
        return [t.day for t in dated]
    trep = [t.day for t in dated if t.method == "treponemal"]
    non_trep = [t.day for t in dated if t.method == "non_treponemal"]
    return [max(min(trep), min(non_trep))] if trep and non_trep else []


def infection_status(
    f: PregnancyFacts, start: date, discharge: date
) -> tuple[dict[str, bool], dict[str, bool]]:
    """(infected, known before the pregnancy) per infection. "Infected: a diagnosis or a
    confirmed result recorded on or before discharge (at any earlier time); syphilis: the two
    tests in the pregnancy window." "Known before: a diagnosis or confirmed result dated before
    the pregnancy start." """
    tests = [*f.tests, *f.other_tests]
    diagnoses = [*f.diagnoses, *f.other_diagnoses]
    infected = dict.fromkeys(INFECTIONS, False)
    known = dict.fromkeys(INFECTIONS, False)
    for i in INFECTIONS:
        days = [x.day for x in diagnoses if x.infection == i and x.day <= discharge]
        if i == "syphilis":
            earlier = list(days)
            days += confirmed_days(tests, i, start, discharge)
        else:
            days += confirmed_days(tests, i, date.min, discharge)
            earlier = days
        infected[i] = bool(days)
        known[i] = any(day < start for day in earlier)
    return infected, known


# --- one delivered pregnancy ---------------------------------------------------------------


def is_counted_delivery(f: PregnancyFacts) -> bool:
    """ "产妇数 and 活产数 count a delivery at 28+0 weeks or later: GA at delivery ≥ 196 days;
    when the GA is unknown, a baby of ≥ 1000 g (with no weight either, the recorded delivery
    counts). An earlier ending is a loss (流产/引产) and in no cohort count"."""
    d = f.delivery
    if d is None:
        return False
    ga = _ga(effective_lmp(f), d.day)
    if ga is not None:
        return ga >= DELIVERY_GA
    weights = [n.weight_g for n in d.newborns if n.weight_g is not None]
    return not weights or max(weights) >= DELIVERY_WEIGHT_G


@dataclass(frozen=True)
class CohortFigures:
    """What one delivered pregnancy adds to its cohort cell: indicator -> (numerator,
    denominator). Maternal deaths and congenital syphilis are counted elsewhere (their own
    day and institution); their denominators (live births) are here."""

    values: dict[str, tuple[int, int]]


def cohort_figures(f: PregnancyFacts, s: TruthSettings) -> CohortFigures:
    d = f.delivery
    assert d is not None
    start = pregnancy_start(f) or d.admission
    lmp = effective_lmp(f)
    live = d.live_births

    # "First contact: the earliest of the pregnancy's prenatal visits and its booking." A
    # booking dated after the delivery is impossible (delivery_before_booking): that record
    # alone is dropped, the delivery still counts.
    contacts = [v.day for v in f.visits if v.kind in PRENATAL_VISITS and start <= v.day <= d.day]
    contacts += [b for b in f.bookings if start <= b <= d.day]
    first_contact = min(contacts) if contacts else None
    ga_first = _ga(lmp, first_contact) if first_contact else None
    early = ga_first is not None and ga_first < EARLY_GA
    who_first = ga_first is not None and ga_first <= WHO_FIRST_CONTACT_GA
    # "Prenatal checks: distinct days with a prenatal visit before the delivery admission day."
    checks = len(
        {v.day for v in f.visits if v.kind in PRENATAL_VISITS and start <= v.day < d.admission}
    )
    pp_days = [v.day for v in f.visits if v.kind in POSTPARTUM_VISITS]
    pp28 = any(0 <= (day - d.discharge).days <= 28 for day in pp_days)
    pp42 = any(35 <= (day - d.day).days <= 56 for day in pp_days)

    # "Tested: a result or a test-done Procedure, dated from the pregnancy start to discharge.
    # In pregnancy: before the delivery admission day. Early: GA on the test day < 91."
    tested = dict.fromkeys(INFECTIONS, False)
    tested_in_pregnancy = dict(tested)
    tested_early = dict(tested)
    for t in f.tests:
        if not start <= t.day <= d.discharge:
            continue
        tested[t.infection] = True
        if t.day < d.admission:
            tested_in_pregnancy[t.infection] = True
        ga = _ga(lmp, t.day)
        if ga is not None and ga < EARLY_GA:
            tested_early[t.infection] = True
    positive, known_before = infection_status(f, start, d.discharge)
    # "A woman whose infection is known from before the pregnancy counts as tested, tested in
    # pregnancy and tested early."
    for i in INFECTIONS:
        if known_before[i]:
            tested[i] = tested_in_pregnancy[i] = tested_early[i] = True
    # "Treated: a regimen of the infection's drugs whose period overlaps [pregnancy start,
    # discharge]; an open end is continuing."
    treated = dict.fromkeys(INFECTIONS, False)
    adequate = False
    for tx in [*f.treatments, *f.other_treatments]:
        first, last = tx.period
        if not (first <= d.discharge and (last is None or last >= start)):
            continue
        if tx.infection == "syphilis" and tx.needs_indication and not tx.indication:
            continue  # ceftriaxone for something else
        if tx.infection in treated:
            treated[tx.infection] = True
        # "Adequate: penicillin started at least N days before the delivery day."
        if (
            tx.infection == "syphilis"
            and not tx.needs_indication
            and (d.day - first).days >= s.syphilis_adequate_days
        ):
            adequate = True

    # "Highest colour: the most severe of green < yellow < orange < red among the assessments
    # dated from the pregnancy start to the delivery day; purple is a separate flag."
    window = [r for r in f.risks if start <= r.day <= d.day]
    severities = [SEVERITY[r.colour] for r in window if r.colour]
    highest = max(severities) if severities else None
    purple = any(r.purple for r in window)
    high_risk = (highest is not None and highest >= SEVERITY["yellow"]) or purple
    managed = set(s.case_managed_colours)
    managed_levels = {SEVERITY[c] for c in managed if c in SEVERITY}

    def in_managed_set(colour: str | None, is_purple: bool) -> bool:
        return (colour is not None and SEVERITY[colour] in managed_levels) or (
            is_purple and "purple" in managed
        )

    case_managed = (highest is not None and highest in managed_levels) or (
        purple and "purple" in managed
    )
    # 高危孕产妇管理率 (a): "of the non-green women, those re-assessed (another risk assessment)
    # or followed up (a recorded follow-up) after the first non-green assessment (a later day)
    # up to 28 days after delivery; a prenatal visit alone does not count".
    managed_a = False
    if high_risk:
        first_non_green = min(
            r.day for r in window if r.purple or (r.colour is not None and SEVERITY[r.colour] >= 1)
        )
        until = d.day + timedelta(days=HIGH_RISK_MANAGED_DAYS_AFTER_DELIVERY)
        contacts = [r.day for r in f.risks] + list(f.follow_ups)
        managed_a = any(first_non_green < day <= until for day in contacts)
    # 专案管理率 (b): "a case opened within the reporting limit after the first case-managed
    # assessment, and no gap longer than the colour's interval between consecutive contacts
    # (recorded follow-ups) from that assessment until 42 days postpartum or the case's
    # closing". The interval: the shortest of the case-managed colours she was graded.
    managed_b = False
    if case_managed and f.case_opened_in_time:
        managed_risks = [r for r in f.risks if in_managed_set(r.colour, r.purple)]
        first_managed = min(r.day for r in managed_risks)
        intervals = s.follow_up_days()
        graded = {r.colour for r in managed_risks if r.colour in managed and r.colour in intervals}
        applicable = [intervals[c] for c in graded]
        if "purple" in managed and any(r.purple for r in f.risks):
            applicable.append(intervals["purple"])
        end = d.day + timedelta(days=POSTPARTUM_DAYS)
        if f.case_closed is not None:
            end = min(end, f.case_closed)
        if applicable:
            gap = min(applicable)
            chain = [
                first_managed,
                *sorted(x for x in set(f.follow_ups) if first_managed < x <= end),
            ]
            chain.append(max(end, chain[-1]))
            managed_b = all((b - a).days <= gap for a, b in zip(chain, chain[1:], strict=False))
    # EPDS "recorded at the 42-day check window (35-56 days after delivery)".
    epds_42d = any(35 <= (day - d.day).days <= 56 for day in f.epds)

    # "Anaemia: any haemoglobin < 110 g/L dated from the pregnancy start to the delivery
    # admission day inclusive."
    hbs = [h.g_per_l for h in f.haemoglobin if start <= h.day <= d.admission]
    # "Thalassaemia: a D56 Condition at any time, or a positive thalassaemia_test result"
    # (of this pregnancy's records, up to discharge).
    thalassaemia = f.thalassaemia or any(
        x.kind == "thalassaemia" and x.positive and x.day <= d.discharge for x in f.screenings
    )
    # "Maternal screening: dated from the pregnancy start to the delivery admission day."
    screened = {x.kind for x in f.screenings if start <= x.day <= d.admission}
    anaemic = any(v < ANAEMIA_G_PER_L for v in hbs)
    anaemia_den = bool(hbs) and not (s.anaemia_denominator_excludes_thalassaemia and thalassaemia)

    # Perinatal: "stillbirths at GA ≥ 28+0 weeks (weight ≥ 1000 g when GA is unknown) + live
    # births who died 0–6 days after birth".
    ga_delivery = _ga(lmp, d.day)
    if ga_delivery is not None:
        perinatal_stillbirths = d.stillbirths if ga_delivery >= PERINATAL_GA else 0
    else:
        # Stillborn babies have no newborn record here, so no weight: none can be counted.
        perinatal_stillbirths = 0
    early_deaths = sum(
        1 for n in d.newborns if n.death_day and 0 <= (n.death_day - n.birth_day).days <= 6
    )
    low_weight = sum(
        1 for n in d.newborns if n.weight_g is not None and n.weight_g < LOW_BIRTH_WEIGHT_G
    )
    # "Preterm: live births at GA < 259 days (the delivery's GA; unknown is not preterm)".
    preterm = live if ga_delivery is not None and ga_delivery < PRETERM_GA else 0
    # "Macrosomia: live births of ≥ 4000 g".
    macrosomia = sum(1 for n in d.newborns if n.weight_g is not None and n.weight_g >= MACROSOMIA_G)

    if s.caesarean_basis == "women":
        caesarean = (int(d.caesarean), 1)
    else:
        caesarean = (live if d.caesarean else 0, live)

    # Infants of infected mothers: per live-born baby of a positive mother.
    def exposed(infection: str, given: int) -> tuple[int, int]:
        return (given, live) if positive[infection] else (0, 0)

    babies = d.newborns
    v: dict[str, tuple[int, int]] = {
        "hbig_12h_rate": exposed(
            "hbsag", sum(_on_time(n, n.hbig_at, s.hbig_hours) for n in babies)
        ),
        "hepb_vaccine_24h_rate": exposed(
            "hbsag", sum(_on_time(n, n.hepb_vaccine_at, s.hepb_vaccine_hours) for n in babies)
        ),
        "hiv_exposed_infant_arv_rate": exposed("hiv", sum(n.arv for n in babies)),
        "syphilis_exposed_infant_prophylaxis_rate": exposed(
            "syphilis", sum(n.penicillin for n in babies)
        ),
        "systematic_management_rate": (
            int(early and checks >= 5 and not d.home and pp28),
            live,
        ),
        "early_registration_rate": (int(early), live),
        "prenatal_care_rate": (int(checks >= 1), live),
        "prenatal_5plus_rate": (int(checks >= 5), live),
        "postpartum_visit_rate": (int(pp28), live),
        "postpartum_42d_check_rate": (int(pp42), 1),
        "facility_delivery_rate": (0 if d.home else live, live),
        "caesarean_rate": caesarean,
        "hiv_treatment_rate": (int(positive["hiv"] and treated["hiv"]), int(positive["hiv"])),
        "syphilis_treatment_rate": (
            int(positive["syphilis"] and treated["syphilis"]),
            int(positive["syphilis"]),
        ),
        "syphilis_adequate_treatment_rate": (
            int(positive["syphilis"] and adequate),
            int(positive["syphilis"]),
        ),
        "thalassaemia_screening_rate": (int("thalassaemia" in screened), 1),
        "prenatal_screening_rate": (int("prenatal_screening" in screened), 1),
        "prenatal_diagnosis_rate": (int("prenatal_diagnosis" in screened), 1),
        "maternal_mortality_ratio": (0, live),
        "high_risk_proportion": (int(high_risk), 1),
        "high_risk_management_rate": (int(managed_a), int(high_risk)),
        "high_risk_case_management_rate": (int(managed_b), int(case_managed)),
        "high_risk_facility_delivery_rate": (int(high_risk and not d.home), int(high_risk)),
        "postpartum_depression_screening_rate": (int(epds_42d), 1),
        "anaemia_prevalence_non_thalassaemia": (
            int(anaemic and not thalassaemia and bool(hbs)),
            int(anaemia_den),
        ),
        "congenital_syphilis_rate": (0, live),
        "perinatal_mortality_rate": (
            perinatal_stillbirths + early_deaths,
            perinatal_stillbirths + live,
        ),
        "low_birth_weight_rate": (low_weight, live),
        # "A near-miss Condition of the pregnancy dated from its start to 42 days after the
        # delivery": one per woman, over 活产数.
        "severe_maternal_morbidity_ratio": (
            int(any(start <= day <= d.day + timedelta(days=42) for day in f.near_miss)),
            live,
        ),
        "preterm_birth_rate": (preterm, live),
        "macrosomia_rate": (macrosomia, live),
        "who_anc_first_contact_12w_rate": (int(who_first), 1),
        "who_anc_4plus_rate": (int(checks >= 4), 1),
        "who_anc_8plus_rate": (int(checks >= 8), 1),
    }
    for i in INFECTIONS:
        v[f"{i}_test_rate"] = (int(tested[i]), 1)
        v[f"{i}_test_in_pregnancy_rate"] = (int(tested_in_pregnancy[i]), 1)
        v[f"{i}_early_test_rate"] = (int(tested_early[i]), 1)
    return CohortFigures(v)


def _icd10_position(code: str) -> tuple[str, int] | None:
    """("X", 70) for "X70.0": the chapter letter and the two-digit category."""
    code = code.strip().upper()
    if len(code) < 3 or not code[0].isalpha() or not code[1:3].isdigit():
        return None
    return code[0], int(code[1:3])


def _in_range(position: tuple[str, int], first: str, last: str) -> bool:
    low = (first[0], int(first[1:3]))
    high = (last[0], int(last[1:3]))
    return low <= position <= high


def death_cause_class(death: MaternalDeath) -> str:
    """The ICD-10 / ICD-MM reading of the cause (docs/indicator-rules.md, "Maternal death"):
    "accidental" for V01–X59, X85–Y09, Y10–Y36 (not maternal); "self_harm" for X60–X84
    (maternal, pending review); "care_complication" for Y40–Y84 (direct obstetric);
    "counted" otherwise (O codes, Y85–Y98, no code)."""
    if death.cause is None:
        return "accidental" if death.external_cause else "counted"
    position = _icd10_position(death.cause)
    if position is None:
        return "counted"
    if position[0] in ("V", "W") or _in_range(position, "X00", "X59"):
        return "accidental"
    if _in_range(position, "X85", "Y09") or _in_range(position, "Y10", "Y36"):
        return "accidental"
    if _in_range(position, "X60", "X84"):
        return "self_harm"
    if _in_range(position, "Y40", "Y84"):
        return "care_complication"
    return "counted"


def _on_time(n: Newborn, doses: tuple[datetime | None, ...], hours: int) -> bool:
    """ "Within N hours of birth": a dose whose time is known, given 0 to N hours (inclusive)
    after a known birth time. Unknown birth time or dose time: not on time."""
    if n.born_at is None:
        return False
    born = n.born_at
    return any(t is not None and 0 <= (t - born).total_seconds() / 3600 <= hours for t in doses)


def first_diagnoses(cases: Iterable[CongenitalSyphilis]) -> list[CongenitalSyphilis]:
    """Rule 6: "one case per child, at its first diagnosis" (the earliest day; its
    institution). A record naming no child is a case of its own."""
    first: dict[object, CongenitalSyphilis] = {}
    for i, case in enumerate(cases):
        key: object = case.child if case.child is not None else ("record", i)
        if key not in first or case.day < first[key].day:
            first[key] = case
    return list(first.values())


def is_maternal_death(f: PregnancyFacts) -> bool:
    """ "The woman's deceasedDateTime falls from the pregnancy start to 42 days after its end
    (delivery or loss)"; only an accidental or incidental cause excludes it (a suicide counts,
    pending review; a complication of care counts)."""
    if f.death is None or death_cause_class(f.death) == "accidental":
        return False
    start = pregnancy_start(f)
    ends = [e for e in (f.delivery.day if f.delivery else None, f.loss_day) if e is not None]
    end = min(ends) if ends else f.death.day  # died while pregnant: the death ends it
    return (start is None or start <= f.death.day) and f.death.day <= end + timedelta(days=42)


def pending_review(f: PregnancyFacts) -> bool:
    """A maternal death the monitoring group must review: a suicide (X60–X84)."""
    return (
        f.death is not None and is_maternal_death(f) and death_cause_class(f.death) == "self_harm"
    )


# --- work lists ----------------------------------------------------------------------------


def work_list_entries(f: PregnancyFacts, as_of: date, s: TruthSettings) -> dict[str, date]:
    """The lists this pregnancy is on at ``as_of``, each with its "since" day. Facts count when
    dated on or before ``as_of``."""
    out: dict[str, date] = {}
    start = pregnancy_start(f)
    if start is None or start > as_of:
        return out
    lmp = effective_lmp(f, as_of)
    ends = []
    if f.delivery and f.delivery.day <= as_of:
        ends.append(f.delivery.day)
    if f.loss_day and f.loss_day <= as_of:
        ends.append(f.loss_day)
    if f.death and f.death.day <= as_of:
        ends.append(f.death.day)
    # "Ended: a delivery, a pregnancy-loss Condition or the woman's death on or before as_of."
    ended = min(ends) if ends else None

    def dated(day: date) -> bool:
        return start <= day <= as_of

    prenatal = [v.day for v in f.visits if v.kind in PRENATAL_VISITS and dated(v.day)]
    risks = [r for r in f.risks if dated(r.day)]

    closed_out = (
        f.case_closed_as in CLOSED_OUT and f.case_closed is not None and f.case_closed <= as_of
    )
    # a reviewer's closing that says what became of her (转出, 失访, 迁出, 分娩结案, 死亡)
    outcome_closed = (
        f.case_closed_as in OUTCOME_CLOSINGS
        and f.case_closed is not None
        and f.case_closed <= as_of
    )
    # outcome_unknown: "not ended, not closed by a reviewer as transferred out, lost, moved
    # away, delivered or died, and as_of > EDD + 14 days".
    if ended is None and lmp is not None and not outcome_closed:
        edd = lmp + timedelta(days=280)
        if as_of > edd + timedelta(days=14):
            out["outcome_unknown"] = edd + timedelta(days=15)

    # follow_up_due: "not ended, or delivered at most 42 days before as_of (and alive);
    # not on outcome_unknown; case not closed as transferred out / lost / moved away; current
    # colour in the case-managed set (latest severity colour ≤ as_of, or any purple); days
    # since the last contact ≥ the colour's interval (the shortest applies)".
    d = f.delivery
    postpartum = (
        d is not None
        and ended == d.day
        and (as_of - d.day).days <= POSTPARTUM_DAYS
        and not (f.death is not None and f.death.day <= as_of)
    )
    if (ended is None or postpartum) and "outcome_unknown" not in out and not closed_out:
        managed = set(s.case_managed_colours)
        intervals = s.follow_up_days()
        graded = sorted((r.at, SEVERITY[r.colour], r.colour) for r in risks if r.colour)
        current = graded[-1][2] if graded else None
        applicable = []
        if current in managed and current in intervals:
            applicable.append(intervals[current])
        if any(r.purple for r in risks) and "purple" in managed:
            applicable.append(intervals["purple"])
        if applicable:
            # "Last contact: the latest prenatal or postpartum visit, risk assessment, recorded
            # follow-up or the delivery stay (its discharge day) on or before as_of".
            postnatal = [v.day for v in f.visits if v.kind in POSTPARTUM_VISITS and dated(v.day)]
            stay = [d.discharge] if d is not None and dated(d.discharge) else []
            follow_ups = [x for x in f.follow_ups if dated(x)]
            last = max([*prenatal, *postnatal, *(r.day for r in risks), *stay, *follow_ups])
            interval = min(applicable)
            if (as_of - last).days >= interval:
                out["follow_up_due"] = last + timedelta(days=interval)

    # closed_out: "the case closed as transferred out, lost to follow-up or moved away; from
    # the closing day until the pregnancy ended more than 42 days ago".
    if closed_out and f.case_closed is not None:
        if ended is None or (as_of - ended).days <= POSTPARTUM_DAYS:
            out["closed_out"] = f.case_closed

    if ended is None and "outcome_unknown" not in out and not closed_out:
        # missing_tests: "first contact more than 28 days before as_of; missing any of the
        # HIV, syphilis, HBsAg results; not on outcome_unknown, nor closed as transferred out,
        # lost or moved away (her outcome, or her leaving, is what matters)".
        contacts = prenatal + [b for b in f.bookings if dated(b)]
        if contacts:
            first = min(contacts)
            if (as_of - first).days > 28:
                present = {
                    t.infection
                    for t in f.tests
                    if dated(t.day) and (t.result is not None or s.missing_tests_counts_procedures)
                }
                if not set(INFECTIONS) <= present:
                    out["missing_tests"] = first + timedelta(days=29)

    # positive_untreated: "HIV- or syphilis-infected by the confirmed notion, from this
    # pregnancy's results (first day p), no treatment dated from the pregnancy start to as_of,
    # as_of − p > 14, not ended more than 42 days ago".
    if ended is None or (as_of - ended).days <= 42:
        since: list[date] = []
        for infection in ("hiv", "syphilis"):
            positives = confirmed_days(f.tests, infection, start, as_of)
            if not positives:
                continue
            p = min(positives)
            treated = any(
                x.infection == infection
                and dated(x.day)
                and not (x.needs_indication and not x.indication)
                for x in f.treatments
            )
            if not treated and (as_of - p).days > 14:
                since.append(p + timedelta(days=15))
        if since:
            out["positive_untreated"] = min(since)

    # report_late: "an orange or red assessment received more than its colour's limit + 24
    # hours after its assessed day began (the day has no time: a day's grace), received on or
    # before as_of (received later: not yet known that day)"; since = the day received, the
    # earliest of her late ones. Nothing acknowledges it (no reviewers). Backfilled records
    # carry no receipt time: never late.
    limits = s.report_limit_hours()
    late = [
        r.received.date()
        for r in f.risks
        if r.colour in limits
        and r.received is not None
        and r.day <= as_of
        and r.received.date() <= as_of
        and r.received - datetime.combine(r.day, time()) > timedelta(hours=limits[r.colour] + 24)
    ]
    if late:
        out["report_late"] = min(late)

    # postpartum_visit_due: "discharged; no postpartum visit from discharge to as_of;
    # 7 < as_of − discharge ≤ 42".
    if d is not None and d.discharge <= as_of and 7 < (as_of - d.discharge).days <= 42:
        visited = any(
            v.kind in POSTPARTUM_VISITS and d.discharge <= v.day <= as_of for v in f.visits
        )
        if not visited:
            out["postpartum_visit_due"] = d.discharge + timedelta(days=8)
    return out


# --- periods and accumulation --------------------------------------------------------------


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def periods(start: date, end: date) -> list[tuple[str, str]]:
    """(kind, key) of every calendar year, statistical year (SY: 1 October to 30 September),
    quarter and month overlapping [start, end], and the rolling 12 months ending with each of
    those months ("2025-03-R12" = April 2024 to March 2025)."""
    months = []
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        months.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    years = sorted({y for y, _ in months})
    statistical_years = sorted({_statistical_year_of(y, m) for y, m in months})
    quarters = sorted({(y, (m - 1) // 3 + 1) for y, m in months})
    return (
        [("year", str(y)) for y in years]
        + [("statistical_year", f"SY{y}") for y in statistical_years]
        + [("quarter", f"{y}-Q{q}") for y, q in quarters]
        + [("month", f"{y:04d}-{m:02d}") for y, m in months]
        + [("rolling_year", f"{y:04d}-{m:02d}-R12") for y, m in months]
    )


def _statistical_year_of(year: int, month: int) -> int:
    # The statistical year 2025 runs from 1 October 2024 to 30 September 2025.
    return year + 1 if month >= 10 else year


def _periods_of_month(key: str) -> list[str]:
    """The periods a month's events count in: its month, quarter, calendar year, statistical
    year, and the rolling 12 months ending with it or one of the 11 months after it."""
    y, m = int(key[:4]), int(key[5:7])
    rolling = []
    for k in range(12):
        ry, rm = divmod(y * 12 + m - 1 + k, 12)
        rolling.append(f"{ry:04d}-{rm + 1:02d}-R12")
    return [key, f"{y}-Q{(m - 1) // 3 + 1}", str(y), f"SY{_statistical_year_of(y, m)}", *rolling]


Cell = tuple[str, str | None, str, str]  # (month, street, institution, residence)


class TruthAccumulator:
    """Adds pregnancies one at a time (the simulator streams them), keeping only counters per
    (month, street, institution, residence) cell and the work-list members."""

    def __init__(
        self,
        start: date,
        end: date,
        settings: TruthSettings,
        as_of: Sequence[date],
        institutions: Sequence[str],
        streets: Sequence[str],
    ) -> None:
        self.start, self.end, self.settings = start, end, settings
        self.as_of = list(as_of)
        self.institutions = list(institutions)
        self.streets = list(streets)
        self.cells: dict[Cell, list[int]] = {}
        self.members: dict[date, dict[str, list[dict[str, str]]]] = {
            a: {name: [] for name in WORK_LISTS} for a in self.as_of
        }

    def _cell(self, day: date, street: str | None, inst: str, residence: str) -> list[int]:
        key = (month_key(day), street, inst, residence)
        cell = self.cells.get(key)
        if cell is None:
            cell = self.cells[key] = [0] * (2 * len(INDICATORS))
        return cell

    def add(self, f: PregnancyFacts) -> None:
        if f.delivery is not None and is_counted_delivery(f):
            cell = self._cell(f.delivery.day, f.street, f.delivery.institution, f.residence)
            for name, (num, den) in cohort_figures(f, self.settings).values.items():
                i = 2 * _INDEX[name]
                cell[i] += num
                cell[i + 1] += den
        if f.death is not None and is_maternal_death(f):
            # "Counted in the period of the death day"; institution view: the reporting one.
            self._cell(f.death.day, f.street, f.death.institution, f.residence)[
                2 * _INDEX["maternal_mortality_ratio"]
            ] += 1
        for case in first_diagnoses(f.congenital_syphilis):
            self._cell(case.day, f.street, case.institution, f.residence)[
                2 * _INDEX["congenital_syphilis_rate"]
            ] += 1
        for as_of in self.as_of:
            for name, since in work_list_entries(f, as_of, self.settings).items():
                self.members[as_of][name].append(
                    {"resident_id": f.resident_id, "lmp": f.lmp.isoformat(), "since": str(since)}
                )

    def indicator_rows(self) -> list[dict[str, Any]]:
        wanted = periods(self.start, self.end)
        combos = (
            [(line, "all") for line in RESIDENCE_LINES.values()]
            + [(s, "all") for s in self.streets]
            + [("district", i) for i in self.institutions]
        )
        totals: dict[tuple[str, str, str], list[int]] = {}
        for (month, street, inst, residence), cell in self.cells.items():
            for period in _periods_of_month(month):
                # "The district figure is by residence": residents count in the district and
                # their street; the others in their own line only. The institution view is
                # the place of service: everyone, wherever she lives.
                keys = [(period, RESIDENCE_LINES[residence], "all"), (period, "district", inst)]
                if street is not None and residence == "resident":
                    keys.append((period, street, "all"))
                for key in keys:
                    acc = totals.setdefault(key, [0] * len(cell))
                    for i, value in enumerate(cell):
                        if value:
                            acc[i] += value
        rows = []
        zero = [0] * (2 * len(INDICATORS))
        for name in INDICATORS:
            i = 2 * _INDEX[name]
            for _kind, period in wanted:
                for area, inst in combos:
                    acc = totals.get((period, area, inst), zero)
                    rows.append(
                        {
                            "id": name,
                            "period": period,
                            "area": area,
                            "institution": inst,
                            "numerator": acc[i],
                            "denominator": acc[i + 1],
                        }
                    )
        return rows

    def work_lists(self) -> list[dict[str, Any]]:
        out = []
        for as_of in self.as_of:
            lists = {
                name: sorted(members, key=lambda m: (m["resident_id"], m["lmp"]))
                for name, members in self.members[as_of].items()
            }
            out.append({"as_of": as_of.isoformat(), "lists": lists})
        return out


def compute_truth(
    facts: Iterable[PregnancyFacts],
    start: date,
    end: date,
    settings: TruthSettings,
    as_of: Sequence[date],
    institutions: Sequence[str],
    streets: Sequence[str],
) -> dict[str, Any]:
    """Indicators and work lists of a set of pregnancies (the hand-worked tests use this)."""
    acc = TruthAccumulator(start, end, settings, as_of, institutions, streets)
    for f in facts:
        acc.add(f)
    return {"indicators": acc.indicator_rows(), "work_lists": acc.work_lists()}
