"""Rule 7 through the API, worked by hand: 高危孕产妇管理率 (a) counts a re-assessment or a
recorded follow-up, never a prenatal visit alone; 高危孕产妇专案管理率 (b) needs the case opened
within the reporting limit and the case team's follow-ups at the colour's interval until 42
days postpartum or the case's closing (docs/indicator-rules.md, "High-risk management").

The case register only accepts follow-ups dated up to today and measures the opening by when the
assessment was received (now, when the test posts it), so the in-time women are graded a few
days before today."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select

from mch_service.app import Services
from mch_service.cases import worklists
from mch_service.cases.models import CaseRecord
from mch_service.domain.models import PatientRecord
from mch_service.indicators.calculations import compute_all
from mch_service.indicators.loaders import build_frames
from mch_service.indicators.periods import period_containing
from tests.auth.test_accounts import add_user, bearer, token_for
from tests.conftest import SenderKey
from tests.domain.fixtures import bundle, colour, delivery, entry, obs, patient, uid, visit
from tests.domain.test_pregnancy_record import post
from tests.indicators.test_indicator_service import _valid_rid

TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()


def ago(days: int) -> str:
    return (TODAY - timedelta(days=days)).isoformat()


def woman(
    http: httpx.Client,
    sender: SenderKey,
    mrn: str,
    rid: str,
    gradings: list[tuple[int, str]],
    visits: list[int],
    delivered: int,
) -> str:
    """LMP 270 days before delivery; booked at LMP + 60; days are counted back from today."""
    p = uid()
    lmp = delivered + 270
    out = post(
        http,
        sender,
        bundle(
            entry(patient("hosp-a", mrn, rid=_valid_rid(rid), street="330102001"), p),
            entry(obs(p, "8665-2", ago(lmp - 60), valueDateTime=ago(lmp))),
            entry(visit(p, ago(lmp - 60), first=True)),
            *(entry(visit(p, ago(v))) for v in visits),
            *(entry(colour(p, ago(day), c)) for day, c in gradings),
            *delivery(p, ago(delivered), ago(delivered), ago(max(delivered - 2, 0))),
        ),
    )
    location: str = out["entry"][0]["response"]["location"].split("/_history")[0]
    return location


def assert_narrow_load_agrees(services: Services) -> None:
    """The indicator job reads the register's facts narrowly (``load(management=True)``: no
    visits, results, treatments...): for every pregnancy, what the management rules read
    (risks, follow-ups, the end as a recorded outcome moves it) and their verdicts are the
    same as from the work lists' full load."""
    policy = services.cases.policy
    with services.db.reading() as session:
        full = {f.pregnancy_id: f for f in services.cases.load(session)}
        narrow = services.cases.load(session, management=True)
    assert {f.pregnancy_id for f in narrow} == set(full)
    for f in narrow:
        g = full[f.pregnancy_id]
        assert (f.risks, sorted(f.follow_ups), f.end_date, f.delivery, f.death) == (
            g.risks,
            sorted(g.follow_ups),
            g.end_date,
            g.delivery,
            g.death,
        ), f.pregnancy_id
        assert worklists.case_opened_in_time(f, policy) == worklists.case_opened_in_time(g, policy)
        for closed in (None, g.closed_on):
            assert worklists.case_followed_at_interval(
                f, policy, closed
            ) == worklists.case_followed_at_interval(g, policy, closed)
        assert (f.visits, f.labs, f.treatments) == ([], [], [])  # it did not read them


def _flags(services: Services) -> dict[str, tuple[bool, bool, bool]]:
    """Per pregnancy id: (high_risk_managed, case_opened_in_time, case_followed_at_interval)."""
    with services.db.reading() as session:
        frames = build_frames(
            session, ("orange", "red", "purple"), case_facts=services.indicators.case_facts
        )
    p = frames.pregnancies.set_index("pregnancy_id")
    return {
        pid: (
            bool(row["high_risk_managed"]),
            bool(row["case_opened_in_time"]),
            bool(row["case_followed_at_interval"]),
        )
        for pid, row in p.iterrows()
    }


def _counts(services: Services, indicator: str, days: list[date]) -> tuple[int, int]:
    """District numerator and denominator, summed over the years of the delivery days."""
    with services.db.reading() as session:
        frames = build_frames(
            session, ("orange", "red", "purple"), case_facts=services.indicators.case_facts
        )
    years = sorted({period_containing(d, "year").label for d in days})
    results = compute_all(frames, years, services.indicators.settings)
    rows = results[
        (results["indicator_id"] == indicator)
        & (results["area"] == "district")
        & (results["institution"] == "all")
    ]
    return int(rows["numerator"].sum()), int(rows["denominator"].sum())


