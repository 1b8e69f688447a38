"""Concepts that several resource families read the same way (a screening test is a result
Observation or a test-done Procedure; a treatment is a Procedure or a medication)."""

from __future__ import annotations

SCREENING_TESTS = ("hiv_test", "syphilis_test", "hbsag_test", "thalassaemia_test")
TREATMENTS = ("antiretroviral", "syphilis_treatment", "hbig")
