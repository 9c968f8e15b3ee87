"""Reading an exception's chain of causes: HTTP and TLS libraries (httpx over anyio) wrap the
socket's own error, whose text is what an operator needs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TypeVar

__all__ = ["find_cause", "os_reason"]

E = TypeVar("E", bound=BaseException)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def find_cause(exc: BaseException, kind: type[E]) -> E | None:
    """The first exception of `kind` in `exc`'s chain of causes (itself included)."""
    return next((seen for seen in _chain(exc) if isinstance(seen, kind)), None)


def os_reason(exc: BaseException) -> str | None:
    """The system's text for the first errno in `exc`'s chain ("Connection refused"), or None.
    (asyncio's own text is "Connect call failed (...)", anyio's "All connection attempts failed".)"""
    return next((os.strerror(seen.errno) for seen in _chain(exc) if isinstance(seen, OSError) and seen.errno), None)
