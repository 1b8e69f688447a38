"""Extensions: url present, absolute (unless nested in a complex extension), not versioned, not
on an example domain when the site says so; a few core HL7 extensions checked against their R4
context of use and value type."""

from __future__ import annotations

import re
from typing import Any

from mch_service.fhir_api.structural_rules.shared import (
    ABSOLUTE_URI_RE,
    IssueCollector,
    element_name,
)

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
NARRATIVE_LINK_EXTENSIONS = frozenset({_HL7_SD + "narrativeLink", _HL7_SD + "originalText"})


_EXAMPLE_URL_RE = re.compile(r"https?://(www\.)?example\.(org|com|net)(/|\Z)")


def check_extension(
    collector: IssueCollector,
    ext: dict[str, Any],
    path: str,
    owner: str,
    key: str,
    nested: bool,
    reject_example_urls: bool,
) -> None:
    """One item of an extension array. ``owner`` is the JSON property of the extended
    element ("" for a resource, "_family" for HumanName.family); ``nested`` says the
    extended element is itself an extension (a complex extension's part)."""
    url = ext.get("url")
    if url is None:
        collector.add(path, "Extension.url is required: it identifies the extension", "required")
        return
    if type(url) is not str or not url.strip():
        return  # blank string reported by the walk; wrong type by the models
    if "|" in url:
        collector.add(
            f"{path}.url",
            f"Extension url '{url}' contains a version ('|'); extension urls are not "
            "versioned in R4: send the bare canonical url",
            "invalid",
        )
    if not nested and not ABSOLUTE_URI_RE.match(url):
        # Only sub-extensions of a complex extension may use a relative name like "breed".
        collector.add(
            f"{path}.url",
            f"Extension url '{url}' must be an absolute URI (e.g. "
            "http://hl7.org/fhir/StructureDefinition/...); only extensions nested "
            "inside another extension may use a simple name",
            "invalid",
        )
    if reject_example_urls and _EXAMPLE_URL_RE.match(url):
        collector.add(
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
            where = "the resource" if owner == "" else f"'{element_name(owner)}'"
            collector.add(
                path,
                f"Extension {url} may only be used on {context} (in JSON under "
                f"{' / '.join(repr(o) for o in sorted(owners))}), not on {where}",
                "structure",
            )
    if value_key is not None:
        values = [k for k in ext if k.startswith("value")]
        wrong = [k for k in values if k != value_key]
        if wrong:
            collector.add(
                f"{path}.{wrong[0]}",
                f"Extension {url} has type {value_key[5:].lower()}: use "
                f"'{value_key}', not '{wrong[0]}'",
                "structure",
            )
