"""FHIR JSON's primitive types, held strictly. fhir.resources validates in pydantic's lax mode:
``"121"`` passes as a decimal, ``"false"`` as a boolean, ``"9"`` as an integer, and is stored as
sent. FHIR JSON says a decimal or an integer is a JSON number and a boolean is ``true`` or
``false`` (R4 §2.6.2), and a sender whose interface writes strings has a bug we should show it
rather than keep. fhir_core offers no strict switch (``model_validate(strict=True)`` still takes
them: its types wrap their own validators), so this walks the JSON against the model's field
types, the plan of each class computed once, as fhir_models.py does for its speed-up.
"""

from __future__ import annotations

import datetime
import decimal
import json
import types
from typing import Annotated, Any, Union, get_args, get_origin

from fhir_core.types import FhirBase

from mch_service.errors import Issue
from mch_service.fhir_api.fhir_models import get_fhir_model_class
from mch_service.fhir_api.resource_types import R4_ONLY_TYPES, R4_RESOURCE_TYPES

# kind of a field: a primitive checked here, a complex type to walk into, or any resource
_Spec = tuple[str, Any]
_PLANS: dict[type, dict[str, _Spec]] = {}
_ABSTRACT_RESOURCES = ("Resource", "DomainResource")
_EXPECTED = {
    "boolean": "a FHIR boolean is true or false, without quotes",
    "integer": "a FHIR integer is a JSON number without quotes or fraction, e.g. 9",
    "decimal": "a FHIR decimal is a JSON number without quotes, e.g. 121 or 36.5",
    "temporal": 'a FHIR date or time is a JSON string, e.g. "1992-04-05"',
}


def _spec(annotation: Any) -> _Spec | None:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _spec(get_args(annotation)[0])
    if origin in (Union, types.UnionType, list):
        for arg in get_args(annotation):
            if arg is not type(None) and (found := _spec(arg)) is not None:
                return found
        return None
    if annotation is bool:
        return ("boolean", None)
    if annotation is int:
        return ("integer", None)
    if annotation is decimal.Decimal:
        return ("decimal", None)
    if annotation in (datetime.date, datetime.datetime, datetime.time):
        return ("temporal", None)
    if isinstance(annotation, type) and issubclass(annotation, FhirBase):
        klass = annotation.get_model_klass()  # type: ignore[attr-defined]
        if klass.__name__ in _ABSTRACT_RESOURCES:
            return ("resource", None)
        return ("model", klass)
    return None


def _plan(cls: type) -> dict[str, _Spec]:
    plan = _PLANS.get(cls)
    if plan is None:
        plan = {}
        for name, field in cls.model_fields.items():  # type: ignore[attr-defined]
            spec = _spec(field.annotation)
            if spec is not None:
                plan[field.alias or name] = spec
        _PLANS[cls] = plan
    return plan


def _wrong(kind: str, value: Any) -> bool:
    if value is None:
        return False  # a null is the structural rules' to refuse, with their own message
    if kind == "boolean":
        return not isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, bool) or not isinstance(value, int)
    if kind == "decimal":
        return isinstance(value, bool) or not isinstance(value, (int, float))
    # dates and times: the model's own check speaks of the form (validation.py); only a
    # number or boolean, which pydantic would read as a timestamp, is refused here
    return kind == "temporal" and isinstance(value, (bool, int, float))


def _walk(node: dict[str, Any], cls: type, path: str, out: list[Issue]) -> None:
    plan = _plan(cls)
    for key, value in node.items():
        spec = plan.get(key)
        if spec is None:
            continue
        kind, klass = spec
        many = isinstance(value, list)
        for i, item in enumerate(value if many else [value]):
            where = f"{path}.{key}[{i}]" if many else f"{path}.{key}"
            if kind == "model":
                if isinstance(item, dict):
                    _walk(item, klass, where, out)
            elif kind == "resource":
                rtype = item.get("resourceType") if isinstance(item, dict) else None
                if isinstance(rtype, str) and rtype in R4_RESOURCE_TYPES:
                    if rtype not in R4_ONLY_TYPES:
                        _walk(item, get_fhir_model_class(rtype), where, out)
            elif _wrong(kind, item):
                shown = json.dumps(item, ensure_ascii=False)[:60]  # any int, unlike orjson
                out.append(Issue(f"{shown} is not valid here: {_EXPECTED[kind]}", where, "value"))


def strict_type_issues(resource: dict[str, Any], root: str) -> list[Issue]:
    """A located issue for every boolean, integer, decimal, date or time of ``resource`` whose
    JSON type is wrong. The resource type must have an R4B model."""
    out: list[Issue] = []
    _walk(resource, get_fhir_model_class(resource["resourceType"]), root, out)
    return out
