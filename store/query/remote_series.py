"""The console API's series look-ups (`dashboards.api_series.SeriesStore`) answered by a remote
query engine's /api/v1/series, for /api/v1/series, /labels, /label/NAME/values and /metadata when
the samples live in Prometheus or VictoriaMetrics and there is no embedded store.

    engine = PrometheusEngine("http://127.0.0.1:9090")
    series = RemoteSeries(engine)
    QueryApi(engine, series, series.metadata, now=..., version=...)

A look-up answers what the engine's /api/v1/series answers: Prometheus knows which series have
samples in a time range; VictoriaMetrics' index knows it by whole days, so a series that ended
earlier on a day still counts for a later range of that day.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence

from model import Labels, Sample
from store.index import Matcher, MatchOp, SeriesRef
from store.query.remote_engine import PrometheusEngine

__all__ = ["RemoteSeries", "selector_text"]

_NO_END_MS = 100_000_000_000_000
"""A look-up ending after this (year 5138, in ms) has no end (the console's API says 1e15 s for none)."""


class RemoteSeries:
    """`dashboards.api_series.SeriesStore` over the engine's /api/v1/series, for the console's
    series, label and metadata look-ups when there is no embedded store.

    Series get ids on first sight (kept for the adapter's life: the table grows with the distinct
    series looked up, as a store's index does). `latest()` knows nothing (the engine has no cheap
    "newest sample of every series"), so a look-up with a time range asks the engine which of the
    selected series have samples then (`read_range`). Raises QueryError as the engine does.
    """

    def __init__(self, engine: PrometheusEngine) -> None:
        self._engine = engine
        self._ids: dict[Labels, int] = {}
        self._series: dict[int, Labels] = {}
        self._lock = threading.Lock()

    def select(self, matchers: Sequence[Matcher]) -> list[SeriesRef]:
        """The series matching all `matchers` (every series for none), ordered by id."""
        found = self._engine.series([selector_text(matchers)])
        refs = [self._ref(labels) for labels in found]
        return sorted(refs, key=lambda r: r.id)

    def read_range(self, ids: Sequence[int], start_ms: int, end_ms: int) -> Mapping[int, object]:
        """Which of `ids` have samples in [start_ms, end_ms] (the keys; values are None)."""
        with self._lock:
            wanted = {self._series[i]: i for i in ids if i in self._series}
        names = sorted({labels.get("__name__", "") for labels in wanted})
        if not names:
            return {}
        selectors = [selector_text([Matcher("__name__", MatchOp.EQ, name)]) for name in names]
        start = start_ms / 1000 if start_ms > 0 else None
        end = end_ms / 1000 if end_ms < _NO_END_MS else None
        found = self._engine.series(selectors, start, end)
        return {wanted[labels]: None for labels in found if labels in wanted}

    def latest(self, max_age: float | None = None) -> list[Sample]:
        """Nothing: the engine is asked per look-up instead (see `read_range`)."""
        return []

    def metadata(self, name: str) -> tuple[str, str] | None:
        """`dashboards.api_series.MetadataLookup` over the engine's /api/v1/metadata: (type, help)
        of metric family `name`, or None (also when the engine keeps no metadata)."""
        return self._engine.metadata(name)

    def _ref(self, labels: Labels) -> SeriesRef:
        with self._lock:
            sid = self._ids.get(labels)
            if sid is None:
                sid = self._ids[labels] = len(self._ids) + 1
                self._series[sid] = labels
        return SeriesRef(sid, labels.get("__name__", ""), labels.without("__name__"))


def selector_text(matchers: Sequence[Matcher]) -> str:
    """`matchers` as a PromQL series selector, with `__name__!=""` added when no matcher names the
    metric: Prometheus refuses a selector whose every matcher matches the empty string (`{}`), and
    VictoriaMetrics 1.79 finds nothing for `__name__=~".+"`."""
    parts = [f"{m.name}{m.op.value}{json.dumps(m.value, ensure_ascii=False)}" for m in matchers]
    if not any(m.name == "__name__" for m in matchers):
        parts.append('__name__!=""')
    return "{" + ",".join(parts) + "}"
