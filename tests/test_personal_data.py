"""Personal data at rest: a copy of the database holds no name, ID number, phone or address in
clear, while search by identifier keeps working. Production refuses a default secret. Logs and
the audit log hold no personal data. Keys rotate."""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import ValidationError

from mch_service.app import Services, build_services
from mch_service.config import DEV_SECRET_KEY, Settings
from mch_service.database import Database
from mch_service.logs import JsonFormatter
from mch_service.ops.key_rotation import rotate_keys
from tests.conftest import TEST_SECRET, SenderKey

RESIDENT = "urn:oid:2.16.156.10011.1.3"
SECRETS = ["110101199003074578", "测试张三丰", "13912345678", "幸福路88号院", "Zhangsanfeng"]


def _patient() -> dict[str, object]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": RESIDENT, "value": SECRETS[0]}],
        "name": [{"text": SECRETS[1], "family": SECRETS[4]}],
        "telecom": [{"system": "phone", "value": SECRETS[2]}],
        "address": [{"line": [SECRETS[3]], "city": "杭州市"}],
        "gender": "female",
    }


def _database_copy(services: Services, tmp_path: Path) -> bytes:
    url = services.settings.database_url
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    pg_dump = shutil.which("pg_dump")
    assert pg_dump, "pg_dump is needed to check a PostgreSQL dump"
    parts = urlsplit(url)
    schema = parts.query.split("search_path%3D")[1]
    out = subprocess.run(
        [
            pg_dump,
            "-h",
            parts.hostname or "127.0.0.1",
            "-p",
            str(parts.port or 5432),
            "-U",
            parts.username or "postgres",
            "-n",
            schema,
            parts.path.lstrip("/"),
        ],
        capture_output=True,
        check=True,
        timeout=120,
    )
    return out.stdout


def test_a_database_copy_holds_no_personal_data(
    http: httpx.Client, services: Services, sender: SenderKey, tmp_path: Path
) -> None:
    created = http.post("/fhir/Patient", json=_patient(), headers=sender.headers)
    assert created.status_code == 201
    # a rejected copy (bad birth date) must not leave the data in the audit log either
    bad = {**_patient(), "birthDate": "1990-02-31"}
    assert http.post("/fhir/Patient", json=bad, headers=sender.headers).status_code == 400
    dump = _database_copy(services, tmp_path)
    assert len(dump) > 1000
    for secret in SECRETS:
        assert secret.encode() not in dump, secret
    # ... and search by the resident ID still finds her
    found = http.get(f"/fhir/Patient?identifier={RESIDENT}|{SECRETS[0]}", headers=sender.headers)
    assert found.json()["total"] == 1
    assert found.json()["entry"][0]["resource"]["name"][0]["text"] == SECRETS[1]


