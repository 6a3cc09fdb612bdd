"""The city's requests for blanks to the centre, and the counts a request is computed from.

A request is chained with the events, with every figure it was computed from; a batch
received from the centre may name the request it answers (``blank_batches.request``,
covered by the hash of the entry that received it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import eventlog, queue
from .schema import blank_batches, blank_entries, blank_requests, blank_stock, cards, events, residents


class Counts(NamedTuple):
    """What the history says now, for a request: the queue, PRR, the ledger and stock."""

    #: the kabupaten/kota of every resident's kecamatan; None if several (or none).
    region: str | None
    waiting_first_time: int
    waiting_replacement: int
    in_prr: int
    #: cards that went from PRR to printable since the window's start.
    left_prr: int
    #: when the earliest event happened, if the history is younger than the window
    #: (None: some event happened before it, or none at all).
    earliest: dt.datetime | None
    consumed: int
    spoiled: int
    on_hand: int
    outstanding: int


def counts(conn: Connection, prr: str, printable: str, since: dt.datetime) -> Counts:
    """The counts a request is computed from, in the caller's snapshot.

    :param prr: the state of cards waiting for the centre's check; ``printable`` the
        state they go to when it confirms them.
    :param since: the start of the window PRR exits are counted in.
    """
    waiting = queue.waiting_counts(conn).values()
    in_prr = conn.scalar(sa.select(sa.func.count()).select_from(cards).where(cards.c.state == prr))
    left = conn.scalar(
        sa.select(sa.func.count())
        .select_from(events)
        .where(events.c.from_state == prr, events.c.to_state == printable, events.c.occurred_at >= since)
    )
    older = conn.scalar(sa.select(events.c.seq).where(events.c.occurred_at < since).limit(1))
    earliest = (
        None
        if older is not None
        else conn.scalar(sa.select(sa.func.min(events.c.occurred_at, type_=events.c.occurred_at.type)))
    )
    used = dict(
        conn.execute(
            sa.select(blank_entries.c.movement, sa.func.sum(blank_entries.c.quantity))
            .where(blank_entries.c.movement.in_(("consumed", "spoiled", "misprinted", "voided")))
            .group_by(blank_entries.c.movement)
        ).all()
    )
    at_city = conn.scalar(sa.select(sa.func.coalesce(sa.func.sum(blank_batches.c.undistributed), 0)))
    at_kecamatan = conn.scalar(sa.select(sa.func.coalesce(sa.func.sum(blank_stock.c.unallocated), 0)))
    return Counts(
        _region(conn),
        sum(first_time for first_time, _ in waiting),
        sum(replacement for _, replacement in waiting),
        int(in_prr or 0),
        int(left or 0),
        earliest,
        # a voided print counts as spoiled, not consumed: the card was printed again
        int(used.get("consumed", 0)) - int(used.get("voided", 0)),
        sum(int(used.get(m, 0)) for m in ("spoiled", "misprinted", "voided")),
        int(at_city or 0) + int(at_kecamatan or 0),
        sum(max(0, r.requested - r.received) for r in _answered(conn)),
    )


def _region(conn: Connection) -> str | None:
    """The one kabupaten/kota the residents live in: the first and last kecamatan by the
    index agree on it."""
    lowest = conn.scalar(sa.select(sa.func.min(residents.c.kecamatan)))
    highest = conn.scalar(sa.select(sa.func.max(residents.c.kecamatan)))
    return lowest[:5] if lowest is not None and highest is not None and lowest[:5] == highest[:5] else None


def exists(conn: Connection, reference: str) -> bool:
    return conn.scalar(sa.select(blank_requests.c.seq).where(blank_requests.c.reference == reference)) is not None


def one(conn: Connection, reference: str) -> dict[str, Any] | None:
    """A recorded request's row, or None."""
    row = conn.execute(sa.select(blank_requests).where(blank_requests.c.reference == reference)).first()
    return None if row is None else dict(row._mapping)


def record(conn: Connection, row: dict[str, Any]) -> None:
    """Append a request (a row of ``blank_requests`` without ``seq`` and ``chain_hash``)."""
    eventlog.append_entries(conn, "blank_request", [dict(row)])


class Answered(NamedTuple):
    """A recorded request with the batches received against it, oldest first."""

    reference: str
    occurred_at: dt.datetime
    requested: int
    received: int
    #: (reference, blanks, day received) of each batch.
    batches: Sequence[tuple[str, int, dt.date]]


def answered(conn: Connection) -> list[Answered]:
    """Every request in the order made, with what was received against it."""
    return _answered(conn)


def _answered(conn: Connection) -> list[Answered]:
    r, b = blank_requests.c, blank_batches.c
    rows = conn.execute(
        sa.select(r.reference, r.occurred_at, r.quantity, b.reference, b.received, b.received_on)
        .outerjoin(blank_batches, b.request == r.reference)
        .order_by(r.seq, b.received_on, b.id)
    )
    made: dict[str, tuple[dt.datetime, int]] = {}
    sent: dict[str, list[tuple[str, int, dt.date]]] = {}
    for reference, at, requested, batch, received, day in rows:
        made[reference] = (at, int(requested))
        sent.setdefault(reference, [])
        if batch is not None:
            sent[reference].append((batch, int(received), day))
    return [
        Answered(reference, at, requested, sum(n for _, n, _ in sent[reference]), sent[reference])
        for reference, (at, requested) in made.items()
    ]
