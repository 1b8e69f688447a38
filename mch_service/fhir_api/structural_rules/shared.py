"""What every structural rule shares: the issue it reports, the collector it adds issues to,
the element a JSON property names, and the shape of an absolute URI."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class StructuralIssue:
    expression: str  # FHIRPath-like location, e.g. "Bundle.entry[0].fullUrl"
    message: str  # English, actionable for the sending system's integrator
    code: str = "structure"  # an OperationOutcome issue-type code


# RFC 3986 scheme followed by something: http(s)://..., urn:uuid:..., urn:oid:...
ABSOLUTE_URI_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S")


class IssueCollector:
    """The issues found so far in one resource (with what is nested in it)."""

    __slots__ = ("issues",)

    def __init__(self) -> None:
        self.issues: list[StructuralIssue] = []

    def add(self, expression: str, message: str, code: str = "structure") -> None:
        self.issues.append(StructuralIssue(expression, message, code))


def element_name(key: str) -> str:
    """JSON property -> element name: "_birthDate" holds the extensions of "birthDate"."""
    return key[1:] if key[:1] == "_" else key
