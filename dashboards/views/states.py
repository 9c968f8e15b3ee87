"""The states a tile, device or link shows, worst first, and how each is written and coloured.

`worst(states)` picks what a tile shows for many things. Each state has a catalog key
(`state.<name>`: 稼働 / 停止 / 到達不能 / 保守中 ...), a CSS class (`state-<name>`) and an icon: colour
is never the only sign, every state is also written out or drawn (colour-blind safe).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

__all__ = ["State", "worst"]


class State(enum.Enum):
    """Worst first: `worst()` takes the lowest rank."""

    CRITICAL = "critical"
    UNREACHABLE = "unreachable"
    WARNING = "warning"
    MAINTENANCE = "maintenance"
    OK = "ok"
    UNKNOWN = "unknown"

    @property
    def rank(self) -> int:
        return _ORDER.index(self)

    @property
    def key(self) -> str:
        """Its catalog key."""
        return f"state.{self.value}"

    @property
    def css(self) -> str:
        return f"state-{self.value}"

    @property
    def icon(self) -> str:
        """A sign besides its colour and word (colour-blind safe)."""
        return _ICONS[self.value]


_ICONS = {"critical": "✖", "unreachable": "◌", "warning": "▲", "maintenance": "⚙", "ok": "●", "unknown": "?"}
_ORDER = (State.CRITICAL, State.UNREACHABLE, State.WARNING, State.MAINTENANCE, State.OK, State.UNKNOWN)


def worst(states: Iterable[State]) -> State:
    """The worst of `states` (OK for none: nothing is wrong that we know of)."""
    return min(states, key=lambda s: s.rank, default=State.OK)
