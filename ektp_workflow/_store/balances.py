"""Reading the blank stock: batches, balances per kecamatan, and conservation checked.

Conservation holds per batch and kecamatan: received = undistributed + unallocated +
reserved + consumed + spoiled; every balance equals the sum of its ledger entries, and
the reserved count equals the cards holding a blank.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .schema import blank_batches, blank_entries, blank_stock, cards, residents


@dataclass(frozen=True)
class Batch:
    """A shipment of blanks received by the city."""

    reference: str
    received: int
    received_on: dt.date
    undistributed: int


def batches(conn: Connection) -> list[Batch]:
    """Every batch received, oldest first."""
    query = sa.select(
        blank_batches.c.reference,
        blank_batches.c.received,
        blank_batches.c.received_on,
        blank_batches.c.undistributed,
    ).order_by(blank_batches.c.id)
    return [Batch(*row) for row in conn.execute(query)]


@dataclass(frozen=True)
class StockLine:
    """Blanks of one batch at one kecamatan (``kecamatan`` None: still at the city)."""

    reference: str
    kecamatan: str | None
    unallocated: int
    reserved: int
    consumed: int
    spoiled: int


def stock(conn: Connection) -> list[StockLine]:
    """Every batch's blanks, undistributed at the city and per kecamatan."""
    lines = [
        StockLine(row.reference, None, row.undistributed, 0, 0, 0)
        for row in conn.execute(sa.select(blank_batches).order_by(blank_batches.c.id))
    ]
    query = (
        sa.select(blank_batches.c.reference, blank_stock)
        .join(blank_batches, blank_batches.c.id == blank_stock.c.batch_id)
        .order_by(blank_stock.c.batch_id, blank_stock.c.kecamatan)
    )
    lines += [
        StockLine(r.reference, r.kecamatan, r.unallocated, r.reserved, r.consumed, r.spoiled)
        for r in conn.execute(query)
    ]
    return lines


def conservation_problems(conn: Connection) -> list[str]:
    """Where the balances disagree with the entries or with the cards; empty when sound.

    Checks, per batch: received = undistributed + unallocated + reserved + consumed +
    spoiled; per batch and kecamatan: each balance equals the sum of its entries; and
    the reserved count equals the cards holding a blank of that batch there.
    """
    problems = []
    for row in conn.execute(_BATCH_TOTALS):
        if row.received != row.accounted:
            problems.append(f"batch {row.reference}: received {row.received}, accounted for {row.accounted}")
    from_entries = _balances_from_entries(conn)
    for line in stock(conn):
        if line.kecamatan is None:
            continue
        recomputed = from_entries.get((line.reference, line.kecamatan), (0, 0, 0, 0))
        stored = (line.unallocated, line.reserved, line.consumed, line.spoiled)
        if stored != recomputed:
            problems.append(
                f"batch {line.reference} at {line.kecamatan}: balances {stored} but entries give {recomputed}"
            )
    held = _cards_holding(conn)
    for line in stock(conn):
        if line.kecamatan is not None and held.get((line.reference, line.kecamatan), 0) != line.reserved:
            problems.append(
                f"batch {line.reference} at {line.kecamatan}: {line.reserved} reserved but "
                f"{held.get((line.reference, line.kecamatan), 0)} cards hold one"
            )
    return problems


_stock_sum = (
    sa.select(
        blank_stock.c.batch_id,
        sa.func.sum(
            blank_stock.c.unallocated + blank_stock.c.reserved + blank_stock.c.consumed + blank_stock.c.spoiled
        ).label("placed"),
    )
    .group_by(blank_stock.c.batch_id)
    .subquery()
)
_BATCH_TOTALS = sa.select(
    blank_batches.c.reference,
    blank_batches.c.received,
    (blank_batches.c.undistributed + sa.func.coalesce(_stock_sum.c.placed, 0)).label("accounted"),
).outerjoin(_stock_sum, _stock_sum.c.batch_id == blank_batches.c.id)

# How each movement changes (unallocated, reserved, consumed, spoiled) at a kecamatan.
_EFFECT = {
    "distributed": (1, 0, 0, 0),
    "reserved": (-1, 1, 0, 0),
    "released": (1, -1, 0, 0),
    "consumed": (0, -1, 1, 0),
    "spoiled": (-1, 0, 0, 1),
}


def _balances_from_entries(conn: Connection) -> dict[tuple[str, str], tuple[int, ...]]:
    query = (
        sa.select(
            blank_batches.c.reference,
            blank_entries.c.kecamatan,
            blank_entries.c.movement,
            sa.func.sum(blank_entries.c.quantity),
        )
        .join(blank_batches, blank_batches.c.id == blank_entries.c.batch_id)
        .where(blank_entries.c.kecamatan.is_not(None))
        .group_by(blank_batches.c.reference, blank_entries.c.kecamatan, blank_entries.c.movement)
    )
    totals: dict[tuple[str, str], list[int]] = {}
    for reference, kecamatan, movement, quantity in conn.execute(query):
        balance = totals.setdefault((reference, kecamatan), [0, 0, 0, 0])
        for i, sign in enumerate(_EFFECT[movement]):
            balance[i] += sign * int(quantity)
    return {key: tuple(value) for key, value in totals.items()}


def _cards_holding(conn: Connection) -> dict[tuple[str, str], int]:
    query = (
        sa.select(blank_batches.c.reference, residents.c.kecamatan, sa.func.count())
        .select_from(cards.join(residents, residents.c.id == cards.c.id))
        .join(blank_batches, blank_batches.c.id == cards.c.blank_batch_id)
        .group_by(blank_batches.c.reference, residents.c.kecamatan)
    )
    return {(ref, kec): int(n) for ref, kec, n in conn.execute(query)}
