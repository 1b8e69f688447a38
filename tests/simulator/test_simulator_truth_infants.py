"""The truth's exposed-infant indicators and rule 6 against numbers worked out by hand
(docs/indicator-rules.md, "Infants of infected mothers", congenital_syphilis_rate).

Local (Shanghai) times. Two deliveries at hosp-a in March 2025, street 330102001:

T  HBsAg- and syphilis-positive mother, twins born 2025-03-10 08:00 and 08:05.
   Twin 1: HBIG at 19:00 (11 h: on time), vaccine 2025-03-11 07:00 (23 h: on time),
   penicillin. Congenital syphilis diagnosed twice: 15 March at hosp-b, 20 March at hosp-a
   -> one case, 15 March, hosp-b.
   Twin 2: HBIG at 21:05 (13 h: late), vaccine 2025-03-11 09:05 (25 h: late), no penicillin.
   Diagnosed 2 April at hosp-a -> a second case, in April.
U  HBsAg- and HIV-positive mother, one baby with no known birth time: HBIG and vaccine 3 h
   after the delivery, not on time (unknown birth time); ARV given.
"""

from __future__ import annotations

from datetime import date, datetime

from mch_service.simulator.facts import (
    CongenitalSyphilis,
    Dating,
    Delivery,
    LabTest,
    Newborn,
    PregnancyFacts,
)
from mch_service.simulator.params import TruthSettings
from mch_service.simulator.truth import compute_truth

S1 = "330102001"
D = date


def _women() -> list[PregnancyFacts]:
    t = PregnancyFacts(
        "T",
        D(2024, 6, 3),
        S1,
        dating=[Dating(D(2024, 8, 1), lmp=D(2024, 6, 3))],
        tests=[
            LabTest(D(2024, 8, 1), "hbsag", "positive"),
            # syphilis confirmed by the two-test rule (rule 3)
            LabTest(D(2024, 8, 1), "syphilis", "positive", "treponemal"),
            LabTest(D(2024, 8, 1), "syphilis", "positive", "non_treponemal"),
        ],
        delivery=Delivery(
            day=D(2025, 3, 10),
            admission=D(2025, 3, 10),
            discharge=D(2025, 3, 13),
            institution="hosp-a",
            live_births=2,
            stillbirths=0,
            newborns=(
                Newborn(
                    D(2025, 3, 10),
                    2600,
                    born_at=datetime(2025, 3, 10, 8, 0),
                    hbig_at=(datetime(2025, 3, 10, 19, 0),),
                    hepb_vaccine_at=(datetime(2025, 3, 11, 7, 0),),
                    penicillin=True,
                ),
                Newborn(
                    D(2025, 3, 10),
                    2500,
                    born_at=datetime(2025, 3, 10, 8, 5),
                    hbig_at=(datetime(2025, 3, 10, 21, 5),),
                    hepb_vaccine_at=(datetime(2025, 3, 11, 9, 5),),
                ),
            ),
        ),
        congenital_syphilis=[
            CongenitalSyphilis(D(2025, 3, 20), "hosp-a", child="twin-1"),
            CongenitalSyphilis(D(2025, 3, 15), "hosp-b", child="twin-1"),
            CongenitalSyphilis(D(2025, 4, 2), "hosp-a", child="twin-2"),
        ],
    )
    u = PregnancyFacts(
        "U",
        D(2024, 6, 5),
        S1,
        dating=[Dating(D(2024, 8, 1), lmp=D(2024, 6, 5))],
        tests=[
            LabTest(D(2024, 8, 1), "hbsag", "positive"),
            LabTest(D(2024, 8, 1), "hiv", "positive", "confirmatory"),  # confirmed (rule 3)
        ],
        delivery=Delivery(
            day=D(2025, 3, 12),
            admission=D(2025, 3, 12),
            discharge=D(2025, 3, 14),
            institution="hosp-a",
            live_births=1,
            stillbirths=0,
            newborns=(
                Newborn(
                    D(2025, 3, 12),
                    3200,
                    born_at=None,
                    hbig_at=(datetime(2025, 3, 12, 11, 0),),
                    hepb_vaccine_at=(datetime(2025, 3, 12, 11, 0),),
                    arv=True,
                ),
            ),
        ),
    )
    return [t, u]


def _table(settings: TruthSettings) -> dict[tuple[str, str, str], tuple[int, int]]:
    truth = compute_truth(
        _women(),
        D(2025, 1, 1),
        D(2025, 6, 30),
        settings,
        [D(2025, 6, 30)],
        ["hosp-a", "hosp-b"],
        [S1],
    )
    return {
        (r["id"], r["period"], r["institution"]): (r["numerator"], r["denominator"])
        for r in truth["indicators"]
        if r["area"] == "district"
    }


def test_exposed_infants_by_hand() -> None:
    table = _table(TruthSettings())
    # live births of HBsAg-positive mothers: T's twins + U's baby = 3; on time: twin 1 only
    assert table[("hbig_12h_rate", "2025-03", "all")] == (1, 3)
    assert table[("hepb_vaccine_24h_rate", "2025-03", "all")] == (1, 3)
    assert table[("hiv_exposed_infant_arv_rate", "2025-03", "all")] == (1, 1)  # U's baby
    # T's twins are syphilis-exposed; twin 1 had penicillin
    assert table[("syphilis_exposed_infant_prophylaxis_rate", "2025-03", "all")] == (1, 2)


def test_hours_are_settings() -> None:
    # 13 h and 25 h: twin 2 is on time too; U's baby still is not (no birth time)
    table = _table(TruthSettings(hbig_hours=13, hepb_vaccine_hours=25))
    assert table[("hbig_12h_rate", "2025-03", "all")] == (2, 3)
    assert table[("hepb_vaccine_24h_rate", "2025-03", "all")] == (2, 3)
    table = _table(TruthSettings(hbig_hours=10))
    assert table[("hbig_12h_rate", "2025-03", "all")] == (0, 3)


def test_a_child_diagnosed_twice_is_one_case_at_its_first_diagnosis() -> None:
    table = _table(TruthSettings())
    # March: twin 1's first diagnosis (15 March), over 3 live births; April: twin 2
    assert table[("congenital_syphilis_rate", "2025-03", "all")] == (1, 3)
    assert table[("congenital_syphilis_rate", "2025-04", "all")] == (1, 0)
    assert table[("congenital_syphilis_rate", "2025-Q1", "hosp-b")] == (1, 0)
    assert table[("congenital_syphilis_rate", "2025-03", "hosp-a")] == (0, 3)
    assert table[("congenital_syphilis_rate", "2025", "all")] == (2, 3)
