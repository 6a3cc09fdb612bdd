"""The cards waiting for a blank, the stock they wait for, and what each allocation run saw.

The queue is a table the database keeps (``schema.waiting_cards``, by triggers on
cards and residents): planning reads one kecamatan's range of it instead of joining
every card of the city. Queue rules that say their key in SQL (``sql_key``) are
ordered here; the planner (``rules.planner``) does the rest.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..rules.base import Applicant, Demand, QueueColumns
from ..rules.planner import AllocationPlan
from . import eventlog
from .chain import inputs_hash
from .schema import (
    allocation_queue,
    allocation_runs,
    allocation_stock,
    blank_stock,
    events,
    residents,
    waiting_cards,
)

_APPLICANTS = sa.select(
    waiting_cards.c.nik,
    waiting_cards.c.kecamatan,
    waiting_cards.c.birth_date,
    waiting_cards.c.had_ektp,
    waiting_cards.c.disaster_victim,
    waiting_cards.c.suket,
    waiting_cards.c.waiting_since,
    waiting_cards.c.card_id,
    waiting_cards.c.replacement,
)


def applicants(tx: Connection, kecamatan: str | None = None) -> list[Applicant]:
    """The queue: every card waiting for a blank (optionally in one kecamatan)."""
    query = _APPLICANTS if kecamatan is None else _APPLICANTS.where(waiting_cards.c.kecamatan == kecamatan)
    return [Applicant(*row) for row in tx.execute(query)]


def place(tx: Connection, nik: str) -> tuple[Any, ...] | None:
    """The queue row of the card of ``nik`` (kecamatan, birth date, flags, waiting since:
    all its place depends on, with the rules and the day), or None if it does not wait."""
    w = waiting_cards.c
    query = sa.select(w.kecamatan, w.birth_date, w.had_ektp, w.disaster_victim, w.suket, w.waiting_since, w.replacement)
    row = tx.execute(query.where(w.nik == nik)).first()
    return None if row is None else tuple(row)


def stock(tx: Connection, kecamatan: str | None = None) -> dict[str, int]:
    """Unreserved blanks per kecamatan."""
    query = sa.select(blank_stock.c.kecamatan, sa.func.sum(blank_stock.c.unallocated)).group_by(blank_stock.c.kecamatan)
    if kecamatan is not None:
        query = query.where(blank_stock.c.kecamatan == kecamatan)
    return {k: int(n) for k, n in tx.execute(query)}


def waiting_counts(tx: Connection, kecamatan: str | None = None) -> dict[str, tuple[int, int]]:
    """First-time and replacement applicants in the queue, per kecamatan."""
    w = waiting_cards.c
    query = sa.select(w.kecamatan, w.had_ektp, sa.func.count()).group_by(w.kecamatan, w.had_ektp)
    if kecamatan is not None:
        query = query.where(w.kecamatan == kecamatan)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for code, had_ektp, count in tx.execute(query):
        counts[code][1 if had_ektp else 0] += int(count)
    return {code: (first, replacement) for code, (first, replacement) in counts.items()}


def demand(tx: Connection) -> list[Demand]:
    """Per kecamatan: first-time and replacement applicants waiting, and blanks in stock."""
    counts = waiting_counts(tx)
    in_stock = stock(tx)
    return [Demand(k, *counts[k], in_stock.get(k, 0)) for k in sorted(counts)]


def first_in_line(tx: Connection, kecamatan: str, sql_keys: Sequence[Any], day: dt.date, count: int) -> list[Applicant]:
    """The first ``count`` of a kecamatan's queue, ordered by the rules' SQL keys, then
    waiting time, then NIK (the planner's order)."""
    query = _APPLICANTS.where(waiting_cards.c.kecamatan == kecamatan).order_by(*_order(waiting_cards, sql_keys, day))
    return [Applicant(*row) for row in tx.execute(query.limit(count))]


def comparable(sql_keys: Sequence[Any], day: dt.date) -> bool:
    """Whether the keys can be compared as a row value: a key given as an ordering
    (``.desc()``) orders a plan but cannot be compared."""
    return all(getattr(k, "modifier", None) is None for k in _order(waiting_cards, sql_keys, day))


def position(tx: Connection, card_id: int, kecamatan: str, sql_keys: Sequence[Any], day: dt.date) -> int | None:
    """A waiting card's 1-based place in its kecamatan's queue, counted by the database (a
    row-value comparison on the same keys the plan orders by); None if it is not waiting.
    The keys must be ``comparable``."""
    if tx.scalar(sa.select(waiting_cards.c.card_id).where(waiting_cards.c.card_id == card_id)) is None:
        return None
    me = waiting_cards.alias("me")
    ahead = (
        sa.select(sa.func.count())
        .select_from(waiting_cards.join(me, me.c.card_id == card_id))
        .where(
            waiting_cards.c.kecamatan == kecamatan,
            sa.tuple_(*_order(waiting_cards, sql_keys, day)) < sa.tuple_(*_order(me, sql_keys, day)),
        )
    )
    return int(tx.scalar(ahead) or 0) + 1


def order_of(sql_keys: Sequence[Any], day: dt.date) -> Callable[[Any], list[Any]]:
    """What a kecamatan's queue is ordered by (the rules' SQL keys, then waiting time, then
    NIK), as a function of a table of the queue's columns (``waiting_cards`` or an alias)."""
    return lambda table: _order(table, sql_keys, day)


def _order(table: Any, sql_keys: Sequence[Any], day: dt.date) -> list[Any]:
    """What the queue is ordered by, on ``table`` (``waiting_cards`` or an alias of it):
    the rules' SQL keys, then waiting time, then NIK."""
    t = table.c
    columns = QueueColumns(
        t.nik, t.kecamatan, t.birth_date, t.had_ektp, t.disaster_victim, t.suket, t.waiting_since, t.replacement
    )
    return [*(sql_key(columns, day) for sql_key in sql_keys), t.waiting_since, t.nik]


# -- what each run saw ------------------------------------------------------------------------


def record_run(
    tx: Connection, run_id: str, plan: AllocationPlan, kecamatan: str | None, actor: str, at: dt.datetime
) -> None:
    """Keep what a run decided from, so that an auditor can re-run it exactly, chained
    with the events: the run's entry carries the hash of its recorded inputs.

    The queue is kept for the kecamatan that had blanks to give; elsewhere the
    count of blanks (none) and of applicants waiting explains itself. Run it in the
    transaction the plan was made in, so that the queue kept is the one planned.
    """
    stock_rows = sorted((k.kecamatan, k.blanks, k.queue) for k in plan.kecamatan)
    with_blanks = [k.kecamatan for k in plan.kecamatan if k.blanks > 0]
    queue = _QUEUE_KEPT.where(waiting_cards.c.kecamatan.in_(with_blanks)) if with_blanks else None
    seen = inputs_hash(stock_rows, tx.execute(queue) if queue is not None else ())
    run = {
        "run_id": run_id,
        "rule_set_version": plan.rule_set_version,
        "day": plan.day,
        "kecamatan": kecamatan,
        "actor": actor,
        "occurred_at": at,
        "inputs_hash": seen,
    }
    eventlog.append_entries(tx, "allocation_run", [run])
    if stock_rows:
        keys = ("kecamatan", "blanks", "waiting")
        tx.execute(
            allocation_stock.insert(), [{"run_id": run_id, **dict(zip(keys, r, strict=True))} for r in stock_rows]
        )
    if with_blanks:
        w = waiting_cards.c
        kept = sa.select(sa.literal(run_id, sa.String), *(w[name] for name in _KEPT)).where(
            w.kecamatan.in_(with_blanks)
        )
        tx.execute(allocation_queue.insert().from_select(["run_id", *_KEPT], kept))


#: The columns of the queue a run keeps, in the order ``chain.inputs_hash`` reads them.
_KEPT = ("kecamatan", "card_id", "birth_date", "had_ektp", "disaster_victim", "suket", "waiting_since", "replacement")
_QUEUE_KEPT = sa.select(*(waiting_cards.c[name] for name in _KEPT)).order_by(
    waiting_cards.c.kecamatan, waiting_cards.c.card_id
)


def recorded_inputs_hash(tx: Connection, run_id: str) -> str:
    """The hash of a run's recorded inputs as stored now (``chain.inputs_hash``)."""
    s, q = allocation_stock.c, allocation_queue.c
    stock_rows = tx.execute(sa.select(s.kecamatan, s.blanks, s.waiting).where(s.run_id == run_id).order_by(s.kecamatan))
    queue = tx.execute(
        sa.select(*(q[name] for name in _KEPT)).where(q.run_id == run_id).order_by(q.kecamatan, q.card_id)
    )
    return inputs_hash(stock_rows, queue)


class RecordedRun(NamedTuple):
    """A recorded allocation run, as one kecamatan took part in it."""

    run_id: str
    day: dt.date
    rule_set_version: int
    kecamatan: str
    #: applicants waiting there (for a kecamatan without blanks, whose queue was not kept).
    waiting: int | None = None


def runs_holding(tx: Connection, card_id: int) -> list[RecordedRun]:
    """The runs whose kept queue held the card, oldest first."""
    query = (
        sa.select(
            allocation_runs.c.run_id,
            allocation_runs.c.day,
            allocation_runs.c.rule_set_version,
            allocation_queue.c.kecamatan,
        )
        .join(allocation_queue, allocation_queue.c.run_id == allocation_runs.c.run_id)
        .where(allocation_queue.c.card_id == card_id)
        .order_by(allocation_runs.c.occurred_at, allocation_runs.c.run_id)
    )
    return [RecordedRun(*row) for row in tx.execute(query)]


def runs_without_blanks(tx: Connection, kecamatan: str, since: dt.datetime) -> list[RecordedRun]:
    """Runs since ``since`` in which the kecamatan had no blank to give."""
    query = (
        sa.select(
            allocation_runs.c.run_id,
            allocation_runs.c.day,
            allocation_runs.c.rule_set_version,
            allocation_stock.c.kecamatan,
            allocation_stock.c.waiting,
        )
        .join(allocation_stock, allocation_stock.c.run_id == allocation_runs.c.run_id)
        .where(
            allocation_stock.c.kecamatan == kecamatan,
            allocation_stock.c.blanks == 0,
            allocation_runs.c.occurred_at >= since,
        )
    )
    return [RecordedRun(*row) for row in tx.execute(query)]


def recorded_queue(tx: Connection, run_id: str, kecamatan: str) -> tuple[int, list[Applicant]]:
    """The blanks a kecamatan had in a run, and its queue as the run kept it."""
    blanks = tx.scalar(
        sa.select(allocation_stock.c.blanks).where(
            allocation_stock.c.run_id == run_id, allocation_stock.c.kecamatan == kecamatan
        )
    )
    q = allocation_queue.c
    queue = tx.execute(
        sa.select(
            residents.c.nik,
            q.kecamatan,
            q.birth_date,
            q.had_ektp,
            q.disaster_victim,
            q.suket,
            q.waiting_since,
            q.card_id,
            q.replacement,
        )
        .join(residents, residents.c.id == q.card_id)
        .where(q.run_id == run_id, q.kecamatan == kecamatan)
    )
    return int(blanks or 0), [Applicant(*row) for row in queue]


def run_kecamatan(tx: Connection, run_id: str) -> list[str]:
    """The kecamatan whose stock a run recorded, in code order."""
    query = sa.select(allocation_stock.c.kecamatan).where(allocation_stock.c.run_id == run_id)
    return sorted(tx.scalars(query))


def run(tx: Connection, run_id: str) -> Any:
    """A recorded run: its id, rule-set version, day, kecamatan, actor and time."""
    return tx.execute(sa.select(allocation_runs).where(allocation_runs.c.run_id == run_id)).one()


def runs_that_allocated(tx: Connection, card_id: int) -> set[str]:
    """The runs whose ``allocate`` events gave this card a blank."""
    return set(
        tx.scalars(sa.select(events.c.batch_id).where(events.c.card_id == card_id, events.c.trigger == "allocate"))
    )
