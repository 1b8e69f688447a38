"""SQL helpers that differ between SQLite and PostgreSQL, kept to one place."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class day_diff(FunctionElement[int]):  # noqa: N801 (reads as SQL)
    """Whole days from ``b`` to ``a`` (``a - b``) for two DATE columns."""

    type = Integer()
    inherit_cache = True
    name = "day_diff"


@compiles(day_diff, "postgresql")
def _pg(element: Any, compiler: Any, **kw: Any) -> str:
    a, b = list(element.clauses)
    return f"({compiler.process(a, **kw)} - {compiler.process(b, **kw)})"


@compiles(day_diff, "sqlite")
def _sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    a, b = list(element.clauses)
    return (
        f"CAST(julianday({compiler.process(a, **kw)}) - "
        f"julianday({compiler.process(b, **kw)}) AS INTEGER)"
    )
