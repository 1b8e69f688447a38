"""Outcomes recorded by a reviewer (POST /api/v1/cases/{id}/outcome; docs/indicator-rules.md,
"Outcomes recorded by a reviewer") as the work lists see them: ``apply_recorded_outcome`` (what
a recorded outcome does to one pregnancy's facts, as CaseService calls it for every case record
with an outcome), ``outcome_recorded`` (from which day the lists treat it as known) and the
Chinese colour label of a ``follow_up_due`` reason. Every expected value is written out by hand
from the rule in the docs, one row per case with its reason."""

from __future__ import annotations

from datetime import date

import pytest

from mch_service.cases import worklists
from tests.cases.test_worklist_edges import (
    facts,  # LMP 2024-12-01, EDD 2025-09-07, booked 2025-01-10
)

D = date

# The reviewer's outcome day in most rows: 2025-06-01 (about 26 weeks after LMP 2024-12-01).
DAY = D(2025, 6, 1)
# A hospital's record of the end or of her death, when the row has one: 2025-05-28.
HOSPITAL = D(2025, 5, 28)


def state(f: worklists.PregnancyFacts) -> dict[str, object]:
    """The facts apply_recorded_outcome may touch."""
    return {
        "outcome_kind": f.outcome_kind,
        "outcome_date": f.outcome_date,
        "end_date": f.end_date,
        "delivery": f.delivery,
        "discharge": f.discharge,
        "death": f.death,
    }


NOTHING_ENDED = {"end_date": None, "delivery": None, "discharge": None, "death": None}

# (kind, day, facts on file before, expected facts after, reason)
APPLY_ROWS = [
    (
        "delivered_elsewhere",
        DAY,
        {},
        {"end_date": DAY, "delivery": DAY, "discharge": DAY, "death": None},
        "a reviewer records a delivery elsewhere with no hospital record: the pregnancy ends "
        "that day, it is her delivery (postpartum period starts) and the day stands for the "
        "discharge (postpartum_visit_due counts from it); she did not die",
    ),
    (
        "miscarriage",
        DAY,
        {},
        {"end_date": DAY, "delivery": None, "discharge": None, "death": None},
        "a reviewer records a miscarriage: the pregnancy ends that day (she leaves the "
        "follow-up lists from it); a loss is no delivery, no discharge, no death",
    ),
    (
        "termination",
        DAY,
        {},
        {"end_date": DAY, "delivery": None, "discharge": None, "death": None},
        "a reviewer records a termination: the pregnancy ends that day, no delivery, no death",
    ),
    (
        "died",
        DAY,
        {},
        {"end_date": DAY, "delivery": None, "discharge": None, "death": DAY},
        "a reviewer records her death with no hospital record: she died that day and the "
        "pregnancy ended with her",
    ),
    (
        "died",
        DAY,
        {"death": HOSPITAL, "end_date": HOSPITAL},
        {"end_date": HOSPITAL, "delivery": None, "discharge": None, "death": HOSPITAL},
        "a hospital already recorded her death on 05-28: the hospital's day wins over the "
        "reviewer's 06-01, for the death and for the end of the pregnancy",
    ),
    (
        "died",
        DAY,
        {"death": HOSPITAL},
        {"end_date": DAY, "delivery": None, "discharge": None, "death": HOSPITAL},
        "a hospital's death record (05-28) without an end of pregnancy on file: the death day "
        "stays the hospital's, the end is the reviewer's day (no hospital end to win)",
    ),
    (
        "miscarriage",
        DAY,
        {"end_date": HOSPITAL},
        {"end_date": HOSPITAL, "delivery": None, "discharge": None, "death": None},
        "a hospital recorded the end of the pregnancy on 05-28: its record wins, the "
        "reviewer's miscarriage day does not move the end",
    ),
    (
        "delivered_elsewhere",
        DAY,
        {"end_date": HOSPITAL, "delivery": HOSPITAL, "discharge": D(2025, 5, 30)},
        {"end_date": HOSPITAL, "delivery": HOSPITAL, "discharge": D(2025, 5, 30), "death": None},
        "the delivering hospital's record (delivered 05-28, discharged 05-30) wins over the "
        "reviewer's report of a delivery elsewhere on 06-01",
    ),
    (
        "moved_out",
        None,
        {},
        NOTHING_ENDED,
        "moved out of the district ends nothing (it closes the case as 迁出)",
    ),
    (
        "lost_to_follow_up",
        None,
        {},
        NOTHING_ENDED,
        "lost to follow-up ends nothing (it closes the case as 失访)",
    ),
    (
        "moved_out",
        DAY,
        {},
        NOTHING_ENDED,
        "moved out, even with a day given, ends nothing: she is pregnant elsewhere",
    ),
    (
        "died",
        None,
        {},
        NOTHING_ENDED,
        "an undated death (kept as recorded) sets no day of death nor of the end: the facts "
        "have no day to put there",
    ),
]


