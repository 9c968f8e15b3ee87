"""The vocabulary every layer speaks: label sets and samples.

A `Labels` is an immutable, hashable, sorted set of label pairs (the metric name is not a label).
A `Sample` is one observation: metric name, labels, value and Unix time in seconds (UTC).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import NamedTuple, TypeVar, overload

__all__ = ["LABEL_NAME_RE", "METRIC_NAME_RE", "Labels", "Sample"]

METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_T = TypeVar("_T")


class Labels(Mapping[str, str]):
    """An immutable label set. Pairs with an empty value are dropped, as in Prometheus."""

    __slots__ = ("_hash", "_pairs")

    _pairs: tuple[tuple[str, str], ...]
    _hash: int

    def __init__(self, pairs: Mapping[str, str] | None = None, /, **kwargs: str) -> None:
        merged = dict(pairs or {})
        merged.update(kwargs)
        items = tuple(sorted((k, v) for k, v in merged.items() if v != ""))
        object.__setattr__(self, "_pairs", items)
        object.__setattr__(self, "_hash", hash(items))

    @classmethod
    def from_pairs(cls, pairs: tuple[tuple[str, str], ...]) -> Labels:
        """Build from pairs already sorted by name with no empty values (no checks: hot path)."""
        obj = cls.__new__(cls)
        object.__setattr__(obj, "_pairs", pairs)
        object.__setattr__(obj, "_hash", hash(pairs))
        return obj

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Labels is immutable")

    def __getitem__(self, key: str) -> str:
        for k, v in self._pairs:
            if k == key:
                return v
        raise KeyError(key)

    @overload
    def get(self, key: str, /) -> str | None: ...

    @overload
    def get(self, key: str, default: str, /) -> str: ...

    @overload
    def get(self, key: str, default: _T, /) -> str | _T: ...

    def get(self, key: str, default: object = None, /) -> object:
        """As `Mapping.get`, without its exception on a miss (alert and wall views call it a lot)."""
        for k, v in self._pairs:
            if k == key:
                return v
        return default

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._pairs)

    def __len__(self) -> int:
        return len(self._pairs)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Labels):
            return self._pairs == other._pairs
        return NotImplemented

    def __repr__(self) -> str:
        inner = ", ".join(f'{k}="{v}"' for k, v in self._pairs)
        return "{" + inner + "}"

    @property
    def pairs(self) -> tuple[tuple[str, str], ...]:
        """The label pairs sorted by name."""
        return self._pairs

    def merge(self, other: Mapping[str, str]) -> Labels:
        """A new label set with `other`'s pairs added; `other` wins on conflicts."""
        if not other:
            return self
        merged = dict(self._pairs)
        merged.update(other)
        return Labels(merged)

    def without(self, *names: str) -> Labels:
        """A new label set without the given label names."""
        return Labels.from_pairs(tuple(p for p in self._pairs if p[0] not in names))


class Sample(NamedTuple):
    """One observation. `ts` is Unix time in seconds (UTC); `value` a float (NaN allowed)."""

    name: str
    labels: Labels
    value: float
    ts: float
