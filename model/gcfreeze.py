"""Keeping Python's cyclic garbage collector off the store's long-lived objects.

The console holds millions of objects that live for hours (the head's series, label sets, index
entries, caches). A query over 10,000 series allocates tens of thousands of short-lived objects,
enough to trigger a full collection every second or third query, and a full collection walks every
one of those long-lived objects: 100-130 ms added to a 90 ms query (measured, benchmarks/query.py).
`gc.freeze()` moves every object alive at that moment to a generation the collector never walks.

`freeze_survivors()` collects first, so no garbage that exists now is frozen; the console calls it
at start and every `FREEZE_EVERY` seconds after (`run_console.py`), so the objects made since (new
series) are frozen too. The price: a reference cycle that was alive at a freeze and becomes garbage
later is not collected (objects without cycles are freed by reference counting as always). The
store and the collectors keep no such cycles; the count of frozen objects is logged.
"""

from __future__ import annotations

import asyncio
import gc
import logging

__all__ = ["FREEZE_EVERY", "freeze_survivors", "keep_frozen"]

log = logging.getLogger(__name__)

FREEZE_EVERY = 600.0
"""Seconds between two freezes in the running console."""


def freeze_survivors() -> int:
    """Collect garbage, then freeze what is left; the number of objects frozen in total."""
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.debug("gc: %d objects frozen", frozen)
    return frozen


def keep_frozen(loop: asyncio.AbstractEventLoop) -> None:
    """Freeze now and every `FREEZE_EVERY` seconds on `loop` (call it on the loop's thread, e.g.
    through `loop.call_soon_threadsafe`); it ends with the loop."""
    freeze_survivors()
    loop.call_later(FREEZE_EVERY, keep_frozen, loop)
