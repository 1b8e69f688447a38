"""Replays a simulated district's files the way a FHIR server would store them — history lines,
then Bundles in manifest order; POST by business identifier, PUT by id or by condition, DELETE;
invalid entries rejected — and reads a few facts back from the final records.

Deliberately small and separate from the simulator, so that a test can check that what the
files say, once every late, duplicate, corrected, deleted and invalid record has been applied,
is what truth.json expects.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson

from mch_service.fhir_api.validation import validate_resource

SHANGHAI = timezone(timedelta(hours=8))
RESIDENT_ID = "urn:oid:2.16.156.10011.1.3"
STREET = "http://mch-service.local/fhir/StructureDefinition/address-street"
MODES = {"700000006", "11466000", "302383004", "61586001"}
LIVE = {"Z37.0": 1, "Z37.1": 0, "Z37.2": 2, "Z37.3": 1, "Z37.4": 0}

Key = tuple[str, str, str]  # (institution, resource type, identifier value)


def local_day(value: str) -> date:
    """The Shanghai calendar day of a FHIR date or dateTime."""
    if len(value) == 10:
        return date.fromisoformat(value)
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:  # no offset: already local
        return moment.date()
    return moment.astimezone(SHANGHAI).date()


def _identity(inst: str, res: dict[str, Any]) -> Key:
    idents = res.get("identifier") or []
    if res["resourceType"] == "Patient":
        mrn = [i for i in idents if i["system"].endswith("/mrn")]
        return (inst, "Patient", mrn[0]["value"])
    return (inst, res["resourceType"], idents[0]["value"])


@dataclass
class Replay:
    records: dict[Key, dict[str, Any] | None] = field(default_factory=dict)
    by_id: dict[tuple[str, str], Key] = field(default_factory=dict)
    accepted: int = 0
    rejected: int = 0
    deleted: int = 0
    # when each record was first received: its Bundle's planned time (local, naive); records
    # of the history backfill have none
    received: dict[Key, datetime] = field(default_factory=dict)

    def _resolve(self, inst: str, ref: str, urns: dict[str, Key]) -> str:
        if ref in urns:
            key = urns[ref]
        elif "?identifier=" in ref:
            rtype, _, token = ref.partition("?identifier=")
            key = (inst, rtype, token.split("|", 1)[1])
        else:
            rtype, _, rid = ref.partition("/")
            key = self.by_id[(rtype, rid)]
        assert self.records.get(key) is not None, f"dangling {ref}"
        return "|".join(key)

    def _rewrite(self, inst: str, node: Any, urns: dict[str, Key]) -> Any:
        if isinstance(node, dict):
            out = {}
            for k, v in node.items():
                if k == "reference" and isinstance(v, str):
                    out[k] = self._resolve(inst, v, urns)
                else:
                    out[k] = self._rewrite(inst, v, urns)
            return out
        if isinstance(node, list):
            return [self._rewrite(inst, v, urns) for v in node]
        return node

    def _store(self, key: Key, res: dict[str, Any]) -> None:
        self.records[key] = res
        if "id" in res:
            self.by_id[(res["resourceType"], res["id"])] = key
        self.accepted += 1

    def history(self, inst: str, path: Path) -> None:
        for line in path.read_bytes().splitlines():
            res = orjson.loads(line)
            assert validate_resource(res) == [], res
            self._store(_identity(inst, res), self._rewrite(inst, res, {}))

    def bundle(self, inst: str, path: Path, at: datetime | None = None) -> None:
        bundle = orjson.loads(path.read_bytes())
        if bundle["type"] == "batch":
            for entry in bundle["entry"]:
                assert validate_resource(entry["resource"]) != []
                self.rejected += 1
            return
        entries = bundle["entry"]
        urns = {e["fullUrl"]: _identity(inst, e["resource"]) for e in entries if "fullUrl" in e}
        # Transaction order (R4): DELETE, then POST, then PUT.
        order = {"DELETE": 0, "POST": 1, "PUT": 2}
        pending: list[tuple[Key, dict[str, Any]]] = []
        for e in sorted(entries, key=lambda e: order[e["request"]["method"]]):
            method, url = e["request"]["method"], e["request"]["url"]
            if method == "DELETE":
                if "?identifier=" in url:
                    rtype, _, token = url.partition("?identifier=")
                    key = (inst, rtype, token.split("|", 1)[1])
                else:
                    rtype, _, rid = url.partition("/")
                    key = self.by_id[(rtype, rid)]
                assert self.records.get(key) is not None, f"deleting what is not there: {url}"
                self.records[key] = None
                self.deleted += 1
                continue
            res = e["resource"]
            assert validate_resource(res) == [], res
            if method == "PUT" and "?identifier=" in url:
                rtype, _, token = url.partition("?identifier=")
                key = (inst, rtype, token.split("|", 1)[1])
            else:
                key = _identity(inst, res)
            # New records first, so that references inside the bundle resolve.
            if key not in self.records and at is not None:
                self.received[key] = at
            self.records.setdefault(key, res)
            pending.append((key, res))
        for key, res in pending:
            self._store(key, self._rewrite(inst, res, urns))

    def live(self) -> list[tuple[Key, dict[str, Any]]]:
        return [(k, v) for k, v in self.records.items() if v is not None]


def replay(out_dir: Path) -> Replay:
    manifest = orjson.loads((out_dir / "manifest.json").read_bytes())
    r = Replay()
    for inst in manifest["institutions"]:
        if inst["history"]:
            r.history(inst["id"], out_dir / inst["history"])
        for name, at in zip(inst["bundles"], inst["bundle_times"], strict=True):
            r.bundle(inst["id"], out_dir / name, datetime.fromisoformat(at).replace(tzinfo=None))
    return r


@dataclass
class Figures:
    deliveries: Counter[str]  # month -> deliveries (产妇数)
    live_births: Counter[str]  # month -> 活产数
    caesarean_live: Counter[str]
    low_weight: Counter[str]
    street_deliveries: Counter[tuple[str, str]]  # (month, street)
    institution_deliveries: Counter[tuple[str, str]]  # (month, institution)
    deaths: Counter[str]  # month -> non-accidental deaths of mothers
    postpartum_28: Counter[str] = field(default_factory=Counter)  # month -> women visited
    checks_5: Counter[str] = field(default_factory=Counter)  # month -> women with ≥ 5 checks


def figures(r: Replay) -> Figures:
    """Rough counts straight from the final records. District rows count residents (a home
    address with the district's street code) and deliveries at 28+0 weeks or later (the GA
    observation of the delivery encounter); the institution rows count every residence."""
    live = dict(r.live())
    f = Figures(Counter(), Counter(), Counter(), Counter(), Counter(), Counter(), Counter())

    def month(day: date) -> str:
        return f"{day.year:04d}-{day.month:02d}"

    def street_of(patient: dict[str, Any]) -> str | None:
        return next(
            (
                e["valueCode"]
                for e in patient["address"][0].get("extension", [])
                if e["url"] == STREET
            ),
            None,
        )

    ga_at: dict[str, int] = {}  # delivery encounter -> GA in days
    for res in live.values():
        if res["resourceType"] == "Observation" and "encounter" in res:
            if res["code"]["coding"][0]["code"] == "11884-4":
                q = res["valueQuantity"]
                ga_at[res["encounter"]["reference"]] = q["value"] * (7 if q["code"] == "wk" else 1)
    counted: set[tuple[str, date]] = set()  # (mother, delivery day) in the district's cohort
    for key, res in live.items():
        if res["resourceType"] != "Procedure" or res["code"]["coding"][0]["code"] not in MODES:
            continue
        day = local_day(res["performedDateTime"])
        if ga_at.get(res["encounter"]["reference"], 196) < 196:
            continue  # a loss before 28+0 weeks: in no count
        f.institution_deliveries[(month(day), key[0])] += 1
        mother = live[tuple(res["subject"]["reference"].split("|"))]  # type: ignore[index]
        street = street_of(mother)
        if street is None:
            continue  # not a resident: not in the district
        counted.add((res["subject"]["reference"], day))
        f.deliveries[month(day)] += 1
        f.street_deliveries[(month(day), street)] += 1
    outcomes: dict[tuple[str, date], int] = {}
    for _key, res in live.items():
        if res["resourceType"] == "Condition":
            code = res["code"]["coding"][0]["code"]
            if code in LIVE:
                day = local_day(res["onsetDateTime"])
                outcomes[(res["subject"]["reference"], day)] = LIVE[code]
                if (res["subject"]["reference"], day) in counted:
                    f.live_births[month(day)] += LIVE[code]
    for res in live.values():
        if res["resourceType"] != "Procedure" or res["code"]["coding"][0]["code"] != "11466000":
            continue
        day = local_day(res["performedDateTime"])
        if (res["subject"]["reference"], day) in counted:
            f.caesarean_live[month(day)] += outcomes[(res["subject"]["reference"], day)]
    for res in live.values():
        if res["resourceType"] == "Observation" and res["code"]["coding"][0]["code"] == "8339-4":
            baby = live[tuple(res["subject"]["reference"].split("|"))]  # type: ignore[index]
            born = date.fromisoformat(baby["birthDate"])
            mother_ref = baby["extension"][0]["valueReference"]["reference"]
            if (mother_ref, born) in counted and res["valueQuantity"]["value"] < 2500:
                f.low_weight[month(born)] += 1
    _per_woman(live, f, counted)
    external: set[str] = set()
    for res in live.values():
        if res["resourceType"] == "Condition" and _accidental(res["code"]["coding"][0]["code"]):
            external.add(res["subject"]["reference"])
    for key, res in live.items():
        is_mother = any(i["system"] == RESIDENT_ID for i in res.get("identifier", []))
        if res["resourceType"] == "Patient" and is_mother and "deceasedDateTime" in res:
            if "|".join(key) not in external and street_of(res) is not None:
                f.deaths[month(local_day(res["deceasedDateTime"]))] += 1
    return f


def _accidental(code: str) -> bool:
    """ICD-10 V01-X59, X85-Y09, Y10-Y36: accidental or incidental, not a maternal death
    (Y40-Y84 care complications and X60-X84 suicides count)."""
    if not code[:1] or code[0] not in "VWXY" or not code[1:3].isdigit():
        return False
    n = int(code[1:3])
    return code[0] in "VW" or (code[0] == "X" and not 60 <= n <= 84) or (code[0] == "Y" and n <= 36)


def _per_woman(live: dict[Key, dict[str, Any]], f: Figures, counted: set[tuple[str, date]]) -> None:
    """Postpartum visits within 28 days of discharge and prenatal checks, joined across
    institutions by resident ID (the simulator keeps one ID per woman)."""
    resident: dict[str, str] = {}
    for key, res in live.items():
        for ident in res.get("identifier", []) if res["resourceType"] == "Patient" else []:
            if ident["system"] == RESIDENT_ID:
                resident["|".join(key)] = ident["value"]
    # woman -> (delivery, admission, discharge, in the district's cohort)
    ends: dict[str, list[tuple[date, date, date, bool]]] = {}
    losses: dict[str, list[date]] = {}
    visits: dict[str, list[tuple[date, str]]] = {}
    for res in live.values():
        rtype = res["resourceType"]
        if rtype == "Procedure" and res["code"]["coding"][0]["code"] in MODES:
            enc = live[tuple(res["encounter"]["reference"].split("|"))]  # type: ignore[index]
            day = local_day(res["performedDateTime"])
            admission = local_day(enc["period"]["start"])
            discharge = local_day(enc["period"]["end"]) if "end" in enc["period"] else day
            woman = resident[res["subject"]["reference"]]
            in_cohort = (res["subject"]["reference"], day) in counted
            ends.setdefault(woman, []).append((day, admission, discharge, in_cohort))
        elif rtype == "Condition" and res["code"]["coding"][0]["code"].startswith("O03"):
            losses.setdefault(resident[res["subject"]["reference"]], []).append(
                local_day(res["onsetDateTime"])
            )
        elif rtype == "Encounter" and res["type"][0]["coding"][0]["code"] in (
            "424441002",
            "424619006",
            "169762003",
        ):
            woman = resident[res["subject"]["reference"]]
            visits.setdefault(woman, []).append(
                (local_day(res["period"]["start"]), res["type"][0]["coding"][0]["code"])
            )
    for woman, deliveries in ends.items():
        previous = sorted([d for d, _, _, _ in deliveries] + losses.get(woman, []))
        for day, admission, discharge, in_cohort in deliveries:
            if not in_cohort:
                continue
            month = f"{day.year:04d}-{day.month:02d}"
            earlier = [p for p in previous if p < day]
            since = max(
                [admission - timedelta(days=300), *(p + timedelta(days=1) for p in earlier)]
            )
            mine = visits.get(woman, [])
            if any(0 <= (v - discharge).days <= 28 for v, code in mine if code == "169762003"):
                f.postpartum_28[month] += 1
            checks = {v for v, code in mine if code != "169762003" and since <= v < admission}
            if len(checks) >= 5:
                f.checks_5[month] += 1


# --- the whole round trip: final records -> pregnancy facts --------------------------------

_LAB = {
    "56888-1": "hiv",
    "HIV-AB": "hiv",
    "5221-7": "hiv",
    "HIV-WB": "hiv",
    "20507-0": "syphilis",
    "24312-1": "syphilis",
    "63464-2": "syphilis",
    "TP-PA": "syphilis",
    "TP-TRUST": "syphilis",
    "5196-1": "hbsag",
    "HBSAG": "hbsag",
}
_TEST_DONE = {"31676001": "hiv", "269828009": "syphilis", "47758006": "hbsag"}
# the test's method, as the default and the site code tables say (value column)
_METHOD = {
    "5221-7": "confirmatory",
    "HIV-WB": "confirmatory",
    "24312-1": "treponemal",
    "63464-2": "treponemal",
    "TP-PA": "treponemal",
    "20507-0": "non_treponemal",
    "TP-TRUST": "non_treponemal",
}
_SCREENING = {
    "4551-8": "thalassaemia",
    "prenatal-serum-screening": "prenatal_screening",
    "nipt": "prenatal_screening",
}
_RESULT = {"10828004": "positive", "POS": "positive", "260385009": "negative", "NEG": "negative"}
_VISIT = {
    "424441002": "prenatal_initial_visit",
    "424619006": "prenatal_visit",
    "169762003": "postpartum_visit",
}
_TREATMENT = {
    "J05AR": "hiv",
    "J05AF01": "hiv",  # zidovudine: the newborn's ARV prophylaxis
    "J01CE08": "syphilis",
    "J01DD04": "syphilis",  # ceftriaxone: counts only with a syphilis reasonCode
    "J05AF10": "hbv_antiviral",
    "J06BB04": "hbig",
}
_DIAGNOSIS = {"Z21": "hiv", "B20": "hiv", "A53.9": "syphilis", "B18.1": "hbsag"}
_Z37 = {"Z37.0": (1, 0), "Z37.1": (0, 1), "Z37.2": (2, 0), "Z37.3": (1, 1), "Z37.4": (0, 2)}


def local_moment(value: str) -> datetime:
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(SHANGHAI).replace(tzinfo=None)


def facts_from_records(r: Replay) -> list[Any]:
    """Every woman's pregnancies, read from the final records only: her records (joined by
    resident ID) are split at each delivery or loss; a record belongs to the first pregnancy
    that ended at most 100 days before it (the simulator starts a next pregnancy 90+ days
    after the end, and reports it from 6 weeks of gestation)."""
    from mch_service.simulator.facts import (
        CongenitalSyphilis,
        Dating,
        Delivery,
        Diagnosis,
        Haemoglobin,
        LabTest,
        MaternalDeath,
        Newborn,
        PregnancyFacts,
        RiskGrade,
        Screening,
        Treatment,
        Visit,
    )
    from mch_service.simulator.truth import effective_lmp

    live = dict(r.live())
    mother: dict[str, str] = {}  # patient key -> resident ID (newborns: their mother's)
    street: dict[str, str | None] = {}
    residence: dict[str, str] = {}
    for key, res in live.items():
        if res["resourceType"] != "Patient":
            continue
        for ident in res["identifier"]:
            if ident["system"] == RESIDENT_ID:
                mother["|".join(key)] = ident["value"]
                street["|".join(key)] = next(
                    (
                        e["valueCode"]
                        for e in res["address"][0].get("extension", [])
                        if e["url"] == STREET
                    ),
                    None,
                )
                # the simulator's residents carry the street code; others an address
                # elsewhere (district, city, province) or a bare line
                address = res["address"][0]
                residence["|".join(key)] = (
                    "resident"
                    if street["|".join(key)]
                    else "non_resident"
                    if any(address.get(k) for k in ("district", "city", "state"))
                    else "unknown"
                )
    for key, res in live.items():
        if res["resourceType"] == "Patient" and "extension" in res:
            mother["|".join(key)] = mother[res["extension"][0]["valueReference"]["reference"]]

    newborn_keys = {
        "|".join(key)
        for key, res in live.items()
        if res["resourceType"] == "Patient" and "extension" in res
    }
    # a newborn's own records: newborn key -> [(what, local time)]
    infant: dict[str, list[tuple[str, datetime]]] = {}
    # (woman, day, what, payload)
    items: list[tuple[str, date, str, Any]] = []
    external: set[str] = set()
    thal: set[str] = set()
    deliveries: list[tuple[str, date, str, dict[str, Any]]] = []
    for key, res in live.items():
        rtype, inst = res["resourceType"], key[0]
        subject = (res.get("subject") or res.get("patient") or {}).get("reference")
        woman = mother.get(subject) if subject else None
        if rtype == "Patient":
            if "deceasedDateTime" in res and "extension" not in res:
                d = local_day(res["deceasedDateTime"])
                items.append((mother["|".join(key)], d, "death", inst))
            continue
        assert woman is not None, res
        if rtype == "EpisodeOfCare":
            items.append((woman, local_day(res["period"]["start"]), "booking", None))
        elif rtype == "Encounter":
            code = res["type"][0]["coding"][0]["code"]
            if code in _VISIT:
                day = local_day(res["period"]["start"])
                items.append((woman, day, "visit", Visit(day, _VISIT[code], inst)))
        elif rtype == "Observation":
            code = res["code"]["coding"][0]["code"]
            day = local_day(res["effectiveDateTime"])
            if code == "8665-2":
                items.append(
                    (woman, day, "dating", Dating(day, lmp=local_day(res["valueDateTime"])))
                )
            elif code == "11778-8":
                items.append(
                    (woman, day, "dating", Dating(day, edd=local_day(res["valueDateTime"])))
                )
            elif code == "11884-4":
                q = res["valueQuantity"]
                days = q["value"] * 7 if q["code"] == "wk" else q["value"]
                items.append((woman, day, "dating", Dating(day, ga_days=days)))
            elif code in _LAB:
                result = _RESULT[res["valueCodeableConcept"]["coding"][0]["code"]]
                test = LabTest(day, _LAB[code], result, _METHOD.get(code))
                items.append((woman, day, "test", test))
            elif code in _SCREENING:
                result = _RESULT[res["valueCodeableConcept"]["coding"][0]["code"]]
                screening = Screening(day, _SCREENING[code], result == "positive")
                items.append((woman, day, "screening", screening))
            elif code in ("718-7", "HGB"):
                q = res["valueQuantity"]
                g_l = q["value"] * 10 if q.get("unit") == "g/dL" else q["value"]
                items.append((woman, day, "hb", Haemoglobin(day, g_l)))
            elif code == "8339-4":
                items.append((woman, day, "weight", (subject, q_value(res))))
            elif code in ("99046-5", "71354-5"):  # EPDS total score
                items.append((woman, day, "epds", day))
        elif rtype == "Procedure":
            code = res["code"]["coding"][0]["code"]
            day = local_day(res["performedDateTime"])
            if code in _TEST_DONE:
                items.append((woman, day, "test", LabTest(day, _TEST_DONE[code], None)))
            elif code == "34536000":
                items.append((woman, day, "screening", Screening(day, "prenatal_diagnosis")))
            elif code in MODES:
                deliveries.append((woman, day, inst, res))
        elif rtype == "RiskAssessment":
            at = local_moment(res["occurrenceDateTime"])
            colours = [p["qualitativeRisk"]["coding"][0]["code"] for p in res["prediction"]]
            severity = next((c for c in colours if c != "purple"), None)
            grade = RiskGrade(at, severity, "purple" in colours, r.received.get(key))
            items.append((woman, at.date(), "risk", grade))
        elif rtype == "Condition":
            code = res["code"]["coding"][0]["code"]
            day = local_day(res.get("onsetDateTime") or res["recordedDate"])
            if code in _DIAGNOSIS:
                items.append((woman, day, "dx", Diagnosis(day, _DIAGNOSIS[code])))
            elif code.startswith("D56"):
                thal.add(woman)
            elif code.startswith("A50"):
                items.append((woman, day, "cs", CongenitalSyphilis(day, inst, child=subject)))
            elif code.startswith("O03"):
                items.append((woman, day, "loss", None))
            elif code in _Z37:
                items.append((woman, day, "z37", _Z37[code]))
            elif code == "near-miss":
                items.append((woman, day, "near_miss", None))
            elif _accidental(code):
                external.add(woman)
        elif rtype == "Immunization":
            assert subject in newborn_keys
            at = local_moment(res["occurrenceDateTime"])
            infant.setdefault(subject, []).append(("hepb_vaccine", at))
        elif rtype in ("MedicationStatement", "MedicationAdministration"):
            drug = res["medicationCodeableConcept"]["coding"][0]["code"]
            infection = _TREATMENT[drug]
            if subject in newborn_keys:
                at = local_moment(res["effectiveDateTime"])
                infant.setdefault(subject, []).append((infection, at))
                continue
            if infection == "hbig":
                infection = "hbsag"  # the truth files a woman's HBIG under hepatitis B
            reasons = [c["code"] for r in res.get("reasonCode", []) for c in r["coding"]]
            if "effectivePeriod" in res:
                day = local_day(res["dateAsserted"])
                start = local_day(res["effectivePeriod"]["start"])
                treatment = Treatment(day, infection, start=start, open_ended=True)
            else:
                day = local_day(res["effectiveDateTime"])
                treatment = Treatment(
                    day,
                    infection,
                    needs_indication=drug == "J01DD04",
                    indication=any(r.startswith("A5") for r in reasons),
                )
            items.append((woman, day, "treatment", treatment))

    newborns: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for key, res in live.items():
        if res["resourceType"] == "Patient" and "extension" in res:
            newborns.setdefault(mother["|".join(key)], []).append(("|".join(key), res))
    weights = {
        subject: grams
        for _, _, what, (subject, grams) in ((w, d, k, p) for w, d, k, p in items if k == "weight")
    }
    ends: dict[str, list[date]] = {}
    for woman, day, _, _ in deliveries:
        ends.setdefault(woman, []).append(day)
    for woman, day, what, _ in items:
        if what == "loss":
            ends.setdefault(woman, []).append(day)
    out = []
    women = sorted({w for w, *_ in items} | {w for w, *_ in deliveries})
    for woman in women:
        woman_ends = sorted(ends.get(woman, []))
        pregnancies: dict[int, PregnancyFacts] = {}
        for w, day, what, _ in [*items, *((w, d, "delivery", None) for w, d, _, _ in deliveries)]:
            if w == woman and what != "weight":
                i = _pregnancy_index(woman_ends, day)
                if i not in pregnancies:
                    pregnancies[i] = PregnancyFacts(
                        woman, date.min, None, thalassaemia=woman in thal
                    )
        for w, day, what, payload in items:
            if w != woman or what in ("weight",):
                continue
            f = pregnancies[_pregnancy_index(woman_ends, day)]
            if what == "booking":
                f.bookings.append(day)
            elif what == "visit":
                f.visits.append(payload)
            elif what == "dating":
                f.dating.append(payload)
            elif what == "test":
                f.tests.append(payload)
            elif what == "hb":
                f.haemoglobin.append(payload)
            elif what == "epds":
                f.epds.append(payload)
            elif what == "risk":
                f.risks.append(payload)
            elif what == "dx":
                f.diagnoses.append(payload)
            elif what == "treatment":
                f.treatments.append(payload)
            elif what == "screening":
                f.screenings.append(payload)
            elif what == "cs":
                f.congenital_syphilis.append(payload)
            elif what == "loss":
                f.loss_day = day
            elif what == "near_miss":
                f.near_miss.append(day)
            elif what == "death":
                f.death = MaternalDeath(day, payload, woman in external)
        for w, day, inst, proc in deliveries:
            if w != woman:
                continue
            f = pregnancies[_pregnancy_index(woman_ends, day)]
            enc = live[tuple(proc["encounter"]["reference"].split("|"))]  # type: ignore[index]
            subject = proc["subject"]["reference"]
            counts = next(p for ww, d, k, p in items if ww == woman and d == day and k == "z37")
            performed = proc["performedDateTime"]
            babies = [
                Newborn(
                    date.fromisoformat(b["birthDate"]),
                    weights.get(k),
                    local_day(b["deceasedDateTime"]) if "deceasedDateTime" in b else None,
                    born_at=_birth_time(b, performed),
                    hbig_at=tuple(at for what, at in infant.get(k, []) if what == "hbig"),
                    hepb_vaccine_at=tuple(
                        at for what, at in infant.get(k, []) if what == "hepb_vaccine"
                    ),
                    arv=any(what == "hiv" for what, _ in infant.get(k, [])),
                    penicillin=any(what == "syphilis" for what, _ in infant.get(k, [])),
                )
                for k, b in newborns.get(woman, [])
                if date.fromisoformat(b["birthDate"]) == day
            ]
            f.street = street[subject]
            f.residence = residence[subject]
            f.delivery = Delivery(
                day=day,
                admission=local_day(enc["period"]["start"]),
                discharge=local_day(enc["period"]["end"]) if "end" in enc["period"] else day,
                institution=inst,
                live_births=counts[0],
                stillbirths=counts[1],
                newborns=tuple(babies),
                home=enc["class"]["code"] == "HH",
                caesarean=proc["code"]["coding"][0]["code"] == "11466000",
            )
        for f in pregnancies.values():
            for other in pregnancies.values():
                if other is not f:
                    f.other_tests.extend(other.tests)
                    f.other_diagnoses.extend(other.diagnoses)
                    f.other_treatments.extend(other.treatments)
            if f.delivery is None:
                first = next(k for k in street if mother[k] == woman)
                f.street, f.residence = street[first], residence[first]
            f.lmp = effective_lmp(f) or date.min
            out.append(f)
    return out


def _birth_time(newborn: dict[str, Any], performed: str) -> datetime | None:
    """The patient-birthTime extension, else the delivery Procedure's time of day."""
    for ext in newborn.get("_birthDate", {}).get("extension", []):
        if ext["url"] == "http://hl7.org/fhir/StructureDefinition/patient-birthTime":
            return local_moment(ext["valueDateTime"])
    return local_moment(performed) if "T" in performed else None


def _pregnancy_index(ends: list[date], day: date) -> int:
    return next((n for n, e in enumerate(ends) if day <= e + timedelta(days=100)), len(ends))


def q_value(res: dict[str, Any]) -> Any:
    return res["valueQuantity"]["value"]
