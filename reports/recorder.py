"""What the availability reports are computed from: the state of every device, link and probe, and
the firing alerts, observed every `RECORD_INTERVAL` seconds into the history (reports/history.py).

`StateRecorder.observe(t)` asks the query engine, with the expressions of the shipped rules but
without their `for` delays (an outage starts when the state changes, not when the alert fires):

- a device is `down` when every collector of it fails while a path to it exists (`DOWN_EXPR`), and
  `unreachable` when its parents are down (`UNREACHABLE_EXPR`: the collectors' `target_unreachable`);
- a link is `down` while an interface at either end is operationally down (`LINK_DOWN_EXPR`);
- a probe (the http, tcp or ping collector of a device) is `failing` while its `up` is 0 (`PROBE_EXPR`);

and records the alerts firing then (their `activeAt` as start), for the outages' causes and the
`alerts:` leaves. A failing query is logged and its kind of leaf keeps its last state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from alerts.model import Alert
from reports.history import HistoryDB
from reports.service import LeafKind, leaf_key
from store.query.result import QueryError, QueryResult

__all__ = ["DOWN_EXPR", "LINK_DOWN_EXPR", "PROBE_EXPR", "RECORD_INTERVAL", "UNREACHABLE_EXPR", "StateRecorder"]

log = logging.getLogger(__name__)

RECORD_INTERVAL = 15.0
DOWN_EXPR = "max by (target) (up) == 0 and on (target) max by (target) (target_unreachable) == 0"
UNREACHABLE_EXPR = "max by (target) (target_unreachable) == 1"
LINK_DOWN_EXPR = 'min by (link) (interface_oper_up{link!=""}) == 0'
PROBE_EXPR = 'max by (target, collector) (up{collector=~"http|tcp|ping"}) == 0'

Query = Callable[[str, float], QueryResult]


class StateRecorder:
    def __init__(self, history: HistoryDB, *, query: Query, firing: Callable[[], Iterable[Alert]]) -> None:
        self.history = history
        self._query = query
        self._firing = firing
        self._last: dict[str, dict[str, str]] = {}

    def observe(self, t: float) -> None:
        bad: dict[str, str] = {}
        for name, expr, kind, state in (
            ("down", DOWN_EXPR, LeafKind.DEVICE, "down"),
            ("unreachable", UNREACHABLE_EXPR, LeafKind.DEVICE, "unreachable"),
            ("links", LINK_DOWN_EXPR, LeafKind.LINK, "down"),
            ("probes", PROBE_EXPR, LeafKind.PROBE, "failing"),
        ):
            try:
                result = self._query(expr, t)
            except QueryError as e:
                log.warning("state history: %s failed: %s (its leaves keep their last state)", expr, e)
                found = self._last.get(name, {})
            else:
                found = {}
                for sample in result.vector:
                    labels = sample.labels
                    if kind is LeafKind.PROBE:
                        name_ = f"{labels.get('target', '')}/{labels.get('collector', '')}"
                    else:
                        name_ = labels.get("link" if kind is LeafKind.LINK else "target", "")
                    if name_:
                        found[leaf_key(kind, name_)] = state
                self._last[name] = found
            for key, value in found.items():
                bad.setdefault(key, value)  # down before unreachable
        self.history.observe(t, bad)
        self.history.observe_alerts(t, self._firing())
