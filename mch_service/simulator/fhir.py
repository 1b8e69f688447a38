"""Records as FHIR R4 resources, with the codes of the interface contract
(/work/shared/INTERFACE.md, docs/code-tables.md).

``render`` builds one resource from a record version; how references and times are written
(literal, ``urn:uuid``, conditional; ``+08:00``, ``Z``, no offset) is the caller's choice,
because it depends on how the record is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from mch_service.simulator import district
from mch_service.simulator.records import Record, Woman

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ATC = "http://www.whocc.no/atc"
UCUM = "http://unitsofmeasure.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
ID_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
RISK_COLOUR = "http://mch-service.local/fhir/CodeSystem/pregnancy-risk-colour"
NEWBORN_MOTHER = "http://mch-service.local/fhir/StructureDefinition/newborn-mother"
BIRTH_TIME = "http://hl7.org/fhir/StructureDefinition/patient-birthTime"
CVX = "http://hl7.org/fhir/sid/cvx"
SCREENING = "http://mch-service.local/fhir/CodeSystem/mch-screening"


def local_lab_system(inst: str) -> str:
    """The local-code institution's laboratory code system (docs/code-tables.md example)."""
    return f"http://lis.{inst}.example.cn/codes"


def local_result_system(inst: str) -> str:
    return f"http://lis.{inst}.example.cn/results"


_LAB_LOINC = {
    "hiv": ("56888-1", "HIV 1+2 Ab + HIV1 p24 Ag [Presence] in Serum or Plasma", "HIV抗体检测"),
    "hiv_confirmatory": (
        "5221-7",
        "HIV 1 Ab [Presence] in Serum by Immunoblot",
        "HIV抗体确证试验",
    ),
    "syphilis": ("20507-0", "Reagin Ab [Presence] in Serum by RPR", "梅毒RPR"),
    "syphilis_tp": (
        "63464-2",
        "Treponema pallidum Ab [Presence] in Serum or Plasma by Immunoassay",
        "梅毒螺旋体抗体（化学发光）",
    ),
    "syphilis_tppa": (
        "24312-1",
        "Treponema pallidum Ab [Presence] in Serum by Agglutination",
        "梅毒TPPA",
    ),
    "hbsag": (
        "5196-1",
        "Hepatitis B virus surface Ag [Presence] in Serum or Plasma",
        "乙肝表面抗原",
    ),
}
_LAB_LOCAL = {
    "hiv": ("HIV-AB", "HIV抗体筛查"),
    "hiv_confirmatory": ("HIV-WB", "HIV抗体确证"),
    "syphilis": ("TP-TRUST", "梅毒TRUST"),
    "syphilis_tp": ("TP-PA", "梅毒TPPA"),
    "hbsag": ("HBSAG", "乙肝表面抗原"),
}
_TEST_DONE = {
    "hiv": ("31676001", "Human immunodeficiency virus antigen test", "HIV检测"),
    "syphilis": ("269828009", "Syphilis test", "梅毒检测"),
    "hbsag": ("47758006", "Hepatitis B surface antigen measurement", "乙肝表面抗原检测"),
}
_RESULT = {
    "positive": ("10828004", "Positive", "阳性"),
    "negative": ("260385009", "Negative", "阴性"),
}
# The 42-day check is a postnatal visit (169762003) too, sent by the hospital or the CHC.
_VISIT = {
    "prenatal_initial_visit": ("424441002", "Prenatal initial visit", "初次产前检查"),
    "prenatal_visit": ("424619006", "Prenatal visit", "产前检查"),
    "postpartum_visit": ("169762003", "Postnatal visit", "产后访视"),
}
_CLASS = {
    "AMB": "ambulatory",
    "HH": "home health",
    "IMP": "inpatient encounter",
}
_MODE = {
    "vaginal": ("700000006", "Vaginal delivery of fetus", "阴道分娩"),
    "caesarean": ("11466000", "Cesarean section", "剖宫产"),
    "forceps": ("302383004", "Forceps delivery", "产钳助产"),
    "vacuum": ("61586001", "Delivery by vacuum extraction", "胎头吸引助产"),
}
_TREATMENT = {
    "hiv": ("J05AR", "antivirals for treatment of HIV infections, combinations", "抗病毒治疗"),
    "syphilis": ("J01CE08", "benzathine benzylpenicillin", "苄星青霉素"),
    "ceftriaxone_syphilis": ("J01DD04", "ceftriaxone", "头孢曲松"),
    "ceftriaxone": ("J01DD04", "ceftriaxone", "头孢曲松"),
    "entecavir": ("J05AF10", "entecavir", "恩替卡韦"),
    "hbig": ("J06BB04", "hepatitis B immunoglobulin", "乙肝免疫球蛋白"),
    "hiv_infant": ("J05AF01", "zidovudine", "齐多夫定（婴儿预防）"),
}
_PRENATAL_SCREENING = {
    "prenatal-serum-screening": "产前血清学筛查",
    "nipt": "孕妇外周血胎儿游离DNA产前筛查",
}
_COLOUR_ZH = {"green": "绿色", "yellow": "黄色", "orange": "橙色", "red": "红色", "purple": "紫色"}

