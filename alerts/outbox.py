"""The outbox's table and row type: one queued notification for one integration.

`OutboxRow` mirrors the `outbox` table column for column (`SCHEMA`, `ROW_COLUMNS`, `outbox_row`),
so the two are kept side by side here. A row is `pending` until `sent`, or `failed` for good; its
payload is the notification as `alerts.codec` JSON. Queueing, sending and recording the outcome
are `alerts.delivery`'s. Times are Unix seconds.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from alerts.codec import notification_from_json
from alerts.model import Notification

__all__ = ["ROW_COLUMNS", "SCHEMA", "DeliveryStatus", "OutboxRow", "outbox_row"]

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        receiver TEXT NOT NULL, integration TEXT NOT NULL, group_key TEXT NOT NULL,
        reason TEXT NOT NULL, status TEXT NOT NULL, payload TEXT NOT NULL, created_at REAL NOT NULL,
        attempts INTEGER NOT NULL, next_attempt_at REAL NOT NULL, last_error TEXT,
        sent_at REAL, failed_at REAL)""",
    "CREATE INDEX IF NOT EXISTS outbox_queue ON outbox (status, receiver, integration, id)",
    "CREATE INDEX IF NOT EXISTS outbox_group ON outbox (group_key, id)",
)
"""The statements that create the outbox table and its indexes (idempotent)."""


class DeliveryStatus(enum.Enum):
    """Where an outbox row stands: waiting (`pending`), done (`sent`) or given up (`failed`)."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@dataclasses.dataclass(frozen=True, slots=True)
class OutboxRow:
    """One queued notification for one integration, as the API shows it."""

    id: int
    receiver: str
    integration: str
    group_key: str
    reason: str
    status: DeliveryStatus
    created_at: float
    attempts: int
    next_attempt_at: float
    last_error: str | None
    sent_at: float | None
    failed_at: float | None
    payload: str
    """The notification as `alerts.codec` JSON (what this integration is sent)."""

    def notification(self) -> Notification:
        """The stored notification. Raises ValueError when the payload cannot be decoded."""
        return notification_from_json(self.payload)


_ROW_FIELDS = tuple(f.name for f in dataclasses.fields(OutboxRow))
ROW_COLUMNS = ", ".join(_ROW_FIELDS)
"""The outbox columns in `OutboxRow`'s field order, for a SELECT that `outbox_row` maps."""


def outbox_row(row: tuple[Any, ...]) -> OutboxRow:
    """The row type of one `SELECT ROW_COLUMNS FROM outbox` result row."""
    fields: dict[str, Any] = dict(zip(_ROW_FIELDS, row, strict=True))
    fields["status"] = DeliveryStatus(fields["status"])
    return OutboxRow(**fields)
