"""The DuckDB peer (benchmarks/duckdb_peer.py) over hand-written sender files: who counts as
tested for HIV, syphilis and hepatitis B (docs/indicator-rules.md, "Tested for an
infection"): a test dated from the pregnancy start to discharge, or an infection known from
before the pregnancy (a diagnosis, or a confirmed positive result, dated before its start).

Every woman is a district resident who delivered on 2024-10-19 (LMP 2024-01-13, discharged
2024-10-22), so the month 2024-10 has one woman delivered per case below; the expected
numerators are counted from the cases' comments, not from the peer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import duckdb_peer

pytest.importorskip("duckdb")

INST = "hosp-x"
LOINC, SNOMED, ICD10 = (
    "http://loinc.org",
    "http://snomed.info/sct",
    "http://hl7.org/fhir/sid/icd-10",
)
BEFORE = "2023-06-01T09:00:00+08:00"  # before the pregnancy start (2024-01-13)
POSITIVE, NEGATIVE = "10828004", "260385009"


def _lab(code: str, day: str, result: str | None, interpretation: str | None = None) -> Any:
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "effectiveDateTime": day,
    }
    if result:
        obs["valueCodeableConcept"] = {"coding": [{"system": SNOMED, "code": result}]}
    if interpretation:
        obs["interpretation"] = [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                        "code": interpretation,
                    }
                ]
            }
        ]
    return obs


def _dx(code: str, day: str) -> Any:
    return {
        "resourceType": "Condition",
        "code": {"coding": [{"system": ICD10, "code": code}]},
        "recordedDate": day,
    }


# (records, HIV tested, syphilis tested, HBsAg tested)
CASES: list[tuple[list[Any], bool, bool, bool]] = [
    # an HIV infection diagnosed years before the pregnancy: her status is known
    ([_dx("Z21", "2022-09-08T10:00:00+08:00")], True, False, False),
    # no test at all
    ([], False, False, False),
    # a positive confirmatory HIV result (immunoblot) before the pregnancy
    ([_lab("5221-7", BEFORE, POSITIVE)], True, False, False),
    # ... the same, positive by its interpretation only
    ([_lab("5221-7", BEFORE, None, "POS")], True, False, False),
    # a negative confirmatory result before the pregnancy: nothing known, no test in it
    ([_lab("5221-7", BEFORE, NEGATIVE)], False, False, False),
    # a positive HIV screening result before the pregnancy confirms nothing
    ([_lab("56888-1", BEFORE, POSITIVE)], False, False, False),
    # a negative HIV screening result in the pregnancy: tested
    ([_lab("56888-1", "2024-03-01T09:00:00+08:00", NEGATIVE)], True, False, False),
    # an HIV diagnosis after discharge: neither a test nor known before
    ([_dx("B20", "2024-11-30T10:00:00+08:00")], False, False, False),
    # an HIV diagnosis in the pregnancy without a test: not a test, not known before it
    ([_dx("O98.7", "2024-05-01T10:00:00+08:00")], False, False, False),
    # syphilis diagnosed before the pregnancy
    ([_dx("A53.9", "2021-05-05T10:00:00+08:00")], False, True, False),
    # two positive syphilis tests before the pregnancy: confirmation needs them in the window
    ([_lab("63464-2", BEFORE, POSITIVE), _lab("20507-0", BEFORE, POSITIVE)], False, False, False),
    # chronic hepatitis B diagnosed before the pregnancy
    ([_dx("B18.1", "2020-01-01T10:00:00+08:00")], False, False, True),
    # a positive HBsAg before the pregnancy
    ([_lab("5196-1", BEFORE, POSITIVE)], False, False, True),
    # a negative HBsAg before the pregnancy
    ([_lab("5196-1", BEFORE, NEGATIVE)], False, False, False),
]


def _woman(n: int, records: list[Any]) -> list[Any]:
    pid = f"{INST}-pat-{n}"
    ref = {"reference": f"Patient/{pid}"}

    def keyed(kind: str, res: Any, i: int) -> Any:
        rid = f"{INST}-{kind}-{n}-{i}"
        return {
            **res,
            "id": rid,
            "identifier": [{"system": f"http://{INST}.example.cn/id/{kind}", "value": rid}],
            "subject": ref,
        }

    patient = {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [
            {"system": f"http://{INST}.example.cn/mrn", "value": f"MRN{n}"},
            {"system": "urn:oid:2.16.156.10011.1.3", "value": f"4401151990010{n:05d}"},
        ],
        "address": [{"district": "南沙区"}],
    }
    lmp = {
        "resourceType": "Observation",
        "code": {"coding": [{"system": LOINC, "code": "8665-2"}]},
        "effectiveDateTime": "2024-03-01T09:00:00+08:00",
        "valueDateTime": "2024-01-13",
    }
    delivery = {
        "resourceType": "Encounter",
        "class": {"code": "IMP"},
        "type": [{"coding": [{"system": SNOMED, "code": "236973005"}]}],
        "period": {"start": "2024-10-18T20:00:00+08:00", "end": "2024-10-22T10:00:00+08:00"},
    }
    birth = {
        "resourceType": "Procedure",
        "code": {"coding": [{"system": SNOMED, "code": "700000006"}]},
        "performedDateTime": "2024-10-19T03:00:00+08:00",
    }
    outcome = _dx("Z37.0", "2024-10-19T03:30:00+08:00")
    rest = [lmp, delivery, birth, outcome, *records]
    return [patient] + [keyed(r["resourceType"].lower(), r, i) for i, r in enumerate(rest)]


@pytest.fixture
def sim(tmp_path: Path) -> Path:
    folder = tmp_path / "sim" / INST
    (folder / "bundles").mkdir(parents=True)
    lines = [res for n, (records, *_flags) in enumerate(CASES) for res in _woman(n, records)]
    (folder / "history.ndjson").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines), encoding="utf-8"
    )
    empty = {"resourceType": "Bundle", "type": "transaction", "entry": []}
    (folder / "bundles" / "1.json").write_text(json.dumps(empty), encoding="utf-8")
    return tmp_path / "sim"


def test_tested_counts_a_test_in_the_window_or_an_infection_known_before(sim: Path) -> None:
    results = duckdb_peer.run_peer(sim, threads=1)["results"]
    women = len(CASES)
    for column, indicator in enumerate(("hiv_test_rate", "syphilis_test_rate", "hbsag_test_rate")):
        expected = sum(1 for case in CASES if case[1 + column])
        assert results[(indicator, "2024-10")] == (expected, women), indicator
    # the hand counts: HIV 4 (Z21 before, confirmatory positive twice, a screen in the window),
    # syphilis 1 (diagnosis before), HBsAg 2 (diagnosis before, positive HBsAg before)
    assert [results[(i, "2024-10")][0] for i in ("hiv_test_rate", "syphilis_test_rate")] == [4, 1]
    assert results[("hbsag_test_rate", "2024-10")][0] == 2


def test_the_export_path_counts_the_same(tmp_path: Path) -> None:
    """The same records as a bulk export's NDJSON (the sender in meta.tag): the same figures."""
    tag = {"system": "http://mch-service.local/fhir/CodeSystem/sender", "code": INST}
    lines = [
        {**res, "meta": {"tag": [tag]}}
        for n, (records, *_flags) in enumerate(CASES)
        for res in _woman(n, records)
    ]
    (tmp_path / "all.ndjson").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines), encoding="utf-8"
    )
    results = duckdb_peer.run_on_export(tmp_path, threads=1)
    assert results[("hiv_test_rate", "2024-10")] == (4, len(CASES))
    assert results[("syphilis_test_rate", "2024-10")] == (1, len(CASES))
    assert results[("hbsag_test_rate", "2024-10")] == (2, len(CASES))
