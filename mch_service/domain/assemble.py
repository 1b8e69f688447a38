"""Stage 2: one woman's facts from every institution -> her pregnancies, deliveries, births
and death. Pure and deterministic (rows in, rows out), so rebuilding gives the same rows.

Grouping (docs/domain.md): end events (deliveries, losses) anchor pregnancies; dating
(recorded GA, LMP, EDD) gives each its start; facts belong to the pregnancy whose window
[start, end + 56 days] holds their date. Dating with no end event yet is an ongoing pregnancy;
facts outside every window form a pregnancy of their own (dating unknown).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from mch_service.domain.fact_tables import FACT_DATE, SEEDS_PREGNANCY
from mch_service.domain.pregnancy_groups import (
    POSTPARTUM_DAYS,
    SAME_EVENT_DAYS,
    TERM,
    WINDOW_BEFORE_END,
    Assembled,
    PregnancyGroup,
)
from mch_service.domain.pregnancy_outcomes import add_death, add_delivery
from mch_service.streets import NON_RESIDENT, RESIDENT, UNKNOWN

# A gestational age recorded before 14+0 weeks dates the pregnancy as a first-trimester
# ultrasound does; a later one is checked against the dating, not used for it.
FIRST_TRIMESTER_DAYS = 14 * 7
# A later GA whose implied LMP is further than this from the dating is flagged.
DATING_CONFLICT_DAYS = 14


def _implied_lmp(d: dict[str, Any]) -> date | None:
    """The LMP one dating observation implies."""
    if d["kind"] == "gestational_age" and d["ga_days"] is not None and d["observed_date"]:
        return d["observed_date"] - timedelta(days=d["ga_days"])  # type: ignore[no-any-return]
    if d["kind"] == "lmp" and d["value_date"]:
        return d["value_date"]  # type: ignore[no-any-return]
    if d["kind"] == "edd" and d["value_date"]:
        return d["value_date"] - timedelta(days=TERM)  # type: ignore[no-any-return]
    return None


def _reliability(d: dict[str, Any]) -> int:
    """0: first-trimester GA (ultrasound) or LMP; 1: EDD; 2: a GA recorded later."""
    if d["kind"] == "lmp":
        return 0
    if d["kind"] == "gestational_age":
        return 0 if d["ga_days"] < FIRST_TRIMESTER_DAYS else 2
    return 1


def _best_dating(cluster: list[tuple[date, dict[str, Any]]]) -> tuple[date, str]:
    """The usual clinical rule: the earliest reliable dating (a first-trimester GA, as an
    ultrasound gives, or the LMP) wins, the GA first on the same day; else the earliest EDD;
    else the earliest later GA. Later GAs (e.g. recorded at the delivery admission) never
    override it: they are checked against it (``dating_conflicts``)."""
    lmp, d = min(
        cluster,
        key=lambda x: (
            _reliability(x[1]),
            x[1]["observed_date"] or date.max,
            x[1]["kind"] != "gestational_age",
            x[0],
        ),
    )
    return lmp, str(d["kind"])


def dating_conflicts(
    p: PregnancyGroup, pid: str, datings: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """GA observations far from the pregnancy's dating: flagged, not used."""
    if p.start is None:
        return []
    out = []
    for d in datings:
        if d["kind"] != "gestational_age" or d["ga_days"] is None or not d["observed_date"]:
            continue
        implied = _implied_lmp(d)
        if implied is None or abs((implied - p.start).days) <= DATING_CONFLICT_DAYS:
            continue
        by_dating = (d["observed_date"] - p.start).days
        out.append(
            {
                "resource_pk": d["resource_pk"],
                "pregnancy_id": pid,
                "institution_id": d["institution_id"],
                "rule": "dating_conflict",
                "element": "Observation.valueQuantity",
                "message": f"A gestational age of {d['ga_days'] // 7}+{d['ga_days'] % 7} weeks "
                f"on {d['observed_date']} is {abs(d['ga_days'] - by_dating)} days off the "
                f"pregnancy's dating (LMP {p.start}, {p.dating_source}: "
                f"{by_dating // 7}+{by_dating % 7} weeks that day); the dating is kept. Check "
                "the recorded gestational age or the dates",
            }
        )
    return out


