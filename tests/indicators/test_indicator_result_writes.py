"""The indicator job stores only the result rows that change (``repository.write_results``),
and records its run, so that "when were these figures computed" still moves with every run."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from mch_service.app import Services
from mch_service.indicators import repository
from mch_service.indicators.results import IndicatorResult
from mch_service.timeutil import to_utc
from tests.auth.test_accounts import add_user, bearer, token_for
from tests.domain.test_pregnancy_record import care_at_three_institutions
from tests.indicators.test_indicator_service import twins_without_prenatal_care

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def _row(indicator: str, period: str, numerator: int, at: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "indicator_id": indicator,
        "period": period,
        "area": "district",
        "institution": "all",
        "period_start": date(2025, int(period[5:7]), 1),
        "period_end": date(2025, int(period[5:7]), 28),
        "numerator": numerator,
        "denominator": 10,
        "value": numerator * 10.0,
        "unit": "%",
        "target": 98.0,
        "direction": ">=",
        "status": "not_met",
        "catalogue_version": "1",
        "settings": "{}",
        "computed_at": at,
        **extra,
    }


def _stored(services: Services) -> dict[tuple[str, str], tuple[int, datetime, str | None]]:
    with services.db.reading() as session:
        return {
            (r.indicator_id, r.period): (r.numerator, to_utc(r.computed_at), r.entered_by)
            for r in session.scalars(select(IndicatorResult))
        }


def _write(services: Services, rows: list[dict[str, Any]], periods: list[str], at: datetime) -> int:
    with services.db.transaction() as session:
        return repository.write_results(
            session, rows, periods, False, {"computed_at": at, "full": False}
        )


def test_only_changed_rows_are_written_and_the_run_is_recorded(services: Services) -> None:
    t1, t2, t3 = T0, T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    first = [_row("hiv_test_rate", "2025-01", 5, t1), _row("hiv_test_rate", "2025-02", 6, t1)]
    first.append(_row("syphilis_test_rate", "2025-01", 7, t1))
    assert _write(services, first, ["2025-01", "2025-02"], t1) == 3  # all new
    # an entered external figure in the same period is no computation's to touch
    with services.db.transaction() as session:
        repository.put_result(
            session, _row("premarital_examination_rate", "2025-01", 1, t1, entered_by="mon1")
        )
    # the same figures again: nothing written, every row keeps its time, the run is recorded
    again = [{**r, "computed_at": t2} for r in first]
    assert _write(services, again, ["2025-01", "2025-02"], t2) == 0
    assert {k: v[1] for k, v in _stored(services).items()} == {
        ("hiv_test_rate", "2025-01"): t1,
        ("hiv_test_rate", "2025-02"): t1,
        ("syphilis_test_rate", "2025-01"): t1,
        ("premarital_examination_rate", "2025-01"): t1,
    }
    with services.db.reading() as session:
        run = repository.last_run(session)
        assert run is not None
        assert (to_utc(run.computed_at), run.rows_computed, run.rows_changed) == (t2, 3, 0)
        # readers take the run: the figures were computed (confirmed) at t2
        assert repository.computed_at_of(session, ["2025-01"]) == t2
        assert dict(repository.computed_at_by_indicator(session))["hiv_test_rate"] == t2
        # the entered figure keeps the time it was entered
        assert (
            dict(repository.computed_at_by_indicator(session))["premarital_examination_rate"] == t1
        )
    # January's HIV figure changes, syphilis's January row is no longer computed; February is
    # not among the periods of this run and stays as it is
    third = [_row("hiv_test_rate", "2025-01", 8, t3)]
    assert _write(services, third, ["2025-01"], t3) == 2  # one updated, one deleted
    assert _stored(services) == {
        ("hiv_test_rate", "2025-01"): (8, t3, None),
        ("hiv_test_rate", "2025-02"): (6, t1, None),
        ("premarital_examination_rate", "2025-01"): (1, t1, "mon1"),
    }


def test_every_compared_column_counts_as_a_change(services: Services) -> None:
    base = _row("hiv_test_rate", "2025-03", 5, T0)
    _write(services, [base], ["2025-03"], T0)
    changes = {
        "period_start": date(2025, 3, 2),
        "period_end": date(2025, 3, 31),
        "numerator": 6,
        "denominator": 11,
        "value": 50.5,
        "unit": "‰",
        "target": None,
        "direction": None,
        "status": "met",
        "catalogue_version": "2",
        "settings": '{"x": 1}',
    }
    assert set(changes) == set(repository._COMPARED)
    for n, (column, value) in enumerate(changes.items(), start=1):
        at = T0 + timedelta(minutes=n)
        assert _write(services, [{**base, column: value, "computed_at": at}], ["2025-03"], at) == 1
        assert _write(services, [{**base, "computed_at": at}], ["2025-03"], at) == 1, column


def test_the_job_confirms_unchanged_figures_and_an_incremental_run_leaves_what_full_computes(
    http: httpx.Client, services: Services
) -> None:
    care_at_three_institutions(http, services)
    computed = services.indicators.refresh(full=True)
    assert services.indicators.last_changed == computed > 0  # a new database: all inserted
    before = _stored(services)
    add_user(services, "mon1", "monitor")
    monitor = bearer(token_for(http, "mon1"))

    def shown() -> datetime:
        body = http.get("/api/v1/indicators?period=2025-08", headers=monitor).json()
        return datetime.fromisoformat(body["computed_at"])

    first_shown = shown()
    assert services.indicators.refresh(full=True) == computed
    assert services.indicators.last_changed == 0
    assert _stored(services) == before  # not one row rewritten
    assert shown() > first_shown  # yet the page says the figures were computed again
    twins_without_prenatal_care(http, services)
    assert services.indicators.refresh() > 0
    changed = services.indicators.last_changed
    assert 0 < changed < computed
    after = _stored(services)
    moved = {k for k in after if after[k] != before.get(k)}
    assert len(moved) <= changed  # updates and inserts (deletions leave no row)
    assert ("hiv_test_rate", "2025-08") in moved
    # the incremental run left the table exactly as a full computation makes it
    assert services.indicators.refresh(full=True) > 0
    assert services.indicators.last_changed == 0
