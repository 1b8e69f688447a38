"""What every extraction rule shares: the resource version being read (``Source``), the rows
it gives (``Extracted``), and how the domain keys a sender's references (``local_ref``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# A ViewDefinition row: column name -> value (see fhir_mappings/views).
ViewRow = dict[str, Any]

# The types domain rows link by reference (a fact to its woman, a visit to its episode, a
# record to its encounter).
_LINKED_TYPES = frozenset({"Patient", "Encounter", "EpisodeOfCare"})


def local_ref(institution_id: str, ref: Any) -> str | None:
    """A sender's literal reference ('Patient/123') as the domain keys it:
    '<institution>/Patient/123'. Resource ids are scoped per sender, so a reference means the
    sender's own record, never another sender's with the same id: women are linked across
    institutions by their resident ID only. Anything else (absolute URLs, other types) links
    nothing."""
    if not isinstance(ref, str):
        return None
    parts = ref.split("/")
    if len(parts) not in (2, 4) or parts[0] not in _LINKED_TYPES or not parts[1]:
        return None
    if len(parts) == 4 and parts[2] != "_history":
        return None
    return f"{institution_id}/{parts[0]}/{parts[1]}"


@dataclass(frozen=True)
class Source:
    resource_pk: int
    version_id: int
    institution_id: str
    resource_type: str
    fhir_id: str
    received_at: datetime


@dataclass
class Extracted:
    rows: dict[type, list[dict[str, Any]]] = field(default_factory=dict)
    unmapped: list[dict[str, Any]] = field(default_factory=list)
    issues: list[dict[str, Any]] = field(default_factory=list)

    def add(self, table: type, row: dict[str, Any]) -> None:
        self.rows.setdefault(table, []).append(row)


def fact_base(src: Source, subject: str | None) -> dict[str, Any]:
    """The columns every fact row has."""
    return {
        "resource_pk": src.resource_pk,
        "version_id": src.version_id,
        "institution_id": src.institution_id,
        "subject": local_ref(src.institution_id, subject),
        "pregnancy_id": None,
    }


def add_issue(src: Source, out: Extracted, rule: str, element: str, message: str) -> None:
    """A data-quality issue about this resource (the sender gets it back as a warning)."""
    out.issues.append(
        {
            "resource_pk": src.resource_pk,
            "pregnancy_id": None,
            "institution_id": src.institution_id,
            "rule": rule,
            "element": element,
            "message": message,
        }
    )


def add_unmapped(src: Source, out: Extracted, element: str, codings: list[Any]) -> None:
    """Codes no code table recognises, for the unmapped-codes report."""
    for c in codings:
        if isinstance(c, dict) and c.get("code"):
            out.unmapped.append(
                {
                    "resource_pk": src.resource_pk,
                    "institution_id": src.institution_id,
                    "resource_type": src.resource_type,
                    "element": element,
                    "system": str(c.get("system") or "")[:200],
                    "code": str(c["code"])[:100],
                    "display": str(c.get("display") or "")[:200] or None,
                    "seen_at": src.received_at,
                }
            )
