"""Stage 1: one stored resource version -> its fact rows. Pure: the same resource always gives
the same rows, which is what makes a rebuild equal to incremental derivation.

The ViewDefinitions in fhir_mappings/views flatten the resource; the code tables say what its
codes mean; this module turns that into rows, normalises units, and applies the plausibility
rules (a valid resource with an impossible value is kept in the store, flagged, and left out
of the facts).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from fhir_mappings import CodeTables, ViewSet
from mch_service.domain import models as m
from mch_service.domain.identity import resident_id_valid, woman_key
from mch_service.domain.streets import street_problem
from mch_service.store.indexing import local_date

SEVERITY = {"green": 0, "yellow": 1, "orange": 2, "red": 3}
TESTS = ("hiv_test", "syphilis_test", "hbsag_test", "thalassaemia_test")
TREATMENTS = ("antiretroviral", "syphilis_treatment", "hbig")
DIAGNOSES = (
    "hiv_diagnosis",
    "syphilis_diagnosis",
    "congenital_syphilis",
    "hbv_diagnosis",
    "thalassaemia_diagnosis",
    "pregnancy_loss",
    "pregnancy_complication",
    "external_cause",
)
# ICD-10 Z37.x: (live, stillborn); None where the newborn records must say.
Z37 = {
    "Z37.0": (1, 0),
    "Z37.1": (0, 1),
    "Z37.2": (2, 0),
    "Z37.3": (1, 1),
    "Z37.4": (0, 2),
    "Z37.5": (None, 0),
    "Z37.6": (None, None),
    "Z37.7": (0, None),
    "Z37.9": (None, None),
}
# Plausibility (docs/domain.md): beyond these, a value is an error, not a patient.
GA_MAX_DAYS = 45 * 7
HB_RANGE_G_PER_L = (20.0, 250.0)
BIRTH_WEIGHT_RANGE_G = (200.0, 7000.0)


# View columns holding codings -> the element they come from (for the data-quality issue).
_ELEMENTS = {
    "codes": "code",
    "types": "type",
    "value_codes": "value",
    "interpretation": "interpretation",
}

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


@dataclass(frozen=True)
class Extractor:
    views: ViewSet
    codes: CodeTables
    zone: ZoneInfo
    canonical: str
    resident_id_systems: frozenset[str]
    keyed_hash: Callable[[str], str]
    seal: Callable[[bytes, bytes], bytes]
    # Codings read per element, and unmapped-code rows kept per resource: one resource with
    # hundreds of thousands of codings must not cost seconds and as many rows. The rest are
    # counted in a data-quality issue, which the sender gets back as a warning.
    max_codings: int = 50
    max_unmapped: int = 20
    # The district's street codes (MCH_STREETS); empty: any well-formed code.
    streets: frozenset[str] = frozenset()

    def extract(self, src: Source, resource: dict[str, Any]) -> Extracted:
        out = Extracted()
        row = self.views.row(resource)
        if row is None:
            return out
        self._cap_codings(src, row, out)
        handler = getattr(self, "_" + src.resource_type.lower(), None)
        if src.resource_type.startswith("Medication"):
            handler = self._medication
        if handler is not None:
            handler(src, row, out)
        if len(out.unmapped) > self.max_unmapped:
            extra = len(out.unmapped) - self.max_unmapped
            del out.unmapped[self.max_unmapped :]
            self._issue(
                src,
                out,
                "unmapped_codes_capped",
                src.resource_type,
                f"{extra} more codes that no code table recognises were not recorded "
                f"(at most {self.max_unmapped} per resource)",
            )
        return out

    def _cap_codings(self, src: Source, row: dict[str, Any], out: Extracted) -> None:
        for name, value in row.items():
            if (
                isinstance(value, list)
                and len(value) > self.max_codings
                and isinstance(value[0], dict)
                and ("code" in value[0] or "system" in value[0])
            ):
                row[name] = value[: self.max_codings]
                self._issue(
                    src,
                    out,
                    "codings_capped",
                    f"{src.resource_type}.{_ELEMENTS.get(name, name)}",
                    f"{len(value)} codings; only the first {self.max_codings} were read",
                )

    # -- helpers -------------------------------------------------------------------------

    def _day(self, value: Any) -> date | None:
        if isinstance(value, list):
            value = value[0] if value else None
        return local_date(value, self.zone) if isinstance(value, str) else None

    @staticmethod
    def _base(src: Source, subject: str | None) -> dict[str, Any]:
        return {
            "resource_pk": src.resource_pk,
            "version_id": src.version_id,
            "institution_id": src.institution_id,
            "subject": local_ref(src.institution_id, subject),
            "pregnancy_id": None,
        }

    def _unmapped(self, src: Source, out: Extracted, element: str, codings: list[Any]) -> None:
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

    @staticmethod
    def _issue(src: Source, out: Extracted, rule: str, element: str, message: str) -> None:
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

    # -- Patient -------------------------------------------------------------------------

    def _patient(self, src: Source, row: dict[str, Any], out: Extracted) -> None:
        ref = f"{src.institution_id}/Patient/{src.fhir_id}"
        resident = next(
            (
                i.get("value")
                for i in row["identifiers"]
                if isinstance(i, dict)
                and i.get("system") in self.resident_id_systems
                and i.get("value")
            ),
            None,
        )
        mrn = next(
            (
                i.get("value")
                for i in row["identifiers"]
                if isinstance(i, dict)
                and i.get("value")
                and i.get("system") not in self.resident_id_systems
            ),
            None,
        )
        valid = bool(resident) and resident_id_valid(str(resident))
        rid_hash = (
            self.keyed_hash("resident-id|" + resident.upper()) if resident and valid else None
        )
        if resident and not valid:
            self._issue(
                src,
                out,
                "resident_id_check_digit",
                "Patient.identifier",
                "The resident ID number fails the GB 11643 check; it is kept but not "
                "used to link this woman's records across institutions",
            )
        mother = local_ref(src.institution_id, row.get("mother"))
        address = (
            next(
                (a for a in row["addresses"] if isinstance(a, dict) and a.get("use") == "home"),
                None,
            )
            or (row["addresses"] or [None])[0]
        )
        street = None
        if isinstance(address, dict):
            street = next(
                (
                    e.get("valueCode") or e.get("valueString")
                    for e in address.get("extension") or []
                    if e.get("url") == f"{self.canonical}/StructureDefinition/address-street"
                ),
                None,
            )
        problem = street_problem(str(street), self.streets) if street is not None else None
        if problem is not None:
            # a valid record, kept; its street is not trusted for attribution (nor so for
            # jurisdictions, work lists and exports)
            self._issue(src, out, "street_unknown", "Patient.address.extension", problem)
            street = None
        name = row["names"][0] if row["names"] else None
        name_text = None
        if isinstance(name, dict):
            name_text = name.get("text") or "".join(
                [name.get("family") or ""] + list(name.get("given") or [])
            )

        def seal(field_name: str, value: Any) -> bytes | None:
            if not value:
                return None
            data = value if isinstance(value, str) else orjson.dumps(value).decode()
            return self.seal(data.encode(), f"patient_record/{ref}/{field_name}".encode())

        deceased = self._day(row.get("deceased_datetime"))
        out.add(
            m.PatientRecord,
            {
                "resource_pk": src.resource_pk,
                "version_id": src.version_id,
                "institution_id": src.institution_id,
                "ref": ref,
                "resident_id_hash": rid_hash,
                "resident_id_valid": valid,
                # a newborn (linked to its mother) or a male patient is not a woman of this register
                "woman_key": None
                if mother or row.get("gender") == "male"
                else woman_key(rid_hash, src.resource_pk),
                "mother_ref": mother,
                "resident_id_sealed": seal("resident_id", resident),
                "mrn_sealed": seal("mrn", mrn),
                "name_sealed": seal("name", name_text),
                "phone_sealed": seal("phone", ", ".join(row["telecoms"])),
                "address_sealed": seal(
                    "address",
                    " ".join((address or {}).get("line") or [])
                    if isinstance(address, dict)
                    else None,
                ),
                "street": street,
                "birth_date": self._day(row.get("birth_date")),
                "gender": row.get("gender"),
                "deceased_at": deceased,
                "multiple_birth": row.get("multiple_birth"),
                "received_at": src.received_at,
            },
        )

    # -- EpisodeOfCare ---------------------------------------------------------------------

    def _episodeofcare(self, src: Source, row: dict[str, Any], out: Extracted) -> None:
        if "pregnancy_episode" not in self.codes.concepts_of(row["types"]):
            self._unmapped(src, out, "type", row["types"])
            return
        out.add(
            m.CareEpisode,
            {
                **self._base(src, row.get("patient")),
                "ref": f"{src.institution_id}/EpisodeOfCare/{src.fhir_id}",
                "start_date": self._day(row.get("start")),
                "end_date": self._day(row.get("end")),
            },
        )

    # -- Observation -----------------------------------------------------------------------

    def _observation(self, src: Source, row: dict[str, Any], out: Extracted) -> None:
        concepts = self.codes.concepts_of(row["codes"])
        day = self._day(row.get("effective")) or self._day(row.get("issued"))
        base = self._base(src, row.get("subject"))
        if not concepts:
            self._unmapped(src, out, "code", row["codes"])
            return
        if day is None:
            self._issue(
                src,
                out,
                "missing_date",
                "Observation.effective",
                "No effective date: the result cannot be placed in a pregnancy",
            )
            return
        for concept, code_row in concepts.items():
            if concept in ("lmp", "edd"):
                value_day = self._day(row.get("value_datetime"))
                if value_day is None:
                    continue
                out.add(
                    m.DatingObservation,
                    {
                        **base,
                        "kind": concept,
                        "observed_date": day,
                        "value_date": value_day,
                        "ga_days": None,
                        "gravida": None,
                    },
                )
            elif concept == "gestational_age":
                ga = self._ga_days(row, code_row.unit)
                if ga is None:
                    continue
                if not 0 <= ga <= GA_MAX_DAYS:
                    self._issue(
                        src,
                        out,
                        "gestational_age_out_of_range",
                        "Observation.valueQuantity",
                        f"Gestational age of {ga // 7}+{ga % 7} weeks is impossible; "
                        "the record is kept out of the indicators",
                    )
                    continue
                out.add(
                    m.DatingObservation,
                    {
                        **base,
                        "kind": concept,
                        "observed_date": day,
                        "value_date": None,
                        "ga_days": ga,
                        "gravida": None,
                    },
                )
            elif concept == "gravida":
                value = row.get("value_integer") or row.get("value_quantity")
                out.add(
                    m.DatingObservation,
                    {
                        **base,
                        "kind": concept,
                        "observed_date": day,
                        "value_date": None,
                        "ga_days": None,
                        "gravida": int(value) if value else None,
                    },
                )
            elif concept in TESTS:
                out.add(
                    m.LabResult,
                    {
                        **base,
                        "concept": concept,
                        "test_date": day,
                        "result": self._result(row),
                        "value": None,
                        "unit": None,
                        "source": "observation",
                    },
                )
            elif concept == "haemoglobin":
                hb = self._haemoglobin(row, code_row.unit)
                if hb is not None and not HB_RANGE_G_PER_L[0] <= hb <= HB_RANGE_G_PER_L[1]:
                    self._issue(
                        src,
                        out,
                        "haemoglobin_out_of_range",
                        "Observation.valueQuantity",
                        f"Haemoglobin of {hb:g} g/L is impossible; the record is "
                        "kept out of the indicators",
                    )
                    continue
                out.add(
                    m.LabResult,
                    {
                        **base,
                        "concept": concept,
                        "test_date": day,
                        "result": None,
                        "value": hb,
                        "unit": "g/L",
                        "source": "observation",
                    },
                )
            elif concept in ("birth_weight", "apgar"):
                measured: float | None = row.get("value_quantity")
                if concept == "birth_weight" and measured is not None:
                    unit = self._unit(row, code_row.unit)
                    measured = measured * 1000 if unit == "kg" else measured
                    if not BIRTH_WEIGHT_RANGE_G[0] <= measured <= BIRTH_WEIGHT_RANGE_G[1]:
                        self._issue(
                            src,
                            out,
                            "birth_weight_out_of_range",
                            "Observation.valueQuantity",
                            f"A birth weight of {measured:g} g is impossible; the record "
                            "is kept out of the indicators",
                        )
                        continue
                if measured is None and row.get("value_integer") is not None:
                    measured = float(row["value_integer"])
                out.add(
                    m.NewbornObservation,
                    {
                        **base,
                        "kind": concept,
                        "value": measured,
                        "encounter_ref": local_ref(src.institution_id, row.get("encounter")),
                        "observed_date": day,
                    },
                )
            elif concept == "risk_colour":
                self._colour(src, base, day, row["value_codes"], None, out)

    def _unit(self, row: dict[str, Any], default: str) -> str:
        units = [u for u in row.get("value_unit") or [] if isinstance(u, str)]
        return units[0] if units else default

    def _ga_days(self, row: dict[str, Any], default_unit: str) -> int | None:
        value = row.get("value_quantity")
        if value is None:
            return None
        unit = self._unit(row, default_unit or "wk").lower()
        if unit in ("d", "day", "days", "天"):
            return int(round(value))
        return int(round(value * 7))  # weeks, with a decimal part for days

    def _haemoglobin(self, row: dict[str, Any], default_unit: str) -> float | None:
        value = row.get("value_quantity")
        if value is None:
            return None
        unit = self._unit(row, default_unit or "g/L").lower()
        return float(value) * 10 if unit in ("g/dl", "g/100ml") else float(value)

    def _result(self, row: dict[str, Any]) -> str | None:
        for codings in (row.get("value_codes") or [], row.get("interpretation") or []):
            for coding in codings:
                if isinstance(coding, dict):
                    for code_row in self.codes.lookup(coding.get("system"), coding.get("code")):
                        if code_row.concept == "result_value":
                            return code_row.value
        return None

    def _colour(
        self,
        src: Source,
        base: dict[str, Any],
        day: date,
        codings: list[Any],
        basis: str | None,
        out: Extracted,
    ) -> None:
        colours = {
            r.value
            for c in codings
            if isinstance(c, dict)
            for r in self.codes.lookup(c.get("system"), c.get("code"))
            if r.concept == "risk_colour"
        }
        if not colours:
            self._unmapped(src, out, "colour", codings)
            return
        severity = max(
            (c for c in colours if c in SEVERITY), key=SEVERITY.__getitem__, default=None
        )
        out.add(
            m.RiskAssessmentFact,
            {
                **base,
                "assessed_date": day,
                "colour": severity,
                "purple": "purple" in colours,
                "basis": basis,
            },
        )

    # -- Encounter -------------------------------------------------------------------------

    def _encounter(self, src: Source, row: dict[str, Any], out: Extracted) -> None:
        concepts = self.codes.concepts_of(row["types"])
        day = self._day(row.get("start"))
        base = self._base(src, row.get("subject"))
        visit = next(
            (
                c
                for c in (
                    "prenatal_initial_visit",
                    "prenatal_visit",
                    "postpartum_42d_check",
                    "postpartum_visit",
                )
                if c in concepts
            ),
            None,
        )
        home = bool(self.codes.lookup(row.get("class_system"), row.get("class")))
        delivery_typed = any(c.startswith("delivery") for c in concepts)
        if visit is not None:
            if day is None:
                self._issue(
                    src,
                    out,
                    "missing_date",
                    "Encounter.period",
                    "A visit without a start date cannot be counted",
                )
                return
            if visit.startswith("prenatal"):
                episodes = row.get("episodes") or []
                out.add(
                    m.PrenatalVisit,
                    {
                        **base,
                        "visit_date": day,
                        "initial": visit == "prenatal_initial_visit",
                        "episode_ref": local_ref(src.institution_id, episodes[0])
                        if episodes
                        else None,
                    },
                )
            else:
                out.add(
                    m.PostpartumVisit,
                    {
                        **base,
                        "visit_date": day,
                        "kind": "check_42d" if visit == "postpartum_42d_check" else "visit",
                    },
                )
            return
        if row.get("class") in ("IMP", "ACUTE", "NONAC", "EMER", "HH") or delivery_typed:
            out.add(
                m.EncounterRecord,
                {
                    **base,
                    "ref": f"{src.institution_id}/Encounter/{src.fhir_id}",
                    "start_date": day,
                    "end_date": self._day(row.get("end")),
                    "home": home,
                    "delivery": delivery_typed,
                },
            )
        elif row["types"]:
            self._unmapped(src, out, "type", row["types"])

    # -- Procedure -------------------------------------------------------------------------

    def _procedure(self, src: Source, row: dict[str, Any], out: Extracted) -> None:
        concepts = self.codes.concepts_of(row["codes"])
        day = self._day(row.get("performed"))
        base = self._base(src, row.get("subject"))
        if not concepts:
            self._unmapped(src, out, "code", row["codes"])
            return
        if day is None:
            self._issue(
                src,
                out,
                "missing_date",
                "Procedure.performed",
                "No performed date: the procedure cannot be placed in a pregnancy",
            )
            return
        modes = [
            c
            for c in ("delivery_caesarean", "delivery_instrumental", "delivery_vaginal", "delivery")
            if c in concepts
        ]
        if modes:
            mode = modes[0].removeprefix("delivery_") if modes[0] != "delivery" else None
            out.add(
                m.DeliveryRecord,
                {
                    **base,
                    "kind": "procedure",
                    "event_date": day,
                    "mode": mode,
                    "encounter_ref": local_ref(src.institution_id, row.get("encounter")),
                    "outcome_code": None,
                    "live": None,
                    "still": None,
                },
            )
        for concept in concepts:
            if concept in TESTS:
                out.add(
                    m.LabResult,
                    {
                        **base,
                        "concept": concept,
                        "test_date": day,
                        "result": None,
                        "value": None,
                        "unit": None,
                        "source": "procedure",
                    },
                )
            elif concept in TREATMENTS:
                out.add(
                    m.Treatment,
                    {
                        **base,
                        "concept": concept,
                        "treated_date": day,
                        "code": concepts[concept].code,
                    },
                )

    # -- Condition -------------------------------------------------------------------------

    def _condition(self, src: Source, row: dict[str, Any], out: Extracted) -> None:
        concepts = self.codes.concepts_of(row["codes"])
        day = self._day(row.get("onset")) or self._day(row.get("recorded"))
        base = self._base(src, row.get("subject"))
        if not concepts:
            self._unmapped(src, out, "code", row["codes"])
            return
        if "birth_outcome" in concepts:
            code: str = next(
                (
                    str(c.get("code"))
                    for c in row["codes"]
                    if isinstance(c, dict) and str(c.get("code", "")).startswith("Z37")
                ),
                "",
            )
            live, still = Z37.get(code[:5], (None, None))
            out.add(
                m.DeliveryRecord,
                {
                    **base,
                    "kind": "outcome",
                    "event_date": day,
                    "mode": None,
                    "encounter_ref": local_ref(src.institution_id, row.get("encounter")),
                    "outcome_code": code[:16],
                    "live": live,
                    "still": still,
                },
            )
        for concept, code_row in concepts.items():
            if concept in DIAGNOSES:
                code = next(  # type: ignore[assignment]
                    (
                        c.get("code")
                        for c in row["codes"]
                        if isinstance(c, dict) and c.get("system") == code_row.system
                    ),
                    code_row.code,
                )
                out.add(
                    m.Diagnosis,
                    {**base, "concept": concept, "code": str(code)[:32], "diagnosed_date": day},
                )

    # -- RiskAssessment and medications ------------------------------------------------------

    def _riskassessment(self, src: Source, row: dict[str, Any], out: Extracted) -> None:
        day = self._day(row.get("occurrence"))
        if day is None:
            self._issue(
                src,
                out,
                "missing_date",
                "RiskAssessment.occurrence",
                "No occurrence date: the grading cannot be placed in a pregnancy",
            )
            return
        self._colour(
            src,
            self._base(src, row.get("subject")),
            day,
            row["colours"],
            " ".join(row.get("basis") or []) or None,
            out,
        )

    def _medication(self, src: Source, row: dict[str, Any], out: Extracted) -> None:
        concepts = self.codes.concepts_of(row["codes"])
        treatments = [c for c in concepts if c in TREATMENTS]
        if not treatments:
            self._unmapped(src, out, "medication", row["codes"])
            return
        day = self._day(row.get("when"))
        if day is None:
            self._issue(
                src,
                out,
                "missing_date",
                f"{src.resource_type}.effective",
                "No date: the treatment cannot be placed in a pregnancy",
            )
            return
        for concept in treatments:
            out.add(
                m.Treatment,
                {
                    **self._base(src, row.get("subject")),
                    "concept": concept,
                    "treated_date": day,
                    "code": concepts[concept].code,
                },
            )
