"""Both sides of every work-list threshold (docs/indicator-rules.md, "Work lists"), one row per
day with the clinical reason. The expected days are counted by hand from the dates in each row
(calendar arithmetic written out in the comments), never by the code under test."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from mch_service.cases import worklists

D = date


def syphilis_positive(day: date) -> list[tuple[str, date, str | None, str | None]]:
    """A confirmed syphilis infection: a treponemal and a non-treponemal test both positive."""
    return [
        ("syphilis_test", day, "positive", "treponemal"),
        ("syphilis_test", day, "positive", "non_treponemal"),
    ]


POLICY = worklists.Policy(
    frozenset({"orange", "red", "purple"}),
    {"red": 7, "orange": 14, "purple": 14},
    {"orange": 72, "red": 24},
)
ALL_TESTS = [
    ("hiv_test", D(2025, 1, 10), "negative", None),
    ("syphilis_test", D(2025, 1, 10), "negative", None),
    ("hbsag_test", D(2025, 1, 10), "negative", None),
]


def facts(**kw: object) -> worklists.PregnancyFacts:
    """LMP 2024-12-01, EDD 2025-09-07, booked 2025-01-10, street s, institution h."""
    base = worklists.PregnancyFacts(
        "P1", "w", D(2024, 12, 1), D(2025, 9, 7), None, "s", "h", D(2025, 1, 10)
    )
    for k, v in kw.items():
        setattr(base, k, v)
    return base


def item(
    f: worklists.PregnancyFacts, day: date, name: str, policy: worklists.Policy = POLICY
) -> worklists.Item | None:
    found = [i for i in worklists.items(f, day, policy) if i.list_name == name]
    assert len(found) <= 1, found  # a pregnancy is on each list at most once
    return found[0] if found else None


# --- follow-up due / overdue ---------------------------------------------------------------

RED_ON_1_MARCH = [(D(2025, 3, 1), "red", False, None, 1)]
ORANGE_ON_1_MARCH = [(D(2025, 3, 1), "orange", False, None, 1)]


@pytest.mark.parametrize(
    ("risks", "as_of", "expected"),
    [
        # red: contact every 7 days; graded 1 March, so due on 8 March, overdue from 9 March
        (RED_ON_1_MARCH, D(2025, 3, 7), None),  # 6 days: still within the interval
        (RED_ON_1_MARCH, D(2025, 3, 8), (D(2025, 3, 8), False)),  # 7 days: due today
        (RED_ON_1_MARCH, D(2025, 3, 9), (D(2025, 3, 8), True)),  # 8 days: overdue
        # orange: every 14 days; due 15 March, overdue from 16 March
        (ORANGE_ON_1_MARCH, D(2025, 3, 14), None),
        (ORANGE_ON_1_MARCH, D(2025, 3, 15), (D(2025, 3, 15), False)),
        (ORANGE_ON_1_MARCH, D(2025, 3, 16), (D(2025, 3, 15), True)),
        # purple alone (no severity colour): its own 14 days
        ([(D(2025, 3, 1), None, True, None, 1)], D(2025, 3, 14), None),
        ([(D(2025, 3, 1), None, True, None, 1)], D(2025, 3, 15), (D(2025, 3, 15), False)),
        # red and purple: the shorter interval (red's 7 days) rules
        ([(D(2025, 3, 1), "red", True, None, 1)], D(2025, 3, 8), (D(2025, 3, 8), False)),
        # orange and purple: both 14 days
        ([(D(2025, 3, 1), "orange", True, None, 1)], D(2025, 3, 14), None),
        # green and yellow are not case-managed: never on the list
        ([(D(2025, 3, 1), "green", False, None, 1)], D(2025, 6, 1), None),
        ([(D(2025, 3, 1), "yellow", False, None, 1)], D(2025, 6, 1), None),
        # a later green grading ends case management from its day, not before
        (
            RED_ON_1_MARCH + [(D(2025, 3, 9), "green", False, None, 2)],
            D(2025, 3, 8),
            (D(2025, 3, 8), False),
        ),
        (RED_ON_1_MARCH + [(D(2025, 3, 9), "green", False, None, 2)], D(2025, 3, 9), None),
        # two gradings the same day: the one stored last (higher resource pk) is current
        (
            [(D(2025, 3, 1), "red", False, None, 2), (D(2025, 3, 1), "green", False, None, 1)],
            D(2025, 3, 8),
            (D(2025, 3, 8), False),
        ),
        (
            [(D(2025, 3, 1), "red", False, None, 1), (D(2025, 3, 1), "green", False, None, 2)],
            D(2025, 3, 8),
            None,
        ),
        # a grading with no colour (purple flag off) keeps the earlier colour current
        (
            RED_ON_1_MARCH + [(D(2025, 3, 2), None, False, None, 2)],
            D(2025, 3, 9),
            (D(2025, 3, 9), False),
        ),
    ],
)
def test_follow_up_interval_both_sides(
    risks: list[tuple[date, str | None, bool, datetime | None, int]],
    as_of: date,
    expected: tuple[date, bool] | None,
) -> None:
    got = item(facts(risks=risks), as_of, "follow_up_due")
    assert (None if got is None else (got.since, got.overdue)) == expected


@pytest.mark.parametrize(
    ("contacts", "as_of", "listed"),
    [
        # a visit on the due day itself is contact that day: 0 days waited
        ({"visits": [D(2025, 3, 8)]}, D(2025, 3, 8), False),
        # a visit recorded for a later day is not contact yet
        ({"visits": [D(2025, 3, 9)]}, D(2025, 3, 8), True),
        # a recorded follow-up (phone call) counts as a visit does
        ({"follow_ups": [D(2025, 3, 8)]}, D(2025, 3, 8), False),
        ({"follow_ups": [D(2025, 3, 9)]}, D(2025, 3, 8), True),
        # the last contact restarts the clock: visit 3 March, due again 10 March
        ({"visits": [D(2025, 3, 3)]}, D(2025, 3, 9), False),
        ({"visits": [D(2025, 3, 3)]}, D(2025, 3, 10), True),
    ],
)
def test_follow_up_contact_on_and_after_the_day(
    contacts: dict[str, list[date]], as_of: date, listed: bool
) -> None:
    f = facts(risks=list(RED_ON_1_MARCH), **contacts)
    assert (item(f, as_of, "follow_up_due") is not None) is listed


def test_follow_up_ends_with_the_pregnancy_on_its_day() -> None:
    # red graded 1 March, 20 March is long overdue; the pregnancy ending that very day (or
    # before) takes her off, ending the day after does not
    assert (
        item(facts(risks=RED_ON_1_MARCH, end_date=D(2025, 3, 20)), D(2025, 3, 20), "follow_up_due")
        is None
    )
    assert (
        item(facts(risks=RED_ON_1_MARCH, end_date=D(2025, 3, 19)), D(2025, 3, 20), "follow_up_due")
        is None
    )
    late = item(
        facts(risks=RED_ON_1_MARCH, end_date=D(2025, 3, 21)), D(2025, 3, 20), "follow_up_due"
    )
    assert late is not None
    assert late.reason == "red: no contact for 19 days (interval 7 days)"
    assert late.clears == "a visit, an assessment or a recorded follow-up, or the pregnancy ending"


def test_follow_up_reason_names_every_colour_and_a_colour_without_a_set_interval_waits_14() -> None:
    both = item(
        facts(risks=[(D(2025, 3, 1), "red", True, None, 1)]), D(2025, 3, 8), "follow_up_due"
    )
    assert both is not None
    assert both.reason == "red/purple: no contact for 7 days (interval 7 days)"
    purple = item(
        facts(risks=[(D(2025, 3, 1), None, True, None, 1)]), D(2025, 3, 15), "follow_up_due"
    )
    assert purple is not None
    assert purple.reason == "purple: no contact for 14 days (interval 14 days)"
    # yellow case-managed but no interval configured for it (nor for purple): 14 days
    yellow_policy = worklists.Policy(frozenset({"yellow", "purple"}), {}, {})
    yellow = facts(risks=[(D(2025, 3, 1), "yellow", False, None, 1)])
    assert item(yellow, D(2025, 3, 14), "follow_up_due", yellow_policy) is None
    assert item(yellow, D(2025, 3, 15), "follow_up_due", yellow_policy) is not None
    lone_purple = facts(risks=[(D(2025, 3, 1), None, True, None, 1)])
    assert item(lone_purple, D(2025, 3, 14), "follow_up_due", yellow_policy) is None
    assert item(lone_purple, D(2025, 3, 15), "follow_up_due", yellow_policy) is not None
    # purple not case-managed: a purple-only woman is not followed up
    no_purple = worklists.Policy(frozenset({"red"}), {"red": 7}, {})
    assert item(lone_purple, D(2025, 6, 1), "follow_up_due", no_purple) is None


def test_first_case_managed_day() -> None:
    f = facts(
        risks=[
            (D(2025, 2, 1), "green", False, None, 1),
            (D(2025, 3, 1), "orange", False, None, 2),
            (D(2025, 3, 5), None, True, None, 3),
        ]
    )
    assert worklists.first_case_managed(f, POLICY) == D(2025, 3, 1)
    assert worklists.first_case_managed(f, POLICY, as_of=D(2025, 2, 28)) is None
    assert worklists.first_case_managed(f, POLICY, as_of=D(2025, 3, 1)) == D(2025, 3, 1)
    purple_only = worklists.Policy(frozenset({"purple"}), {}, {})
    assert worklists.first_case_managed(f, purple_only) == D(2025, 3, 5)
    assert worklists.first_case_managed(f, purple_only, as_of=D(2025, 3, 4)) is None
    red_only = worklists.Policy(frozenset({"red"}), {}, {})
    assert worklists.first_case_managed(f, red_only) is None


def test_current_colour_on_the_grading_day() -> None:
    f = facts(
        risks=[(D(2025, 3, 1), "orange", False, None, 1), (D(2025, 3, 5), "red", True, None, 2)]
    )
    assert worklists.current_colour(f, D(2025, 2, 28)) == (None, False)
    assert worklists.current_colour(f, D(2025, 3, 4)) == ("orange", False)
    assert worklists.current_colour(f, D(2025, 3, 5)) == ("red", True)


# --- orange/red reported late --------------------------------------------------------------

ASSESSED = D(2025, 3, 1)  # made at (taken as) 00:00 that day: the day has no time


@pytest.mark.parametrize(
    ("colour", "received", "late"),
    [
        # orange: 72 hours + a day's grace = 96 h after 1 March 00:00 = 5 March 00:00
        ("orange", datetime(2025, 3, 4, 23, tzinfo=UTC), False),  # 95 h
        ("orange", datetime(2025, 3, 5, 0, tzinfo=UTC), False),  # exactly 96 h: in time
        ("orange", datetime(2025, 3, 5, 1, tzinfo=UTC), True),  # 97 h: late
        # red: 24 hours + a day = 48 h = 3 March 00:00
        ("red", datetime(2025, 3, 2, 23, tzinfo=UTC), False),  # 47 h
        ("red", datetime(2025, 3, 3, 0, tzinfo=UTC), False),  # exactly 48 h
        ("red", datetime(2025, 3, 3, 1, tzinfo=UTC), True),  # 49 h
        # the sender's own day: 5 March 01:00 at UTC+8 is 97 h after 1 March 00:00 at UTC+8
        # (it would be only 89 h after 1 March 00:00 UTC)
        ("orange", datetime(2025, 3, 5, 1, tzinfo=timezone(timedelta(hours=8))), True),
        ("orange", datetime(2025, 3, 5, 0, tzinfo=timezone(timedelta(hours=8))), False),
        # yellow and green have no reporting limit
        ("yellow", datetime(2025, 4, 1, tzinfo=UTC), False),
        ("green", datetime(2025, 4, 1, tzinfo=UTC), False),
    ],
)
def test_report_late_at_limit_plus_a_day(colour: str, received: datetime, late: bool) -> None:
    f = facts(risks=[(ASSESSED, colour, False, received, 7)])
    got = item(f, D(2025, 4, 10), "report_late")
    assert (got is not None) is late
    if got is not None:
        limit = {"orange": 72, "red": 24}[colour]
        assert (got.since, got.overdue) == (received.date(), True)
        assert got.reason == (
            f"{colour} assessment of 2025-03-01 received {received.date()}, "
            f"after the {limit}-hour limit"
        )
        assert got.clears == "a reviewer acknowledges it"


def test_report_late_only_from_the_day_it_arrived_and_until_acknowledged() -> None:
    received = datetime(2025, 3, 5, 1, tzinfo=UTC)
    f = facts(risks=[(ASSESSED, "orange", False, received, 7)])
    assert item(f, D(2025, 3, 4), "report_late") is None  # not yet received on 4 March
    assert item(f, D(2025, 3, 5), "report_late") is not None
    f.acknowledged.add(7)
    assert item(f, D(2025, 3, 5), "report_late") is None
    # an unknown arrival time (data loaded without one) is never late
    assert (
        item(facts(risks=[(ASSESSED, "red", False, None, 7)]), D(2025, 4, 1), "report_late") is None
    )


def test_report_late_lists_the_pregnancy_once_and_acknowledging_one_leaves_the_other() -> None:
    f = facts(
        risks=[
            (D(2025, 3, 1), "red", False, datetime(2025, 3, 10, tzinfo=UTC), 7),
            (D(2025, 3, 2), "orange", False, datetime(2025, 3, 20, tzinfo=UTC), 8),
        ]
    )
    got = item(f, D(2025, 4, 1), "report_late")
    assert got is not None
    assert got.since == D(2025, 3, 10)  # the first late one
    f.acknowledged.add(7)
    second = item(f, D(2025, 4, 1), "report_late")
    assert second is not None
    assert second.since == D(2025, 3, 20)


@pytest.mark.parametrize(
    ("assessed", "listed"),
    [
        # the service went live on 1 March (MCH_CASE_REPORT_LATE_FROM): the backfill brought
        # the older assessments on 1 April, late by nature, not by the hospital's fault
        (D(2025, 2, 28), False),  # the day before go-live
        (D(2025, 3, 1), True),  # the go-live day: reported live, and late
    ],
)
def test_report_late_counts_assessments_from_the_go_live_day(assessed: date, listed: bool) -> None:
    policy = worklists.Policy(
        POLICY.case_managed,
        POLICY.follow_up_days,
        POLICY.report_limit_hours,
        report_late_from=D(2025, 3, 1),
    )
    f = facts(risks=[(assessed, "red", False, datetime(2025, 4, 1, tzinfo=UTC), 7)])
    assert (item(f, D(2025, 4, 10), "report_late", policy) is not None) is listed
    # without the setting (the default) both are late
    assert item(f, D(2025, 4, 10), "report_late") is not None


# --- outcome unknown ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("end", "as_of", "since"),
    [
        # EDD 7 September + 14 days = 21 September: unknown from 22 September
        (None, D(2025, 9, 21), None),
        (None, D(2025, 9, 22), D(2025, 9, 22)),
        # the outcome arriving takes her off from its day
        (D(2025, 9, 22), D(2025, 9, 22), None),
        (D(2025, 9, 23), D(2025, 9, 22), D(2025, 9, 22)),  # ends tomorrow: still unknown today
    ],
)
def test_outcome_unknown_after_edd_plus_14(
    end: date | None, as_of: date, since: date | None
) -> None:
    got = item(facts(end_date=end), as_of, "outcome_unknown")
    assert (None if got is None else got.since) == since
    if got is not None:
        assert got.overdue
        assert got.reason == "EDD 2025-09-07 passed 15 days ago with no delivery or other outcome"
        assert got.clears == "an outcome arrives, or a reviewer records one"


def test_outcome_unknown_needs_an_edd() -> None:
    assert item(facts(edd=None), D(2026, 1, 1), "outcome_unknown") is None


# --- positive without treatment -----------------------------------------------------------

HIV_POS_1_MARCH = [("hiv_test", D(2025, 3, 1), "positive", "confirmatory")]


@pytest.mark.parametrize(
    ("labs", "treatments", "as_of", "since"),
    [
        # 14 days to start treatment: positive 1 March, listed from 16 March
        (HIV_POS_1_MARCH, [], D(2025, 3, 15), None),
        (HIV_POS_1_MARCH, [], D(2025, 3, 16), D(2025, 3, 16)),
        # a treatment the day before the LMP (2024-12-01) belongs to an earlier time: untreated
        (HIV_POS_1_MARCH, [("antiretroviral", D(2024, 11, 30))], D(2025, 3, 16), D(2025, 3, 16)),
        # a treatment on the LMP day is in this pregnancy: treated
        (HIV_POS_1_MARCH, [("antiretroviral", D(2024, 12, 1))], D(2025, 3, 16), None),
        # a treatment recorded for a later day is not known yet; on the day it is
        (HIV_POS_1_MARCH, [("antiretroviral", D(2025, 3, 17))], D(2025, 3, 16), D(2025, 3, 16)),
        (HIV_POS_1_MARCH, [("antiretroviral", D(2025, 3, 16))], D(2025, 3, 16), None),
        # the other infection's treatment does not treat this one
        (HIV_POS_1_MARCH, [("syphilis_treatment", D(2025, 3, 2))], D(2025, 3, 16), D(2025, 3, 16)),
        # negative and indeterminate results are not positives
        ([("hiv_test", D(2025, 3, 1), "negative", None)], [], D(2025, 4, 1), None),
        # issue 14, rule 3: a reactive screen alone is not an infection, nor with a negative
        # confirmation; a confirmation on 5 March starts the clock then (listed from the 20th)
        ([("hiv_test", D(2025, 3, 1), "positive", None)], [], D(2025, 4, 1), None),
        (
            [
                ("hiv_test", D(2025, 3, 1), "positive", None),
                ("hiv_test", D(2025, 3, 5), "negative", "confirmatory"),
            ],
            [],
            D(2025, 4, 1),
            None,
        ),
        (
            [
                ("hiv_test", D(2025, 3, 1), "positive", None),
                ("hiv_test", D(2025, 3, 5), "positive", "confirmatory"),
            ],
            [],
            D(2025, 4, 1),
            D(2025, 3, 20),
        ),
        # syphilis: a treponemal positive alone (a past infection) is not listed; the pair is,
        # from the day the second test is there (non-treponemal on 25 February: 12 March)
        ([("syphilis_test", D(2025, 2, 20), "positive", "treponemal")], [], D(2025, 4, 1), None),
        (
            [
                ("syphilis_test", D(2025, 2, 20), "positive", "treponemal"),
                ("syphilis_test", D(2025, 2, 25), "positive", "non_treponemal"),
            ],
            [],
            D(2025, 4, 1),
            D(2025, 3, 12),
        ),
        ([("hiv_test", D(2025, 3, 1), "indeterminate", None)], [], D(2025, 4, 1), None),
        # the clock starts at the first positive up to the day: 1 March, not 10 March ...
        (
            HIV_POS_1_MARCH + [("hiv_test", D(2025, 3, 10), "positive", "confirmatory")],
            [],
            D(2025, 3, 20),
            D(2025, 3, 16),
        ),
        # ... and a positive dated after the day is not known yet (only 1 March counts)
        (
            HIV_POS_1_MARCH + [("hiv_test", D(2025, 4, 1), "positive", "confirmatory")],
            [],
            D(2025, 3, 20),
            D(2025, 3, 16),
        ),
        # syphilis the same way: positive 20 February, 14 days to 6 March, listed from 7 March
        ([*syphilis_positive(D(2025, 2, 20))], [], D(2025, 3, 6), None),
        ([*syphilis_positive(D(2025, 2, 20))], [], D(2025, 3, 7), D(2025, 3, 7)),
        (
            [*syphilis_positive(D(2025, 2, 20))],
            [("syphilis_treatment", D(2025, 3, 1))],
            D(2025, 3, 7),
            None,
        ),
    ],
)
def test_positive_untreated_both_sides(
    labs: list[tuple[str, date, str | None, str | None]],
    treatments: list[tuple[str, date]],
    as_of: date,
    since: date | None,
) -> None:
    got = item(facts(labs=labs, treatments=treatments), as_of, "positive_untreated")
    assert (None if got is None else got.since) == since


def test_positive_untreated_names_both_and_starts_at_the_earlier() -> None:
    f = facts(
        labs=[
            ("hiv_test", D(2025, 3, 1), "positive", "confirmatory"),  # listed from 16 March
            *syphilis_positive(D(2025, 2, 20)),  # listed from 7 March
        ]
    )
    got = item(f, D(2025, 4, 1), "positive_untreated")
    assert got is not None
    assert (got.since, got.overdue) == (D(2025, 3, 7), True)
    assert got.reason == (
        "HIV positive on 2025-03-01, no treatment recorded; "
        "syphilis positive on 2025-02-20, no treatment recorded"
    )
    assert got.clears == "a treatment record"


def test_positive_untreated_with_no_lmp_any_earlier_treatment_counts() -> None:
    f = facts(lmp=None, labs=HIV_POS_1_MARCH, treatments=[("antiretroviral", D(2020, 1, 1))])
    assert item(f, D(2025, 4, 1), "positive_untreated") is None


@pytest.mark.parametrize(
    ("as_of", "listed"),
    [
        # ended 1 March; the postpartum period lasts 42 days: 1 March + 42 = 12 April
        (D(2025, 4, 12), True),  # day 42 after the end: still her care
        (D(2025, 4, 13), False),  # day 43: past the postpartum period, off the list
    ],
)
def test_positive_untreated_until_the_postpartum_period_ends(as_of: date, listed: bool) -> None:
    f = facts(
        end_date=D(2025, 3, 1), labs=[("hiv_test", D(2025, 2, 1), "positive", "confirmatory")]
    )
    assert (item(f, as_of, "positive_untreated") is not None) is listed


# --- essential tests missing ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("labs", "as_of", "missing"),
    [
        # booked 10 January; 28 days to test: 7 February not yet, 8 February listed
        ([], D(2025, 2, 7), None),
        ([], D(2025, 2, 8), "HIV, syphilis, HBsAg"),
        (ALL_TESTS, D(2025, 2, 8), None),
        # a result with no value still is a test done
        ([("hiv_test", D(2025, 2, 1), None, None)], D(2025, 2, 8), "syphilis, HBsAg"),
        # a result dated on the day counts; one dated after it is not known yet
        (ALL_TESTS[:2] + [("hbsag_test", D(2025, 2, 8), "negative", None)], D(2025, 2, 8), None),
        (ALL_TESTS[:2] + [("hbsag_test", D(2025, 2, 9), "negative", None)], D(2025, 2, 8), "HBsAg"),
        # other tests are not the three essential ones
        ([("haemoglobin", D(2025, 1, 10), None, None)], D(2025, 2, 8), "HIV, syphilis, HBsAg"),
    ],
)
def test_missing_tests_after_28_days(
    labs: list[tuple[str, date, str | None, str | None]], as_of: date, missing: str | None
) -> None:
    got = item(facts(labs=labs), as_of, "missing_tests")
    if missing is None:
        assert got is None
        return
    assert got is not None
    assert (got.since, got.overdue) == (D(2025, 2, 8), True)
    assert got.reason == f"booked 2025-01-10; no {missing} result"
    assert got.clears == "all three results present"


def test_missing_tests_not_for_an_ended_or_unbooked_pregnancy() -> None:
    assert item(facts(end_date=D(2025, 2, 8)), D(2025, 2, 8), "missing_tests") is None
    assert item(facts(end_date=D(2025, 2, 9)), D(2025, 2, 8), "missing_tests") is not None
    assert item(facts(first_contact=None), D(2025, 6, 1), "missing_tests") is None


# --- postpartum visit due ------------------------------------------------------------------

DISCHARGED = D(2025, 8, 9)  # delivered 6 August, discharged 9 August


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        # the first visit is due within 7 days: on the list from day 8 (17 August)
        (D(2025, 8, 9), None),  # day 0: discharged today
        (D(2025, 8, 16), None),  # day 7: still in time
        (D(2025, 8, 17), False),  # day 8: due
        # overdue after 28 days: 9 August + 28 = 6 September
        (D(2025, 9, 6), False),  # day 28: still only due
        (D(2025, 9, 7), True),  # day 29: overdue
        # the list ends with the postpartum period, 42 days: 9 August + 42 = 20 September
        (D(2025, 9, 20), True),  # day 42: still listed
        (D(2025, 9, 21), None),  # day 43: off the list
        # before discharge, nothing
        (D(2025, 8, 8), None),
    ],
)
def test_postpartum_visit_due_overdue_and_end(as_of: date, expected: bool | None) -> None:
    got = item(facts(end_date=D(2025, 8, 6), discharge=DISCHARGED), as_of, "postpartum_visit_due")
    assert (None if got is None else got.overdue) == expected
    if got is not None:
        assert got.since == D(2025, 8, 17)
        days = (as_of - DISCHARGED).days
        assert got.reason == f"discharged 2025-08-09, no postpartum visit for {days} days"
        assert got.clears == "a postpartum visit"


@pytest.mark.parametrize(
    ("visit", "listed"),
    [
        (D(2025, 8, 8), True),  # before discharge: a visit in hospital is not a home visit
        (D(2025, 8, 9), False),  # on the discharge day
        (D(2025, 8, 20), False),  # on the day the list is looked at
        (D(2025, 8, 21), True),  # recorded for a later day: not known yet
    ],
)
def test_postpartum_visit_clears_from_discharge_to_the_day(visit: date, listed: bool) -> None:
    f = facts(end_date=D(2025, 8, 6), discharge=DISCHARGED, postpartum_visits=[visit])
    assert (item(f, D(2025, 8, 20), "postpartum_visit_due") is not None) is listed


def test_postpartum_windows_follow_the_policy() -> None:
    # a district that wants the visit in 3 days, overdue after 10, followed for 20
    policy = worklists.Policy(
        POLICY.case_managed,
        POLICY.follow_up_days,
        POLICY.report_limit_hours,
        postpartum_due_days=3,
        postpartum_overdue_days=10,
        postpartum_end_days=20,
    )
    f = facts(end_date=D(2025, 8, 6), discharge=DISCHARGED)

    def overdue(day: date) -> bool | None:
        got = item(f, day, "postpartum_visit_due", policy)
        return None if got is None else got.overdue

    assert overdue(D(2025, 8, 12)) is None  # day 3
    assert overdue(D(2025, 8, 13)) is False  # day 4
    assert overdue(D(2025, 8, 19)) is False  # day 10
    assert overdue(D(2025, 8, 20)) is True  # day 11
    assert overdue(D(2025, 8, 29)) is True  # day 20
    assert overdue(D(2025, 8, 30)) is None  # day 21
    got = item(f, D(2025, 8, 13), "postpartum_visit_due", policy)
    assert got is not None
    assert got.since == D(2025, 8, 13)


def test_other_policy_days_are_used() -> None:
    policy = worklists.Policy(
        POLICY.case_managed,
        POLICY.follow_up_days,
        POLICY.report_limit_hours,
        outcome_unknown_days=7,
        untreated_days=3,
        missing_tests_days=10,
    )
    # EDD 7 September + 7 = 14 September: listed from 15 September
    assert item(facts(), D(2025, 9, 14), "outcome_unknown", policy) is None
    got = item(facts(), D(2025, 9, 15), "outcome_unknown", policy)
    assert got is not None
    assert got.since == D(2025, 9, 15)
    # positive 1 March + 3 days = 4 March: listed from 5 March
    pos = facts(labs=HIV_POS_1_MARCH)
    assert item(pos, D(2025, 3, 4), "positive_untreated", policy) is None
    got = item(pos, D(2025, 3, 5), "positive_untreated", policy)
    assert got is not None
    assert got.since == D(2025, 3, 5)
    # booked 10 January + 10 days = 20 January: listed from 21 January
    assert item(facts(), D(2025, 1, 20), "missing_tests", policy) is None
    got = item(facts(), D(2025, 1, 21), "missing_tests", policy)
    assert got is not None
    assert got.since == D(2025, 1, 21)
    # the postpartum period (42 days by default) also bounds "positive untreated"
    short = worklists.Policy(POLICY.case_managed, {}, {}, postpartum_end_days=10)
    ended = facts(
        end_date=D(2025, 3, 1), labs=[("hiv_test", D(2025, 2, 1), "positive", "confirmatory")]
    )
    assert item(ended, D(2025, 3, 11), "positive_untreated", short) is not None  # day 10
    assert item(ended, D(2025, 3, 12), "positive_untreated", short) is None  # day 11


def test_purple_interval_applies_only_to_purple_women() -> None:
    # a district that follows purple women every 10 days and orange every 14
    policy = worklists.Policy(frozenset({"orange", "purple"}), {"orange": 14, "purple": 10}, {})
    orange = facts(risks=[(D(2025, 3, 1), "orange", False, None, 1)])
    assert item(orange, D(2025, 3, 11), "follow_up_due", policy) is None  # 10 days: not purple
    assert item(orange, D(2025, 3, 15), "follow_up_due", policy) is not None  # 14 days
    both = facts(risks=[(D(2025, 3, 1), "orange", True, None, 1)])
    assert item(both, D(2025, 3, 10), "follow_up_due", policy) is None  # 9 days
    got = item(both, D(2025, 3, 11), "follow_up_due", policy)  # 10 days: purple's interval
    assert got is not None
    assert got.since == D(2025, 3, 11)
    # a woman with neither colour case-managed is not listed, whatever the purple interval
    green = facts(risks=[(D(2025, 3, 1), "green", False, None, 1)])
    assert item(green, D(2025, 6, 1), "follow_up_due", policy) is None


def test_positive_untreated_starts_at_the_earlier_whichever_infection_it_is() -> None:
    f = facts(
        labs=[
            (
                "hiv_test",
                D(2025, 2, 1),
                "positive",
                "confirmatory",
            ),  # 1 Feb + 15 days = listed from 16 Feb
            *syphilis_positive(D(2025, 3, 1)),  # listed from 16 March
        ]
    )
    got = item(f, D(2025, 4, 1), "positive_untreated")
    assert got is not None
    assert got.since == D(2025, 2, 16)


# --- rule 11: follow_up_due after delivery, outcome_unknown, closed_out ----------------------

# Red graded 1 March, delivered 10 March (discharged 12 March): the stay is her last contact,
# so with red's 7 days she is due 19 March, overdue from 20 March; case management lasts to
# 42 days postpartum: 10 March + 42 days = 21 April (the last day she can be on the list).
DELIVERED = {
    "risks": list(RED_ON_1_MARCH),
    "end_date": D(2025, 3, 10),
    "delivery": D(2025, 3, 10),
    "discharge": D(2025, 3, 12),
}


@pytest.mark.parametrize(
    ("changes", "as_of", "expected"),
    [
        ({}, D(2025, 3, 18), None),  # 6 days after discharge
        ({}, D(2025, 3, 19), (D(2025, 3, 19), False)),  # 7 days: due
        ({}, D(2025, 3, 20), (D(2025, 3, 19), True)),  # 8 days: overdue
        ({}, D(2025, 4, 21), (D(2025, 3, 19), True)),  # day 42 postpartum: still listed
        ({}, D(2025, 4, 22), None),  # day 43: case management is over
        # a postpartum visit is a contact: visit 15 April, due again 22 April (past day 42)
        ({"postpartum_visits": [D(2025, 4, 15)]}, D(2025, 4, 21), None),
        # a recorded follow-up after delivery restarts the clock: 14 April -> due 21 April
        ({"follow_ups": [D(2025, 4, 14)]}, D(2025, 4, 20), None),
        ({"follow_ups": [D(2025, 4, 14)]}, D(2025, 4, 21), (D(2025, 4, 21), False)),
        # her death ends it on its day
        ({"death": D(2025, 3, 25)}, D(2025, 3, 24), (D(2025, 3, 19), True)),
        ({"death": D(2025, 3, 25)}, D(2025, 3, 25), None),
        # a loss (no delivery) ends it on its day, as before
        ({"delivery": None, "discharge": None}, D(2025, 3, 19), None),
        # green at the postnatal check: no longer case-managed from its day
        (
            {"risks": RED_ON_1_MARCH + [(D(2025, 3, 25), "green", False, None, 2)]},
            D(2025, 3, 25),
            None,
        ),
    ],
)
def test_follow_up_due_continues_until_42_days_postpartum(
    changes: dict[str, object], as_of: date, expected: tuple[date, bool] | None
) -> None:
    got = item(facts(**{**DELIVERED, **changes}), as_of, "follow_up_due")
    assert (None if got is None else (got.since, got.overdue)) == expected


def test_outcome_unknown_takes_her_off_follow_up_due() -> None:
    # EDD 7 September; red graded 1 September, no contact since. 15 September: 14 days after
    # the grading (due since 8 September) and EDD + 8, still before EDD + 14 -> follow_up_due.
    # 22 September = EDD + 15 > EDD + 14: she moves to outcome_unknown (since EDD + 15 = 22
    # September) and leaves follow_up_due.
    f = facts(risks=[(D(2025, 9, 1), "red", False, None, 1)])
    assert item(f, D(2025, 9, 21), "follow_up_due") is not None  # EDD + 14: not yet traced
    assert item(f, D(2025, 9, 21), "outcome_unknown") is None
    assert item(f, D(2025, 9, 22), "follow_up_due") is None
    traced = item(f, D(2025, 9, 22), "outcome_unknown")
    assert traced is not None
    assert traced.since == D(2025, 9, 22)


@pytest.mark.parametrize("code", ["transferred_out", "lost_to_follow_up", "moved_away"])
def test_closed_out_leaves_follow_up_due_and_is_listed(code: str) -> None:
    # red 1 March, due from 8 March; the reviewer closes her case on 10 March
    f = facts(risks=list(RED_ON_1_MARCH), close_code=code, closed_on=D(2025, 3, 10))
    assert item(f, D(2025, 3, 9), "follow_up_due") is not None  # before the closing
    assert item(f, D(2025, 3, 9), "closed_out") is None
    assert item(f, D(2025, 3, 10), "follow_up_due") is None
    listed = item(f, D(2025, 3, 10), "closed_out")
    assert listed is not None
    assert listed.since == D(2025, 3, 10)
    assert worklists.CLOSE_REASONS[code][0] in listed.reason


def test_closed_out_ends_42_days_after_the_pregnancy() -> None:
    # closed 10 March, delivered 1 May: listed up to 1 May + 42 = 12 June, gone on 13 June
    f = facts(
        risks=list(RED_ON_1_MARCH),
        close_code="moved_away",
        closed_on=D(2025, 3, 10),
        end_date=D(2025, 5, 1),
        delivery=D(2025, 5, 1),
    )
    assert item(f, D(2025, 6, 12), "closed_out") is not None
    assert item(f, D(2025, 6, 13), "closed_out") is None


def test_other_closings_are_not_closed_out() -> None:
    f = facts(risks=list(RED_ON_1_MARCH), close_code="other", closed_on=D(2025, 3, 10))
    assert item(f, D(2025, 3, 12), "closed_out") is None
    assert item(f, D(2025, 3, 12), "follow_up_due") is not None


# --- rule 7 (b): the register's verdicts --------------------------------------------------

SHANGHAI = timezone(timedelta(hours=8))


@pytest.mark.parametrize(
    ("colour", "received", "in_time"),
    [
        # orange graded 1 March: 72 hours + a day's grace from 1 March 00:00 = 5 March 00:00
        ("orange", datetime(2025, 3, 4, 23, 59, tzinfo=SHANGHAI), True),
        ("orange", datetime(2025, 3, 5, 0, 0, tzinfo=SHANGHAI), True),
        ("orange", datetime(2025, 3, 5, 0, 1, tzinfo=SHANGHAI), False),
        # red: 24 hours + a day = 3 March 00:00
        ("red", datetime(2025, 3, 3, 0, 0, tzinfo=SHANGHAI), True),
        ("red", datetime(2025, 3, 3, 0, 1, tzinfo=SHANGHAI), False),
        # receipt unknown: not in time
        ("red", None, False),
    ],
)
def test_case_opened_in_time_both_sides(
    colour: str, received: datetime | None, in_time: bool
) -> None:
    f = facts(risks=[(D(2025, 3, 1), colour, False, received, 1)])
    assert worklists.case_opened_in_time(f, POLICY) is in_time


@pytest.mark.parametrize(
    ("follow_ups", "closed_on", "followed"),
    [
        # orange 1 March, delivered 1 May: window to 1 May + 42 = 12 June; gaps of 14 days
        # at most. Follow-ups every 14 days from 15 March: 15/3, 29/3, 12/4, 26/4, 10/5, 24/5,
        # 7/6; the last gap 7 June -> 12 June = 5 days.
        ([D(2025, 3, 1) + timedelta(days=14 * k) for k in range(1, 8)], None, True),
        # the first one a day late (16 March: 15 days after 1 March)
        (
            [D(2025, 3, 16)] + [D(2025, 3, 1) + timedelta(days=14 * k) for k in range(2, 8)],
            None,
            False,
        ),
        # stopping after 24 May: 24 May -> 12 June = 19 days
        ([D(2025, 3, 1) + timedelta(days=14 * k) for k in range(1, 7)], None, False),
        # ... unless the case was closed on 7 June (24 May -> 7 June = 14 days)
        ([D(2025, 3, 1) + timedelta(days=14 * k) for k in range(1, 7)], D(2025, 6, 7), True),
        # no follow-up at all
        ([], None, False),
    ],
)
def test_case_followed_at_interval_both_sides(
    follow_ups: list[date], closed_on: date | None, followed: bool
) -> None:
    f = facts(
        risks=list(ORANGE_ON_1_MARCH),
        follow_ups=follow_ups,
        end_date=D(2025, 5, 1),
        delivery=D(2025, 5, 1),
    )
    assert worklists.case_followed_at_interval(f, POLICY, closed_on) is followed
