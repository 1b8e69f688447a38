"""Outcomes recorded by a reviewer (POST /api/v1/cases/{id}/outcome; docs/indicator-rules.md,
"Outcomes recorded by a reviewer") as the work lists see them: ``apply_recorded_outcome`` (what
a recorded outcome does to one pregnancy's facts, as CaseService calls it for every case record
with an outcome), ``outcome_recorded`` (from which day the lists treat it as known), how a
recorded outcome or a reviewer's closing takes her off ``follow_up_due`` and ``outcome_unknown``
(from its day, not before), and the Chinese reasons of those two lists. Every expected value is
written out by hand from the rule in the docs, one row per case with its reason."""

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


# The defaults (MCH_CASE_MANAGED_COLOURS, MCH_CASE_FOLLOW_UP_DAYS, MCH_CASE_REPORT_LIMIT_HOURS,
# MCH_CASE_OUTCOME_UNKNOWN_DAYS 14).
POLICY = worklists.Policy(
    frozenset({"orange", "red", "purple"}),
    {"red": 7, "orange": 14, "purple": 14},
    {"orange": 72, "red": 24},
)


def assessment(day: date, colour: str | None, purple: bool = False) -> tuple:
    """A grading (assessed day, severity colour, purple flag, received at, pk)."""
    return (day, colour, purple, None, 1)


# (colour, purple, as_of, Chinese reason, reason). Graded on 03-01, no contact since: the
# Chinese reason names her colours as the colour badge does (红色, 橙色, 紫色, joined by '/'),
# the days since the last contact (as_of - 03-01) and her interval (red 7, orange 14, purple
# 14; the shortest applies), as the English reason does.
FOLLOW_UP_ZH_ROWS = [
    (
        "red",
        False,
        D(2025, 3, 9),
        "红色：8天未联系（随访间隔7天）",
        "red graded 03-01, nothing since: on 03-09 8 days without contact, red's interval 7",
    ),
    (
        "orange",
        True,
        D(2025, 3, 16),
        "橙色/紫色：15天未联系（随访间隔14天）",
        "orange with a purple flag (infectious disease): both colours named, 15 days (03-01 to "
        "03-16) against the 14-day interval both share",
    ),
    (
        "red",
        True,
        D(2025, 3, 8),
        "红色/紫色：7天未联系（随访间隔7天）",
        "red with a purple flag: both named; the shortest interval, red's 7, is the one shown",
    ),
    (
        None,
        True,
        D(2025, 3, 15),
        "紫色：14天未联系（随访间隔14天）",
        "purple alone (no severity colour graded): 紫色 only, purple's 14 days",
    ),
]


@pytest.mark.parametrize(
    ("colour", "purple", "as_of", "expected", "reason"),
    FOLLOW_UP_ZH_ROWS,
    ids=[f"{r[0]}-{r[1]}" for r in FOLLOW_UP_ZH_ROWS],
)
def test_follow_up_due_reason_in_chinese(
    colour: str | None, purple: bool, as_of: date, expected: str, reason: str
) -> None:
    f = facts(risks=[assessment(D(2025, 3, 1), colour, purple)])
    found = worklists.follow_up_due(f, as_of, POLICY)
    assert found is not None, reason
    assert found.reason_zh == expected, reason


# --- a recorded outcome and follow_up_due -------------------------------------------------
# docs/indicator-rules.md: a recorded outcome counts from its day ("dated on or before as_of");
# follow_up_due stops once it is known. Red graded 03-01, no contact since: due from 03-08.

# (outcome kind, outcome day, as_of, since (None: not listed), reason)
FOLLOW_UP_OUTCOME_ROWS = [
    (
        "miscarriage",
        DAY,
        D(2025, 3, 9),
        D(2025, 3, 8),
        "a miscarriage dated 06-01 is not known on the list of 03-09: she is still pregnant "
        "and red, 8 days without contact, so due since 03-08",
    ),
    (
        "moved_out",
        D(2025, 3, 9),
        D(2025, 3, 9),
        None,
        "a reviewer recorded on 03-09 that she moved out (dated 03-09): her outcome is known "
        "that day, she leaves follow_up_due (moving out ends nothing, so only the record does "
        "it)",
    ),
    (
        "moved_out",
        D(2025, 3, 10),
        D(2025, 3, 9),
        D(2025, 3, 8),
        "the same move dated 03-10: on 03-09 it was not known yet, she is still due",
    ),
]


