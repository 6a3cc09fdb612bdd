"""The blank ledger: card stock as append-only entries plus balances kept beside them.

Every movement of blanks is an entry (received by the city, distributed to a
kecamatan, reserved for a card, released, consumed by printing, spoiled; a card's
own blank spoiled in printing is ``misprinted`` when it was reserved, ``voided`` when
its print was recorded). The
balances in ``blank_stock`` are updated in the same transaction with conditional
UPDATEs, so stock never goes negative even under concurrent writers, and they can
always be recomputed from the entries (``stock`` reads them and checks conservation).
Every entry is chained with the events (``eventlog.append_entries``): those a card's
transition makes (reserved, released, consumed) go with its event, right after it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..clock import WIB
from ..errors import StockError
from . import eventlog, requests
from .schema import blank_batches, blank_entries, blank_stock, cards, residents


@dataclass(frozen=True)
class Movement:
    """Who moves blanks, when and why: the part every entry shares."""

    actor: str
    at: dt.datetime
    reason: str | None = None


def receive(
    conn: Connection, reference: str, count: int, received_on: dt.date, by: Movement, request: str | None = None
) -> int:
    """Record a batch shipped to the city; return its id.

    :raises StockError: the count is not positive or the reference is already used.
    """
    if request is not None:
        asked = requests.one(conn, request)
        if asked is None:
            raise StockError(f"no request {request!r} was recorded: see ektp blanks requests")
        asked_on = asked["occurred_at"].astimezone(WIB).date()
        if received_on < asked_on:
            raise StockError(f"batch {reference}: received on {received_on}, before request {request} ({asked_on})")
    return _new_batch(conn, reference, count, received_on, None, by, request)


def borrow(conn: Connection, reference: str, count: int, received_on: dt.date, counterpart: str, by: Movement) -> int:
    """Record blanks lent to the city by the kabupaten/kota ``counterpart``, as a batch of
    their own whose reference is the lender's document; return its id.

    :raises StockError: as ``receive``.
    """
    return _new_batch(conn, reference, count, received_on, counterpart, by)


def lend(conn: Connection, count: int, counterpart: str, document: str, by: Movement) -> None:
    """Send ``count`` blanks still at the city to the kabupaten/kota ``counterpart``, from
    the oldest batches first; ``document`` is the loan's reference.

    :raises StockError: the count is not positive or more than the blanks at the city.
    """
    if count <= 0:
        raise StockError(f"lend to {counterpart}: count must be positive, got {count}")
    eventlog.lock_head(conn)  # the document is checked, and the blanks taken, by one writer at a time
    _refuse_own(conn, counterpart)
    used = conn.scalar(
        sa.select(blank_entries.c.counterpart).where(
            blank_entries.c.movement == "lent", blank_entries.c.counterpart_reference == document
        )
    )
    if used is not None:
        raise StockError(f"loan document {document!r} was already used, for a loan to {used}")
    at_city = list(conn.execute(_AT_CITY))
    if count > sum(n for _, n in at_city):
        raise StockError(f"cannot lend {count} blanks: {sum(n for _, n in at_city)} undistributed at the city")
    left, lent = count, []
    for batch_id, undistributed in at_city:
        take = min(left, undistributed)
        taken = conn.execute(
            blank_batches.update()
            .where(blank_batches.c.id == batch_id, blank_batches.c.undistributed >= take)
            .values(undistributed=blank_batches.c.undistributed - take)
        ).rowcount
        if taken != 1:
            raise StockError("the blanks at the city changed meanwhile; nothing was lent: run the command again")
        lent.append(
            {**entry(batch_id, None, "lent", take, by), "counterpart": counterpart, "counterpart_reference": document}
        )
        left -= take
        if left == 0:
            break
    eventlog.append_entries(conn, "blank_entry", lent)


def _refuse_own(conn: Connection, counterpart: str) -> None:
    """A loan is between two kabupaten/kota: not with the one whose kecamatan this ledger
    serves (where its residents live, or its blanks are)."""
    for column in (blank_stock.c.kecamatan, residents.c.kecamatan):
        own = conn.scalar(sa.select(column).where(sa.func.substr(column, 1, 5) == counterpart).limit(1))
        if own is not None:
            raise StockError(f"{counterpart} is this city's own kabupaten/kota (its kecamatan {own} is served here)")


_AT_CITY = (
    sa.select(blank_batches.c.id, blank_batches.c.undistributed)
    .where(blank_batches.c.undistributed > 0)
    .order_by(blank_batches.c.id)
)


def _new_batch(
    conn: Connection,
    reference: str,
    count: int,
    received_on: dt.date,
    counterpart: str | None,
    by: Movement,
    request: str | None = None,
) -> int:
    if count <= 0:
        raise StockError(f"batch {reference}: count must be positive, got {count}")
    eventlog.lock_head(conn)  # every writer takes the chain head first: one lock order, no deadlock
    if counterpart is not None:
        _refuse_own(conn, counterpart)
    exists = conn.scalar(sa.select(blank_batches.c.id).where(blank_batches.c.reference == reference))
    if exists is not None:
        raise StockError(f"batch {reference!r} was already received")
    inserted = conn.execute(
        blank_batches.insert().values(
            reference=reference, received=count, undistributed=count, received_on=received_on, request=request
        )
    ).inserted_primary_key
    assert inserted is not None  # an INSERT of one row has its key
    batch_id = int(inserted[0])
    movement = "received" if counterpart is None else "borrowed"
    came = {**entry(batch_id, None, movement, count, by), "reference": reference, "received_on": received_on}
    eventlog.append_entries(conn, "blank_entry", [{**came, "counterpart": counterpart, "request": request}])
    return batch_id


def distribute(conn: Connection, reference: str, counts: dict[str, int], by: Movement) -> None:
    """Move blanks of a batch from the city to kecamatan offices.

    :raises StockError: the batch is unknown or holds fewer blanks than asked for.
    """
    eventlog.lock_head(conn)  # before any stock row: the order a card's transition keeps
    batch_id, undistributed = _batch(conn, reference)
    wanted = sum(counts.values())
    taken = conn.execute(
        blank_batches.update()
        .where(blank_batches.c.id == batch_id, blank_batches.c.undistributed >= wanted)
        .values(undistributed=blank_batches.c.undistributed - wanted)
    ).rowcount
    if taken != 1:
        raise StockError(f"batch {reference}: cannot distribute {wanted} blanks, {undistributed} undistributed")
    shared = []
    for kecamatan, count in sorted(counts.items()):
        if count > 0:
            _add_stock(conn, batch_id, kecamatan, count)
            shared.append(entry(batch_id, kecamatan, "distributed", count, by))
    eventlog.append_entries(conn, "blank_entry", shared)


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


def reserve(conn: Connection, card_id: int, card_version: int, kecamatan: str, by: Movement) -> dict[str, Any]:
    """Reserve one blank at ``kecamatan`` for a card, oldest batch first; return the entry
    to append with the card's event (``eventlog.move_card_and_append``).

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
            return entry(batch_id, kecamatan, "reserved", 1, by, card_id, card_version)
    raise StockError(f"no unallocated blank at kecamatan {kecamatan}")


