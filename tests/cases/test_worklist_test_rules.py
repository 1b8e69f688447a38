"""The test rules of the work lists (docs/reviewers-guide.md, "positive_untreated" and
"missing_tests"; docs/indicator-rules.md, "Infected"): which results confirm an infection, when
a recorded outcome takes her off ``missing_tests``, and the Chinese reasons of both lists.
Every expected value is written out by hand from the rule in the docs, one row per case with
its reason."""

from __future__ import annotations

from datetime import date

import pytest

from mch_service.cases import worklists
from tests.cases.test_worklist_edges import (
    facts,  # LMP 2024-12-01, EDD 2025-09-07, booked 2025-01-10
    item,
    syphilis_positive,
)

D = date

Lab = tuple[str, date, str | None, str | None]

# Tested on 1 February; untreated 14 days are allowed, so 1 April is well past them.
FEB_1 = D(2025, 2, 1)
AS_OF = D(2025, 4, 1)

# (labs, listed on positive_untreated on 1 April with no treatment, reason)
CONFIRMED_ROWS: list[tuple[list[Lab], bool, str]] = [
    (
        syphilis_positive(FEB_1),
        True,
        "a treponemal and a non-treponemal positive: syphilis confirmed on 1 February, "
        "untreated for 59 days",
    ),
    (
        [("syphilis_test", FEB_1, "positive", "non_treponemal")],
        False,
        "a non-treponemal positive (RPR/TRUST) alone is no confirmed syphilis: it can be a "
        "biological false positive until a treponemal test confirms it",
    ),
    (
        [("syphilis_test", FEB_1, "positive", "treponemal")],
        False,
        "a treponemal positive alone is no confirmed syphilis either: it stays positive after "
        "a past, treated infection",
    ),
    (
        [
            ("syphilis_test", FEB_1, "positive", "non_treponemal"),
            ("syphilis_test", D(2025, 2, 5), "positive", "non_treponemal"),
        ],
        False,
        "two non-treponemal positives still are no treponemal one: not confirmed",
    ),
]


@pytest.mark.parametrize(
    ("labs", "listed", "reason"), CONFIRMED_ROWS, ids=[r[2][:40] for r in CONFIRMED_ROWS]
)
def test_syphilis_is_confirmed_by_both_kinds_of_test(
    labs: list[Lab], listed: bool, reason: str
) -> None:
    got = item(facts(labs=labs), AS_OF, "positive_untreated")
    assert (got is not None) is listed, reason


# (labs, expected reason_zh on 1 April, reason)
UNTREATED_ZH_ROWS: list[tuple[list[Lab], str, str]] = [
    (
        [("hiv_test", FEB_1, "positive", "confirmatory")],
        "艾滋病阳性（2025-02-01），无治疗记录",
        "HIV confirmed on 1 February, no antiretroviral: the reviewer reads which infection "
        "and since when, in Chinese",
    ),
    (
        syphilis_positive(D(2025, 2, 20)),
        "梅毒阳性（2025-02-20），无治疗记录",
        "syphilis confirmed on 20 February, no treatment",
    ),
    (
        [("hiv_test", FEB_1, "positive", "confirmatory"), *syphilis_positive(D(2025, 2, 20))],
        "艾滋病阳性（2025-02-01），无治疗记录；梅毒阳性（2025-02-20），无治疗记录",
        "both untreated: both named, HIV first, joined by a Chinese semicolon",
    ),
]


@pytest.mark.parametrize(
    ("labs", "expected", "reason"), UNTREATED_ZH_ROWS, ids=[r[2][:40] for r in UNTREATED_ZH_ROWS]
)
def test_positive_untreated_reason_in_chinese(labs: list[Lab], expected: str, reason: str) -> None:
    got = item(facts(labs=labs), AS_OF, "positive_untreated")
    assert got is not None, reason
    assert got.reason_zh == expected, reason


# (labs on file, expected reason_zh on 8 February, reason); booked 10 January, 28 days to test
MISSING_ZH_ROWS: list[tuple[list[Lab], str, str]] = [
    (
        [],
        "2025-01-10建册，缺艾滋病、梅毒、乙肝表面抗原检测结果",
        "no result at all 29 days after booking: all three named, in the list's order, "
        "joined by the Chinese enumeration comma",
    ),
    (
        [("hiv_test", D(2025, 1, 10), "negative", None)],
        "2025-01-10建册，缺梅毒、乙肝表面抗原检测结果",
        "HIV tested at booking: syphilis and HBsAg still missing",
    ),
    (
        [
            ("hiv_test", D(2025, 1, 10), "negative", None),
            ("syphilis_test", D(2025, 1, 10), "negative", None),
        ],
        "2025-01-10建册，缺乙肝表面抗原检测结果",
        "only HBsAg missing",
    ),
]


@pytest.mark.parametrize(
    ("labs", "expected", "reason"), MISSING_ZH_ROWS, ids=[r[2][:40] for r in MISSING_ZH_ROWS]
)
def test_missing_tests_reason_in_chinese(labs: list[Lab], expected: str, reason: str) -> None:
    got = item(facts(labs=labs), D(2025, 2, 8), "missing_tests")
    assert got is not None, reason
    assert got.reason_zh == expected, reason


# A reviewer recorded an outcome on 1 March, undated (she did not know the day) or dated.
RECORDED = D(2025, 3, 1)

# (kind, day, as_of, listed on missing_tests with no results, reason)
RECORDED_ROWS: list[tuple[str, date | None, date, bool, str]] = [
    (
        "miscarriage",
        None,
        D(2025, 3, 10),
        False,
        "a miscarriage recorded on 1 March without its day: her outcome is known, so her "
        "outcome, not her tests, is what matters (nothing has ended in the facts)",
    ),
    (
        "moved_out",
        RECORDED,
        D(2025, 3, 10),
        False,
        "moved out of the district on 1 March (no closing on file): her outcome was recorded, "
        "off missing_tests from that day",
    ),
    (
        "moved_out",
        D(2025, 3, 20),
        D(2025, 3, 10),
        True,
        "a move dated 20 March is not known on 10 March: still on missing_tests",
    ),
    (
        "lost_to_follow_up",
        D(2025, 3, 10),
        D(2025, 3, 10),
        False,
        "lost to follow-up dated on the day itself: recorded by then, off the list",
    ),
]


@pytest.mark.parametrize(
    ("kind", "day", "as_of", "listed", "reason"),
    RECORDED_ROWS,
    ids=[r[4][:40] for r in RECORDED_ROWS],
)
def test_a_recorded_outcome_takes_her_off_missing_tests(
    kind: str, day: date | None, as_of: date, listed: bool, reason: str
) -> None:
    f = facts()
    worklists.apply_recorded_outcome(f, kind, day)
    if day is None:
        f.outcome_recorded = RECORDED
    got = item(f, as_of, "missing_tests")
    assert (got is not None) is listed, reason
