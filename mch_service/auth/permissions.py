"""Roles and what each may do. Checked in the service layer, so every route, export and count
obeys the same rule."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from mch_service.errors import Forbidden


class Role(StrEnum):
    ADMIN = "admin"  # everything, including institutions, users and code tables
    REVIEWER = "reviewer"  # cases and pregnancies in their jurisdiction, with personal data
    MONITOR = "monitor"  # indicators and aggregates; identifiers always masked


class Permission(StrEnum):
    MANAGE_USERS = "manage_users"
    MANAGE_INSTITUTIONS = "manage_institutions"
    MANAGE_CODE_TABLES = "manage_code_tables"
    READ_AUDIT = "read_audit"
    READ_INDICATORS = "read_indicators"
    READ_PREGNANCIES = "read_pregnancies"  # masked for monitors, full for reviewers/admins
    READ_PERSONAL_DATA = "read_personal_data"
    WORK_CASES = "work_cases"
    RUN_JOBS = "run_jobs"
    # the maternal death report card: enter deaths, confirm or exclude any (monitoring group)
    REVIEW_MATERNAL_DEATHS = "review_maternal_deaths"
    # figures of external indicators (HIV MTCT, premarital examination, ...)
    ENTER_EXTERNAL_FIGURES = "enter_external_figures"
    # the FHIR Bulk Data export of the whole district's stored records (administrators; the
    # platform above the district pulls with an export client's key instead)
    BULK_EXPORT = "bulk_export"


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.REVIEWER: frozenset(
        {Permission.READ_PREGNANCIES, Permission.READ_PERSONAL_DATA, Permission.WORK_CASES}
    ),
    Role.MONITOR: frozenset(
        {
            Permission.READ_INDICATORS,
            Permission.READ_PREGNANCIES,
            Permission.REVIEW_MATERNAL_DEATHS,
            Permission.ENTER_EXTERNAL_FIGURES,
        }
    ),
}


@dataclass(frozen=True)
class Principal:
    """A signed-in staff member, as the services see them."""

    user_id: int
    username: str
    role: Role
    streets: frozenset[str] = field(default_factory=frozenset)
    institutions: frozenset[str] = field(default_factory=frozenset)
    token_id: int | None = None
    client_ip: str | None = None

    def can(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise Forbidden(f"Your role ({self.role}) does not allow this")

    @property
    def sees_everything(self) -> bool:
        """Admins and monitors are district-wide; a reviewer sees only their jurisdiction."""
        return self.role != Role.REVIEWER

    def in_jurisdiction(self, street: str | None, institutions: set[str] | frozenset[str]) -> bool:
        """A record is in a reviewer's jurisdiction when the woman lives in one of their
        streets or one of their institutions took part in her care."""
        if self.sees_everything:
            return True
        return (street is not None and street in self.streets) or bool(
            self.institutions & set(institutions)
        )


def system_principal() -> Principal:
    """The command line: whoever has a shell on the server administers it."""
    return Principal(0, "cli", Role.ADMIN, client_ip="local")
