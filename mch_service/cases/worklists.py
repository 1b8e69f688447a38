"""The work lists of docs/indicator-rules.md, for one pregnancy at one day. Pure: facts in,
items out; the same function serves the stored lists, any ``as_of`` and the tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

SEVERITY = {"green": 0, "yellow": 1, "orange": 2, "red": 3}
LISTS = (
    "follow_up_due",
    "report_late",
    "outcome_unknown",
    "positive_untreated",
    "missing_tests",
    "postpartum_visit_due",
)


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
    labs: list[tuple[str, date, str | None]] = field(default_factory=list)
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


def items(f: PregnancyFacts, as_of: date, policy: Policy) -> list[Item]:
    out: list[Item] = []
    ended = f.end_date is not None and f.end_date <= as_of

    # follow-up due / overdue, by the colour's interval
    colour, purple = current_colour(f, as_of)
    intervals = []
    if colour in policy.case_managed:
        intervals.append(policy.follow_up_days.get(colour or "", 14))
    if purple and "purple" in policy.case_managed:
        intervals.append(policy.follow_up_days.get("purple", 14))
    first_cm = first_case_managed(f, policy, as_of)
    if not ended and intervals and first_cm is not None:
        interval = min(intervals)
        contacts = [d for d in f.visits + f.follow_ups + [r[0] for r in f.risks] if d <= as_of]
        last = max(contacts) if contacts else first_cm
        waited = (as_of - last).days
        if waited >= interval:
            out.append(
                Item(
                    "follow_up_due",
                    last + timedelta(days=interval),
                    waited > interval,
                    f"{'/'.join(c for c in (colour, 'purple' if purple else None) if c)}"
                    f": no contact for {waited} days (interval {interval} days)",
                    "a visit, an assessment or a recorded follow-up, or the pregnancy ending",
                )
            )

    # orange/red assessments reported late
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
            out.append(
                Item(
                    "report_late",
                    received.date(),
                    True,
                    f"{sev} assessment of {day} received {received.date()}, after the "
                    f"{limit}-hour limit",
                    "a reviewer acknowledges it",
                )
            )
            break

    # outcome unknown after EDD + 14 days
    if (
        not ended
        and f.edd is not None
        and as_of > f.edd + timedelta(days=policy.outcome_unknown_days)
    ):
        out.append(
            Item(
                "outcome_unknown",
                f.edd + timedelta(days=policy.outcome_unknown_days + 1),
                True,
                f"EDD {f.edd} passed {(as_of - f.edd).days} days ago with no "
                "delivery or other outcome",
                "an outcome arrives, or a reviewer records one",
            )
        )

    # positive without treatment
    long_ended = f.end_date is not None and (as_of - f.end_date).days > policy.postpartum_end_days
    reasons, since = [], None
    for test, treatment, name in (
        ("hiv_test", "antiretroviral", "HIV"),
        ("syphilis_test", "syphilis_treatment", "syphilis"),
    ):
        positives = sorted(d for c, d, r in f.labs if c == test and r == "positive" and d <= as_of)
        if not positives or long_ended:
            continue
        p = positives[0]
        treated = any(
            c == treatment and d <= as_of and (f.lmp is None or d >= f.lmp) for c, d in f.treatments
        )
        if not treated and (as_of - p).days > policy.untreated_days:
            reasons.append(f"{name} positive on {p}, no treatment recorded")
            start = p + timedelta(days=policy.untreated_days + 1)
            since = min(since, start) if since else start
    if reasons and since is not None:
        out.append(
            Item("positive_untreated", since, True, "; ".join(reasons), "a treatment record")
        )

    # essential tests missing
    if (
        not ended
        and f.first_contact is not None
        and (as_of - f.first_contact).days > (policy.missing_tests_days)
    ):
        present = {c for c, d, _r in f.labs if d <= as_of}
        missing = [
            n
            for c, n in (
                ("hiv_test", "HIV"),
                ("syphilis_test", "syphilis"),
                ("hbsag_test", "HBsAg"),
            )
            if c not in present
        ]
        if missing:
            out.append(
                Item(
                    "missing_tests",
                    f.first_contact + timedelta(days=policy.missing_tests_days + 1),
                    True,
                    f"booked {f.first_contact}; no {', '.join(missing)} result",
                    "all three results present",
                )
            )

    # postpartum visit due
    if f.discharge is not None and f.discharge <= as_of:
        since_discharge = (as_of - f.discharge).days
        visited = any(f.discharge <= d <= as_of for d in f.postpartum_visits)
        if not visited and policy.postpartum_due_days < since_discharge <= (
            policy.postpartum_end_days
        ):
            out.append(
                Item(
                    "postpartum_visit_due",
                    f.discharge + timedelta(days=policy.postpartum_due_days + 1),
                    since_discharge > policy.postpartum_overdue_days,
                    f"discharged {f.discharge}, no postpartum visit for {since_discharge} days",
                    "a postpartum visit",
                )
            )
    return out