def release(
    conn: Connection, card_id: int, card_version: int, kecamatan: str, by: Movement, held: int | None
) -> dict[str, Any] | None:
    """Give the blank of batch ``held`` a card holds back to its kecamatan's stock; return
    the entry to append with the card's event, or None if it holds none."""
    return _settle(conn, card_id, card_version, kecamatan, "released", by, held)


def consume(
    conn: Connection, card_id: int, card_version: int, kecamatan: str, by: Movement, held: int | None
) -> dict[str, Any]:
    """Mark the blank of batch ``held`` a card holds as used by printing; return the entry
    to append with the card's event.

    :raises StockError: the card holds no reserved blank.
    """
    consumed = _settle(conn, card_id, card_version, kecamatan, "consumed", by, held)
    if consumed is None:
        raise StockError(f"card {card_id} holds no reserved blank to print on")
    return consumed


def spoil_card(
    conn: Connection, card_id: int, card_version: int, kecamatan: str, by: Movement, held: int | None
) -> dict[str, Any]:
    """Record the blank a card was being printed on as spoiled, against the card; return the
    entry to append with its event. A blank it holds reserved (batch ``held``) was ruined
    before the print was recorded (``misprinted``: reserved -> spoiled); otherwise the one
    its last entry consumed was, and that print is void (``voided``: consumed -> spoiled).

    :raises StockError: the card holds no blank and its last entry consumed none.
    """
    if held is not None:
        batch_id, source, movement = held, "reserved", "misprinted"
    else:
        last = conn.execute(
            sa.select(blank_entries.c.movement, blank_entries.c.batch_id, blank_entries.c.kecamatan)
            .where(blank_entries.c.card_id == card_id)
            .order_by(blank_entries.c.seq.desc())
            .limit(1)
        ).first()
        if last is None or last.movement != "consumed":
            raise StockError(f"card {card_id} holds no blank and was not printed on one: nothing to spoil")
        batch_id, kecamatan, source, movement = last.batch_id, last.kecamatan, "consumed", "voided"
    stock_row = (blank_stock.c.batch_id == batch_id, blank_stock.c.kecamatan == kecamatan)
    moved = conn.execute(
        blank_stock.update()
        .where(*stock_row, blank_stock.c[source] > 0)
        .values({source: blank_stock.c[source] - 1, "spoiled": blank_stock.c.spoiled + 1})
    ).rowcount
    if moved != 1:
        raise StockError(f"batch {batch_id} at kecamatan {kecamatan} has no {source} blank to spoil")
    if held is not None:
        conn.execute(cards.update().where(cards.c.id == card_id).values(blank_batch_id=None))
    return entry(batch_id, kecamatan, movement, 1, by, card_id, card_version)


