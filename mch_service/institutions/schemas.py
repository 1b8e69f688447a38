"""What the institutions API takes and returns (administrators)."""

from __future__ import annotations

from pydantic import BaseModel


class InstitutionCreate(BaseModel):
    id: str
    name: str


class ApiKeyRead(BaseModel):
    """An API key as listed: never the key itself, only its first characters."""

    key_id: int
    prefix: str
    revoked: bool


class InstitutionRead(BaseModel):
    id: str
    name: str
    active: bool
    keys: list[ApiKeyRead]


class IssuedKeyRead(BaseModel):
    """A new API key: shown once, in this response only."""

    id: str  # the institution
    api_key: str
    key_id: int


class KeysRevoked(BaseModel):
    revoked: int
