"""The entry point of the structural rules, ``check_structure``, and the walk of a resource's
JSON: the JSON representation rules (json.html: no ``null``, ``{}``, ``[]`` or blank strings;
primitive arrays aligned with their ``_name`` arrays) and resource ids (datatypes.html#id), for
the resource and every one nested in it. The other rule families are called from the walk."""

from __future__ import annotations

import re
from typing import Any

import orjson

from mch_service.fhir_api.structural_rules.bundles import check_bundle_structure
from mch_service.fhir_api.structural_rules.extensions import check_extension
from mch_service.fhir_api.structural_rules.narrative import check_narrative
from mch_service.fhir_api.structural_rules.periods import PERIOD_KEYS, check_period
from mch_service.fhir_api.structural_rules.shared import (
    IssueCollector,
    StructuralIssue,
    element_name,
)
from mch_service.fhir_api.structural_rules.unsafe_text import (
    CONTROL_ESCAPE,
    check_active_content,
    check_control_characters,
    may_hold_active_content,
    may_hold_control_characters,
)

_ID_RE = re.compile(r"[A-Za-z0-9\-\.]{1,64}")


def check_structure(
    resource: dict[str, Any],
    root: str | None = None,
    *,
    reject_example_urls: bool = False,
    reject_active_content: bool = True,
) -> list[StructuralIssue]:
    """Base-R4 structural problems in a parsed FHIR JSON resource; [] if there are none.

    ``reject_example_urls`` applies the reference validator's production rule that extension
    urls on example domains (example.org, .com, .net) are not allowed. The validator relaxes it
    for examples, and the official R4 examples rely on that, so it is a setting
    (``MCH_FHIR_REJECT_EXAMPLE_URLS``), off by default.

    ``root`` defaults to ``resource['resourceType']``; every expression is prefixed with it.
    Nested resources (contained, Bundle entries, ...) are checked too, with their path.

    ``reject_active_content`` applies the reference validator's security check: a string with
    HTML active content (script, iframe, ... elements, on* event-handler attributes,
    javascript: URLs) is refused (``MCH_FHIR_REJECT_ACTIVE_CONTENT``, on by default: these
    strings are shown in staff pages). The narrative is txt-1's, checked either way.
    """
    if root is None:
        rtype = resource.get("resourceType") if isinstance(resource, dict) else None
        root = rtype if isinstance(rtype, str) and rtype else "Resource"
    if not isinstance(resource, dict):
        return [StructuralIssue(root, "Expected a JSON object holding a FHIR resource")]
    checker = _Checker(reject_example_urls)
    try:
        checker.resource(resource, root)
    except RecursionError:
        checker.issues.append(
            StructuralIssue(root, "The JSON is nested too deeply to be a FHIR resource")
        )
        return checker.issues
    try:
        serialised = orjson.dumps(resource)
    except (TypeError, orjson.JSONEncodeError):  # not JSON data (only from Python callers)
        serialised = b""
    if may_hold_control_characters(serialised) and CONTROL_ESCAPE.search(serialised):
        check_control_characters(resource, root, checker)
    if reject_active_content and may_hold_active_content(serialised):
        check_active_content(resource, root, checker)
    return checker.issues


