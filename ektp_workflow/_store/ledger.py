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
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..clock import WIB
from ..errors import StockError
from ..i18n import _, ngettext
from . import eventlog, requests
from .schema import blank_batches, blank_entries, blank_stock, cards, residents
from .stock_rows import Movement as Movement  # the services make them
from .stock_rows import add_stock, batch_by_reference, batches_with_stock, entry, hold_blank
from .stock_rows import unallocated_at as unallocated_at  # the services read it


def receive(
    conn: Connection, reference: str, count: int, received_on: dt.date, by: Movement, request: str | None = None
) -> int:
    """Record a batch shipped to the city; return its id.

    :raises StockError: the count is not positive or the reference is already used.
    """
    if request is not None:
        asked = requests.one(conn, request)
        if asked is None:
            raise StockError(_("no request {request!r} was recorded: see ektp blanks requests").format(request=request))
        asked_on = asked["occurred_at"].astimezone(WIB).date()
        if received_on < asked_on:
            raise StockError(
                _("batch {reference}: received on {received_on}, before request {request} ({asked_on})").format(
                    reference=reference, received_on=received_on, request=request, asked_on=asked_on
                )
            )
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
        raise StockError(
            _("lend to {counterpart}: count must be positive, got {count}").format(counterpart=counterpart, count=count)
        )
    eventlog.lock_head(conn)  # the document is checked, and the blanks taken, by one writer at a time
    _refuse_own(conn, counterpart)
    used = conn.scalar(
        sa.select(blank_entries.c.counterpart).where(
            blank_entries.c.movement == "lent", blank_entries.c.counterpart_reference == document
        )
    )
    if used is not None:
        raise StockError(
            _("loan document {document!r} was already used, for a loan to {used}").format(document=document, used=used)
        )
    at_city = list(conn.execute(_AT_CITY))
    available = sum(n for _batch, n in at_city)
    if count > available:
        cannot = ngettext(
            "cannot lend {count} blank: {available} undistributed at the city",
            "cannot lend {count} blanks: {available} undistributed at the city",
            count,
        )
        raise StockError(cannot.format(count=count, available=available))
    left, lent = count, []
    for batch_id, undistributed in at_city:
        take = min(left, undistributed)
        taken = conn.execute(
            blank_batches.update()
            .where(blank_batches.c.id == batch_id, blank_batches.c.undistributed >= take)
            .values(undistributed=blank_batches.c.undistributed - take)
        ).rowcount
        if taken != 1:
            raise StockError(_("the blanks at the city changed meanwhile; nothing was lent: run the command again"))
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
            own_region = _("{counterpart} is this city's own kabupaten/kota (its kecamatan {own} is served here)")
            raise StockError(own_region.format(counterpart=counterpart, own=own))


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
        raise StockError(
            _("batch {reference}: count must be positive, got {count}").format(reference=reference, count=count)
        )
    eventlog.lock_head(conn)  # every writer takes the chain head first: one lock order, no deadlock
    if counterpart is not None:
        _refuse_own(conn, counterpart)
    exists = conn.scalar(sa.select(blank_batches.c.id).where(blank_batches.c.reference == reference))
    if exists is not None:
        raise StockError(_("batch {reference!r} was already received").format(reference=reference))
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
    batch_id, undistributed = batch_by_reference(conn, reference)
    wanted = sum(counts.values())
    taken = conn.execute(
        blank_batches.update()
        .where(blank_batches.c.id == batch_id, blank_batches.c.undistributed >= wanted)
        .values(undistributed=blank_batches.c.undistributed - wanted)
    ).rowcount
    if taken != 1:
        cannot = ngettext(
            "batch {reference}: cannot distribute {wanted} blank, {undistributed} undistributed",
            "batch {reference}: cannot distribute {wanted} blanks, {undistributed} undistributed",
            wanted,
        )
        raise StockError(cannot.format(reference=reference, wanted=wanted, undistributed=undistributed))
    shared = []
    for kecamatan, count in sorted(counts.items()):
        if count > 0:
            add_stock(conn, batch_id, kecamatan, count)
            shared.append(entry(batch_id, kecamatan, "distributed", count, by))
    eventlog.append_entries(conn, "blank_entry", shared)


