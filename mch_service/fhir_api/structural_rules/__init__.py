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

from mch_service.fhir_api.structural_rules.shared import StructuralIssue
from mch_service.fhir_api.structural_rules.walk import check_structure

__all__ = ["StructuralIssue", "check_structure"]
