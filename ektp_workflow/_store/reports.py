"""The counts the reports are made of: cards by kecamatan and state, printing, stock at the city."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..records import QUEUE_STATE
from .cards import CARD_FROM
from .schema import blank_batches, blank_stock, cards, events, residents


def cards_by_kecamatan_state_and_age(tx: Connection, born_by: dt.date) -> list[tuple[str, str, bool, int]]:
    """Cards per current kecamatan and state, split by whether their resident was born on
    or before ``born_by``: ``(kecamatan, state, born by then, count)``."""
    old_enough = sa.case((residents.c.birth_date <= born_by, 1), else_=0).label("old_enough")
    query = (
        sa.select(residents.c.kecamatan, cards.c.state, old_enough, sa.func.count())
        .select_from(CARD_FROM)
        .group_by(residents.c.kecamatan, cards.c.state, old_enough)
    )
    return [(kecamatan, state, bool(old), int(count)) for kecamatan, state, old, count in tx.execute(query)]


def cards_in_state_by_kecamatan(tx: Connection, state: str) -> dict[str, int]:
    """Cards in ``state`` per current kecamatan."""
    query = (
        sa.select(residents.c.kecamatan, sa.func.count())
        .select_from(CARD_FROM)
        .where(cards.c.state == state)
        .group_by(residents.c.kecamatan)
    )
    return {kecamatan: int(count) for kecamatan, count in tx.execute(query)}


def events_since_by_kecamatan(
    tx: Connection, trigger: str, since: dt.datetime, undone_by: Sequence[str] = ()
) -> dict[str, int]:
    """Events of ``trigger`` that occurred since ``since``, per current kecamatan; with
    ``undone_by``, not those the card's next event undid (a print voided by a reprint)."""
    e = events.c
    query = (
        sa.select(residents.c.kecamatan, sa.func.count())
        .select_from(events.join(residents, residents.c.id == e.card_id))
        .where(e.trigger == trigger, e.occurred_at >= since)
        .group_by(residents.c.kecamatan)
    )
    if undone_by:
        after = events.alias("after")
        undone = sa.exists().where(
            after.c.card_id == e.card_id, after.c.version == e.version + 1, after.c.trigger.in_(undone_by)
        )
        query = query.where(sa.not_(undone))
    return {kecamatan: int(count) for kecamatan, count in tx.execute(query)}


def undistributed(tx: Connection) -> int:
    """Blanks of every batch still at the city."""
    return int(tx.scalar(sa.select(sa.func.coalesce(sa.func.sum(blank_batches.c.undistributed), 0))) or 0)


def waiting_since(tx: Connection, states: Sequence[str]) -> Iterator[Any]:
    """``(kecamatan, state, since)`` of every card in one of ``states``: since its last
    event, or in the queue since it joined it (a requeued card keeps its time there)."""
    since = sa.case((cards.c.state == QUEUE_STATE, cards.c.queued_at), else_=cards.c.updated_at)
    query = (
        sa.select(residents.c.kecamatan, cards.c.state, since).select_from(CARD_FROM).where(cards.c.state.in_(states))
    )
    yield from tx.execute(query)


def reserved_by_kecamatan(tx: Connection) -> dict[str, int]:
    """Blanks reserved for a card, per kecamatan (the ledger's balances)."""
    query = sa.select(blank_stock.c.kecamatan, sa.func.sum(blank_stock.c.reserved)).group_by(blank_stock.c.kecamatan)
    return {kecamatan: int(count) for kecamatan, count in tx.execute(query)}
