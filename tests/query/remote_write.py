"""Kept for benchmarks/query.py and benchmarks/alerting_rules.py, which import `group` from here: the
remote-write encoder moved to store/remote.py. Import from there; delete this file once they do."""

from store.remote import TimeSeries, encode, group, send

__all__ = ["TimeSeries", "encode", "group", "send"]
