"""Shapes of the domain's staff API: the pregnancy record, the unmapped-codes report and the
site's code tables (request bodies and ``response_model``s)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class PatientRecordRef(BaseModel):
    institution: str
    resource: str  # the sender's own reference, "Patient/123"


class WomanRead(BaseModel):
    """The woman, masked unless the reader may see personal data (``masked``)."""

    key: str
    name: str | None
    resident_id: str | None
    phone: str | None
    address: str | None
    street: str | None
    birth_date: str | None  # the year only when masked
    resident_id_valid: bool
    records: list[PatientRecordRef]
    masked: bool


class DatingRead(BaseModel):
    lmp: str | None
    edd: str | None
    source: str | None


class FirstContactRead(BaseModel):
    date: str | None
    institution: str | None


class PregnancyEndRead(BaseModel):
    date: str | None
    kind: str | None  # delivery | loss | death


class DeliveryRead(BaseModel):
    date: str
    admission: str
    discharge: str
    institution: str
    mode: str | None
    facility: bool
    ga_days: int | None
    live_births: int
    stillbirths: int


class BirthRead(BaseModel):
    seq: int
    live: bool
    sex: str | None
    weight_g: float | None
    # the 5-minute Apgar score (else a score whose minute the code does not say)
    apgar: float | None
    apgar_1: float | None = None  # the 1-minute score (LOINC 9272-6)
    apgar_5: float | None = None  # the 5-minute score (LOINC 9274-2)
    neonatal_death_age_days: int | None


class DeathRead(BaseModel):
    date: str
    timing: str
    maternal: bool
    cause: str | None
    institution: str


class DataQualityRead(BaseModel):
    """A flag on the pregnancy, or on one of its records or the woman's Patient records."""

    rule: str
    message: str
    element: str | None = None
    resource: str | None = None  # the sender's reference of the record flagged


class TimelineItem(BaseModel):
    """One fact on the pregnancy's timeline. ``kind`` is the fact table's name, the same for
    every row of it (``prenatal_visit``, ``postpartum_visit``, ``lab_result``,
    ``newborn_observation``, ...). Besides these keys each kind has its own: the fields of its
    fact table (e.g. a lab_result's concept, result, value, unit, source; a fact's own kind as
    ``type``: a postpartum visit's ``visit`` or ``check_42d``, a dating's ``lmp``, an Apgar's
    ``apgar_1`` / ``apgar_5``), and last ``resource``, the sender's reference of the resource
    it came from ("Observation/1")."""

    model_config = ConfigDict(extra="allow")

    date: str | None
    kind: str
    institution: str
    version: int


class PregnancyRecord(BaseModel):
    id: str
    woman: WomanRead
    dating: DatingRead
    first_contact: FirstContactRead
    end: PregnancyEndRead
    institutions: list[str]
    excluded_from_indicators: bool
    delivery: DeliveryRead | None
    births: list[BirthRead]
    death: DeathRead | None
    data_quality: list[DataQualityRead]
    timeline: list[TimelineItem]


class UnmappedCodeRead(BaseModel):
    """A code no code table recognises, per sender: how many resources carry it."""

    institution: str
    resource_type: str
    element: str
    system: str
    code: str
    display: str | None
    count: int
    first_seen: str
    last_seen: str


class CodeRowRead(BaseModel):
    concept: str
    system: str
    code: str
    display: str
    value: str
    unit: str
    source: str  # "file.csv:12"


class CodeTablesRead(BaseModel):
    """Every code in force: the shipped defaults and the site's files."""

    files: list[str]
    codes: list[CodeRowRead]


class CodeTableSaved(BaseModel):
    file: str
    codes_in_force: int
    next: str


class PregnancyLookup(BaseModel):
    """Find a woman's pregnancies by exactly one identifier (in the body: it is personal
    data, and URLs end up in logs)."""

    model_config = ConfigDict(extra="forbid")

    resident_id: str | None = Field(default=None, min_length=1, max_length=32)
    mrn: str | None = Field(default=None, min_length=1, max_length=64)
    patient: str | None = Field(default=None, min_length=1, max_length=80)
    # her full name, matched exactly after normalisation (mch_service.domain.name_index:
    # NFKC, spaces removed), never in part; homonyms are normal, so several women may match
    name: str | None = Field(default=None, min_length=1, max_length=100)
    # with ``name`` only: narrows it to records giving this date of birth
    birth_date: date | None = None
    # the sending institution: required with ``patient`` (ids are each sender's own),
    # narrows an ``mrn`` or a ``name`` to that institution's records
    institution: str | None = Field(default=None, min_length=1, max_length=64)


class PregnancyMatch(BaseModel):
    pregnancy_id: str
    name: str | None = None  # masked (王*红), from her latest record
    resident_id: str | None = None  # masked (440115********1234)
    lmp: str | None
    edd: str | None
    first_contact_date: str | None
    end_date: str | None
    end_kind: str | None
    street: str | None
    institutions: list[str]


class PregnancyLookupResult(BaseModel):
    matches: list[PregnancyMatch]
    # more pregnancies matched than are listed (at most 50): narrow the search (a name with
    # her birth date, or an identifier)
    truncated: bool
