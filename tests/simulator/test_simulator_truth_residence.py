"""The truth's own reading of issue 14's rules 1 and 2 and the birth indicators, on hand-built
facts (mch_service/simulator/truth.py implements them apart from the engine). Every expected
number is worked out in the comments."""

from __future__ import annotations

from datetime import date
from typing import Any

from mch_service.simulator.facts import (
    Dating,
    Delivery,
    MaternalDeath,
    Newborn,
    PregnancyFacts,
    Visit,
)
from mch_service.simulator.params import TruthSettings
from mch_service.simulator.truth import compute_truth

D = date
S1 = "440115001"
INSTITUTIONS = ["hosp-a", "hosp-b"]


def _woman(
    rid: str,
    street: str | None,
    residence: str,
    institution: str,
    ga: int,
    newborns: tuple[Newborn, ...],
    stillbirths: int = 0,
    death: MaternalDeath | None = None,
) -> PregnancyFacts:
    # LMP 2024-06-01; a GA observation at booking fixes day 0; delivered 2025-03-xx at `ga`.
    lmp = D(2024, 6, 1)
    day = D.fromordinal(lmp.toordinal() + ga)
    return PregnancyFacts(
        rid,
        lmp,
        street,
        residence=residence,
        dating=[Dating(D(2024, 8, 10), ga_days=70)],
        visits=[Visit(D(2024, 8, 10), "prenatal_initial_visit", institution)],
        delivery=Delivery(
            day=day,
            admission=day,
            discharge=day,
            institution=institution,
            live_births=len(newborns),
            stillbirths=stillbirths,
            newborns=newborns,
        ),
        death=death,
    )


def _table() -> dict[tuple[str, str, str, str], tuple[int, int]]:
    born = D(2025, 2, 26)  # GA 270 from 2024-06-01
    women = [
        # R: resident of S1, delivered at hosp-a, GA 270, 4,100 g: macrosomia.
        _woman("R", S1, "resident", "hosp-a", 270, (Newborn(born, 4100),)),
        # N: non-resident delivered at hosp-a, GA 250 (35+5): twins, 2 preterm, 2,300 g each
        # (low weight). She died on 1 March (maternal).
        _woman(
            "N",
            None,
            "non_resident",
            "hosp-a",
            250,
            (Newborn(D(2025, 2, 6), 2300), Newborn(D(2025, 2, 6), 2300)),
            death=MaternalDeath(D(2025, 3, 1), "hosp-a"),
        ),
        # E: resident of S1 who delivered at hosp-b, GA 270, 3,300 g.
        _woman("E", S1, "resident", "hosp-b", 270, (Newborn(born, 3300),)),
        # U: no usable address, delivered at hosp-b, GA 270, 3,000 g.
        _woman("U", None, "unknown", "hosp-b", 270, (Newborn(born, 3000),)),
        # L: resident of S1, stillborn at hosp-a at GA 195 (27+6): a loss, in no count.
        _woman("L", S1, "resident", "hosp-a", 195, (), stillbirths=1),
    ]
    truth: dict[str, Any] = compute_truth(
        women, D(2025, 1, 1), D(2025, 3, 31), TruthSettings(), [], INSTITUTIONS, [S1]
    )
    return {
        (r["id"], r["period"], r["area"], r["institution"]): (r["numerator"], r["denominator"])
        for r in truth["indicators"]
    }


def test_the_district_is_its_residents() -> None:
    t = _table()
    q = "2025-Q1"
    # Residents delivered: R and E (L's 27+6 stillbirth is a loss): 2 women, 2 live births.
    assert t[("postpartum_42d_check_rate", q, "district", "all")] == (0, 2)
    assert t[("facility_delivery_rate", q, "district", "all")] == (2, 2)
    assert t[("perinatal_mortality_rate", q, "district", "all")] == (0, 2)
    assert t[("macrosomia_rate", q, "district", "all")] == (1, 2)  # R's 4,100 g
    assert t[("preterm_birth_rate", q, "district", "all")] == (0, 2)
    assert t[("maternal_mortality_ratio", q, "district", "all")] == (0, 2)  # N is not ours
    assert t[("facility_delivery_rate", q, S1, "all")] == (2, 2)  # R and E


def test_non_residents_and_unknown_addresses_have_their_lines() -> None:
    t = _table()
    q = "2025-Q1"
    # N: 1 woman, 2 live births, both preterm and low weight; her death: 1 / 2.
    assert t[("postpartum_42d_check_rate", q, "non_resident", "all")] == (0, 1)
    assert t[("preterm_birth_rate", q, "non_resident", "all")] == (2, 2)
    assert t[("low_birth_weight_rate", q, "non_resident", "all")] == (2, 2)
    assert t[("maternal_mortality_ratio", q, "non_resident", "all")] == (1, 2)
    # U: 1 woman, 1 live birth.
    assert t[("facility_delivery_rate", q, "address_unknown", "all")] == (1, 1)


def test_the_institutions_count_everyone_they_delivered() -> None:
    t = _table()
    q = "2025-Q1"
    # hosp-a: R (1 live birth) and N (2): 2 women, 3 live births, N's death; L's loss is not a
    # delivery. hosp-b: E and U.
    assert t[("postpartum_42d_check_rate", q, "district", "hosp-a")] == (0, 2)
    assert t[("maternal_mortality_ratio", q, "district", "hosp-a")] == (1, 3)
    assert t[("preterm_birth_rate", q, "district", "hosp-a")] == (2, 3)
    assert t[("macrosomia_rate", q, "district", "hosp-a")] == (1, 3)
    assert t[("facility_delivery_rate", q, "district", "hosp-b")] == (2, 2)
