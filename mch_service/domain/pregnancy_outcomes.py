"""The delivery, births and death of an assembled woman: rows summarising what her delivery
records, newborns and death records say (docs/domain.md)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from mch_service.domain.pregnancy_groups import (
    SAME_EVENT_DAYS,
    TERM,
    Assembled,
    PregnancyGroup,
)


def add_delivery(
    out: Assembled,
    pid: str,
    p: PregnancyGroup,
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
    # the birth's Apgar: the 5-minute score, else one whose minute is not said (the 1- and
    # 5-minute scores are both kept in the newborn's observations and shown with their minute)
    apgars: dict[str, list[float]] = defaultdict(list)
    ranked = sorted(
        p.facts.get("newborn_observation", []),
        key=lambda o: {"apgar_5": 0, "apgar": 1}.get(o["kind"], 2),
    )
    for o in ranked:
        if o["kind"] == "birth_weight":
            weights[o["subject"]].append(o["value"])
        elif o["kind"] in ("apgar_5", "apgar"):
            apgars[o["subject"]].append(o["value"])
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


# Cause-of-death concepts (ICD-10 / ICD-MM, WHO 2012) -> the class of the death
# (docs/indicator-rules.md, "Maternal death"). Only accidental and incidental causes exclude;
# a complication of medical or surgical care is a direct obstetric death; a suicide counts and
# waits for the monitoring group's review.
ACCIDENTAL, SELF_HARM, CARE_COMPLICATION, OBSTETRIC = (
    "accidental",
    "self_harm",
    "care_complication",
    "obstetric",
)
CAUSE_CONCEPTS = {
    "accidental_cause": ACCIDENTAL,
    "self_harm": SELF_HARM,
    "care_complication": CARE_COMPLICATION,
    "pregnancy_complication": OBSTETRIC,
}
_PRECEDENCE = (ACCIDENTAL, SELF_HARM, CARE_COMPLICATION, OBSTETRIC)


def cause_class_of(concepts: Iterable[str]) -> str | None:
    """The class of a death from its cause concepts: an accidental cause decides (the death is
    not maternal), then self-harm (pending review), then a care complication, then an O code;
    None when no cause is coded (the death counts)."""
    found = {CAUSE_CONCEPTS[c] for c in concepts if c in CAUSE_CONCEPTS}
    return next((c for c in _PRECEDENCE if c in found), None)


def add_death(
    out: Assembled,
    woman_key: str,
    records: list[dict[str, Any]],
    pregs: list[PregnancyGroup],
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
        and d["concept"] in CAUSE_CONCEPTS
    ]
    cause_class = cause_class_of(d["concept"] for d in causes)
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
    # the cause shown is one of the class that decided (an accident before an O code)
    cause = next(
        (d["code"] for d in causes if CAUSE_CONCEPTS[d["concept"]] == cause_class),
        next((d["code"] for d in causes), None),
    )
    out.deaths.append(
        {
            "woman_key": woman_key,
            "death_date": day,
            "pregnancy_id": pid,
            "institution_id": record["institution_id"],
            "maternal": timing in ("pregnancy", "postpartum") and cause_class != ACCIDENTAL,
            "timing": timing,
            "cause_code": cause,
            "cause_class": cause_class,
        }
    )
