"""The work lists of docs/indicator-rules.md, for one pregnancy at one day. Pure: facts in,
items out; the same functions serve the stored lists, any ``as_of`` and the tests.

Each list is one function in ``LISTS`` (its key, the function that finds whether a pregnancy is
on it, and what takes her off it). Adding a list is one function and one entry here, plus the
labels and docs that ``tests/cases/test_worklist_registry.py`` asks for: see
docs/add-a-work-list.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

SEVERITY = {"green": 0, "yellow": 1, "orange": 2, "red": 3}


@dataclass(frozen=True)
class Policy:
    case_managed: frozenset[str]
    follow_up_days: dict[str, int]
    report_limit_hours: dict[str, int]
    outcome_unknown_days: int = 14
    untreated_days: int = 14
    missing_tests_days: int = 28
    postpartum_due_days: int = 7
    postpartum_overdue_days: int = 28
    postpartum_end_days: int = 42


@dataclass
class PregnancyFacts:
    pregnancy_id: str
    woman_key: str
    lmp: date | None
    edd: date | None
    end_date: date | None
    street: str | None
    institutions: str
    first_contact: date | None
    discharge: date | None = None
    visits: list[date] = field(default_factory=list)
    postpartum_visits: list[date] = field(default_factory=list)
    risks: list[tuple[date, str | None, bool, datetime | None, int]] = field(default_factory=list)
    # (assessed day, severity colour, purple, received at, resource pk)
    # (concept, test day, result, method: confirmatory | treponemal | non_treponemal | None)
    labs: list[tuple[str, date, str | None, str | None]] = field(default_factory=list)
    treatments: list[tuple[str, date]] = field(default_factory=list)
    follow_ups: list[date] = field(default_factory=list)
    acknowledged: set[int] = field(default_factory=set)  # risk resource pks acknowledged late


@dataclass(frozen=True)
class Item:
    list_name: str
    since: date
    overdue: bool
    reason: str
    clears: str


@dataclass(frozen=True)
class Finding:
    """A pregnancy is on a list: since when, whether overdue, and why (shown to reviewers)."""

    since: date
    overdue: bool
    reason: str


# A list's rule: the facts of one pregnancy at one day -> on the list (a Finding) or not (None).
Rule = Callable[[PregnancyFacts, date, Policy], Finding | None]


@dataclass(frozen=True)
class WorkList:
    rule: Rule
    clears: str  # what takes a pregnancy off the list, shown beside every item


def current_colour(f: PregnancyFacts, as_of: date) -> tuple[str | None, bool]:
    dated = sorted((r for r in f.risks if r[0] <= as_of), key=lambda r: (r[0], r[4]))
    severity = next((r[1] for r in reversed(dated) if r[1]), None)
    return severity, any(r[2] for r in dated)


def first_case_managed(f: PregnancyFacts, policy: Policy, as_of: date | None = None) -> date | None:
    days = [
        r[0]
        for r in f.risks
        if (as_of is None or r[0] <= as_of)
        and ((r[1] in policy.case_managed) or (r[2] and "purple" in policy.case_managed))
    ]
    return min(days) if days else None


def _ended(f: PregnancyFacts, as_of: date) -> bool:
    return f.end_date is not None and f.end_date <= as_of


def follow_up_due(f: PregnancyFacts, as_of: date, policy: Policy) -> Finding | None:
    """Follow-up due / overdue, by the current colour's interval (the shortest applies)."""
    colour, purple = current_colour(f, as_of)
    intervals = []
    if colour in policy.case_managed:
        intervals.append(policy.follow_up_days.get(colour or "", 14))
    if purple and "purple" in policy.case_managed:
        intervals.append(policy.follow_up_days.get("purple", 14))
    first_cm = first_case_managed(f, policy, as_of)
    if _ended(f, as_of) or not intervals or first_cm is None:
        return None
    interval = min(intervals)
    contacts = [d for d in f.visits + f.follow_ups + [r[0] for r in f.risks] if d <= as_of]
    last = max(contacts) if contacts else first_cm
    waited = (as_of - last).days
    if waited < interval:
        return None
    colours = "/".join(c for c in (colour, "purple" if purple else None) if c)
    return Finding(
        last + timedelta(days=interval),
        waited > interval,
        f"{colours}: no contact for {waited} days (interval {interval} days)",
    )


def report_late(f: PregnancyFacts, as_of: date, policy: Policy) -> Finding | None:
    """An orange or red assessment received later than its limit (the first one found)."""
    for day, sev, _purple, received, pk in f.risks:
        limit = policy.report_limit_hours.get(sev or "")
        if (
            limit is None
            or received is None
            or day > as_of
            or received.date() > as_of
            or pk in f.acknowledged
        ):
            continue  # (received after as_of: not yet known on that day)
        made = datetime(day.year, day.month, day.day, tzinfo=received.tzinfo)
        if received - made > timedelta(hours=limit + 24):  # a day's grace: the day has no time
            return Finding(
                received.date(),
                True,
                f"{sev} assessment of {day} received {received.date()}, after the "
                f"{limit}-hour limit",
            )
    return None


