"""Which identifiers are business keys.

FHIR identifiers need not be unique: a claim-group number is on every ExplanationOfBenefit of
the group, a visit number on each record of the visit. Only a key identifies one record: a
create carrying a key this sender already used is that record (updated if it changed), and
the database keeps a key on one record per sender and type. Any other identifier is indexed
for search and for the matching a sender asks for (``If-None-Exist``, conditional update,
conditional references), never used to merge records on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mch_service.store.indexing import Token


@dataclass(frozen=True)
class IdentifierPolicy:
    """``entries``: ``Type`` (every identifier of that type is a key) or ``Type|system``
    (that system only). The resident ID systems are always keys on Patient: one number is
    one woman."""

    entries: tuple[str, ...] = ("Patient",)
    resident_id_systems: frozenset[str] = frozenset()
    _types: frozenset[str] = field(init=False, repr=False, default=frozenset())
    _systems: frozenset[tuple[str, str]] = field(init=False, repr=False, default=frozenset())

    def __post_init__(self) -> None:
        types = {e.strip() for e in self.entries if e.strip() and "|" not in e}
        systems = {
            (t.strip(), s.strip()) for e in self.entries if "|" in e for t, s in [e.split("|", 1)]
        }
        systems |= {("Patient", s) for s in self.resident_id_systems}
        object.__setattr__(self, "_types", frozenset(types))
        object.__setattr__(self, "_systems", frozenset(systems))

    def is_key(self, resource_type: str, token: Token) -> bool:
        return resource_type in self._types or (resource_type, token.system) in self._systems

    def keys_of(self, resource_type: str, tokens: tuple[Token, ...] | list[Token]) -> list[Token]:
        if resource_type in self._types:
            return list(tokens)
        if not self._systems:
            return []
        return [t for t in tokens if (resource_type, t.system) in self._systems]
