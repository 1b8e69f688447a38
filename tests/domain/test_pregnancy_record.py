"""The pregnancy record through HTTP: assembled across institutions, corrected, rebuilt."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from mch_service.app import Services, build_services
from mch_service.database import Database
from mch_service.domain import models as m
from mch_service.domain.fact_tables import FACT_TABLES
from tests.auth.test_accounts import add_user, bearer, token_for
from tests.conftest import SenderKey, make_sender
from tests.domain.fixtures import (
    RID,
    SNOMED,
    bundle,
    colour,
    delivery,
    entry,
    obs,
    patient,
    result,
    uid,
    visit,
)


def post(http: httpx.Client, sender: SenderKey, b: dict[str, Any]) -> dict[str, Any]:
    r = http.post("/fhir", json=b, headers=sender.headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def care_at_three_institutions(http: httpx.Client, services: Services) -> dict[str, SenderKey]:
    chc, hosp_a, hosp_b = (make_sender(services, i) for i in ("chc-01", "hosp-a", "hosp-b"))
    p = uid()
    post(
        http,
        chc,
        bundle(
            entry(patient("chc-01", "C1"), p),
            entry(
                {
                    "resourceType": "EpisodeOfCare",
                    "status": "active",
                    "patient": {"reference": p},
                    "type": [{"coding": [{"system": SNOMED, "code": "77386006"}]}],
                    "period": {"start": "2025-01-10"},
                }
            ),
            entry(visit(p, "2025-01-10T09:00:00+08:00", first=True)),
            entry(obs(p, "8665-2", "2025-01-10", valueDateTime="2024-11-01")),
            entry(colour(p, "2025-01-10", "yellow")),
        ),
    )
    p = uid()
    post(
        http,
        hosp_a,
        bundle(
            entry(patient("hosp-a", "A1"), p),
            entry(visit(p, "2025-03-01T10:00:00")),
            entry(result(p, "56888-1", "2025-03-01")),
            entry(result(p, "20507-0", "2025-03-01")),
            entry(result(p, "5196-1", "2025-03-01", positive=True)),
            entry(
                obs(
                    p,
                    "718-7",
                    "2025-03-01",
                    valueQuantity={"value": 10.5, "unit": "g/dL", "code": "g/dL"},
                )
            ),
            entry(colour(p, "2025-03-01", "orange")),
        ),
    )
    p = uid()
    post(
        http,
        hosp_b,
        bundle(
            entry(patient("hosp-b", "B1"), p),
            *delivery(p, "2025-08-05", "2025-08-06", "2025-08-09", caesarean=True),
        ),
    )
    return {"chc": chc, "a": hosp_a, "b": hosp_b}


def the_pregnancy(services: Services) -> m.Pregnancy:
    with services.db.reading() as session:
        pregs = list(session.scalars(select(m.Pregnancy)))
    assert len(pregs) == 1, pregs
    return pregs[0]


def test_one_pregnancy_from_three_institutions(http: httpx.Client, services: Services) -> None:
    care_at_three_institutions(http, services)
    p = the_pregnancy(services)
    assert p.lmp.isoformat() == "2024-11-01"  # type: ignore[union-attr]
    assert p.first_contact_date.isoformat() == "2025-01-10"  # type: ignore[union-attr]
    assert p.first_contact_institution == "chc-01"
    assert (p.end_kind, p.end_date.isoformat()) == ("delivery", "2025-08-06")  # type: ignore[union-attr]
    assert p.institutions.split() == ["chc-01", "hosp-a", "hosp-b"]
    assert p.street == "330102001"
    with services.db.reading() as session:
        d = session.get(m.Delivery, p.id)
        labs = session.scalars(select(m.LabResult).where(m.LabResult.pregnancy_id == p.id)).all()
    assert d is not None
    assert (d.mode, d.live_births, d.institution_id, d.ga_days) == ("caesarean", 1, "hosp-b", 278)
    assert (d.admission_date.isoformat(), d.discharge_date.isoformat()) == (
        "2025-08-05",
        "2025-08-09",
    )
    assert sorted((lab.concept, lab.result, lab.value) for lab in labs) == [
        ("haemoglobin", None, 105.0),
        ("hbsag_test", "positive", None),
        ("hiv_test", "negative", None),
        ("syphilis_test", "negative", None),
    ]


def test_pregnancy_api_masks_and_limits_by_jurisdiction(
    http: httpx.Client, services: Services
) -> None:
    care_at_three_institutions(http, services)
    pid = the_pregnancy(services).id
    add_user(services, "mon1", "monitor")
    add_user(services, "rev-in", "reviewer", streets=["330102001"])
    add_user(services, "rev-inst", "reviewer", institutions=["hosp-a"])
    add_user(services, "rev-out", "reviewer", streets=["999999999"])
    monitor = http.get(f"/api/v1/pregnancies/{pid}", headers=bearer(token_for(http, "mon1")))
    assert monitor.status_code == 200
    woman = monitor.json()["woman"]
    assert woman["masked"]
    assert woman["name"] == "王*"
    assert woman["resident_id"] == "110105********002X"
    assert woman["address"] is None
    full = http.get(f"/api/v1/pregnancies/{pid}", headers=bearer(token_for(http, "rev-in")))
    assert full.json()["woman"]["name"] == "王芳"
    assert full.json()["woman"]["resident_id"] == "11010519491231002X"
    by_inst = http.get(f"/api/v1/pregnancies/{pid}", headers=bearer(token_for(http, "rev-inst")))
    assert by_inst.status_code == 200
    outside = http.get(f"/api/v1/pregnancies/{pid}", headers=bearer(token_for(http, "rev-out")))
    missing = http.get("/api/v1/pregnancies/P999999", headers=bearer(token_for(http, "rev-out")))
    assert outside.status_code == missing.status_code == 404
    assert outside.json()["error"]["message"].replace(pid, "X") == (
        missing.json()["error"]["message"].replace("P999999", "X")
    )
    timeline = full.json()["timeline"]
    assert {t["institution"] for t in timeline} == {"chc-01", "hosp-a", "hosp-b"}
    assert all(t["resource"] and "/" in t["resource"] for t in timeline)
    assert [t["date"] for t in timeline] == sorted(t["date"] for t in timeline)
    admin = bearer(token_for(http, "rev-in"))
    events = http.get("/api/v1/audit", headers=admin)
    assert events.status_code == 403  # reviewers do not read the audit log
    add_user(services, "admin1", "admin")
    log = http.get("/api/v1/audit?action=pregnancy.", headers=bearer(token_for(http, "admin1")))
    actions = {(e["actor_id"], e["action"]) for e in log.json()["events"]}
    assert ("rev-in", "pregnancy.view_personal") in actions
    assert ("mon1", "pregnancy.view") in actions


def test_corrections_and_deletions_flow_through(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    p = uid()
    hb = obs(p, "718-7", "2025-03-01", valueQuantity={"value": 95, "unit": "g/L"})
    hb["identifier"] = [{"system": "urn:lab", "value": "HB-1"}]
    out = post(
        http,
        sender,
        bundle(
            entry(patient("hosp-a", "A9"), p),
            entry(obs(p, "8665-2", "2025-01-01", valueDateTime="2024-12-01")),
            entry(hb),
        ),
    )
    hb_ref = out["entry"][2]["response"]["location"].split("/_history")[0]
    patient_ref = out["entry"][0]["response"]["location"].split("/_history")[0]
    corrected = {
        **hb,
        "subject": {"reference": patient_ref},
        "valueQuantity": {"value": 115, "unit": "g/L"},
    }
    # a lab identifier is not a business key (the identifier policy): the correction asks for
    # the record it replaces, by a conditional update
    assert (
        http.put(
            "/fhir/Observation?identifier=urn:lab|HB-1", json=corrected, headers=sender.headers
        ).status_code
        == 200
    )
    with services.db.reading() as session:
        values = session.scalars(select(m.LabResult.value)).all()
    assert values == [115.0]
    assert http.delete(f"/fhir/{hb_ref}", headers=sender.headers).status_code == 204
    with services.db.reading() as session:
        assert session.scalars(select(m.LabResult)).all() == []


def test_impossible_values_are_stored_flagged_and_warned(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    p = uid()
    bad = obs(p, "718-7", "2025-03-01", valueQuantity={"value": 900, "unit": "g/L"})
    r = http.post(
        "/fhir", json=bundle(entry(patient("hosp-a", "A7"), p), entry(bad)), headers=sender.headers
    )
    assert r.status_code == 200
    warned = r.json()["entry"][1]["response"]["outcome"]["issue"][0]
    assert warned["severity"] == "warning"
    assert "900" in warned["diagnostics"]
    single = http.post(
        "/fhir/Observation",
        headers={**sender.headers, "Prefer": "return=OperationOutcome"},
        json={
            **bad,
            "subject": {
                "reference": r.json()["entry"][0]["response"]["location"].split("/_history")[0]
            },
            "effectiveDateTime": "2025-03-02",
        },
    )
    assert single.status_code == 201
    assert single.headers["warning"].startswith("199 mch-service")
    assert single.json()["issue"][0]["severity"] == "warning"
    with services.db.reading() as session:
        assert session.scalars(select(m.LabResult)).all() == []
        rules = session.scalars(select(m.DataQualityIssue.rule)).all()
    assert rules == ["haemoglobin_out_of_range"] * 2


def test_delivery_before_booking_drops_only_the_booking(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    # 《全国妇幼健康统计调查制度》 counts every delivery: the impossible booking (20 July,
    # after the delivery of 1 July) is flagged and ignored, the pregnancy and its delivery stay.
    p = uid()
    post(
        http,
        sender,
        bundle(
            entry(patient("hosp-a", "A8"), p),
            entry(obs(p, "8665-2", "2025-01-01", valueDateTime="2024-10-01")),
            *delivery(p, "2025-07-01", "2025-07-01", "2025-07-03"),
            entry(visit(p, "2025-07-20", first=True)),
        ),
    )
    preg = the_pregnancy(services)
    assert not preg.excluded
    with services.db.reading() as session:
        assert session.scalars(select(m.DataQualityIssue.rule)).all() == ["delivery_before_booking"]
        delivered = session.get(m.Delivery, preg.id)
        assert delivered is not None
        assert delivered.live_births == 1
        # the late booking is no first contact
        assert session.get(m.Pregnancy, preg.id).first_contact_date is None  # type: ignore[union-attr]


def _snapshot(services: Services) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    tables = [
        *FACT_TABLES.values(),
        m.PatientRecord,
        m.Woman,
        m.Pregnancy,
        m.Delivery,
        m.Birth,
        m.Death,
        m.DataQualityIssue,
        m.UnmappedCode,
    ]
    with services.db.reading() as session:
        for table in tables:
            cols = [c for c in table.__table__.columns if c.name not in ("id", "changed_at")]  # type: ignore[attr-defined]
            rows = session.execute(select(*cols)).all()
            # sealed values differ by nonce; compare them opened
            out[table.__tablename__] = sorted(  # type: ignore[attr-defined]
                (tuple("<sealed>" if isinstance(v, bytes) else v for v in r) for r in rows),
                key=repr,
            )
    return out


def test_rebuild_gives_the_same_rows(
    http: httpx.Client, services: Services, tmp_path: Path
) -> None:
    senders = care_at_three_institutions(http, services)
    p = uid()
    post(
        http,
        senders["a"],
        bundle(
            entry(patient("hosp-a", "Z1", rid=None, name="李娜"), p),
            entry(
                obs(
                    p,
                    "11884-4",
                    "2025-02-01",
                    valueQuantity={"value": 10, "unit": "wk", "code": "wk"},
                )
            ),
            entry(obs(p, "LOCAL-1", "2025-02-01")),
            entry(visit(p, "2025-02-01", first=True)),
        ),
    )
    before = _snapshot(services)
    assert before["pregnancy"]
    assert before["unmapped_code"]
    counts = services.domain.rebuild(services.db, services.store)
    assert counts["women"] == 2
    assert _snapshot(services) == before


def test_site_code_table_maps_local_codes_and_procedures(
    http: httpx.Client,
    services: Services,
    sender: SenderKey,
    tmp_path: Path,
    live_server: Any,
) -> None:
    p = uid()
    lis = "http://lis.hosp-c.example.cn/codes"
    proc = "http://his.hosp-c.example.cn/procedures"
    local = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": lis, "code": "HIV-AB", "display": "HIV抗体"}]},
        "subject": {"reference": p},
        "effectiveDateTime": "2025-03-01",
        "valueCodeableConcept": {"coding": [{"system": f"{lis}/results", "code": "POS"}]},
    }
    post(
        http,
        sender,
        bundle(
            entry(patient("hosp-a", "L1"), p),
            entry(local),
            entry(
                {
                    "resourceType": "Procedure",
                    "status": "completed",
                    "code": {"coding": [{"system": SNOMED, "code": "269828009"}]},
                    "subject": {"reference": p},
                    "performedDateTime": "2025-03-02",
                }
            ),
            entry(
                {
                    "resourceType": "Procedure",
                    "status": "completed",
                    "code": {"coding": [{"system": proc, "code": "HBSAG-TEST"}]},
                    "subject": {"reference": p},
                    "performedDateTime": "2025-03-02",
                }
            ),
        ),
    )
    add_user(services, "admin1", "admin")
    admin = bearer(token_for(http, "admin1"))
    report = http.get("/api/v1/unmapped-codes", headers=admin).json()
    assert {(r["system"], r["code"], r["count"]) for r in report} == {
        (lis, "HIV-AB", 1),
        (proc, "HBSAG-TEST", 1),
    }
    with services.db.reading() as session:
        assert session.scalars(select(m.LabResult.concept)).all() == ["syphilis_test"]
    table = tmp_path / "hosp-c.csv"
    table.write_text(
        "concept,system,code,display,value,unit\n"
        f"hiv_test,{lis},HIV-AB,HIV抗体,,\n"
        f"result_value,{lis}/results,POS,阳性,positive,\n"
        f"hbsag_test,{proc},HBSAG-TEST,乙肝表面抗原检测,,\n",
        encoding="utf-8",
    )
    site = services.settings.model_copy(update={"code_tables_dir": str(tmp_path)})
    with_table = build_services(site, Database(site.database_url))
    try:
        with_table.domain.rebuild(with_table.db, with_table.store)
        live_server.point_at(with_table)
        assert http.get("/api/v1/unmapped-codes", headers=admin).json() == []
        with with_table.db.reading() as session:
            labs = sorted(
                session.execute(
                    select(m.LabResult.concept, m.LabResult.result, m.LabResult.source)
                ).all()
            )
        assert labs == [
            ("hbsag_test", None, "procedure"),
            ("hiv_test", "positive", "observation"),
            ("syphilis_test", None, "procedure"),
        ]
    finally:
        with_table.db.dispose()


def test_a_bad_code_table_names_file_line_and_problem(tmp_path: Path) -> None:
    from fhir_mappings import CodeTableError, load_code_tables

    (tmp_path / "site.csv").write_text(
        "concept,system,code\nhiv_test,http://x,A\nhiv_tset,http://x,B\n", encoding="utf-8"
    )
    with pytest.raises(CodeTableError, match=r"site.csv:3: unknown concept 'hiv_tset'"):
        load_code_tables(tmp_path, "http://c")


def test_a_diagnosis_outside_every_pregnancy_starts_none(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    p = uid()
    post(
        http,
        sender,
        bundle(
            entry(patient("hosp-a", "D1"), p),
            entry(
                {
                    "resourceType": "Condition",
                    "subject": {"reference": p},
                    "code": {
                        "coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "D56.1"}]
                    },
                    "recordedDate": "2019-05-01",
                }
            ),
            entry(obs(p, "8665-2", "2025-01-05", valueDateTime="2024-12-01")),
        ),
    )
    with services.db.reading() as session:
        pregs = session.scalars(select(m.Pregnancy)).all()
        dx = session.scalars(select(m.Diagnosis)).one()
    assert len(pregs) == 1  # the 2019 thalassaemia is not a pregnancy of its own
    assert dx.pregnancy_id is None


def test_code_tables_through_the_admin_api(
    http: httpx.Client, services: Services, sender: SenderKey, tmp_path: Path, live_server: Any
) -> None:
    (tmp_path / "site").mkdir()
    site = services.settings.model_copy(update={"code_tables_dir": str(tmp_path / "site")})
    with_dir = build_services(site, Database(site.database_url))
    live_server.point_at(with_dir)
    try:
        add_user(with_dir, "admin1", "admin")
        admin = bearer(token_for(http, "admin1"))
        bad = http.put(
            "/api/v1/code-tables/lis",
            headers={**admin, "Content-Type": "text/csv"},
            content="concept,system,code\nhiv_tset,http://lis,HIV\n",
        )
        assert bad.status_code == 400
        assert "lis.csv:2" in bad.json()["error"]["message"]
        assert not (tmp_path / "site" / "lis.csv").exists()
        good = http.put(
            "/api/v1/code-tables/lis",
            headers={**admin, "Content-Type": "text/csv"},
            content="concept,system,code,display\nhiv_test,http://lis,HIV,HIV抗体\n",
        )
        assert good.status_code == 200, good.text
        codes = http.get("/api/v1/code-tables", headers=admin).json()
        assert {
            "concept": "hiv_test",
            "system": "http://lis",
            "code": "HIV",
            "display": "HIV抗体",
            "value": "",
            "unit": "",
            "source": "lis.csv:2",
        } in codes["codes"]
        p = uid()
        local = {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": "http://lis", "code": "HIV"}]},
            "subject": {"reference": p},
            "effectiveDateTime": "2025-03-01",
        }
        post(http, sender, bundle(entry(patient("hosp-a", "CT1"), p), entry(local)))
        with with_dir.db.reading() as session:
            assert session.scalars(select(m.LabResult.concept)).all() == ["hiv_test"]
        assert http.delete("/api/v1/code-tables/lis", headers=admin).status_code == 204
    finally:
        with_dir.db.dispose()


def test_staff_find_a_pregnancy_by_resident_id_mrn_or_patient_id(
    http: httpx.Client, services: Services
) -> None:
    """POST /api/v1/pregnancies/lookup (issue 15): an exact match through the keyed hashes,
    the identifier in the body, jurisdiction applied, audited without the value."""
    care_at_three_institutions(http, services)
    pid = the_pregnancy(services).id
    add_user(services, "mon1", "monitor")
    add_user(services, "rev-in", "reviewer", streets=["330102001"])
    add_user(services, "rev-out", "reviewer", streets=["999999999"])
    monitor = bearer(token_for(http, "mon1"))

    def find(headers: dict[str, str], **body: str) -> list[str]:
        r = http.post("/api/v1/pregnancies/lookup", json=body, headers=headers)
        assert r.status_code == 200, r.text
        return [m["pregnancy_id"] for m in r.json()["matches"]]

    assert find(monitor, resident_id=RID) == [pid]
    assert find(monitor, resident_id=RID.lower()) == [pid]  # the check character's x
    # as read off a card, in groups: the spaces are not part of the number
    assert find(monitor, resident_id=f" {RID[:6]} {RID[6:14]}\u3000{RID[14:]} ") == [pid]
    # each match says whose it is, masked as in every list
    match = http.post(
        "/api/v1/pregnancies/lookup", json={"resident_id": RID}, headers=monitor
    ).json()["matches"][0]
    assert match["resident_id"] == RID[:6] + "*" * 8 + RID[-4:]
    assert match["name"] == "王*"
    assert find(monitor, resident_id=RID[:-1] + "1") == []  # exact, never near
    assert find(monitor, mrn="C1") == [pid]
    assert find(monitor, mrn="C1", institution="chc-01") == [pid]
    assert find(monitor, mrn="C1", institution="hosp-a") == []
    patient_ids = [
        r["resource"]
        for r in http.get(f"/api/v1/pregnancies/{pid}", headers=monitor).json()["woman"]["records"]
        if r["institution"] == "chc-01"
    ]
    assert find(monitor, patient=patient_ids[0].split("/")[1], institution="chc-01") == [pid]
    assert find(monitor, patient=patient_ids[0], institution="chc-01") == [pid]
    assert find(monitor, patient=patient_ids[0], institution="hosp-b") == []
    # jurisdiction: a reviewer of another street finds nothing, as for no such woman
    assert find(bearer(token_for(http, "rev-in")), resident_id=RID) == [pid]
    assert find(bearer(token_for(http, "rev-out")), resident_id=RID) == []
    # exactly one identifier (a name counts as one); a Patient id needs its institution
    for body in (
        {},
        {"resident_id": RID, "mrn": "C1"},
        {"patient": "x"},
        {"name": "王芳", "mrn": "C1"},
        {"resident_id": RID, "birth_date": "1990-03-07"},
    ):
        r = http.post("/api/v1/pregnancies/lookup", json=body, headers=monitor)
        assert r.status_code in (400, 422), (body, r.text)
    # audited, without the identifier
    add_user(services, "admin1", "admin")
    log = http.get(
        "/api/v1/audit?action=pregnancy.lookup", headers=bearer(token_for(http, "admin1"))
    ).json()["events"]
    assert {(e["actor_id"], e["detail"]) for e in log} >= {
        ("mon1", "by resident_id: 1 found"),
        ("rev-out", "by resident_id: 0 found"),
    }
    assert not any(RID in str(e) or "C1" in str(e["detail"]) for e in log)


def test_dating_follows_the_clinical_rule_and_apgar_keeps_its_minute(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    """Issue 15: LMP 2025-01-06 recorded at booking stays the dating when the delivery
    admission records a GA implying 2025-01-05 (a later GA is checked, not used); one far off
    is flagged. The 1- and 5-minute Apgar scores are both kept, with their minute."""
    p, baby = uid(), uid()
    born = "2025-10-10T08:05:00+08:00"
    # booking on 2025-02-20 (6+3 weeks): LMP 2025-01-06
    entries = [
        entry(patient("hosp-a", "DT1"), p),
        entry(visit(p, "2025-02-20T09:00:00+08:00", first=True)),
        entry(obs(p, "8665-2", "2025-02-20T09:00:00+08:00", valueDateTime="2025-01-06")),
        # at the delivery admission (2025-10-10): 39+5 weeks, implying LMP 2025-01-05
        entry(
            obs(
                p,
                "11884-4",
                "2025-10-10T07:00:00+08:00",
                valueQuantity={
                    "value": 278,
                    "unit": "d",
                    "system": "http://unitsofmeasure.org",
                    "code": "d",
                },
            )
        ),
        # and a third-trimester GA 30 days off the dating
        entry(
            obs(
                p,
                "11884-4",
                "2025-09-01T09:00:00+08:00",
                valueQuantity={
                    "value": 268,
                    "unit": "d",
                    "system": "http://unitsofmeasure.org",
                    "code": "d",
                },
            )
        ),
        *(deliv := delivery(p, "2025-10-10T06:00:00+08:00", born, "2025-10-13T10:00:00+08:00")),
        entry(
            {
                "resourceType": "Patient",
                "gender": "female",
                "birthDate": "2025-10-10",
                "extension": [
                    {
                        "url": "http://mch-service.local/fhir/StructureDefinition/newborn-mother",
                        "valueReference": {"reference": p},
                    }
                ],
            },
            baby,
        ),
    ]
    enc = deliv[0]["fullUrl"]
    entries += [
        entry({**obs(baby, "9272-6", born, valueInteger=7), "encounter": {"reference": enc}}),
        entry({**obs(baby, "9274-2", born, valueInteger=9), "encounter": {"reference": enc}}),
    ]
    r = post(http, sender, bundle(*entries))
    flagged = [
        (i["details"]["coding"][0]["code"], e["response"]["location"].split("/")[0])
        for e in r["entry"]
        for i in (e["response"].get("outcome") or {}).get("issue", [])
    ]
    assert ("dating_conflict", "Observation") in flagged
    preg = the_pregnancy(services)
    assert (str(preg.lmp), preg.dating_source) == ("2025-01-06", "lmp")
    add_user(services, "admin1", "admin")
    record = http.get(
        f"/api/v1/pregnancies/{preg.id}", headers=bearer(token_for(http, "admin1"))
    ).json()
    # 2025-10-10 - 2025-01-06 = 277 days = 39+4
    assert record["delivery"]["ga_days"] == 277
    conflicts = [i for i in record["data_quality"] if i["rule"] == "dating_conflict"]
    # only the GA 30 days off: the admission's one day off is within the margin
    assert len(conflicts) == 1
    assert "38+2 weeks on 2025-09-01" in conflicts[0]["message"]
    [birth] = record["births"]
    assert (birth["apgar_1"], birth["apgar_5"], birth["apgar"]) == (7.0, 9.0, 9.0)
    apgars = sorted(
        (t["type"], t["value"]) for t in record["timeline"] if t["kind"] == "newborn_observation"
    )
    assert apgars == [("apgar_1", 7.0), ("apgar_5", 9.0)]
    # every timeline kind is its fact table's name (a postpartum visit is not a bare "visit")
    assert {t["kind"] for t in record["timeline"]} <= set(FACT_TABLES)


def test_a_failed_resident_id_check_is_found_on_the_pregnancy_record(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    """Issue 15: the check-digit flag is on the woman's Patient; the pregnancy record lists it
    with the record it is about, and the sender sees it in its data-quality view."""
    p = uid()
    bad_id = RID[:-1] + "1"  # the check character of RID is X
    post(
        http,
        sender,
        bundle(
            entry(patient("hosp-a", "CD1", rid=bad_id), p),
            entry(visit(p, "2025-02-20T09:00:00+08:00", first=True)),
            entry(obs(p, "8665-2", "2025-02-20T09:10:00+08:00", valueDateTime="2025-01-06")),
        ),
    )
    preg = the_pregnancy(services)
    add_user(services, "admin1", "admin")
    record = http.get(
        f"/api/v1/pregnancies/{preg.id}", headers=bearer(token_for(http, "admin1"))
    ).json()
    [flag] = [f for f in record["data_quality"] if f["rule"] == "resident_id_check_digit"]
    assert flag["element"] == "Patient.identifier"
    assert flag["resource"].startswith("Patient/")
    own = http.get("/fhir/$data-quality?kind=warnings", headers=sender.headers).json()
    assert [(w["rule"], f"Patient/{w['resource_id']}") for w in own["warnings"]["items"]] == [
        ("resident_id_check_digit", flag["resource"])
    ]
