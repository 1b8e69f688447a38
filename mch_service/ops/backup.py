"""``mch-service backup PATH`` and ``mch-service restore PATH``.

PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore`` (a consistent snapshot taken while
the service runs). SQLite: the online backup API (a consistent copy page by page, also while
the service writes). Either way the file holds what the database holds: resources sealed with
keys derived from MCH_SECRET_KEY and identifiers as keyed hashes, so it contains no clear
personal data, and cannot be read without the key. Keep the key beside the backups (separately
stored), or a restore gives a database that cannot open a single record.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidTag
from sqlalchemy import URL, inspect, make_url

from mch_service.crypto import Crypto, DecryptionError


class BackupError(Exception):
    """A backup or restore that did not happen; the message says why and what to do."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    kind: str  # sqlite | postgresql


def _kind(url: URL) -> str:
    backend = url.get_backend_name()
    if backend == "sqlite":
        return "sqlite"
    if backend in ("postgresql", "postgres"):
        return "postgresql"
    raise BackupError(f"backups support SQLite and PostgreSQL, not {backend}")


def _sqlite_file(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(url.database)


def _pg_command(url: URL) -> tuple[str, dict[str, str], list[str]]:
    """The libpq connection URI for pg_dump/pg_restore (every query parameter kept: sslmode,
    options...; the password left out: it goes in PGPASSWORD, so that it never shows in the
    process list), the environment, and the schema option. A URL whose ``options`` set a
    search_path (one schema per test run, or a site's own schema) limits the dump to it."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    options = url.query.get("options")
    schema_args: list[str] = []
    if isinstance(options, str) and options:
        for part in options.split():
            key, _, value = part.removeprefix("-c").partition("=")
            if key.strip() == "search_path" and value:
                schema_args = [f"--schema={value.split(',')[0].strip()}"]
    # URL.set(password=None) keeps the password: replace the field itself.
    conn = url._replace(drivername="postgresql", password=None).render_as_string(
        hide_password=False
    )
    return conn, env, schema_args


def _run(args: list[str], env: dict[str, str]) -> None:
    tool = args[0]
    if shutil.which(tool) is None:
        raise BackupError(
            f"{tool} is not installed: install the PostgreSQL client of the server's major "
            "version (Debian: apt-get install postgresql-client)"
        )
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise BackupError(f"{tool} failed: {' / '.join(lines[-3:]) or done.returncode}")


def backup(database_url: str, path: Path) -> BackupResult:
    url = make_url(database_url)
    kind = _kind(url)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    if kind == "sqlite":
        source_file = _sqlite_file(url)
        if not source_file.exists():
            raise BackupError(f"no database at {source_file}")
        source = sqlite3.connect(source_file)
        target = sqlite3.connect(partial)
        try:
            source.backup(target)
            if target.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError("the copy failed SQLite's integrity check")
        finally:
            target.close()
            source.close()
    else:
        conn, env, schema_args = _pg_command(url)
        _run(
            [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                *schema_args,
                f"--file={partial}",
                f"--dbname={conn}",
            ],
            env,
        )
    # Written under another name and renamed: a file named PATH is always a whole backup.
    partial.replace(path)
    return BackupResult(path, path.stat().st_size, kind)


def has_tables(database_url: str) -> bool:
    from mch_service.database import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return bool(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def _drop_empty_schema(database_url: str, schema: str) -> None:
    from sqlalchemy import text

    from mch_service.database import make_engine

    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}"'))
    except Exception as exc:  # noqa: BLE001 - reported as what it means here
        raise BackupError(
            f"schema {schema} is not empty; restore with --replace ({type(exc).__name__})"
        ) from exc
    finally:
        engine.dispose()


def restore(database_url: str, path: Path, replace: bool = False) -> str:
    """Restore PATH into the configured database. An empty database (new server, new file) is
    the normal target; one that holds tables is replaced only with ``replace``."""
    url = make_url(database_url)
    kind = _kind(url)
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"no backup at {path}")
    if not replace and has_tables(database_url):
        raise BackupError(
            "the database is not empty; restore into an empty database, or pass --replace "
            "to overwrite what it holds"
        )
    if kind == "sqlite":
        target_file = _sqlite_file(url)
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            if source.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"{path} is not a sound SQLite backup")
            target_file.parent.mkdir(parents=True, exist_ok=True)
            target = sqlite3.connect(target_file)
            try:
                source.backup(target)
            finally:
                target.close()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{path} is not an SQLite backup ({exc})") from exc
        finally:
            source.close()
    else:
        conn, env, schema_args = _pg_command(url)
        if schema_args and not replace:
            # A dump of one schema creates it; an empty one of that name (checked above: no
            # tables) would make the restore fail. Without CASCADE: anything in it stops this.
            _drop_empty_schema(database_url, schema_args[0].removeprefix("--schema="))
        _run(
            [
                "pg_restore",
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                *(["--clean", "--if-exists"] if replace else []),
                f"--dbname={conn}",
                str(path),
            ],
            env,
        )
    return kind


def key_opens_backup(database_url: str, crypto: Crypto) -> bool | None:
    """Whether the configured keys open the newest stored version (None: nothing stored)."""
    from mch_service.database import make_engine
    from mch_service.store.service import ResourceStore, newest_sealed_version

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            row = newest_sealed_version(conn)
    finally:
        engine.dispose()
    if row is None:
        return None
    store = ResourceStore(crypto, ZoneInfo("UTC"))
    try:
        resource_type, fhir_id, version_id, content = row
        store.unseal(resource_type, fhir_id, version_id, bytes(content or b""))
    except (DecryptionError, InvalidTag):
        return False
    return True