def test_high_risk_management_by_hand(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    add_user(services, "rev-a", "reviewer", streets=["330102001"])
    rev = bearer(token_for(http, "rev-a"))

    # 1. "An orange woman seen by her hospital but never followed by the case team": orange
    # 200 days ago, prenatal visits 180, 150 and 120 days ago, delivered 100 days ago. No
    # re-assessment, no follow-up: in both denominators, in neither numerator.
    woman(http, sender, "H1", "33010219900101111", [(200, "orange")], [180, 150, 120], 100)
    # 2. The same, re-assessed (yellow) 150 days ago: (a) only; (b) needs the case team.
    woman(http, sender, "H2", "33010219910101111", [(200, "orange"), (150, "yellow")], [150], 100)
    # 3. Orange 3 days ago (received now: within 72 hours + a day of the start of that day),
    # delivered 2 days ago, a phone follow-up yesterday, the case closed today as transferred
    # out: gaps 2 and 1 days <= 14 up to the closing -> (a) and (b).
    p3 = woman(http, sender, "H3", "33010219920101111", [(3, "orange")], [], 2)
    # 4. Orange 3 days ago, delivered 2 days ago, no follow-up and the case open: in time, but
    # 42 days postpartum is 40 days ahead and nobody followed her -> not (b), not (a).
    woman(http, sender, "H4", "33010219930101111", [(3, "orange")], [], 2)
    # 5. Orange 100 days ago (received now: late), delivered 60 days ago, the case team called
    # every 10 days from 90 to 10 days ago: followed at the interval, but opened late -> (a)
    # only. The window ends at 60 - 42 = 18 days ago; the call 10 days ago is after it.
    p5 = woman(http, sender, "H5", "33010219940101111", [(100, "orange")], [], 60)

    case3, case5 = _case_of(services, p3), _case_of(services, p5)
    version = _follow_up(http, rev, case3, 1, _version(http, rev, case3))
    closed = http.post(
        f"/api/v1/cases/{case3}/close",
        headers=rev,
        json={"version": version, "reason": "转至市妇幼", "code": "transferred_out"},
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["close_code"] == "transferred_out"
    version = _version(http, rev, case5)
    for back in range(90, 0, -10):
        version = _follow_up(http, rev, case5, back, version)

    flags = _flags(services)
    # the register's ids are the pregnancies' ids
    assert flags[case3] == (True, True, True)
    assert flags[case5] == (True, False, True)
    assert sorted(flags.values()) == sorted(
        [
            (False, False, False),  # 1
            (True, False, False),  # 2
            (True, True, True),  # 3
            (False, True, False),  # 4
            (True, False, True),  # 5
        ]
    )
    days = [TODAY - timedelta(days=d) for d in (100, 2, 60)]
    # (a): 2, 3 and 5 of the five non-green women
    assert _counts(services, "high_risk_management_rate", days) == (3, 5)
    # (b): only 3 of the five orange women
    assert _counts(services, "high_risk_case_management_rate", days) == (1, 5)
    # all five delivered in a facility
    assert _counts(services, "high_risk_facility_delivery_rate", days) == (5, 5)
    assert_narrow_load_agrees(services)

    # Closed as transferred out: off follow_up_due, on closed_out, counted per reason.
    listed = http.get("/api/v1/cases?list=closed_out", headers=rev).json()
    assert [i["pregnancy_id"] for i in listed["items"]] == [case3]
    assert "转出" in listed["items"][0]["reason"]
    due = http.get("/api/v1/cases?list=follow_up_due", headers=rev).json()
    assert case3 not in {i["pregnancy_id"] for i in due["items"]}
    reasons = {r["code"]: r for r in http.get("/api/v1/cases/close-reasons", headers=rev).json()}
    assert reasons["transferred_out"]["cases"] == 1
    assert reasons["transferred_out"]["label_zh"] == "转出"
    # women 1, 2 delivered 100 days ago and 5 delivered 60 days ago: the register closed their
    # cases at 42 days postpartum
    assert reasons["postpartum_complete"]["cases"] == 3
    assert reasons["lost_to_follow_up"]["cases"] == 0
    exported = http.get("/api/v1/cases/export.csv?list=closed_out", headers=rev).content
    assert "转出".encode() in exported


def test_closing_codes_are_checked(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    add_user(services, "rev-a", "reviewer", streets=["330102001"])
    rev = bearer(token_for(http, "rev-a"))
    p = woman(http, sender, "H6", "33010219950101111", [(30, "red")], [20], 0)
    case = _case_of(services, p)
    version = _version(http, rev, case)
    bad = http.post(
        f"/api/v1/cases/{case}/close",
        headers=rev,
        json={"version": version, "reason": "x", "code": "vanished"},
    )
    assert bad.status_code == 400
    assert "transferred_out" in bad.text
    # a reviewer cannot use the register's own closing
    own = http.post(
        f"/api/v1/cases/{case}/close",
        headers=rev,
        json={"version": version, "reason": "x", "code": "postpartum_complete"},
    )
    assert own.status_code == 400
    lost = http.post(
        f"/api/v1/cases/{case}/close",
        headers=rev,
        json={"version": version, "reason": "电话停机", "code": "lost_to_follow_up"},
    )
    assert lost.status_code == 200, lost.text
    reopened = http.post(
        f"/api/v1/cases/{case}/reopen",
        headers=rev,
        json={"version": lost.json()["version"], "reason": "found her"},
    )
    assert reopened.json()["close_code"] is None
    assert http.get("/api/v1/cases?list=closed_out", headers=rev).json()["total"] == 0


def _case_of(services: Services, location: str) -> str:
    """The case (pregnancy id) of the woman whose Patient was created at ``location``."""
    with services.db.reading() as session:
        woman_key = session.scalars(
            select(PatientRecord.woman_key).where(PatientRecord.ref.endswith(location))
        ).one()
        return session.scalars(
            select(CaseRecord.pregnancy_id).where(CaseRecord.woman_key == woman_key)
        ).one()


def _version(http: httpx.Client, rev: dict[str, str], case: str) -> int:
    return int(http.get(f"/api/v1/cases/{case}", headers=rev).json()["case"]["version"])


def _follow_up(
    http: httpx.Client, rev: dict[str, str], case: str, back: int, version: object
) -> int:
    r = http.post(
        f"/api/v1/cases/{case}/follow-ups",
        headers=rev,
        json={"version": version, "contact_date": ago(back), "kind": "phone", "outcome": "reached"},
    )
    assert r.status_code == 201, r.text
    return int(r.json()["version"])


def _stored(services: Services, indicator: str, period: str) -> tuple[int, int]:
    from mch_service.indicators.results import IndicatorResult

    with services.db.reading() as session:
        row = session.execute(
            select(IndicatorResult.numerator, IndicatorResult.denominator).where(
                IndicatorResult.indicator_id == indicator,
                IndicatorResult.period == period,
                IndicatorResult.area == "district",
                IndicatorResult.institution == "all",
            )
        ).one()
    return int(row[0]), int(row[1])


def test_a_recorded_follow_up_reaches_the_incremental_indicator_run(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    # Orange 3 days ago (in time), delivered 2 days ago: no follow-up yet, so (a) 0 / 1 and
    # (b) 0 / 1. A follow-up yesterday and the case closed as moved away today change no
    # woman's records, only the register: the next incremental run must still see them and
    # give (a) 1 / 1 (the follow-up is after the first non-green day) and (b) 1 / 1 (gaps of 2
    # and 1 days up to the closing).
    add_user(services, "rev-a", "reviewer", streets=["330102001"])
    rev = bearer(token_for(http, "rev-a"))
    location = woman(http, sender, "H7", "33010219960101111", [(3, "orange")], [], 2)
    year = period_containing(TODAY - timedelta(days=2), "year").label
    services.indicators.refresh(full=True)
    assert _stored(services, "high_risk_management_rate", year) == (0, 1)
    assert _stored(services, "high_risk_case_management_rate", year) == (0, 1)
    assert services.indicators.refresh() == 0  # nothing changed
    case = _case_of(services, location)
    version = _follow_up(http, rev, case, 1, _version(http, rev, case))
    closed = http.post(
        f"/api/v1/cases/{case}/close",
        headers=rev,
        json={"version": version, "reason": "回老家", "code": "moved_away"},
    )
    assert closed.status_code == 200, closed.text
    assert services.indicators.refresh() > 0
    assert _stored(services, "high_risk_management_rate", year) == (1, 1)
    assert _stored(services, "high_risk_case_management_rate", year) == (1, 1)
    assert services.indicators.refresh() == 0
