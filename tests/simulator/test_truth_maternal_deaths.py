"""The truth's own reading of rule 5 (issue 14) and of severe maternal morbidity, on hand-worked
pregnancies: a Y60 death counts, an accidental death does not, a suicide counts pending review,
a pregnancy booked after its delivery keeps its births and its death, a near-miss counts up to
42 days after the delivery. Every number is worked out by hand in the comments."""

from __future__ import annotations

from datetime import date
from typing import Any

from mch_service.simulator.facts import (
    Delivery,
    MaternalDeath,
    Newborn,
    PregnancyFacts,
    Visit,
)
from mch_service.simulator.params import TruthSettings
from mch_service.simulator.truth import (
    compute_truth,
    death_cause_class,
    is_maternal_death,
    pending_review,
)

D = date
S1 = "330102001"
INSTITUTIONS = ["hosp-a", "chc-01"]


def _delivered(
    rid: str,
    day: date,
    death: MaternalDeath | None = None,
    visits: list[Visit] | None = None,
    bookings: list[date] | None = None,
    near_miss: list[date] | None = None,
) -> PregnancyFacts:
    # LMP 280 days before the delivery day; one live birth of 3,300 g
    lmp = date.fromordinal(day.toordinal() - 280)
    return PregnancyFacts(
        rid,
        lmp,
        S1,
        visits=visits or [],
        bookings=bookings or [],
        delivery=Delivery(day, day, day, "hosp-a", 1, 0, (Newborn(day, 3300),)),
        death=death,
        near_miss=near_miss or [],
    )


def _rows(facts: list[PregnancyFacts]) -> dict[tuple[str, str], tuple[int, int]]:
    truth = compute_truth(
        facts,
        D(2025, 1, 1),
        D(2025, 12, 31),
        TruthSettings(),
        (D(2025, 12, 31),),
        INSTITUTIONS,
        [S1],
    )
    rows: list[dict[str, Any]] = truth["indicators"]
    return {
        (r["id"], r["period"]): (r["numerator"], r["denominator"])
        for r in rows
        if r["area"] == "district" and r["institution"] == "all"
    }


def test_cause_classes_by_icd10_range() -> None:
    def cls(code: str) -> str:
        return death_cause_class(MaternalDeath(D(2025, 1, 1), "hosp-a", cause=code))

    # V01-X59 accidents, X85-Y09 assault, Y10-Y36 undetermined intent / legal / war
    assert {cls(c) for c in ("V89.2", "W19", "X59", "X85", "Y09", "Y10", "Y36.9")} == {"accidental"}
    assert {cls(c) for c in ("X60", "X70", "X84.9")} == {"self_harm"}
    assert {cls(c) for c in ("Y40", "Y60.0", "Y84.9")} == {"care_complication"}
    # Y85-Y98 and O codes do not exclude
    assert {cls(c) for c in ("Y85", "Y98", "O72.1", "O99.4")} == {"counted"}


def test_a_y60_death_counts_an_accident_does_not_a_suicide_counts_pending_review() -> None:
    y60 = _delivered("A", D(2025, 7, 1), MaternalDeath(D(2025, 7, 10), "hosp-a", cause="Y60.0"))
    accident = _delivered(
        "B", D(2025, 7, 2), MaternalDeath(D(2025, 7, 12), "hosp-a", cause="V89.2")
    )
    suicide = _delivered("C", D(2025, 7, 3), MaternalDeath(D(2025, 7, 30), "hosp-a", cause="X70"))
    assert is_maternal_death(y60)
    assert not is_maternal_death(accident)
    assert is_maternal_death(suicide)
    assert pending_review(suicide)
    assert not pending_review(y60)
    rows = _rows([y60, accident, suicide])
    # July: 3 live births; deaths A (Y60) and C (X70) count, B (V89) does not: 2 / 3
    assert rows[("maternal_mortality_ratio", "2025-07")] == (2, 3)
    # a suicide on day 43 after the end is no maternal death at all
    late = _delivered("E", D(2025, 7, 3), MaternalDeath(D(2025, 8, 15), "hosp-a", cause="X70"))
    assert not is_maternal_death(late)


def test_a_pregnancy_booked_after_its_delivery_keeps_its_births_and_its_death() -> None:
    # Delivered 1 March, booked at the centre on 20 March (impossible: the booking is dropped),
    # died 5 March of O72.1. The delivery, its live birth and the death all count; the late
    # booking is no first contact (early registration 0 / 1).
    f = _delivered(
        "F",
        D(2025, 3, 1),
        MaternalDeath(D(2025, 3, 5), "hosp-a", cause="O72.1"),
        visits=[Visit(D(2025, 3, 20), "prenatal_initial_visit", "chc-01")],
        bookings=[D(2025, 3, 20)],
    )
    rows = _rows([f])
    assert rows[("maternal_mortality_ratio", "2025-03")] == (1, 1)
    assert rows[("early_registration_rate", "2025-03")] == (0, 1)
    assert rows[("prenatal_care_rate", "2025-03")] == (0, 1)
    assert rows[("facility_delivery_rate", "2025-03")] == (1, 1)


def test_near_miss_counts_from_the_start_to_42_days_after_the_delivery() -> None:
    # G: near-miss on the delivery day; H: on day 42 after it; K: on day 43 (too late);
    # L: none. Four live births in May, two women counted: 2 / 4 (‰ = 500).
    day = D(2025, 5, 1)
    g = _delivered("G", day, near_miss=[day])
    h = _delivered("H", day, near_miss=[D(2025, 6, 12)])
    k = _delivered("K", day, near_miss=[D(2025, 6, 13)])
    lone = _delivered("L", day)
    rows = _rows([g, h, k, lone])
    assert rows[("severe_maternal_morbidity_ratio", "2025-05")] == (2, 4)
    # one woman with two near-miss records counts once
    twice = _delivered("M", day, near_miss=[day, D(2025, 5, 3)])
    assert _rows([twice])[("severe_maternal_morbidity_ratio", "2025-05")] == (1, 1)
