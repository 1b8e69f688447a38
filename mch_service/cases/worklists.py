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
# The five colours of the grading (《孕产妇妊娠风险评估与管理工作规范》2017), as the lists'
# colour filter takes them, most urgent first: purple is a flag beside a severity colour.
COLOURS: tuple[str, ...] = ("red", "orange", "yellow", "green", "purple")

# Why a case was closed (rule 11, issue 16): code -> (Chinese label, English label). 转出, 失访
# and 迁出 take the woman off follow_up_due and report her as such (the closed_out list, the
# count per reason); 产后42天结案 is the register's own closing at 42 days postpartum; a
# reviewer closes with any of the others (其他 with a text).
CLOSE_REASONS: dict[str, tuple[str, str]] = {
    "transferred_out": ("转出", "transferred out"),
    "lost_to_follow_up": ("失访", "lost to follow-up"),
    "moved_away": ("迁出", "moved away"),
    "postpartum_complete": ("产后42天结案", "postpartum period complete"),
    "delivered": ("分娩结案", "closed after delivery"),
    "died": ("死亡", "died"),
    "other": ("其他", "other"),
}
CLOSED_OUT = frozenset({"transferred_out", "lost_to_follow_up", "moved_away"})
# A reviewer's closings that say what became of her: off outcome_unknown from the closing day.
OUTCOME_CLOSINGS = CLOSED_OUT | {"delivered", "died"}

# How a reviewer reached her (a recorded follow-up): code -> (Chinese, English).
FOLLOW_UP_KINDS: dict[str, tuple[str, str]] = {
    "phone": ("电话随访", "phone call"),
    "home_visit": ("入户随访", "home visit"),
    "clinic_visit": ("门诊随访", "clinic visit"),
    "referral": ("转诊", "referral"),
}
# What came of a follow-up (its ``outcome``): code -> (Chinese, English). Free text sent as the
# outcome is kept (sealed) and shown as 其他 other.
FOLLOW_UP_OUTCOMES: dict[str, tuple[str, str]] = {
    "reached": ("已联系，情况正常", "reached, all well"),
    "reached_needs_care": ("已联系，需就诊", "reached, needs care"),
    "booked": ("已预约检查", "appointment booked"),
    "referred": ("已转诊", "referred"),
    "not_reached": ("未联系上", "not reached"),
    "refused": ("拒绝随访", "refused"),
    "other": ("其他", "other"),
}
# A pregnancy's outcome recorded by a reviewer (POST /cases/{id}/outcome): code -> (Chinese,
# English, needs a date, needs a place).
OUTCOME_KINDS: dict[str, tuple[str, str, bool, bool]] = {
    "delivered_elsewhere": ("外地/院外分娩", "delivered elsewhere", True, True),
    "miscarriage": ("流产", "miscarriage", True, False),
    "termination": ("引产/人工终止妊娠", "termination", True, False),
    "moved_out": ("迁出本区", "moved out of the district", False, False),
    "lost_to_follow_up": ("失访", "lost to follow-up", False, False),
    "died": ("死亡", "died", True, False),
}
# Who told the reviewer: code -> (Chinese, English).
OUTCOME_SOURCES: dict[str, tuple[str, str]] = {
    "woman": ("本人", "the woman herself"),
    "family": ("家属", "her family"),
    "institution": ("医疗机构", "a hospital or clinic"),
    "community": ("社区/村居", "the community or village"),
    "other": ("其他", "other"),
}
# The case closing a recorded outcome brings (None: the case stays open; the register closes
# it 42 days after the end of the pregnancy).
OUTCOME_CLOSES: dict[str, str | None] = {
    "delivered_elsewhere": None,
    "miscarriage": None,
    "termination": None,
    "moved_out": "moved_away",
    "lost_to_follow_up": "lost_to_follow_up",
    "died": "died",
}
# Urgency (the default order of a list): purple and red first, then orange, yellow, the rest.
URGENCY = {"red": 0, "orange": 1, "yellow": 2, "green": 3}


