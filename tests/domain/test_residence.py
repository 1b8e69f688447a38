"""Residence (现住址) of a woman, classified when her Patient is stored (the address is sealed
afterwards): resident of the district (南沙区, 440115 by default), non-resident, or unknown.
docs/indicator-rules.md, "Attribution"; docs/interface-guide.md says how senders write it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from mch_service.app import Services
from mch_service.domain import models as m
from mch_service.streets import NON_RESIDENT, RESIDENT, UNKNOWN, residence_of, street_problem
from tests.auth.test_accounts import add_user, bearer, token_for
from tests.conftest import SenderKey, make_sender
from tests.domain.fixtures import CANONICAL, bundle, delivery, entry, obs, patient, uid
from tests.domain.test_pregnancy_record import post, the_pregnancy
from tests.indicators.test_indicator_service import _valid_rid

EXT = f"{CANONICAL}/StructureDefinition/address-street"


def _address(street: str | None = None, **parts: str) -> dict[str, Any]:
    address: dict[str, Any] = {"use": "home", "line": ["进港大道88号3幢201室"], **parts}
    if street is not None:
        address["extension"] = [{"url": EXT, "valueCode": street}]
    return address


@pytest.mark.parametrize(
    ("address", "street", "expected"),
    [
        # the district as text, as most senders write it
        (_address(state="广东省", city="广州市", district="南沙区"), None, RESIDENT),
        # ... with the city in front
        (_address(district="广州市南沙区"), None, RESIDENT),
        # the district as its GB/T 2260 code
        (_address(city="广州市", district="440115"), None, RESIDENT),
        # only a street code of the district (MCH_STREETS empty: it starts with 440115)
        (_address(city="广州市"), "440115103", RESIDENT),
        # a neighbouring district, as text or as its code
        (_address(state="广东省", city="广州市", district="番禺区"), None, NON_RESIDENT),
        (_address(city="中山市", district="442000"), None, NON_RESIDENT),
        # a street code of another district
        (_address(), "440113001", NON_RESIDENT),
        # only a province: elsewhere
        (_address(state="湖南省"), None, NON_RESIDENT),
        # a bare line: nothing to go by
        (_address(), None, UNKNOWN),
        # a street "code" that is not one (free text): says nothing
        (_address(), "南沙街道", UNKNOWN),
        # no address at all
        (None, None, UNKNOWN),
        # --- the edges of each clause, one row each ---
        # the street code IS the district's code: it starts with it
        (_address(), "440115", RESIDENT),
        # a township code of the district written with spaces around it
        (_address(), " 440115103 ", RESIDENT),
        # a code that is a prefix of the district's code (4401 = the city of Guangzhou, 44011
        # half a county code): the city is not the district, she may live anywhere in it
        (_address(), "4401", NON_RESIDENT),
        (_address(), "44011", NON_RESIDENT),
        # the district's code inside a longer code, not at its start: another place
        (_address(), "9440115001", NON_RESIDENT),
        # the district's name with spaces around it, as typed
        (_address(district=" 南沙区 "), None, RESIDENT),
        # a longer text that only starts with the district's name: not ours
        (_address(district="南沙区外"), None, NON_RESIDENT),
        # the district's name without 区: not the name the rule knows; it says where she lives
        (_address(district="南沙"), None, NON_RESIDENT),
        # a street code of another district beside our district's name (an address entered
        # partly wrong): either clause saying "ours" makes her a resident
        (_address(district="南沙区"), "440113001", RESIDENT),
        # a free-text "code" beside our district text: the text decides
        (_address(district="南沙区"), "南沙街道", RESIDENT),
        # a free-text "code" beside another city: elsewhere
        (_address(city="深圳市"), "南沙街道", NON_RESIDENT),
        # blank parts are no address: nothing to go by
        (_address(district="  ", city="", state=" "), None, UNKNOWN),
        # parts that are not text (a number where a name belongs) say nothing
        (_address(), 440115103, UNKNOWN),
        # an address that is not an object at all
        (["南沙区"], "440115103", UNKNOWN),
    ],
)
def test_residence_of_real_looking_addresses(
    address: dict[str, Any] | None, street: str | None, expected: str
) -> None:
    assert residence_of(address, street, "440115", "南沙区") == expected


def test_a_listed_street_is_a_resident_whatever_its_code() -> None:
    listed = ["NS01", "NS02"]
    assert residence_of(_address(), "NS02", "440115", "南沙区", listed) == RESIDENT
    # not listed, not of the district's code, no district text: elsewhere
    assert residence_of(_address(), "PY01", "440115", "南沙区", listed) == NON_RESIDENT


SHAPE = "A street code is 1-32 letters, digits, '.', '_' or '-', starting with a letter or digit"
UNLISTED = "The street code is not one of this district's streets (MCH_STREETS)"
AREA_NAME = "district, non_resident and address_unknown are area names, not street codes"


@pytest.mark.parametrize(
    ("code", "known", "problem"),
    [
        # no list of streets: any well-formed code is usable
        ("440115001", (), None),
        # the list: a listed code is usable, another well-formed code is not the district's
        ("NS01", ("NS01", "NS02"), None),
        ("NS03", ("NS01", "NS02"), UNLISTED),
        ("440115001", ("NS01", "NS02"), UNLISTED),
        # the area lines of the indicator views are never a street
        ("district", (), AREA_NAME),
        ("non_resident", (), AREA_NAME),
        ("address_unknown", ("address_unknown",), AREA_NAME),
        # text a spreadsheet would run, or free text, is not a code
        ("=HYPERLINK(1)", (), SHAPE),
        ("-440115", (), SHAPE),
        ("南沙街道", (), SHAPE),
        ("", (), SHAPE),
        # 32 characters at most
        ("a" * 32, (), None),
        ("a" * 33, (), SHAPE),
    ],
)
def test_street_problem_names_the_reason(
    code: str, known: tuple[str, ...], problem: str | None
) -> None:
    # the message is what an administrator reads when a jurisdiction is refused and what
    # data quality records for a sender's code; it never quotes the code
    assert street_problem(code, known) == problem


def test_area_names_are_not_street_codes() -> None:
    for name in ("district", "non_resident", "address_unknown"):
        assert street_problem(name) is not None
    assert street_problem("440115001") is None


def _deliver(http: httpx.Client, sender: SenderKey, **patient_fields: Any) -> None:
    p = uid()
    post(
        http,
        sender,
        bundle(
            entry(patient(sender.institution_id, "R1", **patient_fields), p),
            *delivery(p, "2025-08-05", "2025-08-05", "2025-08-07"),
        ),
    )


def test_a_non_resident_is_recorded_so(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    _deliver(
        http,
        sender,
        address=[_address(state="广东省", city="广州市", district="番禺区")],
    )
    preg = the_pregnancy(services)
    assert preg.residence == NON_RESIDENT
    with services.db.reading() as session:
        assert session.scalars(select(m.Woman.residence)).all() == [NON_RESIDENT]
        assert session.scalars(select(m.DataQualityIssue.rule)).all() == []


def test_no_usable_address_is_unknown_and_flagged(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    _deliver(http, sender, address=[_address()])
    preg = the_pregnancy(services)
    assert preg.residence == UNKNOWN
    with services.db.reading() as session:
        issues = session.scalars(select(m.DataQualityIssue)).all()
    assert [(i.rule, i.pregnancy_id, i.element) for i in issues] == [
        ("address_unknown", preg.id, "Patient.address")
    ]


def test_the_delivering_institutions_record_decides(
    http: httpx.Client, services: Services, sender: SenderKey, other_sender: SenderKey
) -> None:
    # Delivered at `sender` with a Panyu address; later another institution sends her with a
    # Nansha address (the most recently received record): the delivering institution's
    # Patient record is the one that counts.
    _deliver(
        http,
        sender,
        address=[_address(city="广州市", district="番禺区")],
    )
    post(
        http,
        other_sender,
        bundle(entry(patient(other_sender.institution_id, "O1"), uid())),
    )
    assert the_pregnancy(services).residence == NON_RESIDENT
    with services.db.reading() as session:
        # the woman's own residence is the most recently received record's
        assert session.scalars(select(m.Woman.residence)).all() == [RESIDENT]


def test_the_indicator_api_gives_the_residence_lines(
    http: httpx.Client, services: Services
) -> None:
    """End to end through FHIR, the job and the API (numbers by hand): at hosp-a on 6 August
    2025, R (a Nansha resident, LMP 1 November 2024: GA 278) and N (a Panyu resident, the same
    dates) each deliver one live baby; L (a Nansha resident, LMP 24 January 2025: 7 + 28 + 31 +
    30 + 31 + 30 + 31 + 6 = 194 days = 27+5 weeks) has a stillbirth, a loss in no count."""
    hosp = make_sender(services, "hosp-a")
    women: list[tuple[str, str, str, str, dict[str, Any]]] = [
        ("R1", "44011519900101001", "2024-11-01", "Z37.0", {}),
        (
            "N1",
            "44011319900101002",
            "2024-11-01",
            "Z37.0",
            {"address": [_address(state="广东省", city="广州市", district="番禺区")]},
        ),
        ("L1", "44011519900101003", "2025-01-24", "Z37.1", {}),
    ]
    for mrn, seventeen, lmp, z37, fields in women:
        p = uid()
        post(
            http,
            hosp,
            bundle(
                entry(patient("hosp-a", mrn, rid=_valid_rid(seventeen), **fields), p),
                entry(obs(p, "8665-2", "2025-03-01", valueDateTime=lmp)),
                *delivery(p, "2025-08-06", "2025-08-06", "2025-08-08", z37=z37),
            ),
        )
    add_user(services, "admin1", "admin")
    add_user(services, "mon1", "monitor")
    admin, monitor = bearer(token_for(http, "admin1")), bearer(token_for(http, "mon1"))
    assert http.post("/api/v1/jobs/indicators/run", headers=admin).json()["status"] == "succeeded"

    def women_in(query: str) -> int:
        r = http.get(f"/api/v1/indicators?period=2025-08{query}", headers=monitor)
        assert r.status_code == 200, r.text
        rows = {row["id"]: row for row in r.json()["results"]}
        denominator: int = rows["hiv_test_rate"]["denominator"]  # 产妇数
        return denominator

    assert women_in("") == 1  # R
    assert women_in("&area=district") == 1
    assert women_in("&area=non_resident") == 1  # N
    assert women_in("&area=address_unknown") == 0
    assert women_in("&institution=hosp-a") == 2  # R and N; L's loss is not a delivery
    bad = http.get("/api/v1/indicators?period=2025-08&area=no%20such%20area", headers=monitor)
    assert bad.status_code == 400


def test_the_cohort_starts_at_28_weeks_from_the_lmp(http: httpx.Client, services: Services) -> None:
    """Rule 1 end to end, both sides of 196 days (28+0 weeks) computed from the LMP the sender
    gives (no GA recorded): both deliver a live baby at hosp-a on 6 August 2025.
    A: LMP 22 January 2025: 9 (to 31 Jan) + 28 + 31 + 30 + 31 + 30 + 31 + 6 = 196 days = 28+0,
       a delivery (产妇数, 活产数).
    B: LMP 23 January 2025: 195 days = 27+6, a loss (流产/引产) even with a live baby: in no
       cohort count (a live birth before 28 weeks is not in 活产数 of the annual report)."""
    hosp = make_sender(services, "hosp-a")
    for mrn, seventeen, lmp in (
        ("A1", "44011519900101011", "2025-01-22"),
        ("B1", "44011519900101012", "2025-01-23"),
    ):
        p = uid()
        post(
            http,
            hosp,
            bundle(
                entry(patient("hosp-a", mrn, rid=_valid_rid(seventeen)), p),
                entry(obs(p, "8665-2", "2025-03-01", valueDateTime=lmp)),
                *delivery(p, "2025-08-06", "2025-08-06", "2025-08-08", z37="Z37.0"),
            ),
        )
    with services.db.reading() as session:
        ga = sorted(g for g in session.scalars(select(m.Delivery.ga_days)).all() if g is not None)
    assert ga == [195, 196]
    add_user(services, "admin1", "admin")
    add_user(services, "mon1", "monitor")
    admin, monitor = bearer(token_for(http, "admin1")), bearer(token_for(http, "mon1"))
    assert http.post("/api/v1/jobs/indicators/run", headers=admin).json()["status"] == "succeeded"
    r = http.get("/api/v1/indicators?period=2025-08&institution=hosp-a", headers=monitor)
    rows = {row["id"]: row for row in r.json()["results"]}
    assert rows["hiv_test_rate"]["denominator"] == 1  # 产妇数: A only
    assert rows["facility_delivery_rate"]["denominator"] == 1  # 活产数: A's baby only
