"""The timing rules behind the work lists (docs/indicator-rules.md, "Work lists" and rule (b)
of high_risk_case_management_rate): the default order of a list (``urgency``), the reporting
limit of a case-managed assessment (``report_limit_hours``, ``MCH_CASE_REPORT_LIMIT_HOURS``),
a woman's last contact (``last_contact``) and the Chinese reason of ``report_late``. Pure
functions: facts in, values out. Every expected value is worked out by hand from the row (the
reason in its comment), never by the code under test."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from mch_service.cases import worklists
from tests.cases.test_worklist_edges import (
    facts,  # LMP 2024-12-01, EDD 2025-09-07, booked 2025-01-10
)

D = date
CST = timezone(timedelta(hours=8))  # MCH_TIMEZONE Asia/Shanghai: received times are local

# The defaults (MCH_CASE_MANAGED_COLOURS, MCH_CASE_FOLLOW_UP_DAYS, MCH_CASE_REPORT_LIMIT_HOURS).
MANAGED = frozenset({"orange", "red", "purple"})
FOLLOW_UP = {"red": 7, "orange": 14, "purple": 14}
POLICY = worklists.Policy(MANAGED, FOLLOW_UP, {"orange": 72, "red": 24})


def policy(limits: dict[str, int], managed: frozenset[str] = MANAGED) -> worklists.Policy:
    return worklists.Policy(managed, FOLLOW_UP, limits)


# --- urgency: the default order of a list ---------------------------------------------------
# docs/indicator-rules.md: "urgency (purple or red 0, orange 1, yellow 2, else 3)".


@pytest.mark.parametrize(
    ("colour", "purple", "expected"),
    [
        ("red", False, 0),  # red: the most urgent, first in every list
        ("orange", False, 1),  # orange: after red
        ("yellow", False, 2),  # yellow: after orange
        ("green", False, 3),  # green: "else 3", with the ungraded
        (None, False, 3),  # no severity colour graded yet: "else 3", not first and not missing
        ("purple", False, 3),  # not a severity colour (purple is the flag): "else 3"
        ("green", True, 0),  # a purple flag on green ranks with red, whatever the colour
        ("orange", True, 0),  # purple on orange: 0, not orange's 1
        (None, True, 0),  # purple alone (no severity colour): 0
    ],
)
def test_urgency_orders_purple_and_red_first(colour: str | None, purple: bool, expected: int):
    assert worklists.urgency(colour, purple) == expected


# --- report_limit_hours: how soon a case-managed assessment must be received ----------------
# docs/indicator-rules.md rule (b): orange 72 hours, red 24 hours; "a purple flag on a lighter
# colour takes a `purple` limit when one is set, else the orange one".

PURPLE_48 = {"orange": 72, "red": 24, "purple": 48}  # a district that sets a purple limit
ORANGE_96 = {"orange": 96, "red": 24}  # a district that gives orange 4 days
RED_ONLY = {"red": 24}  # neither orange nor purple set: the built-in 72 hours (3 days)


@pytest.mark.parametrize(
    ("colour", "purple", "limits", "managed", "expected"),
    [
        # the defaults: each case-managed colour its own limit
        ("red", False, POLICY.report_limit_hours, MANAGED, 24),  # red: 24 hours
        ("orange", False, POLICY.report_limit_hours, MANAGED, 72),  # orange: 3 days
        # purple on a lighter colour, no purple limit set: the orange one
        ("yellow", True, POLICY.report_limit_hours, MANAGED, 72),
        ("green", True, POLICY.report_limit_hours, MANAGED, 72),
        (None, True, POLICY.report_limit_hours, MANAGED, 72),  # purple alone: orange's too
        # a purple limit set: a purple flag on a lighter colour takes it (48, not orange's 72)
        ("yellow", True, PURPLE_48, MANAGED, 48),
        (None, True, PURPLE_48, MANAGED, 48),
        # ... but red with purple keeps red's own, stricter, 24 hours (its colour is limited)
        ("red", True, PURPLE_48, MANAGED, 24),
        # no purple limit and a local orange limit of 96: the purple flag follows orange's 96
        # (not the built-in 72)
        ("yellow", True, ORANGE_96, MANAGED, 96),
        # neither a purple nor an orange limit set: the rule's own 3 days, 72 hours
        ("yellow", True, RED_ONLY, MANAGED, 72),
        (None, True, RED_ONLY, MANAGED, 72),
        # a limit for a colour that is not case-managed (yellow limit left in the setting,
        # yellow not in MCH_CASE_MANAGED_COLOURS) does not apply: the purple flag is what makes
        # her case-managed, so the purple/orange limit (72), not yellow's 168
        ("yellow", True, {"orange": 72, "red": 24, "yellow": 168}, MANAGED, 72),
        # a case-managed colour without a limit of its own (yellow case-managed, no yellow
        # limit): the purple/orange fallback, 72, not an error
        ("yellow", False, POLICY.report_limit_hours, MANAGED | {"yellow"}, 72),
    ],
)
def test_report_limit_hours_by_colour_and_setting(
    colour: str | None,
    purple: bool,
    limits: dict[str, int],
    managed: frozenset[str],
    expected: int,
):
    assert worklists.report_limit_hours(colour, purple, policy(limits, managed)) == expected


# The limit at work: case_opened_in_time measures from the start of the assessment's day
# (00:00 local) and allows the limit plus a day's grace (the assessment has a day, not a time).
GRADED = D(2025, 3, 1)
DAY_START = datetime(2025, 3, 1, tzinfo=CST)
MINUTE = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("colour", "purple", "limits", "after_day_start", "in_time"),
    [
        # red: 24 h + 24 h of grace = 48 h after 1 March 00:00, i.e. 3 March 00:00: on time
        ("red", False, POLICY.report_limit_hours, timedelta(hours=48), True),
        # red: one minute past 3 March 00:00: late
        ("red", False, POLICY.report_limit_hours, timedelta(hours=48) + MINUTE, False),
        # orange: 72 h + 24 h = 96 h, 5 March 00:00: on time; a minute later: late
        ("orange", False, POLICY.report_limit_hours, timedelta(hours=96), True),
        ("orange", False, POLICY.report_limit_hours, timedelta(hours=96) + MINUTE, False),
        # purple on yellow, no purple limit: orange's 72 h + 24 h = 96 h: on time
        ("yellow", True, POLICY.report_limit_hours, timedelta(hours=96), True),
        # purple on yellow with a purple limit of 48 h: 48 + 24 = 72 h, 4 March 00:00: on time;
        # at 96 h (orange's allowance) she is late
        ("yellow", True, PURPLE_48, timedelta(hours=72), True),
        ("yellow", True, PURPLE_48, timedelta(hours=96), False),
        # purple on yellow, neither purple nor orange set: 72 h + 24 h = 96 h on time, not after
        ("yellow", True, RED_ONLY, timedelta(hours=96), True),
        ("yellow", True, RED_ONLY, timedelta(hours=96) + MINUTE, False),
    ],
)
def test_case_opened_in_time_at_the_reporting_limit(
    colour: str | None,
    purple: bool,
    limits: dict[str, int],
    after_day_start: timedelta,
    in_time: bool,
):
    received = DAY_START + after_day_start
    f = facts(risks=[(GRADED, colour, purple, received, 1)])
    assert worklists.case_opened_in_time(f, policy(limits)) is in_time


# --- last_contact: the latest contact on or before as_of ------------------------------------
# docs/indicator-rules.md: "the latest prenatal or postpartum visit, risk assessment, recorded
# follow-up or delivery stay (its discharge day) on or before as_of".

AS_OF = D(2025, 3, 10)


@pytest.mark.parametrize(
    ("kw", "as_of", "expected"),
    [
        # nothing recorded: no last contact (None, not an error)
        ({}, AS_OF, None),
        # only contacts after as_of: none yet on as_of
        ({"visits": [D(2025, 3, 11)]}, AS_OF, None),
        # a visit on as_of itself counts ("on or before")
        ({"visits": [D(2025, 2, 1), AS_OF]}, AS_OF, AS_OF),
        # a visit the day after as_of does not count: the earlier one (1 Feb) is the last
        ({"visits": [D(2025, 2, 1), D(2025, 3, 11)]}, AS_OF, D(2025, 2, 1)),
        # each kind of contact: the latest of them, whichever it is
        ({"visits": [D(2025, 2, 1)], "follow_ups": [D(2025, 3, 5)]}, AS_OF, D(2025, 3, 5)),
        (
            {"visits": [D(2025, 2, 1)], "risks": [(D(2025, 3, 6), "red", False, None, 1)]},
            AS_OF,
            D(2025, 3, 6),
        ),
        ({"visits": [D(2025, 2, 1)], "postpartum_visits": [D(2025, 3, 7)]}, AS_OF, D(2025, 3, 7)),
        # delivered 1 March, discharged 4 March, last visit 20 Feb: the delivery stay is the
        # last contact, on its discharge day (4 March, not the delivery day)
        (
            {"visits": [D(2025, 2, 20)], "delivery": D(2025, 3, 1), "discharge": D(2025, 3, 4)},
            AS_OF,
            D(2025, 3, 4),
        ),
        # the same stay on 3 March, before the discharge: the stay does not count yet (its day
        # is the discharge, after as_of), so the 20 Feb visit is the last contact
        (
            {"visits": [D(2025, 2, 20)], "delivery": D(2025, 3, 1), "discharge": D(2025, 3, 4)},
            D(2025, 3, 3),
            D(2025, 2, 20),
        ),
    ],
)
def test_last_contact_on_or_before_as_of(kw: dict[str, object], as_of: date, expected: date | None):
    assert worklists.last_contact(facts(**kw), as_of) == expected


# --- report_late: the reason a reviewer reads ------------------------------------------------
# docs/indicator-rules.md: late when received more than limit + 24 h after 00:00 of the
# assessment's day; the reason names the colour (in Chinese as the colour badge: 红色, 橙色),
# the assessment's day, the day it was received and the limit.

# (colour, received, Chinese reason, reason)
REPORT_LATE_ZH_ROWS = [
    (
        "red",
        DAY_START + timedelta(hours=49),
        "红色评估（2025-03-01）于2025-03-03收到，超过24小时报告时限",
        "red graded 03-01, received 03-03 01:00 (49 h, over red's 24 h + a day): 红色, its "
        "24-hour limit",
    ),
    (
        "orange",
        DAY_START + timedelta(hours=96) + MINUTE,
        "橙色评估（2025-03-01）于2025-03-05收到，超过72小时报告时限",
        "orange graded 03-01, received 03-05 00:01 (a minute over 72 h + a day): 橙色, its "
        "72-hour limit",
    ),
]


@pytest.mark.parametrize(
    ("colour", "received", "expected", "reason"),
    REPORT_LATE_ZH_ROWS,
    ids=[r[0] for r in REPORT_LATE_ZH_ROWS],
)
def test_report_late_reason_in_chinese(
    colour: str, received: datetime, expected: str, reason: str
) -> None:
    f = facts(risks=[(GRADED, colour, False, received, 1)])
    found = worklists.report_late(f, D(2025, 3, 10), POLICY)
    assert found is not None, reason
    assert found.reason_zh == expected, reason


# --- the limits' settings: keyed by colour, every limit at least 1 ----------------------------
# The lists look the limits up by an assessment's colour: a key that is not a colour (a typo
# such as "Red" or an empty key) would silently drop that colour's limit, and a limit below 1
# would list every case at once. The service refuses such settings at start-up, naming them.


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("case_report_limit_hours", {"orange": 72, "Red": 24}, "MCH_CASE_REPORT_LIMIT_HOURS"),
        ("case_report_limit_hours", {"": 24}, "MCH_CASE_REPORT_LIMIT_HOURS"),
        ("case_report_limit_hours", {"red": 0}, "MCH_CASE_REPORT_LIMIT_HOURS"),
        ("case_follow_up_days", {"red": 7, "blue": 14}, "MCH_CASE_FOLLOW_UP_DAYS"),
        ("case_follow_up_days", {"red": -7}, "MCH_CASE_FOLLOW_UP_DAYS"),
    ],
)
def test_work_list_limits_must_be_keyed_by_colour_and_positive(
    field: str, value: dict[str, int], named: str
) -> None:
    from pydantic import ValidationError

    from mch_service.config import Settings

    with pytest.raises(ValidationError, match=named):
        Settings.model_validate({field: value})
    # every colour may have a limit of its own, the smallest being 1
    every = {"green": 1, "yellow": 1, "orange": 1, "red": 1, "purple": 1}
    assert getattr(Settings.model_validate({field: every}), field) == every


@pytest.mark.parametrize(
    "field",
    [
        "case_outcome_unknown_days",
        "case_untreated_days",
        "case_missing_tests_days",
        "case_postpartum_due_days",
        "case_postpartum_overdue_days",
    ],
)
def test_work_list_day_counts_may_not_be_negative(field: str) -> None:
    # a negative count would have a list count from a day still to come; 0 (the same day) is
    # the strictest a district may set
    from pydantic import ValidationError

    from mch_service.config import Settings

    with pytest.raises(ValidationError, match=field):
        Settings.model_validate({field: -1})
    assert getattr(Settings.model_validate({field: 0}), field) == 0
