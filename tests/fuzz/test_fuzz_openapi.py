"""Schema-driven fuzzing with schemathesis: every operation of the OpenAPI document (the staff
API and the FHIR routes), with inputs that follow the schema (positive) and that break it
(negative), against the real server on SQLite and PostgreSQL. See harness.py for what is
asserted and the budget."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import hypothesis.strategies as st
import pytest
import schemathesis
from hypothesis import given
from schemathesis import GenerationMode

from mch_service.app import Services, create_app
from mch_service.auth.permissions import system_principal
from mch_service.auth.schemas import UserCreate
from mch_service.config import Settings
from tests.conftest import TEST_SECRET, SenderKey, _LiveServer
from tests.fuzz.harness import FUZZ_SETTINGS, check_answer, row_counts

ADMIN, PASSWORD = "fuzz-admin", "Quiet-river-stone-2025!"
# Resource types the FHIR routes are driven with (plus whatever the schema's string gives):
# the ones the service reads, one it only keeps, and the Bundle.
TYPES = ["Patient", "Observation", "Encounter", "EpisodeOfCare", "Bundle", "Basic"]


def _openapi() -> dict[str, Any]:
    app = create_app(Settings(env="test", secret_key=TEST_SECRET, database_url="sqlite://"))
    return app.openapi()


SPEC = _openapi()
SCHEMA = schemathesis.openapi.from_dict(SPEC)
OPERATIONS = {
    f"{op.method.upper()} {op.path}": op
    for op in (result.ok() for result in SCHEMA.get_all_operations())  # type: ignore[union-attr]
}


def _staff_token(services: Services, http: Any) -> str:
    with services.db.transaction() as session:
        services.accounts.add_user(
            session, system_principal(), UserCreate(username=ADMIN, role="admin", password=PASSWORD)
        )
    r = http.post("/api/v1/token", json={"username": ADMIN, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def _strategy(op: Any, mode: GenerationMode) -> st.SearchStrategy[Any]:
    if "{rtype}" in op.path:
        return st.one_of(
            st.sampled_from(TYPES).flatmap(
                lambda t: op.as_strategy(mode, path_parameters={"rtype": t})
            ),
            op.as_strategy(mode),
        )
    return op.as_strategy(mode)  # type: ignore[no-any-return]


# Two test items per database (not one per operation): each item pays for a fresh database and
# server state, which costs more than the examples themselves at the CI budget.
_STAFF = sorted(k for k in OPERATIONS if " /fhir" not in k)
FAMILIES = {
    "fhir": sorted(k for k in OPERATIONS if " /fhir" in k),
    # the staff API in two halves, so that two workers share it
    "staff-1": _STAFF[::2],
    "staff-2": _STAFF[1::2],
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_no_5xx_and_no_partial_write(
    family: str,
    http: Any,
    live_server: _LiveServer,
    services: Services,
    sender: SenderKey,
) -> None:
    auth = (
        {"Authorization": f"Bearer {sender.api_key}"}
        if family == "fhir"
        else {"Authorization": f"Bearer {_staff_token(services, http)}"}
    )
    for label in FAMILIES[family]:
        op = OPERATIONS[label]
        strategy = st.one_of(
            _strategy(op, GenerationMode.POSITIVE), _strategy(op, GenerationMode.NEGATIVE)
        )

        @FUZZ_SETTINGS
        @given(case=strategy)
        def run(case: Any) -> None:
            before = row_counts(services) if case.method.upper() != "GET" else None
            response = case.call(base_url=live_server.url, headers=auth, timeout=60)
            check_answer(services, case.method.upper(), case.formatted_path, response, before)

        run()


def test_path_parameters_no_id_can_hold(http: Any, services: Services, sender: SenderKey) -> None:
    """Every operation with a path parameter, given a value no id can be (PostgreSQL refuses
    a NUL outright): a 4xx, never a 5xx. Schemathesis rarely draws these."""
    token = _staff_token(services, http)
    cases = [
        (label, op, value)
        for label, op in sorted(OPERATIONS.items())
        for value in ("a\x00b", "abc\n", "-1", "9" * 30)
        if any(p.location == "path" for p in op.iter_parameters())
    ]
    for label, op, value in cases:
        url = op.path
        for name in [p.name for p in op.iter_parameters() if p.location == "path"]:
            url = url.replace("{" + name + "}", quote(value, safe=""))
        auth = sender.api_key if op.path.startswith("/fhir") else token
        before = row_counts(services) if op.method.upper() != "GET" else None
        r = http.request(
            op.method.upper(), url, headers={"Authorization": f"Bearer {auth}"}, json={}
        )
        check_answer(services, label, url, r, before)
