"""Migration 0007 on a database that holds data: ids become unique per sender, identifiers keys
only where the policy says (Patient), and a woman known by one Patient keeps her case."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from mch_service.migrate import upgrade

PG_URL = os.environ.get("MCH_TEST_DATABASE_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.db'}"
        return
    if PG_URL is None:
        pytest.skip("MCH_TEST_DATABASE_URL is not set (CI sets it)")
    schema = f"mch_mig7_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


def test_0007_keeps_the_data_and_scopes_ids(empty_url: str) -> None:
    upgrade(empty_url, "0006")
    engine = create_engine(empty_url.replace("postgresql://", "postgresql+psycopg://", 1))
    now = "2025-01-01 00:00:00"
    with engine.begin() as c:
        for inst in ("hosp-a", "hosp-b"):
            c.execute(
                text(
                    "INSERT INTO institution (id, name, active, created_at) VALUES (:i, :i, :t, :n)"
                ),
                {"i": inst, "t": True, "n": now},
            )
        for pk, rtype, fid in ((1, "Patient", "mom"), (2, "ExplanationOfBenefit", "eob1")):
            c.execute(
                text(
                    "INSERT INTO fhir_resource (pk, resource_type, fhir_id, institution_id, "
                    "version_id, last_updated, deleted) VALUES (:pk, :t, :f, 'hosp-a', 1, :n, :d)"
                ),
                {"pk": pk, "t": rtype, "f": fid, "n": now, "d": False},
            )
            c.execute(
                text(
                    "INSERT INTO fhir_identifier (resource_pk, institution_id, resource_type, "
                    "token_hash, value_hash) VALUES (:pk, 'hosp-a', :t, 'tok', 'val')"
                ),
                {"pk": pk, "t": rtype},
            )
        c.execute(
            text(
                "INSERT INTO woman (key, resident_id_valid, record_count) "
                "VALUES ('pat:mom', :f, 1), ('rid:abc', :f, 1)"
            ),
            {"f": False},
        )
        c.execute(
            text(
                "INSERT INTO case_record (pregnancy_id, woman_key, status, opened_on, purple, "
                "institutions, closed_by_reviewer, version) "
                "VALUES ('P1', 'pat:mom', 'open', '2025-01-01', :f, 'hosp-a', :f, 1)"
            ),
            {"f": False},
        )
    upgrade(empty_url, "0007")
    with engine.begin() as c:
        keys: dict[str, object] = dict(
            c.execute(text("SELECT resource_type, is_key FROM fhir_identifier")).all()
        )
        assert {k: bool(v) for k, v in keys.items()} == {
            "Patient": True,
            "ExplanationOfBenefit": False,
        }
        assert sorted(c.scalars(text("SELECT key FROM woman"))) == ["rec:1", "rid:abc"]
        assert c.scalar(text("SELECT woman_key FROM case_record")) == "rec:1"
        # another sender may now hold the same id
        c.execute(
            text(
                "INSERT INTO fhir_resource (pk, resource_type, fhir_id, institution_id, "
                "version_id, last_updated, deleted) VALUES (3, 'Patient', 'mom', 'hosp-b', 1, "
                ":n, :d)"
            ),
            {"n": now, "d": False},
        )
        # a non-key identifier may repeat; a key may not
        c.execute(
            text(
                "INSERT INTO fhir_identifier (resource_pk, institution_id, resource_type, "
                "token_hash, value_hash, is_key) VALUES (2, 'hosp-a', 'ExplanationOfBenefit', "
                "'tok', 'val', :f)"
            ),
            {"f": False},
        )
    with pytest.raises(IntegrityError), engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO fhir_identifier (resource_pk, institution_id, resource_type, "
                "token_hash, value_hash, is_key) VALUES (1, 'hosp-a', 'Patient', 'tok', 'v', :t)"
            ),
            {"t": True},
        )
    engine.dispose()
