"""What every fuzz test asserts, and its budget.

The assertions (issue 12): no answer is a 5xx (nor, in a batch, any entry's status), and a
refused write changes nothing: the row count of every table but the audit log (refusals are
audited) is the same before and after.

The budget is fixed and the examples derandomised, so a CI run is reproducible and short:
``MCH_FUZZ_EXAMPLES`` examples per operation or strategy (default 8), e.g. 200 from
``python -m benchmarks fuzz`` for a longer run.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
from hypothesis import HealthCheck, settings
from sqlalchemy import text

from mch_service.app import Services
from mch_service.database import Base

EXAMPLES = int(os.environ.get("MCH_FUZZ_EXAMPLES", "8"))
# Refusals are audited (a row each); every other table must not move on a refused write.
# refusals are audited, and refused sign-ins counted for the back-off: both by design
UNCOUNTED = frozenset({"audit_event", "sign_in_throttle"})

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,  # the same examples on every run: a CI failure reproduces locally
    deadline=None,
    database=None,  # no example database: a run depends on the code only
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # one server and database per test, on purpose
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
    print_blob=True,
)


def row_counts(services: Services) -> dict[str, int]:
    tables = [t.name for t in Base.metadata.sorted_tables if t.name not in UNCOUNTED]
    sql = "SELECT " + ", ".join(f"(SELECT count(*) FROM {name})" for name in tables)
    with services.db.reading() as session:
        row = session.execute(text(sql)).one()
    return dict(zip(tables, (int(v) for v in row), strict=True))


def _content_type(response: Any) -> str:
    value = response.headers.get("content-type") or response.headers.get("Content-Type") or ""
    return str(value[0] if isinstance(value, list) and value else value)


def server_errors(response: httpx.Response | Any) -> list[str]:
    """The 5xx in an answer (httpx's or schemathesis's): its status, or a Bundle entry's."""
    found = [f"HTTP {response.status_code}"] if response.status_code >= 500 else []
    if _content_type(response).startswith("application/fhir+json"):
        try:
            body: Any = response.json()
        except ValueError:
            return found
        if isinstance(body, dict) and body.get("resourceType") == "Bundle":
            for i, entry in enumerate(body.get("entry") or []):
                status = str((entry.get("response") or {}).get("status", ""))
                if status[:1] == "5":
                    found.append(f"entry[{i}] {status}")
    return found


def check_answer(
    services: Services,
    method: str,
    url: str,
    response: httpx.Response | Any,
    before: dict[str, int] | None,
) -> None:
    """No 5xx; and when a write was refused (4xx), every table as it was."""
    errors = server_errors(response)
    assert not errors, f"{method} {url}: {errors}: {response.text[:1500]}"
    if before is not None and 400 <= response.status_code < 500:
        after = row_counts(services)
        changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
        assert not changed, f"{method} {url} was refused ({response.status_code}) but {changed}"
