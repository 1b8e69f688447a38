"""Upgrades: the migrations build exactly the models' schema on an empty database of each
kind, and a database holding data from the first released schema (0001) upgrades to the head
and serves the same data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Integer, MetaData, insert, make_url, select, text

import mch_service.models  # noqa: F401 (every table on Base.metadata)
from mch_service.app import Services, build_services
from mch_service.cases.sealing import close_reason_aad
from mch_service.database import Base, Database, make_engine
from mch_service.migrate import current_revision, upgrade
from mch_service.ops.health import migration_heads
from tests.ops.district import END, load_district, simulate_district, snapshot

# Created by APScheduler's job store when the scheduler first starts; not one of our models.
NOT_MODELS = {"apscheduler_jobs"}


def _drift(url: str) -> list[Any]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": False}
            )
            diffs = compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()

    def table_of(diff: Any) -> str | None:
        obj = diff[1] if isinstance(diff, tuple) else diff[0][2]
        return getattr(obj, "name", None) if not isinstance(obj, str) else obj

    return [d for d in diffs if table_of(d) not in NOT_MODELS]


def test_every_migration_on_an_empty_database_gives_the_models(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    assert {current_revision(empty_database_url)} == set(migration_heads())
    assert _drift(empty_database_url) == []


def test_drift_is_detected(empty_database_url: str) -> None:
    """The comparison sees a difference when there is one (else the test above proves
    nothing): the schema one migration short of the head misses the newest tables."""
    upgrade(empty_database_url, "0005")
    diffs = _drift(empty_database_url)
    assert any(d[0] == "add_table" and d[1].name == "assembly_queue" for d in diffs)


# The tables of the first released schema (0001), copied row for row into a database at 0001.
FIRST_RELEASE_TABLES = [
    "institution",
    "institution_api_key",
    "fhir_resource",
    "fhir_resource_version",
    "fhir_identifier",
    "fhir_reference",
    "audit_event",
    "import_job",
]


def _copy_first_release_rows(source: str, target: str) -> None:
    src, dst = make_engine(source), make_engine(target)
    try:
        old = MetaData()
        old.reflect(dst, only=FIRST_RELEASE_TABLES)
        with src.connect() as read, dst.begin() as write:
            for name in FIRST_RELEASE_TABLES:
                table = old.tables[name]
                cols = [c.name for c in table.columns]
                current = Base.metadata.tables[name]
                rows = [
                    dict(r._mapping) for r in read.execute(select(*[current.c[c] for c in cols]))
                ]
                if rows:
                    write.execute(insert(table), rows)
                    if dst.dialect.name != "postgresql":
                        continue
                    for key in table.primary_key.columns:
                        if isinstance(key.type, Integer):
                            # rows came with their keys: the sequence follows (as pg_restore
                            # does), or the next audit row takes key 1 again
                            write.execute(
                                text(
                                    f"SELECT setval(pg_get_serial_sequence('{name}', "
                                    f"'{key.name}'), (SELECT max({key.name}) FROM {name}))"
                                )
                            )
    finally:
        src.dispose()
        dst.dispose()


def test_upgrade_from_the_first_release_keeps_the_data(
    services: Services, empty_database_url: str, tmp_path: Path
) -> None:
    """Data written at 0001 (the resource store, institutions, keys, audit) upgrades to the head
    and, after 'mch-service domain rebuild' derives the tables the later migrations added, the
    service answers exactly as one that had the current schema all along."""
    if services.db.dialect != make_url(empty_database_url).get_backend_name():
        pytest.skip("an upgrade keeps the database's kind")
    load_district(services, simulate_district(tmp_path / "sim", pregnancies=25))
    before = snapshot(services)
    assert before["patients"]
    assert before["indicators"]

    upgrade(empty_database_url, "0001")
    _copy_first_release_rows(services.settings.database_url, empty_database_url)
    upgrade(empty_database_url)
    assert {current_revision(empty_database_url)} == set(migration_heads())

    settings = services.settings.model_copy(update={"database_url": empty_database_url})
    upgraded = build_services(settings, Database(empty_database_url))
    try:
        # pregnancy ids are an HMAC under a key each database draws (migration 0011): the copy
        # takes the original's key, as an upgrade in place keeps its own
        with services.db.reading() as session:
            key = session.execute(text("SELECT key FROM pregnancy_id_key")).scalar_one()
        with upgraded.db.transaction() as session:
            session.execute(text("UPDATE pregnancy_id_key SET key = :k"), {"k": key})
        upgraded.domain.rebuild(upgraded.db, upgraded.store)
        upgraded.indicators.refresh(full=True)
        with upgraded.db.transaction() as session:
            upgraded.cases.refresh(session, None, END)
        after = snapshot(upgraded)
    finally:
        upgraded.db.dispose()
    assert after["patients"] == before["patients"]
    strip = {"computed_at"}
    assert [{k: v for k, v in r.items() if k not in strip} for r in after["indicators"]] == [
        {k: v for k, v in r.items() if k not in strip} for r in before["indicators"]
    ]
    # sealed text is sealed afresh (a new nonce) by the rebuild: compare what it says
    assert _opened_cases(upgraded, after["cases"]) == _opened_cases(services, before["cases"])
    assert after["work_items"] == before["work_items"]


def _opened_cases(services: Services, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for case in cases:
        row = dict(case)
        blob = row.pop("close_reason_sealed")
        row["close_reason"] = (
            services.crypto.open_sealed(blob, close_reason_aad(row["pregnancy_id"])).decode()
            if blob is not None
            else None
        )
        out.append(row)
    return out
