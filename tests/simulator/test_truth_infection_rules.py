"""Issue 14, rules 3, 4, 8 and 9 and the maternal screening indicators: the truth against
numbers worked out by hand from docs/indicator-rules.md.

Every woman: LMP 2024-06-20 (recorded at her first visit, 2024-08-20), admitted, delivered on
2025-03-20 (GA 273) at hosp-a and discharged 2025-03-23, one live birth, street 330102001.

H  HIV screen reactive 2024-10-01, confirmatory test negative 2024-10-05: tested, not infected.
I  HIV known before the pregnancy (Z21 diagnosed 2023-01-10), on ART since 2023-02-01 with no
   end (a MedicationStatement asserted at booking): no HIV test in this pregnancy, yet tested
   (in pregnancy, early), infected and treated.
J  syphilis treponemal positive, non-treponemal negative (2024-09-10): a past, treated
   infection; tested, not infected.
K  syphilis confirmed 2024-09-10 (both tests); penicillin from 2025-02-18, 30 days before the
   delivery (Feb 18 + 10 = Feb 28, + 20 = Mar 20): treated, adequately.
L  as K, penicillin from 2025-02-19 (29 days): treated, not adequately.
M  as K, only ceftriaxone on 2025-01-10 without a syphilis indication: not treated.
N  as K, ceftriaxone on 2025-01-10 with a syphilis indication: treated, not adequately
   (adequacy asks for penicillin).
O  admitted 2025-03-19, delivered 2025-03-20; Hb 120 on 2024-12-01 and 95 on the delivery day
   (after the admission day: not pregnancy anaemia): not anaemic.
P  Hb 105 on the admission day: anaemic. Thalassaemia screening 2024-08-20, serum screening
   2024-10-15, amniocentesis 2024-11-01.
Q  a prenatal screening on the day after admission (2025-03-21 > admission 2025-03-20): too
   late, not counted. First contact at GA 84 (12+0 weeks: WHO ≤ 12 weeks includes it).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from mch_service.simulator.facts import (
    Dating,
    Delivery,
    Diagnosis,
    Haemoglobin,
    LabTest,
    PregnancyFacts,
    Screening,
    Treatment,
    Visit,
)
from mch_service.simulator.params import TruthSettings
from mch_service.simulator.truth import compute_truth

D = date
S1 = "330102001"
LMP = D(2024, 6, 20)
BOOKED = D(2024, 8, 20)
DELIVERED = D(2025, 3, 20)
START, END = D(2024, 6, 1), D(2025, 6, 30)


def woman(
    name: str, admission: date = DELIVERED, first_visit: date = BOOKED, **facts: Any
) -> PregnancyFacts:
    return PregnancyFacts(
        name,
        LMP,
        S1,
        dating=[Dating(first_visit, lmp=LMP)],
        visits=[Visit(first_visit, "prenatal_initial_visit", "hosp-a")],
        delivery=Delivery(
            day=DELIVERED,
            admission=admission,
            discharge=D(2025, 3, 23),
            institution="hosp-a",
            live_births=1,
            stillbirths=0,
        ),
        **facts,
    )


def syphilis_confirmed() -> list[LabTest]:
    day = D(2024, 9, 10)
    return [
        LabTest(day, "syphilis", "positive", "treponemal"),
        LabTest(day, "syphilis", "positive", "non_treponemal"),
    ]


def penicillin(first: date) -> list[Treatment]:
    return [Treatment(first + timedelta(days=7 * k), "syphilis") for k in range(3)]


def women() -> list[PregnancyFacts]:
    ceftriaxone = D(2025, 1, 10)
    return [
        woman(
            "H",
            tests=[
                LabTest(D(2024, 10, 1), "hiv", "positive"),  # a reactive screen
                LabTest(D(2024, 10, 5), "hiv", "negative", "confirmatory"),
            ],
        ),
        woman(
            "I",
            diagnoses=[Diagnosis(D(2023, 1, 10), "hiv")],
            treatments=[Treatment(BOOKED, "hiv", start=D(2023, 2, 1), open_ended=True)],
        ),
        woman(
            "J",
            tests=[
                LabTest(D(2024, 9, 10), "syphilis", "positive", "treponemal"),
                LabTest(D(2024, 9, 10), "syphilis", "negative", "non_treponemal"),
            ],
        ),
        woman("K", tests=syphilis_confirmed(), treatments=penicillin(D(2025, 2, 18))),
        woman("L", tests=syphilis_confirmed(), treatments=penicillin(D(2025, 2, 19))),
        woman(
            "M",
            tests=syphilis_confirmed(),
            treatments=[Treatment(ceftriaxone, "syphilis", needs_indication=True)],
        ),
        woman(
            "N",
            tests=syphilis_confirmed(),
            treatments=[Treatment(ceftriaxone, "syphilis", needs_indication=True, indication=True)],
        ),
        woman(
            "O",
            admission=D(2025, 3, 19),
            haemoglobin=[Haemoglobin(D(2024, 12, 1), 120), Haemoglobin(DELIVERED, 95)],
        ),
        woman(
            "P",
            haemoglobin=[Haemoglobin(DELIVERED, 105)],
            screenings=[
                Screening(BOOKED, "thalassaemia"),
                Screening(D(2024, 10, 15), "prenatal_screening"),
                Screening(D(2024, 11, 1), "prenatal_diagnosis"),
            ],
        ),
        woman(
            "Q",
            first_visit=LMP + timedelta(days=84),
            screenings=[Screening(D(2025, 3, 21), "prenatal_screening")],
        ),
    ]


def _march(settings: TruthSettings | None = None) -> dict[str, tuple[int, int]]:
    truth = compute_truth(
        women(), START, END, settings or TruthSettings(), [D(2025, 3, 1)], ["hosp-a"], [S1]
    )
    return {
        r["id"]: (r["numerator"], r["denominator"])
        for r in truth["indicators"]
        if (r["period"], r["area"], r["institution"]) == ("2025-03", "district", "all")
    }


def test_infection_rules_by_hand() -> None:
    got = _march()
    # 10 women delivered. HIV tested: H (a screen, even reactive) and I (known before).
    assert got["hiv_test_rate"] == (2, 10)
    assert got["hiv_test_in_pregnancy_rate"] == (2, 10)
    assert got["hiv_early_test_rate"] == (1, 10)  # I; H's screen at GA 103 is not early
    # infected: I only (H's reactive screen was not confirmed); I on ART from before the LMP
    assert got["hiv_treatment_rate"] == (1, 1)
    # syphilis tested: J, K, L, M, N; infected: K, L, M, N (J treponemal only)
    assert got["syphilis_test_rate"] == (5, 10)
    # treated: K, L (penicillin), N (ceftriaxone for syphilis); M's ceftriaxone is not
    assert got["syphilis_treatment_rate"] == (3, 4)
    # adequate: K (30 days); L 29 days; N no penicillin
    assert got["syphilis_adequate_treatment_rate"] == (1, 4)
    # Hb: O (120 counts, the 95 after the admission day does not) and P (105 on the admission
    # day): anaemic P only
    assert got["anaemia_prevalence_non_thalassaemia"] == (1, 2)
    # screening up to the admission day: P's three; Q's screening after the admission is not
    assert got["thalassaemia_screening_rate"] == (1, 10)
    assert got["prenatal_screening_rate"] == (1, 10)
    assert got["prenatal_diagnosis_rate"] == (1, 10)
    # WHO first contact ≤ 12 weeks: Q at GA 84 (12+0); the others at GA 61
    assert got["who_anc_first_contact_12w_rate"] == (10, 10)
    assert "who_anc_syphilis_test_rate" not in got


def test_the_adequacy_days_are_a_setting() -> None:
    # 29 days: L's penicillin is adequate too
    assert _march(TruthSettings(syphilis_adequate_days=29))["syphilis_adequate_treatment_rate"] == (
        2,
        4,
    )


def test_positive_untreated_needs_a_confirmed_infection() -> None:
    truth = compute_truth(women(), START, END, TruthSettings(), [D(2025, 3, 1)], ["hosp-a"], [S1])
    lists = truth["work_lists"][0]["lists"]
    # On 1 March: K, L, N were treated (February, January); M's ceftriaxone is not a syphilis
    # treatment: listed from 10 September + 15 days. H's reactive screen alone never lists
    # her; I has no result in this pregnancy.
    assert [(m["resident_id"], m["since"]) for m in lists["positive_untreated"]] == [
        ("M", "2024-09-25")
    ]
