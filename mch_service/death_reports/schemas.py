"""What the maternal death routes take and return (the OpenAPI document shows them)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Outcome = Literal["delivered", "loss", "died_undelivered"]
Classification = Literal["direct", "indirect", "accidental_incidental", "pending"]
ReviewStatus = Literal["pending", "confirmed", "excluded"]
# ICD-10: a letter, two digits, optionally a dot and up to four more characters (O72.1, X70)
ICD10_PATTERN = r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$"


class DeathCardCreate(BaseModel):
    """A maternal death report card (孕产妇死亡报告卡) for a death no feed reports."""

    model_config = ConfigDict(extra="forbid")

    resident_id: str | None = Field(
        None,
        max_length=18,
        description="身份证号 (GB 11643, check digit verified); sealed, hashed for matching",
    )
    name: str | None = Field(None, max_length=100, description="姓名; sealed")
    death_date: date
    pregnancy_end_date: date | None = Field(
        None, description="The delivery or loss day; none when she died undelivered"
    )
    outcome: Outcome
    ga_days: int | None = Field(None, ge=0, le=320, description="GA at the end, in days")
    street: str = Field(min_length=1, max_length=32, description="Street/town code of residence")
    institution_id: str = Field(
        min_length=1, max_length=64, description="The reporting institution (registered)"
    )
    cause_code: str | None = Field(
        None, pattern=ICD10_PATTERN, description="Underlying cause, ICD-10 (e.g. O72.1, Y60.0)"
    )
    classification: Classification | None = Field(
        None, description="Left out: derived from the cause code"
    )


class DeathReview(BaseModel):
    """The monitoring group's review: confirm, or exclude with a reason."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["confirmed", "excluded"]
    reason: str | None = Field(None, max_length=2000, description="Required to exclude; sealed")
    classification: Classification | None = None


class MaternalDeathRead(BaseModel):
    """One maternal death, fed (``source = "feed"``) or entered from a report card."""

    id: str  # feed-<pregnancy id> | card-<number>
    source: Literal["feed", "entered"]
    pregnancy_id: str | None
    name: str | None  # masked unless the reader may see personal data (read one)
    resident_id: str | None
    death_date: date | None
    pregnancy_end_date: date | None
    outcome: str | None
    ga_days: int | None
    street: str | None
    institution_id: str | None
    cause_code: str | None
    cause_class: str | None  # accidental | self_harm | care_complication | obstetric
    classification: str
    counted: bool  # counted in maternal_mortality_ratio (cause rule, review, once per woman)
    review_status: ReviewStatus
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_reason: str | None = None  # in the one-death read only


class MaternalDeathList(BaseModel):
    total: int
    page: int
    page_size: int
    items: list[MaternalDeathRead]
