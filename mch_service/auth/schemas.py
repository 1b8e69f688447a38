"""What the staff-accounts API takes and returns: request bodies passed whole to
``StaffAccounts``, and the response shapes shown in the OpenAPI document."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

# -- request bodies --------------------------------------------------------------------------


class UserCreate(BaseModel):
    username: str
    role: str  # admin | reviewer | monitor
    password: str = Field(repr=False)
    display_name: str = ""
    streets: list[str] = []
    institutions: list[str] = []


class PasswordReset(BaseModel):
    password: str = Field(repr=False)


class JurisdictionUpdate(BaseModel):
    streets: list[str] = []
    institutions: list[str] = []


# -- responses -------------------------------------------------------------------------------


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime


class CurrentUserRead(BaseModel):
    """The signed-in staff member (GET /me)."""

    username: str
    role: str
    streets: list[str]
    institutions: list[str]


class UserRead(BaseModel):
    """What an administrator sees of an account (never the hash)."""

    username: str
    display_name: str
    role: str
    streets: list[str]
    institutions: list[str]
    active: bool
    locked: bool  # locked, or every sign-in of the username slowed down now
    created_at: datetime
