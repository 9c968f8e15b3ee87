"""Series, label and metadata look-ups of the HTTP API (/api/v1/series, /labels, /label/NAME/values,
/metadata), over any store with `select`, `read_range` and `latest` (the console's `Store`).

A series counts for [start, end] when it has a sample in that time, as in Prometheus. Deciding that
costs no read for most series: a series whose newest sample (`latest()`) lies in [start, end] has
one, a series whose newest sample is older than `start` has none; only the others (newer than `end`,
or not in the head since a restart) are read. Without a time range every stored series counts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Protocol

from model import Sample
from store.index import Matcher, SeriesRef

__all__ = ["MetadataLookup", "SeriesStore", "TimeRange", "label_names", "label_values", "metadata", "series"]

TimeRange = tuple[float, float] | None
"""(start, end) in Unix seconds, or None for all time."""

MetadataLookup = Callable[[str], tuple[str, str] | None]
"""`family name -> (type, help)` as exporters declared them, or None."""

# Sample-name suffixes of a family of each type (a counter family `x` exposes `x_total`).
_FAMILY_SUFFIXES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "_total": ("counter",),
        "_bucket": ("histogram", "gaugehistogram"),
        "_sum": ("histogram", "summary"),
        "_count": ("histogram", "summary"),
        "_info": ("info",),
    }
)


class SeriesStore(Protocol):
    """What the look-ups read: the console's `Store` satisfies it."""

    def select(self, matchers: Sequence[Matcher]) -> list[SeriesRef]: ...

    def read_range(self, ids: Sequence[int], start_ms: int, end_ms: int) -> Mapping[int, object]: ...

    def latest(self, max_age: float | None = None) -> list[Sample]: ...


def _matching(store: SeriesStore, matcher_sets: Sequence[Sequence[Matcher]], when: TimeRange) -> list[SeriesRef]:
    """Series matching any of the matcher sets (all series for no sets), each once, ordered by id,
    that have a sample in `when`."""
    found: dict[int, SeriesRef] = {}
    for matchers in matcher_sets or ((),):
        for ref in store.select(matchers):
            found.setdefault(ref.id, ref)
    refs = [found[sid] for sid in sorted(found)]
    return refs if when is None else _with_samples(store, refs, when)


def _with_samples(store: SeriesStore, refs: list[SeriesRef], when: tuple[float, float]) -> list[SeriesRef]:
    start, end = when
    newest = {(s.name, s.labels): s.ts for s in store.latest()}
    keep: set[int] = set()
    unsure: list[int] = []
    for ref in refs:
        ts = newest.get((ref.name, ref.labels))
        if ts is not None and start <= ts <= end:
            keep.add(ref.id)
        elif ts is None or ts > end:
            unsure.append(ref.id)
    if unsure:
        keep.update(store.read_range(unsure, _ms(start), _ms(end)))
    return [ref for ref in refs if ref.id in keep]


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _full(ref: SeriesRef) -> dict[str, str]:
    """The series' labels with `__name__`, in label-name order."""
    return dict(sorted([("__name__", ref.name), *ref.labels.pairs]))


def series(store: SeriesStore, matcher_sets: Sequence[Sequence[Matcher]], when: TimeRange) -> list[dict[str, str]]:
    """/api/v1/series: the label sets (with `__name__`) of matching series, sorted as Prometheus
    sorts label sets (pair by pair in label-name order)."""
    sets = [_full(ref) for ref in _matching(store, matcher_sets, when)]
    return sorted(sets, key=lambda labels: list(labels.items()))


def label_names(store: SeriesStore, matcher_sets: Sequence[Sequence[Matcher]], when: TimeRange) -> list[str]:
    """/api/v1/labels: every label name (`__name__` included) of matching series, sorted."""
    names: set[str] = set()
    for ref in _matching(store, matcher_sets, when):
        names.add("__name__")
        names.update(ref.labels)
    return sorted(names)


def label_values(
    store: SeriesStore, name: str, matcher_sets: Sequence[Sequence[Matcher]], when: TimeRange
) -> list[str]:
    """/api/v1/label/NAME/values: the non-empty values of label `name` (metric names for
    `__name__`) among matching series, sorted."""
    values: set[str] = set()
    for ref in _matching(store, matcher_sets, when):
        value = ref.name if name == "__name__" else ref.labels.get(name, "")
        if value:
            values.add(value)
    return sorted(values)


def metadata(
    store: SeriesStore, lookup: MetadataLookup, *, metric: str = "", limit: int = -1
) -> dict[str, list[dict[str, str]]]:
    """/api/v1/metadata: `{name: [{"type", "help", "unit"}]}` for the stored metric names an exporter
    declared, or only `metric`; at most `limit` names when `limit` >= 0. A name is listed as stored
    (`x_total` of counter family `x`), a histogram's or summary's series under the family's name."""
    names = [metric] if metric else sorted({ref.name for ref in store.select(())})
    found: dict[str, list[dict[str, str]]] = {}
    for name in names:
        if 0 <= limit <= len(found):
            break
        entry = _declared(name, lookup)
        if entry is not None:
            key, kind, text = entry
            found.setdefault(key, [{"type": kind, "help": text, "unit": ""}])
    return found


def _declared(name: str, lookup: MetadataLookup) -> tuple[str, str, str] | None:
    """(listed name, type, help) of the family a stored metric name belongs to, or None."""
    own = lookup(name)
    if own is not None:
        return name, *own
    for suffix, kinds in _FAMILY_SUFFIXES.items():
        if name.endswith(suffix):
            family = name.removesuffix(suffix)
            declared = lookup(family)
            if declared is not None and declared[0] in kinds:
                listed = name if suffix in ("_total", "_info") else family
                return listed, *declared
    return None
