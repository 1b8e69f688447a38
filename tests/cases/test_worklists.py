"""Each work list's entry and exit rules at chosen days (docs/indicator-rules.md), on
hand-built facts."""

from __future__ import annotations

from datetime import UTC, date, datetime

from mch_service.cases import worklists

POLICY = worklists.Policy(
    frozenset({"orange", "red", "purple"}),
    {"red": 7, "orange": 14, "purple": 14},
    {"orange": 72, "red": 24},
)
D = date


def syphilis_positive(day: date) -> list[tuple[str, date, str | None, str | None]]:
    """A confirmed syphilis infection: a treponemal and a non-treponemal test both positive."""
    return [
        ("syphilis_test", day, "positive", "treponemal"),
        ("syphilis_test", day, "positive", "non_treponemal"),
    ]


def facts(**kw: object) -> worklists.PregnancyFacts:
    base = worklists.PregnancyFacts(
        "P1", "w", D(2024, 12, 1), D(2025, 9, 7), None, "s", "h", D(2025, 1, 10)
    )
    for k, v in kw.items():
        setattr(base, k, v)
    return base


def lists(f: worklists.PregnancyFacts, day: date) -> dict[str, worklists.Item]:
    return {i.list_name: i for i in worklists.items(f, day, POLICY)}


def test_follow_up_due_by_colour_interval() -> None:
    f = facts(
        risks=[(D(2025, 3, 1), "red", False, None, 1)],
        visits=[D(2025, 3, 1)],
        labs=[
            ("hiv_test", D(2025, 1, 10), "negative", None),
            ("syphilis_test", D(2025, 1, 10), "negative", None),
            ("hbsag_test", D(2025, 1, 10), "negative", None),
        ],
    )
    assert "follow_up_due" not in lists(f, D(2025, 3, 7))  # 6 days
    due = lists(f, D(2025, 3, 8))["follow_up_due"]  # 7 days: due, not yet overdue
    assert (due.since, due.overdue) == (D(2025, 3, 8), False)
    assert lists(f, D(2025, 3, 10))["follow_up_due"].overdue
    f.follow_ups.append(D(2025, 3, 9))
    assert "follow_up_due" not in lists(f, D(2025, 3, 10))
    # an orange grade waits 14 days; green is not case-managed
    f2 = facts(risks=[(D(2025, 3, 1), "orange", False, None, 1)])
    assert "follow_up_due" not in lists(f2, D(2025, 3, 14))
    assert "follow_up_due" in lists(f2, D(2025, 3, 15))
    f3 = facts(risks=[(D(2025, 3, 1), "green", False, None, 1)])
    assert "follow_up_due" not in lists(f3, D(2025, 6, 1))
    # the pregnancy ending takes her off the list
    f.end_date = D(2025, 3, 9)
    f.follow_ups.clear()
    assert "follow_up_due" not in lists(f, D(2025, 3, 20))


def test_purple_uses_the_shortest_interval_of_her_colours() -> None:
    f = facts(risks=[(D(2025, 3, 1), "red", True, None, 1)])
    assert lists(f, D(2025, 3, 8))["follow_up_due"].since == D(2025, 3, 8)  # red's 7 days


def test_outcome_unknown_after_edd_plus_14() -> None:
    f = facts()  # EDD 2025-09-07
    assert "outcome_unknown" not in lists(f, D(2025, 9, 21))
    item = lists(f, D(2025, 9, 22))["outcome_unknown"]
    assert item.since == D(2025, 9, 22)
    f.end_date = D(2025, 9, 20)
    assert "outcome_unknown" not in lists(f, D(2025, 9, 22))


def test_positive_without_treatment() -> None:
    f = facts(labs=[("hiv_test", D(2025, 3, 1), "positive", "confirmatory")])
    assert "positive_untreated" not in lists(f, D(2025, 3, 15))  # 14 days
    item = lists(f, D(2025, 3, 16))["positive_untreated"]
    assert item.since == D(2025, 3, 16)
    assert "HIV" in item.reason
    f.treatments.append(("antiretroviral", D(2025, 3, 10)))
    assert "positive_untreated" not in lists(f, D(2025, 3, 16))
    # a syphilis treatment does not treat HIV
    g = facts(
        labs=[("hiv_test", D(2025, 3, 1), "positive", "confirmatory")],
        treatments=[("syphilis_treatment", D(2025, 3, 2))],
    )
    assert "positive_untreated" in lists(g, D(2025, 4, 1))


def test_missing_essential_tests() -> None:
    f = facts(labs=[("hiv_test", D(2025, 1, 10), "negative", None)])  # booked 2025-01-10
    assert "missing_tests" not in lists(f, D(2025, 2, 7))  # 28 days
    item = lists(f, D(2025, 2, 8))["missing_tests"]
    assert item.since == D(2025, 2, 8)
    assert "syphilis" in item.reason
    assert "HIV" not in item.reason
    f.labs += [
        ("syphilis_test", D(2025, 2, 1), None, None),
        ("hbsag_test", D(2025, 2, 1), "negative", None),
    ]
    assert "missing_tests" not in lists(f, D(2025, 2, 8))


def test_postpartum_visit_due_and_overdue() -> None:
    f = facts(end_date=D(2025, 8, 6), discharge=D(2025, 8, 9))
    assert "postpartum_visit_due" not in lists(f, D(2025, 8, 16))  # 7 days
    item = lists(f, D(2025, 8, 17))["postpartum_visit_due"]
    assert (item.since, item.overdue) == (D(2025, 8, 17), False)
    assert lists(f, D(2025, 9, 7))["postpartum_visit_due"].overdue  # 29 days
    assert "postpartum_visit_due" not in lists(f, D(2025, 9, 21))  # past 42 days
    f.postpartum_visits.append(D(2025, 8, 20))
    assert "postpartum_visit_due" not in lists(f, D(2025, 8, 25))


def test_report_late_until_acknowledged() -> None:
    late = datetime(2025, 3, 10, 9, tzinfo=UTC)
    f = facts(risks=[(D(2025, 3, 1), "red", False, late, 42)])
    assert "report_late" in lists(f, D(2025, 3, 12))
    on_time = facts(risks=[(D(2025, 3, 1), "red", False, datetime(2025, 3, 1, 20, tzinfo=UTC), 42)])
    assert "report_late" not in lists(on_time, D(2025, 3, 12))
    f.acknowledged.add(42)
    assert "report_late" not in lists(f, D(2025, 3, 12))