@pytest.mark.parametrize(
    ("kind", "day", "as_of", "since", "reason"),
    FOLLOW_UP_OUTCOME_ROWS,
    ids=[f"{r[0]}-{i}" for i, r in enumerate(FOLLOW_UP_OUTCOME_ROWS)],
)
def test_follow_up_due_stops_from_the_recorded_outcomes_day(
    kind: str, day: date, as_of: date, since: date | None, reason: str
) -> None:
    f = facts(risks=[assessment(D(2025, 3, 1), "red")])
    worklists.apply_recorded_outcome(f, kind, day)
    found = worklists.follow_up_due(f, as_of, POLICY)
    assert (None if found is None else found.since) == since, reason


# --- outcome_unknown: what a reviewer records or closes -------------------------------------
# docs/indicator-rules.md: on outcome_unknown when not ended, no outcome recorded by a
# reviewer, her case not closed by a reviewer as transferred out, lost to follow-up, moved
# away, delivered (分娩结案) or died (死亡) on or before as_of, and as_of > EDD + 14 days; since
# EDD + 15. EDD 2025-09-07: EDD + 14 = 09-21, on the list from 09-22.
TRACED = D(2025, 10, 1)  # EDD + 24: on the list unless something below says what became of her
SINCE = D(2025, 9, 22)

# (facts, recorded outcome (kind, day) or None, as_of, listed, reason)
OUTCOME_UNKNOWN_ROWS = [
    ({}, None, TRACED, True, "24 days past the EDD, nothing recorded: on the list"),
    (
        {},
        ("moved_out", D(2025, 9, 30)),
        TRACED,
        False,
        "a reviewer recorded that she moved out on 09-30: her outcome is known, she leaves "
        "the list (moving out ends no pregnancy, so only the record takes her off)",
    ),
    (
        {},
        ("miscarriage", D(2025, 10, 2)),
        TRACED,
        True,
        "a miscarriage dated 10-02: on the list of 10-01 it had not happened yet, the outcome "
        "is still unknown that day",
    ),
    (
        {"close_code": "delivered", "closed_on": D(2025, 9, 30)},
        None,
        TRACED,
        False,
        "her case closed by a reviewer as 分娩结案 on 09-30: what became of her is known",
    ),
    (
        {"close_code": "died", "closed_on": TRACED},
        None,
        TRACED,
        False,
        "closed as 死亡 on 10-01 itself: she leaves the list from the closing day ('on or "
        "before as_of')",
    ),
    (
        {"close_code": "transferred_out", "closed_on": D(2025, 10, 2)},
        None,
        TRACED,
        True,
        "closed as 转出 on 10-02: on 10-01 the case was not closed yet, she is still traced",
    ),
    (
        {"close_code": "other", "closed_on": D(2025, 9, 30)},
        None,
        TRACED,
        True,
        "closed as 其他 (other): that says nothing of her outcome, she stays on the list",
    ),
]


@pytest.mark.parametrize(
    ("kw", "outcome", "as_of", "listed", "reason"),
    OUTCOME_UNKNOWN_ROWS,
    ids=[f"unknown-{i}" for i in range(len(OUTCOME_UNKNOWN_ROWS))],
)
def test_outcome_unknown_until_a_reviewer_records_or_closes(
    kw: dict[str, object],
    outcome: tuple[str, date] | None,
    as_of: date,
    listed: bool,
    reason: str,
) -> None:
    f = facts(**kw)
    if outcome is not None:
        worklists.apply_recorded_outcome(f, *outcome)
    found = worklists.outcome_unknown(f, as_of, POLICY)
    assert (None if found is None else found.since) == (SINCE if listed else None), reason


def test_outcome_unknown_reason_in_chinese() -> None:
    """On 10-01 the EDD 2025-09-07 passed 24 days ago (23 days to 09-30, one more to 10-01): the
    Chinese reason says the same as the English one, EDD and days, no outcome."""
    found = worklists.outcome_unknown(facts(), TRACED, POLICY)
    assert found is not None
    assert found.reason == "EDD 2025-09-07 passed 24 days ago with no delivery or other outcome"
    assert found.reason_zh == "预产期2025-09-07已过24天，无分娩或其他妊娠结局"
