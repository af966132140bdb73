"""Roles and what each may do (docs/product.md, Who may do what)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    REPORTER = "reporter"


class Permission(StrEnum):
    VIEW_RUNS = "view_runs"
    WRITE_CORE_DATA = "write_core_data"
    MANAGE_TICKETS = "manage_tickets"
    MANAGE_MAPPINGS = "manage_mappings"
    ADMINISTER = "administer"


_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.OPERATOR: frozenset({Permission.VIEW_RUNS, Permission.MANAGE_TICKETS, Permission.MANAGE_MAPPINGS}),
    Role.REPORTER: frozenset({Permission.VIEW_RUNS}),
}


def permits(role: Role, permission: Permission) -> bool:
    return permission in _GRANTS[role]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: a user name and the role it holds."""

    name: str
    role: Role

    def may(self, permission: Permission) -> bool:
        return permits(self.role, permission)
