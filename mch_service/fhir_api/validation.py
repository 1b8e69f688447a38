"""Is this valid FHIR R4? Base structure (fhir.resources models), the structural rules those
models miss (structural_rules), and the rules that protect our data (references).

Every problem becomes an ``Issue`` whose expression points at the element, e.g.
``Observation.valueQuantity.value`` or ``Bundle.entry[3].resource.subject.reference``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import orjson
from pydantic import ValidationError

from mch_service.errors import InvalidResource, Issue
from mch_service.fhir_api.fhir_models import get_fhir_model_class
from mch_service.fhir_api.resource_types import R4_ONLY_TYPES, R4_RESOURCE_TYPES
from mch_service.fhir_api.strict_types import strict_type_issues
from mch_service.fhir_api.structural_rules import check_structure

# Use these with fullmatch: `$` also matches before a final newline, and an id "a\n" stored
# that way breaks the Location header of every answer about it.
ID_RE = re.compile(r"[A-Za-z0-9\-\.]{1,64}")
_RELATIVE_REF = re.compile(
    r"(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-\.]{1,64})(?:/_history/[A-Za-z0-9\-\.]{1,64})?"
)
_UUID_REF = re.compile(
    r"urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_CONDITIONAL_REF = re.compile(r"(?P<type>[A-Z][A-Za-z]+)\?(?P<query>.+)")


def parse_json(body: bytes) -> Any:
    if not body.strip():
        raise InvalidResource(
            [Issue("The request body is empty; send a FHIR JSON resource", code="required")]
        )
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidResource(
            [
                Issue(
                    f"The body is not valid JSON: {exc.msg} at line {exc.lineno}, column "
                    f"{exc.colno}",
                    code="structure",
                )
            ],
            "The body is not valid JSON",
        ) from None


@lru_cache(maxsize=256)
def _model(resource_type: str) -> Any:
    return get_fhir_model_class(resource_type)


def loc_to_expression(root: str, loc: tuple[Any, ...]) -> str:
    out = root
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str):
            # `_birthDate` carries the extensions of primitive `birthDate`; name the element.
            name = part[1:] if part.startswith("_") else part
            if name and not name.startswith(("function-", "model_")):
                out += "." + name
    return out


# fhir_core's messages for a bad date say only "does not match spec regex" (or, for a number,
# talk of datetimes with zero time): say what was sent and the form expected.
_TEMPORAL_FORMS = {
    "Date": ("date", "YYYY-MM-DD (or YYYY-MM, YYYY), e.g. 1992-04-05"),
    "DateTime": (
        "dateTime",
        "YYYY-MM-DD or YYYY-MM-DDThh:mm:ss+08:00, e.g. 2025-03-01T09:30:00+08:00",
    ),
    "Instant": ("instant", "YYYY-MM-DDThh:mm:ss+08:00 (seconds and offset required)"),
    "Time": ("time", "hh:mm:ss, e.g. 09:30:00"),
}
_TEMPORAL_MSG = re.compile(r"\b(Date|DateTime|Instant|Time) value string does not match")


def _temporal_message(msg: str, value: Any) -> str | None:
    m = _TEMPORAL_MSG.search(msg)
    kind = m.group(1) if m else "Date" if "provided to dates" in msg else None
    if kind is None:
        return None
    name, form = _TEMPORAL_FORMS[kind]
    shown = json.dumps(value, ensure_ascii=False, default=str)[:60]  # any int, unlike orjson
    if not isinstance(value, str):
        return f"A FHIR {name} is a JSON string, not {shown}: write {form}"
    return f"{shown} is not a FHIR {name}: write {form}"


def pydantic_issues(root: str, exc: ValidationError) -> list[Issue]:
    issues = []
    for err in exc.errors(include_url=False):
        loc = tuple(err.get("loc", ()))
        msg = err.get("msg", "invalid value")
        kind = err.get("type", "")
        if kind in ("missing", "model_field_validation.missing"):
            msg = f"Required element is missing ({msg})"
        elif kind == "extra_forbidden":
            msg = "Unknown element: R4 does not define it here (check spelling and nesting)"
        else:
            msg = _temporal_message(msg, err.get("input")) or msg
        issues.append(
            Issue(
                msg, loc_to_expression(root, loc), "required" if "missing" in kind else "structure"
            )
        )
    return issues


def iter_references(node: Any, path: str) -> Iterator[tuple[dict[str, Any], str]]:
    """Every Reference datatype under ``node`` (not descending into contained resources'
    own ``contained``), with its expression."""
    if isinstance(node, dict):
        ref = node.get("reference")
        if isinstance(ref, str):
            yield node, path
        for key, value in node.items():
            if key == "reference" or key == "text":  # narrative and ref string: leaves
                continue
            if isinstance(value, (dict, list)):
                yield from iter_references(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            if isinstance(item, (dict, list)):
                yield from iter_references(item, f"{path}[{i}]")


def reference_nodes(node: Any) -> list[dict[str, Any]]:
    """The Reference datatypes under ``node``, in the order ``iter_references`` finds them,
    without building their expressions: the fast walk for valid input. Find the expression of
    one that turns out to be wrong with ``reference_path``."""
    out: list[dict[str, Any]] = []
    _collect(node, out)
    return out


def _collect(node: Any, out: list[dict[str, Any]]) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str):
            out.append(node)
        for key, value in node.items():
            if key != "reference" and key != "text" and isinstance(value, (dict, list)):
                _collect(value, out)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, (dict, list)):
                _collect(item, out)


def reference_path(resource: Any, node: dict[str, Any], root: str) -> str:
    """The expression of the Reference ``node`` (an object inside ``resource``)."""
    for found, path in iter_references(resource, root):
        if found is node:
            return path
    return root


def reference_kind(ref: str) -> str | None:
    """literal | contained | absolute | uuid | conditional | None (malformed)."""
    if ref.startswith("#"):
        return "contained"
    if _UUID_REF.fullmatch(ref):
        return "uuid"
    if ref.startswith(("http://", "https://", "urn:oid:")):
        return "absolute"
    m = _RELATIVE_REF.fullmatch(ref)
    if m:
        return "literal" if m["type"] in R4_RESOURCE_TYPES else None
    m = _CONDITIONAL_REF.fullmatch(ref)
    if m and m["type"] in R4_RESOURCE_TYPES:
        return "conditional"
    return None


def _reference_issues(resource: dict[str, Any], root: str) -> list[Issue]:
    issues: list[Issue] = []
    if all(reference_kind(n["reference"]) is not None for n in reference_nodes(resource)):
        return issues
    for node, path in iter_references(resource, root):
        ref = node["reference"]
        if reference_kind(ref) is None:
            issues.append(
                Issue(
                    f"Reference {ref!r} is not a valid reference: use 'Type/id' with an R4 "
                    "resource "
                    "type, an absolute URL, 'urn:uuid:…' of a bundle entry, '#id' of a contained "
                    "resource, or 'Type?identifier=system|value'",
                    f"{path}.reference",
                    "value",
                )
            )
    return issues


# A dateTime with a time but no offset: FHIR wants an offset; the district's senders often omit
# it, and INTERFACE.md says such times are local (Asia/Shanghai). They are accepted and stored
# as sent; the models check a copy with an offset added.
_LOCAL_TIME = re.compile(rb'"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?"')
_LOCAL_TIME_STR = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?")


def _with_offsets(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _with_offsets(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_with_offsets(v) for v in node]
    if isinstance(node, str) and _LOCAL_TIME_STR.fullmatch(node):
        return node + "Z"
    return node


def model_input(resource: dict[str, Any]) -> dict[str, Any]:
    if _LOCAL_TIME.search(orjson.dumps(resource)):
        return _with_offsets(resource)  # type: ignore[no-any-return]
    return resource


# Required bindings (R4) on the elements the domain reads, which the models leave unchecked: a
# status or gender outside its value set changes what a record means.
_OBS = (
    "registered",
    "preliminary",
    "final",
    "amended",
    "corrected",
    "cancelled",
    "entered-in-error",
    "unknown",
)
REQUIRED_CODES: dict[tuple[str, str], tuple[str, ...]] = {
    ("Patient", "gender"): ("male", "female", "other", "unknown"),
    ("Observation", "status"): _OBS,
    ("RiskAssessment", "status"): _OBS,
    ("Encounter", "status"): (
        "planned",
        "arrived",
        "triaged",
        "in-progress",
        "onleave",
        "finished",
        "cancelled",
        "entered-in-error",
        "unknown",
    ),
    ("Procedure", "status"): (
        "preparation",
        "in-progress",
        "not-done",
        "on-hold",
        "stopped",
        "completed",
        "entered-in-error",
        "unknown",
    ),
    ("EpisodeOfCare", "status"): (
        "planned",
        "waitlist",
        "active",
        "onhold",
        "finished",
        "cancelled",
        "entered-in-error",
    ),
    ("MedicationAdministration", "status"): (
        "in-progress",
        "not-done",
        "on-hold",
        "completed",
        "entered-in-error",
        "stopped",
        "unknown",
    ),
    ("MedicationStatement", "status"): (
        "active",
        "completed",
        "entered-in-error",
        "intended",
        "stopped",
        "on-hold",
        "unknown",
        "not-taken",
    ),
    ("MedicationRequest", "status"): (
        "active",
        "on-hold",
        "cancelled",
        "completed",
        "entered-in-error",
        "stopped",
        "draft",
        "unknown",
    ),
}


def _binding_issues(resource: dict[str, Any], rtype: str, root: str) -> list[Issue]:
    issues = []
    for (t, element), allowed in REQUIRED_CODES.items():
        if (
            t == rtype
            and isinstance(resource.get(element), str)
            and (resource[element] not in allowed)
        ):
            issues.append(
                Issue(
                    f"{resource[element]!r} is not a valid {rtype}.{element} (required binding): "
                    f"use one of {', '.join(allowed)}",
                    f"{root}.{element}",
                    "code-invalid",
                )
            )
    return issues


def validate_resource(
    resource: Any,
    root: str | None = None,
    *,
    structure_checked: bool = False,
    reject_example_urls: bool = False,
    reject_active_content: bool = True,
) -> list[Issue]:
    """All problems with one resource (empty if it is valid). ``root`` is the expression of
    the resource itself, e.g. ``Bundle.entry[2].resource``; it defaults to its type.
    ``structure_checked`` skips the structural rules when the enclosing Bundle had them."""
    if not isinstance(resource, dict):
        return [Issue("Expected a JSON object holding a FHIR resource", root, "structure")]
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str):
        return [Issue("The resource has no resourceType", root, "required")]
    if rtype not in R4_RESOURCE_TYPES:
        return [
            Issue(
                f"{rtype!r} is not a FHIR R4 resource type",
                f"{root or rtype}.resourceType" if root else "resourceType",
                "not-supported",
            )
        ]
    root = root or rtype
    issues = (
        []
        if structure_checked
        else [
            Issue(i.message, i.expression, i.code)
            for i in check_structure(
                resource,
                root,
                reject_example_urls=reject_example_urls,
                reject_active_content=reject_active_content,
            )
        ]
    )
    if issues:
        return issues  # the model would trip over the same things with less clear messages
    if rtype not in R4_ONLY_TYPES:
        # The models are lax ("121" passes as a decimal): the JSON types are checked first,
        # and the models' issues are kept for the other elements.
        issues.extend(strict_type_issues(resource, root))
        typed = {i.expression for i in issues}
        try:
            _model(rtype).model_validate(model_input(resource))
        except ValidationError as exc:
            issues.extend(i for i in pydantic_issues(root, exc) if i.expression not in typed)
        except (ValueError, TypeError, KeyError) as exc:  # a model validator raising directly
            issues.append(Issue(f"Invalid content: {exc}", root, "structure"))
    issues.extend(_binding_issues(resource, rtype, root))
    issues.extend(_reference_issues(resource, root))
    return issues
