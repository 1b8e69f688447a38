"""The simulated district: its streets, its institutions, and the people in it.

The district is fictional (codes under 330102, Hangzhou's Shangcheng district prefix, with
made-up street numbering); names and resident ID numbers are generated, never real.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

RESIDENT_ID_SYSTEM = "urn:oid:2.16.156.10011.1.3"
STREET_EXTENSION = "http://mch-service.local/fhir/StructureDefinition/address-street"
INSTITUTION_SYSTEM = "http://mch-service.local/fhir/sid/institution"

CITY = "杭州市"
DISTRICT = "上城区"
PROVINCE = "浙江省"


@dataclass(frozen=True)
class Street:
    code: str  # 9-digit township/street code (GB/T 10114 style: county code + 3 digits)
    name: str
    chc: str  # the community health centre that serves it


@dataclass(frozen=True)
class Institution:
    id: str
    name: str
    kind: str  # hospital | mch_hospital | chc
    streets: tuple[str, ...] = ()
    mrn_prefix: str = ""

    @property
    def is_hospital(self) -> bool:
        return self.kind in ("hospital", "mch_hospital")

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "name": self.name, "kind": self.kind}
        if self.kind == "chc":
            # A CHC serves one or two streets; `street` is its own (the first).
            out["street"] = self.streets[0]
            out["streets"] = list(self.streets)
        return out


STREETS: tuple[Street, ...] = (
    Street("330102001", "清波街道", "chc-01"),
    Street("330102002", "湖滨街道", "chc-01"),
    Street("330102003", "小营街道", "chc-02"),
    Street("330102004", "望江街道", "chc-03"),
    Street("330102005", "紫阳街道", "chc-03"),
    Street("330102006", "南星街道", "chc-04"),
    Street("330102007", "凯旋街道", "chc-05"),
    Street("330102008", "采荷街道", "chc-06"),
)
STREET_BY_CODE = {s.code: s for s in STREETS}

# Population weights of the streets (bigger streets have more births).
STREET_WEIGHTS = (0.10, 0.08, 0.14, 0.12, 0.10, 0.16, 0.15, 0.15)

INSTITUTIONS: tuple[Institution, ...] = (
    Institution("hosp-a", "上城区第一人民医院", "hospital", mrn_prefix="A"),
    Institution("hosp-b", "上城区中医院", "hospital", mrn_prefix="B"),
    Institution("hosp-c", "杭州市第三人民医院", "hospital", mrn_prefix="C"),
    Institution("mch-hosp", "上城区妇幼保健院", "mch_hospital", mrn_prefix="M"),
    Institution("chc-01", "清波街道社区卫生服务中心", "chc", ("330102001", "330102002"), "Q"),
    Institution("chc-02", "小营街道社区卫生服务中心", "chc", ("330102003",), "X"),
    Institution("chc-03", "望江街道社区卫生服务中心", "chc", ("330102004", "330102005"), "W"),
    Institution("chc-04", "南星街道社区卫生服务中心", "chc", ("330102006",), "N"),
    Institution("chc-05", "凯旋街道社区卫生服务中心", "chc", ("330102007",), "K"),
    Institution("chc-06", "采荷街道社区卫生服务中心", "chc", ("330102008",), "H"),
)
INSTITUTION_BY_ID = {i.id: i for i in INSTITUTIONS}
HOSPITALS = tuple(i.id for i in INSTITUTIONS if i.is_hospital)
# Where women have their checks and deliver: the MCH hospital and hospital A take most.
HOSPITAL_WEIGHTS = (0.30, 0.18, 0.20, 0.32)


def mrn_system(inst: str) -> str:
    return f"http://{inst}.example.cn/mrn"


def record_system(inst: str, resource_type: str) -> str:
    """Business identifiers of an institution's records (its HIS record numbers)."""
    return f"http://{inst}.example.cn/id/{resource_type.lower()}"


# --- resident ID numbers (GB 11643-1999) --------------------------------------------------

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"

# Birthplace area codes: mostly this city, some from the provinces migrants come from.
_LOCAL_AREAS = ("330102", "330103", "330104", "330105", "330106", "330108", "330110", "330181")
_OTHER_AREAS = ("341221", "341222", "342422", "510722", "420117", "362201", "412702", "522401")


def check_digit(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits."""
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def is_valid_resident_id(value: str) -> bool:
    return (
        len(value) == 18
        and value[:17].isdigit()
        and value[17] in "0123456789X"
        and check_digit(value[:17]) == value[17]
    )


def resident_id(rng: random.Random, birth_date: date, local: bool, bad_check: bool) -> str:
    area = rng.choice(_LOCAL_AREAS if local else _OTHER_AREAS)
    # The 17th digit is even for women.
    seq = f"{rng.randrange(0, 100):02d}{rng.choice('02468')}"
    first17 = f"{area}{birth_date:%Y%m%d}{seq}"
    digit = check_digit(first17)
    if bad_check:
        digit = rng.choice([c for c in "0123456789X" if c != digit])
    return first17 + digit


# --- names, phones, addresses --------------------------------------------------------------

_FAMILY = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏"
    "吕丁任沈姚卢钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵"
)
_GIVEN = (
    "丽娟静敏燕艳芳婷雪琳慧倩欣悦梦佳怡晓丹颖萍红霞玲娜莉晶璐瑶涵琪雯露思雨诗紫嘉菲蕾岚"
    "洁琴云凤秀英华美玉兰春梅桂芬蓉晴彤妍可心宁馨月"
)
_ROADS = (
    "解放路",
    "延安路",
    "中山南路",
    "江城路",
    "清泰街",
    "望江路",
    "秋涛路",
    "凯旋路",
    "采荷路",
    "庆春路",
    "建国南路",
    "复兴路",
    "南星路",
    "紫阳街",
    "湖滨路",
    "小营巷",
)
_ELSEWHERE = (
    ("安徽省", "阜阳市", "临泉县"),
    ("安徽省", "亳州市", "利辛县"),
    ("四川省", "绵阳市", "三台县"),
    ("湖北省", "武汉市", "黄陂区"),
    ("江西省", "上饶市", "鄱阳县"),
    ("河南省", "周口市", "郸城县"),
    ("贵州省", "遵义市", "湄潭县"),
)


def chinese_name(rng: random.Random) -> tuple[str, str]:
    family = rng.choice(_FAMILY)
    given = "".join(rng.choice(_GIVEN) for _ in range(1 if rng.random() < 0.3 else 2))
    return family, given


def phone(rng: random.Random) -> str:
    return rng.choice(("13", "15", "17", "18", "19")) + f"{rng.randrange(0, 10**9):09d}"


def home_address(rng: random.Random, street: Street | None) -> dict[str, Any]:
    house = (
        f"{rng.randint(1, 399)}号{rng.randint(1, 30)}幢{rng.randint(1, 24)}0{rng.randint(1, 4)}室"
    )
    if street is None:
        province, city, county = rng.choice(_ELSEWHERE)
        return {
            "use": "home",
            "line": [f"{rng.choice('东南西北')}街{rng.randint(1, 200)}号"],
            "city": city,
            "district": county,
            "state": province,
        }
    return {
        "use": "home",
        "line": [f"{street.name}{rng.choice(_ROADS)}{house}"],
        "city": CITY,
        "district": DISTRICT,
        "state": PROVINCE,
        "extension": [{"url": STREET_EXTENSION, "valueCode": street.code}],
    }


def birth_date_for(rng: random.Random, lmp: date, mean_age: float, sd: float) -> date:
    age = min(46.0, max(17.0, rng.gauss(mean_age, sd)))
    return lmp - timedelta(days=int(age * 365.25))
