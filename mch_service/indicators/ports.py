"""What the indicator engine reads from other packages through a port (never an import):
the case register's facts for 高危孕产妇管理 (docs/indicator-rules.md, rule 7).

``cases`` and ``indicators`` are siblings (import-linter): the composition root
(``mch_service/services.py``) hands the indicator service a ``CaseFactsReader`` built on the case
service, and the loaders merge what it returns into the pregnancies table
(``case_opened_in_time``, ``case_followed_at_interval``; recorded follow-ups count for
``high_risk_managed``). Without a reader every pregnancy has no case facts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class CaseManagementFacts:
    """Per pregnancy id, what the register says (a pregnancy absent from a field: nothing)."""

    # Days of the recorded follow-ups (contacts by the case team).
    follow_ups: Mapping[str, tuple[date, ...]] = field(default_factory=dict)
    # The case was opened within the reporting limit of its first case-managed assessment.
    opened_in_time: frozenset[str] = frozenset()
    # No gap longer than the colour's interval between contacts, from the first case-managed
    # assessment to 42 days postpartum or the case's closing.
    followed_at_interval: frozenset[str] = frozenset()
    # Outcomes recorded by a reviewer (POST /api/v1/cases/{id}/outcome), reported by a reviewer
    # and not by a hospital: pregnancy id -> (kind, day). The engine counts none of them in the
    # delivery cohort (docs/indicator-rules.md, "Outcomes recorded by a reviewer").
    reported_outcomes: Mapping[str, tuple[str, date | None]] = field(default_factory=dict)


# (session, woman keys or None for everyone) -> the facts of their pregnancies
CaseFactsReader = Callable[[Session, Sequence[str] | None], CaseManagementFacts]


def no_case_facts(session: Session, women: Sequence[str] | None) -> CaseManagementFacts:
    return CaseManagementFacts()


class CaseRegister(Protocol):
    """The port: the register's facts, and what changed in it (a recorded follow-up, a closing)
    so that the incremental indicator job rebuilds those women's rows too."""

    def facts(self, session: Session, women: Sequence[str] | None) -> CaseManagementFacts: ...

    def last_change(self, session: Session) -> datetime | None: ...

    def women_changed_since(self, session: Session, watermark: datetime | None) -> list[str]: ...


class NoCaseRegister:
    """No register wired (tests of the engine alone): no case facts, never a change."""

    def facts(self, session: Session, women: Sequence[str] | None) -> CaseManagementFacts:
        return CaseManagementFacts()

    def last_change(self, session: Session) -> datetime | None:
        return None

    def women_changed_since(self, session: Session, watermark: datetime | None) -> list[str]:
        return []
