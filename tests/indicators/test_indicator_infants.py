"""Exposed infants and rule 6 (congenital syphilis per child), on both databases: domain rows
written by hand, the fact tables built by the loader, the indicators computed. Every expected
figure is worked out by hand in the comments (docs/indicator-rules.md, "Infants of infected
mothers" and congenital_syphilis_rate).

Times are UTC; Shanghai is UTC+8. Three deliveries in March 2025:

P1  HBsAg-positive mother (w1), twins born 2025-03-10 00:00Z and 00:05Z (birthTime sent).
    Twin 1: HBIG at 11:00Z (11 h: on time), vaccine at 23:00Z (23 h: on time).
    Twin 2: HBIG at 13:05Z (13 h: late), vaccine at 2025-03-11 01:05Z (25 h: late).
    Twin 1 is known at hosp-a and at hosp-b (each with its own Patient record of the child,
    each linked to the mother's record there) and diagnosed with congenital syphilis at both:
    hosp-b on 2025-03-15, hosp-a on 2025-03-20 -> ONE case, on 15 March, reported by hosp-b.
    Twin 2 is diagnosed on 2025-04-02 at hosp-a -> a second case, in April.
P2  HBsAg- and HIV-positive mother (w2), one baby, no birthTime and a delivery Procedure
    with a date only: birth time unknown. HBIG at 2025-03-12 04:00Z, vaccine with a date only:
    neither is on time (a time is unknown). The baby's ARV counts; it is not the mother's.
P3  HBsAg- and syphilis-positive mother (w3), one baby, no birthTime; the delivery Procedure
    performed 2025-03-13 02:00Z. HBIG at 14:00Z: exactly 12 h -> on time (inclusive). No
    vaccine. The baby's benzathine penicillin (J01CE08) counts as prophylaxis.
A congenital syphilis diagnosis of a subject the service does not know (no Patient record),
recorded twice (3 and 5 March) -> one case (once per distinct subject), on 3 March.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import pytest

from mch_service.app import Services
from mch_service.domain import models
from mch_service.indicators import fact_tables
from mch_service.indicators.calculations import compute
from mch_service.indicators.loaders import build_frames
from mch_service.indicators.settings import IndicatorSettings
from tests.indicators.tables import counts

_pk = itertools.count(5000)
NOW = datetime(2025, 6, 1, tzinfo=UTC)


def _at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


def _patient(ref: str, woman: str | None = None, **values: Any) -> models.PatientRecord:
    return models.PatientRecord(
        resource_pk=next(_pk),
        version_id=1,
        institution_id=ref.split("/")[0],
        ref=ref,
        woman_key=woman,
        received_at=NOW,
        **values,
    )


def _fact(model: type[Any], pid: str | None, subject: str, **values: Any) -> Any:
    return model(
        resource_pk=next(_pk),
        version_id=1,
        institution_id=subject.split("/")[0],
        subject=subject,
        pregnancy_id=pid,
        **values,
    )


def _delivery(session: Any, pid: str, woman: str, day: date, babies: list[str | None]) -> None:
    session.add(models.Woman(key=woman, street="S1", residence="resident"))
    session.add(
        models.Pregnancy(
            id=pid,
            woman_key=woman,
            lmp=date(2024, 6, 10),
            end_date=day,
            institutions="hosp-a",
            street="S1",
            residence="resident",
        )
    )
    session.add(
        models.Delivery(
            pregnancy_id=pid,
            delivery_date=day,
            admission_date=day,
            discharge_date=day,
            institution_id="hosp-a",
            live_births=len(babies),
        )
    )
    for seq, ref in enumerate(babies, start=1):
        session.add(models.Birth(pregnancy_id=pid, seq=seq, live=True, newborn_ref=ref))


def _positive(session: Any, pid: str, mother: str, test: str) -> None:
    """A confirmed infection (rule 3): HIV by a confirmatory result, syphilis by a treponemal
    and a non-treponemal test both positive, hepatitis B by HBsAg."""
    methods = {
        "hiv_test": ["confirmatory"],
        "syphilis_test": ["treponemal", "non_treponemal"],
    }.get(test, [None])
    for method in methods:
        session.add(
            _fact(
                models.LabResult,
                pid,
                mother,
                concept=test,
                test_date=date(2024, 9, 1),
                result="positive",
                method=method,
                source="observation",
            )
        )


def _given(
    session: Any, pid: str, child: str, concept: str, at: datetime | None, code: str = "X"
) -> None:
    day = (at or datetime(2025, 3, 13)).date()
    session.add(
        _fact(
            models.Treatment,
            pid,
            child,
            concept=concept,
            treated_date=day,
            code=code,
            administered_at=at,
        )
    )


def _diagnosed(session: Any, subject: str, day: date) -> None:
    session.add(
        _fact(
            models.Diagnosis,
            None,
            subject,
            concept="congenital_syphilis",
            code="A50.9",
            diagnosed_date=day,
        )
    )


@pytest.fixture
def frames(services: Services) -> fact_tables.FactFrames:
    with services.db.transaction() as session:
        # P1: twins of w1, known at hosp-a (both) and hosp-b (twin 1)
        session.add(_patient("hosp-a/Patient/m1", "w1"))
        session.add(_patient("hosp-b/Patient/m1", "w1"))
        twin: dict[str, Any] = {"mother_ref": "hosp-a/Patient/m1", "birth_date": date(2025, 3, 10)}
        session.add(
            _patient("hosp-a/Patient/t1", multiple_birth=1, birth_time=_at(3, 10, 0), **twin)
        )
        session.add(
            _patient("hosp-a/Patient/t2", multiple_birth=2, birth_time=_at(3, 10, 0, 5), **twin)
        )
        session.add(
            _patient(
                "hosp-b/Patient/t1",
                mother_ref="hosp-b/Patient/m1",
                birth_date=date(2025, 3, 10),
                multiple_birth=1,
            )
        )
        _delivery(
            session, "p1", "w1", date(2025, 3, 10), ["hosp-a/Patient/t1", "hosp-a/Patient/t2"]
        )
        _positive(session, "p1", "hosp-a/Patient/m1", "hbsag_test")
        _given(session, "p1", "hosp-a/Patient/t1", "hbig", _at(3, 10, 11))
        _given(session, "p1", "hosp-a/Patient/t1", "hepb_vaccine", _at(3, 10, 23))
        _given(session, "p1", "hosp-a/Patient/t2", "hbig", _at(3, 10, 13, 5))
        _given(session, "p1", "hosp-a/Patient/t2", "hepb_vaccine", _at(3, 11, 1, 5))
        _diagnosed(session, "hosp-b/Patient/t1", date(2025, 3, 15))
        _diagnosed(session, "hosp-a/Patient/t1", date(2025, 3, 20))
        _diagnosed(session, "hosp-a/Patient/t2", date(2025, 4, 2))

        # P2: birth time unknown (no birthTime, the delivery Procedure has a date only)
        session.add(_patient("hosp-a/Patient/m2", "w2"))
        session.add(
            _patient(
                "hosp-a/Patient/b2", mother_ref="hosp-a/Patient/m2", birth_date=date(2025, 3, 12)
            )
        )
        _delivery(session, "p2", "w2", date(2025, 3, 12), ["hosp-a/Patient/b2"])
        session.add(
            _fact(
                models.DeliveryRecord,
                "p2",
                "hosp-a/Patient/m2",
                kind="procedure",
                event_date=date(2025, 3, 12),
                event_at=None,
            )
        )
        _positive(session, "p2", "hosp-a/Patient/m2", "hbsag_test")
        _positive(session, "p2", "hosp-a/Patient/m2", "hiv_test")
        _given(session, "p2", "hosp-a/Patient/b2", "hbig", _at(3, 12, 4))
        _given(session, "p2", "hosp-a/Patient/b2", "hepb_vaccine", None)
        _given(session, "p2", "hosp-a/Patient/b2", "antiretroviral", _at(3, 12, 6), "J05AF*")

        # P3: the birth time from the delivery Procedure; HBIG exactly 12 h later
        session.add(_patient("hosp-a/Patient/m3", "w3"))
        session.add(
            _patient(
                "hosp-a/Patient/b3", mother_ref="hosp-a/Patient/m3", birth_date=date(2025, 3, 13)
            )
        )
        _delivery(session, "p3", "w3", date(2025, 3, 13), ["hosp-a/Patient/b3"])
        session.add(
            _fact(
                models.DeliveryRecord,
                "p3",
                "hosp-a/Patient/m3",
                kind="procedure",
                event_date=date(2025, 3, 13),
                event_at=_at(3, 13, 2),
            )
        )
        _positive(session, "p3", "hosp-a/Patient/m3", "hbsag_test")
        _positive(session, "p3", "hosp-a/Patient/m3", "syphilis_test")
        _given(session, "p3", "hosp-a/Patient/b3", "hbig", _at(3, 13, 14))
        _given(session, "p3", "hosp-a/Patient/b3", "syphilis_treatment", _at(3, 13, 20), "J01CE08")

        # a diagnosis of a child the service does not know, recorded twice
        _diagnosed(session, "hosp-c/Patient/unknown", date(2025, 3, 5))
        _diagnosed(session, "hosp-c/Patient/unknown", date(2025, 3, 3))
    with services.db.reading() as session:
        built = build_frames(session, ("orange", "red", "purple"))
    fact_tables.check_frames(built)
    return built


def test_hours_from_birth_per_baby(frames: fact_tables.FactFrames) -> None:
    births = frames.births.set_index(["pregnancy_id", "seq"])
    hbig = births[fact_tables.HBIG_AFTER_HOURS]
    vaccine = births[fact_tables.HEPB_VACCINE_AFTER_HOURS]
    assert hbig[("p1", 1)] == pytest.approx(11.0)
    assert hbig[("p1", 2)] == pytest.approx(13.0)
    assert vaccine[("p1", 1)] == pytest.approx(23.0)
    assert vaccine[("p1", 2)] == pytest.approx(25.0)
    assert pd.isna(hbig[("p2", 1)])  # no birth time
    assert pd.isna(vaccine[("p2", 1)])
    assert hbig[("p3", 1)] == pytest.approx(12.0)  # the delivery Procedure's time
    assert pd.isna(vaccine[("p3", 1)])  # none given
    assert bool(births.loc[("p2", 1), fact_tables.INFANT_ARV])
    assert bool(births.loc[("p3", 1), fact_tables.INFANT_SYPHILIS_PROPHYLAXIS])
    assert not bool(births.loc[("p1", 1), fact_tables.INFANT_ARV])


def test_a_babys_treatment_is_not_the_mothers(frames: fact_tables.FactFrames) -> None:
    preg = frames.pregnancies.set_index("pregnancy_id")
    assert bool(preg.loc["p2", "hiv_positive"])
    assert not bool(preg.loc["p2", "hiv_treated"])
    assert bool(preg.loc["p3", "syphilis_positive"])
    assert not bool(preg.loc["p3", "syphilis_treated"])


def test_exposed_infant_rates(frames: fact_tables.FactFrames) -> None:
    results = compute(frames, "2025-03")
    # live births of HBsAg-positive mothers: 2 + 1 + 1 = 4; HBIG on time: P1 twin 1 (11 h)
    # and P3 (12 h); P1 twin 2 (13 h) late, P2 birth time unknown
    assert counts(results, "hbig_12h_rate") == (2, 4)
    # vaccine on time: P1 twin 1 (23 h) only
    assert counts(results, "hepb_vaccine_24h_rate") == (1, 4)
    assert counts(results, "hiv_exposed_infant_arv_rate") == (1, 1)
    assert counts(results, "syphilis_exposed_infant_prophylaxis_rate") == (1, 1)
    # hours are settings: 13 h makes P1 twin 2 on time; 25 h its vaccine
    wider = IndicatorSettings(hbig_hours=13, hepb_vaccine_hours=25)
    results = compute(frames, "2025-03", settings=wider)
    assert counts(results, "hbig_12h_rate") == (3, 4)
    assert counts(results, "hepb_vaccine_24h_rate") == (2, 4)
    narrower = IndicatorSettings(hbig_hours=11)
    assert counts(compute(frames, "2025-03", settings=narrower), "hbig_12h_rate") == (1, 4)


def test_congenital_syphilis_counts_children_at_their_first_diagnosis(
    frames: fact_tables.FactFrames,
) -> None:
    cases = frames.congenital_syphilis.sort_values("recorded_date").reset_index(drop=True)
    # twin 1 (two Conditions, two institutions) = 1 case on 15 March by hosp-b; twin 2 = 1
    # case on 2 April; the unknown subject (recorded twice) = 1 case on 3 March
    assert list(cases["recorded_date"]) == [
        pd.Timestamp("2025-03-03"),
        pd.Timestamp("2025-03-15"),
        pd.Timestamp("2025-04-02"),
    ]
    assert list(cases["reporting_institution"]) == ["hosp-c", "hosp-b", "hosp-a"]
    assert cases["case_id"].is_unique
    # March: twin 1's case over the 4 live births of the district's residents; the unknown
    # subject's case has no mother, so no known residence: the address_unknown line
    assert counts(compute(frames, "2025-03"), "congenital_syphilis_rate") == (1, 4)
    unknown = compute(frames, "2025-03", area="address_unknown")
    assert counts(unknown, "congenital_syphilis_rate") == (1, 0)
    assert counts(compute(frames, "2025-04"), "congenital_syphilis_rate") == (1, 0)
    assert (
        counts(compute(frames, "2025-03", institution="hosp-b"), "congenital_syphilis_rate")[0] == 1
    )
