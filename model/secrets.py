"""A secret value that never shows itself in repr, str, logs or tracebacks."""

from __future__ import annotations

__all__ = ["Secret"]


class Secret:
    """Holds a resolved secret. `reveal()` is the only way to read it; the reference is kept for messages."""

    __slots__ = ("_value", "reference")

    def __init__(self, value: str, *, reference: str) -> None:
        self._value = value
        self.reference = reference

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.reference!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)