@pytest.mark.parametrize(
    ("kind", "day", "before", "after", "reason"),
    APPLY_ROWS,
    ids=[f"{r[0]}-{i}" for i, r in enumerate(APPLY_ROWS)],
)
def test_apply_recorded_outcome(
    kind: str,
    day: date | None,
    before: dict[str, object],
    after: dict[str, object],
    reason: str,
) -> None:
    f = facts(**before)
    worklists.apply_recorded_outcome(f, kind, day)
    # the outcome itself is always kept, dated or not
    assert state(f) == {"outcome_kind": kind, "outcome_date": day, **after}, reason


def test_recorded_delivery_elsewhere_starts_the_postpartum_visit_list() -> None:
    """A delivery elsewhere recorded on 06-01 stands for the discharge: postpartum_visit_due
    when more than 7 days have passed without a postpartum visit, i.e. from 06-09 (06-01 + 8),
    not on 06-08 (7 days)."""
    f = facts()
    worklists.apply_recorded_outcome(f, "delivered_elsewhere", DAY)
    policy = worklists.Policy(
        frozenset({"orange", "red", "purple"}),
        {"red": 7, "orange": 14, "purple": 14},
        {"orange": 72, "red": 24},
    )
    assert worklists.postpartum_visit_due(f, D(2025, 6, 8), policy) is None
    found = worklists.postpartum_visit_due(f, D(2025, 6, 9), policy)
    assert found is not None
    assert found.since == D(2025, 6, 9)


# (outcome kind, outcome day, day it was recorded, as_of, known by as_of, reason)
RECORDED_ROWS = [
    (None, None, None, DAY, False, "no outcome recorded"),
    (None, DAY, None, D(2025, 6, 2), False, "a day without an outcome kind is no outcome"),
    (
        "miscarriage",
        DAY,
        None,
        D(2025, 5, 31),
        False,
        "a miscarriage on 06-01: on 05-31 (a list for an earlier day) it had not happened yet",
    ),
    ("miscarriage", DAY, None, DAY, True, "a miscarriage on 06-01 is known on 06-01 itself"),
    ("miscarriage", DAY, None, D(2025, 6, 2), True, "and on every later day"),
    (
        "miscarriage",
        DAY,
        D(2025, 6, 20),
        D(2025, 6, 10),
        True,
        "a dated outcome counts from its own day (06-01), not from the day it was recorded "
        "(06-20): on 06-10 she had already miscarried",
    ),
    (
        "delivered_elsewhere",
        DAY,
        D(2025, 5, 20),
        D(2025, 5, 25),
        False,
        "the outcome's day wins over the recording day even when it is later: a delivery "
        "dated 06-01 is not known as of 05-25",
    ),
    (
        "moved_out",
        None,
        D(2025, 7, 10),
        D(2025, 7, 9),
        False,
        "an undated outcome (moved out) counts from the day it was recorded (07-10): not the "
        "day before",
    ),
    (
        "moved_out",
        None,
        D(2025, 7, 10),
        D(2025, 7, 10),
        True,
        "an undated outcome recorded on 07-10 counts from 07-10 itself",
    ),
    (
        "lost_to_follow_up",
        None,
        None,
        DAY,
        True,
        "an outcome with neither a day nor a recording day counts on any day",
    ),
]


@pytest.mark.parametrize(
    ("kind", "outcome_date", "recorded", "as_of", "expected", "reason"),
    RECORDED_ROWS,
    ids=[f"{r[0]}-{i}" for i, r in enumerate(RECORDED_ROWS)],
)
def test_outcome_recorded(
    kind: str | None,
    outcome_date: date | None,
    recorded: date | None,
    as_of: date,
    expected: bool,
    reason: str,
) -> None:
    f = facts(outcome_kind=kind, outcome_date=outcome_date, outcome_recorded=recorded)
    assert worklists.outcome_recorded(f, as_of) is expected, reason


# (severity colour, purple flag, Chinese label, reason)
COLOURS_ZH_ROWS = [
    ("red", False, "红色", "red alone: no purple flag, so no 紫色"),
    ("orange", False, "橙色", "orange alone"),
    ("orange", True, "橙色/紫色", "orange with a purple flag: both, joined by '/'"),
    ("red", True, "红色/紫色", "red with a purple flag"),
    (None, True, "紫色", "purple flag without a severity colour: 紫色 alone, no separator"),
    (None, False, "", "neither: empty"),
]


@pytest.mark.parametrize(
    ("colour", "purple", "expected", "reason"),
    COLOURS_ZH_ROWS,
    ids=[f"{r[0]}-{r[1]}" for r in COLOURS_ZH_ROWS],
)
def test_colours_zh(colour: str | None, purple: bool, expected: str, reason: str) -> None:
    assert worklists._colours_zh(colour, purple) == expected, reason