class _Checker(IssueCollector):
    """The walk of one resource: JSON representation rules and ids here, the rule families
    (extensions, per-1, txt-1, Bundles) where their elements are met."""

    __slots__ = ("reject_example_urls",)

    def __init__(self, reject_example_urls: bool = False) -> None:
        super().__init__()
        self.reject_example_urls = reject_example_urls

    def resource(self, res: dict[str, Any], path: str) -> None:
        rid = res.get("id")
        if type(rid) is str and rid.strip() and not _ID_RE.fullmatch(rid):
            self.add(f"{path}.id", _id_problem(rid), "invalid")
        self.obj(res, path, "", False)
        if res.get("resourceType") == "Bundle":
            check_bundle_structure(self, res, path)

    def obj(self, obj: dict[str, Any], path: str, owner: str, is_extension: bool) -> None:
        """Walk one JSON object. ``owner`` is the property it was found under ("" for a
        resource); ``is_extension`` says it is an item of an extension array."""
        for key, val in obj.items():
            t = type(val)
            if t is str:
                if not val.strip():
                    self.add(
                        f"{path}.{element_name(key)}",
                        "Empty or blank strings are not allowed in FHIR JSON; omit the "
                        "property when there is no value",
                        "value",
                    )
                elif key == "div":
                    check_narrative(self, val, f"{path}.div")
            elif t is dict:
                if not val:
                    self.add(
                        f"{path}.{element_name(key)}",
                        "Empty objects ({}) are not allowed in FHIR JSON; omit the property "
                        "when it has no content",
                    )
                elif "resourceType" in val:
                    self.resource(val, f"{path}.{key}")
                else:
                    self.obj(val, f"{path}.{element_name(key)}", key, False)
            elif t is list:
                if not val:
                    self.add(
                        f"{path}.{element_name(key)}",
                        "Empty arrays ([]) are not allowed in FHIR JSON; omit the property "
                        "when it has no items",
                    )
                else:
                    self.array(obj, key, val, path, owner, is_extension)
            elif val is None:
                self.add(
                    f"{path}.{element_name(key)}",
                    "null is not allowed as a property value in FHIR JSON; omit the property "
                    "instead",
                )
        if "start" in obj and "end" in obj and obj.keys() <= PERIOD_KEYS:
            check_period(self, obj, path)

    def array(
        self,
        obj: dict[str, Any],
        key: str,
        items: list[Any],
        path: str,
        owner: str,
        in_extension: bool,
    ) -> None:
        """Walk the array ``obj[key]``; ``owner`` is the property ``obj`` was found under."""
        name = element_name(key)
        sibling: Any = None
        if key[:1] == "_":
            sibling = obj.get(key[1:])
            if type(sibling) is list and len(sibling) != len(items):
                # json.html: "the arrays ... are aligned": same length, null-padded.
                self.add(
                    f"{path}.{name}",
                    f"'{key}' has {len(items)} items but '{key[1:]}' has {len(sibling)}; a "
                    "primitive array and its extension array must be the same length, "
                    "padded with null",
                )
        is_ext_array = key == "extension" or key == "modifierExtension"
        for i, item in enumerate(items):
            t = type(item)
            if t is dict:
                ipath = f"{path}.{name}[{i}]"
                if not item:
                    self.add(ipath, "Empty objects ({}) are not allowed in FHIR JSON")
                elif "resourceType" in item:
                    self.resource(item, ipath)
                else:
                    if is_ext_array:
                        check_extension(
                            self, item, ipath, owner, key, in_extension, self.reject_example_urls
                        )
                    self.obj(item, ipath, key, is_ext_array)
            elif t is str:
                if not item.strip():
                    self.add(
                        f"{path}.{name}[{i}]",
                        "Empty or blank strings are not allowed in FHIR JSON",
                        "value",
                    )
            elif item is None:
                # json.html: null only pads a primitive array where the other array of the
                # pair ("given"/"_given") has something at the same index.
                if sibling is None:
                    sibling = obj.get(key[1:] if key[:1] == "_" else "_" + key)
                if not (type(sibling) is list and i < len(sibling) and sibling[i] is not None):
                    self.add(
                        f"{path}.{name}[{i}]",
                        "null is not allowed here; in FHIR JSON null may only pad a "
                        "primitive array so that it lines up with its '_' extension array "
                        '(e.g. "given" / "_given"), where the other array has an item',
                    )
            elif t is list:
                self.add(f"{path}.{name}[{i}]", "Arrays of arrays are not allowed in FHIR JSON")


def _id_problem(rid: str) -> str:
    if len(rid) > 64:
        return (
            f"Resource id is {len(rid)} characters long; FHIR ids are at most 64 characters "
            "[A-Za-z0-9-.]"
        )
    bad = sorted({c for c in rid if not (c.isascii() and (c.isalnum() or c in "-."))})
    return (
        f"Resource id '{rid}' contains {', '.join(repr(c) for c in bad)}; FHIR ids may only "
        "use A-Z, a-z, 0-9, '-' and '.' (at most 64 characters)"
    )
