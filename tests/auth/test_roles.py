"""Every route, walked with every role: the answer each must get.

A route missing from ROUTES fails the test: a new route has to be classified here."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount

from mch_service.app import Services, create_app
from mch_service.config import Settings
from mch_service.institutions.service import add_institution
from mch_service.scheduling.service import try_lease
from tests.auth.test_accounts import PASSWORD, add_user, bearer, token_for

OK = "ok"  # anything but 401/403 (the request itself may be a 4xx for other reasons)
ADMIN_ONLY = {"anonymous": 401, "admin": OK, "reviewer": 403, "monitor": 403}
SIGNED_IN = {"anonymous": 401, "admin": OK, "reviewer": OK, "monitor": OK}
PUBLIC = {"anonymous": OK, "admin": OK, "reviewer": OK, "monitor": OK}
# Case work: reviewers (their jurisdiction) and administrators; never the monitoring group.
REVIEWERS = {"anonymous": 401, "admin": OK, "reviewer": OK, "monitor": 403}
# Indicators and aggregates: the monitoring group and administrators; reviewers work cases.
MONITORS = {"anonymous": 401, "admin": OK, "reviewer": 403, "monitor": OK}
# Administration pages: anonymous visitors are sent to the sign-in page (303).
ADMIN_PAGE = {"anonymous": OK, "admin": OK, "reviewer": 403, "monitor": 403}
# The case page: reviewers and administrators; anonymous visitors go to the sign-in page (303).
CASE_PAGE = {"anonymous": OK, "admin": OK, "reviewer": OK, "monitor": 403}
# Monitoring pages: anonymous visitors are sent to the sign-in page (303); reviewers refused.
MONITOR_PAGE = {"anonymous": OK, "admin": OK, "reviewer": 403, "monitor": OK}
# Reviewers' pages (work lists, call sheet, pregnancy search): the sign-in page for the
# anonymous, a refusal page with the API's 403 for monitors.
REVIEWER_PAGE = {"anonymous": OK, "admin": OK, "reviewer": OK, "monitor": 403}
# The FHIR interface takes institution API keys, never staff tokens.
INSTITUTIONS_ONLY = {"anonymous": 401, "admin": 401, "reviewer": 401, "monitor": 401}

ROUTES: dict[tuple[str, str], Mapping[str, object]] = {
    ("GET", "/fhir/metadata"): PUBLIC,
    ("POST", "/fhir"): INSTITUTIONS_ONLY,
    ("POST", "/fhir/"): INSTITUTIONS_ONLY,
    ("POST", "/fhir/$import"): INSTITUTIONS_ONLY,
    ("GET", "/fhir/$import/{job_id}"): INSTITUTIONS_ONLY,
    ("GET", "/fhir/$data-quality"): INSTITUTIONS_ONLY,
    ("POST", "/fhir/{rtype}/$validate"): INSTITUTIONS_ONLY,
    ("POST", "/fhir/{rtype}"): INSTITUTIONS_ONLY,
    ("PUT", "/fhir/{rtype}/{fhir_id}"): INSTITUTIONS_ONLY,
    ("PUT", "/fhir/{rtype}"): INSTITUTIONS_ONLY,
    ("DELETE", "/fhir/{rtype}/{fhir_id}"): INSTITUTIONS_ONLY,
    ("DELETE", "/fhir/{rtype}"): INSTITUTIONS_ONLY,
    ("GET", "/fhir/{rtype}"): INSTITUTIONS_ONLY,
    ("GET", "/fhir/{rtype}/{fhir_id}"): INSTITUTIONS_ONLY,
    ("GET", "/fhir/{rtype}/{fhir_id}/_history"): INSTITUTIONS_ONLY,
    ("GET", "/fhir/{rtype}/{fhir_id}/_history/{vid}"): INSTITUTIONS_ONLY,
    # the bulk export: administrators, and export clients (tests/bulk_export); institution
    # keys are refused with 403 there
    ("GET", "/fhir/$export"): ADMIN_ONLY,
    ("GET", "/fhir/Patient/$export"): ADMIN_ONLY,
    ("GET", "/fhir/$export-status/{job_id}"): ADMIN_ONLY,  # 404 here: no such export
    ("DELETE", "/fhir/$export-status/{job_id}"): ADMIN_ONLY,
    ("GET", "/fhir/$export-file/{job_id}/{file_name}"): ADMIN_ONLY,
    ("GET", "/api/v1/export-clients"): ADMIN_ONLY,
    ("POST", "/api/v1/export-clients"): ADMIN_ONLY,
    ("POST", "/api/v1/export-clients/{client_id}/rotate-key"): ADMIN_ONLY,
    ("POST", "/api/v1/export-clients/{client_id}/disable"): ADMIN_ONLY,
    ("POST", "/api/v1/export-clients/{client_id}/enable"): ADMIN_ONLY,
    # the indicator definitions the MeasureReports point at: staff as well as institutions
    ("GET", "/fhir/Measure/{measure_id}"): SIGNED_IN,
    # public, but the sample credentials below are wrong, whoever sends them
    ("POST", "/api/v1/token"): dict.fromkeys(("anonymous", "admin", "reviewer", "monitor"), 401),
    ("POST", "/api/v1/token/revoke"): SIGNED_IN,
    ("GET", "/api/v1/me"): SIGNED_IN,
    ("GET", "/api/v1/users"): ADMIN_ONLY,
    ("POST", "/api/v1/users"): ADMIN_ONLY,
    ("POST", "/api/v1/users/{username}/disable"): ADMIN_ONLY,
    ("POST", "/api/v1/users/{username}/enable"): ADMIN_ONLY,
    ("POST", "/api/v1/users/{username}/reset-password"): ADMIN_ONLY,
    ("PUT", "/api/v1/users/{username}/jurisdiction"): ADMIN_ONLY,
    ("POST", "/api/v1/users/{username}/revoke-tokens"): ADMIN_ONLY,
    ("GET", "/api/v1/audit"): ADMIN_ONLY,
    ("GET", "/api/v1/audit.csv"): ADMIN_ONLY,
    # the directory (id, name, kind) for all staff; key prefixes for administrators only
    ("GET", "/api/v1/institutions"): SIGNED_IN,
    ("GET", "/api/v1/streets"): SIGNED_IN,
    ("PUT", "/api/v1/streets/{code}"): ADMIN_ONLY,
    ("POST", "/api/v1/institutions"): ADMIN_ONLY,
    ("POST", "/api/v1/institutions/{institution_id}/rotate-key"): ADMIN_ONLY,
    ("POST", "/api/v1/institutions/{institution_id}/revoke-keys"): ADMIN_ONLY,
    ("GET", "/api/v1/pregnancies/{pregnancy_id}"): {
        "anonymous": 401,
        "admin": OK,
        "reviewer": OK,
        "monitor": OK,
    },  # 404 here: none exists
    ("POST", "/api/v1/pregnancies/lookup"): {
        "anonymous": 401,
        "admin": OK,
        "reviewer": OK,
        "monitor": OK,
    },  # no match here: an empty list
    ("GET", "/api/v1/unmapped-codes"): ADMIN_ONLY,
    ("GET", "/api/v1/code-tables"): ADMIN_ONLY,
    ("PUT", "/api/v1/code-tables/{name}"): ADMIN_ONLY,
    ("DELETE", "/api/v1/code-tables/{name}"): ADMIN_ONLY,
    ("GET", "/api/v1/indicators"): MONITORS,
    ("GET", "/api/v1/indicators/catalogue"): MONITORS,
    ("GET", "/api/v1/indicators/warnings"): MONITORS,
    ("GET", "/api/v1/indicators/{indicator_id}/series"): MONITORS,
    ("GET", "/api/v1/indicators/{indicator_id}/records"): MONITORS,
    ("GET", "/api/v1/indicators/{indicator_id}/records.csv"): MONITORS,
    ("GET", "/api/v1/indicators/{indicator_id}/records.xlsx"): MONITORS,
    ("GET", "/api/v1/indicators/export.csv"): MONITORS,
    ("GET", "/api/v1/indicators/export.xlsx"): MONITORS,
    ("GET", "/api/v1/indicators/measure-reports"): MONITORS,
    ("GET", "/api/v1/data-quality"): MONITORS,
    ("GET", "/api/v1/data-quality/trend"): MONITORS,
    ("GET", "/api/v1/data-quality/records"): MONITORS,
    ("GET", "/api/v1/indicators/periods"): MONITORS,
    ("GET", "/api/v1/indicators/view.csv"): MONITORS,
    ("GET", "/api/v1/indicators/view.xlsx"): MONITORS,
    # the monitoring group's entries: external figures, the maternal death report card
    ("PUT", "/api/v1/indicators/{indicator_id}/external"): MONITORS,  # 400: not external
    ("GET", "/api/v1/maternal-deaths"): MONITORS,
    ("POST", "/api/v1/maternal-deaths"): MONITORS,
    ("GET", "/api/v1/maternal-deaths/{death_id}"): MONITORS,  # 404 here: none exists
    ("POST", "/api/v1/maternal-deaths/{death_id}/review"): MONITORS,
    ("GET", "/api/v1/jobs"): ADMIN_ONLY,
    ("POST", "/api/v1/jobs/{name}/run"): ADMIN_ONLY,
    ("GET", "/api/v1/cases"): REVIEWERS,
    ("GET", "/api/v1/cases/export.csv"): REVIEWERS,
    ("GET", "/api/v1/cases/export.xlsx"): REVIEWERS,
    ("GET", "/api/v1/cases/counts"): REVIEWERS,
    ("GET", "/api/v1/cases/close-reasons"): REVIEWERS,
    ("GET", "/api/v1/cases/codes"): REVIEWERS,
    ("GET", "/api/v1/cases/{pregnancy_id}/assignees"): REVIEWERS,
    ("POST", "/api/v1/cases/{pregnancy_id}/outcome"): REVIEWERS,
    ("GET", "/api/v1/cases/{pregnancy_id}"): REVIEWERS,
    ("POST", "/api/v1/cases/{pregnancy_id}/follow-ups"): REVIEWERS,
    ("POST", "/api/v1/cases/{pregnancy_id}/assign"): REVIEWERS,
    ("POST", "/api/v1/cases/{pregnancy_id}/close"): REVIEWERS,
    ("POST", "/api/v1/cases/{pregnancy_id}/reopen"): REVIEWERS,
    ("POST", "/api/v1/cases/{pregnancy_id}/acknowledge-late"): REVIEWERS,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,  # ready: role_headers takes the scheduler lease
    ("GET", "/metrics"): ADMIN_ONLY,  # or the scraper's MCH_METRICS_TOKEN (tests/ops)
    # the API schema: open in development and test; signed-in staff only in production
    # (tests/test_http_surface.py::test_openapi_is_for_signed_in_staff_in_production)
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): PUBLIC,  # signs out whoever is signed in; redirects the rest
    ("GET", "/"): PUBLIC,  # redirects to /login when not signed in
    ("GET", "/docs/{name}"): PUBLIC,
    # administration pages: the sign-in page for the anonymous (a redirect), a refusal page
    # with the API's 403 for the other roles
    ("GET", "/admin/institutions"): ADMIN_PAGE,
    ("POST", "/admin/institutions"): ADMIN_PAGE,
    ("POST", "/admin/institutions/{institution_id}/rotate-key"): ADMIN_PAGE,
    ("POST", "/admin/institutions/{institution_id}/revoke-keys"): ADMIN_PAGE,
    ("GET", "/admin/streets"): ADMIN_PAGE,
    ("POST", "/admin/streets"): ADMIN_PAGE,
    ("GET", "/admin/users"): ADMIN_PAGE,
    ("POST", "/admin/users"): ADMIN_PAGE,
    ("POST", "/admin/users/{username}/{action}"): ADMIN_PAGE,
    ("GET", "/admin/code-tables"): ADMIN_PAGE,
    ("POST", "/admin/code-tables"): ADMIN_PAGE,
    ("GET", "/admin/code-tables/{name}.csv"): ADMIN_PAGE,
    ("POST", "/admin/code-tables/{name}/delete"): ADMIN_PAGE,
    ("GET", "/admin/jobs"): ADMIN_PAGE,
    ("POST", "/admin/jobs/{name}/run"): ADMIN_PAGE,
    ("GET", "/admin/audit"): ADMIN_PAGE,
    ("GET", "/cases/{pregnancy_id}"): CASE_PAGE,
    ("POST", "/cases/{pregnancy_id}/follow-up"): CASE_PAGE,
    ("POST", "/cases/{pregnancy_id}/outcome"): CASE_PAGE,
    ("POST", "/cases/{pregnancy_id}/assign"): CASE_PAGE,
    ("POST", "/cases/{pregnancy_id}/close"): CASE_PAGE,
    ("POST", "/cases/{pregnancy_id}/reopen"): CASE_PAGE,
    ("POST", "/cases/{pregnancy_id}/acknowledge-late"): CASE_PAGE,
    ("GET", "/indicators"): MONITOR_PAGE,
    ("GET", "/indicators/{indicator_id}"): MONITOR_PAGE,
    ("POST", "/indicators/{indicator_id}/external"): MONITOR_PAGE,
    ("GET", "/data-quality"): MONITOR_PAGE,
    ("GET", "/data-quality/records"): MONITOR_PAGE,
    ("GET", "/worklists"): REVIEWER_PAGE,
    ("GET", "/worklists/call-sheet"): REVIEWER_PAGE,
    ("GET", "/pregnancies/search"): REVIEWER_PAGE,
    ("POST", "/pregnancies/search"): REVIEWER_PAGE,
}
PARAMS = {
    "job_id": "none",
    "rtype": "Patient",
    "fhir_id": "x",
    "vid": "1",
    "username": "target1",
    "institution_id": "hosp-z",
    "name": "interface-guide",
    "pregnancy_id": "P1",
    "indicator_id": "hiv_test_rate",
    "death_id": "card-1",
    "code": "440115001",
    "action": "disable",
    "file_name": "Patient-1.ndjson",
    "client_id": "none",
    "measure_id": "hiv-test-rate",
}
QUERIES = {
    "/api/v1/indicators": "?period=2025-01",
    "/api/v1/indicators/warnings": "?period=2025-01",
    "/api/v1/indicators/{indicator_id}/series": "?from=2025-01&to=2025-03",
    "/api/v1/indicators/{indicator_id}/records": "?period=2025-01",
    "/api/v1/indicators/{indicator_id}/records.csv": "?period=2025-01",
    "/api/v1/indicators/{indicator_id}/records.xlsx": "?period=2025-01",
    "/api/v1/indicators/export.csv": "?period=2025-01",
    "/api/v1/indicators/view.csv": "?period=2025-01",
    "/api/v1/indicators/view.xlsx": "?period=2025-01",
    "/api/v1/data-quality/trend": "?institution=hosp-z",
    "/api/v1/data-quality/records": "?institution=hosp-z&kind=rejections",
    "/data-quality/records": "?institution=hosp-z&kind=rejections",
    "/indicators": "?period=2025-01",
    "/indicators/{indicator_id}": "?period=2025-01",
    "/api/v1/indicators/export.xlsx": "?period=2025-01",
    "/api/v1/indicators/measure-reports": "?period=2025-01",
    "/api/v1/indicators/{indicator_id}/external": "?period=2025",
}
BODIES: dict[str, object] = {
    "/api/v1/users": {"username": "newbie", "role": "monitor", "password": PASSWORD},
    "/api/v1/users/{username}/reset-password": {"password": "Another-Pass-99"},
    "/api/v1/users/{username}/jurisdiction": {"streets": ["1"]},
    "/api/v1/cases/{pregnancy_id}/follow-ups": {
        "version": 1,
        "contact_date": "2025-01-01",
        "kind": "phone",
        "outcome": "x",
    },
    "/api/v1/cases/{pregnancy_id}/assign": {"version": 1},
    "/api/v1/cases/{pregnancy_id}/outcome": {"version": 1, "kind": "lost_to_follow_up"},
    "/api/v1/cases/{pregnancy_id}/close": {"version": 1, "reason": "x"},
    "/api/v1/cases/{pregnancy_id}/reopen": {"version": 1, "reason": "x"},
    "/api/v1/cases/{pregnancy_id}/acknowledge-late": {"version": 1},
    "/api/v1/institutions": {"id": "hosp-new", "name": "New"},
    "/api/v1/streets/{code}": {"name": "南沙街道", "centre_id": "hosp-z"},
    "/api/v1/pregnancies/lookup": {"resident_id": "110101199003071234"},
    "/api/v1/export-clients": {"id": "province", "name": "Province"},
    "/api/v1/token": {"username": "nobody", "password": "x"},
    "/api/v1/indicators/{indicator_id}/external": {
        "numerator": 1,
        "denominator": 2,
        "source": "x",
    },
    "/api/v1/maternal-deaths": {
        "death_date": "2025-01-02",
        "pregnancy_end_date": "2025-01-01",
        "outcome": "delivered",
        "street": "1",
        "institution_id": "hosp-z",
    },
    "/api/v1/maternal-deaths/{death_id}/review": {"status": "confirmed"},
}


def _app_routes() -> set[tuple[str, str]]:
    app = create_app(Settings(database_url="sqlite://", env="test"))
    out = set()
    stack = list(app.routes)
    while stack:
        route = stack.pop()
        if hasattr(route, "original_router"):  # a router included with include_router
            stack.extend(route.original_router.routes)
        elif isinstance(route, APIRoute):
            out |= {(m, route.path) for m in (route.methods or set()) - {"HEAD"}}
        elif isinstance(route, Mount):
            continue  # /static (offline assets): public, no data
        else:
            raise AssertionError(f"unclassified route {route!r}")
    return out


def test_every_route_is_classified() -> None:
    assert _app_routes() == set(ROUTES)


@pytest.fixture
def role_headers(services: Services, http: httpx.Client) -> dict[str, dict[str, str]]:
    with services.db.transaction() as session:
        add_institution(session, "hosp-z", "Z")
    add_user(services, "admin1", "admin")
    add_user(services, "rev1", "reviewer")
    add_user(services, "mon1", "monitor")
    add_user(services, "target1", "monitor")
    try_lease(services.db, "test")  # else /readyz answers 503 (no scheduler), a 5xx
    return {
        "anonymous": {},
        "admin": bearer(token_for(http, "admin1")),
        "reviewer": bearer(token_for(http, "rev1")),
        "monitor": bearer(token_for(http, "mon1")),
    }


@pytest.mark.parametrize("role", ["anonymous", "monitor", "reviewer", "admin"])
def test_role_route_table(
    http: httpx.Client, role_headers: dict[str, dict[str, str]], role: str
) -> None:
    failures = []
    # signing out goes last: it ends the token the other requests use
    order = sorted(
        ROUTES.items(), key=lambda kv: (kv[0][1] in ("/api/v1/token/revoke", "/logout"), kv[0])
    )
    for (method, path), expected in order:
        url = path.format(**PARAMS) + QUERIES.get(path, "")
        body = BODIES.get(path)
        headers = dict(role_headers[role])
        if path.startswith("/fhir") and method in ("POST", "PUT"):
            headers["Content-Type"] = "application/fhir+json"
        r = http.request(
            method,
            url,
            headers=headers,
            follow_redirects=False,
            json=body
            if body is not None
            else (
                {"resourceType": "Patient"}
                if path.startswith("/fhir") and method in ("POST", "PUT")
                else None
            ),
        )
        want = expected[role]
        got_ok = r.status_code not in (401, 403)
        if (want == OK and not got_ok) or (want != OK and r.status_code != want):
            failures.append((method, path, want, r.status_code))
        if r.status_code >= 500:
            failures.append((method, path, "no 5xx", r.status_code))
    assert failures == []
