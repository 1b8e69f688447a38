"""``next_due``: the day a case-managed woman is next due for contact (docs/reviewers-guide.md,
``last_contact``/``next_due``): the last contact + her colour's interval (red 7, orange 14,
purple 14 days); a date a reviewer set with her latest follow-up replaces it when earlier, or
when her colour has none; a later contact than that follow-up drops the reviewer's date. One row
per rule with the clinical reason; expected days counted by hand from the row's dates."""

from __future__ import annotations

from datetime import date

import pytest

from mch_service.cases import worklists
from tests.cases.test_worklist_edges import (
    POLICY,  # the defaults: MCH_CASE_MANAGED_COLOURS, _FOLLOW_UP_DAYS, _REPORT_LIMIT_HOURS
    facts,  # LMP 2024-12-01, EDD 2025-09-07, booked 2025-01-10
)

D = date


def risk(day: date, colour: str) -> tuple[date, str, bool, None, int]:
    return (day, colour, False, None, 1)


AS_OF = D(2025, 3, 5)

ROWS = [
    pytest.param(
        facts(risks=[risk(D(2025, 3, 1), "red")]),
        D(2025, 3, 8),
        id="red: next contact 7 days after the last contact (the assessment 03-01 + 7 = 03-08)",
    ),
    pytest.param(
        facts(risks=[risk(D(2025, 3, 1), "red")], visits=[D(2025, 3, 4)]),
        D(2025, 3, 11),
        id="red: a visit 03-04 after the assessment is the last contact; 03-04 + 7 = 03-11",
    ),
    pytest.param(
        facts(
            risks=[risk(D(2025, 3, 1), "orange")],
            follow_ups=[D(2025, 3, 3)],
            next_due_set=D(2025, 3, 6),
        ),
        D(2025, 3, 6),
        id="orange: follow-up 03-03 is the last contact (03-03 + 14 = 03-17); the reviewer's "
        "earlier 03-06 set with that same follow-up wins",
    ),
    pytest.param(
        facts(
            risks=[risk(D(2025, 3, 1), "orange")],
            follow_ups=[D(2025, 3, 3)],
            next_due_set=D(2025, 3, 31),
        ),
        D(2025, 3, 17),
        id="orange: a reviewer date 03-31 later than the interval day 03-03 + 14 = 03-17 loses",
    ),
    pytest.param(
        facts(
            risks=[risk(D(2025, 3, 1), "red")],
            follow_ups=[D(2025, 3, 2)],
            next_due_set=D(2025, 3, 4),
            visits=[D(2025, 3, 3)],
        ),
        D(2025, 3, 10),
        id="red: a visit 03-03 after the follow-up 03-02 that set 03-04 replaces the reviewer's "
        "date; 03-03 + 7 = 03-10",
    ),
    pytest.param(
        facts(
            risks=[risk(D(2025, 3, 1), "yellow")],
            follow_ups=[D(2025, 3, 2)],
            next_due_set=D(2025, 3, 20),
        ),
        D(2025, 3, 20),
        id="yellow is not case-managed (no interval): the reviewer's date 03-20 stands alone",
    ),
    pytest.param(
        facts(risks=[risk(D(2025, 3, 1), "yellow")]),
        None,
        id="yellow without a reviewer date: not due for case-management contact",
    ),
    pytest.param(
        facts(risks=[risk(D(2025, 3, 1), "red")], end_date=D(2025, 3, 3)),
        None,
        id="red, pregnancy ended 03-03 without a delivery (miscarriage): no longer due",
    ),
    pytest.param(
        facts(
            risks=[risk(D(2025, 3, 1), "red")],
            delivery=D(2025, 3, 3),
            end_date=D(2025, 3, 3),
            discharge=D(2025, 3, 4),
        ),
        D(2025, 3, 11),
        id="red, delivered 03-03 and within 42 days postpartum: discharge 03-04 + 7 = 03-11",
    ),
    pytest.param(
        facts(
            risks=[risk(D(2025, 3, 1), "red")],
            close_code="transferred_out",
            closed_on=D(2025, 3, 2),
        ),
        None,
        id="red, case closed as transferred out on 03-02: not due",
    ),
    pytest.param(
        facts(
            risks=[risk(D(2025, 3, 1), "red")],
            close_code="transferred_out",
            closed_on=D(2025, 3, 10),
        ),
        D(2025, 3, 8),
        id="red, transfer-out closing dated 03-10 is after as_of 03-05: still due 03-01 + 7",
    ),
]


@pytest.mark.parametrize(("f", "expected"), ROWS)
def test_next_due(f: worklists.PregnancyFacts, expected: date | None) -> None:
    got = worklists.next_due(f, AS_OF, POLICY)
    assert got == expected
    assert type(got) is type(expected)
