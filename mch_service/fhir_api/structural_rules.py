"""Base-R4 structural rules that the ``fhir.resources`` R4B models do not enforce.

The HL7 reference validator rejects these, so a conforming server must too. The checks work on
the parsed JSON (a ``dict`` from ``json.loads``/``orjson.loads``), before any model is built, so
they must tolerate arbitrary JSON and never raise.

Rules (R4 4.0.1):

* JSON representation (json.html): no ``null`` property values (except to align a primitive
  array with its ``_name`` extension array), no ``{}``, ``[]`` or blank strings.
* Resource ids (datatypes.html#id): ``[A-Za-z0-9\\-\\.]{1,64}``, for the root resource and every
  nested one (contained, bundle entries, Parameters, ...).
* per-1: a Period's start is not after its end.
* txt-1 / txt-2: narrative ``div`` is well-formed XHTML in the XHTML namespace, uses only the
  basic HTML elements and attributes, no active content, and is not empty.
* Bundles: fullUrl absolute (bdl: validator), not version specific (bdl-8), unique unless a
  history or a different meta.versionId (bdl-7), and ``urn:uuid:`` / relative / fragment
  references resolvable in document, message, transaction and batch bundles.
* Extensions: url present, absolute (unless nested in a complex extension), not versioned;
  a few core HL7 extensions checked against their R4 context of use and value type.

Example-domain extension URLs (example.org, ...) are deliberately accepted: the official HL7
R4 examples use them (e.g. Patient-glossy, Patient-pat2), and those must stay valid.
"""

from __future__ import annotations

import calendar
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson


@dataclass(frozen=True)
class StructuralIssue:
    expression: str  # FHIRPath-like location, e.g. "Bundle.entry[0].fullUrl"
    message: str  # English, actionable for the sending system's integrator
    code: str = "structure"  # an OperationOutcome issue-type code


# --- constants ---------------------------------------------------------------------------------

_ID_RE = re.compile(r"[A-Za-z0-9\-\.]{1,64}")
# RFC 3986 scheme followed by something: http(s)://..., urn:uuid:..., urn:oid:...
_ABSOLUTE_URI_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S")
_RELATIVE_REF_RE = re.compile(
    r"([A-Z][A-Za-z]+)/([A-Za-z0-9\-\.]{1,64})(?:/_history/([A-Za-z0-9\-\.]{1,64}))?"
)
# A RESTful fullUrl: [base]/[Type]/[id] (optionally /_history/[vid], which bdl-8 rejects).
_RESTFUL_URL_RE = re.compile(
    r"(.+)/([A-Z][A-Za-z]+)/([A-Za-z0-9\-\.]{1,64})(?:/_history/[A-Za-z0-9\-\.]{1,64})?"
)
# FHIR date / dateTime / instant, read leniently (the models check the exact format).
_DATETIME_RE = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})"
    r"(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?"
)

# Keys a Period may carry in JSON: used to recognise Periods without type information.
_PERIOD_KEYS = frozenset({"id", "extension", "start", "end", "_start", "_end"})

# Bundle types whose references must resolve inside the bundle (bundle.html, "Resolving
# references in Bundles"; the validator reports unresolvable urn:uuid references as errors).
_RESOLVING_BUNDLE_TYPES = frozenset({"document", "message", "transaction", "batch"})