def spoil(conn: Connection, kecamatan: str, count: int, by: Movement) -> None:
    """Record ``count`` unreserved blanks at a kecamatan ruined in printing, oldest batch first.

    :raises StockError: the count is not positive or more than the unreserved stock there.
    """
    if count <= 0:
        raise StockError(f"spoil at {kecamatan}: count must be positive, got {count}")
    eventlog.lock_head(conn)  # before any stock row: the order a card's transition keeps
    available = unallocated_at(conn, kecamatan)
    if count > available:
        raise StockError(f"cannot spoil {count} blanks at kecamatan {kecamatan}: {available} unreserved there")
    left, spoiled = count, []
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
        spoiled.append(entry(batch_id, kecamatan, "spoiled", take, by))
        left -= take
        if left == 0:
            eventlog.append_entries(conn, "blank_entry", spoiled)
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
) -> dict[str, Any] | None:
    if batch_id is None:
        return None
    target = "unallocated" if movement == "released" else "consumed"
    column = blank_stock.c[target]
    conn.execute(
        blank_stock.update()
        .where(blank_stock.c.batch_id == batch_id, blank_stock.c.kecamatan == kecamatan)
        .values({"reserved": blank_stock.c.reserved - 1, target: column + 1})
    )
    conn.execute(cards.update().where(cards.c.id == card_id).values(blank_batch_id=None))
    return entry(batch_id, kecamatan, movement, 1, by, card_id, card_version)


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


def entry(
    batch_id: int,
    kecamatan: str | None,
    movement: str,
    quantity: int,
    by: Movement,
    card_id: int | None = None,
    card_version: int | None = None,
) -> dict[str, Any]:
    """A ledger entry as ``eventlog.append_entries`` takes it (the batch's reference and
    day of receipt only on the entry that received it)."""
    return {
        "batch_id": batch_id,
        "reference": None,
        "received_on": None,
        "kecamatan": kecamatan,
        "movement": movement,
        "quantity": quantity,
        "card_id": card_id,
        "card_version": card_version,
        "actor": by.actor,
        "reason": by.reason,
        "occurred_at": by.at,
        "counterpart": None,
        "counterpart_reference": None,
        "request": None,
    }
