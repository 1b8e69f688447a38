"""Care paths: what happens to each woman and which records each institution makes of it.

A woman books at the community health centre (CHC) of her street (or at a hospital, or not at
all), has her checks at a hospital (some move), is screened, graded and re-graded, delivers
(or loses the pregnancy, moves away, or dies), and is visited at home after discharge. Each
step becomes ``Record``s; ``facts_of`` reads the final records back into ``PregnancyFacts``.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from mch_service.simulator import district
from mch_service.simulator.facts import (
    CongenitalSyphilis,
    Dating,
    Delivery,
    Diagnosis,
    Haemoglobin,
    LabTest,
    MaternalDeath,
    Newborn,
    PregnancyFacts,
    RiskGrade,
    Screening,
    Treatment,
    Visit,
)
from mch_service.simulator.params import SimulationParams
from mch_service.simulator.records import Record, Woman

_ABBR = {
    "Patient": "pat",
    "EpisodeOfCare": "eoc",
    "Encounter": "enc",
    "Observation": "obs",
    "Procedure": "proc",
    "Condition": "cond",
    "RiskAssessment": "risk",
    "MedicationStatement": "meds",
    "MedicationAdministration": "meda",
    "Immunization": "imm",
}
# Scheduled checks (GA in days): 12, 16, 20, 24, 28, 30, 32, 34, 36, 37, 38, 39, 40 weeks —
# the 2011 prenatal care norm asks for at least 5; hospitals book these.
_SCHEDULE = (84, 112, 140, 168, 196, 210, 224, 238, 252, 259, 266, 273, 280)
_COLOURS = ("green", "yellow", "orange", "red")
_DEATH_CAUSES = (
    ("O72.1", "产后出血"),
    ("O15.0", "子痫"),
    ("O88.1", "羊水栓塞"),
    ("O99.4", "妊娠合并心脏病"),
)
_EXTERNAL_CAUSES = (("V89.2", "机动车交通事故"), ("W19", "跌倒"))
# Counted causes outside chapter O (ICD-MM, WHO 2012): care complications are direct obstetric
# deaths; a suicide counts pending review.
_CARE_COMPLICATION_CAUSES = (
    ("Y60.0", "手术中意外切割、刺破或出血"),
    ("Y65.8", "医疗中其他意外事故"),
)
_SELF_HARM_CAUSE = ("X70", "故意自缢")
NEAR_MISS_SYSTEM = "{canonical}/CodeSystem/maternal-near-miss"


@dataclass
class PregnancyStory:
    index: int
    lmp: date
    gravida: int
    records: list[Record] = field(default_factory=list)


@dataclass
class WomanStory:
    woman: Woman
    pregnancies: list[PregnancyStory]
    records: list[Record]  # every record of the woman, in the order they were made


class Context:
    """What the stories of all women share: parameters and the institutions' counters."""

    def __init__(self, params: SimulationParams) -> None:
        self.params = params
        self.counters: dict[tuple[str, str], int] = {}
        self.resident_ids: set[str] = set()
        self.lmp_min = params.start - timedelta(days=287)
        self.lmp_max = params.end - timedelta(days=42)
        self.end_dt = datetime.combine(params.end + timedelta(days=1), time())

    def rid(self, inst: str, resource_type: str) -> str:
        abbr = _ABBR[resource_type]
        n = self.counters.get((inst, abbr), 0) + 1
        self.counters[(inst, abbr)] = n
        return f"{inst}-{abbr}-{n}"

    def rid_own(self, inst: str, abbr: str) -> str:
        """An id in a series of its own (records added later keep the others' ids as before)."""
        n = self.counters.get((inst, abbr), 0) + 1
        self.counters[(inst, abbr)] = n
        return f"{inst}-{abbr}-{n}"

    def mrn(self, inst: str) -> str:
        n = self.counters.get((inst, "mrn"), 0) + 1
        self.counters[(inst, "mrn")] = n
        return f"{district.INSTITUTION_BY_ID[inst].mrn_prefix}{n:07d}"


def make_woman(ctx: Context, index: int, rng: random.Random, lmp: date) -> Woman:
    p = ctx.params
    street: district.Street | None = None
    where = rng.random()
    if where < p.no_street_share:
        residence = district.ADDRESS_UNKNOWN
    elif where < p.no_street_share + p.non_resident_share:
        residence = district.NON_RESIDENT
    else:
        residence = district.RESIDENT
        street = rng.choices(district.STREETS, district.STREET_WEIGHTS)[0]
    bad_id = rng.random() < p.bad_resident_id_share
    birth = district.birth_date_for(rng, lmp, p.mean_age, p.age_sd)
    while True:
        rid = district.resident_id(rng, birth, street is not None or rng.random() < 0.3, bad_id)
        if rid not in ctx.resident_ids:
            ctx.resident_ids.add(rid)
            break
    family, given = district.chinese_name(rng)
    thal = rng.random() < p.thalassaemia_carrier_share
    # its own stream, so that the main one (and every other choice) is what it was
    past = random.Random(f"{p.seed}/syphilis-past/{index}").random() < p.syphilis_past_share
    return Woman(
        index=index,
        resident_id=rid,
        bad_id=bad_id,
        birth_date=birth,
        family=family,
        given=given,
        phone=district.phone(rng),
        street=street.code if street else None,
        chc=street.chc if street else None,
        address=district.home_address(rng, street, residence),
        residence=residence,
        hiv=rng.random() < p.hiv_prevalence,
        syphilis=rng.random() < p.syphilis_prevalence,
        hbsag=rng.random() < p.hbsag_prevalence,
        thalassaemia=thal,
        hb_base=rng.gauss(p.hb_mean, 8.0) - (12.0 if thal else 0.0),
        home_hospital=rng.choices(district.HOSPITALS, district.HOSPITAL_WEIGHTS)[0],
        syphilis_past=past,
    )


def _minute(start: datetime, hours: float) -> datetime:
    """``hours`` after ``start``, to the whole minute (times are sent to the second)."""
    return start + timedelta(minutes=int(hours * 60))


def _at(day: date, hour: float) -> datetime:
    minutes = int(hour * 60)
    return datetime.combine(day, time()) + timedelta(minutes=minutes)


