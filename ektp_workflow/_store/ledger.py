"""The blank ledger: card stock as append-only entries plus balances kept beside them.

Every movement of blanks is an entry (received by the city, distributed to a
kecamatan, reserved for a card, released, consumed by printing, spoiled). The
balances in ``blank_stock`` are updated in the same transaction with conditional
UPDATEs, so stock never goes negative even under concurrent writers, and they can
always be recomputed from the entries. Conservation holds per batch and kecamatan:
received = undistributed + unallocated + reserved + consumed + spoiled.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..errors import StockError
from .schema import blank_batches, blank_entries, blank_stock, cards, residents


@dataclass(frozen=True)
class Movement:
    """Who moves blanks, when and why: the part every entry shares."""

    actor: str
    at: dt.datetime
    reason: str | None = None


def receive(conn: Connection, reference: str, count: int, received_on: dt.date, by: Movement) -> int:
    """Record a batch shipped to the city; return its id.

    :raises StockError: the count is not positive or the reference is already used.
    """
    if count <= 0:
        raise StockError(f"batch {reference}: count must be positive, got {count}")
    exists = conn.scalar(sa.select(blank_batches.c.id).where(blank_batches.c.reference == reference))
    if exists is not None:
        raise StockError(f"batch {reference!r} was already received")
    inserted = conn.execute(
        blank_batches.insert().values(reference=reference, received=count, undistributed=count, received_on=received_on)
    ).inserted_primary_key
    assert inserted is not None  # an INSERT of one row has its key
    batch_id = inserted[0]
    _entry(conn, batch_id, None, "received", count, by)
    return int(batch_id)


def distribute(conn: Connection, reference: str, counts: dict[str, int], by: Movement) -> None:
    """Move blanks of a batch from the city to kecamatan offices.

    :raises StockError: the batch is unknown or holds fewer blanks than asked for.
    """
    batch_id, undistributed = _batch(conn, reference)
    wanted = sum(counts.values())
    taken = conn.execute(
        blank_batches.update()
        .where(blank_batches.c.id == batch_id, blank_batches.c.undistributed >= wanted)
        .values(undistributed=blank_batches.c.undistributed - wanted)
    ).rowcount
    if taken != 1:
        raise StockError(f"batch {reference}: cannot distribute {wanted} blanks, {undistributed} undistributed")
    for kecamatan, count in sorted(counts.items()):
        if count > 0:
            _add_stock(conn, batch_id, kecamatan, count)
            _entry(conn, batch_id, kecamatan, "distributed", count, by)


def undistributed(conn: Connection, reference: str) -> int:
    """Blanks of a batch still at the city.

    :raises StockError: no batch has this reference.
    """
    return _batch(conn, reference)[1]


def unallocated_at(conn: Connection, kecamatan: str) -> int:
    """Blanks at a kecamatan that are not reserved for any card."""
    total = conn.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(blank_stock.c.unallocated), 0)).where(
            blank_stock.c.kecamatan == kecamatan
        )
    )
    return int(total or 0)


def reserve(conn: Connection, card_id: int, card_version: int, kecamatan: str, by: Movement) -> int:
    """Reserve one blank at ``kecamatan`` for a card, oldest batch first; return the batch id.

    :raises StockError: no unallocated blank at the kecamatan.
    """
    for batch_id in _batches_with_stock(conn, kecamatan):
        moved = conn.execute(
            blank_stock.update()
            .where(
                blank_stock.c.batch_id == batch_id,
                blank_stock.c.kecamatan == kecamatan,
                blank_stock.c.unallocated > 0,
            )
            .values(unallocated=blank_stock.c.unallocated - 1, reserved=blank_stock.c.reserved + 1)
        ).rowcount
        if moved == 1:
            _hold(conn, card_id, batch_id)
            _entry(conn, batch_id, kecamatan, "reserved", 1, by, card_id, card_version)
            return batch_id
    raise StockError(f"no unallocated blank at kecamatan {kecamatan}")


def release(conn: Connection, card_id: int, card_version: int, kecamatan: str, by: Movement, held: int | None) -> bool:
    """Give the blank of batch ``held`` a card holds back to its kecamatan's stock; False if none."""
    return _settle(conn, card_id, card_version, kecamatan, "released", by, held)


def consume(conn: Connection, card_id: int, card_version: int, kecamatan: str, by: Movement, held: int | None) -> None:
    """Mark the blank of batch ``held`` a card holds as used by printing.

    :raises StockError: the card holds no reserved blank.
    """
    if not _settle(conn, card_id, card_version, kecamatan, "consumed", by, held):
        raise StockError(f"card {card_id} holds no reserved blank to print on")


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


