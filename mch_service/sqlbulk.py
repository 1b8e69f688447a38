"""The ingest path's SQL on PostgreSQL, at the cost of the driver rather than the ORM: bulk
writes (many rows of several tables in one round trip, ``insert_many``; ``update_rows``),
look-ups as one fixed statement whatever the number of values (``one_of``, ``pg_rows``), and
reserved primary keys.

On PostgreSQL ``insert_many`` sends one statement on the session's own connection (so inside
its transaction and savepoints) whatever the number of tables: each table's rows travel as one
JSON array (serialised by orjson, in C) and are inserted by a data-modifying ``WITH`` part,
``INSERT INTO t (cols) SELECT cols FROM json_populate_recordset(NULL::t, $n)``. Column types,
lengths and constraints are PostgreSQL's own, as for any INSERT; foreign keys are checked at
the end of the statement, so a Bundle's resources and their versions go together. The
statement text depends only on the tables and columns, so psycopg prepares it once per
connection. Batches larger than ``CHUNK_ROWS`` go as several statements, table by table. This
replaced one ``COPY`` per table (two round trips each, about fifteen per Bundle): measured on
the benchmark's Bundles, it costs a third of the client CPU and less PostgreSQL CPU
(benchmarks/README.md).

Values are written as ``COPY`` wrote them: bytes as bytea, a Decimal exactly, NaN and
infinities as PostgreSQL's ``NaN`` / ``Infinity``, datetimes with their offset (an offset with
seconds, which no caller writes, is rounded to the minute by orjson); keys that are not columns
of the table are ignored. Pending ORM changes of the session are flushed first, as
``Session.execute`` does.

Primary keys that the caller needs before writing dependent rows are reserved from the table's
sequence first (``reserve_pks``). Elsewhere (SQLite) the same calls are a Core ``executemany``
per table.

A driver error is re-raised as SQLAlchemy's class of the same name (``IntegrityError`` for a
unique key, ``OperationalError`` for a deadlock or a lock timeout, ``DataError``, ...), so
callers handle it as they handle any other statement's.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import ARRAY, Table, any_, bindparam, insert, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

# Rows of one table per statement at the most: a full work-list refresh writes hundreds of
# thousands, and one JSON parameter of that size would hold it all in memory twice.
CHUNK_ROWS = 20_000

_DEFAULTS: dict[str, dict[str, Any]] = {}
_COLUMNS: dict[str, frozenset[str]] = {}


def _defaults(table: Table) -> dict[str, Any]:
    found = _DEFAULTS.get(table.name)
    if found is None:
        found = _DEFAULTS[table.name] = _scalar_defaults(table)
    return found


def _column_names(table: Table) -> frozenset[str]:
    found = _COLUMNS.get(table.name)
    if found is None:
        found = _COLUMNS[table.name] = frozenset(c.name for c in table.columns)
    return found


def _scalar_defaults(table: Table) -> dict[str, Any]:
    """Python-side scalar defaults of the table's columns (e.g. ``default=False``)."""
    out: dict[str, Any] = {}
    for c in table.columns:
        d = c.default
        if d is not None and getattr(d, "is_scalar", False):
            out[c.name] = d.arg  # type: ignore[attr-defined]
    return out


def _complete(table: Table, rows: Sequence[dict[str, Any]]) -> Sequence[dict[str, Any]]:
    """The rows as given when they all name the same columns of the table, every column with
    a Python default (``default=False``) among them (the usual case: nothing is copied).
    Otherwise copies that do: a column a row leaves out gets its default, or NULL, and a key
    that is not a column is dropped."""
    defaults = _defaults(table)
    first = rows[0].keys()
    if (
        all(r.keys() == first for r in rows)
        and first <= _column_names(table)
        and all(name in first for name in defaults)
    ):
        return rows
    names: set[str] = set(defaults)
    for r in rows:
        names.update(r)
    columns = [c.name for c in table.columns if c.name in names]
    return [{c: r[c] if c in r else defaults.get(c) for c in columns} for r in rows]


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _driver_connection(session: Session) -> Any:
    """The session's own driver connection, after flushing pending ORM changes (as
    ``Session.execute`` would): a raw statement must see them."""
    session.flush()
    return session.connection().connection.driver_connection


