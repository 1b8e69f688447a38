"""What the reviewers' API takes and returns: request bodies passed whole to the case service,
and the response shapes (the OpenAPI document shows them to staff-tool authors)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# -- request bodies --------------------------------------------------------------------------


class CaseVersion(BaseModel):
    """The case version the reviewer read: a change to a case that moved since is refused."""

    version: int | None = None


class FollowUpCreate(CaseVersion):
    contact_date: date
    kind: str  # phone | home_visit | clinic_visit | referral
    outcome: str
    notes: str | None = None
    next_due: date | None = None


class AssignmentUpdate(CaseVersion):
    assignee: str | None = None  # None or "" unassigns


class ReasonedChange(CaseVersion):
    """Closing or reopening a case: the reviewer's reason (required, sealed when stored) and,
    when closing, its code: transferred_out (转出), lost_to_follow_up (失访), moved_away (迁出)
    or other (the default)."""

    reason: str = ""
    code: str | None = None


# -- responses -------------------------------------------------------------------------------


class CaseRead(BaseModel):
    pregnancy_id: str
    status: str  # open | closed
    opened_on: date
    colour: str | None
    purple: bool
    street: str | None
    assignee: str | None
    closed_on: date | None
    close_code: str | None = None  # worklists.CLOSE_REASONS: transferred_out, ...
    close_reason: str | None
    next_due: date | None
    version: int


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


class CaseWorkItem(BaseModel):
    """A list the case is on, as the case page shows it."""

    model_config = ConfigDict(populate_by_name=True)

    list_name: str = Field(alias="list")
    since: date
    overdue: bool
    reason: str
    clears: str


class FollowUpRead(BaseModel):
    id: int
    contact_date: date
    kind: str
    outcome: str
    next_due: date | None
    recorded_by: str
    notes: str | None


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