def spoil(conn: Connection, kecamatan: str, count: int, by: Movement) -> None:
    """Record ``count`` unreserved blanks at a kecamatan ruined in printing, oldest batch first.

    :raises StockError: the count is not positive or more than the unreserved stock there.
    """
    if count <= 0:
        raise StockError(f"spoil at {kecamatan}: count must be positive, got {count}")
    available = unallocated_at(conn, kecamatan)
    if count > available:
        raise StockError(f"cannot spoil {count} blanks at kecamatan {kecamatan}: {available} unreserved there")
    left = count
    for batch_id in _batches_with_stock(conn, kecamatan):
        have = conn.scalar(
            sa.select(blank_stock.c.unallocated).where(
                blank_stock.c.batch_id == batch_id, blank_stock.c.kecamatan == kecamatan
            )
        )
        take = min(left, int(have or 0))
        moved = conn.execute(
            blank_stock.update()
            .where(
                blank_stock.c.batch_id == batch_id,
                blank_stock.c.kecamatan == kecamatan,
                blank_stock.c.unallocated >= take,
            )
            .values(unallocated=blank_stock.c.unallocated - take, spoiled=blank_stock.c.spoiled + take)
        ).rowcount
        if moved != 1:
            raise StockError(f"stock at kecamatan {kecamatan} changed concurrently; run the command again")
        _entry(conn, batch_id, kecamatan, "spoiled", take, by)
        left -= take
        if left == 0:
            return
    raise StockError(f"cannot spoil {count} blanks at kecamatan {kecamatan}: stock changed concurrently")


def _settle(
    conn: Connection,
    card_id: int,
    card_version: int,
    kecamatan: str,
    movement: str,
    by: Movement,
    batch_id: int | None,
) -> bool:
    if batch_id is None:
        return False
    target = "unallocated" if movement == "released" else "consumed"
    column = blank_stock.c[target]
    conn.execute(
        blank_stock.update()
        .where(blank_stock.c.batch_id == batch_id, blank_stock.c.kecamatan == kecamatan)
        .values({"reserved": blank_stock.c.reserved - 1, target: column + 1})
    )
    conn.execute(cards.update().where(cards.c.id == card_id).values(blank_batch_id=None))
    _entry(conn, batch_id, kecamatan, movement, 1, by, card_id, card_version)
    return True


def _hold(conn: Connection, card_id: int, batch_id: int) -> None:
    held = conn.execute(
        cards.update().where(cards.c.id == card_id, cards.c.blank_batch_id.is_(None)).values(blank_batch_id=batch_id)
    ).rowcount
    if held != 1:
        raise StockError(f"card {card_id} already holds a reserved blank")


def _batch(conn: Connection, reference: str) -> tuple[int, int]:
    row = conn.execute(
        sa.select(blank_batches.c.id, blank_batches.c.undistributed).where(blank_batches.c.reference == reference)
    ).first()
    if row is None:
        raise StockError(f"no batch with reference {reference!r}")
    return int(row.id), int(row.undistributed)


def _batches_with_stock(conn: Connection, kecamatan: str) -> list[int]:
    return list(
        conn.scalars(
            sa.select(blank_stock.c.batch_id)
            .where(blank_stock.c.kecamatan == kecamatan, blank_stock.c.unallocated > 0)
            .order_by(blank_stock.c.batch_id)
        )
    )


def _add_stock(conn: Connection, batch_id: int, kecamatan: str, count: int) -> None:
    updated = conn.execute(
        blank_stock.update()
        .where(blank_stock.c.batch_id == batch_id, blank_stock.c.kecamatan == kecamatan)
        .values(unallocated=blank_stock.c.unallocated + count)
    ).rowcount
    if updated == 0:
        conn.execute(
            blank_stock.insert().values(
                batch_id=batch_id, kecamatan=kecamatan, unallocated=count, reserved=0, consumed=0, spoiled=0
            )
        )


def _entry(
    conn: Connection,
    batch_id: int,
    kecamatan: str | None,
    movement: str,
    quantity: int,
    by: Movement,
    card_id: int | None = None,
    card_version: int | None = None,
) -> None:
    conn.execute(
        blank_entries.insert().values(
            batch_id=batch_id,
            kecamatan=kecamatan,
            movement=movement,
            quantity=quantity,
            card_id=card_id,
            card_version=card_version,
            actor=by.actor,
            reason=by.reason,
            occurred_at=by.at,
        )
    )
