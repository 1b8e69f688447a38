"""``GET /fhir/Measure/{id}``: the indicator definitions the MeasureReports point at, as FHIR
R4 Measure resources served by the service, readable with a staff sign-in (bearer token or
session) as well as an institution's API key. Read only; nothing personal.

Kept apart from the FHIR API's generic routes (a Measure is not stored data: it is the
catalogue) and included before them, so ``/fhir/Measure/{id}`` answers here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from mch_service.auth.dependencies import current_staff
from mch_service.deps import ServicesDep
from mch_service.errors import NotFound, Unauthorized
from mch_service.fhir_api.endpoints import (
    FhirJsonResponse,
    _base,
    check_accept,
    fhir_response,
    sender,
)
from mch_service.fhir_api.schemas import FHIR_REFUSAL_RESPONSE, FHIR_RESOURCE_RESPONSE
from mch_service.indicators.catalogue import BY_ID
from mch_service.indicators.exports import measure_resource

router = APIRouter(
    prefix="/fhir",
    tags=["FHIR R4"],
    default_response_class=FhirJsonResponse,
    responses=FHIR_REFUSAL_RESPONSE,
)


async def staff_or_institution(request: Request, services: ServicesDep) -> str:
    """Who reads: a signed-in staff member, else an institution's API key (401 if neither)."""
    try:
        principal = await current_staff(request)
        return f"staff:{principal.username}"
    except Unauthorized:
        pass
    try:
        actor = await sender(request, services)
    except Unauthorized:
        raise Unauthorized(
            "Sign in (a staff bearer token or session) or send an institution's API key"
        ) from None
    return f"institution:{actor.id}"


Reader = Annotated[str, Depends(staff_or_institution)]


@router.get("/Measure/{measure_id}", responses=FHIR_RESOURCE_RESPONSE)
async def read_measure(
    measure_id: str, request: Request, services: ServicesDep, reader: Reader
) -> Response:
    """The Measure of a catalogue indicator (``hiv-test-rate`` or ``hiv_test_rate``)."""
    check_accept(request)
    indicator = BY_ID.get(measure_id.replace("-", "_"))
    if indicator is None:
        raise NotFound(f"No Measure {measure_id!r} (the indicator catalogue names them)")
    body = measure_resource(
        indicator, measure_base=_base(request), canonical_base=services.settings.canonical_base
    )
    return fhir_response(body)
