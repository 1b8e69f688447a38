"""The access rule itself (mch_service/auth/permissions.py), row by row: who may do what, and
which records are in a reviewer's jurisdiction. The routes are walked in test_roles.py and
tests/cases/test_case_access.py; this pins the rule they all call."""

from __future__ import annotations

import pytest

from mch_service.auth.permissions import GRANTS, Permission, Principal, Role, system_principal
from mch_service.errors import Forbidden


def reviewer(streets: set[str] | None = None, institutions: set[str] | None = None) -> Principal:
    return Principal(
        1, "rev", Role.REVIEWER, frozenset(streets or ()), frozenset(institutions or ())
    )


@pytest.mark.parametrize(
    ("principal", "street", "institutions", "inside"),
    [
        # her street is one of the reviewer's
        (reviewer({"330102001"}), "330102001", set(), True),
        (reviewer({"330102001"}), "330102002", set(), False),
        # a street code is matched whole: a prefix of it is another street
        (reviewer({"33010200"}), "330102001", set(), False),
        (reviewer({"330102001"}), None, {"hosp-a"}, False),  # no street known
        # one of the reviewer's institutions took part in her care
        (reviewer(institutions={"hosp-a"}), None, {"hosp-a", "chc-1"}, True),
        (reviewer(institutions={"hosp-a"}), "330102001", {"hosp-ab"}, False),  # prefix
        (reviewer(institutions={"hosp-ab"}), "330102001", {"hosp-a"}, False),
        (reviewer(institutions={"osp-a"}), None, {"hosp-a"}, False),  # substring
        # either is enough
        (reviewer({"330102001"}, {"hosp-a"}), "330102009", {"hosp-a"}, True),
        (reviewer({"330102001"}, {"hosp-a"}), "330102001", {"hosp-b"}, True),
        (reviewer({"330102001"}, {"hosp-a"}), "330102009", {"hosp-b"}, False),
        # no jurisdiction: nothing
        (reviewer(), "330102001", {"hosp-a"}, False),
        (reviewer(), None, set(), False),
        # administrators and monitors are district-wide
        (Principal(2, "adm", Role.ADMIN), None, set(), True),
        (Principal(3, "mon", Role.MONITOR), "330102009", {"hosp-z"}, True),
    ],
)
def test_in_jurisdiction(
    principal: Principal, street: str | None, institutions: set[str], inside: bool
) -> None:
    assert principal.in_jurisdiction(street, institutions) is inside
    assert principal.in_jurisdiction(street, frozenset(institutions)) is inside


def test_who_sees_everything() -> None:
    assert Principal(1, "a", Role.ADMIN).sees_everything
    assert Principal(1, "m", Role.MONITOR).sees_everything
    assert not reviewer({"330102001"}).sees_everything


GRANTED = {
    Role.ADMIN: set(Permission),
    Role.REVIEWER: {
        Permission.READ_PREGNANCIES,
        Permission.READ_PERSONAL_DATA,
        Permission.WORK_CASES,
    },
    Role.MONITOR: {
        Permission.READ_INDICATORS,
        Permission.READ_PREGNANCIES,
        # the monitoring group keeps the maternal death report cards and external figures
        Permission.REVIEW_MATERNAL_DEATHS,
        Permission.ENTER_EXTERNAL_FIGURES,
    },
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("permission", list(Permission))
def test_role_permissions(role: Role, permission: Permission) -> None:
    principal = Principal(1, "u", role, frozenset({"1"}))
    allowed = permission in GRANTED[role]
    assert principal.can(permission) is allowed
    assert (permission in GRANTS[role]) is allowed
    if allowed:
        principal.require(permission)
    else:
        with pytest.raises(Forbidden, match=f"Your role \\({role}\\) does not allow this"):
            principal.require(permission)


def test_the_command_line_is_an_administrator() -> None:
    cli = system_principal()
    assert (cli.user_id, cli.username, cli.role, cli.client_ip) == (0, "cli", Role.ADMIN, "local")
    assert cli.sees_everything