_XHTML_NS = "http://www.w3.org/1999/xhtml"
_XHTML_PREFIX = "{" + _XHTML_NS + "}"
_XML_NS_PREFIX = "{http://www.w3.org/XML/1998/namespace}"
# txt-1: "only the basic html formatting elements and attributes described in chapters 7-11
# (except section 4 of chapter 9) and 15 of the HTML 4.0 standard" - the list is the one the
# HL7 validator (XhtmlValidator) enforces.
_XHTML_ELEMENTS = frozenset(
    {
        "p",
        "br",
        "div",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "a",
        "span",
        "b",
        "em",
        "i",
        "strong",
        "small",
        "big",
        "tt",
        "dfn",
        "q",
        "var",
        "abbr",
        "acronym",
        "cite",
        "blockquote",
        "hr",
        "address",
        "bdo",
        "kbd",
        "sub",
        "sup",
        "ul",
        "ol",
        "li",
        "dl",
        "dt",
        "dd",
        "pre",
        "table",
        "caption",
        "colgroup",
        "col",
        "thead",
        "tr",
        "tfoot",
        "tbody",
        "th",
        "td",
        "code",
        "samp",
        "img",
        "map",
        "area",
    }
)
_XHTML_ATTRIBUTES = frozenset(
    {
        "title",
        "style",
        "class",
        "id",
        "lang",
        "dir",
        "accesskey",
        "tabindex",
        # tables
        "span",
        "width",
        "align",
        "valign",
        "char",
        "charoff",
        "abbr",
        "axis",
        "headers",
        "scope",
        "rowspan",
        "colspan",
    }
)
_XHTML_ELEMENT_ATTRIBUTES = frozenset(
    {
        "a.href",
        "a.name",
        "a.charset",
        "a.type",
        "a.hreflang",
        "a.rel",
        "a.rev",
        "a.shape",
        "a.coords",
        "img.src",
        "img.border",
        "img.alt",
        "img.longdesc",
        "img.height",
        "img.width",
        "img.usemap",
        "img.ismap",
        "map.name",
        "area.shape",
        "area.coords",
        "area.href",
        "area.nohref",
        "area.alt",
        "blockquote.cite",
        "q.cite",
        "table.summary",
        "table.width",
        "table.border",
        "table.frame",
        "table.rules",
        "table.cellspacing",
        "table.cellpadding",
        "pre.space",
        "td.nowrap",
    }
)
# Block elements may not sit inside a <p> (validator: XHTML_XHTML_ELEMENT_ILLEGAL_IN_PARA).
_XHTML_BLOCK_ELEMENTS = frozenset({"div", "blockquote", "table", "ol", "ul", "p"})
_ACTIVE_URL_SCHEMES = ("javascript:", "vbscript:")

_HL7_SD = "http://hl7.org/fhir/StructureDefinition/"
# Core HL7 extensions whose R4 definition we check without loading StructureDefinitions:
# url -> (JSON property the extended element must sit under, or None for "any element";
#         the human name of that context; the only allowed value[x] key, or None).
# A primitive's extensions live in the "_name" sibling in JSON, hence "_family".
_CORE_EXTENSIONS: dict[str, tuple[frozenset[str] | None, str, str | None]] = {
    _HL7_SD + "humanname-fathers-family": (
        frozenset({"_family"}),
        "HumanName.family",
        "valueString",
    ),
    _HL7_SD + "humanname-mothers-family": (
        frozenset({"_family"}),
        "HumanName.family",
        "valueString",
    ),
    _HL7_SD + "humanname-own-name": (frozenset({"_family"}), "HumanName.family", "valueString"),
    _HL7_SD + "humanname-own-prefix": (frozenset({"_family"}), "HumanName.family", "valueString"),
    _HL7_SD + "humanname-partner-name": (frozenset({"_family"}), "HumanName.family", "valueString"),
    _HL7_SD + "humanname-partner-prefix": (
        frozenset({"_family"}),
        "HumanName.family",
        "valueString",
    ),
    _HL7_SD + "iso21090-EN-qualifier": (
        frozenset({"_family", "_given", "_prefix", "_suffix"}),
        "HumanName.family, HumanName.given, HumanName.prefix or HumanName.suffix",
        "valueCode",
    ),
    _HL7_SD + "patient-birthTime": (
        frozenset({"_birthDate"}),
        "Patient.birthDate",
        "valueDateTime",
    ),
    _HL7_SD + "narrativeLink": (None, "any element", "valueUrl"),
}
# Extensions whose value points into a resource's narrative ("...#fragment").
_NARRATIVE_LINK_EXTENSIONS = frozenset({_HL7_SD + "narrativeLink", _HL7_SD + "originalText"})


_EXAMPLE_URL_RE = re.compile(r"https?://(www\.)?example\.(org|com|net)(/|\Z)")


# --- entry point -------------------------------------------------------------------------------


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
    if _may_hold_control_characters(serialised) and _CONTROL_ESCAPE.search(serialised):
        _control_characters(resource, root, checker)
    if reject_active_content and _may_hold_active_content(serialised):
        _active_content(resource, root, checker)
    return checker.issues