def outcome_unknown(f: PregnancyFacts, as_of: date, policy: Policy) -> Finding | None:
    """No outcome after EDD + 14 days."""
    if _ended(f, as_of) or f.edd is None:
        return None
    if as_of <= f.edd + timedelta(days=policy.outcome_unknown_days):
        return None
    return Finding(
        f.edd + timedelta(days=policy.outcome_unknown_days + 1),
        True,
        f"EDD {f.edd} passed {(as_of - f.edd).days} days ago with no delivery or other outcome",
    )


# (test concept, treatment concept, name shown) for positive_untreated
_TREATED_BY = (
    ("hiv_test", "antiretroviral", "HIV"),
    ("syphilis_test", "syphilis_treatment", "syphilis"),
)


def _first_confirmed(f: PregnancyFacts, test: str, as_of: date) -> date | None:
    """The first day this pregnancy's results confirm the infection (docs/indicator-rules.md,
    "Infected"), the same notion as the indicators: HIV a positive confirmatory result (a
    reactive screen alone is not an infection); syphilis the day both a treponemal and a
    non-treponemal positive are there."""
    positive = [(d, m) for c, d, r, m in f.labs if c == test and r == "positive" and d <= as_of]
    if test == "hiv_test":
        return min((d for d, m in positive if m == "confirmatory"), default=None)
    treponemal = [d for d, m in positive if m == "treponemal"]
    non_treponemal = [d for d, m in positive if m == "non_treponemal"]
    if not treponemal or not non_treponemal:
        return None
    return max(min(treponemal), min(non_treponemal))


def positive_untreated(f: PregnancyFacts, as_of: date, policy: Policy) -> Finding | None:
    """HIV- or syphilis-positive without a treatment dated in this pregnancy."""
    long_ended = f.end_date is not None and (as_of - f.end_date).days > policy.postpartum_end_days
    reasons: list[str] = []
    since: date | None = None
    for test, treatment, name in _TREATED_BY:
        first_positive = _first_confirmed(f, test, as_of)
        if first_positive is None or long_ended:
            continue
        treated = any(
            c == treatment and d <= as_of and (f.lmp is None or d >= f.lmp) for c, d in f.treatments
        )
        if not treated and (as_of - first_positive).days > policy.untreated_days:
            reasons.append(f"{name} positive on {first_positive}, no treatment recorded")
            start = first_positive + timedelta(days=policy.untreated_days + 1)
            since = min(since, start) if since else start
    if not reasons or since is None:
        return None
    return Finding(since, True, "; ".join(reasons))


# (lab concept, name shown) of the essential tests
_ESSENTIAL_TESTS = (("hiv_test", "HIV"), ("syphilis_test", "syphilis"), ("hbsag_test", "HBsAg"))


def missing_tests(f: PregnancyFacts, as_of: date, policy: Policy) -> Finding | None:
    """Essential tests missing more than 28 days after the first contact."""
    if _ended(f, as_of) or f.first_contact is None:
        return None
    if (as_of - f.first_contact).days <= policy.missing_tests_days:
        return None
    present = {c for c, d, _r, _m in f.labs if d <= as_of}
    missing = [name for concept, name in _ESSENTIAL_TESTS if concept not in present]
    if not missing:
        return None
    return Finding(
        f.first_contact + timedelta(days=policy.missing_tests_days + 1),
        True,
        f"booked {f.first_contact}; no {', '.join(missing)} result",
    )


def postpartum_visit_due(f: PregnancyFacts, as_of: date, policy: Policy) -> Finding | None:
    """Discharged, no postpartum visit since, 7 < days since discharge <= 42."""
    if f.discharge is None or f.discharge > as_of:
        return None
    since_discharge = (as_of - f.discharge).days
    visited = any(f.discharge <= d <= as_of for d in f.postpartum_visits)
    if visited or not (policy.postpartum_due_days < since_discharge <= policy.postpartum_end_days):
        return None
    return Finding(
        f.discharge + timedelta(days=policy.postpartum_due_days + 1),
        since_discharge > policy.postpartum_overdue_days,
        f"discharged {f.discharge}, no postpartum visit for {since_discharge} days",
    )


# Every work list, in the order items are listed. The key is the list's name in the API, the
# database (work_item.list_name), the labels (web/i18n.py "list_<key>") and the docs.
LISTS: dict[str, WorkList] = {
    "follow_up_due": WorkList(
        follow_up_due,
        "a visit, an assessment or a recorded follow-up, or the pregnancy ending",
    ),
    "report_late": WorkList(report_late, "a reviewer acknowledges it"),
    "outcome_unknown": WorkList(outcome_unknown, "an outcome arrives, or a reviewer records one"),
    "positive_untreated": WorkList(positive_untreated, "a treatment record"),
    "missing_tests": WorkList(missing_tests, "all three results present"),
    "postpartum_visit_due": WorkList(postpartum_visit_due, "a postpartum visit"),
}


def items(f: PregnancyFacts, as_of: date, policy: Policy) -> list[Item]:
    """The lists this pregnancy is on at ``as_of``, in the order of ``LISTS``."""
    out = []
    for name, work_list in LISTS.items():
        found = work_list.rule(f, as_of, policy)
        if found is not None:
            out.append(Item(name, found.since, found.overdue, found.reason, work_list.clears))
    return out
