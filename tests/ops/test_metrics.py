"""/metrics: who may read it, and that each figure moves with what it counts (as deltas: the
counters of this test process are shared by every test it runs)."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import delete

from jobs.runner import run_job
from mch_service.app import Services
from mch_service.audit.service import Actor, AuditRecord, record
from mch_service.domain.models import AssemblyQueue
from mch_service.indicators.results import IndicatorResult, IndicatorRun
from mch_service.scheduling.service import try_lease
from mch_service.timeutil import utcnow
from tests.auth.test_accounts import PASSWORD, add_user, bearer, token_for
from tests.conftest import SenderKey

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def admin(services: Services, http: httpx.Client) -> dict[str, str]:
    add_user(services, "ops-admin", "admin")
    return bearer(token_for(http, "ops-admin"))


def scrape(http: httpx.Client, headers: dict[str, str]) -> Samples:
    r = http.get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    out: Samples = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_are_for_administrators_and_the_scraper(
    services: Services, http: httpx.Client, admin: dict[str, str]
) -> None:
    assert http.get("/metrics").status_code == 401
    add_user(services, "ops-monitor", "monitor")
    assert http.get("/metrics", headers=bearer(token_for(http, "ops-monitor"))).status_code == 403
    assert http.get("/metrics", headers=admin).status_code == 200
    # the scraper's own secret, once it is configured
    assert http.get("/metrics", headers=bearer("scrape-me-0123456789")).status_code == 401
    services.settings = services.settings.model_copy(
        update={"metrics_token": "scrape-me-0123456789"}
    )
    assert http.get("/metrics", headers=bearer("scrape-me-0123456789")).status_code == 200
    assert http.get("/metrics", headers=bearer("scrape-me-01234567890")).status_code == 401


def test_requests_by_route_template_and_status(
    http: httpx.Client, admin: dict[str, str], sender: SenderKey
) -> None:
    before = scrape(http, admin)
    for n in range(3):
        assert http.get(f"/fhir/Patient/nope-{n}", headers=sender.headers).status_code == 404
    after = scrape(http, admin)
    labels = {"method": "GET", "route": "/fhir/{rtype}/{fhir_id}", "status": "404"}
    assert (
        value(after, "mch_http_requests_total", **labels)
        - value(before, "mch_http_requests_total", **labels)
        == 3
    )
    # latency: one observation per request, by template (never the raw path with its id)
    hist = {"method": "GET", "route": "/fhir/{rtype}/{fhir_id}"}
    assert (
        value(after, "mch_http_request_duration_seconds_count", **hist)
        - value(before, "mch_http_request_duration_seconds_count", **hist)
        == 3
    )
    assert not any("nope-" in str(key) for key in after)


def test_resources_ingested_and_rejected_by_sender_and_type(
    http: httpx.Client, admin: dict[str, str], sender: SenderKey
) -> None:
    before = scrape(http, admin)
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "request": {"method": "POST", "url": "Patient"},
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": "urn:mrn:a", "value": f"M-{n}"}],
                },
            }
            for n in range(3)
        ],
    }
    assert http.post("/fhir", json=bundle, headers=sender.headers).status_code == 200
    bad = {"resourceType": "Patient", "gender": "sometimes"}
    assert http.post("/fhir/Patient", json=bad, headers=sender.headers).status_code == 400
    after = scrape(http, admin)
    ingested = {"sender": sender.institution_id, "type": "Patient", "action": "create"}
    assert (
        value(after, "mch_fhir_resources_ingested_total", **ingested)
        - value(before, "mch_fhir_resources_ingested_total", **ingested)
        == 3
    )
    rejected = {"sender": sender.institution_id, "type": "Patient"}
    assert (
        value(after, "mch_fhir_resources_rejected_total", **rejected)
        - value(before, "mch_fhir_resources_rejected_total", **rejected)
        == 1
    )


def test_a_rolled_back_write_counts_nothing(
    services: Services, http: httpx.Client, admin: dict[str, str]
) -> None:
    before = scrape(http, admin)
    rec = AuditRecord("fhir.create", "success", "Observation", "x", 201)

    def failing_write() -> None:
        with services.db.transaction() as session:
            record(session, Actor("institution", "hosp-r"), [rec])
            raise RuntimeError("the write failed after its audit row")

    with pytest.raises(RuntimeError):
        failing_write()
    with services.db.transaction() as session:
        record(session, Actor("institution", "hosp-r"), [rec, rec])
    after = scrape(http, admin)
    labels = {"sender": "hosp-r", "type": "Observation", "action": "create"}
    assert (
        value(after, "mch_fhir_resources_ingested_total", **labels)
        - value(before, "mch_fhir_resources_ingested_total", **labels)
        == 2
    )


def test_login_failures_and_lockouts(
    services: Services, http: httpx.Client, admin: dict[str, str]
) -> None:
    add_user(services, "ops-victim", "monitor")
    threshold = services.settings.lockout_threshold
    before = scrape(http, admin)
    for _ in range(threshold):  # the last one starts the back-off
        r = http.post("/api/v1/token", json={"username": "ops-victim", "password": "wrong"})
        assert r.status_code == 401
    # at once (the first wait is 1 s; a scrape in between could outlast it on a loaded machine):
    # slowed down, so the back-off the counter is about to show is real
    right = http.post("/api/v1/token", json={"username": "ops-victim", "password": PASSWORD})
    assert right.status_code == 429
    after = scrape(http, admin)
    assert (
        value(after, "mch_login_failures_total") - value(before, "mch_login_failures_total")
        == threshold
    )
    assert value(after, "mch_login_lockouts_total") - value(before, "mch_login_lockouts_total") == 1


def test_database_gauges(services: Services, http: httpx.Client, admin: dict[str, str]) -> None:
    empty = scrape(http, admin)
    assert value(empty, "mch_database_up") == 1
    assert value(empty, "mch_assembly_queue_depth") == 0
    assert value(empty, "mch_scheduler_lease_held") == 0
    assert try_lease(services.db, "worker-1")
    started = utcnow().timestamp()
    assert run_job(services, "data_quality").status == "succeeded"
    assert run_job(services, "indicators").status == "succeeded"  # (it drains the queue first)
    with services.db.transaction() as session:
        session.add(AssemblyQueue(woman_key="w1", enqueued_at=utcnow() - timedelta(seconds=120)))
        session.add(AssemblyQueue(woman_key="w2", enqueued_at=utcnow()))
    s = scrape(http, admin)
    assert value(s, "mch_assembly_queue_depth") == 2
    assert 119 <= value(s, "mch_assembly_queue_oldest_age_seconds") < 300
    assert value(s, "mch_scheduler_lease_held") == 1
    assert value(s, "mch_job_runs_total", job="data_quality", status="succeeded") == 1
    assert value(s, "mch_job_last_success_timestamp_seconds", job="data_quality") >= started - 1
    assert value(s, "mch_job_last_duration_seconds", job="data_quality", status="succeeded") >= 0
    assert (
        "mch_job_last_duration_seconds",
        (("job", "data_quality"), ("status", "succeeded")),
    ) in s
    computed = utcnow() - timedelta(hours=2)
    with services.db.transaction() as session:
        for area, at in (("district", computed), ("330102001", computed - timedelta(days=1))):
            session.add(
                IndicatorResult(
                    indicator_id="hiv_test_rate",
                    period="2025-01",
                    area=area,
                    institution="all",
                    period_start=date(2025, 1, 1),
                    period_end=date(2025, 1, 31),
                    numerator=1,
                    denominator=2,
                    value=50.0,
                    unit="%",
                    target=None,
                    direction=None,
                    status="ok",
                    catalogue_version="1",
                    settings="{}",
                    computed_at=at,
                )
            )
        session.execute(delete(IndicatorRun))  # whatever job ran before: none has
    s = scrape(http, admin)
    assert value(
        s, "mch_indicator_last_computed_timestamp_seconds", indicator="hiv_test_rate"
    ) == pytest.approx(computed.timestamp(), abs=1)
    # The job writes only the rows that change: a later run that changed none of them still
    # computed them, and the gauge says so (a stalled job is one whose run time stands still).
    ran = computed + timedelta(minutes=30)
    with services.db.transaction() as session:
        session.add(
            IndicatorRun(id=1, computed_at=ran, full=False, rows_computed=2, rows_changed=0)
        )
    s = scrape(http, admin)
    assert value(
        s, "mch_indicator_last_computed_timestamp_seconds", indicator="hiv_test_rate"
    ) == pytest.approx(ran.timestamp(), abs=1)


def test_database_down_still_answers(
    services: Services, http: httpx.Client, admin: dict[str, str]
) -> None:
    from mch_service.database import Database
    from mch_service.ops.metrics import render

    services.db = Database("postgresql://nobody@127.0.0.1:1/none")
    text = render(services).decode()
    assert "mch_database_up 0.0" in text
    assert "mch_http_requests_total" in text
