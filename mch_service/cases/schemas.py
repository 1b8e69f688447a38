"""What the reviewers' API takes and returns: request bodies passed whole to the case service,
and the response shapes (the OpenAPI document shows them to staff-tool authors)."""

from __future__ import annotations

import datetime as dt
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# -- request bodies --------------------------------------------------------------------------


class CaseVersion(BaseModel):
    """The case version the reviewer read: a change to a case that moved since is refused."""

    version: int | None = None


class FollowUpCreate(CaseVersion):
    """A follow-up: ``kind`` and ``outcome`` are codes (worklists.FOLLOW_UP_KINDS,
    FOLLOW_UP_OUTCOMES; an outcome in free text is kept, sealed, as 其他 other);
    ``next_due`` never before ``contact_date``; ``corrects`` the id of an earlier follow-up of
    this pregnancy this one replaces (the original stays in the history)."""

    contact_date: date
    kind: str  # phone | home_visit | clinic_visit | referral
    outcome: str
    notes: str | None = None
    next_due: date | None = None
    corrects: int | None = None


class AssignmentUpdate(CaseVersion):
    assignee: str | None = None  # None or "" unassigns


class OutcomeCreate(CaseVersion):
    """The outcome of a pregnancy, recorded by a reviewer: ``kind`` one of
    worklists.OUTCOME_KINDS (delivered_elsewhere needs date and place; miscarriage,
    termination and died a date), ``source`` one of OUTCOME_SOURCES (who told), ``place`` and
    ``note`` free text (sealed)."""

    kind: str
    date: dt.date | None = None
    place: str | None = None
    source: str | None = None
    note: str | None = None


class ReasonedChange(CaseVersion):
    """Closing or reopening a case: the reviewer's reason (required, sealed when stored) and,
    when closing, its code: transferred_out (转出), lost_to_follow_up (失访), moved_away (迁出)
    or other (the default)."""

    reason: str = ""
    code: str | None = None


# -- responses -------------------------------------------------------------------------------


class OutcomeRead(BaseModel):
    """The outcome a reviewer recorded (reported by a reviewer, not by a hospital)."""

    kind: str
    label_zh: str
    label_en: str
    date: dt.date | None
    place: str | None
    source: str | None
    note: str | None
    recorded_by: str | None
    reported_by: str = "reviewer"


class CaseRead(BaseModel):
    pregnancy_id: str
    status: str  # open | closed
    opened_on: date | None  # None: no record yet (version 0; the first action opens one)
    colour: str | None
    purple: bool
    street: str | None
    assignee: str | None
    closed_on: date | None
    close_code: str | None = None  # worklists.CLOSE_REASONS: transferred_out, ...
    close_reason: str | None
    next_due: date | None
    version: int
    # False: a lightweight record (opened by a reviewer's action, not by a case-managed colour)
    managed: bool = True
    outcome: OutcomeRead | None = None


class Assignee(BaseModel):
    """A colleague a case may be assigned to: an active reviewer whose jurisdiction covers
    the woman."""

    username: str
    display_name: str
    streets: list[str]
    institutions: list[str]


class Code(BaseModel):
    code: str
    label_zh: str
    label_en: str


class CaseCodes(BaseModel):
    """The coded actions of the case register, with Chinese and English labels."""

    follow_up_kinds: list[Code]
    follow_up_outcomes: list[Code]
    outcome_kinds: list[Code]
    outcome_sources: list[Code]
    close_reasons: list[Code]
    lists: list[Code]


class WorkListItem(BaseModel):
    """One pregnancy on one work list, with her case's state and her masked identity (``name``
    and ``resident_id`` are absent when no patient record of hers is stored)."""

    model_config = ConfigDict(populate_by_name=True)

    list_name: str = Field(alias="list")
    pregnancy_id: str
    since: date
    overdue: bool
    colour: str | None
    purple: bool
    street: str | None
    institutions: list[str]
    reason: str
    clears: str
    as_of: date
    assignee: str | None
    case_status: str | None
    name: str | None = None
    resident_id: str | None = None
    # the call sheet (issue 16); full_name and phone for staff allowed to read personal data
    # (audited), absent otherwise or when no patient record of hers is stored
    full_name: str | None = None
    phone: str | None = None
    list_label_zh: str = ""
    reason_zh: str = ""
    clears_zh: str = ""
    street_name: str | None = None
    street_missing: bool = False
    centre: str | None = None  # the responsible community health centre's id
    centre_name: str | None = None
    institution_names: list[str] = []
    last_contact: date | None = None
    next_due: date | None = None
    days_overdue: int = 0
    gestational_age: str | None = None  # weeks+days at as_of ("32+4"), in pregnancy
    edd: date | None = None
    days_postpartum: int | None = None
    risk_factors: str = ""


class CloseReasonCount(BaseModel):
    """Closed cases counted per close reason (转出, 失访, 迁出, ...)."""

    code: str
    label_zh: str
    label_en: str
    cases: int


class CaseList(BaseModel):
    total: int
    page: int
    page_size: int
    items: list[WorkListItem]


class ListCount(BaseModel):
    """One work list's items (and how many are overdue) matching the filters."""

    model_config = ConfigDict(populate_by_name=True)

    list_name: str = Field(alias="list")
    label_zh: str
    total: int
    overdue: int


class ListCounts(BaseModel):
    """The count of every work list under the same filters (all but ``list``), at the lists'
    day ``as_of`` (None before the first run of the work_lists job)."""

    as_of: date | None
    lists: list[ListCount]


class CaseWorkItem(BaseModel):
    """A list the case is on, as the case page shows it."""

    model_config = ConfigDict(populate_by_name=True)

    list_name: str = Field(alias="list")
    since: date
    overdue: bool
    reason: str
    clears: str
    reason_zh: str = ""
    clears_zh: str = ""
    next_due: date | None = None
    as_of: date | None = None


class FollowUpRead(BaseModel):
    """A recorded follow-up; a corrected one stays in the history with ``corrected_by`` (the
    id of the follow-up that replaced it) and counts no more."""

    id: int
    contact_date: date
    kind: str
    kind_label: str = ""
    outcome: str
    outcome_code: str = "other"
    outcome_label: str = ""
    next_due: date | None
    recorded_by: str
    notes: str | None
    corrects: int | None = None
    corrected_by: int | None = None


class CaseEventRead(BaseModel):
    action: str
    detail: str | None
    by: str
    at: str  # ISO 8601 with its offset (UTC: +00:00)


class CaseDetail(BaseModel):
    case: CaseRead
    work_items: list[CaseWorkItem]
    follow_ups: list[FollowUpRead]
    events: list[CaseEventRead]
    gradings: list[dict[str, Any]]  # the risk assessments of the pregnancy's timeline
    pregnancy: dict[str, Any]  # the pregnancy record as the domain reads it (GET /pregnancies)
