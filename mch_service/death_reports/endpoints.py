"""Maternal death report card routes (孕产妇死亡报告卡): list, read one, enter, review."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from mch_service.auth.dependencies import CurrentStaff
from mch_service.death_reports.schemas import (
    DeathCardCreate,
    DeathReview,
    MaternalDeathList,
    MaternalDeathRead,
)
from mch_service.death_reports.service import MAX_PAGE_SIZE, DeathQuery
from mch_service.deps import ServicesDep, in_transaction

router = APIRouter(prefix="/api/v1/maternal-deaths", tags=["maternal deaths"])


def death_filters(
    status: Literal["pending", "confirmed", "excluded"] | None = None,
    source: Literal["feed", "entered"] | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> DeathQuery:
    return DeathQuery(status, source, page, page_size)


Filters = Annotated[DeathQuery, Depends(death_filters)]


@router.get("", response_model=MaternalDeathList)
async def list_deaths(
    services: ServicesDep, principal: CurrentStaff, q: Filters
) -> MaternalDeathList:
    """Every maternal death, fed and entered, newest first; identifiers masked (audited)."""
    return await in_transaction(services, services.deaths.list_deaths, principal, q)


@router.get("/{death_id}", response_model=MaternalDeathRead)
async def read_death(
    death_id: str, services: ServicesDep, principal: CurrentStaff
) -> MaternalDeathRead:
    """One death with the review's reason (audited)."""
    return await in_transaction(services, services.deaths.read, principal, death_id)


@router.post("", response_model=MaternalDeathRead, status_code=201)
async def create_death(
    card: DeathCardCreate, services: ServicesDep, principal: CurrentStaff
) -> MaternalDeathRead:
    """Enter a death from a report card (one no feed reports)."""
    return await in_transaction(services, services.deaths.create, principal, card)


@router.post("/{death_id}/review", response_model=MaternalDeathRead)
async def review_death(
    death_id: str, review: DeathReview, services: ServicesDep, principal: CurrentStaff
) -> MaternalDeathRead:
    """Confirm a death, or exclude it with a reason; the indicators follow on their next run."""
    return await in_transaction(services, services.deaths.review, principal, death_id, review)