class _Builder:
    """Makes the records of one woman."""

    def __init__(self, ctx: Context, woman: Woman, rng: random.Random) -> None:
        self.ctx = ctx
        self.p = ctx.params
        self.w = woman
        self.rng = rng
        # The newborns' prophylaxis and birth times draw from their own stream, so that adding
        # them left every other record of the district as it was.
        self.infant_rng = random.Random(f"{ctx.params.seed}-infants-{woman.index}")
        self.records: list[Record] = []
        self.events = 0
        self.eocs: dict[str, Record] = {}  # of the current pregnancy, per institution
        self.preg: PregnancyStory | None = None
        self.known_hiv = False  # of the current pregnancy: HIV known before it

    # -- primitives ---------------------------------------------------------------------------

    def event(self) -> int:
        self.events += 1
        return self.events

    def add(
        self,
        kind: str,
        resource_type: str,
        inst: str,
        at: datetime,
        ev: int,
        data: dict[str, Any],
        refs: dict[str, Record] | None = None,
        anchor: bool = False,
    ) -> Record:
        rec = Record(
            kind,
            resource_type,
            inst,
            at,
            self.ctx.rid(inst, resource_type),
            data,
            refs or {},
            event=ev,
            anchor=anchor,
            pregnancy=self.preg.index if self.preg and kind != "patient" else -1,
        )
        self.records.append(rec)
        if self.preg is not None and kind != "patient":
            self.preg.records.append(rec)
        return rec

    def office_time(self, day: date) -> datetime:
        r = self.rng.random()
        if r < self.p.evening_time_share / 2:
            return _at(day, self.rng.uniform(20.0, 23.98))  # evening clinic / emergency
        if r < self.p.evening_time_share:
            return _at(day, self.rng.uniform(0.0, 7.98))  # night: before 08:00 (UTC day before)
        return _at(day, self.rng.uniform(8.0, 17.5))

    def patient(self, inst: str, at: datetime, ev: int) -> Record:
        """The woman's Patient at ``inst``, made at her first contact there."""
        rec = self.w.patients.get(inst)
        if rec is None:
            self.w.mrns[inst] = self.ctx.mrn(inst)
            saved, self.preg = self.preg, None  # a Patient belongs to the woman
            rec = self.add("patient", "Patient", inst, at, ev, {"woman": self.w}, anchor=True)
            self.preg = saved
            self.w.patients[inst] = rec
        return rec

    def contact(self, inst: str, at: datetime, episode: bool = False) -> tuple[int, Record]:
        """A care event at ``inst``: the Patient (first time) and, at a prenatal visit or the
        delivery admission, the pregnancy's EpisodeOfCare (first time, at institutions that
        send one)."""
        ev = self.event()
        pat = self.patient(inst, at, ev)
        if episode and inst in self.p.episode_of_care_institutions and inst not in self.eocs:
            self.eocs[inst] = self.add(
                "eoc",
                "EpisodeOfCare",
                inst,
                at,
                ev,
                {"status": "active", "start": at},
                {"patient": pat},
                anchor=True,
            )
        return ev, pat

    def visit(self, inst: str, at: datetime, visit_kind: str, home: bool = False) -> Record:
        ev, pat = self.contact(inst, at, episode=visit_kind != "postpartum_visit")
        refs = {"subject": pat}
        if inst in self.eocs:
            refs["episode"] = self.eocs[inst]
        return self.add(
            "visit",
            "Encounter",
            inst,
            at,
            ev,
            {
                "visit": visit_kind,
                "class": "HH" if home else "AMB",
                "end": at + timedelta(minutes=self.rng.randint(15, 45)),
            },
            refs,
        )

    # -- one pregnancy ------------------------------------------------------------------------

    def pregnancy(self, preg: PregnancyStory) -> date | None:
        """Records of one pregnancy; returns the day it ended (None: no known end)."""
        self.preg = preg
        self.eocs = {}
        p, rng, w = self.p, self.rng, self.w
        lmp = preg.lmp
        age = (lmp - w.birth_date).days / 365.25

        # Threshold edges come from a stream of their own, so the main stream (and with
        # edge_share 0 the whole district) is what it was without them.
        edge = random.Random(f"{p.seed}/edge/{w.index}/{lmp.isoformat()}")

        def on_edge(*choices: int) -> int | None:
            return edge.choice(choices) if edge.random() < p.edge_share else None

        twins = rng.random() < p.twin_share
        delivery_ga = self._delivery_ga(twins)
        # 27+6 / 28+0 weeks: the perinatal stillbirth limit (196 days)
        delivery_ga = on_edge(195, 196) or delivery_ga
        if w.bad_id:
            path = "hospital"
        elif w.street is None:
            path = "none" if rng.random() < p.no_prenatal_care_share else "hospital"
        else:
            r = rng.random()
            path = (
                "none"
                if r < p.no_prenatal_care_share
                else "chc"
                if r < p.no_prenatal_care_share + p.book_at_chc_share
                else "hospital"
            )
        if rng.random() < p.early_booking_share:
            booking_ga = min(90, int(rng.triangular(40, 91, 66)))
        else:
            booking_ga = int(rng.triangular(91, 200, 100))
        # early booking and early testing (< 91 days), the WHO first contact (< 84 days)
        booking_ga = on_edge(83, 84, 85, 90, 91) or booking_ga
        booking_ga = min(booking_ga, delivery_ga - 7)

        loss_ga = lost_ga = death_ga = None
        if path != "none":
            if rng.random() < p.pregnancy_loss_share and booking_ga + 7 <= 195:
                loss_ga = rng.randint(max(booking_ga + 7, 56), 195)
            if rng.random() < p.lost_to_follow_up_share:
                lost_ga = rng.randint(booking_ga + 14, max(booking_ga + 14, 252))
        dies = rng.random() < p.maternal_death_share
        death_external = rng.random() < p.maternal_death_external_share
        if dies and path != "none" and rng.random() < 0.3:
            death_ga = rng.randint(max(booking_ga + 7, 140), max(booking_ga + 7, delivery_ga - 2))

        # Hospitals: of the checks (one move for some), and of delivery.
        check_hosp = w.home_hospital if w.bad_id else self._hospital()
        switch_ga = None
        second_hosp = check_hosp
        if not w.bad_id and rng.random() < p.hospital_switch_share:
            switch_ga = rng.randint(140, 224)
            second_hosp = self._hospital(exclude=check_hosp)
        booking_inst = w.chc if path == "chc" and w.chc else check_hosp

        delivery_day = lmp + timedelta(days=delivery_ga)
        caesarean = instrumental = False
        r = rng.random()
        if r < p.caesarean_share:
            caesarean = True
        elif r < p.caesarean_share + p.instrumental_share:
            instrumental = True
        if caesarean and rng.random() < 0.7:
            delivery_at = _at(delivery_day, rng.uniform(8.0, 17.0))  # planned, office hours
        else:
            delivery_at = _at(delivery_day, rng.uniform(0.0, 23.98))
        admission_at = delivery_at - timedelta(
            hours=rng.uniform(2.0, 30.0) if caesarean else rng.uniform(1.0, 20.0)
        )

        stops = [admission_at]
        for ga in (loss_ga, lost_ga, death_ga):
            if ga is not None:
                stops.append(_at(lmp + timedelta(days=ga), 0.0))
        stop_at = min(stops)
        stop_day = stop_at.date()
        # Rule 3/4 situations come from a stream of their own (the main stream stays as it was).
        extra = random.Random(f"{p.seed}/infection/{w.index}/{lmp.isoformat()}")
        # An HIV infection known before the pregnancy: diagnosed 1-3 years before the LMP, on ART
        # since then (no end); not screened again.
        known_hiv = w.hiv and path != "none" and extra.random() < p.hiv_known_before_share
        # her screens are not sent (she is not screened again); the main stream's draws stay as
        # they were, so the rest of her pregnancy is what it was
        self.known_hiv = known_hiv
        known_since: datetime | None = None
        if known_hiv:
            known_since = _at(lmp - timedelta(days=extra.randint(365, 1000)), 10.0)
            self._condition(check_hosp, known_since, "dx_hiv", "Z21", "无症状HIV感染状态")

        # -- prenatal visits --------------------------------------------------------------------
        plan: list[tuple[int, str]] = []
        if path != "none":
            plan.append((booking_ga, booking_inst))
            attend = 0.9 if rng.random() < p.good_attendance_share else 0.45
            if path == "chc" and rng.random() < p.chc_follow_up_share:
                chc_ga = rng.randint(112, 140)
                if chc_ga >= booking_ga + 14 and w.chc:
                    plan.append((chc_ga, w.chc))
            for g in _SCHEDULE:
                if g < booking_ga + 14:
                    continue
                g2 = g + rng.randint(-3, 3)
                if rng.random() < attend:
                    hosp = second_hosp if switch_ga is not None and g2 >= switch_ga else check_hosp
                    plan.append((g2, hosp))
        plan.sort()
        visits: list[tuple[int, Record]] = []
        seen_inst: set[str] = set()
        for ga, inst in plan:
            day = lmp + timedelta(days=ga)
            if day >= stop_day:
                break
            kind = "prenatal_visit" if inst in seen_inst else "prenatal_initial_visit"
            seen_inst.add(inst)
            enc = self.visit(inst, self.office_time(day), kind)
            visits.append((ga, enc))
            if kind == "prenatal_initial_visit":
                self._dating(enc, lmp, preg.gravida, with_gravida=not visits[:-1])

        # -- screening -----------------------------------------------------------------------
        untested = {i: rng.random() < p.untested_share for i in ("hiv", "syphilis", "hbsag")}
        hospital_visits = [
            (ga, e) for ga, e in visits if district.INSTITUTION_BY_ID[e.inst].is_hospital
        ]
        lab_visit: Record | None = None
        procedures_only = False
        if visits:
            first = visits[0][1]
            if district.INSTITUTION_BY_ID[first.inst].is_hospital:
                lab_visit = first
            elif rng.random() < p.chc_lab_share:
                lab_visit = first
                procedures_only = first.inst == p.procedure_test_institution
            elif hospital_visits:
                lab_visit = hospital_visits[0][1]
        positives: dict[str, tuple[datetime, str]] = {}  # infection -> (result time, inst)
        if lab_visit is not None:
            t_lab = lab_visit.at + timedelta(minutes=rng.randint(20, 90))
            for infection in ("hiv", "syphilis", "hbsag"):
                if untested[infection]:
                    continue
                if procedures_only:
                    self.add(
                        "test_done",
                        "Procedure",
                        lab_visit.inst,
                        t_lab,
                        lab_visit.event,
                        {"test": infection},
                        {"subject": lab_visit.refs["subject"]},
                    )
                    if w.infected(infection):
                        # The CHC sends no result; the hospital re-tests a positive woman.
                        later = [e for _, e in hospital_visits if e.at > t_lab]
                        if later and rng.random() < 0.95:
                            t2 = later[0].at + timedelta(minutes=rng.randint(20, 90))
                            confirmed = self._lab(later[0], infection, t2, extra)
                            if confirmed is not None:
                                positives[infection] = (confirmed, later[0].inst)
                else:
                    confirmed = self._lab(lab_visit, infection, t_lab, extra)
                    if confirmed is not None:
                        positives[infection] = (confirmed, lab_visit.inst)
            if not procedures_only:
                self._hb(lab_visit, t_lab, lmp)
        for lo, hi in ((182, 210), (238, 266)):
            for ga, e in hospital_visits:
                if lo <= ga <= hi and e is not lab_visit:
                    self._hb(e, e.at + timedelta(minutes=rng.randint(20, 90)), lmp)
                    break
        if w.thalassaemia and hospital_visits and rng.random() < p.thalassaemia_diagnosed_share:
            e = hospital_visits[0][1]
            self._condition(e.inst, e.at + timedelta(hours=1), "dx_thal", "D56.1", "β型地中海贫血")
        self._maternal_screening(hospital_visits, extra)
        if hospital_visits and extra.random() < p.ceftriaxone_other_share:
            e = hospital_visits[-1][1]
            self._treatment(e.inst, e.at + timedelta(minutes=50), "ceftriaxone", subject=e)

        # -- risk grading ------------------------------------------------------------------------
        colour = self._first_colour(age)
        graded_days: set[date] = set()
        assess_at = [visits[0][1]] if visits else []
        if hospital_visits and hospital_visits[0][1] is not (visits[0][1] if visits else None):
            assess_at.append(hospital_visits[0][1])
        for lo, hi in ((182, 210), (238, 266)):
            for ga, e in visits:
                if lo <= ga <= hi:
                    assess_at.append(e)
                    break
        for n, e in enumerate(assess_at):
            if e.at.date() in graded_days:
                continue
            if n:
                colour = self._regrade(colour, age)
            graded_days.add(e.at.date())
            known_purple = {"hiv_known": (known_since, check_hosp)} if known_since else {}
            self._risk(e, e.at + timedelta(minutes=40), colour, {**positives, **known_purple})

        # -- diagnoses and treatment of infections ---------------------------------------------
        treatments_due: list[tuple[str, datetime, str]] = []
        for infection, (t_pos, inst) in positives.items():
            dx_at = t_pos + timedelta(days=rng.randint(0, 7), minutes=rng.randint(30, 240))
            if dx_at >= stop_at:
                dx_at = t_pos + timedelta(minutes=rng.randint(30, 120))
            code = {
                "hiv": ("Z21", "无症状HIV感染状态") if rng.random() < 0.8 else ("B20", "HIV病"),
                "syphilis": ("A53.9", "梅毒"),
                "hbsag": ("B18.1", "慢性乙型病毒性肝炎"),
            }[infection]
            known = infection == "hiv" and known_hiv  # diagnosed before the pregnancy
            if (infection != "hbsag" or rng.random() < 0.5) and not known:
                self._condition(inst, dx_at, f"dx_{infection}", *code)
            if dx_at.date() not in graded_days and dx_at < stop_at and rng.random() < 0.9:
                graded_days.add(dx_at.date())
                ev, pat = self.contact(inst, dx_at)
                self._risk_record(inst, dx_at + timedelta(minutes=5), ev, pat, colour, True)
            if infection == "hiv" and rng.random() < p.hiv_treatment_share:
                art_at = dx_at + timedelta(days=rng.randint(0, 20))
                if not known:  # she is on ART already (below)
                    treatments_due.append(("hiv", art_at, inst))
            if infection == "syphilis" and rng.random() < p.syphilis_treatment_share:
                first_dose = dx_at + timedelta(days=rng.randint(0, 25))
                # adequacy: penicillin started >= 30 days before the delivery day
                before = on_edge(29, 30, 31)
                if before is not None and delivery_day - timedelta(days=before) > dx_at.date():
                    first_dose = _at(delivery_day - timedelta(days=before), 10.0)
                if extra.random() < p.syphilis_ceftriaxone_share:
                    # ceftriaxone with a syphilis reasonCode: treated, not adequately
                    for k in range(10):
                        treatments_due.append(
                            ("ceftriaxone_syphilis", first_dose + timedelta(days=k), inst)
                        )
                else:
                    for k in range(3):
                        treatments_due.append(
                            ("syphilis", first_dose + timedelta(days=7 * k), inst)
                        )
            elif infection == "syphilis" and extra.random() < 30 * p.ceftriaxone_other_share:
                # ceftriaxone for something else: not a syphilis treatment
                treatments_due.append(("ceftriaxone", dx_at + timedelta(days=2), inst))
            if infection == "hbsag" and extra.random() < p.hbv_antiviral_share:
                treatments_due.append(("entecavir", dx_at + timedelta(days=1), inst))

        if known_since is not None and visits:
            # "on ART since": a MedicationStatement asserted at booking, period from before the
            # LMP, no end
            e = visits[0][1]
            self._treatment(
                e.inst,
                e.at + timedelta(minutes=30),
                "hiv",
                subject=e,
                start=(known_since + timedelta(days=extra.randint(7, 60))).date(),
            )

        # -- how it ends -------------------------------------------------------------------------
        last_inst = visits[-1][1].inst if visits else check_hosp
        for infection, at, inst in treatments_due:
            if at < stop_at:
                self._treatment(inst, self.office_time(at.date()), infection)
        ended: date | None = None
        if stop_at != admission_at:
            if lost_ga is not None and stop_at == _at(lmp + timedelta(days=lost_ga), 0.0):
                return None  # moved away: nothing more is ever reported
            if death_ga is not None and stop_at == _at(lmp + timedelta(days=death_ga), 0.0):
                self._death(last_inst, self.office_time(stop_day), death_external)
                return None
            assert loss_ga is not None
            loss_at = self.office_time(stop_day)
            inst = check_hosp
            ev, pat = self.contact(inst, loss_at)
            code = rng.choice((("O03.9", "完全性或未特指的自然流产"), ("O03.4", "不全流产")))
            self.add(
                "loss",
                "Condition",
                inst,
                loss_at,
                ev,
                {"code": code[0], "display": code[1]},
                {"subject": pat},
            )
            ended = stop_day
            self._finish_episodes(loss_at + timedelta(days=1))
            return ended

        # -- delivery ----------------------------------------------------------------------------
        home = w.chc is not None and not w.bad_id and rng.random() < p.home_birth_share
        if home:
            assert w.chc is not None
            deliver_inst = w.chc
            caesarean = instrumental = False
            admission_at = delivery_at - timedelta(minutes=rng.randint(20, 90))
        elif w.bad_id:
            deliver_inst = w.home_hospital
        elif rng.random() < p.delivery_elsewhere_share:
            deliver_inst = self._hospital(exclude=last_inst)
        else:
            deliver_inst = (
                last_inst if district.INSTITUTION_BY_ID[last_inst].is_hospital else (second_hosp)
            )
        if home:
            discharge_at = delivery_at + timedelta(hours=2)
        else:
            stay = rng.randint(4, 6) if caesarean else rng.randint(2, 3)
            discharge_at = _at(delivery_day + timedelta(days=stay), rng.uniform(9.0, 11.5))
        death_at: datetime | None = None
        if dies and death_ga is None:
            death_at = delivery_at + timedelta(
                days=rng.randint(0, 42), hours=rng.uniform(1.0, 20.0)
            )
            if death_at <= discharge_at:
                discharge_at = death_at  # died in hospital: the stay ends with the death

        # Admission: rapid tests for whoever was not tested in pregnancy.
        ev, pat = self.contact(deliver_inst, admission_at, episode=True)
        for infection in ("hiv", "syphilis", "hbsag"):
            known = infection == "hiv" and known_hiv
            if untested[infection] and rng.random() < p.tested_at_delivery_share:
                t = admission_at + timedelta(minutes=rng.randint(10, 60))
                confirmed = self._lab_record(deliver_inst, t, ev, pat, infection, extra)
                if confirmed is not None and infection not in positives:
                    t = confirmed
                    positives[infection] = (t, deliver_inst)
                    code = {
                        "hiv": ("Z21", "无症状HIV感染状态"),
                        "syphilis": ("A53.9", "梅毒"),
                        "hbsag": ("B18.1", "慢性乙型病毒性肝炎"),
                    }[infection]
                    if not known:
                        self._condition(
                            deliver_inst, t + timedelta(hours=1), f"dx_{infection}", *code
                        )
                    share = {
                        "hiv": p.hiv_treatment_share,
                        "syphilis": p.syphilis_treatment_share,
                        "hbsag": 0.0,
                    }[infection]
                    if rng.random() < share and not known:
                        self._treatment(deliver_inst, t + timedelta(hours=2), infection)
        # Hb on the admission day (pregnancy anaemia counts it) or the day after delivery (after
        # a haemorrhage, say: not pregnancy anaemia).
        if not home:
            r = extra.random()
            if r < p.hb_after_admission_share:
                low = round(w.hb_base - 25 + extra.gauss(0.0, 6.0))
                self._hb_record(deliver_inst, delivery_at + timedelta(days=1), ev, pat, low)
            elif r < 2 * p.hb_after_admission_share:
                value = round(w.hb_base - 7 + extra.gauss(0.0, 4.0))
                self._hb_record(deliver_inst, admission_at + timedelta(minutes=25), ev, pat, value)
        # Treatment that was due after admission is given during the stay (intrapartum ART,
        # a penicillin dose), once.
        for infection in ("hiv", "syphilis"):
            due = [at for inf, at, _ in treatments_due if inf == infection]
            if due and all(at >= stop_at for at in due):
                self._treatment(deliver_inst, admission_at + timedelta(hours=1), infection)

        ev = self.event()
        pat = self.patient(deliver_inst, delivery_at, ev)
        enc_refs = {"subject": pat}
        if deliver_inst in self.eocs:
            enc_refs["episode"] = self.eocs[deliver_inst]
        enc = self.add(
            "delivery_encounter",
            "Encounter",
            deliver_inst,
            delivery_at,
            ev,
            {"home": home, "admission": admission_at, "status": "in-progress"},
            enc_refs,
            anchor=True,
        )
        enc.updates.append((discharge_at, {"status": "finished", "discharge": discharge_at}))
        mode = (
            "caesarean"
            if caesarean
            else (rng.choice(("forceps", "vacuum")) if instrumental else "vaginal")
        )
        self.add(
            "delivery_procedure",
            "Procedure",
            deliver_inst,
            delivery_at,
            ev,
            {
                "mode": mode,
                # some systems send the delivery day only: no time of birth from it
                "date_only": self.infant_rng.random() < p.delivery_date_only_share,
            },
            {"subject": pat, "encounter": enc},
        )
        ga_at = delivery_at + timedelta(minutes=5)
        self.add(
            "ga_delivery",
            "Observation",
            deliver_inst,
            ga_at,
            ev,
            {"ga_days": (ga_at.date() - lmp).days},
            {"subject": pat, "encounter": enc},
        )
        babies = self._babies(delivery_ga, twins)
        n_live = sum(1 for b in babies if b["live"])
        z37 = {(1, 1): "Z37.0", (1, 0): "Z37.1", (2, 2): "Z37.2", (2, 1): "Z37.3", (2, 0): "Z37.4"}[
            (len(babies), n_live)
        ]
        self.add(
            "z37",
            "Condition",
            deliver_inst,
            delivery_at,
            ev,
            {"code": z37, "display": _Z37[z37]},
            {"subject": pat},
        )
        treated_syphilis = any(
            inf == "syphilis" and at < discharge_at for inf, at, _ in treatments_due
        )
        for order, baby in enumerate(babies, start=1):
            if not baby["live"]:
                continue
            born = delivery_at + timedelta(minutes=(order - 1) * rng.randint(3, 20))
            if born.date() != delivery_day:
                born = delivery_at
            nb = self.add(
                "newborn",
                "Patient",
                deliver_inst,
                born,
                ev,
                {
                    "sex": baby["sex"],
                    "order": order if twins else None,
                    "mrn": f"{w.mrns[deliver_inst]}-{order}",
                    "woman": w,
                    # the patient-birthTime extension, when the hospital sends it
                    "birth_time": self.infant_rng.random() < p.newborn_birth_time_share,
                },
                {"mother": pat},
                anchor=True,
            )
            if baby["death_days"] is not None:
                died = born + timedelta(days=baby["death_days"], hours=rng.uniform(0.5, 20.0))
                nb.updates.append((died, {"deceased": died}))
            self.add(
                "birth_weight",
                "Observation",
                deliver_inst,
                born + timedelta(minutes=10),
                ev,
                {"g": baby["weight"]},
                {"subject": nb, "encounter": enc},
            )
            self.add(
                "apgar",
                "Observation",
                deliver_inst,
                born + timedelta(minutes=5),
                ev,
                {"score": baby["apgar"]},
                {"subject": nb, "encounter": enc},
            )
            if w.hbsag and "hbsag" in positives and rng.random() < p.hbig_share:
                hours = rng.uniform(1, 12)
                if self.infant_rng.random() < p.hbig_late_share:
                    hours = self.infant_rng.uniform(12.1, 48.0)
                at = _minute(born, hours)
                edge_at = self._dose_edge(f"{lmp}/{order}/hbig", p.truth.hbig_hours)
                at = born + edge_at if edge_at is not None else at
                self._treatment(deliver_inst, at, "hbig", subject=nb)
            self._infant_prophylaxis(deliver_inst, born, nb, positives, f"{lmp}/{order}")
            if w.syphilis:
                share = (
                    p.congenital_syphilis_treated_share
                    if treated_syphilis
                    else p.congenital_syphilis_untreated_share
                )
                if rng.random() < share:
                    at = max(
                        self.office_time(delivery_day + timedelta(days=rng.randint(0, 30))),
                        born + timedelta(hours=2),
                    )
                    ev2 = self.event()
                    self.add(
                        "cs",
                        "Condition",
                        deliver_inst,
                        at,
                        ev2,
                        {"code": rng.choice(("A50.9", "A50.2")), "display": "先天性梅毒"},
                        {"subject": nb},
                    )
                    if self.infant_rng.random() < p.congenital_syphilis_repeat_share:
                        # the same child diagnosed again later (a follow-up visit): one case
                        again = at + timedelta(days=self.infant_rng.randint(1, 60))
                        self.add(
                            "cs",
                            "Condition",
                            deliver_inst,
                            again,
                            self.event(),
                            {"code": "A50.9", "display": "先天性梅毒"},
                            {"subject": nb},
                        )
        ended = delivery_day
        # Streams of their own (the main stream stays as it was without them).
        extra_rng = random.Random(f"{p.seed}/delivery-extra/{w.index}/{lmp.isoformat()}")
        if not home and extra_rng.random() < p.severe_maternal_morbidity_share:
            # 危重孕产妇: the delivering hospital's near-miss Condition during the stay
            at = min(delivery_at + timedelta(hours=extra_rng.uniform(1.0, 30.0)), discharge_at)
            ev2, pat2 = self.contact(deliver_inst, at)
            self.add(
                "near_miss",
                "Condition",
                deliver_inst,
                at,
                ev2,
                {"code": "near-miss", "display": "危重孕产妇", "system": NEAR_MISS_SYSTEM},
                {"subject": pat2},
            )
        chc = w.chc
        if chc is not None and not w.bad_id and extra_rng.random() < p.booking_after_delivery_share:
            # The centre books her after the delivery (a booking dated wrong): the data-quality
            # rule delivery_before_booking. An EpisodeOfCare where the centre sends one and
            # has none for this pregnancy yet, else a first-visit Encounter.
            late = _at(
                delivery_day + timedelta(days=extra_rng.randint(1, 30)), extra_rng.uniform(8, 17)
            )
            if chc in p.episode_of_care_institutions and chc not in self.eocs:
                self.contact(chc, late, episode=True)
            else:
                ev3, pat3 = self.contact(chc, late)
                refs = {
                    "subject": pat3,
                    **({"episode": self.eocs[chc]} if chc in self.eocs else {}),
                }
                end = late + timedelta(minutes=extra_rng.randint(15, 45))
                data = {"visit": "prenatal_initial_visit", "class": "AMB", "end": end}
                self.add("visit", "Encounter", chc, late, ev3, data, refs)
        if death_at is not None:
            self._death(deliver_inst, death_at, death_external)

        # -- postpartum --------------------------------------------------------------------------
        discharge_day = discharge_at.date()
        pp_plan: list[tuple[date, str, bool]] = []  # day, institution, home visit
        visitor = w.chc if w.chc and not w.bad_id else (w.home_hospital if w.bad_id else None)
        if visitor and rng.random() < p.postpartum_visit_share:
            if rng.random() < p.postpartum_visit_late_share:
                home_visit = discharge_day + timedelta(days=rng.randint(29, 40))
            else:
                home_visit = discharge_day + timedelta(days=rng.randint(1, 10))
            # the 28-day window counts from the discharge day (day 0) to day 28; a visit on
            # day 45 leaves her on the work list until it ends after day 42
            home_day = on_edge(0, 28, 29, 45)
            if home_day is not None:
                home_visit = discharge_day + timedelta(days=home_day)
            pp_plan.append((home_visit, visitor, True))
            if rng.random() < 0.4:
                pp_plan.append((home_visit + timedelta(days=rng.randint(7, 18)), visitor, True))
        elif visitor is None and rng.random() < 0.7:
            pp_plan.append(
                (discharge_day + timedelta(days=rng.randint(5, 14)), deliver_inst, False)
            )
        check: tuple[date, str, bool] | None = None
        if rng.random() < p.postpartum_42d_check_share:
            offset = rng.randint(57, 70) if rng.random() < 0.05 else rng.randint(38, 49)
            # the 42-day check counts on days 35-56 after delivery
            offset = on_edge(34, 35, 56, 57) or offset
            where = deliver_inst
            if home or (w.chc and not w.bad_id and rng.random() < 0.3):
                where = w.chc or deliver_inst
            check = (delivery_day + timedelta(days=offset), where, False)
            pp_plan.append(check)
        # EPDS at the 42-day check: a stream of its own, so the rest of the district is what
        # it was before the scores (postpartum_depression_screening_rate)
        epds = random.Random(f"{p.seed}/epds/{w.index}/{lmp.isoformat()}")
        for day, inst, at_home in sorted(pp_plan):
            at = self.office_time(day)
            if death_at is not None and at >= death_at:
                break
            enc = self.visit(inst, at, "postpartum_visit", home=at_home)
            if (day, inst, at_home) == check and epds.random() < p.epds_share:
                self._epds(enc, epds)
        self._finish_episodes(
            death_at + timedelta(days=1)
            if death_at
            else _at(delivery_day + timedelta(days=43), 10.0)
        )
        return None if death_at is not None else ended

    # -- pieces -------------------------------------------------------------------------------

    def _hospital(self, exclude: str | None = None) -> str:
        while True:
            h = self.rng.choices(district.HOSPITALS, district.HOSPITAL_WEIGHTS)[0]
            if h != exclude:
                return h

    def _delivery_ga(self, twins: bool) -> int:
        p, rng = self.p, self.rng
        r = rng.random()
        if r < p.extremely_preterm_share:
            ga = rng.randint(140, 195)  # 20+0 to 27+6 weeks: a loss (流产/引产)
        elif r < p.extremely_preterm_share + p.preterm_share * (2 if twins else 1):
            # Most preterm births are late preterm (34-36 weeks).
            ga = int(rng.triangular(196, 259, 259))
        else:
            ga = min(293, max(259, int(rng.gauss(276, 7))))
        return ga

    def _babies(self, ga: int, twins: bool) -> list[dict[str, Any]]:
        p, rng = self.p, self.rng
        preterm = ga < 259
        # Stillbirth: preterm babies 10 times as often as term ones, so that the overall
        # per-baby share stays near the parameter; half below 28 weeks.
        base = p.stillbirth_share / (1 + 9 * p.preterm_share)
        p_still = 0.5 if ga < 196 else base * (10 if preterm else 1)
        babies = []
        for _ in range(2 if twins else 1):
            live = rng.random() >= p_still
            mean = _weight_mean(ga, p.term_birth_weight_mean_g) - (450 if twins else 0)
            sd = 350.0 if ga >= 259 else max(120.0, mean * 0.13)
            weight = max(400, int(rng.gauss(mean, sd)))
            death_days = None
            if live:
                r = rng.random()
                early = p.early_neonatal_death_share * (5 if preterm else 1)
                if r < early:
                    death_days = rng.randint(0, 6)
                elif r < early + p.late_neonatal_death_share:
                    death_days = rng.randint(7, 27)
            babies.append(
                {
                    "live": live,
                    "sex": rng.choice(("male", "female")),
                    "weight": weight,
                    "apgar": rng.choice((7, 8, 9, 9, 10, 10)) if not preterm else rng.randint(4, 9),
                    "death_days": death_days,
                }
            )
        return babies

    def _first_colour(self, age: float) -> str:
        p, r = self.p, self.rng.random()
        colour = (
            "red"
            if r < p.risk_red_share
            else "orange"
            if r < p.risk_red_share + p.risk_orange_share
            else "yellow"
            if r < p.risk_red_share + p.risk_orange_share + p.risk_yellow_share
            else "green"
        )
        return _at_least(colour, _age_floor(age))

    def _regrade(self, colour: str, age: float) -> str:
        i = _COLOURS.index(colour)
        r = self.rng.random()
        if r < self.p.risk_escalation_share:
            i = min(3, i + 1)
        elif r < self.p.risk_escalation_share + self.p.risk_deescalation_share:
            i = max(0, i - 1)
        return _at_least(_COLOURS[i], _age_floor(age))

    def _dating(self, enc: Record, lmp: date, gravida: int, with_gravida: bool) -> None:
        at = enc.at + timedelta(minutes=10)
        ga = (at.date() - lmp).days
        refs = {"subject": enc.refs["subject"]}
        self.add("lmp", "Observation", enc.inst, at, enc.event, {"lmp": lmp}, refs)
        self.add(
            "edd", "Observation", enc.inst, at, enc.event, {"edd": lmp + timedelta(days=280)}, refs
        )
        self.add("ga", "Observation", enc.inst, at, enc.event, {"ga_days": ga}, refs)
        if with_gravida:
            self.add("gravida", "Observation", enc.inst, at, enc.event, {"gravida": gravida}, refs)

    def _lab(
        self, enc: Record, infection: str, at: datetime, extra: random.Random
    ) -> datetime | None:
        return self._lab_record(enc.inst, at, enc.event, enc.refs["subject"], infection, extra)

    def _lab_record(
        self, inst: str, at: datetime, ev: int, pat: Record, infection: str, extra: random.Random
    ) -> datetime | None:
        """One infection's tests as a laboratory runs them; returns when the infection is
        confirmed (None: not infected). HIV: a screen, and after a reactive one a confirmatory
        test days later. Syphilis: a treponemal test, and after a reactive one a
        non-treponemal test (a past, treated syphilis stays treponemal positive only)."""
        w = self.w
        if infection == "hiv" and self.known_hiv:
            return at  # known before the pregnancy: not screened again, nothing sent

        def result(positive: bool) -> str:
            return "positive" if positive else "negative"

        def lab(when: datetime, positive: bool, method: str | None) -> None:
            data = {"test": infection, "result": result(positive), "method": method}
            self.add("lab", "Observation", inst, when, ev, data, {"subject": pat})

        infected = w.infected(infection)
        if infection == "hiv":
            reactive = infected or extra.random() < self.p.hiv_false_reactive_share
            lab(at, reactive, None)
            if not reactive:
                return None
            confirm_at = at + timedelta(days=extra.randint(1, 6), minutes=extra.randint(0, 240))
            lab(confirm_at, infected, "confirmatory")
            return confirm_at if infected else None
        if infection == "syphilis":
            treponemal = infected or w.syphilis_past
            lab(at, treponemal, "treponemal")
            if not treponemal:
                return None
            then = at + timedelta(minutes=extra.randint(30, 180))
            lab(then, infected, "non_treponemal")
            return then if infected else None
        lab(at, infected, None)
        return at if infected else None

    def _hb_record(self, inst: str, at: datetime, ev: int, pat: Record, g_l: float) -> None:
        value = int(min(200, max(40, g_l)))
        self.add("hb", "Observation", inst, at, ev, {"g_l": value}, {"subject": pat})

    def _maternal_screening(
        self, hospital_visits: list[tuple[int, Record]], extra: random.Random
    ) -> None:
        """Thalassaemia screening at the first hospital check; serum screening or NIPT at
        15-20 weeks; an amniocentesis for some at 16-24 weeks."""
        p = self.p
        if hospital_visits and extra.random() < p.thalassaemia_screening_share:
            e = hospital_visits[0][1]
            self.add(
                "thal_screen",
                "Observation",
                e.inst,
                e.at + timedelta(minutes=35),
                e.event,
                {"positive": self.w.thalassaemia},
                {"subject": e.refs["subject"]},
            )
        mid = [e for ga, e in hospital_visits if 105 <= ga <= 140]
        if mid and extra.random() < p.prenatal_screening_share:
            e = mid[0]
            kind = "nipt" if extra.random() < 0.25 else "prenatal-serum-screening"
            self.add(
                "prenatal_screen",
                "Observation",
                e.inst,
                e.at + timedelta(minutes=40),
                e.event,
                {"code": kind},
                {"subject": e.refs["subject"]},
            )
        later = [e for ga, e in hospital_visits if 112 <= ga <= 168]
        if later and extra.random() < p.prenatal_diagnosis_share:
            e = later[0]
            self.add(
                "prenatal_dx",
                "Procedure",
                e.inst,
                e.at + timedelta(hours=2),
                e.event,
                {},
                {"subject": e.refs["subject"]},
            )

    def _hb(self, enc: Record, at: datetime, lmp: date) -> None:
        ga = (at.date() - lmp).days
        drop = 2.0 if ga < 91 else 9.0 if ga < 196 else 7.0
        value = round(self.w.hb_base - drop + self.rng.gauss(0.0, 4.0))
        self.add(
            "hb",
            "Observation",
            enc.inst,
            at,
            enc.event,
            {"g_l": int(value)},
            {"subject": enc.refs["subject"]},
        )

    def _risk(
        self, enc: Record, at: datetime, colour: str, positives: dict[str, tuple[datetime, str]]
    ) -> None:
        purple = any(t.date() <= at.date() for t, _ in positives.values())
        self._risk_record(enc.inst, at, enc.event, enc.refs["subject"], colour, purple)

    def _risk_record(
        self, inst: str, at: datetime, ev: int, pat: Record, colour: str, purple: bool
    ) -> None:
        self.add(
            "risk",
            "RiskAssessment",
            inst,
            at,
            ev,
            {"colour": colour, "purple": purple},
            {"subject": pat},
        )

    def _epds(self, enc: Record, epds: random.Random) -> None:
        """An Edinburgh Postnatal Depression Scale total score (0-30) at the visit."""
        score = min(30, max(0, round(epds.gauss(6.0, 4.5))))
        rec = Record(
            "epds",
            "Observation",
            enc.inst,
            enc.at + timedelta(minutes=25),
            self.ctx.rid_own(enc.inst, "epds"),
            {"score": score},
            {"subject": enc.refs["subject"]},
            event=enc.event,
            pregnancy=self.preg.index if self.preg else -1,
        )
        self.records.append(rec)
        if self.preg is not None:
            self.preg.records.append(rec)

    def _condition(self, inst: str, at: datetime, kind: str, code: str, display: str) -> None:
        ev, pat = self.contact(inst, at)
        self.add(
            kind, "Condition", inst, at, ev, {"code": code, "display": display}, {"subject": pat}
        )

    def _treatment(
        self,
        inst: str,
        at: datetime,
        infection: str,
        subject: Record | None = None,
        start: date | None = None,
    ) -> None:
        """``infection`` names the drug: hiv (ART), syphilis (penicillin), ceftriaxone_syphilis
        (with a syphilis reasonCode), ceftriaxone (for something else), entecavir, hbig.
        ``start``: a standing regimen from that day, no end (asserted at ``at``)."""
        if subject is None:
            ev, pat = self.contact(inst, at)
        else:
            ev, pat = subject.event, subject
        # ART and entecavir are standing medications (statements); injections administrations.
        standing = infection in ("hiv", "entecavir")
        rtype = "MedicationStatement" if standing else "MedicationAdministration"
        data: dict[str, Any] = {"infection": infection}
        if start is not None:
            data["start"] = start
        elif infection == "entecavir":
            data["start"] = at.date()
        subj = (
            pat
            if subject is None or subject.kind in ("patient", "newborn")
            else subject.refs["subject"]
        )
        self.add("treatment", rtype, inst, at, ev, data, {"subject": subj})

    def _dose_edge(self, key: str, hours: int) -> timedelta | None:
        """A share ``edge_share`` of infant doses is placed on the truth's hour limit instead:
        an hour before it, exactly on it, a minute after it or an hour after it (from a stream
        of its own per baby and dose, so that no other record moves)."""
        edge = random.Random(f"{self.p.seed}/edge-dose/{self.w.index}/{key}")
        if edge.random() >= self.p.edge_share:
            return None
        return timedelta(minutes=hours * 60 + edge.choice((-60, 0, 1, 60)))

    def _infant_prophylaxis(
        self, inst: str, born: datetime, nb: Record, positives: dict[str, Any], baby: str
    ) -> None:
        """A live newborn of a mother known positive: the first hepatitis B vaccine dose
        (HBsAg), antiretroviral prophylaxis (HIV), benzathine penicillin (syphilis); each
        sometimes missing and, for the vaccine, sometimes late (or on its limit: ``_dose_edge``)."""
        p, r, w = self.p, self.infant_rng, self.w
        if w.hbsag and "hbsag" in positives and r.random() < p.hepb_vaccine_share:
            hours = r.uniform(24.1, 96.0) if r.random() < p.hepb_vaccine_late_share else None
            at = _minute(born, hours if hours is not None else r.uniform(0.5, 24.0))
            edge_at = self._dose_edge(f"{baby}/hepb_vaccine", p.truth.hepb_vaccine_hours)
            at = born + edge_at if edge_at is not None else at
            self.add("hepb_vaccine", "Immunization", inst, at, nb.event, {}, {"subject": nb})
        if w.hiv and "hiv" in positives and r.random() < p.infant_arv_share:
            at = _minute(born, r.uniform(1.0, 12.0))
            self.add(
                "treatment",
                "MedicationAdministration",
                inst,
                at,
                nb.event,
                {"infection": "hiv_infant"},
                {"subject": nb},
            )
        if (
            w.syphilis
            and "syphilis" in positives
            and r.random() < p.infant_syphilis_prophylaxis_share
        ):
            at = _minute(born, r.uniform(2.0, 72.0))
            self._treatment(inst, at, "syphilis", subject=nb)

    def _death(self, inst: str, at: datetime, external: bool) -> None:
        ev, pat = self.contact(inst, at)
        code, display = self.rng.choice(_EXTERNAL_CAUSES if external else _DEATH_CAUSES)
        if not external:
            # Care complications and suicides come from a stream of their own, so the main
            # stream (and the rest of the district) is what it was without them.
            own = random.Random(f"{self.p.seed}/death-cause/{self.w.index}/{at.isoformat()}")
            r = own.random()
            if r < self.p.maternal_death_care_complication_share:
                code, display = own.choice(_CARE_COMPLICATION_CAUSES)
            elif r < (
                self.p.maternal_death_care_complication_share
                + self.p.maternal_death_self_harm_share
            ):
                code, display = _SELF_HARM_CAUSE
        self.add(
            "death_cause",
            "Condition",
            inst,
            at,
            ev,
            {"code": code, "display": display, "external": external, "death": at},
            {"subject": pat},
        )
        pat.updates.append((at, {"deceased": at}))

    def _finish_episodes(self, at: datetime) -> None:
        for eoc in self.eocs.values():
            eoc.updates.append((at, {"status": "finished", "end": at}))


