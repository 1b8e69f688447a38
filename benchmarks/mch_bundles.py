"""Synthetic maternal-health transaction Bundles: one Bundle per pregnancy, ~26 resources.

A Bundle is what a hospital's EMR pushes once a pregnancy is closed: the mother, the
pregnancy (EpisodeOfCare), dating observations, 6-8 prenatal visits, the screening labs, the
five-colour risk grading, the delivery (Encounter, Procedure, Z37 outcome), the newborn with
birth weight and Apgar scores, and the postpartum visit. Codes follow /work/shared/INTERFACE.md.

Everything is drawn from one seeded ``random.Random`` in order, so a given seed and count give
byte-identical Bundles. Business identifiers (resident ID, MRN, visit numbers) are unique over
the whole stream, because the service treats a Patient or Encounter whose identifier the same
sender already sent as the same record (an update, "200 OK"), and the benchmark measures
creates ("201 Created").

``python -m benchmarks.mch_bundles [--count N] [--seed S]`` prints Bundles for inspection.
"""

from __future__ import annotations

import argparse
import random
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

import orjson

RESIDENT_ID_SYSTEM = "urn:oid:2.16.156.10011.1.3"  # 身份证号 (WS/T 500)
RISK_COLOUR_SYSTEM = "http://mch-service.local/fhir/CodeSystem/pregnancy-risk-colour"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
UCUM = "http://unitsofmeasure.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
BIRTH_TIME_EXT = "http://hl7.org/fhir/StructureDefinition/patient-birthTime"
# Identifier systems of the synthetic hospitals; a real site uses its own (often an OID).
SITE_BASE = "http://mch-bench.local"

CST = timezone(timedelta(hours=8))  # Asia/Shanghai has no DST; every time is sent with +08:00

# GB 11643-1999 check digit: weights of the first 17 digits, and the digit for sum mod 11.
_GB11643_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_GB11643_CHECK = "10X98765432"

# Districts of one city with their administrative division codes (the first six digits of a
# resident ID), and streets in them: most mothers live in the district the service covers.
_CITY, _PROVINCE = "广州市", "广东省"
_DISTRICTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "天河区",
        "440106",
        ("天河路", "中山大道西", "黄埔大道中", "体育东路", "石牌东路", "龙口西路"),
    ),
    ("越秀区", "440104", ("东风中路", "环市东路", "北京路", "解放北路")),
    ("海珠区", "440105", ("江南大道中", "新港中路", "工业大道南")),
    ("白云区", "440111", ("白云大道北", "机场路", "广园中路")),
    ("番禺区", "440113", ("市桥街光明北路", "南村镇兴南大道")),
)
_DISTRICT_WEIGHTS = (60, 10, 10, 10, 10)
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高梁郑谢宋唐"
    "许邓冯韩曹曾彭萧蔡潘田董袁于余叶蒋杜苏魏程吕丁沈任"
)
_GIVEN = (
    "丽",
    "芳",
    "娜",
    "敏",
    "静",
    "秀英",
    "婷",
    "雪",
    "慧",
    "颖",
    "洁",
    "琳",
    "玲",
    "燕",
    "红",
    "霞",
    "晶",
    "欣怡",
    "雨涵",
    "梓萱",
    "佳",
    "倩",
    "思琪",
    "莉",
    "晓燕",
    "春梅",
    "海燕",
    "美玲",
    "嘉欣",
    "诗婷",
    "慧敏",
    "丹",
    "艳",
    "玉兰",
    "凤",
    "佩珊",
    "宝仪",
    "咏琪",
)
_HOSPITAL_NAMES = (
    "天河区妇幼保健院",
    "天河区人民医院",
    "广州市第十一人民医院",
    "石牌街社区卫生服务中心",
    "珠江新城社区卫生服务中心",
    "越秀区妇幼保健院",
    "海珠区妇幼保健院",
    "白云区妇幼保健院",
)

# The five-colour grading (五色分级) of pregnancy risk.
_RISK_DISPLAY = {
    "green": "绿色（低风险）",
    "yellow": "黄色（一般风险）",
    "orange": "橙色（较高风险）",
    "red": "红色（高风险）",
    "purple": "紫色（传染病）",
}