# HTML active content, after the reference validator's security checks (its "securityChecks"
# mode refuses any string that looks like HTML, and in narrative xhtml any element or
# attribute outside the safe list: script, iframe, on* handlers, ...). We refuse what runs:
# elements that load or run code, event-handler attributes, script URLs; plain text with a
# "<" ("Hb < 110") is fine. The narrative (Narrative.div, R4's only xhtml element) is left to
# txt-1 above, which parses it and refuses the same things (and more) whatever this setting
# says: it is base R4, not a site's choice.
_ACTIVE_CONTENT = re.compile(
    r"<\s*(?:script|iframe|frame|frameset|object|embed|applet|base|meta)\b"
    r"|<[a-z][^>]*?[\s/\"']on[a-z]+\s*="
    r"|(?:java|vb)script\s*:",
    re.IGNORECASE,
)
# The same on the serialised resource, lower-cased, where a string's whitespace is written \n, \r
# or \t: a few searches of the whole resource, each led by a literal (which the regex engine
# finds fast), and only if one finds something is the resource walked to name the element. A
# candidate that turns out harmless ("condition=", a URL's "?version=") costs a walk, no issue.
_WS = rb"(?:\s|\\[nrt])*"
_TAG_JSON = re.compile(
    rb"<" + _WS + rb"(?:script|iframe|frame|frameset|object|embed|applet|base|meta)\b"
)
_HANDLER_JSON = re.compile(rb"on[a-z]+" + _WS + rb"=")
_SCHEME_JSON = re.compile(rb"script" + _WS + rb":")


def _may_hold_active_content(serialised: bytes) -> bool:
    low = serialised.lower()
    if b"<" in low:
        if _TAG_JSON.search(low):
            return True
        for m in _HANDLER_JSON.finditer(low):
            i = m.start()
            if low[i - 1 : i] in (b" ", b"/", b'"', b"'") or low[i - 2 : i] in (
                b"\\n",
                b"\\r",
                b"\\t",
            ):
                return True
    if b"script" in low:
        for m in _SCHEME_JSON.finditer(low):
            i = m.start()
            if low[i - 4 : i] == b"java" or low[i - 2 : i] == b"vb":
                return True
    return False


def _active_content(node: Any, path: str, checker: _Checker) -> None:
    if isinstance(node, str):
        m = _ACTIVE_CONTENT.search(node)
        if m:
            checker.add(
                path,
                f"The text holds HTML active content ({m.group(0)[:40]!r}); scripts, frames, "
                "event handlers and javascript: URLs are not accepted in any FHIR string",
                "security",
            )
    elif isinstance(node, dict):
        for key, value in node.items():
            if key != "resourceType" and key != "div":  # div: txt-1
                _active_content(value, f"{path}.{_name(key)}", checker)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _active_content(item, f"{path}[{i}]", checker)


# R4 strings "SHALL NOT contain Unicode character points below 32, except for u0009
# (horizontal tab), u0010 (carriage return) and u0013 (line feed)". A NUL would also be refused
# by PostgreSQL's text columns. orjson writes such characters as \u00XX, \b or \f: one
# search of the serialised resource finds them, and only then is it walked to name the element.
_CONTROL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\(?:u00[01][0-9a-fA-F]|[bf])")
_CONTROL_CHAR = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _may_hold_control_characters(serialised: bytes) -> bool:
    """A quick look (three substring searches) before the regular expression, which is slow
    on a large Bundle because it tries every position: without one of these escapes there is
    no control character."""
    return b"\\u00" in serialised or b"\\b" in serialised or b"\\f" in serialised


def _control_characters(node: Any, path: str, checker: _Checker) -> None:
    if isinstance(node, str):
        if _CONTROL_CHAR.search(node):
            checker.add(
                path,
                "Text may not contain control characters (U+0000 to U+001F other than tab, "
                "carriage return and line feed)",
                "invalid",
            )
    elif isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str) and _CONTROL_CHAR.search(key):
                checker.add(path, "A property name contains a control character", "invalid")
            elif key != "resourceType":
                _control_characters(value, f"{path}.{_name(key)}", checker)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _control_characters(item, f"{path}[{i}]", checker)


# --- the walk ----------------------------------------------------------------------------------


def _name(key: str) -> str:
    """JSON property -> element name: "_birthDate" holds the extensions of "birthDate"."""
    return key[1:] if key[:1] == "_" else key


