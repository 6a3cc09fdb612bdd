"""The log read back for audits, in pages so that memory stays flat: events to re-hash,
fold or export; residents and cards to compare the fold with."""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .chain import ENTRY_FIELDS, HASHED_FIELDS, LATER_FIELDS
from .eventlog import ENTRY_TABLES, EVENT_COLUMNS, EVENT_FROM
from .schema import blank_batches, blank_entries, cards, events, residents

PAGE = 5000
Progress = Callable[[int], None]


def pages(tx: Connection, query: Any, key: Any, plain: bool = False, after: Any = None) -> Iterator[Sequence[Any]]:
    """The rows of ``query`` in ``key`` order, a page at a time, so memory stays flat.

    Keyset paging (``key`` greater than the last one seen): every page is a short
    query of its own, also on PostgreSQL, whose driver would otherwise hold the whole
    result. ``key`` must be the query's first column.

    :param plain: the driver's tuples, without SQLAlchemy rows or type conversion
        (for ids, text and numbers, in the hot loops of replay).
    :param after: start after this key. Give the lower bound here, never in ``query``:
        with two lower bounds on its key SQLite seeks by the first alone, and every
        page would scan from the start of the table.
    """
    while True:
        page = query.order_by(key).limit(PAGE)
        if after is not None:
            page = page.where(key > after)
        result = tx.execute(page)
        batch: Sequence[Any] = result.cursor.fetchall() if plain else result.all()
        result.close()
        if batch:
            yield batch
        if len(batch) < PAGE:
            return
        after = batch[-1][0]


def _events(
    tx: Connection,
    columns: Any,
    after: int = 0,
    until: int | None = None,
    source: Any = None,
    progress: Progress | None = None,
) -> Iterator[Any]:
    """Rows of ``events`` in sequence order (``seq`` first among ``columns``), read in pages.

    :param progress: called with the number of rows of each page read.
    """
    query = sa.select(*columns)
    if source is not None:
        query = query.select_from(source)
    if until is not None:
        query = query.where(events.c.seq <= until)
    for batch in pages(tx, query, events.c.seq, after=after):
        yield from batch
        if progress is not None:
            progress(len(batch))


def hashed(tx: Connection, progress: Progress | None = None, after: int = 0, until: int | None = None) -> Iterator[Any]:
    """Every event's hashed fields (``chain.HASHED_FIELDS``) and its ``hash``, in order
    (those with ``after < seq <= until``)."""
    return _events(tx, [events.c[name] for name in (*HASHED_FIELDS, "hash")], after, until, progress=progress)


class Entry(NamedTuple):
    """A ledger, rule or allocation entry read back: its place, kind, the values its hash
    covers (``chain.ENTRY_FIELDS``, ``seq`` first, then its ``LATER_FIELDS``) and the hash stored."""

    seq: int
    kind: str
    values: tuple[Any, ...]
    chain_hash: str


def entries(tx: Connection, after: int | None = None, until: int | None = None) -> Iterator[Entry]:
    """Every entry chained with the events, of every kind, in sequence order (those with
    ``after < seq <= until``)."""
    streams = [_entries_of(tx, kind, after, until) for kind in ENTRY_TABLES]
    return heapq.merge(*streams, key=lambda entry: entry.seq)


def first_entry_seq(tx: Connection) -> int | None:
    """The lowest seq of any chained entry (the schema's own entries start below 1), or None."""
    found = [tx.scalar(sa.select(sa.func.min(table.c.seq))) for table in ENTRY_TABLES.values()]
    seqs = [int(seq) for seq in found if seq is not None]
    return min(seqs) if seqs else None


