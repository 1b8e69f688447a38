"""Stage 2: one woman's facts from every institution -> her pregnancies, deliveries, births
and death. Pure and deterministic (rows in, rows out), so rebuilding gives the same rows.

Grouping (docs/domain.md): end events (deliveries, losses) anchor pregnancies; dating
(recorded GA, LMP, EDD) gives each its start; facts belong to the pregnancy whose window
[start, end + 56 days] holds their date. Dating with no end event yet is an ongoing pregnancy;
facts outside every window form a pregnancy of their own (dating unknown).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from mch_service.domain import models as m

TERM = 280
WINDOW_BEFORE_END = 310  # the earliest LMP that can belong to a delivery
POSTPARTUM_DAYS = 56  # facts up to delivery + 56 days belong to the pregnancy (42-day check)
SAME_EVENT_DAYS = 2  # delivery records this close together are one delivery


@dataclass
class Assembled:
    woman: dict[str, Any]
    pregnancies: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    births: list[dict[str, Any]] = field(default_factory=list)
    deaths: list[dict[str, Any]] = field(default_factory=list)
    assignments: dict[str, dict[int, str]] = field(default_factory=dict)  # table -> id -> preg
    issues: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Preg:
    start: date | None  # LMP (estimated)
    end: date | None = None
    end_kind: str | None = None
    delivery: list[dict[str, Any]] = field(default_factory=list)  # delivery records
    encounter: dict[str, Any] | None = None
    facts: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    dating_source: str | None = None

    def window(self) -> tuple[date, date]:
        lo = self.start or ((self.end - timedelta(days=TERM)) if self.end else date.min)
        hi = (
            (self.end + timedelta(days=POSTPARTUM_DAYS))
            if self.end
            else (
                (self.start + timedelta(days=TERM + 30 + POSTPARTUM_DAYS))
                if self.start
                else date.max
            )
        )
        return lo, hi


# Facts that say a woman is pregnant: outside every known pregnancy they start one of their own.
# A diagnosis, a treatment or a newborn measurement alone does not (a thalassaemia recorded
# years before is not a pregnancy).
SEEDS_PREGNANCY = frozenset(
    {
        "prenatal_visit",
        "postpartum_visit",
        "lab_result",
        "risk_assessment",
        "dating_observation",
        "care_episode",
        "delivery_record",
    }
)

FACT_DATE = {
    "prenatal_visit": "visit_date",
    "postpartum_visit": "visit_date",
    "lab_result": "test_date",
    "risk_assessment": "assessed_date",
    "treatment": "treated_date",
    "diagnosis": "diagnosed_date",
    "dating_observation": "observed_date",
    "care_episode": "start_date",
    "delivery_record": "event_date",
    "encounter_record": "start_date",
    "newborn_observation": "observed_date",
}


def _implied_lmp(d: dict[str, Any]) -> tuple[int, date] | None:
    """(precedence, LMP) from one dating observation: recorded GA beats LMP beats EDD."""
    if d["kind"] == "gestational_age" and d["ga_days"] is not None and d["observed_date"]:
        return 0, d["observed_date"] - timedelta(days=d["ga_days"])
    if d["kind"] == "lmp" and d["value_date"]:
        return 1, d["value_date"]
    if d["kind"] == "edd" and d["value_date"]:
        return 2, d["value_date"] - timedelta(days=TERM)
    return None


def assemble(
    woman_key: str,
    records: list[dict[str, Any]],
    newborns: list[dict[str, Any]],
    facts: dict[str, list[dict[str, Any]]],
    public_id: Callable[[str], str],
) -> Assembled:
    """``public_id`` turns a pregnancy's internal name into the id it is stored and shown
    under (mch_service.domain.ids)."""
    out = Assembled(
        woman={
            "key": woman_key,
            "street": None,
            "resident_id_valid": False,
            "record_count": len(records),
        }
    )
    if records:
        out.woman["resident_id_valid"] = any(r["resident_id_valid"] for r in records)
        latest = sorted(
            (r for r in records if r["street"]), key=lambda r: (r["received_at"], r["resource_pk"])
        )
        out.woman["street"] = latest[-1]["street"] if latest else None
    encounters = {e["ref"]: e for e in facts.get("encounter_record", [])}
    pregs = _pregnancies(facts, encounters)
    _assign(pregs, facts)
    for p in pregs:
        _finish(out, woman_key, p, records, newborns, encounters, public_id)
    _death(out, woman_key, records, pregs, facts)
    return out


def _delivery_events(
    facts: dict[str, list[dict[str, Any]]], encounters: dict[str, dict[str, Any]]
) -> list[list[dict[str, Any]]]:
    """Delivery records grouped into deliveries: by their encounter, else by date."""
    records = sorted(
        (d for d in facts.get("delivery_record", []) if d["event_date"]),
        key=lambda d: (d["event_date"], d["resource_pk"]),
    )
    groups: list[list[dict[str, Any]]] = []
    for d in records:
        for g in groups:
            same_encounter = d["encounter_ref"] and any(
                x["encounter_ref"] == d["encounter_ref"] for x in g
            )
            close = abs((g[0]["event_date"] - d["event_date"]).days) <= SAME_EVENT_DAYS
            if same_encounter or close:
                g.append(d)
                break
        else:
            groups.append([d])
    # an encounter typed as a delivery, with no procedure or outcome record, is one too
    used = {d["encounter_ref"] for g in groups for d in g}
    for ref, e in sorted(encounters.items()):
        if e["delivery"] and ref not in used and e["start_date"]:
            groups.append(
                [
                    {
                        **e,
                        "kind": "encounter",
                        "event_date": e["start_date"],
                        "mode": None,
                        "encounter_ref": ref,
                        "outcome_code": None,
                        "live": None,
                        "still": None,
                    }
                ]
            )
    groups.sort(key=lambda g: g[0]["event_date"])
    return groups


def _pregnancies(
    facts: dict[str, list[dict[str, Any]]], encounters: dict[str, dict[str, Any]]
) -> list[_Preg]:
    datings = sorted(
        (x for x in (_implied_lmp(d) for d in facts.get("dating_observation", [])) if x),
        key=lambda x: x[1],
    )
    # cluster implied LMPs: one pregnancy's datings agree within a few weeks
    clusters: list[list[tuple[int, date]]] = []
    for item in datings:
        if clusters and (item[1] - clusters[-1][0][1]).days <= 60:
            clusters[-1].append(item)
        else:
            clusters.append([item])
    best = [min(c)[1] for c in clusters]  # by precedence, then earliest
    sources = [("gestational_age", "lmp", "edd")[min(c)[0]] for c in clusters]
    used = [False] * len(clusters)
    pregs: list[_Preg] = []
    ends: list[tuple[date, str, list[dict[str, Any]]]] = [
        (g[0]["event_date"], "delivery", g) for g in _delivery_events(facts, encounters)
    ]
    ends += [
        (d["diagnosed_date"], "loss", [d])
        for d in facts.get("diagnosis", [])
        if d["concept"] == "pregnancy_loss" and d["diagnosed_date"]
    ]
    ends.sort(key=lambda e: (e[0], e[1]))
    for end, kind, group in ends:
        if (
            pregs
            and pregs[-1].end
            and (end - pregs[-1].end).days <= POSTPARTUM_DAYS // 2
            and kind == "loss"
        ):
            continue  # a loss diagnosis recorded again shortly after: same end
        candidates = [
            i
            for i, lmp in enumerate(best)
            if not used[i] and end - timedelta(days=WINDOW_BEFORE_END) <= lmp <= end
        ]
        start = None
        if candidates:
            i = candidates[-1]
            used[i] = True
            start = best[i]
        p = _Preg(start, end, kind, group if kind == "delivery" else [])
        p.dating_source = sources[candidates[-1]] if candidates else None
        pregs.append(p)
    for i, lmp in enumerate(best):
        if not used[i]:
            p = _Preg(lmp)
            p.dating_source = sources[i]
            pregs.append(p)
    pregs.sort(key=lambda p: p.window()[0])
    return pregs


def _assign(pregs: list[_Preg], facts: dict[str, list[dict[str, Any]]]) -> None:
    """Each dated fact to the pregnancy whose window holds it; facts outside every window make
    pregnancies of their own (no dating known), clustered by time."""
    orphans: list[tuple[str, dict[str, Any]]] = []
    for table, rows in facts.items():
        if table == "encounter_record":
            continue
        column = FACT_DATE[table]
        for row in rows:
            day = row[column]
            if day is None:
                continue
            home = _find(pregs, day, table, row)
            if home is not None:
                home.facts[table].append(row)
            elif table in SEEDS_PREGNANCY:
                orphans.append((table, row))
            # else: a diagnosis, treatment or newborn measurement outside every pregnancy
            # stays unassigned (pregnancy_id NULL); it still counts for the woman
    orphans.sort(key=lambda x: x[1][FACT_DATE[x[0]]])
    extra: list[_Preg] = []
    for table, row in orphans:
        day = row[FACT_DATE[table]]
        if not extra or (day - extra[-1].facts["_first"][0]).days > TERM:
            p = _Preg(None)
            p.facts["_first"] = [day]  # type: ignore[list-item]
            extra.append(p)
        extra[-1].facts[table].append(row)
    for p in extra:
        del p.facts["_first"]
        pregs.append(p)


def _find(pregs: list[_Preg], day: date, table: str, row: dict[str, Any]) -> _Preg | None:
    for p in pregs:
        if table == "delivery_record" and any(row is d for d in p.delivery):
            return p
    for p in pregs:
        lo, hi = p.window()
        if lo <= day <= hi:
            return p
    return None


def _pregnancy_id(p: _Preg) -> str:
    """The internal name: deterministic (a rebuild gives the same), never shown."""
    pks = [r["resource_pk"] for rows in p.facts.values() for r in rows]
    pks += [d["resource_pk"] for d in p.delivery]
    return f"P{min(pks)}"


def _finish(
    out: Assembled,
    woman_key: str,
    p: _Preg,
    records: list[dict[str, Any]],
    newborns: list[dict[str, Any]],
    encounters: dict[str, dict[str, Any]],
    public_id: Callable[[str], str],
) -> None:
    if not p.facts and not p.delivery:
        return
    pid = public_id(_pregnancy_id(p))
    for table, rows in p.facts.items():
        for r in rows:
            out.assignments.setdefault(table, {})[r["id"]] = pid
    for d in p.delivery:
        if d.get("kind") != "encounter":
            out.assignments.setdefault("delivery_record", {})[d["id"]] = pid
    institutions = sorted(
        {r["institution_id"] for rows in p.facts.values() for r in rows}
        | {d["institution_id"] for d in p.delivery}
    )
    contacts = [
        (v["visit_date"], v["institution_id"])
        for v in p.facts["prenatal_visit"]
        if p.end is None or v["visit_date"] <= p.end
    ]
    contacts += [
        (e["start_date"], e["institution_id"])
        for e in p.facts["care_episode"]
        if e["start_date"] and (p.end is None or e["start_date"] <= p.end)
    ]
    first = min(contacts) if contacts else None
    edd_obs = sorted(
        d["value_date"]
        for d in p.facts["dating_observation"]
        if d["kind"] == "edd" and d["value_date"]
    )
    preg = {
        "id": pid,
        "woman_key": woman_key,
        "lmp": p.start,
        "edd": edd_obs[0] if edd_obs else (p.start + timedelta(days=TERM) if p.start else None),
        "dating_source": p.dating_source,
        "first_contact_date": first[0] if first else None,
        "first_contact_institution": first[1] if first else None,
        "end_date": p.end,
        "end_kind": p.end_kind,
        "street": None,
        "institutions": " ".join(institutions),
        "excluded": False,
    }
    # a booking after the delivery cannot be: flag it and keep the pregnancy out of the numbers
    late_booking = [
        v
        for v in p.facts["prenatal_visit"]
        if v["initial"] and p.end and p.end_kind == "delivery" and v["visit_date"] > p.end
    ]
    late_booking += [
        e
        for e in p.facts["care_episode"]
        if p.end and p.end_kind == "delivery" and e["start_date"] and e["start_date"] > p.end
    ]
    for v in late_booking:
        preg["excluded"] = True
        out.issues.append(
            {
                "resource_pk": v["resource_pk"],
                "pregnancy_id": pid,
                "institution_id": v["institution_id"],
                "rule": "delivery_before_booking",
                "element": None,
                "message": f"Booking on {v.get('visit_date') or v.get('start_date')} "
                f"is after the delivery on {p.end}; the pregnancy is "
                "kept out of the indicators",
            }
        )
    delivery_institution = None
    if p.end_kind == "delivery" and p.delivery:
        delivery_institution = _delivery(out, pid, p, newborns, encounters)
    street_records = [r for r in records if r["street"]]
    own = [r for r in street_records if r["institution_id"] == delivery_institution]
    pool = own or street_records
    if pool:
        preg["street"] = max(pool, key=lambda r: (r["received_at"], r["resource_pk"]))["street"]
    out.pregnancies.append(preg)


def _delivery(
    out: Assembled,
    pid: str,
    p: _Preg,
    newborns: list[dict[str, Any]],
    encounters: dict[str, dict[str, Any]],
) -> str:
    records = p.delivery
    procedures = [d for d in records if d.get("kind") == "procedure"]
    outcomes = [d for d in records if d.get("kind") == "outcome"]
    enc_refs = [d["encounter_ref"] for d in records if d.get("encounter_ref")]
    encounter = next((encounters[r] for r in enc_refs if r in encounters), None)
    day = (
        procedures[0]["event_date"]
        if procedures
        else encounter["start_date"]
        if encounter and encounter["start_date"]
        else records[0]["event_date"]
    )
    admission = encounter["start_date"] if encounter and encounter["start_date"] else day
    discharge = encounter["end_date"] if encounter and encounter["end_date"] else day
    institution = (procedures or outcomes or records)[0]["institution_id"]
    modes = {d["mode"] for d in procedures if d["mode"]}
    mode = next(
        (x for x in ("caesarean", "instrumental", "vaginal") if x in modes),
        "vaginal" if procedures or outcomes else None,
    )
    babies = sorted(
        (
            n
            for n in newborns
            if n["birth_date"] and abs((n["birth_date"] - day).days) <= SAME_EVENT_DAYS
        ),
        key=lambda n: (n["multiple_birth"] or 1, n["resource_pk"]),
    )
    live = next((o["live"] for o in outcomes if o["live"] is not None), None)
    still = next((o["still"] for o in outcomes if o["still"] is not None), None)
    if live is None:
        live = len(babies)  # Z37.5-Z37.7 or no outcome sent: the newborn records say
        if not outcomes and not babies:
            out.issues.append(
                {
                    "resource_pk": records[0]["resource_pk"],
                    "pregnancy_id": pid,
                    "institution_id": institution,
                    "rule": "delivery_without_outcome",
                    "element": None,
                    "message": "A delivery with no birth outcome (Z37.x) and no "
                    "newborn record: its births are unknown and count 0",
                }
            )
    still = still or 0
    ga = (day - p.start).days if p.start else None
    out.deliveries.append(
        {
            "pregnancy_id": pid,
            "delivery_date": day,
            "admission_date": admission,
            "discharge_date": discharge,
            "institution_id": institution,
            "mode": mode,
            "facility": not (encounter and encounter["home"]),
            "ga_days": ga,
            "live_births": live,
            "stillbirths": still,
        }
    )
    weights: dict[str, list[float]] = defaultdict(list)
    apgars: dict[str, list[float]] = defaultdict(list)
    for o in p.facts.get("newborn_observation", []):
        (weights if o["kind"] == "birth_weight" else apgars)[o["subject"]].append(o["value"])
    for seq in range(live + still):
        baby = babies[seq] if seq < live and seq < len(babies) else None
        ref = baby["ref"] if baby else None
        death_age = (
            (baby["deceased_at"] - baby["birth_date"]).days
            if baby and baby["deceased_at"] and baby["birth_date"]
            else None
        )
        out.births.append(
            {
                "pregnancy_id": pid,
                "seq": seq + 1,
                "live": seq < live,
                "sex": baby["gender"] if baby else None,
                "weight_g": (weights.get(ref) or [None])[0] if ref else None,  # type: ignore[list-item]
                "apgar": (apgars.get(ref) or [None])[0] if ref else None,  # type: ignore[list-item]
                "newborn_ref": ref,
                "neonatal_death_age_days": death_age,
            }
        )
    return institution


def _death(
    out: Assembled,
    woman_key: str,
    records: list[dict[str, Any]],
    pregs: list[_Preg],
    facts: dict[str, list[dict[str, Any]]],
) -> None:
    dead = sorted(
        (r for r in records if r["deceased_at"]), key=lambda r: (r["received_at"], r["resource_pk"])
    )
    if not dead:
        return
    record = dead[-1]
    day = record["deceased_at"]
    causes = [
        d
        for d in facts.get("diagnosis", [])
        if d["diagnosed_date"]
        and abs((d["diagnosed_date"] - day).days) <= 1
        and d["concept"] in ("external_cause", "pregnancy_complication")
    ]
    external = any(d["concept"] == "external_cause" for d in causes)
    timing, pid = "unrelated", None
    for p in out.pregnancies:
        lmp, end = p["lmp"], p["end_date"]
        start = lmp or (end - timedelta(days=TERM) if end else None)
        if start is None or day < start:
            continue
        if end is None or day <= end:
            timing, pid = "pregnancy", p["id"]
            if end is None:
                p["end_date"], p["end_kind"] = day, "death"
        elif day <= end + timedelta(days=42):
            timing, pid = "postpartum", p["id"]
        elif day <= end + timedelta(days=365):
            timing, pid = "late", p["id"]
    cause = next(
        (d["code"] for d in causes if d["concept"] == "external_cause"),
        next((d["code"] for d in causes), None),
    )
    out.deaths.append(
        {
            "woman_key": woman_key,
            "death_date": day,
            "pregnancy_id": pid,
            "institution_id": record["institution_id"],
            "maternal": timing in ("pregnancy", "postpartum") and not external,
            "timing": timing,
            "cause_code": cause,
        }
    )


FACT_TABLES: dict[str, type] = {
    "prenatal_visit": m.PrenatalVisit,
    "postpartum_visit": m.PostpartumVisit,
    "lab_result": m.LabResult,
    "risk_assessment": m.RiskAssessmentFact,
    "treatment": m.Treatment,
    "diagnosis": m.Diagnosis,
    "dating_observation": m.DatingObservation,
    "care_episode": m.CareEpisode,
    "delivery_record": m.DeliveryRecord,
    "encounter_record": m.EncounterRecord,
    "newborn_observation": m.NewbornObservation,
}