class _Checker:
    __slots__ = ("issues", "reject_example_urls")

    def __init__(self, reject_example_urls: bool = False) -> None:
        self.issues: list[StructuralIssue] = []
        self.reject_example_urls = reject_example_urls

    def add(self, expression: str, message: str, code: str = "structure") -> None:
        self.issues.append(StructuralIssue(expression, message, code))

    def resource(self, res: dict[str, Any], path: str) -> None:
        rid = res.get("id")
        if type(rid) is str and rid.strip() and not _ID_RE.fullmatch(rid):
            self.add(f"{path}.id", _id_problem(rid), "invalid")
        self.obj(res, path, "", False)
        if res.get("resourceType") == "Bundle":
            self.bundle(res, path)

    def obj(self, obj: dict[str, Any], path: str, owner: str, is_extension: bool) -> None:
        """Walk one JSON object. ``owner`` is the property it was found under ("" for a
        resource); ``is_extension`` says it is an item of an extension array."""
        for key, val in obj.items():
            t = type(val)
            if t is str:
                if not val.strip():
                    self.add(
                        f"{path}.{_name(key)}",
                        "Empty or blank strings are not allowed in FHIR JSON; omit the "
                        "property when there is no value",
                        "value",
                    )
                elif key == "div":
                    self.narrative(val, f"{path}.div")
            elif t is dict:
                if not val:
                    self.add(
                        f"{path}.{_name(key)}",
                        "Empty objects ({}) are not allowed in FHIR JSON; omit the property "
                        "when it has no content",
                    )
                elif "resourceType" in val:
                    self.resource(val, f"{path}.{key}")
                else:
                    self.obj(val, f"{path}.{_name(key)}", key, False)
            elif t is list:
                if not val:
                    self.add(
                        f"{path}.{_name(key)}",
                        "Empty arrays ([]) are not allowed in FHIR JSON; omit the property "
                        "when it has no items",
                    )
                else:
                    self.array(obj, key, val, path, owner, is_extension)
            elif val is None:
                self.add(
                    f"{path}.{_name(key)}",
                    "null is not allowed as a property value in FHIR JSON; omit the property "
                    "instead",
                )
        if "start" in obj and "end" in obj and obj.keys() <= _PERIOD_KEYS:
            self.period(obj, path)

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
        name = _name(key)
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
                        self.extension(item, ipath, owner, key, in_extension)
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

    # --- extensions ---------------------------------------------------------------------------

    def extension(self, ext: dict[str, Any], path: str, owner: str, key: str, nested: bool) -> None:
        """One item of an extension array. ``owner`` is the JSON property of the extended
        element ("" for a resource, "_family" for HumanName.family); ``nested`` says the
        extended element is itself an extension (a complex extension's part)."""
        url = ext.get("url")
        if url is None:
            self.add(path, "Extension.url is required: it identifies the extension", "required")
            return
        if type(url) is not str or not url.strip():
            return  # blank string reported by the walk; wrong type by the models
        if "|" in url:
            self.add(
                f"{path}.url",
                f"Extension url '{url}' contains a version ('|'); extension urls are not "
                "versioned in R4: send the bare canonical url",
                "invalid",
            )
        if not nested and not _ABSOLUTE_URI_RE.match(url):
            # Only sub-extensions of a complex extension may use a relative name like "breed".
            self.add(
                f"{path}.url",
                f"Extension url '{url}' must be an absolute URI (e.g. "
                "http://hl7.org/fhir/StructureDefinition/...); only extensions nested "
                "inside another extension may use a simple name",
                "invalid",
            )
        if self.reject_example_urls and _EXAMPLE_URL_RE.match(url):
            self.add(
                f"{path}.url",
                f"Example URLs are not allowed in this context ({url}): extension urls "
                "must identify a real extension definition",
                "invalid",
            )
        spec = _CORE_EXTENSIONS.get(url)
        if spec is None:
            return
        owners, context, value_key = spec
        if owners is not None and not nested and key == "extension":
            if owner not in owners:
                where = "the resource" if owner == "" else f"'{_name(owner)}'"
                self.add(
                    path,
                    f"Extension {url} may only be used on {context} (in JSON under "
                    f"{' / '.join(repr(o) for o in sorted(owners))}), not on {where}",
                    "structure",
                )
        if value_key is not None:
            values = [k for k in ext if k.startswith("value")]
            wrong = [k for k in values if k != value_key]
            if wrong:
                self.add(
                    f"{path}.{wrong[0]}",
                    f"Extension {url} has type {value_key[5:].lower()}: use "
                    f"'{value_key}', not '{wrong[0]}'",
                    "structure",
                )

    # --- per-1 --------------------------------------------------------------------------------

    def period(self, period: dict[str, Any], path: str) -> None:
        start, end = period["start"], period["end"]
        if type(start) is not str or type(end) is not str:
            return
        problem = _period_problem(start, end)
        if problem is not None:
            self.add(path, problem, "invariant")

    # --- txt-1 / txt-2 ------------------------------------------------------------------------

    def narrative(self, div: str, path: str) -> None:
        for problem in _xhtml_problems(div):
            self.add(path, problem, "invariant" if problem.startswith("txt-") else "invalid")

    # --- Bundle -------------------------------------------------------------------------------

    def bundle(self, bundle: dict[str, Any], path: str) -> None:
        entries = bundle.get("entry")
        if type(entries) is not list:
            return
        btype = bundle.get("type")
        is_history = btype == "history"
        first_seen: dict[tuple[str, Any], int] = {}
        full_urls: dict[str, list[int]] = {}
        for i, entry in enumerate(entries):
            if type(entry) is not dict:
                continue
            full_url = entry.get("fullUrl")
            if type(full_url) is not str or not full_url.strip():
                continue
            full_urls.setdefault(full_url, []).append(i)
            fpath = f"{path}.entry[{i}].fullUrl"
            if not _ABSOLUTE_URI_RE.match(full_url):
                self.add(
                    fpath,
                    f"fullUrl '{full_url}' must be an absolute URI, e.g. "
                    f"'https://server/fhir/{full_url}' or 'urn:uuid:<uuid>'; a relative "
                    "reference is not allowed here",
                    "invalid",
                )
            elif "/_history/" in full_url:
                self.add(
                    fpath,
                    f"fullUrl '{full_url}' must not be version specific (bdl-8); drop "
                    "'/_history/...' and put the version in resource.meta.versionId",
                    "invariant",
                )
            if not is_history:
                key = (full_url, _version_id(entry.get("resource")))
                if key in first_seen:
                    self.add(
                        fpath,
                        f"entry[{i}] has the same fullUrl '{full_url}' as "
                        f"entry[{first_seen[key]}] (bdl-7): fullUrls must be unique in a "
                        f"'{btype}' bundle unless the entries carry different "
                        "meta.versionId",
                        "invariant",
                    )
                else:
                    first_seen[key] = i
        if type(btype) is str and btype in _RESOLVING_BUNDLE_TYPES:
            _BundleReferences(self, path, entries, full_urls, btype == "document").check()


