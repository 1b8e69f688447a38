"""Every concept a code table may name is read by an extraction rule, and every rule reads only
concepts the code tables know: a mapping added on one side only fails here, saying which."""

from __future__ import annotations

from fhir_mappings import CONCEPTS
from mch_service.domain.extract import concepts_read

RECIPE = "see docs/add-a-mapping.md"


def test_every_concept_has_a_handler() -> None:
    unread = sorted(set(CONCEPTS) - set(concepts_read()))
    assert not unread, (
        f"concepts in fhir_mappings/code_tables.py CONCEPTS that no extraction rule reads: "
        f"{unread}; add a handler in mch_service/domain/extraction/ ({RECIPE})"
    )


def test_every_handler_has_a_concept() -> None:
    unknown = {c: types for c, types in concepts_read().items() if c not in CONCEPTS}
    assert not unknown, (
        f"extraction rules read concepts that fhir_mappings/code_tables.py CONCEPTS does not "
        f"declare (so no code table row can name them): {unknown}; add them there ({RECIPE})"
    )
