"""The FHIR model classes of fhir.resources (R4B), imported through here so that one speed-up
is in place before the classes are built.

**The speed-up.** fhir_core gives every model a "before" validator,
``FHIRAbstractModel.reject_null_complex_elements``, that refuses ``null`` inside a list of
complex elements. It looks at *every* field of the class on *every* instance, asking of each
whether its annotation is a list of a complex type; an Observation has about a hundred fields,
and a Bundle of 26 resources builds about 250 model instances. That search was 30-50% of the
models' validation time, the largest single cost in the ingest path after the database
(benchmarks/README.md). ``_fast_reject_null_complex_elements`` answers the same question from
the list of such fields, computed once per class; when a list holds a ``null`` it hands over to
fhir_core's own function, so every error is fhir_core's own, word for word.

pydantic binds a model's validators by name when the class is built, so the replacement has to
be on ``FHIRAbstractModel`` before ``fhir.resources.R4B`` builds its classes (as fhir_core's own
``set_global_model_config`` must be): import the models from here, never from fhir.resources
directly. It is applied only to the fhir_core function it was written against (checked by a
hash of its source); if fhir_core changes it, the models keep fhir_core's function, a warning
is logged, and ``tests/fhir_api/test_fhir_models.py`` fails so that the next person looks again.
(Our structural rules refuse such ``null``s before the models run anyway; the check stays for
every other caller of the models.)
"""

from __future__ import annotations

import hashlib
import inspect
import logging
from typing import Any

from fhir_core.fhirabstractmodel import FHIRAbstractModel
from fhir_core.utils import is_list_type, is_primitive_type

log = logging.getLogger(__name__)

# sha256 (first 16 hex digits) of the source of fhir_core 1.1.12's function
_KNOWN_SOURCE = "d0d0200524d20d33"

_original = FHIRAbstractModel.reject_null_complex_elements.__func__  # type: ignore[attr-defined]
_COMPLEX_LISTS: dict[type, tuple[tuple[str, str | None], ...]] = {}


def _complex_lists(cls: type[FHIRAbstractModel]) -> tuple[tuple[str, str | None], ...]:
    """The fields that fhir_core's function looks at: lists of a complex type, other than the
    ``<name>__ext`` extension siblings of primitive arrays."""
    return tuple(
        (name, field.alias)
        for name, field in cls.model_fields.items()
        if is_list_type(field) and not is_primitive_type(field) and not name.endswith("__ext")
    )


def _fast_reject_null_complex_elements(cls: Any, data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    fields = _COMPLEX_LISTS.get(cls)
    if fields is None:
        fields = _COMPLEX_LISTS[cls] = _complex_lists(cls)
    for name, alias in fields:
        value = data.get(alias if alias and alias in data else name)
        if isinstance(value, list) and any(item is None for item in value):
            return _original(cls, data)  # raises fhir_core's own errors
    return data


def _source_hash(func: Any) -> str:
    try:
        return hashlib.sha256(inspect.getsource(func).encode()).hexdigest()[:16]
    except (OSError, TypeError):
        return "unknown"


def _install() -> bool:
    if _source_hash(_original) != _KNOWN_SOURCE:
        log.warning(
            "fhir_core's reject_null_complex_elements is not the version mch_service's speed-up "
            "was written for; validation keeps fhir_core's own (slower) function"
        )
        return False
    FHIRAbstractModel.reject_null_complex_elements = classmethod(  # type: ignore[assignment,method-assign]
        _fast_reject_null_complex_elements
    )
    return True


SPEEDUP_INSTALLED = _install()

# Only now the model classes: they bind the validator above when they are built.
from fhir.resources.R4B import get_fhir_model_class  # noqa: E402
from fhir.resources.R4B.bundle import Bundle, BundleEntry  # noqa: E402

__all__ = ["SPEEDUP_INSTALLED", "Bundle", "BundleEntry", "get_fhir_model_class"]
