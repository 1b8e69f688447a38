"""The simulated district: its streets, its institutions, and the people in it.

The district is Nansha, Guangzhou (广东省 广州市 南沙区, GB/T 2260 code 440115) with its nine
streets and towns and their statistical division codes; the institutions are plausible Nansha
ones. Names, addresses and resident ID numbers of the women are generated, never real.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

RESIDENT_ID_SYSTEM = "urn:oid:2.16.156.10011.1.3"
STREET_EXTENSION = "http://mch-service.local/fhir/StructureDefinition/address-street"
INSTITUTION_SYSTEM = "http://mch-service.local/fhir/sid/institution"

CITY = "广州市"
DISTRICT = "南沙区"
DISTRICT_CODE = "440115"  # GB/T 2260
PROVINCE = "广东省"


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


# The nine streets and towns (镇街) with their 9-digit codes (statistical division codes: the
# county code and three digits; 0xx streets, 1xx towns).
STREETS: tuple[Street, ...] = (
    Street("440115001", "南沙街道", "chc-01"),
    Street("440115002", "珠江街道", "chc-02"),
    Street("440115003", "龙穴街道", "chc-03"),
    Street("440115100", "万顷沙镇", "chc-04"),
    Street("440115101", "横沥镇", "chc-05"),
    Street("440115102", "黄阁镇", "chc-06"),
    Street("440115103", "东涌镇", "chc-07"),
    Street("440115104", "大岗镇", "chc-08"),
    Street("440115105", "榄核镇", "chc-09"),
)
STREET_BY_CODE = {s.code: s for s in STREETS}

# Population weights of the streets (bigger streets have more births).
STREET_WEIGHTS = (0.20, 0.06, 0.05, 0.09, 0.08, 0.12, 0.17, 0.14, 0.09)

INSTITUTIONS: tuple[Institution, ...] = (
    Institution("hosp-a", "广州市南沙区第一人民医院", "hospital", mrn_prefix="A"),
    Institution("hosp-b", "广州市南沙区第六人民医院", "hospital", mrn_prefix="B"),
    Institution("hosp-c", "广州市南沙中心医院", "hospital", mrn_prefix="C"),
    Institution("mch-hosp", "广州市南沙区妇幼保健院", "mch_hospital", mrn_prefix="M"),
    *(
        Institution(
            street.chc,
            f"广州市南沙区{street.name}社区卫生服务中心",
            "chc",
            (street.code,),
            "NZLWHGDYK"[n],
        )
        for n, street in enumerate(STREETS)
    ),
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
_LOCAL_AREAS = ("440115", "440113", "440112", "440106", "440105", "440104", "440111", "440118")
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
    "进港大道",
    "环市大道",
    "海滨路",
    "凤凰大道",
    "金隆路",
    "港前大道",
    "黄阁大道",
    "市南路",
    "东涌大道",
    "大岗大道",
    "榄核大道",
    "蕉门路",
    "双山大道",
    "丰泽东路",
)
# Where non-residents (非户籍/流动) live: the neighbouring districts and cities (province, city,
# district, its GB/T 2260 code), and the provinces migrants come from (no code written).
_NEIGHBOURS = (
    ("广东省", "广州市", "番禺区", "440113"),
    ("广东省", "广州市", "黄埔区", "440112"),
    ("广东省", "中山市", "中山市", "442000"),
    ("广东省", "东莞市", "东莞市", "441900"),
    ("广东省", "佛山市", "顺德区", "440606"),
)
_ELSEWHERE = (
    ("湖南省", "衡阳市", "衡南县"),
    ("广西壮族自治区", "玉林市", "博白县"),
    ("四川省", "绵阳市", "三台县"),
    ("湖北省", "武汉市", "黄陂区"),
    ("江西省", "赣州市", "于都县"),
    ("河南省", "周口市", "郸城县"),
    ("贵州省", "遵义市", "湄潭县"),
)
RESIDENT = "resident"
NON_RESIDENT = "non_resident"
ADDRESS_UNKNOWN = "unknown"


def chinese_name(rng: random.Random) -> tuple[str, str]:
    family = rng.choice(_FAMILY)
    given = "".join(rng.choice(_GIVEN) for _ in range(1 if rng.random() < 0.3 else 2))
    return family, given


def phone(rng: random.Random) -> str:
    return rng.choice(("13", "15", "17", "18", "19")) + f"{rng.randrange(0, 10**9):09d}"


def home_address(rng: random.Random, street: Street | None, residence: str) -> dict[str, Any]:
    """The current address (现住址) as senders write it: a resident's names the district (as
    text or code) and carries the street extension; a non-resident's is in a neighbouring
    district or another province; an unknown one is a bare line (no district, city,
    province or street code)."""
    house = (
        f"{rng.randint(1, 399)}号{rng.randint(1, 30)}幢{rng.randint(1, 24)}0{rng.randint(1, 4)}室"
    )
    if residence == ADDRESS_UNKNOWN:
        return {"use": "home", "line": [f"{rng.choice('东南西北')}街{rng.randint(1, 200)}号"]}
    if residence == NON_RESIDENT:
        if rng.random() < 0.7:
            province, city, county, code = rng.choice(_NEIGHBOURS)
            return {
                "use": "home",
                "line": [f"{county}{rng.choice('东南西北')}环路{house}"],
                "city": city,
                # a neighbour's district as text or as its code
                "district": code if rng.random() < 0.3 else county,
                "state": province,
            }
        province, city, county = rng.choice(_ELSEWHERE)
        return {
            "use": "home",
            "line": [f"{rng.choice('东南西北')}街{rng.randint(1, 200)}号"],
            "city": city,
            "district": county,
            "state": province,
        }
    assert street is not None
    address: dict[str, Any] = {
        "use": "home",
        "line": [f"{street.name}{rng.choice(_ROADS)}{house}"],
        "city": CITY,
        # the district as text, now and then as its code
        "district": DISTRICT_CODE if rng.random() < 0.2 else DISTRICT,
        "state": PROVINCE,
        "extension": [{"url": STREET_EXTENSION, "valueCode": street.code}],
    }
    return address


def birth_date_for(rng: random.Random, lmp: date, mean_age: float, sd: float) -> date:
    age = min(46.0, max(17.0, rng.gauss(mean_age, sd)))
    return lmp - timedelta(days=int(age * 365.25))
