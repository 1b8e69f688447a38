"""Strings that are unsafe whatever the element: HTML active content (scripts, frames, event
handlers, script URLs; refused when the site says so, on by default) and control characters
(never allowed in an R4 string)."""

from __future__ import annotations

import re
from typing import Any

from mch_service.fhir_api.structural_rules.shared import IssueCollector, element_name

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


def may_hold_active_content(serialised: bytes) -> bool:
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


def check_active_content(node: Any, path: str, collector: IssueCollector) -> None:
    if isinstance(node, str):
        m = _ACTIVE_CONTENT.search(node)
        if m:
            collector.add(
                path,
                f"The text holds HTML active content ({m.group(0)[:40]!r}); scripts, frames, "
                "event handlers and javascript: URLs are not accepted in any FHIR string",
                "security",
            )
    elif isinstance(node, dict):
        for key, value in node.items():
            if key != "resourceType" and key != "div":  # div: txt-1
                check_active_content(value, f"{path}.{element_name(key)}", collector)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            check_active_content(item, f"{path}[{i}]", collector)


# R4 strings "SHALL NOT contain Unicode character points below 32, except for u0009
# (horizontal tab), u0010 (carriage return) and u0013 (line feed)". A NUL would also be refused
# by PostgreSQL's text columns. orjson writes such characters as \u00XX, \b or \f: one
# search of the serialised resource finds them, and only then is it walked to name the element.
CONTROL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\(?:u00[01][0-9a-fA-F]|[bf])")
_CONTROL_CHAR = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def may_hold_control_characters(serialised: bytes) -> bool:
    """A quick look (three substring searches) before the regular expression, which is slow
    on a large Bundle because it tries every position: without one of these escapes there is
    no control character."""
    return b"\\u00" in serialised or b"\\b" in serialised or b"\\f" in serialised


def check_control_characters(node: Any, path: str, collector: IssueCollector) -> None:
    if isinstance(node, str):
        if _CONTROL_CHAR.search(node):
            collector.add(
                path,
                "Text may not contain control characters (U+0000 to U+001F other than tab, "
                "carriage return and line feed)",
                "invalid",
            )
    elif isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str) and _CONTROL_CHAR.search(key):
                collector.add(path, "A property name contains a control character", "invalid")
            elif key != "resourceType":
                check_control_characters(value, f"{path}.{element_name(key)}", collector)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            check_control_characters(item, f"{path}[{i}]", collector)