def _version_id(resource: Any) -> Any:
    if type(resource) is dict:
        meta = resource.get("meta")
        if type(meta) is dict:
            vid = meta.get("versionId")
            return vid if type(vid) is str else None
    return None


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


# --- per-1 helpers -----------------------------------------------------------------------------


class _Moment:
    """A parsed FHIR date/dateTime: either a calendar date of 1-3 fields, or an instant."""

    __slots__ = ("date", "instant")

    def __init__(self, date: tuple[int, ...], instant: datetime | None) -> None:
        self.date = date  # (year[, month[, day]]) as written (local to its own offset)
        self.instant = instant  # aware datetime when a time is present


def _parse_moment(value: str) -> _Moment | None:
    m = _DATETIME_RE.fullmatch(value)
    if m is None:
        return None
    year, month, day, hour, minute, second, fraction, tz = m.groups()
    date = tuple(int(p) for p in (year, month, day) if p is not None)
    if date[0] < 1:
        return None
    if len(date) > 1 and not 1 <= date[1] <= 12:
        return None
    if len(date) > 2 and not 1 <= date[2] <= calendar.monthrange(date[0], date[1])[1]:
        return None
    if hour is None:
        return _Moment(date, None)
    if tz is None or tz == "Z":
        offset = UTC  # no offset: compare as written (both sides read as UTC)
    else:
        sign = -1 if tz[0] == "-" else 1
        offset = timezone(sign * timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6])))
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        instant = datetime(
            date[0],
            date[1],
            date[2],
            int(hour),
            int(minute),
            int(second or 0),
            micro,
            tzinfo=offset,
        )
    except ValueError:
        return None  # e.g. hour 24: the models report the format
    return _Moment(date, instant)


