"""A reference's two halves in SQL ("Patient/123" -> "Patient", "123"), the same on SQLite
and PostgreSQL, so that finding the record a reference names can use the unique index on
(institution_id, resource_type, fhir_id) instead of building ``type || '/' || id`` for every
stored record (which made the unresolved-reference counts take seconds per sender)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class ref_type(FunctionElement[str]):  # noqa: N801 (reads as SQL)
    """The part of a reference before its first ``/`` (NULL when it has none)."""

    type = String()
    inherit_cache = True
    name = "ref_type"


class ref_id(FunctionElement[str]):  # noqa: N801 (reads as SQL)
    """The part of a reference after its first ``/`` (with ``ref_type`` NULL when none)."""

    type = String()
    inherit_cache = True
    name = "ref_id"


_FIND = {"sqlite": "instr", "postgresql": "strpos"}


def type_sql(t: str, find: str = "strpos") -> str:
    """``ref_type`` of the SQL expression ``t`` as text (``find``: the dialect's strpos)."""
    return f"(CASE WHEN {find}({t}, '/') > 0 THEN substr({t}, 1, {find}({t}, '/') - 1) END)"


def id_sql(t: str, find: str = "strpos") -> str:
    """``ref_id`` of the SQL expression ``t`` as text."""
    return f"substr({t}, {find}({t}, '/') + 1)"


def _type(element: Any, compiler: Any, find: str, **kw: Any) -> str:
    (target,) = list(element.clauses)
    return type_sql(compiler.process(target, **kw), find)


def _id(element: Any, compiler: Any, find: str, **kw: Any) -> str:
    (target,) = list(element.clauses)
    return id_sql(compiler.process(target, **kw), find)


@compiles(ref_type, "sqlite")
def _type_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return _type(element, compiler, "instr", **kw)


@compiles(ref_type, "postgresql")
def _type_pg(element: Any, compiler: Any, **kw: Any) -> str:
    return _type(element, compiler, "strpos", **kw)


@compiles(ref_id, "sqlite")
def _id_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return _id(element, compiler, "instr", **kw)


@compiles(ref_id, "postgresql")
def _id_pg(element: Any, compiler: Any, **kw: Any) -> str:
    return _id(element, compiler, "strpos", **kw)
