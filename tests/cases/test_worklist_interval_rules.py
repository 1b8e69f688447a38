"""The follow-up interval behind follow_up_due and next_due (docs/indicator-rules.md, "Work
lists": "days since the last contact >= the colour's interval (red 7, orange 14, purple 14; the
shortest applies)", MCH_CASE_FOLLOW_UP_DAYS) and the postpartum window in which follow-up
stays due ("delivered at most 42 days before as_of (and alive)"). Pure functions: facts in,
values out. Every expected value is worked out by hand from the row (the reason in its
comment), never by the code under test."""

from __future__ import annotations

from datetime import date

import pytest

from mch_service.cases import worklists
from tests.cases.test_worklist_edges import (
    facts,  # LMP 2024-12-01, EDD 2025-09-07, booked 2025-01-10
)

D = date

# The defaults (MCH_CASE_MANAGED_COLOURS, MCH_CASE_FOLLOW_UP_DAYS, MCH_CASE_REPORT_LIMIT_HOURS).
MANAGED = frozenset({"orange", "red", "purple"})
LIMITS = {"orange": 72, "red": 24}
DEFAULT = worklists.Policy(MANAGED, {"red": 7, "orange": 14, "purple": 14}, LIMITS)
# A purple interval shorter than orange's, so purple's own setting is told from the 14 fallback.
PURPLE_10 = worklists.Policy(MANAGED, {"red": 7, "orange": 14, "purple": 10}, LIMITS)
# No interval configured for any colour: every case-managed colour falls back to 14 days.
UNSET = worklists.Policy(MANAGED, {}, LIMITS)
# Purple not case-managed (MCH_CASE_MANAGED_COLOURS=orange,red).
NO_PURPLE = worklists.Policy(frozenset({"orange", "red"}), DEFAULT.follow_up_days, LIMITS)


def risk(day: date, colour: str | None, purple: bool = False, pk: int = 1) -> tuple:
    """An assessment (assessed day, severity colour, purple flag, received at, pk)."""
    return (day, colour, purple, None, pk)


AS_OF = D(2025, 3, 1)


# --- interval_days: the current colour's follow-up interval ---------------------------------


@pytest.mark.parametrize(
    ("risks", "policy", "expected"),
    [
        # orange: case-managed, 14-day follow-up interval
        ([risk(D(2025, 2, 1), "orange")], DEFAULT, 14),
        # red: 7 days, its own setting (not the 14-day fallback)
        ([risk(D(2025, 2, 1), "red")], DEFAULT, 7),
        # yellow without a purple flag: not case-managed, no interval
        ([risk(D(2025, 2, 1), "yellow")], DEFAULT, None),
        # no assessment yet: no colour, no interval (even though purple is case-managed)
        ([], DEFAULT, None),
        # purple flag on yellow: yellow has none, so purple's interval (14 days)
        ([risk(D(2025, 2, 1), "yellow", True)], DEFAULT, 14),
        # purple flag on yellow with purple set to 10 days: purple's own setting, not 14
        ([risk(D(2025, 2, 1), "yellow", True)], PURPLE_10, 10),
        # purple on red: the shortest applies, red's 7 over purple's 14
        ([risk(D(2025, 2, 1), "red", True)], DEFAULT, 7),
        # purple (10) on orange (14): the shortest applies, purple's 10
        ([risk(D(2025, 2, 1), "orange", True)], PURPLE_10, 10),
        # orange graded, then yellow later: the current colour is yellow, no interval
        ([risk(D(2025, 1, 20), "orange"), risk(D(2025, 2, 1), "yellow", pk=2)], DEFAULT, None),
        # orange case-managed but no interval configured for it: the 14-day fallback
        ([risk(D(2025, 2, 1), "orange")], UNSET, 14),
        # red case-managed, no interval configured: also the 14-day fallback (not red's 7)
        ([risk(D(2025, 2, 1), "red")], UNSET, 14),
        # purple on yellow, no interval configured for purple: the 14-day fallback
        ([risk(D(2025, 2, 1), "yellow", True)], UNSET, 14),
        # purple on yellow when purple is not case-managed: no interval
        ([risk(D(2025, 2, 1), "yellow", True)], NO_PURPLE, None),
        # purple on orange when purple is not case-managed: orange's 14 alone
        ([risk(D(2025, 2, 1), "orange", True)], NO_PURPLE, 14),
    ],
)
def test_interval_days_is_the_shortest_case_managed_interval(
    risks: list, policy: worklists.Policy, expected: int | None
):
    assert worklists.interval_days(facts(risks=risks), AS_OF, policy) == expected


# --- _postpartum: delivered, alive, at most 42 days after -----------------------------------

DELIVERY = D(2025, 8, 30)


@pytest.mark.parametrize(
    ("as_of", "death", "expected"),
    [
        # the delivery day itself: postpartum from the day she delivers (day 0 of 42)
        (DELIVERY, None, True),
        # the day before delivery: still pregnant, not postpartum
        (D(2025, 8, 29), None, False),
        # 42 days after delivery (2025-10-11): the last postpartum day
        (D(2025, 10, 11), None, True),
        # 43 days after delivery (2025-10-12): the postpartum period is over
        (D(2025, 10, 12), None, False),
        # died 10 days after delivery: from her death day on, not postpartum
        (D(2025, 9, 9), D(2025, 9, 9), False),
    ],
)
def test_postpartum_window(as_of: date, death: date | None, expected: bool):
    f = facts(end_date=DELIVERY, delivery=DELIVERY, discharge=D(2025, 9, 2), death=death)
    assert worklists._postpartum(f, as_of, DEFAULT) is expected


def test_next_due_on_the_delivery_day_counts_from_the_delivery():
    """Orange woman delivering on as_of, no discharge yet: she is postpartum from that day, so
    follow-up stays due; her last contact is the delivery stay (the delivery day), next due 14
    days later (2025-09-13)."""
    f = facts(risks=[risk(D(2025, 8, 1), "orange")], end_date=DELIVERY, delivery=DELIVERY)
    assert worklists.next_due(f, DELIVERY, DEFAULT) == D(2025, 9, 13)