def urgency(colour: str | None, purple: bool) -> int:
    return 0 if purple else URGENCY.get(colour or "", 3)


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
    # Assessments made before this day are never late reports (MCH_CASE_REPORT_LATE_FROM: the
    # day live sending began; a backfill delivers older ones late by nature). None: all count.
    report_late_from: date | None = None


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
    delivery: date | None = None  # the delivery day (None: no delivery)
    death: date | None = None  # the woman's death day
    # The case closed by a reviewer: the close reason's code (CLOSE_REASONS) and day.
    close_code: str | None = None
    closed_on: date | None = None
    # The outcome a reviewer recorded (OUTCOME_KINDS) and its day (None: the day it was
    # recorded is in ``outcome_recorded``).
    outcome_kind: str | None = None
    outcome_date: date | None = None
    outcome_recorded: date | None = None
    # The assessments' recorded basis (risk factors), per assessed day: (day, colour, basis)
    risk_basis: list[tuple[date, str | None, bool, str]] = field(default_factory=list)
    next_due_set: date | None = None  # a next due date a reviewer set with the last follow-up


@dataclass(frozen=True)
class Item:
    list_name: str
    since: date
    overdue: bool
    reason: str
    clears: str
    reason_zh: str = ""
    clears_zh: str = ""


@dataclass(frozen=True)
class Finding:
    """A pregnancy is on a list: since when, whether overdue, and why (shown to reviewers)."""

    since: date
    overdue: bool
    reason: str
    reason_zh: str = ""


# A list's rule: the facts of one pregnancy at one day -> on the list (a Finding) or not (None).
Rule = Callable[[PregnancyFacts, date, Policy], Finding | None]


@dataclass(frozen=True)
class WorkList:
    rule: Rule
    clears: str  # what takes a pregnancy off the list, shown beside every item
    clears_zh: str = ""  # the same in Chinese


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


def _postpartum(f: PregnancyFacts, as_of: date, policy: Policy) -> bool:
    """Delivered (the delivery ended the pregnancy), alive, and at most 42 days after."""
    return (
        f.delivery is not None
        and f.end_date == f.delivery
        and f.delivery <= as_of
        and (as_of - f.delivery).days <= policy.postpartum_end_days
        and not (f.death is not None and f.death <= as_of)
    )


def closed_out(f: PregnancyFacts, as_of: date) -> bool:
    """A reviewer closed her case as transferred out, lost to follow-up or moved away."""
    return f.close_code in CLOSED_OUT and (f.closed_on is None or f.closed_on <= as_of)


def follow_up_due(f: PregnancyFacts, as_of: date, policy: Policy) -> Finding | None:
    """Follow-up due / overdue, by the current colour's interval (the shortest applies): in
    pregnancy and, after a delivery, until 42 days postpartum (rule 11). Not while she is on
    outcome_unknown, nor once her case was closed as transferred out / lost / moved away."""
    colour, purple = current_colour(f, as_of)
    intervals = []
    if colour in policy.case_managed:
        intervals.append(policy.follow_up_days.get(colour or "", 14))
    if purple and "purple" in policy.case_managed:
        intervals.append(policy.follow_up_days.get("purple", 14))
    first_cm = first_case_managed(f, policy, as_of)
    if not intervals or first_cm is None or closed_out(f, as_of):
        return None
    if _ended(f, as_of) and not _postpartum(f, as_of, policy):
        return None
    if outcome_unknown(f, as_of, policy) is not None or outcome_recorded(f, as_of):
        return None
    if closed_out(f, as_of):
        return None
    interval = min(intervals)
    # contacts: visits (prenatal, postpartum), assessments, recorded follow-ups, and the
    # delivery stay (its discharge day)
    stay = [f.discharge or f.delivery] if f.delivery is not None else []
    contacts = [
        d
        for d in f.visits + f.postpartum_visits + f.follow_ups + [r[0] for r in f.risks] + stay
        if d is not None and d <= as_of
    ]
    last = max(contacts) if contacts else first_cm
    waited = (as_of - last).days
    if waited < interval:
        return None
    colours = "/".join(c for c in (colour, "purple" if purple else None) if c)
    return Finding(
        last + timedelta(days=interval),
        waited > interval,
        f"{colours}: no contact for {waited} days (interval {interval} days)",
        f"{_colours_zh(colour, purple)}：{waited}天未联系（随访间隔{interval}天）",
    )


