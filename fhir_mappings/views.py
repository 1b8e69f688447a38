"""Running the ViewDefinitions in ``views/`` over one resource (fhirpathpy, compiled once).

Supported subset of SQL-on-FHIR v2: ``resource``, ``where[].path``, ``select[].column[]`` with
``name``, ``path`` and ``collection``; ``getResourceKey()`` is the resource id. That is all
the domain needs; the files stay valid ViewDefinitions for other engines.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from fhirpathpy import compile as fhirpath_compile
from fhirpathpy.models import models

from fhir_mappings.fastpath import Unsupported, compile_path, compile_where

VIEWS_DIR = Path(__file__).parent / "views"
_R4 = models["r4"]


@dataclass(frozen=True)
class _Column:
    name: str
    collection: bool
    fn: Callable[[Any], list[Any]] | None  # None: getResourceKey()


@dataclass(frozen=True)
class View:
    name: str
    resource: str
    where: tuple[Callable[[Any], list[Any]], ...]
    columns: tuple[_Column, ...]

    def row(self, resource: dict[str, Any]) -> dict[str, Any] | None:
        """The flattened row, or None when a where clause excludes the resource."""
        for test in self.where:
            result = test(resource)
            if not result or result[0] is not True:
                return None
        out: dict[str, Any] = {}
        for col in self.columns:
            if col.fn is None:
                out[col.name] = resource.get("id")
                continue
            values = [_plain(v) for v in col.fn(resource)]
            out[col.name] = values if col.collection else (values[0] if values else None)
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "data"):  # fhirpathpy wraps typed values (e.g. FP_DateTime)
        return value.data
    return value


def reference_compile(path: str) -> Callable[[Any], list[Any]]:
    fn = fhirpath_compile(path, model=_R4)
    return lambda resource: fn(resource, {})  # type: ignore[no-any-return]


def _compile(path: str) -> Callable[[Any], list[Any]]:
    try:
        return compile_path(path)
    except Unsupported:
        return reference_compile(path)


def _compile_where(path: str) -> Callable[[Any], list[Any]]:
    try:
        return compile_where(path)
    except Unsupported:
        return reference_compile(path)


class ViewSet:
    def __init__(self, views: list[View]) -> None:
        self.by_resource = {v.resource: v for v in views}

    def row(self, resource: dict[str, Any]) -> dict[str, Any] | None:
        view = self.by_resource.get(resource.get("resourceType", ""))
        return view.row(resource) if view else None


def load_views(canonical: str, fast: bool = True) -> ViewSet:
    """``fast=False`` runs everything through fhirpathpy (the reference, for tests)."""
    compile_ = _compile if fast else reference_compile
    compile_where_ = _compile_where if fast else reference_compile
    views = []
    for path in sorted(VIEWS_DIR.glob("*.json")):
        spec = json.loads(path.read_text(encoding="utf-8"))
        where = tuple(compile_where_(w["path"]) for w in spec.get("where", []))
        columns = []
        for select in spec["select"]:
            for col in select["column"]:
                p = col["path"].replace("{canonical}", canonical)
                columns.append(
                    _Column(
                        col["name"],
                        bool(col.get("collection")),
                        None if p == "getResourceKey()" else compile_(p),
                    )
                )
        views.append(View(spec["name"], spec["resource"], where, tuple(columns)))
    return ViewSet(views)
