"""The stored tables checked against the chained history they are projections of.

Replay folds the events into each card's state and version and compares; what it
cannot fold cheaply in memory is checked here, in SQL, row by row against the rows of
the history that give it: a resident's current data is their latest resident entry,
their registration time its first and their name's search key follows from the name;
a card's time is its last event's, and the time it joined the queue that of its last
event into the queue by an edge that does not keep a card's place; an allocated
card's blank is the one its last ledger entry reserved; a card's replacement category
is its last replacement's; and the queue is exactly the cards waiting, with their
residents' data, the time they joined and their category. Each check lists at most
``limit`` differences, naming the row and the columns.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..i18n import _
from ..text import search_key
from .history import pages
from .residents import DATA
from .schema import (
    allocation_queue,
    allocation_runs,
    blank_entries,
    cards,
    events,
    replacements,
    resident_entries,
    residents,
    waiting_cards,
)


def problems(
    conn: Connection,
    queue_state: str,
    allocated_state: str,
    keeps_place: Collection[tuple[str, str, str]] = (),
    limit: int = 100,
) -> list[str]:
    """Every difference between the projections and the history (the first ``limit`` of each kind).

    :param keeps_place: the edges into the queue, ``(lifecycle hash, trigger, source)``,
        by which a card keeps the place it had.
    """
    return [
        *_residents(conn, limit),
        *_search_keys(conn, limit),
        *_card_times(conn, limit),
        *_queue_times(conn, queue_state, keeps_place, limit),
        *_replacement_categories(conn, limit),
        *_kept_categories(conn, limit),
        *_held_blanks(conn, allocated_state, limit),
        *_queue(conn, queue_state, limit),
    ]


def _entry(resident_id: Any, first: bool) -> Any:
    x = resident_entries.alias()
    pick = sa.func.min(x.c.seq) if first else sa.func.max(x.c.seq)
    return sa.select(pick).where(x.c.resident_id == resident_id).scalar_subquery()


def _residents(conn: Connection, limit: int) -> list[str]:
    r = residents.c
    latest, first = resident_entries.alias("latest"), resident_entries.alias("first")
    differs = [r[name].is_distinct_from(latest.c[name]) for name in DATA]
    query = (
        sa.select(
            r.id,
            latest.c.seq,
            *(r[name] for name in DATA),
            *(latest.c[name] for name in DATA),
            r.registered_at,
            first.c.occurred_at,
        )
        .select_from(
            residents.outerjoin(latest, latest.c.seq == _entry(r.id, first=False)).outerjoin(
                first, first.c.seq == _entry(r.id, first=True)
            )
        )
        .where(sa.or_(latest.c.seq.is_(None), *differs, r.registered_at.is_distinct_from(first.c.occurred_at)))
        .order_by(r.id)
        .limit(limit)
    )
    found = []
    width = len(DATA)
    for row in conn.execute(query):
        resident_id, seq = row[0], row[1]
        if seq is None:
            found.append(
                _("resident {resident_id}: no resident entry in the history (written outside the engine)").format(
                    resident_id=resident_id
                )
            )
            continue
        stored, history = row[2 : 2 + width], row[2 + width : 2 + 2 * width]
        columns = [name for name, a, b in zip(DATA, stored, history, strict=True) if a != b]
        if row[-2] != row[-1]:
            columns.append("registered_at")
        found.append(
            _("resident {resident_id}: {columns} differ from the history (entry seq {seq})").format(
                resident_id=resident_id, columns=", ".join(columns), seq=seq
            )
        )
    return found


def _search_keys(conn: Connection, limit: int) -> list[str]:
    """Each resident's ``name_key`` is their name's ``search_key`` (it decides whom a search
    finds): normalised here, a page at a time."""
    found = []
    query = sa.select(residents.c.id, residents.c.name, residents.c.name_key)
    for batch in pages(conn, query, residents.c.id, plain=True):
        for resident_id, name, key in batch:
            if key != search_key(name):
                found.append(
                    _("resident {resident_id}: name_key {key!r} is not the search key of the name").format(
                        resident_id=resident_id, key=key
                    )
                )
                if len(found) == limit:
                    return found
    return found


def _card_times(conn: Connection, limit: int) -> list[str]:
    c, e = cards.c, events.c
    query = (
        sa.select(c.id, c.updated_at, e.occurred_at)
        .select_from(cards.outerjoin(events, sa.and_(e.card_id == c.id, e.version == c.version)))
        .where(e.occurred_at.is_distinct_from(c.updated_at))
        .order_by(c.id)
        .limit(limit)
    )
    differs = _("card {card_id}: updated_at {stored} but its last event occurred at {happened}")
    return [
        differs.format(card_id=card_id, stored=stored, happened=happened)
        for card_id, stored, happened in conn.execute(query)
    ]


def _queue_times(
    conn: Connection, queue_state: str, keeps_place: Collection[tuple[str, str, str]], limit: int
) -> list[str]:
    c, e = cards.c, events.c
    kept = [
        sa.and_(e.lifecycle_hash == lifecycle, e.trigger == trigger, e.from_state == source)
        for lifecycle, trigger, source in sorted(keeps_place)
    ]
    joined = (
        sa.select(e.card_id, sa.func.max(e.occurred_at, type_=e.occurred_at.type).label("at"))
        .where(e.to_state == queue_state, *([sa.not_(sa.or_(*kept))] if kept else []))
        .group_by(e.card_id)
        .subquery()
    )
    query = (
        sa.select(c.id, c.queued_at, joined.c.at)
        .select_from(cards.outerjoin(joined, joined.c.card_id == c.id))
        .where(c.queued_at.is_distinct_from(joined.c.at))
        .order_by(c.id)
        .limit(limit)
    )
    differs = _("card {card_id}: queued_at {stored} but it last joined the queue at {joined_at}")
    return [
        differs.format(card_id=card_id, stored=stored, joined_at=joined_at)
        for card_id, stored, joined_at in conn.execute(query)
    ]


def _replacement_categories(conn: Connection, limit: int) -> list[str]:
    c, x = cards.c, replacements.alias()
    last = replacements.alias("last")
    last_seq = sa.select(sa.func.max(x.c.seq)).where(x.c.card_id == c.id).scalar_subquery()
    query = (
        sa.select(c.id, c.replacement, last.c.category, last.c.seq)
        .select_from(cards.outerjoin(last, last.c.seq == last_seq))
        .where(c.replacement.is_distinct_from(last.c.category))
        .order_by(c.id)
        .limit(limit)
    )
    none = _("card {card_id}: replacement {stored} but no replacement is in the history")
    other = _("card {card_id}: replacement {stored} but its last replacement (seq {seq}) is {category}")
    return [
        (none if seq is None else other).format(card_id=card_id, stored=stored, seq=seq, category=category)
        for card_id, stored, category, seq in conn.execute(query)
    ]


def _kept_categories(conn: Connection, limit: int) -> list[str]:
    """Each allocation run kept every card's replacement category as the history had it
    then (its last replacement before the run): a category set on the card by other
    means for one run, then put back, shows here."""
    q, run, x = allocation_queue.c, allocation_runs.c, replacements.alias("x")
    then = (
        sa.select(x.c.category)
        .where(x.c.card_id == q.card_id, x.c.seq < run.seq)
        .order_by(x.c.seq.desc())
        .limit(1)
        .scalar_subquery()
    )
    query = (
        sa.select(q.run_id, q.card_id, q.replacement, then)
        .select_from(allocation_queue.join(allocation_runs, run.run_id == q.run_id))
        .where(
            sa.or_(q.replacement.is_not(None), q.card_id.in_(sa.select(replacements.c.card_id))),
            q.replacement.is_distinct_from(then),
        )
        .order_by(q.run_id, q.card_id)
        .limit(limit)
    )
    differs = _("allocation run {run_id}: kept card {card_id} with replacement {kept}, but the history says {had} then")
    return [
        differs.format(run_id=run_id, card_id=card_id, kept=kept, had=had)
        for run_id, card_id, kept, had in conn.execute(query)
    ]


def _held_blanks(conn: Connection, allocated_state: str, limit: int) -> list[str]:
    c = cards.c
    x = blank_entries.alias()
    last_entry = sa.select(sa.func.max(x.c.seq)).where(x.c.card_id == c.id).scalar_subquery()
    last = blank_entries.alias("last")
    query = (
        sa.select(c.id, c.blank_batch_id, last.c.movement, last.c.batch_id)
        .select_from(cards.outerjoin(last, last.c.seq == last_entry))
        .where(
            c.state == allocated_state,
            sa.or_(last.c.movement.is_distinct_from("reserved"), last.c.batch_id.is_distinct_from(c.blank_batch_id)),
        )
        .order_by(c.id)
        .limit(limit)
    )
    none = _("card {card_id}: holds a blank of batch {held}, but its last ledger entry is none")
    other = _("card {card_id}: holds a blank of batch {held}, but its last ledger entry is {movement} of batch {batch}")
    return [
        (none if movement is None else other).format(card_id=card_id, held=held, movement=movement, batch=batch)
        for card_id, held, movement, batch in conn.execute(query)
    ]


_QUEUE = (
    "kecamatan",
    "card_id",
    "nik",
    "birth_date",
    "had_ektp",
    "disaster_victim",
    "suket",
    "waiting_since",
    "replacement",
)


def _queue(conn: Connection, queue_state: str, limit: int) -> list[str]:
    r, c = residents.c, cards.c
    expected = (
        sa.select(
            r.kecamatan, c.id, r.nik, r.birth_date, r.had_ektp, r.disaster_victim, r.suket, c.queued_at, c.replacement
        )
        .select_from(cards.join(residents, r.id == c.id))
        .where(c.state == queue_state)
    )
    kept = sa.select(*(waiting_cards.c[name] for name in _QUEUE))
    found = []
    for what, rows in (
        (_("queue: card {card_id} kept in the queue but not waiting so: {row}"), sa.except_(kept, expected)),
        (
            _("queue: card {card_id} waiting but missing from the queue, or kept otherwise: {row}"),
            sa.except_(expected, kept),
        ),
    ):
        listed = rows.subquery()
        for row in conn.execute(sa.select(listed).order_by(listed.c[1]).limit(limit)):
            found.append(what.format(card_id=row[1], row=_queue_row(row)))
    return found


def _queue_row(row: Sequence[Any]) -> str:
    return ", ".join(f"{name}={value}" for name, value in zip(_QUEUE, row, strict=True) if name != "card_id")