_Z37 = {
    "Z37.0": "单胎活产",
    "Z37.1": "单胎死产",
    "Z37.2": "双胎均活产",
    "Z37.3": "双胎一活产一死产",
    "Z37.4": "双胎均死产",
}


def _weight_mean(ga: int, term_mean: int) -> float:
    # Roughly the Chinese birth-weight-for-GA curve: about 1,050 g at 28 weeks, 2,950 g at 37,
    # term_mean at 40.
    weeks = ga / 7
    if weeks >= 37:
        return term_mean + (weeks - 40) * (60 if weeks > 40 else 70)
    return max(500.0, 2950 - (37 - weeks) * 210)


def _age_floor(age: float) -> str:
    # 2017 five-colour norm: age ≥ 40 is orange, ≥ 35 (or ≤ 18) at least yellow.
    if age >= 40:
        return "orange"
    if age >= 35 or age <= 18:
        return "yellow"
    return "green"


def _at_least(colour: str, floor: str) -> str:
    return colour if _COLOURS.index(colour) >= _COLOURS.index(floor) else floor


# --- women ----------------------------------------------------------------------------------


def woman_story(ctx: Context, index: int, rng: random.Random, max_pregnancies: int) -> WomanStory:
    """All records of one woman: one pregnancy, sometimes two."""
    p = ctx.params
    span = (ctx.lmp_max - ctx.lmp_min).days
    lmp = ctx.lmp_min + timedelta(days=rng.randint(0, span))
    woman = make_woman(ctx, index, rng, lmp)
    b = _Builder(ctx, woman, rng)
    gravida = rng.choices((1, 2, 3, 4), (0.45, 0.38, 0.12, 0.05))[0]
    stories: list[PregnancyStory] = []
    while True:
        preg = PregnancyStory(len(stories), lmp, gravida)
        stories.append(preg)
        ended = b.pregnancy(preg)
        if ended is None or len(stories) >= max_pregnancies:
            break
        if rng.random() >= p.second_pregnancy_share:
            break
        room = (ctx.lmp_max - ended).days
        if room < 90:
            break
        lmp = ended + timedelta(days=rng.randint(90, min(400, room)))
        gravida += 1
    return WomanStory(woman, stories, b.records)