def report_late(f: PregnancyFacts, as_of: date, policy: Policy) -> Finding | None:
    """An orange or red assessment received later than its limit + a day's grace; since the
    day the first of them (by receipt) was received."""
    late = []
    for day, sev, _purple, received, pk in f.risks:
        limit = policy.report_limit_hours.get(sev or "")
        if (
            limit is None
            or received is None
            or day > as_of
            or received.date() > as_of
            or pk in f.acknowledged
            or (policy.report_late_from is not None and day < policy.report_late_from)
        ):
            continue  # (received after as_of: not yet known on that day)
        made = datetime(day.year, day.month, day.day, tzinfo=received.tzinfo)
        if received - made > timedelta(hours=limit + 24):  # a day's grace: the day has no time
            late.append((received, pk, day, sev or "", limit))
    if not late:
        return None
    received, _pk, day, sev, limit = min(late)
    return Finding(
        received.date(),
        True,
        f"{sev} assessment of {day} received {received.date()}, after the {limit}-hour limit",
        f"{_COLOUR_ZH.get(sev, sev)}评估（{day}）于{received.date()}收到，超过{limit}小时报告时限",
    )


def outcome_unknown(f: PregnancyFacts, as_of: date, policy: Policy) -> Finding | None:
    """No outcome after EDD + 14 days (none recorded by a reviewer, nor a closing that says
    what became of her: transferred out, lost, moved away, delivered, died)."""
    if _ended(f, as_of) or f.edd is None or outcome_recorded(f, as_of):
        return None
    if f.close_code in OUTCOME_CLOSINGS and (f.closed_on is None or f.closed_on <= as_of):
        return None
    if as_of <= f.edd + timedelta(days=policy.outcome_unknown_days):
        return None
    days = (as_of - f.edd).days
    return Finding(
        f.edd + timedelta(days=policy.outcome_unknown_days + 1),
        True,
        f"EDD {f.edd} passed {days} days ago with no delivery or other outcome",
        f"预产期{f.edd}已过{days}天，无分娩或其他妊娠结局",
    )


def apply_recorded_outcome(f: PregnancyFacts, kind: str, day: date | None) -> None:
    """A reviewer's recorded outcome in the facts: a delivery elsewhere, a miscarriage or
    termination, or her death ends the pregnancy on its day (a delivery elsewhere also starts
    the postpartum period, its day standing for the discharge); a hospital's record of the end,
    when there is one, wins. Moved out and lost to follow-up end nothing: they close the case
    (迁出, 失访)."""
    f.outcome_kind, f.outcome_date = kind, day
    if day is None:
        return
    if kind == "died" and f.death is None:
        f.death = day
    if f.end_date is not None:
        return
    if kind == "delivered_elsewhere":
        f.end_date = f.delivery = f.discharge = day
    elif kind in ("miscarriage", "termination", "died"):
        f.end_date = day


def outcome_recorded(f: PregnancyFacts, as_of: date) -> bool:
    """A reviewer recorded her outcome (any kind), dated (or, undated, recorded) by as_of."""
    day = f.outcome_date or f.outcome_recorded
    return f.outcome_kind is not None and (day is None or day <= as_of)


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
    reasons_zh: list[str] = []
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
            reasons_zh.append(f"{_TEST_ZH[name]}阳性（{first_positive}），无治疗记录")
            start = first_positive + timedelta(days=policy.untreated_days + 1)
            since = min(since, start) if since else start
    if not reasons or since is None:
        return None
    return Finding(since, True, "; ".join(reasons), "；".join(reasons_zh))


_TEST_ZH = {"HIV": "艾滋病", "syphilis": "梅毒", "HBsAg": "乙肝表面抗原"}
_COLOUR_ZH = {"green": "绿色", "yellow": "黄色", "orange": "橙色", "red": "红色", "purple": "紫色"}


