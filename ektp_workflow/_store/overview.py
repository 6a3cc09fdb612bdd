"""The counts the HTML report adds to the others: blanks per ledger movement, and events
per month, trigger and state reached."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .schema import blank_entries, events


def blanks_by_movement(tx: Connection) -> dict[str, int]:
    """Blanks per movement of the ledger (``received``, ``distributed``, ``consumed``...),
    over the whole ledger."""
    e = blank_entries.c
    query = sa.select(e.movement, sa.func.sum(e.quantity)).group_by(e.movement)
    return {str(movement): int(count) for movement, count in tx.execute(query)}


def events_by_month(tx: Connection, offset_minutes: int) -> list[tuple[str, str, str, int]]:
    """Events per month (``2026-11``, the month at UTC + ``offset_minutes`` when each
    occurred), trigger and the state it reached: ``(month, trigger, to_state, count)``,
    by month."""
    month = _month(tx, events.c.occurred_at, offset_minutes).label("month")
    query = (
        sa.select(month, events.c.trigger, events.c.to_state, sa.func.count())
        .group_by(month, events.c.trigger, events.c.to_state)
        .order_by(month)
    )
    return [(str(m), str(trigger), str(state), int(n)) for m, trigger, state, n in tx.execute(query)]


def _month(tx: Connection, column: Any, offset_minutes: int) -> Any:
    minutes = int(offset_minutes)  # an int written into the SQL, never text from outside
    if tx.dialect.name == "postgresql":
        shifted = sa.func.timezone("UTC", column) + sa.literal_column(f"interval '{minutes} minutes'")
        return sa.func.to_char(shifted, "YYYY-MM")
    return sa.func.strftime("%Y-%m", column, f"{minutes:+d} minutes")  # stored as UTC text
