"""The speed-up of fhir_core's null-in-a-list check (mch_service/fhir_api/fhir_models.py): it is
in place, and it answers exactly as fhir_core's own function on every R4B model class."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import fhir.resources.R4B as r4b
import pytest
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from pydantic import ValidationError

from mch_service.fhir_api import fhir_models
from mch_service.fhir_api.fhir_models import get_fhir_model_class


def _all_model_classes() -> list[type[FHIRAbstractModel]]:
    out: dict[str, type[FHIRAbstractModel]] = {}
    for info in pkgutil.iter_modules(r4b.__path__):
        if info.name.startswith("_") or info.name in ("fhirtypes", "fhirtypesvalidators"):
            continue
        module = importlib.import_module(f"{r4b.__name__}.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, FHIRAbstractModel)
                and value.__module__ == module.__name__
            ):
                out[f"{value.__module__}.{value.__qualname__}"] = value
    return list(out.values())


MODELS = _all_model_classes()


def _answer(func: Any, cls: type, data: Any) -> Any:
    try:
        return ("ok", func(cls, data))
    except ValidationError as exc:
        return ("error", exc.title, exc.errors(include_url=False))


def test_the_speed_up_is_installed_for_the_models_the_service_uses() -> None:
    # Fails when fhir_core changes the function: read the new one, check that
    # _fast_reject_null_complex_elements still answers the same, and update _KNOWN_SOURCE.
    assert fhir_models.SPEEDUP_INSTALLED
    for rtype in ("Bundle", "Observation", "Patient", "Encounter", "Condition"):
        bound = (
            get_fhir_model_class(rtype)
            .__pydantic_decorators__.model_validators["reject_null_complex_elements"]
            .func
        )
        assert bound.__func__ is fhir_models._fast_reject_null_complex_elements  # type: ignore[attr-defined]


def test_a_null_in_a_list_of_complex_elements_is_still_refused_by_the_models() -> None:
    with pytest.raises(ValidationError, match="None is not allowed as an element of name"):
        get_fhir_model_class("Patient").model_validate({"resourceType": "Patient", "name": [None]})
    with pytest.raises(ValidationError, match="None is not allowed as an element of coding"):
        get_fhir_model_class("Observation").model_validate(
            {
                "resourceType": "Observation",
                "status": "final",
                "code": {"coding": [{"code": "x"}, None]},
            }
        )
    # primitive arrays keep their nulls (they line up with the "_given" extensions)
    get_fhir_model_class("Patient").model_validate(
        {
            "resourceType": "Patient",
            "name": [
                {
                    "given": ["A", None],
                    "_given": [
                        None,
                        {"extension": [{"url": "http://example.org/x", "valueString": "y"}]},
                    ],
                }
            ],
        }
    )


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_same_answer_as_fhir_core_on_every_model_class(cls: type[FHIRAbstractModel]) -> None:
    fast = fhir_models._fast_reject_null_complex_elements
    original = fhir_models._original
    inputs: list[Any] = [None, "text", [], {}]
    for name, field in cls.model_fields.items():
        for key in {name, field.alias or name}:
            inputs += [{key: [None]}, {key: [{}, None]}, {key: [{}]}, {key: None}, {key: "x"}]
    everything = {
        (field.alias or name): [{"id": "a"}, None] for name, field in cls.model_fields.items()
    }
    inputs.append(everything)
    for data in inputs:
        assert _answer(fast, cls, data) == _answer(original, cls, data), (cls, data)
