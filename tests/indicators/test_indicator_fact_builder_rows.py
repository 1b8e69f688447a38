"""Row-level facts of the fact builder (mch_service/indicators/loaders.py) that the window tests
of test_indicator_loader_edges.py do not reach: the births' delivery mode, a dose in the first
hour of life, the congenital syphilis cases' child key, residence and drill-down pregnancy, and
the maternal deaths' missing street. Records are written straight into the domain tables;
every expected value is worked out by hand in the comments."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import pytest

from mch_service.app import Services
from mch_service.death_reports.models import MaternalDeathReport
from mch_service.domain import models
from mch_service.indicators import fact_tables
from mch_service.indicators.loaders import build_frames

D = date
NOW = datetime(2025, 9, 1, tzinfo=UTC)
_pk = itertools.count(7000)


def _frames(services: Services) -> fact_tables.FactFrames:
    with services.db.reading() as session:
        frames = build_frames(session, ("orange", "red", "purple"))
    fact_tables.check_frames(frames)
    return frames


def _patient(ref: str, woman: str | None = None, **values: Any) -> models.PatientRecord:
    return models.PatientRecord(
        resource_pk=next(_pk),
        version_id=1,
        institution_id="hosp-a",
        ref=ref,
        woman_key=woman,
        received_at=NOW,
        **values,
    )


def _pregnancy(pid: str, woman: str, end: date | None) -> models.Pregnancy:
    return models.Pregnancy(
        id=pid, woman_key=woman, end_date=end, street="330102001", institutions="hosp-a"
    )


def _delivery(pid: str, mode: str | None, facility: bool) -> models.Delivery:
    day = D(2025, 8, 6)
    return models.Delivery(
        pregnancy_id=pid,
        delivery_date=day,
        admission_date=day,
        discharge_date=day,
        institution_id="hosp-a",
        mode=mode,
        facility=facility,
        live_births=1,
    )


def _diagnosis(subject: str | None, day: date) -> models.Diagnosis:
    return models.Diagnosis(
        resource_pk=next(_pk),
        version_id=1,
        institution_id="hosp-a",
        subject=subject,
        concept="congenital_syphilis",
        code="A50.9",
        diagnosed_date=day,
    )


def test_births_carry_the_delivery_mode_and_a_dose_in_the_first_hour(services: Services) -> None:
    # "cs": a caesarean in hospital, baby born 10:00 UTC, HBIG at 10:30 (0.5 h) and the vaccine
    # at 12:00 (2 h). "home": a birth at home whose mode nobody recorded: not a caesarean (an
    # unknown mode is not one), not in a facility; no doses.
    with services.db.transaction() as session:
        for pid, mode, facility in (("cs", "caesarean", True), ("home", None, False)):
            session.add(_pregnancy(pid, f"w-{pid}", D(2025, 8, 6)))
            session.add(_delivery(pid, mode, facility))
            session.add(
                models.Birth(
                    pregnancy_id=pid, seq=1, live=True, weight_g=3000.0, newborn_ref=f"P/{pid}-b"
                )
            )
        session.add(_patient("P/cs-b", birth_time=datetime(2025, 8, 6, 10, 0, tzinfo=UTC)))
        for concept, minute in (("hbig", 30), ("hepb_vaccine", 120)):
            session.add(
                models.Treatment(
                    resource_pk=next(_pk),
                    version_id=1,
                    institution_id="hosp-a",
                    subject="P/cs-b",
                    pregnancy_id=None,
                    concept=concept,
                    treated_date=D(2025, 8, 6),
                    code="X",
                    administered_at=datetime(2025, 8, 6, 10, 0, tzinfo=UTC)
                    + pd.Timedelta(minutes=minute).to_pytimedelta(),
                )
            )
    births = _frames(services).births.set_index("pregnancy_id")
    assert births[fact_tables.CAESAREAN].to_dict() == {"cs": True, "home": False}
    assert births[fact_tables.FACILITY_DELIVERY].to_dict() == {"cs": True, "home": False}
    assert births.loc["cs", fact_tables.HBIG_AFTER_HOURS] == pytest.approx(0.5)
    assert births.loc["cs", fact_tables.HEPB_VACCINE_AFTER_HOURS] == pytest.approx(2.0)
    assert pd.isna(births.loc["home", fact_tables.HBIG_AFTER_HOURS])


def test_congenital_syphilis_child_key_residence_and_mothers_pregnancy(
    services: Services,
) -> None:
    # Rule 6 (docs/indicator-rules.md): one case per child; the child is known by its mother,
    # birth date and order; without a birth date (or without a subject) it is only itself.
    # The case carries its mother's street and residence, and for drill-down the mother's
    # pregnancy ending on the child's birth day, else her last one ending on or before the
    # diagnosis day.
    with services.db.transaction() as session:
        session.add(models.Woman(key="w-m", street="330102001", residence="resident"))
        session.add(models.Woman(key="w-o", street="330102009", residence="non_resident"))
        # w-m's pregnancies end 2019-01-10 (A), 2021-03-01 (B), 2024-05-01 (C); one ongoing
        for pid, end in (
            ("m-A", D(2019, 1, 10)),
            ("m-B", D(2021, 3, 1)),
            ("m-C", D(2024, 5, 1)),
            ("m-now", None),
        ):
            session.add(_pregnancy(pid, "w-m", end))
        # w-o's only pregnancy has not ended: her child's case has no pregnancy to point at
        session.add(_pregnancy("o-now", "w-o", None))
        session.add(_patient("P/m", "w-m"))
        session.add(_patient("P/o", "w-o"))
        # two of w-m's children sent without a birth date: two children, not one
        session.add(_patient("P/m-x", mother_ref="P/m"))
        session.add(_patient("P/m-y", mother_ref="P/m"))
        # one born on C's last day
        session.add(_patient("P/m-c", mother_ref="P/m", birth_date=D(2024, 5, 1)))
        session.add(_patient("P/o-k", mother_ref="P/o", birth_date=D(2025, 2, 1)))
        diagnoses = {
            "x": _diagnosis("P/m-x", D(2022, 6, 1)),
            "y": _diagnosis("P/m-y", D(2023, 1, 1)),
            "c": _diagnosis("P/m-c", D(2024, 6, 1)),
            "k": _diagnosis("P/o-k", D(2025, 3, 1)),
            # a newborn the service cannot link to a mother: no street (None), unknown residence
            "u": _diagnosis("P/unlinked", D(2025, 4, 1)),
            # two diagnoses with no subject: nothing says they are one child
            "n1": _diagnosis(None, D(2025, 5, 1)),
            "n2": _diagnosis(None, D(2025, 5, 2)),
        }
        for row in diagnoses.values():
            session.add(row)
        session.flush()
        case_of = {str(row.resource_pk): name for name, row in diagnoses.items()}
    cases = _frames(services).congenital_syphilis
    got = {
        # (pregnancy_id is drill-down only; a missing one may read as NaN)
        case_of[row["case_id"]]: (
            None if pd.isna(row["pregnancy_id"]) else row["pregnancy_id"],
            row["street"],
            row["residence"],
        )
        for _, row in cases.iterrows()
    }
    assert got == {
        # diagnosed 2022-06-01, no birth date: last pregnancy ending by then is B (A earlier,
        # C later)
        "x": ("m-B", "330102001", "resident"),
        # diagnosed 2023-01-01: again B
        "y": ("m-B", "330102001", "resident"),
        # born 2024-05-01 = C's end: C (not A, the earliest ending)
        "c": ("m-C", "330102001", "resident"),
        # her mother's street and residence, no ended pregnancy
        "k": (None, "330102009", "non_resident"),
        "u": (None, None, fact_tables.RESIDENCE_UNKNOWN),
        "n1": (None, None, fact_tables.RESIDENCE_UNKNOWN),
        "n2": (None, None, fact_tables.RESIDENCE_UNKNOWN),
    }
    # a missing street is None (the contract's missing value), not a float NaN
    assert cases.loc[cases["case_id"] == str(diagnoses["u"].resource_pk), "street"].iloc[0] is None


def test_a_card_death_without_street_has_none_and_rows_have_their_own_labels(
    services: Services,
) -> None:
    # One fed death (her street 330102001) and two report cards, one on street 330102002 and
    # one without a street: that card's street is None (the contract's missing value), not
    # NaN; the three rows have three distinct row labels.
    with services.db.transaction() as session:
        session.add(models.Woman(key="w-d", street="330102001", residence="resident"))
        session.add(
            models.Death(
                woman_key="w-d",
                death_date=D(2025, 8, 20),
                pregnancy_id="p-d",
                institution_id="hosp-a",
                maternal=True,
                timing="postpartum",
            )
        )
        ids = []
        for street in ("330102002", None):
            card = MaternalDeathReport(
                kind="entered",
                woman_key=None,
                death_date=D(2025, 7, 4),
                street=street,
                institution_id="mch-centre",
                classification="direct",
                review_status="pending",
                created_by="tester",
                created_at=NOW,
                updated_at=NOW,
            )
            session.add(card)
            session.flush()
            ids.append(f"card-{card.id}")
    deaths = _frames(services).maternal_deaths
    assert deaths.index.is_unique
    by_pid = deaths.set_index("pregnancy_id")
    assert by_pid.loc["p-d", "street"] == "330102001"
    assert by_pid.loc[ids[0], "street"] == "330102002"
    assert by_pid.loc[ids[1], "street"] is None


def test_the_mothers_pregnancies_of_more_than_one_batch_of_women(services: Services) -> None:
    # The mothers' pregnancies are read 500 women at a time: with 501 mothers the 501st (in
    # key order, w-0500) is in a second batch and her child's case still points at her
    # pregnancy (each child born on the day its mother's pregnancy ended).
    n = 501
    with services.db.transaction() as session:
        for i in range(n):
            woman = f"w-{i:04d}"
            session.add(_pregnancy(f"p-{i:04d}", woman, D(2025, 1, 1)))
            session.add(_patient(f"P/m{i}", woman))
            session.add(_patient(f"P/c{i}", mother_ref=f"P/m{i}", birth_date=D(2025, 1, 1)))
            session.add(_diagnosis(f"P/c{i}", D(2025, 2, 1)))
    cases = _frames(services).congenital_syphilis
    assert len(cases) == n
    assert set(cases["pregnancy_id"]) == {f"p-{i:04d}" for i in range(n)}
