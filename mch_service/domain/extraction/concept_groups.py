"""Concepts that several resource families read (a screening test is a result Observation or
a test-done Procedure; a treatment is a Procedure or a medication; a delivery is a Procedure
or an Encounter typed as one)."""

from __future__ import annotations

SCREENING_TESTS = (
    "hiv_test",
    "syphilis_test",
    "hbsag_test",
    "thalassaemia_test",
    "prenatal_screening",
    "prenatal_diagnosis",
)
TREATMENTS = ("antiretroviral", "hbv_antiviral", "syphilis_treatment", "hbig")
DELIVERIES = ("delivery_caesarean", "delivery_instrumental", "delivery_vaginal", "delivery")