def undistributed(conn: Connection, reference: str) -> int:
    """Blanks of a batch still at the city.

    :raises StockError: no batch has this reference.
    """
    return batch_by_reference(conn, reference)[1]


def reserve(conn: Connection, card_id: int, card_version: int, kecamatan: str, by: Movement) -> dict[str, Any]:
    """Reserve one blank at ``kecamatan`` for a card, oldest batch first; return the entry
    to append with the card's event (``eventlog.move_card_and_append``).

    :raises StockError: no unallocated blank at the kecamatan.
    """
    for batch_id in batches_with_stock(conn, kecamatan):
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
            hold_blank(conn, card_id, batch_id)
            return entry(batch_id, kecamatan, "reserved", 1, by, card_id, card_version)
    raise StockError(_("no unallocated blank at kecamatan {kecamatan}").format(kecamatan=kecamatan))


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
        raise StockError(_("card {card_id} holds no reserved blank to print on").format(card_id=card_id))
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
            raise StockError(
                _("card {card_id} holds no blank and was not printed on one: nothing to spoil").format(card_id=card_id)
            )
        batch_id, kecamatan, source, movement = last.batch_id, last.kecamatan, "consumed", "voided"
    stock_row = (blank_stock.c.batch_id == batch_id, blank_stock.c.kecamatan == kecamatan)
    moved = conn.execute(
        blank_stock.update()
        .where(*stock_row, blank_stock.c[source] > 0)
        .values({source: blank_stock.c[source] - 1, "spoiled": blank_stock.c.spoiled + 1})
    ).rowcount
    if moved != 1:
        none_to_spoil = (
            _("batch {batch_id} at kecamatan {kecamatan} has no reserved blank to spoil")
            if source == "reserved"
            else _("batch {batch_id} at kecamatan {kecamatan} has no consumed blank to spoil")
        )
        raise StockError(none_to_spoil.format(batch_id=batch_id, kecamatan=kecamatan))
    if held is not None:
        conn.execute(cards.update().where(cards.c.id == card_id).values(blank_batch_id=None))
    return entry(batch_id, kecamatan, movement, 1, by, card_id, card_version)


def spoil(conn: Connection, kecamatan: str, count: int, by: Movement) -> None:
    """Record ``count`` unreserved blanks at a kecamatan ruined in printing, oldest batch first.

    :raises StockError: the count is not positive or more than the unreserved stock there.
    """
    if count <= 0:
        raise StockError(
            _("spoil at {kecamatan}: count must be positive, got {count}").format(kecamatan=kecamatan, count=count)
        )
    eventlog.lock_head(conn)  # before any stock row: the order a card's transition keeps
    available = unallocated_at(conn, kecamatan)
    if count > available:
        raise _cannot_spoil(count, kecamatan, available)
    left, spoiled = count, []
    for batch_id in batches_with_stock(conn, kecamatan):
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
            raise StockError(
                _("stock at kecamatan {kecamatan} changed concurrently; run the command again").format(
                    kecamatan=kecamatan
                )
            )
        spoiled.append(entry(batch_id, kecamatan, "spoiled", take, by))
        left -= take
        if left == 0:
            eventlog.append_entries(conn, "blank_entry", spoiled)
            return
    raise _cannot_spoil(count, kecamatan, None)


def _cannot_spoil(count: int, kecamatan: str, available: int | None) -> StockError:
    """The refusal to spoil ``count`` blanks: only ``available`` unreserved there, or
    (None) the stock changed while they were taken."""
    if available is None:
        cannot = ngettext(
            "cannot spoil {count} blank at kecamatan {kecamatan}: stock changed concurrently",
            "cannot spoil {count} blanks at kecamatan {kecamatan}: stock changed concurrently",
            count,
        )
    else:
        cannot = ngettext(
            "cannot spoil {count} blank at kecamatan {kecamatan}: {available} unreserved there",
            "cannot spoil {count} blanks at kecamatan {kecamatan}: {available} unreserved there",
            count,
        )
    return StockError(cannot.format(count=count, kecamatan=kecamatan, available=available))


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
