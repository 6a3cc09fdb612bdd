"""The counts the reports are made of: cards by kecamatan and state, printing, stock at the city."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

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


def events_since_by_kecamatan(tx: Connection, trigger: str, since: dt.datetime) -> dict[str, int]:
    """Events of ``trigger`` that occurred since ``since``, per current kecamatan."""
    query = (
        sa.select(residents.c.kecamatan, sa.func.count())
        .select_from(events.join(residents, residents.c.id == events.c.card_id))
        .where(events.c.trigger == trigger, events.c.occurred_at >= since)
        .group_by(residents.c.kecamatan)
    )
    return {kecamatan: int(count) for kecamatan, count in tx.execute(query)}


def undistributed(tx: Connection) -> int:
    """Blanks of every batch still at the city."""
    return int(tx.scalar(sa.select(sa.func.coalesce(sa.func.sum(blank_batches.c.undistributed), 0))) or 0)


def waiting_since(tx: Connection, states: Sequence[str]) -> Iterator[Any]:
    """``(kecamatan, state, last event time)`` of every card in one of ``states``."""
    query = (
        sa.select(residents.c.kecamatan, cards.c.state, cards.c.updated_at)
        .select_from(CARD_FROM)
        .where(cards.c.state.in_(states))
    )
    yield from tx.execute(query)


def reserved_by_kecamatan(tx: Connection) -> dict[str, int]:
    """Blanks reserved for a card, per kecamatan (the ledger's balances)."""
    query = sa.select(blank_stock.c.kecamatan, sa.func.sum(blank_stock.c.reserved)).group_by(blank_stock.c.kecamatan)
    return {kecamatan: int(count) for kecamatan, count in tx.execute(query)}