def _low(date: tuple[int, ...]) -> tuple[int, int, int]:
    return (date[0], date[1] if len(date) > 1 else 1, date[2] if len(date) > 2 else 1)


def _high(date: tuple[int, ...]) -> tuple[int, int, int]:
    month = date[1] if len(date) > 1 else 12
    day = date[2] if len(date) > 2 else calendar.monthrange(date[0], month)[1]
    return (date[0], month, day)


def _period_problem(start: str, end: str) -> str | None:
    """per-1 ("If present, start SHALL have a lower value than end"), or None if it holds.

    * Two calendar dates: the earliest day of start's range must not be after the latest day of
      end's range ("2020" .. "2020-06" holds; "2021" .. "2020-06" fails).
    * Two dateTimes with a time: compared as instants.
    * A date and a dateTime: compared at the date's precision. When they agree there, R4's
      per-1 (FHIRPath ``start <= end``) has no answer because a date has no time zone, and the
      HL7 validator then reports per-1 as failed; we do the same so that we accept what it
      accepts and no more.
    """
    s = _parse_moment(start)
    e = _parse_moment(end)
    if s is None or e is None:
        return None  # not a dateTime we understand: the models report the format
    if s.instant is not None and e.instant is not None:
        if s.instant > e.instant:
            return f"Period start '{start}' is after its end '{end}' (per-1)"
        return None
    if s.instant is None and e.instant is None:
        if _low(s.date) > _high(e.date):
            return f"Period start '{start}' is after its end '{end}' (per-1)"
        return None
    shared = min(len(s.date), len(e.date))
    if s.date[:shared] < e.date[:shared]:
        return None
    if s.date[:shared] > e.date[:shared]:
        return f"Period start '{start}' is after its end '{end}' (per-1)"
    return (
        f"Period start '{start}' and end '{end}' fall on the same "
        f"{('year', 'month', 'day')[shared - 1]} but only one has a time, so start <= end "
        "cannot be established (per-1); send both with a time and offset, or both as dates"
    )


# --- txt-1 / txt-2 helpers ---------------------------------------------------------------------


def _parse_xhtml(div: str) -> tuple[ET.Element | None, str | None]:
    lowered = div.lower()
    if "<!doctype" in lowered or "<!entity" in lowered:
        # Also keeps entity-expansion tricks away from the parser.
        return None, "The narrative must not contain a DOCTYPE or entity declarations (txt-1)"
    try:
        return ET.fromstring(div), None
    except ET.ParseError as exc:
        hint = ""
        if "undefined entity" in str(exc):
            hint = (
                "; HTML entities such as &nbsp; are not defined in XHTML: use the character "
                "or a numeric reference (&#160;)"
            )
        return None, f"The narrative div is not well-formed XML: {exc}{hint}"


def _xhtml_problems(div: str) -> list[str]:
    root, error = _parse_xhtml(div)
    if root is None:
        return [error or "The narrative div could not be parsed"]
    problems: list[str] = []
    ns, _, local = root.tag.rpartition("}")
    ns = ns + "}" if ns else ""
    if ns != _XHTML_PREFIX:
        # Reported once here; descendants in the same (wrong) namespace are not re-reported.
        problems.append(
            f'The narrative root must be <div xmlns="{_XHTML_NS}">, not <{local}>'
            + ("" if ns else " without the XHTML namespace")
        )
    elif local != "div":
        problems.append(f'The narrative root must be <div xmlns="{_XHTML_NS}">, not <{local}>')
    _walk_xhtml(root, ns, False, problems)
    if not any(
        el.tag == ns + "img"
        or (el.text and not el.text.isspace())
        or (el is not root and el.tail and not el.tail.isspace())
        for el in root.iter()
    ):
        problems.append(
            "txt-2: The narrative must have some non-whitespace content (text or an image)"
        )
    return list(dict.fromkeys(problems))  # one issue per distinct problem