Ref = Callable[[Record], str]
Stamp = Callable[[datetime], str]


def identifier(rec: Record) -> dict[str, str]:
    return {"system": district.record_system(rec.inst, rec.resource_type), "value": rec.rid}


def identity(rec: Record) -> tuple[str, str]:
    """The business identifier by which this record is matched (and referred to)."""
    if rec.kind == "patient":
        woman: Woman = rec.data["woman"]
        return district.mrn_system(rec.inst), woman.mrns[rec.inst]
    if rec.kind == "newborn":
        return district.mrn_system(rec.inst), rec.data["mrn"]
    ident = identifier(rec)
    return ident["system"], ident["value"]


def conditional(rec: Record) -> str:
    system, value = identity(rec)
    return f"{rec.resource_type}?identifier={system}|{value}"


def _cc(system: str, code: str, display: str, text: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"coding": [{"system": system, "code": code, "display": display}]}
    if text:
        out["text"] = text
    return out


def _category(code: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": OBS_CATEGORY, "code": code}]}]


def _provider(inst: str) -> dict[str, Any]:
    return {
        "identifier": {"system": district.INSTITUTION_SYSTEM, "value": inst},
        "display": district.INSTITUTION_BY_ID[inst].name,
    }


def _day(value: date) -> str:
    return value.isoformat()


class Renderer:
    """Builds resources; knows the institutions' habits (local codes, g/dL, Procedures)."""

    def __init__(self, local_code_inst: str, g_dl_inst: str) -> None:
        self.local_code_inst = local_code_inst
        self.g_dl_inst = g_dl_inst

    def render(
        self, rec: Record, data: dict[str, Any], at: datetime, ref: Ref, ts: Stamp
    ) -> dict[str, Any]:
        method: Callable[..., dict[str, Any]] = getattr(self, "_" + _BUILDERS[rec.kind])
        return method(rec, data, at, ref, ts)

    # -- people ---------------------------------------------------------------------------

    def _patient(
        self, rec: Record, data: dict[str, Any], at: datetime, ref: Ref, ts: Stamp
    ) -> dict[str, Any]:
        w: Woman = data["woman"]
        res: dict[str, Any] = {
            "resourceType": "Patient",
            "identifier": [
                {
                    "use": "official",
                    "type": _cc(
                        "http://terminology.hl7.org/CodeSystem/v2-0203",
                        "NI",
                        "National unique individual identifier",
                    ),
                    "system": district.RESIDENT_ID_SYSTEM,
                    "value": w.resident_id,
                },
                {
                    "use": "usual",
                    "type": _cc(ID_TYPE, "MR", "Medical record number"),
                    "system": district.mrn_system(rec.inst),
                    "value": w.mrns[rec.inst],
                },
            ],
            "name": [{"use": "official", "text": w.name, "family": w.family, "given": [w.given]}],
            "telecom": [{"system": "phone", "value": w.phone, "use": "mobile"}],
            "gender": "female",
            "birthDate": _day(w.birth_date),
            "address": [w.address],
        }
        if data.get("deceased"):
            res["deceasedDateTime"] = ts(data["deceased"])
        return res

    def _newborn(
        self, rec: Record, data: dict[str, Any], at: datetime, ref: Ref, ts: Stamp
    ) -> dict[str, Any]:
        w: Woman = data["woman"]
        suffix = {None: "", 1: "大", 2: "小"}[data["order"]]
        child = "子" if data["sex"] == "male" else "女"
        res: dict[str, Any] = {
            "resourceType": "Patient",
            "extension": [
                {"url": NEWBORN_MOTHER, "valueReference": {"reference": ref(rec.refs["mother"])}}
            ],
            "identifier": [
                {
                    "use": "usual",
                    "type": _cc(ID_TYPE, "MR", "Medical record number"),
                    "system": district.mrn_system(rec.inst),
                    "value": data["mrn"],
                }
            ],
            "name": [{"use": "usual", "text": f"{w.name}之{suffix}{child}", "family": w.family}],
            "gender": data["sex"],
            "birthDate": _day(at.date()),
            "address": [w.address],
        }
        if data.get("birth_time"):
            res["_birthDate"] = {"extension": [{"url": BIRTH_TIME, "valueDateTime": ts(at)}]}
        if data["order"] is not None:
            res["multipleBirthInteger"] = data["order"]
        if data.get("deceased"):
            res["deceasedDateTime"] = ts(data["deceased"])
        return res

    # -- episodes and encounters ---------------------------------------------------------------

    def _episode(
        self, rec: Record, data: dict[str, Any], at: datetime, ref: Ref, ts: Stamp
    ) -> dict[str, Any]:
        period = {"start": ts(data["start"])}
        if data.get("end"):
            period["end"] = ts(data["end"])
        return {
            "resourceType": "EpisodeOfCare",
            "identifier": [identifier(rec)],
            "status": data["status"],
            "type": [_cc(SNOMED, "77386006", "Pregnancy", "孕产期保健")],
            "patient": {"reference": ref(rec.refs["patient"])},
            "managingOrganization": _provider(rec.inst),
            "period": period,
        }

    def _visit(
        self, rec: Record, data: dict[str, Any], at: datetime, ref: Ref, ts: Stamp
    ) -> dict[str, Any]:
        code, display, text = _VISIT[data["visit"]]
        end = data["end"] + (at - rec.at)  # a corrected day moves the whole visit
        res: dict[str, Any] = {
            "resourceType": "Encounter",
            "identifier": [identifier(rec)],
            "status": "finished",
            "class": {"system": ACT_CODE, "code": data["class"], "display": _CLASS[data["class"]]},
            "type": [_cc(SNOMED, code, display, text)],
            "subject": {"reference": ref(rec.refs["subject"])},
            "period": {"start": ts(at), "end": ts(end)},
            "serviceProvider": _provider(rec.inst),
        }
        if "episode" in rec.refs:
            res["episodeOfCare"] = [{"reference": ref(rec.refs["episode"])}]
        return res

    def _delivery_encounter(
        self, rec: Record, data: dict[str, Any], at: datetime, ref: Ref, ts: Stamp
    ) -> dict[str, Any]:
        cls = "HH" if data["home"] else "IMP"
        period = {"start": ts(data["admission"])}
        if data.get("discharge"):
            period["end"] = ts(data["discharge"])
        res: dict[str, Any] = {
            "resourceType": "Encounter",
            "identifier": [identifier(rec)],
            "status": data["status"],
            "class": {"system": ACT_CODE, "code": cls, "display": _CLASS[cls]},
            "type": [_cc(SNOMED, "236973005", "Delivery procedure", "分娩")],
            "subject": {"reference": ref(rec.refs["subject"])},
            "period": period,
            "serviceProvider": _provider(rec.inst),
        }
        if "episode" in rec.refs:
            res["episodeOfCare"] = [{"reference": ref(rec.refs["episode"])}]
        return res

    # -- observations ---------------------------------------------------------------------

    def _observation(
        self,
        rec: Record,
        at: datetime,
        ts: Stamp,
        ref: Ref,
        category: str,
        code: dict[str, Any],
        value: dict[str, Any],
    ) -> dict[str, Any]:
        res: dict[str, Any] = {
            "resourceType": "Observation",
            "identifier": [identifier(rec)],
            "status": "final",
            "category": _category(category),
            "code": code,
            "subject": {"reference": ref(rec.refs["subject"])},
        }
        if "encounter" in rec.refs:
            res["encounter"] = {"reference": ref(rec.refs["encounter"])}
        res["effectiveDateTime"] = ts(at)
        res.update(value)
        return res

    def _dating(
        self, rec: Record, data: dict[str, Any], at: datetime, ref: Ref, ts: Stamp
    ) -> dict[str, Any]:
        k = rec.kind
        if k == "lmp":
            code = _cc(LOINC, "8665-2", "Last menstrual period start date", "末次月经")
            return self._observation(
                rec, at, ts, ref, "survey", code, {"valueDateTime": _day(data["lmp"])}
            )
        if k == "edd":
            code = _cc(LOINC, "11778-8", "Delivery date Estimated", "预产期")
            return self._observation(
                rec, at, ts, ref, "exam", code, {"valueDateTime": _day(data["edd"])}
            )
        if k == "gravida":
            code = _cc(LOINC, "11996-6", "[#] Pregnancies", "孕次")
            return self._observation(
                rec, at, ts, ref, "survey", code, {"valueInteger": data["gravida"]}
            )
        # GA: whole weeks in `wk`, otherwise days, so that every reading gives the same day 0.
        days = data["ga_days"]
        if days % 7 == 0:
            quantity = {"value": days // 7, "unit": "wk", "system": UCUM, "code": "wk"}
        else:
            quantity = {"value": days, "unit": "d", "system": UCUM, "code": "d"}
        code = _cc(LOINC, "11884-4", "Gestational age Estimated", "孕周")
        return self._observation(rec, at, ts, ref, "exam", code, {"valueQuantity": quantity})

    def _lab(
        self, rec: Record, data: dict[str, Any], at: datetime, ref: Ref, ts: Stamp
    ) -> dict[str, Any]:
        test, result = data["test"], data["result"]
        method = data.get("method")
        if test == "hiv" and method == "confirmatory":
            test = "hiv_confirmatory"
        if rec.inst == self.local_code_inst:
            local, text = _LAB_LOCAL["syphilis_tp" if method == "treponemal" else test]
            code = {
                "coding": [{"system": local_lab_system(rec.inst), "code": local, "display": text}]
            }
            value = {
                "coding": [
                    {
                        "system": local_result_system(rec.inst),
                        "code": "POS" if result == "positive" else "NEG",
                        "display": _RESULT[result][2],
                    }
                ]
            }
        else:
            key = test
            if method == "treponemal":
                key = "syphilis_tppa" if rec.inst in ("hosp-b", "mch-hosp") else "syphilis_tp"
            loinc, display, text = _LAB_LOINC[key]
            code = _cc(LOINC, loinc, display, text)
            value = _cc(SNOMED, *_RESULT[result])
        return self._observation(
            rec, at, ts, ref, "laboratory", code, {"valueCodeableConcept": value}
        )

    def _hb(
        self, rec: Record, data: dict[str, Any], at: datetime, ref: Ref, ts: Stamp
    ) -> dict[str, Any]:
        g_l = data["g_l"]
        if rec.inst == self.local_code_inst:
            # The LIS sends no unit: its code table says HGB is in g/L.
            code = {
                "coding": [
                    {"system": local_lab_system(rec.inst), "code": "HGB", "display": "血红蛋白"}
                ]
            }
            quantity: dict[str, Any] = {"value": g_l}
        elif rec.inst == self.g_dl_inst:
            code = _cc(LOINC, "718-7", "Hemoglobin [Mass/volume] in Blood", "血红蛋白")
            # One decimal in g/dL is exact: g/L values are whole numbers.
            quantity = {"value": g_l / 10, "unit": "g/dL", "system": UCUM, "code": "g/dL"}
        else:
            code = _cc(LOINC, "718-7", "Hemoglobin [Mass/volume] in Blood", "血红蛋白")
            quantity = {"value": g_l, "unit": "g/L", "system": UCUM, "code": "g/L"}
        return self._observation(rec, at, ts, ref, "laboratory", code, {"valueQuantity": quantity})

    def _epds(
        self, rec: Record, data: dict[str, Any], at: datetime, ref: Ref, ts: Stamp
    ) -> dict[str, Any]:
        # Most send the total-score code; the local-code institution the EPDS form code.
        if rec.inst == self.local_code_inst:
            code = _cc(LOINC, "71354-5", "Edinburgh Postnatal Depression Scale [EPDS]", "EPDS")
        else:
            code = _cc(LOINC, "99046-5", "Total score [EPDS]", "爱丁堡产后抑郁量表总分")
        return self._observation(
            rec, at, ts, ref, "survey", code, {"valueInteger": int(data["score"])}
        )

    def _screening(
        self, rec: Record, data: dict[str, Any], at: datetime, ref: Ref, ts: Stamp
    ) -> dict[str, Any]:
        if rec.kind == "thal_screen":
            code = _cc(LOINC, "4551-8", "Hemoglobin A2/Hemoglobin.total in Blood", "血红蛋白A2")
            value = _cc(SNOMED, *_RESULT["positive" if data["positive"] else "negative"])
        else:
            code = _cc(SCREENING, data["code"], _PRENATAL_SCREENING[data["code"]])
            value = _cc(SNOMED, *_RESULT["negative"])
        return self._observation(
            rec, at, ts, ref, "laboratory", code, {"valueCodeableConcept": value}
        )

    def _prenatal_dx(
        self, rec: Record, data: dict[str, Any], at: datetime, ref: Ref, ts: Stamp
    ) -> dict[str, Any]:
        return {
            "resourceType": "Procedure",
            "identifier": [identifier(rec)],
            "status": "completed",
            "code": _cc(SNOMED, "34536000", "Amniocentesis", "羊膜腔穿刺术"),
            "subject": {"reference": ref(rec.refs["subject"])},
            "performedDateTime": ts(at),
        }

    def _birth(
        self, rec: Record, data: dict[str, Any], at: datetime, ref: Ref, ts: Stamp
    ) -> dict[str, Any]:
        if rec.kind == "birth_weight":
            code = _cc(LOINC, "8339-4", "Birth weight Measured", "出生体重")
            value = {
                "valueQuantity": {"value": data["g"], "unit": "g", "system": UCUM, "code": "g"}
            }
            return self._observation(rec, at, ts, ref, "vital-signs", code, value)
        code = _cc(LOINC, "9274-2", "5 minute Apgar Score", "Apgar评分（5分钟）")
        return self._observation(rec, at, ts, ref, "exam", code, {"valueInteger": data["score"]})

    # -- procedures, risk, conditions, medication ----------------------------------------------

    def _test_done(
        self, rec: Record, data: dict[str, Any], at: datetime, ref: Ref, ts: Stamp
    ) -> dict[str, Any]:
        return {
            "resourceType": "Procedure",
            "identifier": [identifier(rec)],
            "status": "completed",
            "code": _cc(SNOMED, *_TEST_DONE[data["test"]]),
            "subject": {"reference": ref(rec.refs["subject"])},
            "performedDateTime": ts(at),
        }

    def _delivery_procedure(
        self, rec: Record, data: dict[str, Any], at: datetime, ref: Ref, ts: Stamp
    ) -> dict[str, Any]:
        return {
            "resourceType": "Procedure",
            "identifier": [identifier(rec)],
            "status": "completed",
            "category": _cc(SNOMED, "236973005", "Delivery procedure", "分娩"),
            "code": _cc(SNOMED, *_MODE[data["mode"]]),
            "subject": {"reference": ref(rec.refs["subject"])},
            "encounter": {"reference": ref(rec.refs["encounter"])},
            "performedDateTime": _day(at.date()) if data.get("date_only") else ts(at),
        }

    def _risk(
        self, rec: Record, data: dict[str, Any], at: datetime, ref: Ref, ts: Stamp
    ) -> dict[str, Any]:
        predictions = []
        colours = [data["colour"]] if data["colour"] else []
        if data["purple"]:
            colours.append("purple")
        for colour in colours:
            predictions.append(
                {
                    "qualitativeRisk": {
                        "coding": [
                            {"system": RISK_COLOUR, "code": colour, "display": _COLOUR_ZH[colour]}
                        ]
                    }
                }
            )
        return {
            "resourceType": "RiskAssessment",
            "identifier": [identifier(rec)],
            "status": "final",
            "code": {"text": "妊娠风险评估"},
            "subject": {"reference": ref(rec.refs["subject"])},
            "occurrenceDateTime": ts(at),
            "prediction": predictions,
        }

    def _condition(
        self, rec: Record, data: dict[str, Any], at: datetime, ref: Ref, ts: Stamp
    ) -> dict[str, Any]:
        outcome = rec.kind in ("z37", "loss")
        res: dict[str, Any] = {
            "resourceType": "Condition",
            "identifier": [identifier(rec)],
            "clinicalStatus": {
                "coding": [
                    {"system": CONDITION_CLINICAL, "code": "resolved" if outcome else "active"}
                ]
            },
            "verificationStatus": {
                "coding": [{"system": CONDITION_VERIFICATION, "code": "confirmed"}]
            },
            "category": [
                {"coding": [{"system": CONDITION_CATEGORY, "code": "encounter-diagnosis"}]}
            ],
            "code": _cc(
                data.get("system", ICD10).replace("{canonical}", "http://mch-service.local/fhir"),
                data["code"],
                data["display"],
                data["display"],
            ),
            "subject": {"reference": ref(rec.refs["subject"])},
        }
        # An outcome happened at a moment (onset); a diagnosis is dated by its recording.
        if outcome:
            res["onsetDateTime"] = ts(at)
        res["recordedDate"] = ts(at)
        return res

    def _treatment(
        self, rec: Record, data: dict[str, Any], at: datetime, ref: Ref, ts: Stamp
    ) -> dict[str, Any]:
        drug = data["infection"]
        code, display, text = _TREATMENT[drug]
        res: dict[str, Any] = {
            "resourceType": rec.resource_type,
            "identifier": [identifier(rec)],
            "status": "active" if rec.resource_type == "MedicationStatement" else "completed",
            "medicationCodeableConcept": _cc(ATC, code, display, text),
            "subject": {"reference": ref(rec.refs["subject"])},
        }
        if "start" in data:
            # a standing regimen: from its start, no end (continuing), asserted now
            res["effectivePeriod"] = {"start": _day(data["start"])}
            res["dateAsserted"] = ts(at)
        else:
            res["effectiveDateTime"] = ts(at)
        if drug == "ceftriaxone_syphilis":
            res["reasonCode"] = [_cc(ICD10, "A53.9", "Syphilis, unspecified", "梅毒")]
        elif drug == "ceftriaxone":
            res["reasonCode"] = [_cc(ICD10, "N39.0", "Urinary tract infection", "尿路感染")]
        return res

    def _immunization(
        self, rec: Record, data: dict[str, Any], at: datetime, ref: Ref, ts: Stamp
    ) -> dict[str, Any]:
        return {
            "resourceType": "Immunization",
            "identifier": [identifier(rec)],
            "status": "completed",
            "vaccineCode": _cc(CVX, "08", "Hep B, adolescent or pediatric", "乙肝疫苗（首针）"),
            "patient": {"reference": ref(rec.refs["subject"])},
            "occurrenceDateTime": ts(at),
        }


_BUILDERS = {
    "patient": "patient",
    "newborn": "newborn",
    "eoc": "episode",
    "visit": "visit",
    "delivery_encounter": "delivery_encounter",
    "lmp": "dating",
    "edd": "dating",
    "ga": "dating",
    "ga_delivery": "dating",
    "gravida": "dating",
    "lab": "lab",
    "hb": "hb",
    "epds": "epds",
    "birth_weight": "birth",
    "apgar": "birth",
    "test_done": "test_done",
    "delivery_procedure": "delivery_procedure",
    "risk": "risk",
    "dx_hiv": "condition",
    "dx_syphilis": "condition",
    "dx_hbsag": "condition",
    "dx_thal": "condition",
    "z37": "condition",
    "loss": "condition",
    "death_cause": "condition",
    "near_miss": "condition",
    "cs": "condition",
    "treatment": "treatment",
    "hepb_vaccine": "immunization",
    "thal_screen": "screening",
    "prenatal_screen": "screening",
    "prenatal_dx": "prenatal_dx",
}


def code_table_csv(inst: str) -> str:
    """The site code table of the local-code institution (docs/code-tables.md format)."""
    lab, res = local_lab_system(inst), local_result_system(inst)
    rows = ["concept,system,code,display,value,unit"]
    rows += [
        f"hiv_test,{lab},HIV-AB,HIV抗体筛查,,",
        f"hiv_test,{lab},HIV-WB,HIV抗体确证,confirmatory,",
        f"syphilis_test,{lab},TP-TRUST,梅毒TRUST,non_treponemal,",
        f"syphilis_test,{lab},TP-PA,梅毒TPPA,treponemal,",
        f"hbsag_test,{lab},HBSAG,乙肝表面抗原,,",
        f"haemoglobin,{lab},HGB,血红蛋白,,g/L",
        f"result_value,{res},POS,阳性,positive,",
        f"result_value,{res},NEG,阴性,negative,",
    ]
    return "\n".join(rows) + "\n"
