"""The register's two verdicts of rule 7 (b), 高危孕产妇专案管理率 (docs/indicator-rules.md, "Case
management"): ``case_opened_in_time`` and ``case_followed_at_interval``, called directly on
hand-made facts. One row per case, with the clinical or technical reason; every expected verdict
is worked out by hand from the dates in the row (day counts written out in the comments), never
by the code under test.

The common pregnancy: LMP 2024-12-01, EDD 2025-09-07, booked 2025-01-10; the first case-managed
assessment (when there is one) is dated 1 March 2025.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from mch_service.cases import worklists
from tests.cases.test_worklist_edges import (
    facts,  # LMP 2024-12-01, EDD 2025-09-07, booked 2025-01-10
)

D = date
SHANGHAI = timezone(timedelta(hours=8))
MARCH_1 = D(2025, 3, 1)

# The district defaults: orange, red and purple are case-managed; red every 7 days, orange and
# purple every 14; orange reported within 72 hours, red within 24 (no purple limit: orange's).
POLICY = worklists.Policy(
    frozenset({"orange", "red", "purple"}),
    {"red": 7, "orange": 14, "purple": 14},
    {"orange": 72, "red": 24},
)
# A district that follows purple women every 10 days (orange every 14).
PURPLE_10 = worklists.Policy(
    frozenset({"orange", "purple"}), {"orange": 14, "purple": 10}, {"orange": 72}
)
# A district that sets no interval for orange: a case-managed colour without one waits 14 days.
NO_ORANGE_DAYS = worklists.Policy(
    frozenset({"orange", "red", "purple"}), {"red": 7, "purple": 14}, {"orange": 72, "red": 24}
)
# A district that sets no interval for purple: the purple flag waits 14 days.
NO_PURPLE_DAYS = worklists.Policy(
    frozenset({"orange", "red", "purple"}), {"red": 7, "orange": 14}, {"orange": 72, "red": 24}
)

Risk = tuple[date, str | None, bool, datetime | None, int]


def at(day: int, hour: int = 0, minute: int = 0, month: int = 3) -> datetime:
    """A receipt time in 2025, Shanghai time."""
    return datetime(2025, month, day, hour, minute, tzinfo=SHANGHAI)


# --- opened in time --------------------------------------------------------------------------
# The limit runs from the start of the assessment's day plus a day's grace: an orange graded
# 1 March is in time up to 1 March 00:00 + 72 h + 24 h = 5 March 00:00.

OPENED_ROWS: list[tuple[str, list[Risk], worklists.Policy, bool]] = [
    (
        # a yellow woman has no case to open: never "opened in time", however fast her
        # assessment arrived (received 1 March 10:00, the same day)
        "no case-managed assessment: no case",
        [(MARCH_1, "yellow", False, at(1, 10), 1)],
        POLICY,
        False,
    ),
    (
        # two assessments on 1 March: the orange one (it opens the case) received 5 March 00:01,
        # one minute past its limit; a yellow one received the same day does not open a case
        # and cannot make the opening in time
        "a non-case-managed assessment on the first day does not count",
        [(MARCH_1, "orange", False, at(5, 0, 1), 1), (MARCH_1, "yellow", False, at(1, 10), 2)],
        POLICY,
        False,
    ),
    (
        # the same with the yellow one listed first
        "a non-case-managed assessment listed first does not count either",
        [(MARCH_1, "yellow", False, at(1, 10), 2), (MARCH_1, "orange", False, at(5, 0, 1), 1)],
        POLICY,
        False,
    ),
    (
        # the case opened on 1 March (orange, received 6 March: late); an orange re-assessment
        # on 10 March received the same day is a later one, not the opening
        "a later case-managed assessment received in time does not make the opening in time",
        [(MARCH_1, "orange", False, at(6, 9), 1), (D(2025, 3, 10), "orange", False, at(10, 9), 2)],
        POLICY,
        False,
    ),
    (
        # a purple flag on a yellow colour opens a case (purple is case-managed); no purple
        # limit is set, so the orange one: 1 March 00:00 + 96 h = 5 March 00:00; received
        # 4 March 23:00: in time
        "purple flag on a lighter colour, received within the orange limit",
        [(MARCH_1, "yellow", True, at(4, 23), 1)],
        POLICY,
        True,
    ),
    (
        # the same purple woman received 5 March 00:01: one minute late
        "purple flag on a lighter colour, received one minute past the orange limit",
        [(MARCH_1, "yellow", True, at(5, 0, 1), 1)],
        POLICY,
        False,
    ),
    (
        # a yellow grading on 1 February (before any case: received late, 1 March) is listed
        # before the orange one of 1 March, received 2 March 08:00 (well within 5 March 00:00):
        # the earlier yellow row is skipped and the orange one still read
        "an earlier non-case-managed grading listed first does not hide the opening one",
        [
            (D(2025, 2, 1), "yellow", False, at(1, 8), 1),
            (MARCH_1, "orange", False, at(2, 8), 2),
        ],
        POLICY,
        True,
    ),
    (
        # two orange assessments on 1 March: one with no receipt time (not in time), one
        # received 3 March: the case opened in time by the second
        "an assessment of the first day with unknown receipt does not hide another one",
        [(MARCH_1, "orange", False, None, 1), (MARCH_1, "orange", False, at(3, 12), 2)],
        POLICY,
        True,
    ),
]


@pytest.mark.parametrize(
    ("risks", "policy", "in_time"),
    [row[1:] for row in OPENED_ROWS],
    ids=[row[0] for row in OPENED_ROWS],
)
def test_case_opened_in_time(risks: list[Risk], policy: worklists.Policy, in_time: bool) -> None:
    f = facts(risks=risks)
    assert worklists.case_opened_in_time(f, policy) is in_time


# --- followed at the interval ----------------------------------------------------------------
# The window runs from the first case-managed assessment (1 March) to the case's closing or
# 42 days after the end of the pregnancy, whichever is first; no gap between consecutive
# follow-ups (and from 1 March to the first, and from the last to the window end) may be longer
# than the interval.


def every(days: int, count: int, start: date = MARCH_1) -> list[date]:
    """``count`` follow-ups, ``days`` apart, the first ``days`` after ``start``."""
    return [start + timedelta(days=days * k) for k in range(1, count + 1)]


ORANGE: list[Risk] = [(MARCH_1, "orange", False, None, 1)]
RED: list[Risk] = [(MARCH_1, "red", False, None, 1)]
PURPLE_ONLY: list[Risk] = [(MARCH_1, "yellow", True, None, 1)]  # a purple flag on yellow

FOLLOWED_ROWS: list[tuple[str, list[Risk], worklists.Policy, list[date], date | None, bool]] = [
    (
        # yellow only: no case, so no case followed (weekly follow-ups or not); closed 29 March
        "no case-managed assessment: not followed",
        [(MARCH_1, "yellow", False, None, 1)],
        POLICY,
        every(7, 4),
        D(2025, 3, 29),
        False,
    ),
    (
        # orange, followed 15 and 29 March, not closed, pregnancy not ended: the window has
        # no end yet, so it cannot have been met
        "no end and no closing: the window has not ended",
        ORANGE,
        POLICY,
        every(14, 2),
        None,
        False,
    ),
    (
        # red every 7 days: 8, 15, 22, 29 March (gaps of exactly 7), closed 31 March (2 days)
        "red followed on the 7th day each time: followed",
        RED,
        POLICY,
        every(7, 4),
        D(2025, 3, 31),
        True,
    ),
    (
        # red followed 11 and 21 March: 10-day gaps, longer than red's 7 (though within the
        # 14 days of orange or purple); closed 31 March
        "red followed every 10 days: red's 7-day interval is broken",
        RED,
        POLICY,
        every(10, 2),
        D(2025, 3, 31),
        False,
    ),
    (
        # orange 14 days: 15 March (day 14: on time), 29 March, closed 12 April (14 days)
        "orange followed on the 14th day each time and closed 14 days later: followed",
        ORANGE,
        POLICY,
        every(14, 2),
        D(2025, 4, 12),
        True,
    ),
    (
        # orange followed 16 March: 15 days after 1 March, one past the interval
        "orange followed first on day 15: one day late",
        ORANGE,
        POLICY,
        [D(2025, 3, 16), D(2025, 3, 29)],
        D(2025, 4, 12),
        False,
    ),
    (
        # follow-ups recorded out of order, one twice, one before the case (20 February) and one
        # after the closing (20 April): in order 15 March, 29 March, closed 12 April: 14-day gaps
        "follow-ups out of order, repeated, before the case and after the closing",
        ORANGE,
        POLICY,
        [D(2025, 3, 29), D(2025, 4, 20), D(2025, 3, 15), D(2025, 2, 20), D(2025, 3, 29)],
        D(2025, 4, 12),
        True,
    ),
    (
        # a follow-up on the closing day itself (29 March, 14 days after 15 March): the gap to
        # it and the gap to the window end are the same 14 days
        "orange followed on the closing day: followed",
        ORANGE,
        POLICY,
        every(14, 2),
        D(2025, 3, 29),
        True,
    ),
    (
        # a follow-up on the grading day (1 March) is not a later contact: the next one,
        # 16 March, is still 15 days after the case opened
        "a follow-up on the first case-managed day does not start the count",
        ORANGE,
        POLICY,
        [MARCH_1, D(2025, 3, 16)],
        D(2025, 3, 30),
        False,
    ),
    (
        # a colour without a set interval waits 14 days: orange followed 15 and 29 March,
        # closed 12 April: gaps of 14
        "no interval set for orange: 14 days, met on the 14th day",
        ORANGE,
        NO_ORANGE_DAYS,
        every(14, 2),
        D(2025, 4, 12),
        True,
    ),
    (
        # ... and 16 March is day 15: late
        "no interval set for orange: 14 days, broken on the 15th day",
        ORANGE,
        NO_ORANGE_DAYS,
        [D(2025, 3, 16)],
        D(2025, 3, 30),
        False,
    ),
    (
        # a purple flag on a yellow colour: purple's 14 days; 15 and 29 March, closed 12 April
        "purple flag on yellow followed every 14 days: followed",
        PURPLE_ONLY,
        POLICY,
        every(14, 2),
        D(2025, 4, 12),
        True,
    ),
    (
        # the district's purple interval is 10 days: 11, 21, 31 March, closed 10 April
        "purple flag on yellow, purple every 10 days, followed every 10: followed",
        PURPLE_ONLY,
        PURPLE_10,
        every(10, 3),
        D(2025, 4, 10),
        True,
    ),
    (
        # ... followed every 12 days (13, 25 March, closed 6 April): longer than purple's 10
        "purple flag on yellow, purple every 10 days, followed every 12: broken",
        PURPLE_ONLY,
        PURPLE_10,
        every(12, 2),
        D(2025, 4, 6),
        False,
    ),
    (
        # an orange woman without the purple flag keeps orange's 14 days even where purple's is
        # 10: followed every 12 days (13, 25 March, closed 6 April): followed
        "orange without the purple flag is not held to purple's shorter interval",
        ORANGE,
        PURPLE_10,
        every(12, 2),
        D(2025, 4, 6),
        True,
    ),
    (
        # no purple interval set: the flag waits 14 days; 15 and 29 March, closed 12 April
        "no interval set for purple: 14 days, met on the 14th day",
        PURPLE_ONLY,
        NO_PURPLE_DAYS,
        every(14, 2),
        D(2025, 4, 12),
        True,
    ),
    (
        # ... 16 March is day 15: late; then 30 March is the closing (14 days)
        "no interval set for purple: 14 days, broken on the 15th day",
        PURPLE_ONLY,
        NO_PURPLE_DAYS,
        [D(2025, 3, 16)],
        D(2025, 3, 30),
        False,
    ),
]


@pytest.mark.parametrize(
    ("risks", "policy", "follow_ups", "closed_on", "followed"),
    [row[1:] for row in FOLLOWED_ROWS],
    ids=[row[0] for row in FOLLOWED_ROWS],
)
def test_case_followed_at_interval(
    risks: list[Risk],
    policy: worklists.Policy,
    follow_ups: list[date],
    closed_on: date | None,
    followed: bool,
) -> None:
    f = facts(risks=risks, follow_ups=follow_ups)
    assert worklists.case_followed_at_interval(f, policy, closed_on) is followed


def test_case_followed_at_interval_window_ends_42_days_after_delivery() -> None:
    # orange 1 March, delivered 1 May: the window ends 1 May + 42 days = 12 June (1 May + 30 =
    # 31 May, + 12 = 12 June). Follow-ups every 14 days: 15/3, 29/3, 12/4, 26/4, 10/5, 24/5, 7/6;
    # the last gap, 7 June -> 12 June, is 5 days.
    followed = every(14, 7)
    assert followed[-1] == D(2025, 6, 7)
    f = facts(risks=ORANGE, follow_ups=followed, end_date=D(2025, 5, 1), delivery=D(2025, 5, 1))
    assert worklists.case_followed_at_interval(f, POLICY) is True
    # a closing on 30 May comes first: 24 May -> 30 May is 6 days, followed (7 June is after it)
    assert worklists.case_followed_at_interval(f, POLICY, D(2025, 5, 30)) is True
    # without 7 June the last gap is 24 May -> 12 June = 19 days
    f.follow_ups = followed[:-1]
    assert worklists.case_followed_at_interval(f, POLICY) is False
