"""The indicator engine's input built from the domain tables, checked against the contract and
against facts worked out by hand for a known pregnancy."""

from __future__ import annotations

import httpx
import pandas as pd

from mch_service.app import Services
from mch_service.indicators import fact_tables
from mch_service.indicators.loaders import build_frames
from tests.domain.fixtures import bundle, entry, patient, uid, visit
from tests.domain.test_pregnancy_record import care_at_three_institutions, post


def test_frames_from_a_pregnancy_at_three_institutions(
    http: httpx.Client, services: Services
) -> None:
    senders = care_at_three_institutions(http, services)
    # a postpartum home visit 10 days after discharge (2025-08-09), by the CHC
    p = uid()
    post(
        http,
        senders["chc"],
        bundle(
            entry(patient("chc-01", "C1"), p),
            entry(
                {
                    **visit(p, "2025-08-19"),
                    "type": [
                        {"coding": [{"system": "http://snomed.info/sct", "code": "169762003"}]}
                    ],
                }
            ),
        ),
    )
    with services.db.reading() as session:
        frames = build_frames(session, ("orange", "red", "purple"))
    fact_tables.check_frames(frames)
    row = frames.pregnancies.iloc[0]
    assert len(frames.pregnancies) == 1
    # LMP 2024-11-01, first contact 2025-01-10: 70 days
    assert row["first_contact_ga_days"] == 70
    assert row["prenatal_check_days"] == 2
    assert row["delivery_date"] == pd.Timestamp("2025-08-06")
    assert row["discharge_date"] == pd.Timestamp("2025-08-09")
    assert bool(row["caesarean"])
    assert bool(row["facility_delivery"])
    assert (row["live_births"], row["stillbirths"]) == (1, 0)
    assert bool(row["postpartum_visit_28d"])
    assert not bool(row["postpartum_42d_check"])
    assert bool(row["hiv_tested"])
    assert bool(row["hiv_tested_in_pregnancy"])
    assert not bool(row["hiv_tested_early"])  # 2025-03-01 is GA 120 days
    assert bool(row["hbsag_positive"])
    assert not bool(row["hiv_positive"])
    assert row["highest_colour"] == "orange"
    assert not bool(row["purple"])
    assert row["first_case_managed_date"] == pd.Timestamp("2025-03-01")
    assert not bool(row["case_managed_contact"])  # no visit after 1 March
    assert bool(row["has_hb"])
    assert bool(row["anaemia"])
    assert row["street"] == "330102001"
    assert row["delivery_institution"] == "hosp-b"
    births = frames.births
    assert births["live"].tolist() == [True]