def _colours_zh(colour: str | None, purple: bool) -> str:
    return "/".join(_COLOUR_ZH[c] for c in (colour, "purple" if purple else None) if c)


# (lab concept, name shown) of the essential tests
_ESSENTIAL_TESTS = (("hiv_test", "HIV"), ("syphilis_test", "syphilis"), ("hbsag_test", "HBsAg"))


def missing_tests(f: PregnancyFacts, as_of: date, policy: Policy) -> Finding | None:
    """Essential tests missing more than 28 days after the first contact (not while she is
    on outcome_unknown, nor once her outcome was recorded or her case closed as transferred
    out, lost or moved away: then her outcome, or her leaving, is what matters)."""
    if _ended(f, as_of) or f.first_contact is None:
        return None
    if outcome_unknown(f, as_of, policy) is not None or outcome_recorded(f, as_of):
        return None
    if closed_out(f, as_of):
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
        f"{f.first_contact}建册，缺{'、'.join(_TEST_ZH[m] for m in missing)}检测结果",
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
        f"{f.discharge}出院，{since_discharge}天无产后访视",
    )


def closed_out_list(f: PregnancyFacts, as_of: date, policy: Policy) -> Finding | None:
    """Her case was closed as transferred out (转出), lost to follow-up (失访) or moved away
    (迁出): reported as such from the closing day until the pregnancy ended more than 42 days
    ago."""
    if not closed_out(f, as_of) or f.close_code is None:
        return None
    if f.end_date is not None and (as_of - f.end_date).days > policy.postpartum_end_days:
        return None
    closed = f.closed_on or as_of
    zh, en = CLOSE_REASONS[f.close_code]
    return Finding(closed, False, f"case closed as {zh} ({en}) on {closed}", f"{closed}以{zh}结案")


# -- 高危孕产妇专案管理率 (rule 7 b): the register's verdicts ------------------------------------


def report_limit_hours(colour: str | None, purple: bool, policy: Policy) -> int:
    """The reporting limit of a case-managed assessment: its colour's (orange 3 days, red 24
    hours); a purple flag on a lighter colour takes the purple limit if one is set, else the
    orange one."""
    limits = policy.report_limit_hours
    if colour in limits and colour in policy.case_managed:
        return limits[colour or ""]
    return limits.get("purple", limits.get("orange", 72))


def case_opened_in_time(f: PregnancyFacts, policy: Policy) -> bool:
    """The case opens when its first case-managed assessment reaches the register: in time when
    that assessment was received within its reporting limit (a day's grace, as report_late:
    the assessment has a day, not a time)."""
    first = first_case_managed(f, policy)
    if first is None:
        return False
    for day, colour, purple, received, _pk in f.risks:
        managed = colour in policy.case_managed or (purple and "purple" in policy.case_managed)
        if day != first or not managed or received is None:
            continue
        made = datetime(day.year, day.month, day.day, tzinfo=received.tzinfo)
        limit = report_limit_hours(colour, purple, policy)
        if received - made <= timedelta(hours=limit + 24):
            return True
    return False


def case_followed_at_interval(
    f: PregnancyFacts, policy: Policy, closed_on: date | None = None
) -> bool:
    """No gap longer than the interval between consecutive contacts (recorded follow-ups),
    from the first case-managed assessment until 42 days after the end of the pregnancy or the
    case's closing, whichever comes first. The interval is the shortest of the colours she was
    graded in the case-managed set (red 7, orange 14, purple 14 days). Without an end or a
    closing the window has not ended and cannot have been met."""
    first = first_case_managed(f, policy)
    if first is None:
        return False
    ends = [d for d in (closed_on,) if d is not None]
    if f.end_date is not None:
        ends.append(f.end_date + timedelta(days=policy.postpartum_end_days))
    if not ends:
        return False
    end = min(ends)
    intervals = [
        policy.follow_up_days.get(c, 14)
        for c in {r[1] for r in f.risks if r[1] in policy.case_managed}
        if c is not None
    ]
    if "purple" in policy.case_managed and any(r[2] for r in f.risks):
        intervals.append(policy.follow_up_days.get("purple", 14))
    if not intervals:
        return False
    interval = min(intervals)
    previous = first
    for day in sorted(d for d in set(f.follow_ups) if first < d <= end):
        if (day - previous).days > interval:
            return False
        previous = day
    return (end - previous).days <= interval