# --- truncation and facts -------------------------------------------------------------------


def truncate(story: WomanStory, end_dt: datetime) -> None:
    """Keep what happened before the end of the span (the extract is as of ``end``): records
    and versions dated after it, and records pointing at dropped ones, are not there yet."""
    kept: list[Record] = []
    alive: set[int] = set()
    for rec in story.records:
        if rec.at >= end_dt or any(id(t) not in alive for t in rec.refs.values()):
            continue
        rec.updates = [(at, ch) for at, ch in rec.updates if at < end_dt]
        alive.add(id(rec))
        kept.append(rec)
    story.records = kept
    for preg in story.pregnancies:
        preg.records = [r for r in preg.records if id(r) in alive]


def facts_of(
    story: WomanStory, receipts: dict[int, datetime | None] | None = None
) -> list[PregnancyFacts]:
    """The facts of each pregnancy, read from the final versions of its records; ``receipts``
    says when each risk assessment reached the service (``Emitter.emit_woman``)."""
    received = receipts or {}
    w = story.woman
    thal = any(r.kind == "dx_thal" for r in story.records)
    out = []
    for preg in story.pregnancies:
        if not preg.records:
            continue  # never seen by any institution (e.g. still early at the end)
        f = PregnancyFacts(
            w.resident_id, preg.lmp, w.street, thalassaemia=thal, residence=w.residence
        )
        delivery_enc: Record | None = None
        procedure: Record | None = None
        z37: Record | None = None
        weights: dict[int, int] = {}
        newborns: list[Record] = []
        infant: dict[int, list[tuple[str, str | None, datetime]]] = defaultdict(list)
        for r in preg.records:
            day = r.at.date()
            k = r.kind
            data = r.final_data()
            if k == "visit":
                f.visits.append(Visit(day, data["visit"], r.inst))
            elif k == "eoc":
                f.bookings.append(data["start"].date())
            elif k in ("ga", "ga_delivery"):
                f.dating.append(Dating(day, ga_days=data["ga_days"]))
            elif k == "lmp":
                f.dating.append(Dating(day, lmp=data["lmp"]))
            elif k == "edd":
                f.dating.append(Dating(day, edd=data["edd"]))
            elif k == "lab":
                f.tests.append(LabTest(day, data["test"], data["result"], data.get("method")))
            elif k == "test_done":
                f.tests.append(LabTest(day, data["test"], None))
            elif k == "hb":
                f.haemoglobin.append(Haemoglobin(day, float(data["g_l"])))
            elif k == "risk":
                f.risks.append(RiskGrade(r.at, data["colour"], data["purple"], received.get(id(r))))
            elif k == "epds":
                f.epds.append(day)
            elif k in ("dx_hiv", "dx_syphilis", "dx_hbsag"):
                f.diagnoses.append(Diagnosis(day, k[3:]))
            elif k in ("treatment", "hepb_vaccine") and r.refs["subject"].kind == "newborn":
                # the child's own record: not the mother's treatment
                infant[id(r.refs["subject"])].append((k, data.get("infection"), r.at))
            elif k == "treatment":
                f.treatments.append(_treatment_fact(day, data))
            elif k == "thal_screen":
                f.screenings.append(Screening(day, "thalassaemia", data["positive"]))
            elif k == "prenatal_screen":
                f.screenings.append(Screening(day, "prenatal_screening"))
            elif k == "prenatal_dx":
                f.screenings.append(Screening(day, "prenatal_diagnosis"))
            elif k == "delivery_encounter":
                delivery_enc = r
            elif k == "delivery_procedure":
                procedure = r
            elif k == "z37":
                z37 = r
            elif k == "newborn":
                newborns.append(r)
            elif k == "birth_weight":
                weights[id(r.refs["subject"])] = data["g"]
            elif k == "loss":
                f.loss_day = day
            elif k == "death_cause":
                f.death = MaternalDeath(
                    data["death"].date(), r.inst, data["external"], cause=data["code"]
                )
            elif k == "near_miss":
                f.near_miss.append(day)
            elif k == "cs":
                f.congenital_syphilis.append(
                    CongenitalSyphilis(day, r.inst, child=r.refs["subject"].rid)
                )
        if delivery_enc is not None and procedure is not None and z37 is not None:
            enc = delivery_enc.final_data()
            day = procedure.at.date()
            live, still = _Z37_COUNTS[z37.data["code"]]
            f.delivery = Delivery(
                day=day,
                admission=enc["admission"].date(),
                # "Discharge is the end day of the delivery Encounter (else the delivery day)".
                discharge=enc["discharge"].date() if "discharge" in enc else day,
                institution=delivery_enc.inst,
                live_births=live,
                stillbirths=still,
                newborns=tuple(
                    _newborn(n, weights.get(id(n)), procedure, infant[id(n)]) for n in newborns
                ),
                home=enc["home"],
                caesarean=procedure.data["mode"] == "caesarean",
            )
        out.append(f)
    # each pregnancy also sees the woman's records of her other pregnancies (a known infection,
    # a regimen reaching into this one)
    for f in out:
        for other in out:
            if other is not f:
                f.other_tests.extend(other.tests)
                f.other_diagnoses.extend(other.diagnoses)
                f.other_treatments.extend(other.treatments)
    return out


