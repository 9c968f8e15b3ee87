"""Status enums shared by collectors, store and reports."""

from __future__ import annotations

import enum

__all__ = ["TargetState"]


class TargetState(enum.Enum):
    """The state of a monitored target, as recorded in the state-interval history."""

    UP = "up"
    DOWN = "down"
    UNREACHABLE = "unreachable"
    UNKNOWN = "unknown"