def assemble(
    woman_key: str,
    records: list[dict[str, Any]],
    newborns: list[dict[str, Any]],
    facts: dict[str, list[dict[str, Any]]],
    public_id: Callable[[str], str],
) -> Assembled:
    """``public_id`` turns a pregnancy's internal name into the id it is stored and shown
    under (mch_service.domain.pregnancy_ids)."""
    out = Assembled(
        woman={
            "key": woman_key,
            "street": None,
            "residence": None,
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
        out.woman["residence"] = _residence_record(records, None)["residence"]
    encounters = {e["ref"]: e for e in facts.get("encounter_record", [])}
    pregs = _pregnancies(facts, encounters)
    _assign(pregs, facts)
    for p in pregs:
        _finish(out, woman_key, p, records, newborns, encounters, public_id)
    add_death(out, woman_key, records, pregs, facts)
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
) -> list[PregnancyGroup]:
    implied = [(_implied_lmp(d), d) for d in facts.get("dating_observation", [])]
    datings = sorted(((lmp, d) for lmp, d in implied if lmp is not None), key=lambda x: x[0])
    # cluster implied LMPs: one pregnancy's datings agree within a few weeks
    clusters: list[list[tuple[date, dict[str, Any]]]] = []
    for item in datings:
        if clusters and (item[0] - clusters[-1][0][0]).days <= 60:
            clusters[-1].append(item)
        else:
            clusters.append([item])
    chosen = [_best_dating(c) for c in clusters]
    best = [c[0] for c in chosen]
    sources = [c[1] for c in chosen]
    used = [False] * len(clusters)
    pregs: list[PregnancyGroup] = []
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
        p = PregnancyGroup(start, end, kind, group if kind == "delivery" else [])
        p.dating_source = sources[candidates[-1]] if candidates else None
        pregs.append(p)
    for i, lmp in enumerate(best):
        if not used[i]:
            p = PregnancyGroup(lmp)
            p.dating_source = sources[i]
            pregs.append(p)
    pregs.sort(key=lambda p: p.window()[0])
    return pregs


def _assign(pregs: list[PregnancyGroup], facts: dict[str, list[dict[str, Any]]]) -> None:
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
    extra: list[PregnancyGroup] = []
    for table, row in orphans:
        day = row[FACT_DATE[table]]
        if not extra or (day - extra[-1].facts["_first"][0]).days > TERM:
            p = PregnancyGroup(None)
            p.facts["_first"] = [day]  # type: ignore[list-item]
            extra.append(p)
        extra[-1].facts[table].append(row)
    for p in extra:
        del p.facts["_first"]
        pregs.append(p)


def _find(
    pregs: list[PregnancyGroup], day: date, table: str, row: dict[str, Any]
) -> PregnancyGroup | None:
    for p in pregs:
        if table == "delivery_record" and any(row is d for d in p.delivery):
            return p
    for p in pregs:
        lo, hi = p.window()
        if lo <= day <= hi:
            return p
    return None


def _pregnancy_id(p: PregnancyGroup) -> str:
    """The internal name: deterministic (a rebuild gives the same), never shown."""
    pks = [r["resource_pk"] for rows in p.facts.values() for r in rows]
    pks += [d["resource_pk"] for d in p.delivery]
    return f"P{min(pks)}"


def _finish(
    out: Assembled,
    woman_key: str,
    p: PregnancyGroup,
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
        "residence": None,
        "institutions": " ".join(institutions),
        "excluded": False,
    }
    # A booking after the delivery cannot be: flag it, and drop only the booking record. The
    # indicators never read it (a first contact, a prenatal check and a case-management
    # contact are all dated up to the delivery), so the pregnancy's delivery, births and death
    # still count (docs/indicator-rules.md, "Clinically impossible records").
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
        out.issues.append(
            {
                "resource_pk": v["resource_pk"],
                "pregnancy_id": pid,
                "institution_id": v["institution_id"],
                "rule": "delivery_before_booking",
                "element": None,
                "message": f"Booking on {v.get('visit_date') or v.get('start_date')} "
                f"is after the delivery on {p.end}; the booking is ignored, the "
                "delivery and its births count",
            }
        )
    out.issues += dating_conflicts(p, pid, p.facts["dating_observation"])
    delivery_institution = None
    if p.end_kind == "delivery" and p.delivery:
        delivery_institution = add_delivery(out, pid, p, newborns, encounters)
    street_records = [r for r in records if r["street"]]
    own = [r for r in street_records if r["institution_id"] == delivery_institution]
    pool = own or street_records
    if pool:
        preg["street"] = max(pool, key=lambda r: (r["received_at"], r["resource_pk"]))["street"]
    if records:
        chosen = _residence_record(records, delivery_institution)
        preg["residence"] = chosen["residence"]
        if chosen["residence"] == UNKNOWN:
            out.issues.append(
                {
                    "resource_pk": chosen["resource_pk"],
                    "pregnancy_id": pid,
                    "institution_id": chosen["institution_id"],
                    "rule": "address_unknown",
                    "element": "Patient.address",
                    "message": "No usable current address (现住址: an address-street code or a "
                    "district, city or province) on the woman's Patient records; the "
                    "pregnancy is counted in the address_unknown line, not in the district",
                }
            )
    if records and not pool and preg.get("residence") == RESIDENT:
        # a resident with no street (a non-resident has none of the district's; no usable
        # address at all is address_unknown)
        latest = max(records, key=lambda r: (r["received_at"], r["resource_pk"]))
        out.issues.append(
            {
                "resource_pk": latest["resource_pk"],
                "pregnancy_id": pid,
                "institution_id": latest["institution_id"],
                "rule": "street_missing",
                "element": "Patient.address",
                "message": "No street code (address-street) on the resident's Patient "
                "records: she is in no street's figures, and her work items go to the default "
                "jurisdiction (MCH_DEFAULT_JURISDICTION_STREET)",
            }
        )
    out.pregnancies.append(preg)


def _residence_record(records: list[dict[str, Any]], institution: str | None) -> dict[str, Any]:
    """The Patient record whose residence counts (docs/indicator-rules.md, "Attribution"): of
    the records with a usable address, the delivering institution's, else the most recently
    received; without any, the most recently received (its residence is unknown)."""

    def latest(pool: list[dict[str, Any]]) -> dict[str, Any]:
        return max(pool, key=lambda r: (r["received_at"], r["resource_pk"]))

    known = [r for r in records if r.get("residence") in (RESIDENT, NON_RESIDENT)]
    own = [r for r in known if r["institution_id"] == institution]
    if own or known:
        return latest(own or known)
    return {**latest(records), "residence": UNKNOWN}