def test_logs_hold_no_personal_data(
    http: httpx.Client, sender: SenderKey, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    http.post("/fhir/Patient", json=_patient(), headers=sender.headers)
    http.get(f"/fhir/Patient?identifier={RESIDENT}|{SECRETS[0]}", headers=sender.headers)
    http.post("/fhir/Patient", json={**_patient(), "birthDate": "x"}, headers=sender.headers)
    # the server's records as the log handler writes them (the test's own HTTP client logs
    # its URLs; that is not the server)
    lines = [
        JsonFormatter().format(r)
        for r in caplog.records
        if not r.name.startswith(("httpx", "httpcore"))
    ]
    server_log = "\n".join(lines)
    access = [json.loads(x) for x in lines if '"mch_service.access"' in x]
    # the access log is there...
    assert ("GET", "/fhir/{rtype}", 200, ["identifier"]) in [
        (a["method"], a["route"], a["status"], a["query_params"]) for a in access
    ]
    for secret in SECRETS:
        assert secret not in server_log  # ...without the query string


def test_production_refuses_a_default_or_short_secret() -> None:
    with pytest.raises(ValidationError, match="MCH_SECRET_KEY"):
        Settings(env="production", secret_key=DEV_SECRET_KEY)
    with pytest.raises(ValidationError, match="MCH_SECRET_KEY"):
        Settings(env="production", secret_key="short")
    assert Settings(env="production", secret_key=secrets.token_urlsafe(32)).env == "production"


@pytest.mark.parametrize(
    "weak",
    ["a" * 32, "ab" * 24, "0123456789" * 4, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"],
)
def test_production_refuses_a_low_entropy_secret_without_quoting_it(
    weak: str, tmp_path: Path
) -> None:
    with pytest.raises(ValidationError, match="MCH_SECRET_KEY") as refused:
        Settings(env="production", secret_key=weak)
    # neither the value nor a fragment of it (pydantic quotes inputs unless told not to)
    assert weak[:8] not in str(refused.value)


def test_production_server_refuses_a_low_entropy_secret_and_does_not_print_it(
    tmp_path: Path,
) -> None:
    import os
    import sys

    weak = "a" * 32
    env = {
        **os.environ,
        "MCH_ENV": "production",
        "MCH_SECRET_KEY": weak,
        "MCH_DATABASE_URL": f"sqlite:///{tmp_path}/p.db",
    }
    r = subprocess.run(
        [sys.executable, "-m", "mch_service", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert r.returncode != 0
    assert "MCH_SECRET_KEY" in r.stderr
    assert "aaaaaaaa" not in r.stderr + r.stdout


def test_sqlite_is_synchronous_full_in_production_only(tmp_path: Path) -> None:
    from sqlalchemy import text

    from mch_service.migrate import upgrade

    url = f"sqlite:///{tmp_path}/sync.db"
    upgrade(url)
    levels = {}
    for env in ("production", "development"):
        settings = Settings(env=env, database_url=url, secret_key=secrets.token_urlsafe(48))
        services = build_services(settings)
        try:
            with services.db.reading() as session:
                levels[env] = session.execute(text("PRAGMA synchronous")).scalar()
        finally:
            services.db.dispose()
    assert levels == {"production": 2, "development": 1}  # FULL, NORMAL


def test_production_server_does_not_start_with_the_default_secret(tmp_path: Path) -> None:
    import os
    import sys

    env = {**os.environ, "MCH_ENV": "production", "MCH_DATABASE_URL": f"sqlite:///{tmp_path}/p.db"}
    env.pop("MCH_SECRET_KEY", None)
    r = subprocess.run(
        [sys.executable, "-m", "mch_service", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert r.returncode != 0
    assert "MCH_SECRET_KEY" in r.stderr


def test_key_rotation_keeps_everything_readable_and_searchable(
    http: httpx.Client, services: Services, sender: SenderKey, live_server: object
) -> None:
    created = http.post("/fhir/Patient", json=_patient(), headers=sender.headers).json()
    http.put(
        f"/fhir/Patient/{created['id']}",
        json={**created, "gender": "other"},
        headers=sender.headers,
    )
    new_secret = "a-brand-new-root-secret-for-rotation-0123456789"
    rotated_settings = services.settings.model_copy(
        update={"secret_key": new_secret, "previous_secret_keys": [TEST_SECRET]}
    )
    rotated = build_services(rotated_settings, Database(rotated_settings.database_url))
    try:
        counts = rotate_keys(rotated.db, rotated.store)
        assert counts["versions"] == 2
        assert counts["identifiers"] == 1
        assert rotate_keys(rotated.db, rotated.store)["versions"] == 0  # idempotent
        # the old secret is no longer needed
        only_new = rotated_settings.model_copy(update={"previous_secret_keys": []})
        fresh = build_services(only_new, Database(only_new.database_url))
        live_server.point_at(fresh)  # type: ignore[attr-defined]
        h = sender.headers
        assert http.get(f"/fhir/Patient/{created['id']}/_history/1", headers=h).status_code == 200
        found = http.get(f"/fhir/Patient?identifier={RESIDENT}|{SECRETS[0]}", headers=h).json()
        assert found["total"] == 1
        again = http.post("/fhir/Patient", json={**_patient(), "gender": "other"}, headers=h)
        assert again.status_code == 200  # still the same record by its identifier
        fresh.db.dispose()
    finally:
        rotated.db.dispose()


# -- the case register's free text, and rotation of everything ------------------------------

OUTCOME = "接通; 丈夫说她搬到外婆家-OUTCOME"
NOTES = "邻居李阿姨转告-NOTES"
CLOSE_REASON = "迁出本区-CLOSE"
REOPEN_REASON = "又回来了-REOPEN"


def _case_with_reviewer_text(
    http: httpx.Client, services: Services, sender: SenderKey, street: str, mrn: str, rid: str
) -> tuple[str, dict[str, str]]:
    """A red woman's case with a follow-up (outcome, notes), closed and reopened with
    reasons, all through HTTP; returns the case id and a reviewer's headers."""
    from sqlalchemy import select

    from mch_service.cases.models import CaseRecord
    from tests.auth.test_accounts import add_user, bearer, token_for
    from tests.cases.test_case_api import red_woman

    red_woman(http, sender, street, mrn, rid)
    with services.db.reading() as session:
        case_id = session.scalars(
            select(CaseRecord.pregnancy_id).where(CaseRecord.street == street)
        ).one()
    user = f"rev-{street}"
    add_user(services, user, "reviewer", streets=[street])
    rev = bearer(token_for(http, user))
    version = http.get(f"/api/v1/cases/{case_id}", headers=rev).json()["case"]["version"]
    r = http.post(
        f"/api/v1/cases/{case_id}/follow-ups",
        headers=rev,
        json={
            "version": version,
            "contact_date": "2025-03-05",
            "kind": "phone",
            "outcome": OUTCOME,
            "notes": NOTES,
        },
    )
    assert r.status_code == 201, r.text
    closed = http.post(
        f"/api/v1/cases/{case_id}/close",
        headers=rev,
        json={"version": r.json()["version"], "reason": CLOSE_REASON},
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["close_reason"] == CLOSE_REASON
    reopened = http.post(
        f"/api/v1/cases/{case_id}/reopen",
        headers=rev,
        json={"version": closed.json()["version"], "reason": REOPEN_REASON},
    )
    assert reopened.status_code == 200, reopened.text
    closed = http.post(  # closed again, so that a close reason is stored
        f"/api/v1/cases/{case_id}/close",
        headers=rev,
        json={"version": reopened.json()["version"], "reason": CLOSE_REASON},
    )
    assert closed.status_code == 200, closed.text
    return case_id, rev


def test_follow_up_outcomes_and_case_reasons_are_sealed_at_rest(
    http: httpx.Client, services: Services, sender: SenderKey, tmp_path: Path
) -> None:
    from tests.indicators.test_indicator_service import _valid_rid

    case_id, rev = _case_with_reviewer_text(
        http, services, sender, "330102001", "S1", _valid_rid("33010219900101111")
    )
    dump = _database_copy(services, tmp_path)
    for text in (OUTCOME, NOTES, CLOSE_REASON, REOPEN_REASON):
        for fragment in text.split("-")[:1]:
            assert fragment.encode() not in dump, fragment
    # the API answers as before
    detail = http.get(f"/api/v1/cases/{case_id}", headers=rev).json()
    assert [(f["outcome"], f["notes"]) for f in detail["follow_ups"]] == [(OUTCOME, NOTES)]
    assert detail["case"]["close_reason"] == CLOSE_REASON
    reasons = [(e["action"], e["detail"]) for e in detail["events"]]
    assert ("close", CLOSE_REASON) in reasons
    assert ("reopen", REOPEN_REASON) in reasons
    assert ("follow_up", "phone") in reasons  # structured details stay as they were


def test_key_rotation_covers_every_sealed_column_and_keyed_hash(
    http: httpx.Client,
    services: Services,
    sender: SenderKey,
    other_sender: SenderKey,
    live_server: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A populated database (patients, pregnancies, cases with follow-ups and reasons) is
    rotated, the run interrupted and resumed; then, with only the new secret, everything
    reads back through HTTP and a new record of the same woman still finds her."""
    from sqlalchemy import func, select

    from mch_service.cases.models import CaseRecord
    from mch_service.domain import models as domain_models
    from mch_service.ops import key_rotation
    from tests.domain.fixtures import bundle, entry, patient, uid
    from tests.domain.test_pregnancy_record import post
    from tests.indicators.test_indicator_service import _valid_rid

    rid_a, rid_b = _valid_rid("33010219900101111"), _valid_rid("33010219910202222")
    case_a, rev_a = _case_with_reviewer_text(http, services, sender, "330102001", "R1", rid_a)
    case_b, rev_b = _case_with_reviewer_text(http, services, sender, "330102002", "R2", rid_b)
    before = {
        c: http.get(f"/api/v1/cases/{c}", headers=h).json()
        for c, h in ((case_a, rev_a), (case_b, rev_b))
    }
    with services.db.reading() as session:
        old_keys = set(session.scalars(select(domain_models.Woman.key)))
    assert len(old_keys) == 2
    assert all(k.startswith("rid:") for k in old_keys)

    new_secret = secrets.token_urlsafe(48)
    rotated_settings = services.settings.model_copy(
        update={"secret_key": new_secret, "previous_secret_keys": [TEST_SECRET]}
    )
    rotated = build_services(rotated_settings, Database(rotated_settings.database_url))
    try:
        # interrupted after the first woman's batch: what was done stays done...
        monkeypatch.setattr(key_rotation, "CHUNK", 1)
        real_rename = key_rotation._rename_woman
        calls = []

        def rename_then_stop(*args: object) -> None:
            calls.append(args)
            if len(calls) == 2:
                raise KeyboardInterrupt
            real_rename(*args)  # type: ignore[arg-type]

        monkeypatch.setattr(key_rotation, "_rename_woman", rename_then_stop)
        with pytest.raises(KeyboardInterrupt):
            rotate_keys(rotated.db, rotated.store, rotated.domain)
        monkeypatch.setattr(key_rotation, "_rename_woman", real_rename)
        with rotated.db.reading() as session:
            halfway = set(session.scalars(select(domain_models.Woman.key)))
        assert len(halfway & old_keys) == 1  # one woman moved, whole, the other not yet
        # ... and running it again finishes the rest
        counts = rotate_keys(rotated.db, rotated.store, rotated.domain)
        assert counts["women"] == 1
        assert counts["versions"] == 0  # re-sealed by the first run, before it stopped
        assert counts["case_texts"] == 10  # 2 x (a follow-up, a close reason, 3 events)
        again = rotate_keys(rotated.db, rotated.store, rotated.domain)
        assert (again["versions"], again["patient_records"], again["women"]) == (0, 0, 0)
        assert again["case_texts"] == 0

        only_new = rotated_settings.model_copy(update={"previous_secret_keys": []})
        fresh = build_services(only_new, Database(only_new.database_url))
        live_server.point_at(fresh)  # type: ignore[attr-defined]
        try:
            with fresh.db.reading() as session:
                keys_now = set(session.scalars(select(domain_models.Woman.key)))
                case_keys = set(session.scalars(select(CaseRecord.woman_key)))
                preg_keys = set(session.scalars(select(domain_models.Pregnancy.woman_key)))
            assert not keys_now & old_keys
            assert case_keys == keys_now
            assert preg_keys <= keys_now
            for c, h in ((case_a, rev_a), (case_b, rev_b)):
                after = http.get(f"/api/v1/cases/{c}", headers=h)
                assert after.status_code == 200, after.text
                page = after.json()
                assert page["follow_ups"] == before[c]["follow_ups"]
                assert page["events"] == before[c]["events"]
                assert page["case"] == before[c]["case"]
                assert page["pregnancy"]["woman"]["name"] == "王芳"
                assert page["pregnancy"]["woman"]["resident_id"] in (rid_a, rid_b)
                preg = http.get(f"/api/v1/pregnancies/{c}", headers=h)
                assert preg.status_code == 200, preg.text
                assert preg.json()["woman"]["phone"] == "13912345678"
            found = http.get(
                f"/fhir/Patient?identifier={RESIDENT}|{rid_a}", headers=sender.headers
            ).json()
            assert found["total"] == 1
            pid = found["entry"][0]["resource"]["id"]
            assert http.get(f"/fhir/Patient/{pid}", headers=sender.headers).status_code == 200
            # another institution's record of woman A: matched to her by the new hash
            post(http, other_sender, bundle(entry(patient("hosp-b", "B9", rid=rid_a), uid())))
            records = http.get(f"/api/v1/pregnancies/{case_a}", headers=rev_a).json()["woman"][
                "records"
            ]
            assert {r["institution"] for r in records} == {"hospital-a", "hospital-b"}
            with fresh.db.reading() as session:
                assert session.scalar(select(func.count()).select_from(domain_models.Woman)) == 2
        finally:
            fresh.db.dispose()
    finally:
        rotated.db.dispose()


def test_rotation_merges_a_woman_whose_new_record_came_before_the_run(
    http: httpx.Client,
    services: Services,
    sender: SenderKey,
    other_sender: SenderKey,
    live_server: object,
) -> None:
    """Between the restart with the new secret and the rotation, another institution sends
    her record: it is keyed by the new hash while her old records still have the old key.
    The run brings them together again as one woman, her case and pregnancy intact."""
    from sqlalchemy import select

    from mch_service.cases.models import CaseRecord
    from mch_service.domain import models as domain_models
    from tests.domain.fixtures import bundle, entry, patient, uid
    from tests.domain.test_pregnancy_record import post
    from tests.indicators.test_indicator_service import _valid_rid

    rid = _valid_rid("33010219900101111")
    case_id, rev = _case_with_reviewer_text(http, services, sender, "330102001", "M1", rid)
    rotated_settings = services.settings.model_copy(
        update={"secret_key": secrets.token_urlsafe(48), "previous_secret_keys": [TEST_SECRET]}
    )
    rotated = build_services(rotated_settings, Database(rotated_settings.database_url))
    try:
        live_server.point_at(rotated)  # type: ignore[attr-defined]
        post(http, other_sender, bundle(entry(patient("hosp-b", "B1", rid=rid), uid())))
        with rotated.db.reading() as session:
            assert (
                len(set(session.scalars(select(domain_models.PatientRecord.woman_key)))) == 2
            )  # split
        counts = rotate_keys(rotated.db, rotated.store, rotated.domain)
        assert counts["women"] == 1
        with rotated.db.reading() as session:
            keys = set(session.scalars(select(domain_models.PatientRecord.woman_key)))
            assert len(keys) == 1
            assert set(session.scalars(select(domain_models.Woman.key))) == keys
            assert set(session.scalars(select(CaseRecord.woman_key))) == keys
        page = http.get(f"/api/v1/cases/{case_id}", headers=rev)
        assert page.status_code == 200, page.text
        records = page.json()["pregnancy"]["woman"]["records"]
        assert {r["institution"] for r in records} == {"hospital-a", "hospital-b"}
        assert page.json()["follow_ups"][0]["outcome"] == OUTCOME
    finally:
        rotated.db.dispose()


def test_migration_0010_seals_existing_case_text_and_drops_the_clear_columns(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alembic import command
    from sqlalchemy import inspect, text

    from mch_service.cases.sealing import close_reason_aad, event_reason_aad, outcome_aad
    from mch_service.config import get_settings
    from mch_service.crypto import Crypto
    from mch_service.migrate import alembic_config

    url = services.settings.database_url
    services.db.dispose()
    command.downgrade(alembic_config(url), "0006")
    db = Database(url)
    try:
        with db.transaction() as session:
            session.execute(
                text(
                    "INSERT INTO case_record (pregnancy_id, woman_key, status, opened_on, purple,"
                    " institutions, closed_on, close_reason, closed_by_reviewer, version) VALUES"
                    " ('P1', 'pat:x', 'closed', '2025-01-01', false, '', '2025-02-01', :r,"
                    " true, 3)"
                ),
                {"r": CLOSE_REASON},
            )
            session.execute(
                text(
                    "INSERT INTO follow_up (pregnancy_id, contact_date, kind, outcome,"
                    " recorded_by, recorded_at) VALUES ('P1', '2025-01-05', 'phone', :o, 'rev',"
                    " '2025-01-05T10:00:00+00:00')"
                ),
                {"o": OUTCOME},
            )
            session.execute(
                text(
                    "INSERT INTO institution (id, name, active, created_at) VALUES"
                    " ('inst-m', 'M', true, '2025-01-01T00:00:00+00:00')"
                )
            )
            old_report = {
                "lines": 1,
                "errors": [
                    {
                        "source": "body",
                        "line": 1,
                        "reason": "Observation.subject.reference: Conditional reference "
                        f"'Patient?identifier={RESIDENT}|{SECRETS[0]}' matches 0 records",
                    }
                ],
            }
            session.execute(
                text(
                    "INSERT INTO import_job (id, institution_id, status, created_at,"
                    " lines_total, lines_done, report) VALUES ('j1', 'inst-m', 'done',"
                    " '2025-01-01T00:00:00+00:00', 1, 1, :r)"
                ),
                {"r": json.dumps(old_report)},
            )
            for action, detail in (("reopen", REOPEN_REASON), ("assign", "rev"), ("close", "x")):
                session.execute(
                    text(
                        "INSERT INTO case_event (pregnancy_id, action, detail, by, at) VALUES"
                        " ('P1', :a, :d, 'rev', '2025-01-06T10:00:00+00:00')"
                    ),
                    {"a": action, "d": detail},
                )
    finally:
        db.dispose()
    monkeypatch.setenv("MCH_SECRET_KEY", TEST_SECRET)
    get_settings.cache_clear()
    try:
        # to 0010 only: 0011 renames the pregnancy ids (and seals again under the new ones)
        command.upgrade(alembic_config(url), "0010")
    finally:
        get_settings.cache_clear()
    db = Database(url)
    crypto = Crypto(TEST_SECRET)
    try:
        columns = {
            t: {c["name"] for c in inspect(db.engine).get_columns(t)}
            for t in ("follow_up", "case_record", "case_event")
        }
        assert "outcome" not in columns["follow_up"]
        assert "close_reason" not in columns["case_record"]
        with db.reading() as session:
            sealed_outcome = session.execute(
                text("SELECT outcome_sealed FROM follow_up")
            ).scalar_one()
            sealed_reason = session.execute(
                text("SELECT close_reason_sealed FROM case_record")
            ).scalar_one()
            events = session.execute(
                text("SELECT action, detail, reason_sealed FROM case_event ORDER BY id")
            ).all()
            report = session.execute(text("SELECT report FROM import_job")).scalar_one()
        assert SECRETS[0] not in report
        assert "Conditional reference" in report
        assert crypto.open_sealed(sealed_outcome, outcome_aad("P1")).decode() == OUTCOME
        assert crypto.open_sealed(sealed_reason, close_reason_aad("P1")).decode() == CLOSE_REASON
        opened = [
            (a, d, crypto.open_sealed(s, event_reason_aad("P1")).decode() if s else None)
            for a, d, s in events
        ]
        assert opened == [
            ("reopen", None, REOPEN_REASON),
            ("assign", "rev", None),
            ("close", None, "x"),
        ]
    finally:
        db.dispose()
        get_settings.cache_clear()
        command.upgrade(alembic_config(url), "head")  # the next test's schema
        get_settings.cache_clear()
