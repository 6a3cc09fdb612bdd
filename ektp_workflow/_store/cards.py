"""Cards and their residents: locked for a transition, moved a chunk at a time, read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..errors import ConcurrencyError
from ..i18n import ngettext
from ..records import Card
from .driver import Driver, DriverStatement
from .schema import cards, event_chain, events, residents, waiting_cards


class LockedCard(NamedTuple):
    """A card read and locked for a transition, with what guards and effects read of its
    resident (a plain tuple: a chunk reads 2,000)."""

    id: int
    state: str
    version: int
    #: when its last event happened.
    updated_at: dt.datetime
    #: the batch whose blank it holds, or None.
    blank_batch_id: int | None
    kecamatan: str
    birth_date: dt.date
    nik: str


CARD_FROM = cards.join(residents, cards.c.id == residents.c.id)
_LOCKED_COLUMNS = (
    cards.c.id,
    cards.c.state,
    cards.c.version,
    cards.c.updated_at,
    cards.c.blank_batch_id,
    residents.c.kecamatan,
    residents.c.birth_date,
    residents.c.nik,
)

# The chain head and the card in one statement: the head is locked before the card, the
# order every writer keeps (no deadlocks), and a NIK without a card locks nothing.
_LOCK_HEAD_AND_CARD = DriverStatement(
    sa.select(event_chain.c.last_seq, event_chain.c.last_hash, *_LOCKED_COLUMNS)
    .select_from(event_chain.join(CARD_FROM, sa.true()))
    .where(event_chain.c.id == 1, residents.c.nik == sa.bindparam("nik"))
    .with_for_update(of=[event_chain, cards])
)


def lock_for_transition(db: Driver, nik: str) -> tuple[tuple[int, str], LockedCard] | None:
    """Lock the chain head, then the card of ``nik``: the head (seq, hash) and the card,
    or None (and nothing locked) if no card is registered for the NIK."""
    found = _LOCK_HEAD_AND_CARD.first(db, {"nik": nik})
    if found is None:
        return None
    return (found[0], found[1]), LockedCard._make(found[2:])


# -- chunks ---------------------------------------------------------------------------------

# A chunk's statements run on the driver (see DriverStatement): for a chunk of 2,000
# cards, SQLAlchemy's handling of rows and IN lists costs more than the database's work.
_CHUNK_MOVE = (
    cards.update()
    .where(cards.c.id.in_(sa.bindparam("ids", expanding=True)), cards.c.state == sa.bindparam("source"))
    .values(state=sa.bindparam("dest"), version=cards.c.version + 1, updated_at=sa.bindparam("at"))
)
#: By whether the cards join the queue (their place runs from ``at``).
_MOVE_CHUNK = {
    False: DriverStatement(_CHUNK_MOVE),
    True: DriverStatement(_CHUNK_MOVE.values(queued_at=sa.bindparam("at"))),
}


def move_chunk(
    tx: Connection, ids: list[int], source: str, dest: str, at: dt.datetime, joins_queue: bool = False
) -> None:
    """Move these cards, all in ``source``, to ``dest`` (version + 1, last event at ``at``;
    with ``joins_queue``, their place in the queue runs from ``at`` too).

    :raises ConcurrencyError: some of them were not in ``source``.
    """
    moved = _MOVE_CHUNK[joins_queue].rowcount(tx, {"ids": ids, "source": source, "dest": dest, "at": at})
    if moved != len(ids):
        missing = len(ids) - moved
        raise ConcurrencyError(
            ngettext("{count} card of the chunk", "{count} cards of the chunk", missing).format(count=missing), 0, None
        )


def _in_state(*where: sa.ColumnElement[bool]) -> DriverStatement:
    return DriverStatement(
        sa.select(*_LOCKED_COLUMNS)
        .select_from(CARD_FROM)
        .where(cards.c.state == sa.bindparam("state"), cards.c.id > sa.bindparam("after"), *where)
        .order_by(cards.c.id)
        .limit(sa.bindparam("size", type_=sa.Integer))
        .with_for_update(of=cards)
    )


_IN_STATE = _in_state()
_IN_STATE_AND_KECAMATAN = _in_state(residents.c.kecamatan == sa.bindparam("kecamatan"))
_FOR_NIKS = DriverStatement(
    sa.select(*_LOCKED_COLUMNS)
    .select_from(CARD_FROM)
    .where(residents.c.nik.in_(sa.bindparam("niks", expanding=True)))
    .with_for_update(of=cards)
)
_MOVED_BY = DriverStatement(
    sa.select(events.c.card_id).where(
        events.c.batch_id == sa.bindparam("job"), events.c.card_id.in_(sa.bindparam("ids", expanding=True))
    )
)


def in_state(tx: Connection, state: str, kecamatan: str | None, after_id: int, limit: int) -> list[LockedCard]:
    """The next cards in ``state`` (optionally in one kecamatan) by id, locked for the chunk."""
    params = {"state": state, "after": after_id, "size": limit}
    if kecamatan is None:
        return _IN_STATE.all(tx, params, LockedCard._make)
    return _IN_STATE_AND_KECAMATAN.all(tx, {**params, "kecamatan": kecamatan}, LockedCard._make)


def for_niks(tx: Connection, niks: list[str]) -> dict[str, LockedCard]:
    """The cards of these NIKs, locked, by NIK."""
    if not niks:
        return {}
    return {card.nik: card for card in _FOR_NIKS.all(tx, {"niks": niks}, LockedCard._make)}


def moved_by(tx: Connection, batch_id: str, card_ids: list[int]) -> set[int]:
    """Which of these cards the run ``batch_id`` has already moved."""
    if not card_ids:
        return set()
    return {card_id for (card_id,) in _MOVED_BY.all(tx, {"job": batch_id, "ids": card_ids})}


# -- reading ------------------------------------------------------------------------------

_CARD = sa.select(
    residents.c.nik,
    residents.c.name,
    residents.c.kecamatan,
    residents.c.birth_date,
    residents.c.sex,
    residents.c.had_ektp,
    cards.c.state,
    cards.c.version,
    cards.c.updated_at,
).select_from(CARD_FROM)


def card(tx: Connection, nik: str) -> Card | None:
    """The card of ``nik``, or None."""
    row = tx.execute(_CARD.where(residents.c.nik == nik)).first()
    return None if row is None else Card(*row)


def listed(tx: Connection, state: str | None, kecamatan: str | None, after_nik: str | None, limit: int) -> list[Card]:
    """Cards by state and current kecamatan, in NIK order, after ``after_nik``."""
    query = _CARD.order_by(residents.c.nik).limit(limit)
    if state is not None:
        query = query.where(cards.c.state == state)
    if kecamatan is not None:
        query = query.where(residents.c.kecamatan == kecamatan)
    if after_nik is not None:
        query = query.where(residents.c.nik > after_nik)
    return [Card(*row) for row in tx.execute(query)]


class CardFilter(NamedTuple):
    """Which cards a list holds (each part None or empty for any)."""

    states: tuple[str, ...] = ()
    kecamatan: str | None = None
    #: True: replacements only (the resident held an e-KTP); False: first-time only.
    replacement: bool | None = None
    #: only cards whose last event happened before this time.
    since_before: dt.datetime | None = None
    #: a part of the name, as ``text.search_key`` makes it.
    name_key: str | None = None
    nik_prefix: str | None = None


#: The orders a list may take: by NIK, by time in the current state (longest first),
#: or by place in the queue for a blank (kecamatan, then the rules' order).
ORDERS = ("nik", "waiting", "queue")


def page(
    tx: Connection,
    which: CardFilter,
    order: str,
    after: tuple[Any, ...] | None,
    limit: int,
    queue_order: Callable[[Any], list[Any]] | None = None,
) -> list[Card]:
    """A page of the cards ``which`` selects, in ``order``, after the card whose order
    values are ``after`` (a NIK; a time and a NIK; for the queue, the NIK of a waiting card).

    :param queue_order: for the queue order, what a kecamatan's queue is ordered by, on a
        table of the queue's columns (``queue.order_of``); its keys must be comparable.
    """
    r, c = residents.c, cards.c
    query = _CARD.where(*_filtered(which, queued=order == "queue"))
    if order == "nik":
        # A part of a name can only be found by reading every name: across the city,
        # reading the table in its order and sorting what matches is up to ten times
        # faster than walking the NIK index to every row (ordering by an expression skips
        # the index). A kecamatan or a NIK prefix narrows the walk: the index then.
        scan = which.name_key and which.kecamatan is None and not which.nik_prefix
        query = query.order_by(r.nik.concat("") if scan else r.nik)
        if after is not None:
            query = query.where(r.nik > after[0])
    elif order == "waiting":
        query = query.order_by(c.updated_at, r.nik)
        if after is not None:
            at, nik = after
            query = query.where(sa.or_(c.updated_at > at, sa.and_(c.updated_at == at, r.nik > nik)))
    else:
        assert queue_order is not None
        w = waiting_cards
        keys = [w.c.kecamatan, *queue_order(w)]
        query = query.join(w, w.c.card_id == c.id).order_by(*keys)
        if after is not None:
            me = waiting_cards.alias("me")
            query = query.join(me, me.c.nik == after[0]).where(
                sa.tuple_(*keys) > sa.tuple_(me.c.kecamatan, *queue_order(me))
            )
    return [Card(*row) for row in tx.execute(query.limit(limit))]


def among(tx: Connection, which: CardFilter, niks: Sequence[str]) -> dict[str, Card]:
    """The cards of these NIKs that ``which`` selects, by NIK."""
    query = _CARD.where(residents.c.nik.in_(niks), *_filtered(which))
    return {row[0]: Card(*row) for row in tx.execute(query)}


def _filtered(which: CardFilter, queued: bool = False) -> list[sa.ColumnElement[bool]]:
    """The conditions of ``which``; for cards in the queue, on the queue's own copy of the
    resident's kecamatan and flag, so that a kecamatan's range of the queue is read."""
    r, c = residents.c, cards.c
    where: list[sa.ColumnElement[bool]] = []
    if which.states:
        where.append(c.state.in_(which.states) if len(which.states) > 1 else c.state == which.states[0])
    if which.kecamatan is not None:
        where.append((waiting_cards.c.kecamatan if queued else r.kecamatan) == which.kecamatan)
    if which.replacement is not None:
        where.append((waiting_cards.c.had_ektp if queued else r.had_ektp).is_(which.replacement))
    if which.since_before is not None:
        where.append(c.updated_at < which.since_before)
    if which.name_key:
        escaped = which.name_key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(r.name_key.like(f"%{escaped}%", escape="\\"))
    if which.nik_prefix:
        where.append(r.nik >= which.nik_prefix)
        if set(which.nik_prefix) != {"9"}:  # digits: the next prefix bounds it in any collation
            where.append(r.nik < str(int(which.nik_prefix) + 1).zfill(len(which.nik_prefix)))
    return where


def counts(tx: Connection) -> dict[str, dict[str, int]]:
    """Number of cards per current kecamatan and state."""
    query = (
        sa.select(residents.c.kecamatan, cards.c.state, sa.func.count())
        .select_from(CARD_FROM)
        .group_by(residents.c.kecamatan, cards.c.state)
        .order_by(residents.c.kecamatan, cards.c.state)
    )
    result: dict[str, dict[str, int]] = {}
    for kecamatan, state, count in tx.execute(query):
        result.setdefault(kecamatan, {})[state] = count
    return result


def kecamatan_and_state(tx: Connection, nik: str) -> Any:
    """The card of ``nik``: its id, state, last event time and current kecamatan, or None."""
    return tx.execute(
        sa.select(cards.c.id, cards.c.state, cards.c.updated_at, residents.c.kecamatan)
        .select_from(CARD_FROM)
        .where(residents.c.nik == nik)
    ).first()
