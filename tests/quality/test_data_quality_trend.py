"""The 12-month data-quality trend counts in one query per kind, grouped by month: its numbers
are those the sender's own view (``sender_view``) gives for each month on its own, the way the
trend was computed before (one full view per month), on a seeded district whose rows sit on
both sides of the months' edges in the district's time zone. On both databases."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from mch_service.app import Services
from mch_service.errors import InvalidResource
from mch_service.quality.service import SENDER_KINDS, last_months, monthly_trend, sender_view
from mch_service.store.models import FhirReference, FhirResource
from mch_service.timeutil import to_utc
from tests.auth.test_accounts import add_user, bearer, token_for
from tests.quality.district import seed_district, spread_over_months


def _old_trend(
    services: Services, institution: str, zone: ZoneInfo, months: list[str]
) -> list[dict[str, object]]:
    """The trend as it was: the sender's whole view, once per month, its summary's counts."""
    out = []
    with services.db.reading() as session:
        for month in months:
            summary = sender_view(session, institution, zone, month, (), 0, 0)["summary"]
            out.append({"month": month, **{k: int(summary[k]) for k in SENDER_KINDS}})
    return out


def _unresolved_by_month(services: Services, institution: str, zone: ZoneInfo) -> Counter[str]:
    """Worked out apart from any query of the service: each reference of the sender's live
    records against the set of its live records' "Type/id", by the month of the record's
    last write in the district's time zone."""
    with services.db.reading() as session:
        records = session.execute(
            select(
                FhirResource.pk,
                FhirResource.resource_type,
                FhirResource.fhir_id,
                FhirResource.last_updated,
            ).where(FhirResource.institution_id == institution, FhirResource.deleted.is_(False))
        ).all()
        refs = session.execute(select(FhirReference.resource_pk, FhirReference.target)).all()
    live = {f"{t}/{i}" for _, t, i, _ in records}
    received = {pk: to_utc(at).astimezone(zone).strftime("%Y-%m") for pk, _, _, at in records}
    return Counter(received[pk] for pk, target in refs if pk in received and target not in live)


def test_the_grouped_trend_gives_the_per_month_views_counts(
    services: Services, tmp_path: Path
) -> None:
    zone = ZoneInfo(services.settings.timezone)
    busiest = seed_district(services, tmp_path / "sim")
    today = datetime.now(zone).date()
    spread_over_months(services, zone, today)
    # 15 months to next month's: some rows fall before the first, some in the last
    index = today.year * 12 + today.month  # next month's, counted from January of year 0
    months = [*last_months(today, 14), f"{index // 12:04d}-{index % 12 + 1:02d}"]
    with services.db.reading() as session:
        institutions = sorted(
            str(i) for i in session.scalars(select(FhirResource.institution_id).distinct())
        )
    assert busiest in institutions
    for inst in institutions:
        with services.db.reading() as session:
            new = monthly_trend(session, inst, zone, months)
        assert new == _old_trend(services, inst, zone, months), inst
    # the unresolved references, also counted by hand
    unresolved = _unresolved_by_month(services, busiest, zone)
    with services.db.reading() as session:
        got = monthly_trend(session, busiest, zone, months)
    assert {m["month"]: m["unresolved_references"] for m in got} == {
        m: unresolved.get(m, 0) for m in months
    }
    # not a comparison of zeros: the busiest institution has each kind in several months
    with services.db.reading() as session:
        trend = monthly_trend(session, busiest, zone, months)
    for kind in SENDER_KINDS:
        assert sum(1 for m in trend if m[kind]) >= 2, (kind, trend)
    # and a year-long trend adds up to the sender's view over the months it covers
    with services.db.reading() as session:
        year = monthly_trend(session, busiest, zone, last_months(today, 12))
    assert len(year) == 12
    assert year == [m for m in trend if m["month"] in {y["month"] for y in year}]


def test_a_month_that_is_no_month_is_refused(services: Services) -> None:
    zone = ZoneInfo(services.settings.timezone)
    with services.db.reading() as session, pytest.raises(InvalidResource):
        monthly_trend(session, "hosp-a", zone, ["2025-13"])
    with services.db.reading() as session:
        assert monthly_trend(session, "hosp-a", zone, []) == []


def test_the_trend_route_answers_the_grouped_counts(
    services: Services, http: httpx.Client, tmp_path: Path
) -> None:
    zone = ZoneInfo(services.settings.timezone)
    busiest = seed_district(services, tmp_path / "sim", pregnancies=8)
    today = datetime.now(zone).date()
    spread_over_months(services, zone, today)
    add_user(services, "mon1", "monitor")
    answer = http.get(
        f"/api/v1/data-quality/trend?institution={busiest}&months=12",
        headers=bearer(token_for(http, "mon1")),
    )
    assert answer.status_code == 200, answer.text
    months = answer.json()["months"]
    assert months == _old_trend(services, busiest, zone, last_months(today, 12))
