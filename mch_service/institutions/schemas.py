"""What the institutions API takes and returns (administrators)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

InstitutionKind = Literal["hospital", "mch_hospital", "chc", "other"]


class InstitutionCreate(BaseModel):
    id: str
    name: str
    kind: InstitutionKind = "other"


class ApiKeyRead(BaseModel):
    """An API key as listed: never the key itself, only its first characters."""

    key_id: int
    prefix: str
    revoked: bool


class InstitutionRead(BaseModel):
    """An institution. ``keys`` (their prefixes) only for administrators; other staff read the
    directory (id, name, kind) to name institutions in lists and reports."""

    id: str
    name: str
    kind: InstitutionKind
    active: bool
    keys: list[ApiKeyRead] | None = None


class IssuedKeyRead(BaseModel):
    """A new API key: shown once, in this response only."""

    id: str  # the institution
    api_key: str
    key_id: int


class KeysRevoked(BaseModel):
    revoked: int


class StreetWrite(BaseModel):
    """A street or town of the district (PUT /api/v1/streets/{code})."""

    name: str = Field(min_length=1, max_length=100)
    name_en: str | None = Field(default=None, max_length=100)
    # the community health centre responsible for the street's women (an institution id)
    centre_id: str | None = Field(default=None, max_length=64)


class StreetRead(BaseModel):
    code: str
    name: str
    name_en: str | None
    centre_id: str | None
    centre_name: str | None
