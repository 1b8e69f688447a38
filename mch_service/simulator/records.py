"""The simulator's records: what each institution enters about a woman, before it becomes FHIR.

A ``Record`` is one business record (one FHIR resource) with its final content and its later
versions (``updates``: a discharge, a death). The mess of real feeds (late, twice, wrong then
corrected, in error then deleted, invalid) is added when records are sent (``emit.py``); it never
changes what a record finally says, which is what the truth reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(eq=False, slots=True)
class Record:
    kind: str
    resource_type: str
    inst: str
    at: datetime  # local (Asia/Shanghai) time of the fact; the record is entered at/after it
    rid: str  # resource id used in the history backfill; also the identifier value
    data: dict[str, Any]
    refs: dict[str, Record] = field(default_factory=dict)
    updates: list[tuple[datetime, dict[str, Any]]] = field(default_factory=list)
    event: int = 0  # records of one care event are sent together
    anchor: bool = False  # other records refer to it: never sent late
    pregnancy: int = -1  # index of the woman's pregnancy (-1: the woman's Patient records)

    def final_data(self, until: datetime | None = None) -> dict[str, Any]:
        data = dict(self.data)
        for at, changes in self.updates:
            if until is None or at <= until:
                data.update(changes)
        return data


@dataclass(eq=False)
class Woman:
    index: int
    resident_id: str
    bad_id: bool
    birth_date: date
    family: str
    given: str
    phone: str
    street: str | None
    chc: str | None
    address: dict[str, Any]
    residence: str  # resident | non_resident | unknown (district.RESIDENT, ...)
    hiv: bool
    syphilis: bool
    hbsag: bool
    thalassaemia: bool
    hb_base: float
    home_hospital: str  # bad-ID women: the one institution of all her care
    # a past, treated syphilis: treponemal tests stay positive, non-treponemal ones negative
    syphilis_past: bool = False
    patients: dict[str, Record] = field(default_factory=dict)
    mrns: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.family + self.given

    def infected(self, infection: str) -> bool:
        return {"hiv": self.hiv, "syphilis": self.syphilis, "hbsag": self.hbsag}[infection]
