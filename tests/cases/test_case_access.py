"""A reviewer's jurisdiction from every angle, on every route that returns a woman's data or acts
on her case: scoped to one institution (including an id that is a prefix of another's, hosp-a
and hosp-ab), to one street, to a prefix or substring that matches nobody exactly, to both, and
to none. The monitoring views (drill-down, data quality) are not reviewers' at all.

Three women, each graded red (so each has a case and work items):
    AB: lives in street 330102001, cared for at hosp-ab only
    A:  lives in street 330102002, cared for at hosp-a only
    B:  lives in street 330102003, cared for at hosp-b only
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import httpx
import openpyxl
from sqlalchemy import select

from mch_service.app import Services
from mch_service.auth.permissions import system_principal
from mch_service.auth.schemas import JurisdictionUpdate
from mch_service.cases.models import CaseEvent, CaseRecord, FollowUp
from tests.auth.test_accounts import add_user, bearer, token_for
from tests.cases.test_case_api import case_id, red_woman
from tests.conftest import make_sender
from tests.indicators.test_indicator_service import _valid_rid

WOMEN = {"AB": "330102001", "A": "330102002", "B": "330102003"}
RIDS = {"AB": "33010219900101111", "A": "33010219910101111", "B": "33010219920101111"}
SENT_BY = {"AB": "hosp-ab", "A": "hosp-a", "B": "hosp-b"}
# reviewer -> (streets, institutions, the women they must see)
REVIEWERS: dict[str, tuple[list[str], list[str], set[str]]] = {
    "rev-inst-a": ([], ["hosp-a"], {"A"}),  # hosp-a is a prefix of hosp-ab: not hers
    "rev-inst-ab": ([], ["hosp-ab"], {"AB"}),
    # "hosp" and "ab" are parts of ids, "osp-a" a substring of both: nobody's institution
    "rev-inst-parts": ([], ["hosp", "osp-a", "ab"], set()),
    "rev-street": (["330102003"], [], {"B"}),
    "rev-street-prefix": (["33010200"], [], set()),  # a prefix of every street code
    "rev-both": (["330102003"], ["hosp-a"], {"A", "B"}),
    "rev-none": ([], [], set()),  # jurisdiction emptied by an administrator
}


@dataclass
class District:
    cases: dict[str, str]  # woman -> pregnancy id
    headers: dict[str, dict[str, str]]  # reviewer (or "admin") -> auth headers


def _district(http: httpx.Client, services: Services) -> District:
    senders = {
        "AB": make_sender(services, "hosp-ab"),
        "A": make_sender(services, "hosp-a"),
        "B": make_sender(services, "hosp-b"),
    }
    for woman, street in WOMEN.items():
        red_woman(http, senders[woman], street, f"M-{woman}", _valid_rid(RIDS[woman]))
    cases = {woman: case_id(services, street) for woman, street in WOMEN.items()}
    headers = {}
    for name, (streets, institutions, _) in REVIEWERS.items():
        add_user(services, name, "reviewer", streets or ["placeholder"], institutions)
        with services.db.transaction() as session:
            services.accounts.update_jurisdiction(
                session,
                system_principal(),
                name,
                JurisdictionUpdate(streets=streets, institutions=institutions),
            )
        headers[name] = bearer(token_for(http, name))
    add_user(services, "admin1", "admin")
    headers["admin"] = bearer(token_for(http, "admin1"))
    return District(cases, headers)


def _seen(d: District, rows: list[dict[str, object]] | list[str]) -> set[str]:
    by_id = {pid: woman for woman, pid in d.cases.items()}
    ids = [r if isinstance(r, str) else str(r["pregnancy_id"]) for r in rows]
    assert all(i in by_id for i in ids), ids
    return {by_id[i] for i in ids}


EVERYONE = {**{k: v[2] for k, v in REVIEWERS.items()}, "admin": set(WOMEN)}


def _lists_and_exports(http: httpx.Client, district: District, who: str) -> None:
    d, h, expected = district, district.headers[who], EVERYONE[who]
    listed = http.get("/api/v1/cases?page_size=500", headers=h).json()
    assert _seen(d, listed["items"]) == expected, who
    assert listed["total"] == len(listed["items"])
    # a filter by institution narrows within the jurisdiction, never widens it, and matches
    # the institution id exactly (hosp-a does not pick up hosp-ab's woman)
    for inst, woman in (("hosp-a", "A"), ("hosp-ab", "AB"), ("hosp", None)):
        got = http.get(f"/api/v1/cases?institution={inst}", headers=h).json()["items"]
        assert _seen(d, got) == expected & ({woman} if woman else set()), inst
    for woman, street in WOMEN.items():
        got = http.get(f"/api/v1/cases?street={street}", headers=h).json()["items"]
        assert _seen(d, got) == expected & {woman}
    text = http.get("/api/v1/cases/export.csv", headers=h).content.decode("utf-8-sig")
    exported = [row["孕产妇档案 pregnancy"] for row in csv.DictReader(io.StringIO(text))]
    assert _seen(d, exported) == expected, who
    book = openpyxl.load_workbook(
        io.BytesIO(http.get("/api/v1/cases/export.xlsx", headers=h).content), read_only=True
    )
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][1] == "孕产妇档案 pregnancy"
    assert _seen(d, [str(r[1]) for r in rows[1:]]) == expected, who


def _pages(http: httpx.Client, district: District, who: str) -> None:
    h, expected = district.headers[who], EVERYONE[who]
    for woman, pid in district.cases.items():
        want = 200 if woman in expected else 404  # outside: as if no such case
        case = http.get(f"/api/v1/cases/{pid}", headers=h)
        assert case.status_code == want, (woman, case.text)
        page = http.get(f"/api/v1/pregnancies/{pid}", headers=h)
        assert page.status_code == want, (woman, page.text)
        assignees = http.get(f"/api/v1/cases/{pid}/assignees", headers=h)
        assert assignees.status_code == want, (woman, assignees.text)
        if want == 404:
            assert "王" not in case.text + page.text
        # the look-up by resident ID and by MRN at the sending institution: found only in
        # jurisdiction, and outside it exactly as for no such woman
        for body in (
            {"resident_id": _valid_rid(RIDS[woman])},
            {"mrn": f"M-{woman}", "institution": SENT_BY[woman]},
        ):
            r = http.post("/api/v1/pregnancies/lookup", json=body, headers=h)
            assert r.status_code == 200, (who, body, r.text)
            found = [m["pregnancy_id"] for m in r.json()["matches"]]
            assert found == ([pid] if woman in expected else []), (who, woman, body)
    # drill-down and data quality are the monitoring group's (district-wide); never a reviewer's
    if who != "admin":
        drill = http.get("/api/v1/indicators/hiv_test_rate/records?period=2025-03", headers=h)
        assert drill.status_code == 403
        assert http.get("/api/v1/data-quality", headers=h).status_code == 403


ACTIONS = {
    "follow-ups": {"contact_date": "2025-03-05", "kind": "phone", "outcome": "reached"},
    "assign": {"assignee": "rev"},
    "close": {"reason": "moved away"},
    "reopen": {"reason": "came back"},
    "acknowledge-late": {},
    "outcome": {"kind": "lost_to_follow_up"},
}


def _state(services: Services) -> tuple[dict[str, tuple[int, str | None, str]], int, int]:
    with services.db.reading() as session:
        cases = {
            c.pregnancy_id: (c.version, c.assignee, c.status)
            for c in session.scalars(select(CaseRecord))
        }
        follow_ups = len(session.scalars(select(FollowUp.id)).all())
        events = len(session.scalars(select(CaseEvent.id)).all())
    return cases, follow_ups, events


def _actions(http: httpx.Client, services: Services, district: District, who: str) -> None:
    h, expected = district.headers[who], EVERYONE[who]
    state = _state(services)
    before = state[0]
    for woman, pid in district.cases.items():
        if woman in expected:
            continue
        for action, body in ACTIONS.items():
            r = http.post(
                f"/api/v1/cases/{pid}/{action}",
                headers=h,
                json={**body, "version": before[pid][0]},
            )
            assert r.status_code == 404, (who, woman, action, r.text)
    assert _state(services) == state, who  # no version, follow-up or event added
    # inside the jurisdiction the same request is done
    for woman in expected:
        pid = district.cases[woman]
        r = http.post(
            f"/api/v1/cases/{pid}/assign",
            headers=h,
            json={"assignee": who, "version": before[pid][0]},
        )
        assert r.status_code == 200, (who, r.text)
        assert r.json()["assignee"] == who


def test_every_case_route_holds_to_the_jurisdiction(http: httpx.Client, services: Services) -> None:
    # one district for all reviewers: setting it up (three bundles, eight sign-ins) is the
    # slow part
    district = _district(http, services)
    for who in EVERYONE:
        _lists_and_exports(http, district, who)
        _pages(http, district, who)
    # actions last: the in-jurisdiction assignments change the cases' versions
    for who in REVIEWERS:
        _actions(http, services, district, who)


CLOSED_AS = {"AB": "transferred_out", "A": "lost_to_follow_up", "B": "moved_away"}


def test_close_reasons_count_only_the_reviewers_own_cases(
    http: httpx.Client, services: Services
) -> None:
    # GET /api/v1/cases/close-reasons: a reviewer's counts are of the closed cases in their
    # jurisdiction only; a case of another institution (hosp-ab beside hosp-a), street, or of a
    # prefix or part of an id is never counted; the monitoring group is refused.
    district = _district(http, services)
    admin = district.headers["admin"]
    versions = _state(services)[0]
    for woman, code in CLOSED_AS.items():
        pid = district.cases[woman]
        r = http.post(
            f"/api/v1/cases/{pid}/close",
            headers=admin,
            json={"reason": "随访结束", "code": code, "version": versions[pid][0]},
        )
        assert r.status_code == 200, r.text
    for who, expected in EVERYONE.items():
        r = http.get("/api/v1/cases/close-reasons", headers=district.headers[who])
        assert r.status_code == 200, (who, r.text)
        got = {row["code"]: row["cases"] for row in r.json() if row["cases"]}
        assert got == {CLOSED_AS[w]: 1 for w in expected}, who
    add_user(services, "mon-close", "monitor")
    monitor = bearer(token_for(http, "mon-close"))
    assert http.get("/api/v1/cases/close-reasons", headers=monitor).status_code == 403
    sender = make_sender(services, "hosp-z")
    r = http.get("/api/v1/cases/close-reasons", headers=sender.headers)
    assert r.status_code == 401
