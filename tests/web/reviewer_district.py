"""The district the browser tests of the reviewers' pages work in (test_worklist_pages.py,
test_case_page.py): streets with their community health centres, women booked 2025-01-05
(LMP 2025-01-01, so EDD 2025-10-08) with their gradings, the staff, and the work lists run for
the lists' day. Each test module says which women and staff it sets up, and what it expects of
them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from mch_service.app import Services
from mch_service.institutions.service import add_institution, set_street
from tests.auth.test_accounts import add_user, bearer, token_for
from tests.conftest import SenderKey
from tests.domain.fixtures import bundle, colour, entry, obs, patient, uid, visit
from tests.domain.test_pregnancy_record import post

S1, S2 = "330102001", "330102002"
# street -> (its name, its community health centre's id and name)
STREETS = {
    S1: ("黄阁镇", "chc-01", "黄阁镇社区卫生服务中心"),
    S2: ("南沙街道", "chc-02", "南沙街道社区卫生服务中心"),
}
LISTS_DAY = "2025-03-20"
Grades = tuple[tuple[str, tuple[str, ...]], ...]  # (assessed day, colours) of each grading


@dataclass(frozen=True)
class Woman:
    name: str
    rid: str
    street: str
    grades: Grades
    mrn: str


def add_streets(services: Services, *streets: str) -> None:
    """The streets in the register, each with its centre."""
    with services.db.transaction() as session:
        for code in streets:
            name, centre, centre_name = STREETS[code]
            add_institution(session, centre, centre_name, "chc")
            set_street(session, code, name, centre)


def book(
    http: httpx.Client,
    sender: SenderKey,
    woman: Woman,
    more: Callable[[str], Iterable[dict[str, Any]]] = lambda _p: (),
) -> None:
    """Her first visit on 2025-01-05 (LMP 2025-01-01) and her gradings, in one bundle from
    ``sender``; ``more(patient)``: further entries of the same bundle."""
    p = uid()
    person = patient(sender.institution_id, woman.mrn, rid=woman.rid, street=woman.street)
    person["name"] = [{"text": woman.name}]
    post(
        http,
        sender,
        bundle(
            entry(person, p),
            entry(obs(p, "8665-2", "2025-01-05", valueDateTime="2025-01-01")),
            entry(visit(p, "2025-01-05", first=True)),
            *[entry(colour(p, day, *colours)) for day, colours in woman.grades],
            *more(p),
        ),
    )


def run_lists(http: httpx.Client, admin: dict[str, str], as_of: str = LISTS_DAY) -> None:
    run = http.post(f"/api/v1/jobs/work_lists/run?as_of={as_of}", headers=admin)
    assert run.json()["status"] == "succeeded", run.text


def pregnancies_by_name(http: httpx.Client, h: dict[str, str]) -> dict[str, str]:
    """Full name -> pregnancy id of every woman on the lists ``h`` sees."""
    r = http.get("/api/v1/cases?page_size=500", headers=h)
    assert r.status_code == 200, r.text
    return {i["full_name"]: i["pregnancy_id"] for i in r.json()["items"] if i.get("full_name")}


def district(
    http: httpx.Client,
    services: Services,
    streets: Iterable[str],
    women: Mapping[str, tuple[SenderKey, Woman]],
    staff: Mapping[str, tuple[str, dict[str, list[str]]]],
    signed_in: Iterable[str],
) -> dict[str, Any]:
    """The streets, the women (key -> her sender and herself), the staff (username -> role and
    jurisdiction), the lists run for LISTS_DAY by ``admin1``: {"h": the bearer headers of the
    ``signed_in`` staff, "ids": woman's key -> her pregnancy id}."""
    add_streets(services, *streets)
    for sender, woman in women.values():
        book(http, sender, woman)
    for username, (role, jurisdiction) in staff.items():
        add_user(services, username, role, **jurisdiction)
    h = {u: bearer(token_for(http, u)) for u in signed_in}
    run_lists(http, h["admin1"])
    ids = pregnancies_by_name(http, h["admin1"])
    return {"h": h, "ids": {key: ids[w.name] for key, (_, w) in women.items()}}