def _newborn(
    n: Record,
    weight: int | None,
    procedure: Record,
    own: list[tuple[str, str | None, datetime]],
) -> Newborn:
    """What a newborn's records say (times to the second, as they are sent)."""
    died = n.final_data().get("deceased")
    if n.data.get("birth_time"):
        born: datetime | None = n.at
    elif not procedure.data.get("date_only"):
        born = procedure.at
    else:
        born = None

    def times(kind: str, infection: str | None) -> tuple[datetime | None, ...]:
        return tuple(at.replace(microsecond=0) for k, i, at in own if (k, i) == (kind, infection))

    return Newborn(
        n.at.date(),
        weight,
        died.date() if died else None,
        born_at=born.replace(microsecond=0) if born else None,
        hbig_at=times("treatment", "hbig"),
        hepb_vaccine_at=times("hepb_vaccine", None),
        arv=bool(times("treatment", "hiv_infant")),
        penicillin=bool(times("treatment", "syphilis")),
    )


def _treatment_fact(day: date, data: dict[str, Any]) -> Treatment:
    drug = data["infection"]
    start = data.get("start")
    if drug == "hbig":
        return Treatment(day, "hbsag")
    if drug == "entecavir":
        return Treatment(day, "hbv_antiviral", start=start, open_ended=True)
    if drug in ("ceftriaxone", "ceftriaxone_syphilis"):
        return Treatment(
            day, "syphilis", needs_indication=True, indication=drug == "ceftriaxone_syphilis"
        )
    return Treatment(day, drug, start=start, open_ended=start is not None)


_Z37_COUNTS = {"Z37.0": (1, 0), "Z37.1": (0, 1), "Z37.2": (2, 0), "Z37.3": (1, 1), "Z37.4": (0, 2)}
