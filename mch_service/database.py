"""Engine and sessions for SQLite (embedded default) and PostgreSQL, one code path.

SQLite runs in WAL mode with a busy timeout (synchronous=NORMAL; FULL in production, where
a power loss must not undo an acknowledged commit). Write transactions start with
``BEGIN IMMEDIATE`` so that two writers queue on the database lock instead of one
failing with "database is locked" when it upgrades a read lock; read-only sessions use a
plain deferred ``BEGIN`` and never block writers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import MetaData, Table, event, text
from sqlalchemy.engine import Engine, create_engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, sqlite_synchronous: str = "NORMAL", **kwargs: Any) -> Engine:
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
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, **kwargs)


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
