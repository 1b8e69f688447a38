"""The data-quality table's shares as text: one decimal, but a share that is not zero is never
shown as 0.0 % (4 rejections among 15,000 requests), nor one short of all as 100.0 %."""

from __future__ import annotations

import pytest

from mch_service.web.monitor_pages import _quality_text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0.0%"),
        (4 / 15416, "<0.1%"),  # 0.026 %
        (0.0005, "0.1%"),  # 0.05 % rounds up to one decimal
        (0.123, "12.3%"),
        (15410 / 15416, ">99.9%"),  # 99.96 %
        (0.9994, "99.9%"),
        (1, "100.0%"),
        (None, "—"),
    ],
)
def test_a_share_that_is_not_zero_is_never_shown_as_zero(value: float | None, text: str) -> None:
    assert _quality_text("rejection_rate", value) == text


def test_counts_and_delays_are_not_shares() -> None:
    assert _quality_text("rejections", 4) == "4"
    assert _quality_text("delay_days_median", 3.14159) == "3.1"
