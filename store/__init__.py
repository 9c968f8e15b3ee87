"""The time-series store: in-memory head + durable SQLite, rollups, retention, state intervals.

Import `Store` and open it with `Store.open(data_dir, clock=..., metrics=...)`.
"""

from store.disk import StateRow
from store.head import SeriesData
from store.index import Matcher, MatchOp, SeriesRef
from store.rollups import RollupData
from store.tsdb import Store, StoreError, StoreLocked, StoreStalled
from store.writer import Retention

__all__ = [
    "MatchOp",
    "Matcher",
    "Retention",
    "RollupData",
    "SeriesData",
    "SeriesRef",
    "StateRow",
    "Store",
    "StoreError",
    "StoreLocked",
    "StoreStalled",
]
