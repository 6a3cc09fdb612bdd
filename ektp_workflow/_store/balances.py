"""Reading the blank stock: batches, balances per kecamatan, and conservation checked.

Conservation holds per batch and kecamatan: received = undistributed + unallocated +
reserved + consumed + spoiled + lent; a batch's received and undistributed counts and
every kecamatan's balance equal what its ledger entries give, and the reserved count
equals the cards holding a blank.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..clock import WIB
from ..i18n import _, ngettext
from .schema import blank_batches, blank_entries, blank_stock, cards, residents


@dataclass(frozen=True)
class Batch:
    """A shipment of blanks received by the city, or lent to it by another kabupaten/kota."""

    reference: str
    received: int
    received_on: dt.date
    undistributed: int
    #: the kabupaten/kota that lent it (``16.07``); None for a shipment from the centre.
    lender: str | None = None
    #: blanks of it the city lent on to another kabupaten/kota.
    lent: int = 0
    #: the request to the centre it answers, if any.
    request: str | None = None


def batches(conn: Connection) -> list[Batch]:
    """Every batch received or borrowed, oldest first."""
    lent = _entries_by_batch(conn, "lent")
    b = blank_batches.c
    brought = blank_entries.alias("brought")  # the lender is on the entry that brought it
    query = (
        sa.select(b.id, b.reference, b.received, b.received_on, b.undistributed, brought.c.counterpart, b.request)
        .outerjoin(brought, sa.and_(brought.c.batch_id == b.id, brought.c.movement == "borrowed"))
        .order_by(b.id)
    )
    return [Batch(*row[1:6], lent.get(row[0], 0), row[6]) for row in conn.execute(query)]


def _entries_by_batch(conn: Connection, *movements: str) -> dict[int, int]:
    e = blank_entries.c
    query = sa.select(e.batch_id, sa.func.sum(e.quantity)).where(e.movement.in_(movements)).group_by(e.batch_id)
    return {int(batch): int(n) for batch, n in conn.execute(query)}


@dataclass(frozen=True)
class Loan:
    """Blanks lent to or borrowed from another kabupaten/kota, under one document."""

    #: ``lent`` (to ``counterpart``) or ``borrowed`` (from it).
    direction: str
    counterpart: str
    #: the loan's document: ours for a loan we made, the lender's for one we took.
    reference: str
    quantity: int
    #: when it was recorded, and the day the blanks moved (a borrowed batch's day received).
    occurred_at: dt.datetime
    actor: str
    day: dt.date


def loans(conn: Connection) -> list[Loan]:
    """Every loan in either direction, in the order they were recorded."""
    e = blank_entries.c
    document = sa.case((e.movement == "borrowed", blank_batches.c.reference), else_=e.counterpart_reference)
    query = (
        sa.select(
            e.movement,
            e.counterpart,
            document,
            sa.func.sum(e.quantity),
            sa.func.min(e.occurred_at, type_=e.occurred_at.type),
            sa.func.min(e.actor),
            sa.func.min(blank_batches.c.received_on, type_=blank_batches.c.received_on.type),
        )
        .join(blank_batches, blank_batches.c.id == e.batch_id)
        .where(e.movement.in_(("lent", "borrowed")))
        .group_by(e.movement, e.counterpart, document)
        .order_by(sa.func.min(e.seq))
    )
    return [
        Loan(m, c, d, int(n), at, actor, received if m == "borrowed" else at.astimezone(WIB).date())
        for m, c, d, n, at, actor, received in conn.execute(query)
    ]


@dataclass(frozen=True)
class Spoiled:
    """Blanks spoiled in printing, as one ledger entry records them."""

    occurred_at: dt.datetime
    kecamatan: str
    #: the batch they came from.
    reference: str
    quantity: int
    #: ``spoiled`` (unreserved blanks, no card), ``misprinted`` (the blank reserved for
    #: the card) or ``voided`` (the blank the card's recorded print was on).
    movement: str
    #: the card's NIK, for a card's own blank; None for unreserved blanks.
    nik: str | None
    actor: str
    reason: str | None

    def as_dict(self) -> dict[str, object]:
        return {**vars(self), "occurred_at": self.occurred_at.isoformat()}


#: The movements that spoil blanks: unreserved ones, or a card's own.
SPOILING = ("spoiled", "misprinted", "voided")


def spoilage(conn: Connection, kecamatan: str | None = None, since: dt.datetime | None = None) -> list[Spoiled]:
    """Every entry that spoiled blanks (at ``kecamatan``, from ``since``), in the order recorded."""
    e = blank_entries.c
    query = (
        sa.select(
            e.occurred_at, e.kecamatan, blank_batches.c.reference, e.quantity, e.movement, residents.c.nik, e.actor
        )
        .add_columns(e.reason)
        .join(blank_batches, blank_batches.c.id == e.batch_id)
        .outerjoin(residents, residents.c.id == e.card_id)
        .where(e.movement.in_(SPOILING))
        .order_by(e.seq)
    )
    if kecamatan is not None:
        query = query.where(e.kecamatan == kecamatan)
    if since is not None:
        query = query.where(e.occurred_at >= since)
    return [Spoiled(*row) for row in conn.execute(query)]


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
    problems = _batch_problems(conn)
    from_entries = _balances_from_entries(conn)
    for line in stock(conn):
        if line.kecamatan is None:
            continue
        recomputed = from_entries.get((line.reference, line.kecamatan), (0, 0, 0, 0))
        stored = (line.unallocated, line.reserved, line.consumed, line.spoiled)
        if stored != recomputed:
            problems.append(
                _("batch {reference} at {kecamatan}: balances {stored} but entries give {recomputed}").format(
                    reference=line.reference, kecamatan=line.kecamatan, stored=stored, recomputed=recomputed
                )
            )
    held = _cards_holding(conn)
    for line in stock(conn):
        if line.kecamatan is None:
            continue
        holding = held.get((line.reference, line.kecamatan), 0)
        if holding != line.reserved:
            problems.append(
                ngettext(
                    "batch {reference} at {kecamatan}: {reserved} reserved but {holding} card holds one",
                    "batch {reference} at {kecamatan}: {reserved} reserved but {holding} cards hold one",
                    holding,
                ).format(reference=line.reference, kecamatan=line.kecamatan, reserved=line.reserved, holding=holding)
            )
    return problems


def _batch_problems(conn: Connection) -> list[str]:
    """Per batch: received as its entry says, undistributed as its entries leave it, and
    every blank accounted for (at the city, at a kecamatan, or lent)."""
    came = _entries_by_batch(conn, "received", "borrowed")
    left = _entries_by_batch(conn, "distributed", "lent")
    lent = _entries_by_batch(conn, "lent")
    problems = []
    for row in conn.execute(_BATCH_TOTALS):
        if row.received != came.get(row.id, 0):
            problems.append(
                _("batch {reference}: received {received}, but its entries received {entries}").format(
                    reference=row.reference, received=row.received, entries=came.get(row.id, 0)
                )
            )
        if row.undistributed != row.received - left.get(row.id, 0):
            problems.append(
                _("batch {reference}: {undistributed} undistributed, but its entries leave {entries}").format(
                    reference=row.reference, undistributed=row.undistributed, entries=row.received - left.get(row.id, 0)
                )
            )
        accounted = row.accounted + lent.get(row.id, 0)
        if row.received != accounted:
            problems.append(
                _("batch {reference}: received {received}, accounted for {accounted}").format(
                    reference=row.reference, received=row.received, accounted=accounted
                )
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
    blank_batches.c.id,
    blank_batches.c.reference,
    blank_batches.c.received,
    blank_batches.c.undistributed,
    (blank_batches.c.undistributed + sa.func.coalesce(_stock_sum.c.placed, 0)).label("accounted"),
).outerjoin(_stock_sum, _stock_sum.c.batch_id == blank_batches.c.id)

# How each movement changes (unallocated, reserved, consumed, spoiled) at a kecamatan.
_EFFECT = {
    "distributed": (1, 0, 0, 0),
    "reserved": (-1, 1, 0, 0),
    "released": (1, -1, 0, 0),
    "consumed": (0, -1, 1, 0),
    "spoiled": (-1, 0, 0, 1),
    "misprinted": (0, -1, 0, 1),
    "voided": (0, 0, -1, 1),
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
