"""EpisodeOfCare -> care_episode rows; Encounter -> prenatal and postpartum visits, or the
inpatient encounter record a delivery is matched to."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from mch_service.domain.extraction.concept_groups import DELIVERIES
from mch_service.domain.extraction.rows import (
    Extracted,
    Source,
    ViewRow,
    add_issue,
    add_unmapped,
    fact_base,
    local_ref,
)
from mch_service.domain.models import CareEpisode, EncounterRecord, PostpartumVisit, PrenatalVisit

if TYPE_CHECKING:
    from mch_service.domain.extract import Extractor

PREGNANCY_EPISODE = "pregnancy_episode"
# Read by looking the Encounter's class up in the code tables (any row marks a home delivery).
HOME_DELIVERY_CLASS = "home_delivery_class"
# Encounter classes that are an admission (a delivery's encounter), whatever the type says.
INPATIENT_CLASSES = ("IMP", "ACUTE", "NONAC", "EMER", "HH")

VisitWriter = Callable[[Source, ViewRow, Extracted, dict[str, Any], date], None]


def extract_episode_of_care(
    extractor: Extractor, src: Source, row: ViewRow, out: Extracted
) -> None:
    if PREGNANCY_EPISODE not in extractor.codes.concepts_of(row["types"]):
        add_unmapped(src, out, "type", row["types"])
        return
    out.add(
        CareEpisode,
        {
            **fact_base(src, row.get("patient")),
            "ref": f"{src.institution_id}/EpisodeOfCare/{src.fhir_id}",
            "start_date": extractor.day(row.get("start")),
            "end_date": extractor.day(row.get("end")),
        },
    )


def _prenatal(initial: bool) -> VisitWriter:
    def write(src: Source, row: ViewRow, out: Extracted, base: dict[str, Any], day: date) -> None:
        episodes = row.get("episodes") or []
        out.add(
            PrenatalVisit,
            {
                **base,
                "visit_date": day,
                "initial": initial,
                "episode_ref": local_ref(src.institution_id, episodes[0]) if episodes else None,
            },
        )

    return write


def _postpartum(kind: str) -> VisitWriter:
    def write(src: Source, row: ViewRow, out: Extracted, base: dict[str, Any], day: date) -> None:
        out.add(PostpartumVisit, {**base, "visit_date": day, "kind": kind})

    return write


# Visit concept -> its row, in precedence order (an encounter typed both as a first prenatal
# visit and as a prenatal visit is the first visit).
VISITS: dict[str, VisitWriter] = {
    "prenatal_initial_visit": _prenatal(initial=True),
    "prenatal_visit": _prenatal(initial=False),
    "postpartum_42d_check": _postpartum("check_42d"),
    "postpartum_visit": _postpartum("visit"),
}


def extract_encounter(extractor: Extractor, src: Source, row: ViewRow, out: Extracted) -> None:
    concepts = extractor.codes.concepts_of(row["types"])
    day = extractor.day(row.get("start"))
    base = fact_base(src, row.get("subject"))
    visit = next((c for c in VISITS if c in concepts), None)
    if visit is not None:
        if day is None:
            add_issue(
                src,
                out,
                "missing_date",
                "Encounter.period",
                "A visit without a start date cannot be counted",
            )
            return
        VISITS[visit](src, row, out, base, day)
        return
    home = bool(extractor.codes.lookup(row.get("class_system"), row.get("class")))
    delivery_typed = any(c.startswith("delivery") for c in concepts)
    if row.get("class") in INPATIENT_CLASSES or delivery_typed:
        out.add(
            EncounterRecord,
            {
                **base,
                "ref": f"{src.institution_id}/Encounter/{src.fhir_id}",
                "start_date": day,
                "end_date": extractor.day(row.get("end")),
                "home": home,
                "delivery": delivery_typed,
            },
        )
    elif row["types"]:
        add_unmapped(src, out, "type", row["types"])


EPISODE_CONCEPTS_READ = frozenset({PREGNANCY_EPISODE})
# A delivery concept types an Encounter as a delivery's (matched by its "delivery" prefix).
ENCOUNTER_CONCEPTS_READ = frozenset(VISITS) | {HOME_DELIVERY_CLASS} | frozenset(DELIVERIES)
