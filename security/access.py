"""Who may do what: the permissions of the console and the principal a request acts as.

Each permission names the least role that holds it (roles are ordered, security/users.py); a kiosk
(a wall screen's read-only token) holds `WALL` and nothing else. Every Dash callback, page and API
route of the console names one permission (dashboards/auth.py enforces it on the server); the table
below is the one place that says which role gets it, and docs/security.md repeats it for people.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from security.users import Role

__all__ = ["KIOSK_PERMISSIONS", "LEAST_ROLE", "Permission", "Principal"]


class Permission(enum.Enum):
    WALL = "wall"
    """The wall page (what a kiosk sees)."""
    VIEW = "view"
    """Read-only pages and read-only API: alerts, devices, links, explore, queries, silences."""
    ACKNOWLEDGE = "acknowledge"
    """Acknowledge and un-acknowledge alerts, with a comment."""
    SILENCE = "silence"
    """Create and expire silences; create and delete maintenance windows."""
    REPORTS = "reports"
    """Availability page, reports API and exports."""
    RECLASSIFY = "reclassify"
    """Reclassify an outage as planned or external."""
    AUDIT = "audit"
    """Read and export the audit log."""
    ADMIN = "admin"
    """Users, the effective configuration, config reload."""


LEAST_ROLE: Mapping[Permission, Role] = MappingProxyType(
    {
        Permission.WALL: Role.VIEWER,
        Permission.VIEW: Role.VIEWER,
        Permission.ACKNOWLEDGE: Role.OPERATOR,
        Permission.SILENCE: Role.ONCALL,
        Permission.REPORTS: Role.MANAGER,
        Permission.RECLASSIFY: Role.ADMIN,
        Permission.AUDIT: Role.ADMIN,
        Permission.ADMIN: Role.ADMIN,
    }
)
"""The least role holding each permission."""

KIOSK_PERMISSIONS = frozenset({Permission.WALL})


@dataclass(frozen=True, slots=True)
class Principal:
    """Whom a request acts for. `kind` is "session" (logged in), "token" (API bearer token) or
    "kiosk" (a wall screen: `role` None). `session` is a short hash of the session id for the audit
    log ("" for tokens)."""

    name: str
    role: Role | None
    kind: str
    session: str = ""

    def may(self, permission: Permission) -> bool:
        if self.kind == "kiosk":
            return permission in KIOSK_PERMISSIONS
        return self.role is not None and self.role.allows(LEAST_ROLE[permission])

    @property
    def actor(self) -> str:
        """The name the audit log and acknowledgements record: `kiosk:NAME` for a kiosk."""
        return f"kiosk:{self.name}" if self.kind == "kiosk" else self.name
