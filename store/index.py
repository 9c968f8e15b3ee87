"""Series selection by label matchers (`=`, `!=`, `=~`, `!~`), with Prometheus semantics:
regular expressions are fully anchored and a missing label matches as the empty string."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from model import Labels

__all__ = ["MatchOp", "Matcher", "SeriesRef", "matches"]


class MatchOp(enum.Enum):
    EQ = "="
    NE = "!="
    RE = "=~"
    NRE = "!~"


@dataclass(frozen=True, slots=True)
class Matcher:
    """One label matcher; the label `__name__` matches the metric name."""

    name: str
    op: MatchOp
    value: str
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.op in (MatchOp.RE, MatchOp.NRE):
            try:
                compiled = re.compile(f"^(?:{self.value})$")
            except re.error as exc:
                raise ValueError(f"invalid regular expression {self.value!r}: {exc}") from exc
            object.__setattr__(self, "_regex", compiled)

    def match(self, value: str) -> bool:
        if self.op is MatchOp.EQ:
            return value == self.value
        if self.op is MatchOp.NE:
            return value != self.value
        assert self._regex is not None
        found = self._regex.match(value) is not None
        return found if self.op is MatchOp.RE else not found


@dataclass(frozen=True, slots=True)
class SeriesRef:
    """A stored series: its id, metric name and labels."""

    id: int
    name: str
    labels: Labels


def matches(matchers: Sequence[Matcher], name: str, labels: Labels) -> bool:
    for m in matchers:
        value = name if m.name == "__name__" else labels.get(m.name, "")
        if not m.match(value):
            return False
    return True


def select(series: Iterable[tuple[int, str, Labels]], matchers: Sequence[Matcher]) -> list[SeriesRef]:
    """Every series matching all matchers, ordered by id."""
    return sorted(
        (SeriesRef(sid, name, labels) for sid, name, labels in series if matches(matchers, name, labels)),
        key=lambda r: r.id,
    )
