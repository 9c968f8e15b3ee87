"""Reading an exception's chain of causes: HTTP and TLS libraries (httpx over anyio) wrap the
socket's own error, whose text is what an operator needs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TypeVar

__all__ = ["exception_chain", "find_cause", "os_reason"]

E = TypeVar("E", bound=BaseException)


def exception_chain(error: BaseException) -> Iterator[BaseException]:
    """`error`, then its causes and contexts, each once (a context can point back)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def find_cause(exc: BaseException, kind: type[E]) -> E | None:
    """The first exception of `kind` in `exc`'s chain of causes (itself included)."""
    return next((seen for seen in exception_chain(exc) if isinstance(seen, kind)), None)


def os_reason(exc: BaseException) -> str | None:
    """The system's text for the first errno in `exc`'s chain ("Connection refused"), or None.
    (asyncio's own text is "Connect call failed (...)", anyio's "All connection attempts failed".)"""
    return next(
        (os.strerror(seen.errno) for seen in exception_chain(exc) if isinstance(seen, OSError) and seen.errno), None
    )