# Screening labs: (concept, LOINC code, LOINC display, chance of a positive result). Positive
# rates are rough Chinese antenatal figures; they only shape the data.
_SCREENING = (
    (
        "hiv",
        "56888-1",
        "HIV 1+2 Ab+HIV1 p24 Ag [Presence] in Serum or Plasma by Immunoassay",
        0.001,
    ),
    ("syphilis", "20507-0", "Reagin Ab [Presence] in Serum by RPR", 0.003),
    ("hbsag", "5196-1", "Hepatitis B virus surface Ag [Presence] in Serum by Immunoassay", 0.06),
)
_POSITIVE = {"system": SNOMED, "code": "10828004", "display": "Positive"}
_NEGATIVE = {"system": SNOMED, "code": "260385009", "display": "Negative"}


@dataclass(frozen=True)
class Hospital:
    """A sending institution as the generator needs it (its id is also its registration id)."""

    institution_id: str
    name: str

    @property
    def mrn_system(self) -> str:
        return f"{SITE_BASE}/{self.institution_id}/sid/mrn"

    @property
    def visit_system(self) -> str:
        return f"{SITE_BASE}/{self.institution_id}/sid/visit"

    @property
    def episode_system(self) -> str:
        return f"{SITE_BASE}/{self.institution_id}/sid/pregnancy"

    def reference(self) -> dict[str, Any]:
        # A logical reference (identifier + name): the Organization itself is not in the
        # Bundle, so every entry of a Bundle is a new record ("201 Created").
        return {
            "identifier": {"system": f"{SITE_BASE}/sid/institution", "value": self.institution_id},
            "display": self.name,
        }


def hospitals(count: int) -> list[Hospital]:
    names = [*_HOSPITAL_NAMES, *(f"第{i}社区卫生服务中心" for i in range(1, count + 1))]
    return [Hospital(f"MCH-BENCH-H{i + 1:02d}", names[i]) for i in range(count)]


def gb11643_check_digit(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _GB11643_WEIGHTS, strict=True))
    return _GB11643_CHECK[total % 11]


def is_valid_resident_id(value: str) -> bool:
    return (
        len(value) == 18 and value[:17].isdigit() and gb11643_check_digit(value[:17]) == value[17]
    )


def _ts(moment: datetime) -> str:
    return moment.astimezone(CST).isoformat(timespec="seconds")


def _coding(system: str, code: str, display: str) -> dict[str, Any]:
    return {"system": system, "code": code, "display": display}


def _concept(system: str, code: str, display: str, text: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"coding": [_coding(system, code, display)]}
    if text:
        out["text"] = text
    return out


def _category(code: str, display: str) -> list[dict[str, Any]]:
    return [_concept(OBS_CATEGORY, code, display)]


