"""Engine and sessions for SQLite (embedded default) and PostgreSQL, one code path.

SQLite runs in WAL mode with a busy timeout (synchronous=NORMAL; FULL in production, where
a power loss must not undo an acknowledged commit). Write transactions start with
``BEGIN IMMEDIATE`` so that two writers queue on the database lock instead of one
failing with "database is locked" when it upgrades a read lock; read-only sessions use a
plain deferred ``BEGIN`` and never block writers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import MetaData, Table, event, text
from sqlalchemy.engine import Engine, create_engine, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# PostgreSQL connections each process keeps (docs/operations.md: max_connections must exceed
# (POOL_SIZE + MAX_OVERFLOW) x processes)
POOL_SIZE = 10
MAX_OVERFLOW = 20


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


# A pooled connection idle this long (seconds) is pinged before use.
PING_AFTER_IDLE_S = 10.0


def make_engine(
    url: str,
    sqlite_synchronous: str = "NORMAL",
    ping_after_idle: float = PING_AFTER_IDLE_S,
    **kwargs: Any,
) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 60},
            **kwargs,
        )
        _configure_sqlite(engine, sqlite_synchronous)
        return engine
    if parsed.drivername in ("postgresql", "postgres"):
        url = str(parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False))
    engine = create_engine(url, **{"pool_size": POOL_SIZE, "max_overflow": MAX_OVERFLOW, **kwargs})
    _ping_when_idle(engine, ping_after_idle)
    return engine


def _ping_when_idle(engine: Engine, after: float) -> None:
    """Check a pooled connection before use only when it has been idle ``after`` seconds:
    SQLAlchemy's ``pool_pre_ping`` pings at every checkout, a round trip of every request
    (one statement in twelve of a district Bundle). A connection in steady use is known to
    be alive; one that sat idle may have been cut (a server restart, a firewall's timeout)
    and is pinged, and replaced when dead (SQLAlchemy's pessimistic-ping recipe: raising
    ``DisconnectionError`` at checkout makes the pool connect again)."""

    @event.listens_for(engine, "connect")
    def _on_connect(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is not None and time.monotonic() - idle_since < after:
            return
        dialect = engine.dialect
        try:
            dialect.do_ping(dbapi_conn)
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, dbapi_conn, None):
                raise DisconnectionError("a pooled connection was cut; connecting again") from exc
            raise


def _configure_sqlite(engine: Engine, synchronous: str = "NORMAL") -> None:
    if synchronous not in ("NORMAL", "FULL"):
        raise ValueError("SQLite synchronous must be NORMAL or FULL")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from the driver so BEGIN/SAVEPOINT behave
        # (SQLAlchemy's documented pysqlite recipe).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """Owns the engine and hands out sessions. Only the owner of a session commits."""

    def __init__(self, url: str, sqlite_synchronous: str = "NORMAL", **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, sqlite_synchronous, **engine_kwargs)
        self._write = sessionmaker(self.engine, expire_on_commit=False)
        read_bind = (
            self.engine.execution_options(sqlite_begin="DEFERRED")
            if is_sqlite(self.engine)
            else self.engine
        )
        self._read = sessionmaker(read_bind, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> Session:
        return self._write()

    def read_session(self) -> Session:
        return self._read()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A unit of work: commit on success, roll back on any error."""
        with self._write() as session, session.begin():
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with self._read() as session, session.begin():
            yield session

    def autovacuum_off(self) -> bool:
        """PostgreSQL running with ``autovacuum = off``: nothing then keeps the tables'
        statistics current, and the store's look-ups (identifiers, content keys, references)
        are planned for tables far smaller than they are (measured: benchmarks/README.md)."""
        if self.dialect != "postgresql":
            return False
        with self.reading() as session:
            return session.execute(text("SHOW autovacuum")).scalar_one() == "off"

    def dispose(self) -> None:
        self.engine.dispose()


def table_of(model: Any) -> Table:
    """The Core table of a mapped class: bulk inserts through it skip the ORM's per-row work."""
    return cast(Table, model.__table__)
