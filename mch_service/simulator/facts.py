"""What the records of one pregnancy say, once every correction, deletion and rejection has
been applied: the input of the truth (``truth.py``).

All days are calendar days in the district's zone (Asia/Shanghai). The simulator derives these
facts from the records it writes (``story.py``); tests build them by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

INFECTIONS = ("hiv", "syphilis", "hbsag")
SEVERITY = {"green": 0, "yellow": 1, "orange": 2, "red": 3}
PRENATAL_VISITS = frozenset({"prenatal_initial_visit", "prenatal_visit"})
POSTPARTUM_VISITS = frozenset({"postpartum_visit", "postpartum_42d_check"})


@dataclass(frozen=True)
class Visit:
    day: date
    kind: str  # prenatal_initial_visit | prenatal_visit | postpartum_visit | postpartum_42d_check
    institution: str = ""


@dataclass(frozen=True)
class Dating:
    """One dating record: a GA observation, a recorded LMP or a recorded EDD."""

    day: date
    ga_days: int | None = None
    lmp: date | None = None
    edd: date | None = None


@dataclass(frozen=True)
class LabTest:
    day: date
    infection: str  # hiv | syphilis | hbsag
    result: str | None  # positive | negative | None (a test-done Procedure)
    # HIV: confirmatory, or None (a screening test); syphilis: treponemal | non_treponemal
    method: str | None = None


@dataclass(frozen=True)
class Diagnosis:
    day: date
    infection: str  # hiv | syphilis | hbsag (hepatitis B)


@dataclass(frozen=True)
class Treatment:
    day: date  # the record's day (asserted, ordered or given): places it in a pregnancy
    # hiv (antiretroviral) | syphilis | hbsag (HBIG to the newborn) | hbv_antiviral (entecavir)
    infection: str
    start: date | None = None  # the regimen's period; None: the one day ``day``
    end: date | None = None
    open_ended: bool = False  # a period without an end: continuing
    # syphilis: ceftriaxone needs a syphilis indication (reasonCode) to count; penicillin not
    needs_indication: bool = False
    indication: bool = False

    @property
    def period(self) -> tuple[date, date | None]:
        """(first day, last day); last None = continuing."""
        first = self.start or self.day
        if self.open_ended:
            return first, None
        return first, self.end or first


@dataclass(frozen=True)
class Screening:
    """A maternal screening record: thalassaemia | prenatal_screening | prenatal_diagnosis."""

    day: date
    kind: str
    positive: bool = False  # thalassaemia: a carrier result


@dataclass(frozen=True)
class Haemoglobin:
    day: date
    g_per_l: float


@dataclass(frozen=True)
class RiskGrade:
    at: datetime  # local time; the latest grade is the one with the latest time
    colour: str | None  # green | yellow | orange | red | None (only the purple flag)
    purple: bool = False
    # local time the service received it (its Bundle's time); None: in the history backfill,
    # or not simulated
    received: datetime | None = None

    @property
    def day(self) -> date:
        return self.at.date()


@dataclass(frozen=True)
class Newborn:
    """A live-born baby (a newborn Patient record) and what its own records say."""

    birth_day: date
    weight_g: int | None
    death_day: date | None = None
    # Local time of birth as the records give it: the newborn's birthTime, else the delivery
    # Procedure's time of day; None when neither gives a time.
    born_at: datetime | None = None
    hbig_at: tuple[datetime | None, ...] = ()  # each HBIG record's time (None: a date only)
    hepb_vaccine_at: tuple[datetime | None, ...] = ()  # each hepatitis B vaccine dose's time
    arv: bool = False  # an antiretroviral record whose subject is the child
    penicillin: bool = False  # a benzathine penicillin record whose subject is the child


@dataclass(frozen=True)
class Delivery:
    day: date
    admission: date
    discharge: date
    institution: str
    live_births: int
    stillbirths: int
    newborns: tuple[Newborn, ...] = ()
    home: bool = False
    caesarean: bool = False


@dataclass(frozen=True)
class MaternalDeath:
    day: date
    institution: str  # the reporting institution
    external_cause: bool = False  # an accidental cause (when no ``cause`` code is given)
    cause: str | None = None  # the ICD-10 code of the cause Condition, e.g. O72.1, Y60.0, X70


@dataclass(frozen=True)
class CongenitalSyphilis:
    day: date  # recordedDate of the newborn's A50 Condition
    institution: str
    child: str | None = None  # which child (its diagnoses are one case); None: this record


@dataclass
class PregnancyFacts:
    resident_id: str
    lmp: date  # the true LMP: with the resident ID, it names the pregnancy in work lists
    street: str | None  # street of the delivering institution's (else latest) Patient record
    dating: list[Dating] = field(default_factory=list)
    bookings: list[date] = field(default_factory=list)  # EpisodeOfCare period.start days
    visits: list[Visit] = field(default_factory=list)
    tests: list[LabTest] = field(default_factory=list)
    diagnoses: list[Diagnosis] = field(default_factory=list)
    treatments: list[Treatment] = field(default_factory=list)
    haemoglobin: list[Haemoglobin] = field(default_factory=list)
    risks: list[RiskGrade] = field(default_factory=list)
    delivery: Delivery | None = None
    loss_day: date | None = None
    death: MaternalDeath | None = None
    thalassaemia: bool = False  # a D56 Condition of the woman at any time
    congenital_syphilis: list[CongenitalSyphilis] = field(default_factory=list)
    near_miss: list[date] = field(default_factory=list)  # 危重孕产妇 Condition days
    # Where she lives (现住址), read from the same Patient record as the street: resident (in
    # the district), non_resident (an address elsewhere) or unknown (no usable address).
    residence: str = "resident"
    epds: list[date] = field(default_factory=list)  # days of an EPDS score
    # The case register (专案管理), which the simulated feeds never write: recorded follow-up
    # days, whether the case was opened within its reporting limit, the day it was closed.
    follow_ups: list[date] = field(default_factory=list)
    case_opened_in_time: bool = False
    case_closed: date | None = None
    case_closed_as: str | None = None  # transferred_out | lost_to_follow_up | moved_away | ...
    screenings: list[Screening] = field(default_factory=list)
    # The woman's records outside this pregnancy (her other pregnancies): an infection known
    # before, a regimen reaching into this one.
    other_tests: list[LabTest] = field(default_factory=list)
    other_diagnoses: list[Diagnosis] = field(default_factory=list)
    other_treatments: list[Treatment] = field(default_factory=list)

    def first_record_day(self) -> date | None:
        days = [
            *(d.day for d in self.dating),
            *self.bookings,
            *(v.day for v in self.visits),
            *(t.day for t in self.tests),
            *(d.day for d in self.diagnoses),
            *(t.day for t in self.treatments),
            *(h.day for h in self.haemoglobin),
            *(r.day for r in self.risks),
        ]
        if self.delivery:
            days.append(self.delivery.admission)
        if self.loss_day:
            days.append(self.loss_day)
        if self.death:
            days.append(self.death.day)
        return min(days) if days else None
