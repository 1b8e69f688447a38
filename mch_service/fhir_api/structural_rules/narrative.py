"""txt-1 / txt-2: a narrative ``div`` is well-formed XHTML in the XHTML namespace, uses only the
basic HTML elements and attributes, holds no active content, and is not empty. Also the
fragment targets a narrative offers (for references '#id' into it)."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from mch_service.fhir_api.structural_rules.shared import IssueCollector

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


def check_narrative(collector: IssueCollector, div: str, path: str) -> None:
    for problem in _xhtml_problems(div):
        collector.add(path, problem, "invariant" if problem.startswith("txt-") else "invalid")


def _parse_xhtml(div: str) -> tuple[ElementTree.Element | None, str | None]:
    lowered = div.lower()
    if "<!doctype" in lowered or "<!entity" in lowered:
        # Also keeps entity-expansion tricks away from the parser.
        return None, "The narrative must not contain a DOCTYPE or entity declarations (txt-1)"
    try:
        return ElementTree.fromstring(div), None
    except ElementTree.ParseError as exc:
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


def _walk_xhtml(el: ElementTree.Element, ns: str, in_para: bool, problems: list[str]) -> None:
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


def narrative_anchors(resource: dict[str, Any]) -> dict[str, int]:
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