class BundleGenerator:
    """Draws pregnancies one after another; ``next_bundle`` is deterministic in call order."""

    def __init__(self, seed: int, senders: list[Hospital]) -> None:
        self.rng = random.Random(seed)
        self.senders = senders
        self.serial = 0
        self._resident_ids: set[str] = set()

    # -- helpers ------------------------------------------------------------------------

    def _urn(self) -> str:
        return f"urn:uuid:{uuid.UUID(int=self.rng.getrandbits(128), version=4)}"

    def _resident_id(self, area: str, birth: date) -> str:
        while True:
            # Sequence digits: the last one is even for a woman (GB 11643-1999, 4.3).
            seq = self.rng.randrange(0, 100) * 10 + self.rng.choice((0, 2, 4, 6, 8))
            first17 = f"{area}{birth:%Y%m%d}{seq:03d}"
            value = first17 + gb11643_check_digit(first17)
            if value not in self._resident_ids:
                self._resident_ids.add(value)
                return value

    def _clock(self, day: date, earliest: int = 8, latest: int = 16) -> datetime:
        minutes = self.rng.randrange(earliest * 60, latest * 60)
        return datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=CST)

    # -- one pregnancy ------------------------------------------------------------------

    def next_bundle(self) -> tuple[int, dict[str, Any]]:
        """(index of the sending hospital, transaction Bundle) of the next pregnancy."""
        rng = self.rng
        sender_index = self.serial % len(self.senders)
        h = self.senders[sender_index]
        serial = self.serial
        self.serial += 1
        entries: list[dict[str, Any]] = []

        def add(resource: dict[str, Any]) -> str:
            full_url = self._urn()
            entries.append(
                {
                    "fullUrl": full_url,
                    "resource": resource,
                    "request": {"method": "POST", "url": resource["resourceType"]},
                }
            )
            return full_url

        # The mother: 20-40 years old at her last menstrual period.
        lmp = date(2023, 1, 1) + timedelta(days=rng.randrange(0, 730))
        birth = lmp - timedelta(days=rng.randrange(20 * 365, 40 * 365))
        district, area, streets = rng.choices(_DISTRICTS, weights=_DISTRICT_WEIGHTS)[0]
        family, given = rng.choice(_SURNAMES), rng.choice(_GIVEN)
        mother_name = family + given
        mrn = f"{serial:09d}"
        phone = f"1{rng.choice('3589')}{rng.randrange(0, 10**9):09d}"
        line = (
            f"{rng.choice(streets)}{rng.randrange(1, 999)}号"
            f"{rng.randrange(1, 30)}栋{rng.randrange(1, 33)}{rng.randrange(1, 9):02d}房"
        )
        mother = add(
            {
                "resourceType": "Patient",
                "identifier": [
                    {
                        "use": "official",
                        "system": RESIDENT_ID_SYSTEM,
                        "value": self._resident_id(area, birth),
                    },
                    {
                        "use": "usual",
                        "type": _concept(IDENTIFIER_TYPE, "MR", "Medical record number"),
                        "system": h.mrn_system,
                        "value": mrn,
                    },
                ],
                "active": True,
                "name": [
                    {"use": "official", "text": mother_name, "family": family, "given": [given]}
                ],
                "telecom": [{"system": "phone", "value": phone, "use": "mobile"}],
                "gender": "female",
                "birthDate": birth.isoformat(),
                "address": [
                    {
                        "use": "home",
                        "type": "physical",
                        "line": [line],
                        "district": district,
                        "city": _CITY,
                        "state": _PROVINCE,
                        "country": "CN",
                    }
                ],
                "managingOrganization": h.reference(),
            }
        )

        # Dates of the pregnancy, from the LMP (Naegele: EDD = LMP + 280 days).
        edd = lmp + timedelta(days=280)
        booking_days = rng.randrange(6 * 7, 13 * 7)  # first visit (建档) before 13+0 weeks
        preterm = rng.random() < 0.05
        delivery_days = (
            rng.randrange(34 * 7, 37 * 7) if preterm else rng.randrange(37 * 7, 41 * 7 + 4)
        )
        later_count = rng.randint(5, 7)  # 6-8 prenatal visits in all
        later_weeks = sorted(rng.sample(range(16, delivery_days // 7), later_count))
        visit_days = [booking_days] + [w * 7 + rng.randrange(0, 7) for w in later_weeks]
        visit_days = [d for d in visit_days if d < delivery_days]
        postpartum_day = lmp + timedelta(days=delivery_days + rng.randrange(40, 46))

        episode = add(
            {
                "resourceType": "EpisodeOfCare",
                "identifier": [{"system": h.episode_system, "value": f"P{serial:09d}"}],
                "status": "finished",
                "type": [_concept(SNOMED, "77386006", "Pregnancy", "孕产期保健")],
                "patient": {"reference": mother},
                "managingOrganization": h.reference(),
                "period": {
                    "start": (lmp + timedelta(days=booking_days)).isoformat(),
                    "end": postpartum_day.isoformat(),
                },
            }
        )

        def encounter(kind: str, start: datetime, minutes: int, number: int) -> str:
            code, display, act = {
                "first": ("424441002", "Prenatal initial visit", "AMB"),
                "visit": ("424619006", "Prenatal visit", "AMB"),
                "delivery": ("32485007", "Hospital admission", "IMP"),
                "postnatal": ("169762003", "Postnatal visit", "AMB"),
            }[kind]
            return add(
                {
                    "resourceType": "Encounter",
                    "identifier": [
                        {"system": h.visit_system, "value": f"V{serial:09d}-{number:02d}"}
                    ],
                    "status": "finished",
                    "class": _coding(
                        ACT_CODE, act, "ambulatory" if act == "AMB" else "inpatient encounter"
                    ),
                    "type": [_concept(SNOMED, code, display)],
                    "subject": {"reference": mother},
                    "episodeOfCare": [{"reference": episode}],
                    "period": {"start": _ts(start), "end": _ts(start + timedelta(minutes=minutes))},
                    "serviceProvider": h.reference(),
                }
            )

        visit_times = [self._clock(lmp + timedelta(days=d)) for d in visit_days]
        visits = [
            encounter("first" if i == 0 else "visit", t, rng.randrange(15, 45), i + 1)
            for i, t in enumerate(visit_times)
        ]
        first, booked_at = visits[0], visit_times[0]

        def observation(
            code: str,
            display: str,
            category: str,
            when: datetime,
            enc: str,
            value: dict[str, Any],
            subject: str | None = None,
            **extra: Any,
        ) -> str:
            return add(
                {
                    "resourceType": "Observation",
                    "status": "final",
                    "category": _category(
                        category,
                        {
                            "laboratory": "Laboratory",
                            "exam": "Exam",
                            "vital-signs": "Vital Signs",
                            "social-history": "Social History",
                        }[category],
                    ),
                    "code": _concept(LOINC, code, display),
                    "subject": {"reference": subject or mother},
                    "encounter": {"reference": enc},
                    "effectiveDateTime": _ts(when),
                    **value,
                    **extra,
                }
            )

        def weeks(value: float) -> dict[str, Any]:
            return {
                "valueQuantity": {
                    "value": round(value, 1),
                    "unit": "wk",
                    "system": UCUM,
                    "code": "wk",
                }
            }

        # Dating, recorded at booking.
        observation(
            "8665-2",
            "Last menstrual period start date",
            "exam",
            booked_at,
            first,
            {"valueDateTime": lmp.isoformat()},
        )
        observation(
            "11778-8",
            "Delivery date Estimated",
            "exam",
            booked_at,
            first,
            {"valueDateTime": edd.isoformat()},
        )
        observation(
            "11884-4",
            "Gestational age Estimated",
            "exam",
            booked_at,
            first,
            weeks(booking_days / 7),
        )
        gravida = rng.choices((1, 2, 3, 4), weights=(45, 35, 15, 5))[0]
        observation(
            "11996-6", "[#] Pregnancies", "exam", booked_at, first, {"valueInteger": gravida}
        )

        # Screening at booking; results come back the next day (issued).
        lab_time = booked_at + timedelta(minutes=30)
        issued = _ts(lab_time + timedelta(hours=rng.randrange(18, 30)))
        positives: list[str] = []
        for _name, code, display, rate in _SCREENING:
            positive = rng.random() < rate
            obs = observation(
                code,
                display,
                "laboratory",
                lab_time,
                first,
                {
                    "valueCodeableConcept": {
                        "coding": [_POSITIVE if positive else _NEGATIVE],
                        "text": "阳性" if positive else "阴性",
                    }
                },
                issued=issued,
                interpretation=[
                    _concept(
                        INTERPRETATION,
                        "POS" if positive else "NEG",
                        "Positive" if positive else "Negative",
                    )
                ],
            )
            if positive:
                positives.append(obs)
        hb = round(min(max(rng.gauss(120, 12), 70), 160))
        hb_obs = observation(
            "718-7",
            "Hemoglobin [Mass/volume] in Blood",
            "laboratory",
            lab_time,
            first,
            {"valueQuantity": {"value": hb, "unit": "g/L", "system": UCUM, "code": "g/L"}},
            issued=issued,
            interpretation=[
                _concept(INTERPRETATION, "L", "Low")
                if hb < 110
                else _concept(INTERPRETATION, "N", "Normal")
            ],
            # Anaemia in pregnancy: Hb below 110 g/L (WHO).
            referenceRange=[{"low": {"value": 110, "unit": "g/L", "system": UCUM, "code": "g/L"}}],
        )

        # Five-colour grading at booking: infectious disease is purple; anaemia at least yellow.
        if positives:
            colour, basis = "purple", positives
        else:
            colour = rng.choices(("green", "yellow", "orange", "red"), weights=(62, 26, 9, 3))[0]
            basis = []
            if hb < 110:
                colour = "yellow" if colour == "green" else colour
                basis = [hb_obs]
        risk: dict[str, Any] = {
            "resourceType": "RiskAssessment",
            "status": "final",
            "subject": {"reference": mother},
            "encounter": {"reference": first},
            "occurrenceDateTime": _ts(booked_at + timedelta(minutes=40)),
            "prediction": [
                {
                    "outcome": {"text": "妊娠风险"},
                    "qualitativeRisk": _concept(RISK_COLOUR_SYSTEM, colour, _RISK_DISPLAY[colour]),
                }
            ],
        }
        if basis:
            risk["basis"] = [{"reference": b} for b in basis]
        add(risk)

        # Delivery: admission, the birth some hours later, discharge 2-5 days after.
        delivery_day = lmp + timedelta(days=delivery_days)
        admitted = self._clock(delivery_day, 0, 20)
        born = admitted + timedelta(minutes=rng.randrange(90, 900))
        caesarean = rng.random() < 0.38
        admission = encounter(
            "delivery", admitted, rng.randrange(2, 6) * 24 * 60 + rng.randrange(0, 240), 90
        )
        add(
            {
                "resourceType": "Procedure",
                "status": "completed",
                "category": _concept(SNOMED, "386637004", "Obstetric procedure"),
                "code": (
                    _concept(SNOMED, "11466000", "Cesarean section", "剖宫产")
                    if caesarean
                    else _concept(SNOMED, "236973005", "Delivery procedure", "阴道分娩")
                ),
                "subject": {"reference": mother},
                "encounter": {"reference": admission},
                "performedDateTime": _ts(born),
            }
        )
        add(
            {
                "resourceType": "Condition",
                "clinicalStatus": _concept(CONDITION_CLINICAL, "active", "Active"),
                "verificationStatus": _concept(CONDITION_VERIFICATION, "confirmed", "Confirmed"),
                "category": [
                    _concept(CONDITION_CATEGORY, "encounter-diagnosis", "Encounter Diagnosis")
                ],
                "code": _concept(ICD10, "Z37.0", "Single live birth", "单胎活产"),
                "subject": {"reference": mother},
                "encounter": {"reference": admission},
                "onsetDateTime": _ts(born),
                "recordedDate": _ts(born + timedelta(hours=2)),
            }
        )

        # The newborn: a Patient of its own (named after the mother until registered), linked to
        # her; birth weight and Apgar are the newborn's observations.
        girl = rng.random() < 0.48
        newborn = add(
            {
                "resourceType": "Patient",
                "identifier": [
                    {
                        "type": _concept(IDENTIFIER_TYPE, "MR", "Medical record number"),
                        "system": h.mrn_system,
                        "value": f"{mrn}B1",
                    }
                ],
                "active": True,
                "name": [{"use": "temp", "text": mother_name + ("之女" if girl else "之子")}],
                "gender": "female" if girl else "male",
                "birthDate": born.date().isoformat(),
                "_birthDate": {"extension": [{"url": BIRTH_TIME_EXT, "valueDateTime": _ts(born)}]},
                "multipleBirthBoolean": False,
                "contact": [
                    {
                        "relationship": [_concept(ROLE_CODE, "MTH", "mother")],
                        "name": {"text": mother_name},
                        "telecom": [{"system": "phone", "value": phone, "use": "mobile"}],
                    }
                ],
                "link": [{"other": {"reference": mother}, "type": "seealso"}],
            }
        )
        weight = round(min(max(rng.gauss(3250 if not preterm else 2500, 420), 1500), 4800))
        observation(
            "8339-4",
            "Birth weight Measured",
            "vital-signs",
            born,
            admission,
            {"valueQuantity": {"value": weight, "unit": "g", "system": UCUM, "code": "g"}},
            subject=newborn,
        )
        apgar1 = rng.choices((10, 9, 8, 7, 6), weights=(40, 40, 12, 5, 3))[0]
        for code, display, minutes, score in (
            ("9272-6", "1 minute Apgar Score", 1, apgar1),
            ("9274-2", "5 minute Apgar Score", 5, min(10, apgar1 + rng.randint(0, 2))),
        ):
            observation(
                code,
                display,
                "exam",
                born + timedelta(minutes=minutes),
                admission,
                {"valueQuantity": {"value": score, "system": UCUM, "code": "{score}"}},
                subject=newborn,
            )

        encounter("postnatal", self._clock(postpartum_day), rng.randrange(15, 40), 99)
        return sender_index, {"resourceType": "Bundle", "type": "transaction", "entry": entries}

    def bundles(self, count: int) -> Iterator[tuple[int, dict[str, Any]]]:
        for _ in range(count):
            yield self.next_bundle()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.mch_bundles",
        description="Print synthetic pregnancy Bundles as JSON",
    )
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--senders", type=int, default=4)
    args = parser.parse_args(argv)
    gen = BundleGenerator(args.seed, hospitals(args.senders))
    for _, bundle in gen.bundles(args.count):
        sys.stdout.buffer.write(orjson.dumps(bundle, option=orjson.OPT_INDENT_2) + b"\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