def pg_rows(session: Session, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Run one fixed SQL statement (``%s`` placeholders, arrays for lists) on the session's
    PostgreSQL connection, inside its transaction, and return the rows. For the few look-ups
    every write makes: the driver alone costs a fraction of a SQLAlchemy statement. Callers
    keep a SQLAlchemy version of the same query for other databases."""
    raw = _driver_connection(session)
    try:
        with raw.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []  # type: ignore[no-any-return]
    except Exception as exc:  # psycopg.Error: give it SQLAlchemy's shape
        raise _wrap(sql, exc, session) from exc


def pg_execute(session: Session, sql: str, params: Sequence[Any]) -> int:
    """Run one fixed SQL statement that returns no rows, as ``pg_rows`` does; the number of
    rows it changed."""
    raw = _driver_connection(session)
    try:
        with raw.cursor() as cur:
            cur.execute(sql, params)
            return cur.rowcount  # type: ignore[no-any-return]
    except Exception as exc:  # psycopg.Error: give it SQLAlchemy's shape
        raise _wrap(sql, exc, session) from exc


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts of column name to value) into ``table``."""
    insert_many(session, [(table, rows)])


def insert_many(
    session: Session, batches: Sequence[tuple[Table, Sequence[dict[str, Any]]]]
) -> None:
    """Insert each batch's rows (dicts of column name to value) into its table: one statement
    on PostgreSQL, all or nothing (batches over ``CHUNK_ROWS`` rows: one statement per chunk,
    in the caller's transaction). Tables are written in the order given (which matters only on
    SQLite and for chunked batches, where foreign keys are checked row by row or statement by
    statement: name a parent before its children)."""
    batches = [(table, _complete(table, rows)) for table, rows in batches if rows]
    if not batches:
        return
    if not is_postgres(session):
        for table, rows in batches:
            session.execute(insert(table), rows)
        return
    if any(len(rows) > CHUNK_ROWS for _, rows in batches):
        for table, rows in batches:
            for start in range(0, len(rows), CHUNK_ROWS):
                _insert_pg(session, [(table, rows[start : start + CHUNK_ROWS])])
        return
    _insert_pg(session, batches)


def _insert_pg(session: Session, batches: Sequence[tuple[Table, Sequence[dict[str, Any]]]]) -> None:
    key = tuple((table.name, tuple(rows[0])) for table, rows in batches)
    sql = _STATEMENTS.get(key)
    if sql is None:
        sql = _STATEMENTS[key] = _insert_statement(key)
    pg_execute(session, sql, [_json_rows(rows) for _, rows in batches])


_STATEMENTS: dict[tuple[Any, ...], str] = {}  # statement text by shape (tables, columns)


@functools.cache
def _quote(name: str) -> str:
    from sqlalchemy.dialects import postgresql

    return postgresql.dialect().identifier_preparer.quote(name)  # type: ignore[no-any-return]


def _insert_statement(shape: Sequence[tuple[str, tuple[str, ...]]]) -> str:
    parts = []
    for n, (table, columns) in enumerate(shape):
        name = _quote(table)
        cols = ", ".join(_quote(c) for c in columns)
        parts.append(
            f"w{n} AS (INSERT INTO {name} ({cols}) "
            f"SELECT {cols} FROM json_populate_recordset(NULL::{name}, %s::json))"
        )
    return "WITH " + ", ".join(parts) + " SELECT 1"


def _json_rows(rows: Sequence[dict[str, Any]]) -> str:
    # orjson writes NaN and infinities as null: give them as the text PostgreSQL reads
    if any(type(v) is float and not math.isfinite(v) for r in rows for v in r.values()):
        rows = [{k: _finite(v) for k, v in r.items()} for r in rows]
    return orjson.dumps(rows, default=_json_value).decode()


def _finite(value: Any) -> Any:
    if type(value) is float and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def _json_value(value: Any) -> Any:
    """What orjson does not write itself: bytes as PostgreSQL's hex form of bytea, a Decimal as
    its exact text."""
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, Decimal):
        return str(value)  # also NaN and Infinity, which PostgreSQL reads as such
    raise TypeError(f"cannot write a {type(value).__name__} as a column value")