def _walk_xhtml(el: ET.Element, ns: str, in_para: bool, problems: list[str]) -> None:
    """txt-1 on one element and its descendants; ``ns`` is the root's namespace prefix."""
    tag = el.tag
    if tag.startswith(ns) and "}" not in tag[len(ns) :]:
        local = tag[len(ns) :]
        if local not in _XHTML_ELEMENTS:
            problems.append(
                f"txt-1: <{local}> is not allowed in FHIR narrative: only basic HTML formatting "
                "elements may be used (no script, style, form, object, iframe, ...)"
            )
        elif in_para and local in _XHTML_BLOCK_ELEMENTS:
            problems.append(
                f"txt-1: <{local}> is not allowed inside a <p>; close the paragraph first"
            )
    else:
        local = tag.rpartition("}")[2]
        problems.append(f"txt-1: <{local}> is not in the XHTML namespace ({_XHTML_NS})")
    for attr, value in el.attrib.items():
        if attr.startswith(_XML_NS_PREFIX):
            name = "xml:" + attr[len(_XML_NS_PREFIX) :]
            ok = name in ("xml:lang", "xml:space")
        else:
            name = attr
            ok = attr in _XHTML_ATTRIBUTES or f"{local}.{attr}" in _XHTML_ELEMENT_ATTRIBUTES
        if name.lower().startswith("on"):
            problems.append(
                f"txt-1: event handler attribute '{name}' on <{local}> is not "
                "allowed in FHIR narrative"
            )
        elif not ok:
            problems.append(
                f"txt-1: attribute '{name}' is not allowed on <{local}> in FHIR narrative"
            )
        squeezed = "".join(value.split()).lower()
        if any(scheme in squeezed for scheme in _ACTIVE_URL_SCHEMES):
            problems.append(
                f"txt-1: attribute '{name}' on <{local}> contains a script URL; "
                "active content is not allowed in FHIR narrative"
            )
    child_in_para = in_para or local == "p"
    for child in el:
        _walk_xhtml(child, ns, child_in_para, problems)


def _narrative_anchors(resource: dict[str, Any]) -> dict[str, int]:
    """Fragment targets in a resource: XHTML id / a@name in its narratives, contained ids."""
    counts: dict[str, int] = {}
    stack: list[Any] = [resource]
    while stack:
        node = stack.pop()
        if type(node) is dict:
            for key, val in node.items():
                if key == "div" and type(val) is str:
                    root, _ = _parse_xhtml(val)
                    if root is None:
                        continue
                    for el in root.iter():
                        anchor = el.get("id")
                        if anchor:
                            counts[anchor] = counts.get(anchor, 0) + 1
                        name = el.get("name")
                        if name and name != anchor and el.tag == _XHTML_PREFIX + "a":
                            counts[name] = counts.get(name, 0) + 1
                elif key == "contained" and type(val) is list:
                    for item in val:
                        if type(item) is dict and type(item.get("id")) is str:
                            counts[item["id"]] = counts.get(item["id"], 0) + 1
                elif type(val) in (dict, list):
                    stack.append(val)
        elif type(node) is list:
            stack.extend(node)
    return counts


# --- Bundle references -------------------------------------------------------------------------


