"""The closed_out and postpartum_visit_due lists and the items built from them
(docs/indicator-rules.md, "Work lists"; docs/reviewers-guide.md, the lists' table). closed_out:
"a reviewer closed her case as transferred out (转出), lost to follow-up (失访) or moved away
(迁出), on or before as_of ... since: the closing day"; it asks nothing of the reviewer, so it is
never overdue. postpartum_visit_due: "7 < as_of - discharge <= 42 (overdue after 28)". Every
item carries its reason and what clears it in Chinese and in English (reason_zh / reason,
clears_zh / clears). Every expected value is worked out by hand from the row (the reason in its
comment), never by the code under test."""

from __future__ import annotations

from datetime import date

import pytest

from mch_service.cases import worklists
from tests.cases.test_worklist_edges import (
    POLICY,  # the defaults: MCH_CASE_MANAGED_COLOURS, _FOLLOW_UP_DAYS, _REPORT_LIMIT_HOURS
    facts,  # LMP 2024-12-01, EDD 2025-09-07, booked 2025-01-10
)

D = date


# --- closed_out: since the closing day, never overdue, the close reason in both languages -----


@pytest.mark.parametrize(
    ("code", "closed_on", "as_of", "zh", "en"),
    [
        # transferred out on 1 March, listed on 20 March: since the closing day, not as_of
        ("transferred_out", D(2025, 3, 1), D(2025, 3, 20), "转出", "transferred out"),
        # lost to follow-up on 5 April, looked at a month later: still since 5 April
        ("lost_to_follow_up", D(2025, 4, 5), D(2025, 5, 5), "失访", "lost to follow-up"),
        # moved away, listed on the closing day itself
        ("moved_away", D(2025, 6, 2), D(2025, 6, 2), "迁出", "moved away"),
    ],
)
def test_closed_out_is_listed_from_the_closing_day_never_overdue(
    code: str, closed_on: date, as_of: date, zh: str, en: str
) -> None:
    found = worklists.closed_out_list(facts(close_code=code, closed_on=closed_on), as_of, POLICY)
    assert found is not None
    assert found.since == closed_on  # "since: the closing day"
    assert found.overdue is False  # nothing is asked of the reviewer: never overdue
    # why, in English and in Chinese: the close reason and its day in each
    assert en in found.reason
    assert str(closed_on) in found.reason
    assert zh in found.reason_zh
    assert str(closed_on) in found.reason_zh
    assert en not in found.reason_zh  # the Chinese text is not the English one


# --- postpartum_visit_due: the reason in Chinese as well -------------------------------------


@pytest.mark.parametrize(
    ("discharge", "as_of", "days", "overdue"),
    [
        # discharged 1 June, 10 days on without a postpartum visit: due, not yet overdue
        (D(2025, 6, 1), D(2025, 6, 11), 10, False),
        # discharged 1 June, 30 days on: overdue (after 28)
        (D(2025, 6, 1), D(2025, 7, 1), 30, True),
    ],
)
def test_postpartum_visit_due_gives_its_reason_in_chinese(
    discharge: date, as_of: date, days: int, overdue: bool
) -> None:
    f = facts(delivery=discharge, discharge=discharge, end_date=discharge)
    found = worklists.postpartum_visit_due(f, as_of, POLICY)
    assert found is not None
    assert found.since == D(2025, 6, 9)  # discharge + 8
    assert found.overdue is overdue
    # the Chinese reason names the discharge day and the days without a visit
    assert str(discharge) in found.reason_zh
    assert f"{days}天" in found.reason_zh
    assert "产后访视" in found.reason_zh  # postpartum visit


# --- items: each list's texts reach the item in their own fields ------------------------------


def test_an_item_carries_its_reason_and_what_clears_it_in_both_languages() -> None:
    # discharged 1 June, no postpartum visit by 11 June (10 days): on postpartum_visit_due
    f = facts(delivery=D(2025, 6, 1), discharge=D(2025, 6, 1), end_date=D(2025, 6, 1))
    [found] = list(worklists.items(f, D(2025, 6, 11), POLICY))
    assert found.list_name == "postpartum_visit_due"
    assert found.clears == "a postpartum visit"
    # cleared by a postpartum visit (一次产后访视), in Chinese too
    assert found.clears_zh != ""
    assert "产后访视" in found.clears_zh
    # the reason in Chinese is the reason (the discharge day), not what clears it
    assert "2025-06-01" in found.reason_zh
    assert found.reason_zh != found.clears_zh