def update_rows(session: Session, table: Table, key: str, rows: Sequence[dict[str, Any]]) -> None:
    """Set, in each row of ``table`` whose ``key`` column equals the row's ``key`` value, the
    other columns the row names (all rows name the same columns; keys are unique). One
    statement on PostgreSQL (``UPDATE ... FROM json_populate_recordset``), a Core executemany
    elsewhere."""
    if not rows:
        return
    # (not _complete: an update sets only what the rows name, never a column's default)
    columns = [c for c in rows[0] if c != key]
    if not is_postgres(session):
        session.execute(
            update(table)
            .where(table.c[key] == bindparam("_k"))
            .values({c: bindparam("_v_" + c) for c in columns}),
            [{"_k": r[key], **{"_v_" + c: r[c] for c in columns}} for r in rows],
        )
        return
    statement_key = ("update", table.name, key, tuple(columns))
    sql = _STATEMENTS.get(statement_key)
    if sql is None:
        name = _quote(table.name)
        sets = ", ".join(f"{_quote(c)} = v.{_quote(c)}" for c in columns)
        sql = _STATEMENTS[statement_key] = (
            f"UPDATE {name} SET {sets} FROM json_populate_recordset(NULL::{name}, %s::json) AS v "
            f"WHERE {name}.{_quote(key)} = v.{_quote(key)}"
        )
    for start in range(0, len(rows), CHUNK_ROWS):
        pg_execute(session, sql, [_json_rows(rows[start : start + CHUNK_ROWS])])


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


def _wrap(statement: str, exc: Exception, session: Session) -> Exception:
    """A psycopg error as SQLAlchemy raises it for its own statements: the SQLAlchemy class
    of the DB-API class it derives from (``IntegrityError``, ``OperationalError``, ...), and,
    as SQLAlchemy does, a connection the server cut is invalidated (the pool connects again)
    and the error says so (``connection_invalidated``: the write path then tries again)."""
    import psycopg

    if not isinstance(exc, psycopg.Error):
        return exc
    connection = session.connection()
    dbapi_error: Any = exc  # psycopg's error is the dialect's DB-API Error
    lost = connection.dialect.is_disconnect(
        dbapi_error, connection.connection.dbapi_connection, None
    )
    if lost:
        connection.invalidate(exc)
    for name in _DBAPI_CLASSES:
        if isinstance(exc, getattr(psycopg, name)):
            cls: type[sa_exc.DBAPIError] = getattr(sa_exc, name)
            return cls(statement, None, exc, connection_invalidated=lost)
    return sa_exc.DBAPIError(statement, None, exc, connection_invalidated=lost)


# the DB-API 2.0 exception classes, most specific first
_DBAPI_CLASSES = (
    "IntegrityError",
    "OperationalError",
    "DataError",
    "ProgrammingError",
    "NotSupportedError",
    "InternalError",
    "DatabaseError",
    "InterfaceError",
)


def one_of(session: Session, column: Any, values: Sequence[Any]) -> Any:
    """``column IN values`` as one fixed statement: ``= ANY(:array)`` on PostgreSQL (the SQL
    text does not change with the number of values, so it is compiled, parsed and planned
    once), an expanding IN elsewhere."""
    if is_postgres(session):
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))
