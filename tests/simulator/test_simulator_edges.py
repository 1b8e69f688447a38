"""The simulator puts events exactly on and next to each rule's threshold (docs/simulator.md,
"Events on the thresholds"), so that the engine-versus-truth tests, which run the same
parameters, meet both sides of every edge. Read from the facts the truth is computed from."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import date, datetime, time, timedelta
from pathlib import Path

import orjson
import pytest
from sim_replay import local_moment
from test_engine_matches_truth import REPORTS

from mch_service.simulator import SimulationParams, simulate
from mch_service.simulator.facts import POSTPARTUM_VISITS
from mch_service.simulator.generate import iter_facts
from mch_service.simulator.params import TruthSettings


def _params(**changes: object) -> SimulationParams:
    base = SimulationParams(
        pregnancies=120,
        seed=11,
        start=date(2024, 1, 1),
        end=date(2025, 12, 31),
        edge_share=0.3,
        syphilis_prevalence=0.4,
        syphilis_treatment_share=0.9,
        hbsag_prevalence=0.5,
        hbig_late_share=0.3,
        hepb_vaccine_late_share=0.3,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_day_edges_occur_on_both_sides() -> None:
    booking: Counter[int] = Counter()
    delivery: Counter[int] = Counter()
    home_visit: Counter[int] = Counter()
    check_42: Counter[int] = Counter()
    penicillin: Counter[int] = Counter()
    for f in iter_facts(_params()):
        if f.bookings:
            booking[(min(f.bookings) - f.lmp).days] += 1
        d = f.delivery
        if d is None:
            continue
        delivery[(d.day - f.lmp).days] += 1
        # home visits and 42-day checks are both postpartum visits in the facts
        visits = {v.day for v in f.visits if v.kind in POSTPARTUM_VISITS}
        home_visit.update((day - d.discharge).days for day in visits)
        check_42.update((day - d.day).days for day in visits)
        doses = sorted(t.start or t.day for t in f.treatments if t.infection == "syphilis")
        if doses:
            penicillin[(d.day - doses[0]).days] += 1
    # early booking and early testing: GA < 91 days; the WHO set's first contact: < 84 days
    assert all(booking[ga] for ga in (83, 84, 85, 90, 91)), booking
    # perinatal stillbirth and the 28-week cohort from 196 days
    assert all(delivery[ga] for ga in (195, 196)), delivery
    # postpartum visit within days 0-28 of discharge; the postpartum list ends after day 42
    assert all(home_visit[day] for day in (0, 28, 29, 45)), home_visit
    # the 42-day check counts on days 35-56 after delivery
    assert all(check_42[day] for day in (34, 35, 56, 57)), check_42
    # adequate syphilis treatment: penicillin started >= 30 days before delivery
    assert all(penicillin[day] for day in (29, 30, 31)), penicillin


@pytest.mark.parametrize(("hbig_hours", "vaccine_hours"), [(12, 24), (6, 30)])
def test_infant_doses_on_both_sides_of_the_truths_hour_limits(
    hbig_hours: int, vaccine_hours: int
) -> None:
    """HBIG within ``hbig_hours`` and the first vaccine dose within ``vaccine_hours`` of birth
    (inclusive): an hour before, exactly on, a minute after and an hour after each limit, for
    the default hours and for other hours (the infants' engine-versus-truth test runs both)."""
    params = _params(truth=TruthSettings(hbig_hours=hbig_hours, hepb_vaccine_hours=vaccine_hours))
    hbig: Counter[timedelta] = Counter()
    vaccine: Counter[timedelta] = Counter()
    for f in iter_facts(params):
        for n in f.delivery.newborns if f.delivery else ():
            if n.born_at is None:
                continue
            hbig.update(t - n.born_at for t in n.hbig_at if t is not None)
            vaccine.update(t - n.born_at for t in n.hepb_vaccine_at if t is not None)
    for counted, hours in ((hbig, hbig_hours), (vaccine, vaccine_hours)):
        limit = timedelta(hours=hours)
        for offset in (timedelta(hours=-1), timedelta(0), timedelta(minutes=1), timedelta(hours=1)):
            assert counted[limit + offset], (hours, offset, sorted(counted))


def test_no_edge_share_no_dose_on_the_limit() -> None:
    """With ``edge_share`` 0 the doses are where the distributions put them: none exactly on
    the limit or a minute after (the edges above are the simulator's doing, not chance)."""
    hbig: Counter[timedelta] = Counter()
    for f in iter_facts(_params(edge_share=0.0)):
        for n in f.delivery.newborns if f.delivery else ():
            if n.born_at is not None:
                hbig.update(t - n.born_at for t in n.hbig_at if t is not None)
    assert sum(hbig.values()) > 10
    assert hbig[timedelta(hours=12)] == hbig[timedelta(hours=12, minutes=1)] == 0


def test_reports_are_received_on_both_sides_of_the_limit(tmp_path: Path) -> None:
    """The engine test's "reports" variant, read back from the files (each RiskAssessment at
    its Bundle's planned time): every orange and red edge occurs, and late and in-time
    reports besides; the truth's receipts are the same times."""
    params = SimulationParams(
        pregnancies=30, seed=21, start=date(2024, 1, 1), end=date(2025, 12, 31), edge_share=0.3
    ).replace(**REPORTS)
    simulate(params, tmp_path)
    manifest = orjson.loads((tmp_path / "manifest.json").read_bytes())
    limits = {"orange": 72, "red": 24}
    seen: Counter[tuple[str, str]] = Counter()
    sent: list[datetime] = []  # when each orange or red assessment was received
    for inst in manifest["institutions"]:
        for name, at in zip(inst["bundles"], inst["bundle_times"], strict=True):
            received = datetime.fromisoformat(at).replace(tzinfo=None)
            for entry in orjson.loads((tmp_path / name).read_bytes())["entry"]:
                res = entry.get("resource", {})
                if res.get("resourceType") != "RiskAssessment" or entry["request"]["method"] != (
                    "POST"
                ):
                    continue
                colours = [p["qualitativeRisk"]["coding"][0]["code"] for p in res["prediction"]]
                colour = next((c for c in colours if c in limits), None)
                if colour is None or "ifNoneExist" in entry["request"]:
                    continue
                day = local_moment(res["occurrenceDateTime"]).date()
                edge = datetime.combine(day, time()) + timedelta(hours=limits[colour] + 24)
                offset = received - edge
                kind = (
                    "in time"
                    if offset < timedelta(hours=-1)
                    else "late"
                    if offset > timedelta(hours=1)
                    else str(offset)
                )
                seen[(colour, kind)] += 1
                sent.append(received)
    edges = ("-1 day, 23:00:00", "0:00:00", "0:01:00", "1:00:00")
    for colour in limits:
        for kind in ("in time", "late", *edges):
            assert seen[(colour, kind)] >= 1, (colour, kind, seen)
    # the truth was told the same receipt times
    told = sorted(
        r.received for f in iter_facts(params) for r in f.risks if r.colour in limits and r.received
    )
    assert told == sorted(sent)
