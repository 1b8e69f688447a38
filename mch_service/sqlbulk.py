"""The ingest path's SQL on PostgreSQL, at the cost of the driver rather than the ORM: bulk
writes (many rows of one table in one round trip, ``insert_rows``), look-ups as one fixed
statement whatever the number of values (``one_of``, ``pg_rows``), and reserved primary keys.

On PostgreSQL the rows go through ``COPY ... FROM STDIN`` on the session's own connection (so
inside its transaction and savepoints): one statement whatever the number of rows, and
psycopg formats the rows in C. Primary keys that the caller needs before writing dependent rows
are reserved from the table's sequence first (``reserve_pks``). Elsewhere (SQLite) the same
calls are a Core ``executemany``.

A unique-key or deadlock error raised by COPY is re-raised as SQLAlchemy's ``IntegrityError`` /
``OperationalError``, so callers handle it as they handle any other statement's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ARRAY, Table, any_, bindparam, insert
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

_DEFAULTS: dict[str, dict[str, Any]] = {}


def _defaults(table: Table) -> dict[str, Any]:
    found = _DEFAULTS.get(table.name)
    if found is None:
        found = _DEFAULTS[table.name] = _scalar_defaults(table)
    return found


def _scalar_defaults(table: Table) -> dict[str, Any]:
    """Python-side scalar defaults of the table's columns (e.g. ``default=False``)."""
    out: dict[str, Any] = {}
    for c in table.columns:
        d = c.default
        if d is not None and getattr(d, "is_scalar", False):
            out[c.name] = d.arg  # type: ignore[attr-defined]
    return out


def _columns(table: Table, rows: Sequence[dict[str, Any]]) -> list[str]:
    keys: set[str] = set()
    for r in rows:
        keys.update(r)
    present = [c.name for c in table.columns if c.name in keys]
    # columns with a Python default must be written even when no row names them
    return present + [
        name for name in _defaults(table) if name not in keys and name in table.columns
    ]


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def pg_rows(session: Session, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Run one fixed SQL statement (``%s`` placeholders, arrays for lists) on the session's
    PostgreSQL connection, inside its transaction, and return the rows. For the few look-ups
    every write makes: the driver alone costs a fraction of a SQLAlchemy statement. Callers
    keep a SQLAlchemy version of the same query for other databases."""
    raw = session.connection().connection.driver_connection
    try:
        with raw.cursor() as cur:  # type: ignore[union-attr]
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []
    except Exception as exc:  # psycopg.Error: give it SQLAlchemy's shape
        raise _wrap(sql, exc) from exc


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts of column name to value) into ``table``."""
    if not rows:
        return
    if not is_postgres(session):
        session.execute(insert(table), list(rows))
        return
    columns = _columns(table, rows)
    defaults = _defaults(table)
    values = [[r[c] if c in r else defaults.get(c) for c in columns] for r in rows]
    sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    raw = session.connection().connection.driver_connection
    try:
        with raw.cursor() as cur, cur.copy(sql) as copy:  # type: ignore[union-attr]
            for v in values:
                copy.write_row(v)
    except Exception as exc:  # psycopg.Error: give it SQLAlchemy's shape
        raise _wrap(sql, exc) from exc


def reserve_pks(session: Session, table: Table, count: int) -> list[int]:
    """``count`` new values of the table's integer primary key, in increasing order (taken from
    its sequence on PostgreSQL). Elsewhere returns [] and the caller inserts without keys."""
    if count <= 0 or not is_postgres(session):
        return []
    pk = next(iter(table.primary_key.columns)).name
    # the sequence is looked up in the statement (not cached): it depends on the schema the
    # connection works in
    rows = pg_rows(
        session,
        "WITH s AS (SELECT pg_get_serial_sequence(%s, %s) AS seq) "
        "SELECT nextval(s.seq) FROM s, generate_series(1, %s)",
        (table.name, pk, count),
    )
    return sorted(r[0] for r in rows)


def _wrap(statement: str, exc: Exception) -> Exception:
    import psycopg

    if isinstance(exc, psycopg.IntegrityError):
        return sa_exc.IntegrityError(statement, None, exc)
    if isinstance(exc, psycopg.OperationalError):
        return sa_exc.OperationalError(statement, None, exc)
    if isinstance(exc, psycopg.Error):
        return sa_exc.DBAPIError(statement, None, exc)
    return exc


def one_of(session: Session, column: Any, values: Sequence[Any]) -> Any:
    """``column IN values`` as one fixed statement: ``= ANY(:array)`` on PostgreSQL (the SQL
    text does not change with the number of values, so it is compiled, parsed and planned
    once), an expanding IN elsewhere."""
    if is_postgres(session):
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))