def last_link(tx: Connection, seq: int) -> tuple[int, str] | None:
    """The row of the chain (an event or an entry) with the highest ``seq`` not above
    ``seq``, as (seq, its stored hash); None if there is none. Where a range of the
    chain verified on its own starts."""
    found = [
        tx.execute(
            sa.select(column.table.c.seq, column)
            .where(column.table.c.seq <= seq)
            .order_by(column.table.c.seq.desc())
            .limit(1)
        ).first()
        for column in [events.c.hash, *(table.c.chain_hash for table in ENTRY_TABLES.values())]
    ]
    rows = [(int(row[0]), str(row[1])) for row in found if row is not None and row[1] is not None]
    return max(rows) if rows else None


def _entries_of(tx: Connection, kind: str, after: int | None = None, until: int | None = None) -> Iterator[Entry]:
    table = ENTRY_TABLES[kind]
    if kind == "blank_entry":
        received = blank_entries.c.movement.in_(("received", "borrowed"))
        columns = [
            sa.case((received, blank_batches.c.reference))
            if name == "reference"
            else sa.case((received, blank_batches.c.received_on))
            if name == "received_on"
            else sa.case((received, blank_batches.c.request))
            if name == "request"
            else blank_entries.c[name]
            for name in ENTRY_FIELDS[kind] + LATER_FIELDS.get(kind, ())
        ]
        source: Any = blank_entries.outerjoin(blank_batches, blank_batches.c.id == blank_entries.c.batch_id)
    else:
        names = ENTRY_FIELDS[kind] + LATER_FIELDS.get(kind, ())
        columns, source = [table.c[name] for name in names], table
    query = sa.select(*columns, table.c.chain_hash).select_from(source).where(table.c.seq.is_not(None))
    if until is not None:
        query = query.where(table.c.seq <= until)
    for batch in pages(tx, query, table.c.seq, after=after):
        for row in batch:
            yield Entry(row[0], kind, tuple(row[:-1]), row[-1])


def unchained(tx: Connection) -> dict[str, int]:
    """Rows of the entry tables with no place in the chain (no ``seq``), by kind."""
    found = {}
    for kind, table in ENTRY_TABLES.items():
        count = tx.scalar(sa.select(sa.func.count()).select_from(table).where(table.c.seq.is_(None)))
        if count:
            found[kind] = int(count)
    return found


def exported(tx: Connection, after: int, progress: Progress | None = None) -> Iterator[Any]:
    """Events after ``after``, each with its card's NIK and its hash, in order."""
    return _events(tx, [*EVENT_COLUMNS, events.c.hash], after=after, source=EVENT_FROM, progress=progress)


def transitions(
    tx: Connection, until_seq: int | None, as_of: dt.datetime | None, by: str
) -> Iterator[Sequence[tuple[Any, ...]]]:
    """Pages of ``(seq, card_id, version, trigger, from_state, to_state, lifecycle_hash)``,
    plain driver tuples, up to ``until_seq`` and to events recorded (``by="recorded"``) or
    occurred (``by="occurred"``) at or before ``as_of``."""
    query = sa.select(
        events.c.seq,
        events.c.card_id,
        events.c.version,
        events.c.trigger,
        events.c.from_state,
        events.c.to_state,
        events.c.lifecycle_hash,
    )
    if until_seq is not None:
        query = query.where(events.c.seq <= until_seq)
    if as_of is not None:
        query = query.where((events.c.recorded_at if by == "recorded" else events.c.occurred_at) <= as_of)
    return pages(tx, query, events.c.seq, plain=True)


def resident_kecamatan(tx: Connection) -> Iterator[Sequence[tuple[int, str]]]:
    """Pages of ``(resident id, current kecamatan)`` in id order."""
    return pages(tx, sa.select(residents.c.id, residents.c.kecamatan), residents.c.id, plain=True)


def stored_cards(tx: Connection) -> Iterator[Sequence[tuple[int, str, int, int | None]]]:
    """Pages of ``(card id, state, version, blank batch held)`` in id order."""
    query = sa.select(cards.c.id, cards.c.state, cards.c.version, cards.c.blank_batch_id)
    return pages(tx, query, cards.c.id, plain=True)
