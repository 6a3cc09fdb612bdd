"""The centre's monthly quotas of blanks, and the blanks the city used each month.

A quota entry is chained with the events; the latest entry for a month is the one in
force. A month's use is what printing consumed and what was spoiled, counted by the
day in WIB.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import eventlog
from .schema import blank_entries, blank_quotas


def set_quota(
    conn: Connection, month: str, quantity: int, reference: str, actor: str, reason: str | None, at: Any
) -> None:
    """Record the centre's quota for ``month`` (``2026-12``)."""
    row = {
        "month": month,
        "quantity": quantity,
        "reference": reference,
        "actor": actor,
        "reason": reason,
        "occurred_at": at,
    }
    eventlog.append_entries(conn, "blank_quota", [row])


def in_force(conn: Connection) -> dict[str, tuple[int, str]]:
    """Per month: the quota in force (the latest entry) and the reference that set it."""
    query = sa.select(blank_quotas.c.month, blank_quotas.c.quantity, blank_quotas.c.reference).order_by(
        blank_quotas.c.seq
    )
    return {month: (int(quantity), reference) for month, quantity, reference in conn.execute(query)}


def used_by_month(conn: Connection) -> dict[str, int]:
    """Blanks consumed by printing or spoiled, per month (WIB). A voided print is not
    counted again: its blank was used the month it was consumed."""
    e = blank_entries.c
    month = _month_in_wib(conn, e.occurred_at).label("month")
    used = e.movement.in_(("consumed", "spoiled", "misprinted"))
    query = sa.select(month, sa.func.sum(e.quantity)).where(used).group_by(month)
    return {str(m): int(n) for m, n in conn.execute(query)}


def _month_in_wib(conn: Connection, column: Any) -> Any:
    if conn.dialect.name == "postgresql":
        return sa.func.to_char(sa.func.timezone("Asia/Jakarta", column), "YYYY-MM")
    return sa.func.strftime("%Y-%m", column, "+7 hours")  # stored as UTC text
