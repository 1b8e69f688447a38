"""A small simulated district end to end: deterministic, valid FHIR, the promised layout, and
files whose final content agrees with truth.json."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sim_replay import Replay, facts_from_records, figures, local_day, replay

from mch_service.fhir_api.validation import validate_resource
from mch_service.simulator import SimulationParams, simulate
from mch_service.simulator.district import is_valid_resident_id
from mch_service.simulator.emit import _stamp_local, _stamp_offset, _stamp_utc
from mch_service.simulator.truth import INDICATORS, compute_truth

# Small but messy: every kind of mess occurs in a few dozen pregnancies.
MESSY = {
    "pregnancies": 60,
    "seed": 11,
    "start": date(2024, 1, 1),
    "end": date(2025, 6, 30),
    "late_share": 0.2,
    "duplicate_share": 0.1,
    "correction_share": 0.3,
    "deletion_share": 0.5,
    "invalid_share": 0.4,
    "utc_time_share": 0.3,
    "evening_time_share": 0.3,
    "bad_resident_id_share": 0.1,
    "no_street_share": 0.1,
    "second_pregnancy_share": 0.3,
    "maternal_death_share": 0.05,
    "lost_to_follow_up_share": 0.2,
    "syphilis_prevalence": 0.1,
    "syphilis_treatment_share": 0.5,
    "as_of": (date(2025, 3, 31), date(2025, 6, 30)),
}


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("messy")
    simulate(SimulationParams(**MESSY), out)  # type: ignore[arg-type]
    return out


@pytest.fixture(scope="module")
def replayed(messy: Path) -> Replay:
    return replay(messy)


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _truth(folder: Path) -> dict[str, Any]:
    truth: dict[str, Any] = orjson.loads((folder / "truth.json").read_bytes())
    return truth


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    params = SimulationParams(pregnancies=30, seed=7)
    simulate(params, tmp_path / "a")
    simulate(params, tmp_path / "b")
    simulate(params.replace(seed=8), tmp_path / "c")
    a, b, c = (_digest(tmp_path / n) for n in "abc")
    assert a == b
    assert len(a) > 20
    assert a["truth.json"] != c["truth.json"]
    assert a["manifest.json"] != c["manifest.json"]


def test_writing_again_into_the_same_folder_leaves_nothing_stale(tmp_path: Path) -> None:
    simulate(SimulationParams(pregnancies=40, seed=3), tmp_path)
    first = _digest(tmp_path)
    simulate(SimulationParams(pregnancies=10, seed=3), tmp_path)
    second = _digest(tmp_path)
    assert len(second) < len(first)
    manifest = orjson.loads((tmp_path / "manifest.json").read_bytes())
    listed = {n for i in manifest["institutions"] for n in i["bundles"]}
    on_disk = {str(p.relative_to(tmp_path)) for p in tmp_path.glob("*/bundles/*.json")}
    assert listed == on_disk
    assert not (tmp_path / ".spool").exists()


def test_layout(messy: Path) -> None:
    institutions = orjson.loads((messy / "institutions.json").read_bytes())
    ids = [i["id"] for i in institutions]
    assert ids[:4] == ["hosp-a", "hosp-b", "hosp-c", "mch-hosp"]
    assert [i for i in ids if i.startswith("chc-")] == [f"chc-0{n}" for n in range(1, 10)]
    streets = orjson.loads((messy / "streets.json").read_bytes())
    codes = {s["code"] for s in streets}
    # Nansha's nine streets and towns: the district code 440115 and three digits
    assert len(codes) == 9
    assert all(len(c) == 9 and c.isdigit() and c.startswith("440115") for c in codes)
    for inst in institutions:
        if inst["kind"] == "chc":
            assert inst["street"] in codes
    table = (messy / "hosp-c" / "code-table.csv").read_text(encoding="utf-8").splitlines()
    assert table[0] == "concept,system,code,display,value,unit"
    assert {row.split(",")[0] for row in table[1:]} == {
        "hiv_test",
        "syphilis_test",
        "hbsag_test",
        "haemoglobin",
        "result_value",
    }
    params = orjson.loads((messy / "params.json").read_bytes())
    assert SimulationParams.from_dict(params) == SimulationParams(**MESSY)  # type: ignore[arg-type]


def test_history_ids_are_unique_prefixed_and_references_literal(messy: Path) -> None:
    manifest = orjson.loads((messy / "manifest.json").read_bytes())
    cutover = datetime.fromisoformat(manifest["cutover"])
    seen: set[str] = set()
    for inst in manifest["institutions"]:
        if not inst["history"]:
            continue
        lines = (messy / inst["history"]).read_bytes().splitlines()
        assert len(lines) == inst["history_lines"] > 0
        ids = []
        for line in lines:
            res = orjson.loads(line)
            assert res["id"].startswith(inst["id"] + "-")
            ids.append((res["resourceType"], res["id"]))
            for ref in _references(res):
                assert "/" in ref
                assert "?" not in ref
                assert not ref.startswith("urn:")
        # An id appears twice only as a later version of the same record.
        seen |= {f"{t}/{i}" for t, i in ids}
    assert len(seen) > 100
    assert cutover.date() == date(2024, 5, 16)  # a quarter into the 18-month span


def test_bundles_use_uuids_inside_and_conditional_references_outside(messy: Path) -> None:
    manifest = orjson.loads((messy / "manifest.json").read_bytes())
    kinds: Counter[str] = Counter()
    for inst in manifest["institutions"]:
        for name in inst["bundles"]:
            bundle = orjson.loads((messy / name).read_bytes())
            assert bundle["type"] == ("batch" if name in inst["batch_bundles"] else "transaction")
            full_urls = {e["fullUrl"] for e in bundle["entry"] if "fullUrl" in e}
            assert len(bundle["entry"]) <= 100
            for e in bundle["entry"]:
                kinds[e["request"]["method"] + ("?" if "?" in e["request"]["url"] else "")] += 1
                if name in inst["batch_bundles"]:
                    continue  # deliberately invalid, references included
                for ref in _references(e.get("resource", {})):
                    if ref.startswith("urn:uuid:"):
                        assert ref in full_urls
                    elif "?" in ref:
                        assert "?identifier=" in ref
                        assert "|" in ref
                        kinds["conditional reference"] += 1
                    else:
                        kinds["literal reference"] += 1
    # Creations, corrections of backfilled (PUT id) and of bundle records (PUT ?identifier),
    # deletions of both kinds.
    assert {"POST", "PUT", "PUT?", "DELETE", "DELETE?", "conditional reference"} <= set(kinds)
    assert kinds["literal reference"] == 0


def test_every_resource_is_valid_r4_and_every_invalid_one_is_not(messy: Path) -> None:
    manifest = orjson.loads((messy / "manifest.json").read_bytes())
    checked = invalid = 0
    for inst in manifest["institutions"]:
        if inst["history"]:
            for line in (messy / inst["history"]).read_bytes().splitlines():
                assert validate_resource(orjson.loads(line)) == []
                checked += 1
        for name in inst["bundles"]:
            bundle = orjson.loads((messy / name).read_bytes())
            if name in inst["batch_bundles"]:
                assert len(bundle["entry"]) == inst["batch_bundles"][name]
                for e in bundle["entry"]:
                    assert validate_resource(e["resource"]) != []
                    invalid += 1
                continue
            assert validate_resource(bundle) == []  # the envelope and its urn:uuid references
            for e in bundle["entry"]:
                if "resource" in e:
                    assert validate_resource(e["resource"]) == [], e["resource"]
                    checked += 1
    assert checked > 1000
    assert invalid == sum(i["expected_rejections"] for i in manifest["institutions"]) > 5


def test_identity_cases(messy: Path, replayed: Replay) -> None:
    mothers: dict[str, set[str]] = {}
    for (inst, rtype, _), res in replayed.live():
        if rtype != "Patient":
            continue
        for ident in res["identifier"]:
            if ident["system"] == "urn:oid:2.16.156.10011.1.3":
                assert len(ident["value"]) == 18
                assert ident["value"][6:14] == res["birthDate"].replace("-", "")
                mothers.setdefault(ident["value"], set()).add(inst)
    bad = {rid: insts for rid, insts in mothers.items() if not is_valid_resident_id(rid)}
    assert bad, "the messy run has women with a bad check digit"
    # All the care of a woman with a bad resident ID is at one institution.
    assert all(len(insts) == 1 for insts in bad.values())
    assert any(len(insts) > 1 for rid, insts in mothers.items() if rid not in bad)


def test_mess_leaves_only_the_true_records(messy: Path, replayed: Replay) -> None:
    assert replayed.deleted > 5
    assert replayed.rejected > 5
    # Records sent in error were all deleted; invalid ones were never stored.
    assert not [k for k, _ in replayed.live() if "-x-" in k[2]]
    assert [k for k, v in replayed.records.items() if v is None and "-x-" not in k[2]] == []


def test_final_records_agree_with_the_truth(messy: Path, replayed: Replay) -> None:
    truth = _truth(messy)
    f = figures(replayed)
    table = {
        (r["id"], r["period"], r["area"], r["institution"]): (r["numerator"], r["denominator"])
        for r in truth["indicators"]
    }
    months = sorted(
        {r["period"] for r in truth["indicators"] if re.fullmatch(r"\d{4}-\d{2}", r["period"])}
    )
    streets = [s["code"] for s in orjson.loads((messy / "streets.json").read_bytes())]
    insts = [i["id"] for i in orjson.loads((messy / "institutions.json").read_bytes())]
    assert sum(f.deliveries[m] for m in months) > 20
    for m in months:
        assert table[("postpartum_42d_check_rate", m, "district", "all")][1] == f.deliveries[m]
        assert table[("early_registration_rate", m, "district", "all")][1] == f.live_births[m]
        assert table[("caesarean_rate", m, "district", "all")][0] == f.caesarean_live[m]
        assert table[("low_birth_weight_rate", m, "district", "all")][0] == f.low_weight[m]
        assert table[("maternal_mortality_ratio", m, "district", "all")][0] == f.deaths[m]
        assert table[("postpartum_visit_rate", m, "district", "all")][0] == f.postpartum_28[m]
        assert table[("prenatal_5plus_rate", m, "district", "all")][0] == f.checks_5[m]
        for s in streets:
            assert table[("hiv_test_rate", m, s, "all")][1] == f.street_deliveries[(m, s)]
        for i in insts:
            assert table[("hiv_test_rate", m, "district", i)][1] == f.institution_deliveries[(m, i)]
    assert sum(f.low_weight.values()) > 0
    assert sum(f.caesarean_live.values()) > 0
    assert sum(f.postpartum_28.values()) > 10
    assert sum(f.checks_5.values()) > 10


def test_the_final_records_say_exactly_what_the_truth_says(messy: Path, replayed: Replay) -> None:
    """Pregnancies rebuilt from the final FHIR records alone give truth.json, every indicator
    and every work list: the files and the truth tell the same story."""
    truth = _truth(messy)
    params = SimulationParams(**MESSY)  # type: ignore[arg-type]
    streets = [s["code"] for s in orjson.loads((messy / "streets.json").read_bytes())]
    insts = [i["id"] for i in orjson.loads((messy / "institutions.json").read_bytes())]
    rebuilt = compute_truth(
        facts_from_records(replayed),
        params.start,
        params.end,
        params.truth,
        params.as_of_days,
        insts,
        streets,
    )
    assert rebuilt["indicators"] == truth["indicators"]

    def members(lists: list[dict[str, Any]]) -> list[Any]:
        return [
            (w["as_of"], name, m["resident_id"], m["since"])
            for w in lists
            for name, ms in w["lists"].items()
            for m in ms
        ]

    assert members(rebuilt["work_lists"]) == members(truth["work_lists"])


def test_mess_and_time_formats_do_not_change_the_truth(messy: Path, tmp_path: Path) -> None:
    clean = dict(MESSY)
    clean.update(
        late_share=0.0,
        duplicate_share=0.0,
        correction_share=0.0,
        deletion_share=0.0,
        invalid_share=0.0,
        utc_time_share=0.0,
        no_offset_time_share=1.0,
        history_share=0.6,
        events_per_bundle=1,
    )
    simulate(SimulationParams(**clean), tmp_path)  # type: ignore[arg-type]
    messy_truth, clean_truth = _truth(messy), _truth(tmp_path)
    assert messy_truth["indicators"] == clean_truth["indicators"]

    def on_time(work_lists: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # report_late is about when records are sent, which this run changes on purpose
        return [
            {**w, "lists": {k: v for k, v in w["lists"].items() if k != "report_late"}}
            for w in work_lists
        ]

    assert on_time(messy_truth["work_lists"]) == on_time(clean_truth["work_lists"])
    assert messy_truth["params"] != clean_truth["params"]
    # Local times without an offset: the day written is the Shanghai day.
    line = next(iter((tmp_path / "hosp-a" / "history.ndjson").read_bytes().splitlines()[1:]))
    assert "+08:00" not in line.decode()
    assert 'Z"' not in line.decode()


def test_truth_has_every_indicator_period_and_combination(messy: Path) -> None:
    truth = _truth(messy)
    assert set(truth) == {"seed", "params", "settings", "indicators", "work_lists"}
    assert truth["settings"]["caesarean_basis"] == "births"
    assert truth["settings"]["case_managed_colours"] == ["orange", "red", "purple"]
    assert truth["settings"]["anaemia_denominator_excludes_thalassaemia"] is True
    assert truth["settings"]["syphilis_adequate_days"] == 30
    periods = {r["period"] for r in truth["indicators"]}
    months = {f"2024-{m:02d}" for m in range(1, 13)} | {f"2025-{m:02d}" for m in range(1, 7)}
    assert periods == {"2024", "2025", "SY2024", "SY2025"} | {f"2024-Q{q}" for q in range(1, 5)} | {
        "2025-Q1",
        "2025-Q2",
    } | months | {f"{m}-R12" for m in months}
    assert {r["id"] for r in truth["indicators"]} == set(INDICATORS)
    assert "report_late" not in {r["id"] for r in truth["indicators"]}
    combos = {(r["area"], r["institution"]) for r in truth["indicators"]}
    # district, non_resident, address_unknown; 9 streets; 13 institutions
    assert len(combos) == 3 + 9 + 13
    assert len(truth["indicators"]) == len(INDICATORS) * len(periods) * len(combos)
    assert [w["as_of"] for w in truth["work_lists"]] == ["2025-03-31", "2025-06-30"]
    names = {
        "follow_up_due",
        "report_late",
        "outcome_unknown",
        "positive_untreated",
        "missing_tests",
        "postpartum_visit_due",
        "closed_out",
    }
    assert all(set(w["lists"]) == names for w in truth["work_lists"])
    members = [m for w in truth["work_lists"] for ms in w["lists"].values() for m in ms]
    assert all(set(m) == {"resident_id", "lmp", "since"} for m in members)
    on = {name for w in truth["work_lists"] for name, ms in w["lists"].items() if ms}
    assert {"outcome_unknown", "positive_untreated"} <= on


def test_times_are_written_as_the_same_shanghai_moment() -> None:
    # A delivery at 23:30 on 31 March, local: the same day in every form.
    moment = datetime(2025, 3, 31, 23, 30)
    assert _stamp_offset(moment) == "2025-03-31T23:30:00+08:00"
    assert _stamp_utc(moment) == "2025-03-31T15:30:00Z"
    assert _stamp_local(moment) == "2025-03-31T23:30:00"
    # Half past midnight on 1 April is still 31 March in UTC: the engine must convert.
    early = datetime(2025, 4, 1, 0, 30)
    assert _stamp_utc(early) == "2025-03-31T16:30:00Z"
    for stamp in (_stamp_offset, _stamp_utc, _stamp_local):
        assert local_day(stamp(moment)) == date(2025, 3, 31)
        assert local_day(stamp(early)) == date(2025, 4, 1)


def _references(node: Any) -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "reference" and isinstance(v, str):
                out.append(v)
            else:
                out.extend(_references(v))
    elif isinstance(node, list):
        for v in node:
            out.extend(_references(v))
    return out
