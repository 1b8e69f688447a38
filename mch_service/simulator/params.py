"""Every rate and share of the simulated district, in one place.

Each field carries its documentation in ``metadata["doc"]`` (what it means, and where the default
comes from); ``docs/simulator.md`` mirrors this table and a test keeps the two in step.
Shares are probabilities in [0, 1]. "Per pregnancy" and "per record" say what they apply to.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date
from typing import Any

_COLOURS = ("green", "yellow", "orange", "red", "purple")


def _f(default: Any, doc: str) -> Any:
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class TruthSettings:
    """The indicator-rule settings (docs/indicator-rules.md) that ``truth.json`` assumes.

    The service's settings of the same name must hold these values for its numbers to equal
    the truth."""

    caesarean_basis: str = _f(
        "births", "`MCH_INDICATOR_CAESAREAN_BASIS`: `births` (live births) or `women`"
    )
    case_managed_colours: tuple[str, ...] = _f(
        ("orange", "red", "purple"), "`MCH_CASE_MANAGED_COLOURS`"
    )
    anaemia_denominator_excludes_thalassaemia: bool = _f(
        True, "`MCH_INDICATOR_ANAEMIA_DENOMINATOR_EXCLUDES_THALASSAEMIA`"
    )
    syphilis_adequate_days: int = _f(
        30,
        "`MCH_INDICATOR_SYPHILIS_ADEQUATE_DAYS`: penicillin started at least this many days "
        "before the delivery day",
    )
    follow_up_days_red: int = _f(7, "`MCH_CASE_FOLLOW_UP_DAYS` for red")
    follow_up_days_orange: int = _f(14, "`MCH_CASE_FOLLOW_UP_DAYS` for orange")
    follow_up_days_purple: int = _f(14, "`MCH_CASE_FOLLOW_UP_DAYS` for purple")
    hbig_hours: int = _f(12, "`MCH_INDICATOR_HBIG_HOURS`: HBIG on time within this many hours")
    hepb_vaccine_hours: int = _f(
        24, "`MCH_INDICATOR_HEPB_VACCINE_HOURS`: first hepatitis B vaccine dose on time within"
    )
    report_limit_hours_orange: int = _f(
        72, "`MCH_CASE_REPORT_LIMIT_HOURS` for orange: report_late after this + 24 hours"
    )
    report_limit_hours_red: int = _f(
        24, "`MCH_CASE_REPORT_LIMIT_HOURS` for red: report_late after this + 24 hours"
    )
    missing_tests_counts_procedures: bool = _f(
        True,
        "Whether a test-done Procedure (no result) clears `missing_tests` (the rules say "
        "'results'; this is the assumption, see docs/simulator.md)",
    )

    def follow_up_days(self) -> dict[str, int]:
        return {
            "red": self.follow_up_days_red,
            "orange": self.follow_up_days_orange,
            "purple": self.follow_up_days_purple,
        }

    def report_limit_hours(self) -> dict[str, int]:
        return {"orange": self.report_limit_hours_orange, "red": self.report_limit_hours_red}

    def as_dict(self) -> dict[str, Any]:
        return {
            "periods": "calendar years, statistical years SY (Oct-Sep), quarters, months, "
            "rolling 12 months",
            "caesarean_basis": self.caesarean_basis,
            "case_managed_colours": list(self.case_managed_colours),
            "anaemia_denominator_excludes_thalassaemia": (
                self.anaemia_denominator_excludes_thalassaemia
            ),
            "syphilis_adequate_days": self.syphilis_adequate_days,
            "follow_up_days": self.follow_up_days(),
            "missing_tests_counts_procedures": self.missing_tests_counts_procedures,
            "hbig_hours": self.hbig_hours,
            "hepb_vaccine_hours": self.hepb_vaccine_hours,
            "report_limit_hours": self.report_limit_hours(),
            "report_late_after": "received more than the limit + 24 hours after the start "
            "(00:00 Shanghai) of the assessed day; backfilled records are never late",
            "timezone": "Asia/Shanghai",
            "early_pregnancy_ga_days_below": 91,
            "who_first_contact_ga_days_below": 85,
            "anaemia_window_ends": "delivery admission day (inclusive)",
            "perinatal_stillbirth_ga_days_from": 196,
            "postpartum_visit_days_after_discharge": [0, 28],
            "postpartum_42d_check_days_after_delivery": [35, 56],
            "positive_untreated_days_after_positive": 14,
            "positive_untreated_ended_days": 42,
            "missing_tests_days_after_first_contact": 28,
            "postpartum_visit_due_days_after_discharge": [7, 42],
            "outcome_unknown_days_after_edd": 14,
            "maternal_death_days_after_end": 42,
            "high_risk_management_days_after_delivery": 28,
            "case_management_days_after_delivery": 42,
            "epds_days_after_delivery": [35, 56],
            "follow_up_due_days_after_delivery": 42,
        }


@dataclass(frozen=True)
class SimulationParams:
    # -- scale and span -----------------------------------------------------------------------
    pregnancies: int = _f(
        2000,
        "Pregnancies to simulate. First LMPs are spread evenly from `start` - 287 days to "
        "`end` - 42 days, so deliveries cover the whole span and some pregnancies are still "
        "under way at the end.",
    )
    seed: int = _f(1, "Seed of every random choice: the same seed gives byte-identical files")
    start: date = _f(date(2024, 1, 1), "First day of the reporting span (inclusive)")
    end: date = _f(
        date(2025, 12, 31),
        "Last day of the span (inclusive); nothing dated after it is generated (the data "
        "is an extract as of this day)",
    )
    as_of: tuple[date, ...] = _f((), "Work-list days in truth.json; empty means `end`")
    history_share: float = _f(
        0.25,
        "Share of the span before the cutover: records an institution entered before it go "
        "to its `history.ndjson` backfill, the rest to bundles",
    )
    second_pregnancy_share: float = _f(
        0.03,
        "Per woman: a second pregnancy starting 3-13 months after the first ends, when it "
        "fits in the span",
    )
    # -- population ---------------------------------------------------------------------------
    mean_age: float = _f(
        30.0, "Mean maternal age at LMP (China's mean age at childbirth is about 29-30)"
    )
    age_sd: float = _f(4.5, "Standard deviation of maternal age (clipped to 17-46)")
    no_street_share: float = _f(
        0.03,
        "Per woman: no usable address (a bare line: no district, city, province or street "
        "code); counted in the address_unknown line, not in the district; books at a hospital "
        "and gets no CHC home visit",
    )
    non_resident_share: float = _f(
        0.08,
        "Per woman: lives outside the district (非户籍/流动: a neighbouring district such as "
        "番禺区 440113 or 中山市 442000, or another province) and has her care and delivery in "
        "the district's hospitals; counted in the institution view and the non_resident line, "
        "not in the district; books at a hospital and gets no CHC home visit",
    )
    bad_resident_id_share: float = _f(
        0.003,
        "Per woman: resident ID with a wrong GB 11643 check digit (a data-quality case); all "
        "her care is at one hospital so identity matching cannot change the truth",
    )
    # -- care path ----------------------------------------------------------------------------
    book_at_chc_share: float = _f(
        0.85,
        "Per pregnancy: books (建册) at the community health centre of her street; the rest "
        "book at a hospital (districts report most booking at primary level)",
    )
    no_prenatal_care_share: float = _f(
        0.003,
        "Per pregnancy: first contact is the delivery admission (national prenatal care "
        "rate about 97-99%)",
    )
    early_booking_share: float = _f(
        0.95,
        "Per pregnancy: first contact before 13+0 weeks (national early registration rate "
        "about 90-93% in the 2020s, higher in Zhejiang)",
    )
    good_attendance_share: float = _f(
        0.95,
        "Per pregnancy: attends each scheduled check with probability 0.9; the others with "
        "0.45 (gives ≥5-check rates near the national 95%)",
    )
    chc_follow_up_share: float = _f(
        0.3, "Per pregnancy booked at a CHC: one more check there at 16-20 weeks"
    )
    chc_lab_share: float = _f(
        0.6,
        "Per CHC booking: blood drawn at booking (HIV, syphilis, HBsAg, Hb); otherwise at the "
        "first hospital check",
    )
    hospital_switch_share: float = _f(
        0.08, "Per pregnancy: moves her checks to another hospital at 20-32 weeks"
    )
    delivery_elsewhere_share: float = _f(
        0.1, "Per pregnancy: delivers at a hospital other than the one of her checks"
    )
    home_birth_share: float = _f(
        0.0005,
        "Per delivery: born at home, reported by the CHC with Encounter class HH (national "
        "hospital delivery rate 99.9%)",
    )
    postpartum_visit_share: float = _f(
        0.98,
        "Per delivery: a CHC home visit after discharge (national rate about 96%, Zhejiang "
        "higher); women "
        "without a street get a hospital visit with probability 0.7 instead",
    )
    postpartum_visit_late_share: float = _f(
        0.02, "Per home visit: made 29-40 days after discharge (outside the 28-day window)"
    )
    postpartum_42d_check_share: float = _f(
        0.9, "Per delivery: the 42-day check (made on days 38-49; 5% of them on days 57-70)"
    )
    epds_share: float = _f(
        0.6,
        "Per 42-day check: an EPDS score (Observation, LOINC 99046-5) is recorded at it (its "
        "own random stream: the other records do not change)",
    )
    edge_share: float = _f(
        0.02,
        "Per booking, first home visit, 42-day check and delivery: placed exactly on or next "
        "to a rule's threshold instead (booking at GA 83/84/85/90/91 days, home visit on day "
        "0/28/29/45 after discharge, 42-day check on day 34/35/56/57 after delivery, delivery at "
        "GA 195/196 days, penicillin started 29/30/31 days before delivery, an infant's HBIG "
        "and first hepatitis B vaccine an hour before, on, a minute after and an hour after the "
        "truth's hour limit; per orange or red risk assessment sent in a Bundle: received an "
        "hour before, on, a minute after and an hour after its reporting limit + 24 hours), so "
        "the engine-versus-truth test meets both sides of each edge. Drawn from a stream of "
        "its own: 0 gives the same records as before",
    )
    risk_report_late_share: float = _f(
        0.03,
        "Per orange or red risk assessment sent in a Bundle: received 1-240 hours after its "
        "reporting limit + 24 hours (the report_late list), on a stream of its own",
    )
    # -- outcomes -----------------------------------------------------------------------------
    pregnancy_loss_share: float = _f(
        0.03,
        "Per pregnancy: loss before 28 weeks after first contact (Condition O03.x); "
        "spontaneous loss after booking is a few percent",
    )
    lost_to_follow_up_share: float = _f(
        0.02,
        "Per pregnancy: moves away or stops attending; no outcome is ever reported",
    )
    twin_share: float = _f(0.015, "Per delivery: twins (China about 1.5%)")
    preterm_share: float = _f(
        0.06, "Per delivery: born at 28+0 to 36+6 weeks (China about 6-7%; twins twice as often)"
    )
    extremely_preterm_share: float = _f(
        0.01,
        "Per delivery: ends at 20+0 to 27+6 weeks (late miscarriage or induced labour: a loss "
        "(流产/引产), in no cohort count, below the perinatal limit; half the babies stillborn)",
    )
    stillbirth_share: float = _f(
        0.004,
        "Per baby: stillborn (preterm babies 10 times as often as term ones, half below 28 "
        "weeks); gives a perinatal mortality of a few per mille",
    )
    early_neonatal_death_share: float = _f(
        0.0015,
        "Per live birth: dies 0-6 days after birth (five times as often when preterm); "
        "national neonatal mortality about 3 per mille",
    )
    late_neonatal_death_share: float = _f(0.0008, "Per live birth: dies 7-27 days after birth")
    caesarean_share: float = _f(0.40, "Per delivery: caesarean (China about 40-45%)")
    instrumental_share: float = _f(0.02, "Per delivery: forceps or vacuum")
    term_birth_weight_mean_g: int = _f(
        3350,
        "Mean birth weight at 40 weeks in grams (sd 350 at term); with the preterm and twin "
        "shares about 5-6% of live births weigh < 2500 g (national figure 3-4%)",
    )
    maternal_death_share: float = _f(
        0.0003,
        "Per pregnancy: the woman dies during pregnancy or within 42 days after it "
        "(0-1 deaths in a 2,000-pregnancy demo); national MMR about 15 per 100,000, lower in "
        "developed districts",
    )
    maternal_death_external_share: float = _f(
        0.2,
        "Per death: an accident (ICD-10 V89.2 transport, W19 fall); does not count as maternal",
    )
    maternal_death_care_complication_share: float = _f(
        0.1,
        "Per non-accidental death: a complication of medical or surgical care (ICD-10 Y60.0, "
        "Y65.8) as the coded cause; a direct obstetric death, it counts",
    )
    maternal_death_self_harm_share: float = _f(
        0.05,
        "Per non-accidental death: a suicide (ICD-10 X70); counts, pending the monitoring "
        "group's review",
    )
    severe_maternal_morbidity_share: float = _f(
        0.01,
        "Per delivery: a severe maternal morbidity (near-miss, 危重孕产妇) Condition from the "
        "delivering hospital during the stay (China: about 10-15 per 1,000 live births)",
    )
    booking_after_delivery_share: float = _f(
        0.01,
        "Per delivery of a woman with a community centre: the centre books her (EpisodeOfCare) "
        "after the delivery, a data-quality error (delivery_before_booking) that drops only "
        "the booking",
    )
    # -- screening, infections, anaemia -------------------------------------------------------
    hiv_prevalence: float = _f(
        0.0003, "Per woman: HIV positive (PMTCT programme data: about 2-4 per 10,000)"
    )
    syphilis_prevalence: float = _f(
        0.003, "Per woman: syphilis positive (PMTCT programme data: about 0.2-0.3%)"
    )
    hbsag_prevalence: float = _f(
        0.055, "Per woman: HBsAg positive (PMTCT programme data: about 5-6%)"
    )
    thalassaemia_carrier_share: float = _f(
        0.03,
        "Per woman: thalassaemia carrier (low in Zhejiang, 2-4%; southern provinces are far "
        "higher); her Hb is 12 g/L lower",
    )
    thalassaemia_diagnosed_share: float = _f(
        0.7, "Per carrier: a D56.1 Condition is recorded at her first hospital check"
    )
    untested_share: float = _f(
        0.005, "Per pregnancy and infection: not tested during pregnancy (test rates ~99.5%)"
    )
    tested_at_delivery_share: float = _f(
        0.8, "Per infection untested in pregnancy: a rapid test at the delivery admission"
    )
    hiv_treatment_share: float = _f(
        0.95, "Per HIV-positive pregnancy: antiretroviral treatment (target ≥ 95%)"
    )
    syphilis_treatment_share: float = _f(
        0.92, "Per syphilis-positive pregnancy: benzathine penicillin (target ≥ 95%)"
    )
    hbig_share: float = _f(
        0.97, "Per live birth to an HBsAg-positive mother: hepatitis B immunoglobulin"
    )
    hbig_late_share: float = _f(
        0.08, "Per HBIG given: later than 12 hours after birth (12.1-48 h; else 1-12 h)"
    )
    hepb_vaccine_share: float = _f(
        0.95,
        "Per live birth to an HBsAg-positive mother: a first hepatitis B vaccine dose "
        "(an Immunization)",
    )
    hepb_vaccine_late_share: float = _f(
        0.1, "Per first hepatitis B vaccine dose: later than 24 hours (24.1-96 h; else 0.5-24 h)"
    )
    infant_arv_share: float = _f(
        0.9, "Per live birth to an HIV-positive mother: antiretroviral prophylaxis of the child"
    )
    infant_syphilis_prophylaxis_share: float = _f(
        0.85, "Per live birth to a syphilis-positive mother: benzathine penicillin for the child"
    )
    newborn_birth_time_share: float = _f(
        0.9, "Per newborn Patient: the patient-birthTime extension is sent"
    )
    delivery_date_only_share: float = _f(
        0.1,
        "Per delivery Procedure: performed as a date only (with no birthTime either, the birth "
        "time is unknown)",
    )
    congenital_syphilis_repeat_share: float = _f(
        0.4, "Per congenital syphilis case: the same child diagnosed again 1-60 days later"
    )
    congenital_syphilis_treated_share: float = _f(
        0.01, "Per live birth to a treated syphilis-positive mother: congenital syphilis"
    )
    congenital_syphilis_untreated_share: float = _f(
        0.15, "Per live birth to an untreated syphilis-positive mother: congenital syphilis"
    )
    hiv_false_reactive_share: float = _f(
        0.003,
        "Per HIV screen of an uninfected woman: reactive, with a negative confirmatory test "
        "(tested, not infected)",
    )
    hiv_known_before_share: float = _f(
        0.5,
        "Per HIV-infected pregnancy: infection known before (a Z21 diagnosis 1-3 years before "
        "the LMP, ART since then with no end, asserted at booking; not screened again)",
    )
    syphilis_past_share: float = _f(
        0.004,
        "Per woman: a past, treated syphilis (treponemal test positive, non-treponemal "
        "negative: not infected)",
    )
    syphilis_ceftriaxone_share: float = _f(
        0.1,
        "Per treated syphilis-infected pregnancy: ceftriaxone with a syphilis reasonCode "
        "instead of penicillin (treated, not adequately)",
    )
    ceftriaxone_other_share: float = _f(
        0.01,
        "Per pregnancy with a hospital check (and per untreated syphilis-infected one x 30): "
        "ceftriaxone for another reason, no syphilis indication (not a syphilis treatment)",
    )
    hbv_antiviral_share: float = _f(
        0.1, "Per HBsAg-positive pregnancy: entecavir (a hepatitis B antiviral, not ART)"
    )
    hb_after_admission_share: float = _f(
        0.15,
        "Per facility delivery: a low Hb the day after delivery (after the admission day: not "
        "pregnancy anaemia); as many again have one on the admission day (counted)",
    )
    thalassaemia_screening_share: float = _f(
        0.85, "Per pregnancy with a hospital check: thalassaemia screening (HbA2) at the first"
    )
    prenatal_screening_share: float = _f(
        0.8, "Per pregnancy with a hospital check at 15-20 weeks: serum screening or NIPT"
    )
    prenatal_diagnosis_share: float = _f(
        0.03, "Per pregnancy with a hospital check at 16-24 weeks: amniocentesis"
    )
    hb_mean: float = _f(
        131.0,
        "Mean pre-pregnancy Hb in g/L (sd 8; pregnancy lowers it by 2, 9 and 7 g/L in the "
        "three trimesters), giving non-thalassaemia anaemia near 9% (plan target < 10%)",
    )
    # -- risk grading -------------------------------------------------------------------------
    risk_yellow_share: float = _f(
        0.22, "Per pregnancy: first grade yellow (age ≥ 35 is at least yellow, ≥ 40 orange)"
    )
    risk_orange_share: float = _f(0.05, "Per pregnancy: first grade orange")
    risk_red_share: float = _f(0.005, "Per pregnancy: first grade red (green takes the rest)")
    risk_escalation_share: float = _f(0.06, "Per re-assessment: the colour goes up one step")
    risk_deescalation_share: float = _f(0.03, "Per re-assessment: the colour goes down one step")
    # -- institutions' habits -----------------------------------------------------------------
    local_code_institution: str = _f(
        "hosp-c", "Sends laboratory results in local codes (its code-table.csv maps them)"
    )
    g_dl_institution: str = _f("hosp-b", "Sends haemoglobin in g/dL instead of g/L")
    procedure_test_institution: str = _f(
        "chc-03", "Reports tests as Procedures (test done, no result)"
    )
    episode_of_care_institutions: tuple[str, ...] = _f(
        ("chc-01", "chc-02", "chc-04", "chc-05", "hosp-a", "mch-hosp"),
        "Send an EpisodeOfCare per pregnancy",
    )
    # -- mess ---------------------------------------------------------------------------------
    late_share: float = _f(
        0.04, "Per record (not Patients or delivery Encounters): sent 3-45 days after its date"
    )
    duplicate_share: float = _f(0.01, "Per record: the same record sent again later")
    correction_share: float = _f(
        0.01,
        "Per Hb, birth weight, lab result or follow-up visit: first sent with a wrong value "
        "(or day), corrected 1-20 days later",
    )
    deletion_share: float = _f(
        0.01,
        "Per pregnancy: a record sent in error (a visit, a positive HIV result or a low Hb), "
        "deleted 1-30 days later (backfilled ones: in the month after the cutover)",
    )
    invalid_share: float = _f(
        0.005,
        "Per pregnancy: an invalid resource (rejected by validation) in a batch Bundle of its own",
    )
    utc_time_share: float = _f(0.05, "Per record: times written in UTC (`Z`) instead of `+08:00`")
    no_offset_time_share: float = _f(
        0.05,
        "Per record: times written without an offset (local Beijing time; accepted by the "
        "service although R4 asks for an offset, INTERFACE.md)",
    )
    evening_time_share: float = _f(
        0.05, "Per outpatient event: at 20:00-07:59 instead of office hours (day attribution)"
    )
    # -- bundles ------------------------------------------------------------------------------
    events_per_bundle: int = _f(
        3, "Care events (of the same send day) grouped into one transaction Bundle"
    )
    bundle_max_entries: int = _f(
        100, "Most entries in a Bundle (the service's default limit is 1000)"
    )
    truth: TruthSettings = field(
        default_factory=TruthSettings,
        metadata={"doc": "The rule settings truth.json assumes (see TruthSettings)"},
    )

    def __post_init__(self) -> None:
        problems = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.type == "float" and f.name.endswith("_share") and not 0.0 <= value <= 1.0:
                problems.append(f"{f.name} must be in [0, 1], not {value}")
        if self.pregnancies < 0:
            problems.append("pregnancies must not be negative")
        if self.end <= self.start:
            problems.append("end must be after start")
        if self.no_street_share + self.non_resident_share > 1:
            problems.append("no_street_share + non_resident_share > 1")
        if self.risk_yellow_share + self.risk_orange_share + self.risk_red_share > 1:
            problems.append("risk_yellow_share + risk_orange_share + risk_red_share > 1")
        if self.events_per_bundle < 1 or self.bundle_max_entries < 20:
            problems.append("events_per_bundle must be ≥ 1 and bundle_max_entries ≥ 20")
        if self.truth.caesarean_basis not in ("births", "women"):
            problems.append("truth.caesarean_basis must be 'births' or 'women'")
        if not set(self.truth.case_managed_colours) <= set(_COLOURS):
            problems.append(f"truth.case_managed_colours must be among {_COLOURS}")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def as_of_days(self) -> tuple[date, ...]:
        return self.as_of or (self.end,)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, TruthSettings):
                value = {
                    g.name: (list(v) if isinstance(v := getattr(value, g.name), tuple) else v)
                    for g in dataclasses.fields(value)
                }
            elif isinstance(value, date):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = [v.isoformat() if isinstance(v, date) else v for v in value]
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SimulationParams:
        """The inverse of ``as_dict`` (also for a partial dict: missing fields keep defaults),
        so a run's params.json reproduces it."""
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"unknown simulation parameters: {', '.join(unknown)}")
        kwargs: dict[str, Any] = {}
        for name, value in data.items():
            if name in ("start", "end"):
                value = date.fromisoformat(value) if isinstance(value, str) else value
            elif name == "as_of":
                value = tuple(date.fromisoformat(v) if isinstance(v, str) else v for v in value)
            elif name == "truth":
                tkw: dict[str, Any] = {
                    k: (tuple(v) if isinstance(v, list) else v) for k, v in dict(value).items()
                }
                value = TruthSettings(**tkw)
            elif isinstance(value, list):
                value = tuple(value)
            kwargs[name] = value
        return cls(**kwargs)

    def replace(self, **changes: Any) -> SimulationParams:
        return dataclasses.replace(self, **changes)


def parameter_docs() -> list[tuple[str, str, str]]:
    """(name, default as written in docs, doc) for every parameter, in declaration order."""
    rows = []
    defaults = SimulationParams().as_dict()
    for f in dataclasses.fields(SimulationParams):
        value = defaults[f.name]
        shown = "see below" if f.name == "truth" else _shown(value)
        rows.append((f.name, shown, f.metadata["doc"]))
    for g in dataclasses.fields(TruthSettings):
        value = getattr(TruthSettings(), g.name)
        rows.append((f"truth.{g.name}", _shown(value), g.metadata["doc"]))
    return rows


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "(none)"
    return str(value)
