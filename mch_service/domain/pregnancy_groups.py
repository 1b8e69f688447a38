"""What stage 2 works with and gives: a pregnancy being grouped (its window), the rows one
woman's assembly gives, and the timing rules the grouping uses."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

TERM = 280
WINDOW_BEFORE_END = 310  # the earliest LMP that can belong to a delivery
POSTPARTUM_DAYS = 56  # facts up to delivery + 56 days belong to the pregnancy (42-day check)
SAME_EVENT_DAYS = 2  # delivery records this close together are one delivery


@dataclass
class Assembled:
    woman: dict[str, Any]
    pregnancies: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    births: list[dict[str, Any]] = field(default_factory=list)
    deaths: list[dict[str, Any]] = field(default_factory=list)
    assignments: dict[str, dict[int, str]] = field(default_factory=dict)  # table -> id -> preg
    issues: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class PregnancyGroup:
    """A pregnancy while facts are grouped into it."""

    start: date | None  # LMP (estimated)
    end: date | None = None
    end_kind: str | None = None
    delivery: list[dict[str, Any]] = field(default_factory=list)  # delivery records
    encounter: dict[str, Any] | None = None
    facts: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    dating_source: str | None = None

    def window(self) -> tuple[date, date]:
        lo = self.start or ((self.end - timedelta(days=TERM)) if self.end else date.min)
        hi = (
            (self.end + timedelta(days=POSTPARTUM_DAYS))
            if self.end
            else (
                (self.start + timedelta(days=TERM + 30 + POSTPARTUM_DAYS))
                if self.start
                else date.max
            )
        )
        return lo, hi


# Facts that say a woman is pregnant: outside every known pregnancy they start one of their own.
# A diagnosis, a treatment or a newborn measurement alone does not (a thalassaemia recorded
# years before is not a pregnancy).
