"""Backup and restore through the command line, on SQLite and PostgreSQL: back up a loaded
district, wipe the database, restore, and the indicators, cases, work lists and FHIR reads are
identical; the file holds no clear personal data; without the key the restore says so."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mch_service.app import build_services
from mch_service.config import Settings
from mch_service.database import Database
from mch_service.migrate import upgrade
from tests.conftest import TEST_SECRET
from tests.ops.conftest import recreate
from tests.ops.district import load_district, simulate_district, snapshot


def cli(
    url: str, *args: str, cwd: Path, secret: str = TEST_SECRET
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCH_")}
    env.update({"MCH_DATABASE_URL": url, "MCH_SECRET_KEY": secret, "MCH_ENV": "test"})
    return subprocess.run(
        [sys.executable, "-m", "mch_service", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _services(url: str) -> Any:
    settings = Settings(database_url=url, env="test", secret_key=TEST_SECRET)
    return build_services(settings, Database(url))


def _clear_values(snap: dict[str, Any]) -> list[str]:
    """Personal data of the loaded patients that would show in a file in clear: identifier
    values (resident ID numbers, MRNs), full names, phone numbers."""
    values = []
    for patient in snap["patients"].values():
        values += [
            i["value"] for i in patient.get("identifier", []) if len(i.get("value", "")) >= 6
        ]
        values += [t["value"] for t in patient.get("telecom", []) if t.get("value")]
        for name in patient.get("name", []):
            full = name.get("text") or (name.get("family", "") + "".join(name.get("given", [])))
            if len(full) >= 3:
                values.append(full)
    return values


def _backup_text(url: str, path: Path) -> bytes:
    if url.startswith("sqlite"):
        return path.read_bytes()
    # the custom format is compressed: search the SQL it restores to (bytea appears as hex)
    return subprocess.run(
        ["pg_restore", "-f", "-", str(path)], capture_output=True, check=True
    ).stdout


def test_backup_wipe_restore_gives_the_same_service(
    empty_database_url: str, tmp_path: Path
) -> None:
    url = empty_database_url
    upgrade(url)
    services = _services(url)
    try:
        load_district(services, simulate_district(tmp_path / "sim", pregnancies=20))
        before = snapshot(services)
    finally:
        services.db.dispose()
    assert before["patients"]
    assert before["indicators"]
    assert before["cases"]

    target = tmp_path / "backups" / "mch.backup"
    done = cli(url, "backup", str(target), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "MCH_SECRET_KEY" in done.stdout
    assert target.stat().st_size > 0
    assert not target.with_name("mch.backup.partial").exists()

    content = _backup_text(url, target)
    clear = _clear_values(before)
    assert clear, "the loaded patients carry identifiers and names"
    assert [v for v in clear if v.encode() in content] == []

    recreate(url)
    done = cli(url, "restore", str(target), cwd=tmp_path)
    assert done.returncode == 0, done.stderr

    restored = _services(url)
    try:
        after = snapshot(restored)
    finally:
        restored.db.dispose()
    assert after == before

    # a second restore over the data is refused without --replace, and works with it
    again = cli(url, "restore", str(target), cwd=tmp_path)
    assert again.returncode == 1
    assert "not empty" in again.stderr
    again = cli(url, "restore", str(target), "--replace", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    restored = _services(url)
    try:
        assert snapshot(restored) == before
    finally:
        restored.db.dispose()


def test_restore_without_the_key_says_so(empty_database_url: str, tmp_path: Path) -> None:
    url = empty_database_url
    upgrade(url)
    services = _services(url)
    try:
        from tests.conftest import make_sender

        sender = make_sender(services, "hosp-k")
        from mch_service.audit.service import Actor

        services.fhir.create(
            Actor("institution", sender.institution_id),
            "Patient",
            {"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": "K-1"}]},
            None,
        )
    finally:
        services.db.dispose()
    target = tmp_path / "mch.backup"
    assert cli(url, "backup", str(target), cwd=tmp_path).returncode == 0
    recreate(url)
    done = cli(url, "restore", str(target), cwd=tmp_path, secret="another-secret-" + "x" * 40)
    assert done.returncode == 3
    assert "cannot open" in done.stderr


def test_restore_of_a_missing_file_changes_nothing(empty_database_url: str, tmp_path: Path) -> None:
    done = cli(empty_database_url, "restore", str(tmp_path / "nope.backup"), cwd=tmp_path)
    assert done.returncode == 1
    assert "no backup" in done.stderr


@pytest.mark.parametrize("kind", ["sqlite"])
def test_a_file_that_is_not_a_backup_is_refused(kind: str, tmp_path: Path) -> None:
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"not a database at all" * 100)
    done = cli(f"sqlite:///{tmp_path / 'new.db'}", "restore", str(junk), cwd=tmp_path)
    assert done.returncode == 1
    assert "not" in done.stderr


def test_pg_tools_get_every_connection_parameter_but_not_the_password() -> None:
    from sqlalchemy import make_url

    from mch_service.ops.backup import _pg_command

    conn, env, schema = _pg_command(
        make_url("postgresql+psycopg://mch:s3cret@db.local:5433/mch?sslmode=require")
    )
    assert conn == "postgresql://mch@db.local:5433/mch?sslmode=require"
    assert env["PGPASSWORD"] == "s3cret"
    assert schema == []
    conn, _, schema = _pg_command(make_url("postgresql://u@h/d?options=-csearch_path%3Dsite_a"))
    assert schema == ["--schema=site_a"]
    assert "search_path" in conn