# Every work list, in the order items are listed. The key is the list's name in the API, the
# database (work_item.list_name), the labels (web/i18n.py "list_<key>") and the docs.
LISTS: dict[str, WorkList] = {
    "follow_up_due": WorkList(
        follow_up_due,
        "a visit, an assessment or a recorded follow-up, or the pregnancy ending",
        "一次产检、评估或登记的随访，或妊娠结束",
    ),
    "report_late": WorkList(report_late, "a reviewer acknowledges it", "审核人员确认"),
    "outcome_unknown": WorkList(
        outcome_unknown,
        "an outcome arrives, or a reviewer records one",
        "收到妊娠结局，或审核人员登记结局",
    ),
    "positive_untreated": WorkList(positive_untreated, "a treatment record", "一条治疗记录"),
    "missing_tests": WorkList(missing_tests, "all three results present", "三项检测结果齐全"),
    "postpartum_visit_due": WorkList(postpartum_visit_due, "a postpartum visit", "一次产后访视"),
    "closed_out": WorkList(
        closed_out_list,
        "a reviewer reopens the case, or 42 days after the end of the pregnancy",
        "审核人员重新开案，或妊娠结束满42天",
    ),
}


def items(f: PregnancyFacts, as_of: date, policy: Policy) -> list[Item]:
    """The lists this pregnancy is on at ``as_of``, in the order of ``LISTS``."""
    out = []
    for name, work_list in LISTS.items():
        found = work_list.rule(f, as_of, policy)
        if found is not None:
            out.append(
                Item(
                    name,
                    found.since,
                    found.overdue,
                    found.reason,
                    work_list.clears,
                    found.reason_zh,
                    work_list.clears_zh,
                )
            )
    return out


# -- the call sheet: last contact and next due date --------------------------------------------


def last_contact(f: PregnancyFacts, as_of: date) -> date | None:
    """The latest contact on or before as_of: a prenatal or postpartum visit, an assessment, a
    recorded follow-up or the delivery stay (its discharge day)."""
    stay = [f.discharge or f.delivery] if f.delivery is not None else []
    contacts = [
        d
        for d in f.visits + f.postpartum_visits + f.follow_ups + [r[0] for r in f.risks] + stay
        if d is not None and d <= as_of
    ]
    return max(contacts) if contacts else None


def interval_days(f: PregnancyFacts, as_of: date, policy: Policy) -> int | None:
    """The follow-up interval of her current colour (the shortest applies), None when her
    colour is not case-managed."""
    colour, purple = current_colour(f, as_of)
    intervals = []
    if colour in policy.case_managed:
        intervals.append(policy.follow_up_days.get(colour or "", 14))
    if purple and "purple" in policy.case_managed:
        intervals.append(policy.follow_up_days.get("purple", 14))
    return min(intervals) if intervals else None


def next_due(f: PregnancyFacts, as_of: date, policy: Policy) -> date | None:
    """The day she is next due for contact: the last contact + her colour's interval; a date a
    reviewer set with her latest follow-up (never before its contact) takes its place when it is
    earlier, or when her colour has no interval. A later contact than that follow-up replaces
    the reviewer's date."""
    last = last_contact(f, as_of)
    interval = interval_days(f, as_of, policy)
    computed = None
    in_window = not (_ended(f, as_of) and not _postpartum(f, as_of, policy))
    if interval is not None and in_window and not closed_out(f, as_of):
        start = last or first_case_managed(f, policy, as_of)
        computed = start + timedelta(days=interval) if start else None
    edited = f.next_due_set
    if edited is not None and f.follow_ups and last is not None and max(f.follow_ups) < last:
        edited = None  # a later visit or assessment than the follow-up that set it
    if edited is None:
        return computed
    return edited if computed is None else min(edited, computed)
