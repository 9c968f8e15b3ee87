"""model/gcfreeze.py: the console freezes its long-lived objects out of the cyclic collector."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest

from model.gcfreeze import FREEZE_EVERY, freeze_survivors, keep_frozen


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_freeze_survivors_freezes_objects_alive_now_and_collects_garbage_first(unfrozen: None) -> None:
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle  # garbage (a cycle): collected, not frozen
    kept = [[i] for i in range(1000)]
    frozen = freeze_survivors()
    assert frozen == gc.get_freeze_count()
    assert frozen >= 1001
    assert gc.collect() == 0  # nothing left for the collector: the garbage cycle went before the freeze
    more = [[i] for i in range(500)]
    assert freeze_survivors() >= frozen + 500
    assert len(kept) + len(more) == 1500


def test_keep_frozen_freezes_at_once_and_schedules_the_next_freeze(unfrozen: None) -> None:
    loop = asyncio.new_event_loop()
    try:
        start = loop.time()
        keep_frozen(loop)
        assert gc.get_freeze_count() > 0
        timers = [h for h in loop._scheduled if not h.cancelled()]  # type: ignore[attr-defined]
        assert len(timers) == 1
        assert timers[0].when() - start == pytest.approx(FREEZE_EVERY, abs=1.0)
    finally:
        loop.close()