class _BundleReferences:
    """Reference resolution inside one document / message / transaction / batch bundle."""

    def __init__(
        self,
        checker: _Checker,
        path: str,
        entries: list[Any],
        full_urls: dict[str, list[int]],
        is_document: bool,
    ) -> None:
        self.checker = checker
        self.path = path
        self.entries = entries
        self.full_urls = full_urls
        self.is_document = is_document
        self.by_type_id: dict[tuple[str, str], list[int]] = {}
        for i, entry in enumerate(entries):
            res = entry.get("resource") if type(entry) is dict else None
            if (
                type(res) is dict
                and type(res.get("resourceType")) is str
                and type(res.get("id")) is str
            ):
                self.by_type_id.setdefault((res["resourceType"], res["id"]), []).append(i)
        self.anchors: dict[int, dict[str, int]] = {}

    def check(self) -> None:
        for i, entry in enumerate(self.entries):
            res = entry.get("resource") if type(entry) is dict else None
            if type(res) is not dict or res.get("resourceType") == "Bundle":
                continue  # a nested Bundle's references resolve inside that Bundle
            full_url = entry.get("fullUrl")
            base = None
            if type(full_url) is str:
                m = _RESTFUL_URL_RE.fullmatch(full_url)
                base = m.group(1) if m else None
            refs: list[tuple[str, str]] = []
            _collect_references(res, f"{self.path}.entry[{i}].resource", refs)
            for where, ref in refs:
                self.resolve(ref, where, base)

    def resolve(self, ref: str, where: str, base: str | None) -> None:
        target, _, fragment = ref.partition("#")
        if not target:
            return  # "#id": a contained resource in the same entry, not a bundle lookup
        if target.startswith("urn:uuid:"):
            found = self.full_urls.get(target)
            if not found:
                self.checker.add(
                    where,
                    f"Can't find {target} in the bundle: no entry has this fullUrl",
                    "not-found",
                )
                return
            if fragment:
                self.fragment(target, fragment, found, where)
            return
        if fragment and target in self.full_urls:
            self.fragment(target, fragment, self.full_urls[target], where)
            return
        if not self.is_document:
            return
        m = _RELATIVE_REF_RE.fullmatch(target)
        if m is None:
            # Absolute reference: ambiguous if several entries share that fullUrl.
            found = self.full_urls.get(target, [])
            if len(found) > 1:
                self.checker.add(
                    where,
                    f"Found {len(found)} matches for '{target}' in the bundle "
                    f"(entries {_entry_list(found)}); the reference must identify "
                    "exactly one entry (add /_history/<versionId>)",
                    "invalid",
                )
            return
        rtype, rid, version = m.groups()
        if base is not None:
            # bundle.html: a relative reference resolves against the base of the entry's fullUrl.
            candidates = self.full_urls.get(f"{base}/{rtype}/{rid}", [])
        else:
            candidates = self.by_type_id.get((rtype, rid), [])
        if version is not None:
            matches = [
                c for c in candidates if _version_id(self.entries[c].get("resource")) == version
            ]
        else:
            matches = candidates
        if len(matches) > 1:
            self.checker.add(
                where,
                f"Found {len(matches)} matches for '{target}' in the bundle (entries "
                f"{_entry_list(matches)}); a document reference must identify "
                "exactly one entry (add /_history/<versionId> or remove the "
                "duplicate)",
                "invalid",
            )
        elif not matches and candidates:
            versions = sorted(
                {str(_version_id(self.entries[c].get("resource"))) for c in candidates}
            )
            self.checker.add(
                where,
                f"Can't find '{target}' in the bundle: the entries for "
                f"{rtype}/{rid} have meta.versionId {', '.join(versions)}",
                "not-found",
            )

    def fragment(self, target: str, fragment: str, found: list[int], where: str) -> None:
        index = found[0]
        anchors = self.anchors.get(index)
        if anchors is None:
            anchors = (
                _narrative_anchors(self.entries[index]["resource"])
                if type(self.entries[index].get("resource")) is dict
                else {}
            )
            self.anchors[index] = anchors
        count = anchors.get(fragment, 0)
        if count == 0:
            self.checker.add(
                where,
                f"Can't find '#{fragment}' in {target}: its narrative has no element "
                "with that id and it has no contained resource with that id",
                "not-found",
            )
        elif count > 1:
            self.checker.add(
                where,
                f"Found {count} matches for '#{fragment}' in {target}: narrative ids "
                "must be unique within the resource",
                "invalid",
            )


def _entry_list(indexes: list[int]) -> str:
    return ", ".join(str(i) for i in indexes)


def _collect_references(node: dict[str, Any], path: str, out: list[tuple[str, str]]) -> None:
    """(expression, target) of every Reference.reference and narrative link under node,
    without entering nested Bundles (their references resolve inside themselves)."""
    ref = node.get("reference")
    if type(ref) is str and ref:
        out.append((path, ref))
    url = node.get("url")
    if type(url) is str and url in _NARRATIVE_LINK_EXTENSIONS:
        for key in ("valueUrl", "valueUri"):
            link = node.get(key)
            if type(link) is str and "#" in link:
                out.append((f"{path}.{key}", link))
    for key, val in node.items():
        if type(val) is dict:
            if val.get("resourceType") != "Bundle":
                _collect_references(val, f"{path}.{_name(key)}", out)
        elif type(val) is list:
            name = _name(key)
            for i, item in enumerate(val):
                if type(item) is dict and item.get("resourceType") != "Bundle":
                    _collect_references(item, f"{path}.{name}[{i}]", out)
