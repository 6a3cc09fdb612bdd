"""Who gets a blank: a pure, deterministic planner, and the inputs it reads.

The planner takes a snapshot of the queue (cards in ``deduplicated``), the blanks in
stock per kecamatan and the rule set, and returns the plan: per kecamatan, who gets
a blank in what order and who waits. The same inputs always give the same plan;
ties left by the rules are broken by waiting time, then NIK. Writing the plan (the
applier) is ``Workflow.allocate``; a dry run is the planner alone.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .errors import RuleSetError
from .rules.base import Applicant, Demand, QueueColumns, QueueRule, SplitRule
from .schema import allocation_queue, allocation_runs, allocation_stock, blank_stock, waiting_cards

#: The state whose cards wait for a blank.
QUEUE_STATE = "deduplicated"


@dataclass(frozen=True)
class KecamatanPlan:
    """One kecamatan's share of an allocation."""

    kecamatan: str
    #: unreserved blanks at the kecamatan when planned.
    blanks: int
    #: applicants who get a blank, in queue order.
    chosen: tuple[Applicant, ...]
    #: applicants left waiting: first-time and replacement.
    first_time_waiting: int
    replacement_waiting: int

    @property
    def waiting(self) -> int:
        """Applicants left waiting."""
        return self.first_time_waiting + self.replacement_waiting

    @property
    def queue(self) -> int:
        """Applicants in the queue: chosen and left waiting."""
        return len(self.chosen) + self.waiting

    def served(self, first_time: bool) -> int:
        return sum(a.first_time == first_time for a in self.chosen)

    def left_waiting(self, first_time: bool) -> int:
        return self.first_time_waiting if first_time else self.replacement_waiting

    def summary(self) -> dict[str, Any]:
        return {
            "kecamatan": self.kecamatan,
            "blanks": self.blanks,
            "first_time_served": self.served(True),
            "replacement_served": self.served(False),
            "first_time_waiting": self.left_waiting(True),
            "replacement_waiting": self.left_waiting(False),
        }


@dataclass(frozen=True)
class AllocationPlan:
    """Who gets a blank, per kecamatan, under one rule-set version."""

    rule_set_version: int
    rule_set_hash: str
    day: dt.date
    kecamatan: tuple[KecamatanPlan, ...]
    #: set once the plan is written: the batch id on its events.
    run_id: str | None = None

    def chosen(self) -> list[Applicant]:
        return [a for k in self.kecamatan for a in k.chosen]


def plan_allocation(
    applicants: Iterable[Applicant],
    stock: Mapping[str, int],
    queue_rules: Sequence[QueueRule],
    day: dt.date,
    rule_set_version: int,
    rule_set_hash: str,
) -> AllocationPlan:
    """Order each kecamatan's queue by the rules and give its blanks to the first in line."""
    by_kecamatan: dict[str, list[Applicant]] = defaultdict(list)
    for applicant in applicants:
        by_kecamatan[applicant.kecamatan].append(applicant)
    plans = []
    for kecamatan in sorted(set(by_kecamatan) | {k for k, n in stock.items() if n > 0}):
        queue = order_queue(by_kecamatan.get(kecamatan, []), queue_rules, day)
        blanks = stock.get(kecamatan, 0)
        plans.append(KecamatanPlan(kecamatan, blanks, tuple(queue[:blanks]), *_waiting(queue[blanks:])))
    return AllocationPlan(rule_set_version, rule_set_hash, day, tuple(plans))


def order_queue(applicants: Iterable[Applicant], queue_rules: Sequence[QueueRule], day: dt.date) -> list[Applicant]:
    """Applicants in queue order: by the rules' keys, then waiting time, then NIK."""
    def key(applicant: Applicant) -> tuple[Any, ...]:
        return (*(rule.key(applicant, day) for rule in queue_rules), applicant.waiting_since, applicant.nik)

    return sorted(applicants, key=key)


def _sql_key(rule: QueueRule) -> Any:
    """The rule's ``sql_key``, if it says the same key as its ``key``: defined where ``key``
    is, or below. A subclass that overrides ``key`` alone must not inherit its parent's."""
    if not callable(getattr(rule, "sql_key", None)):
        return None
    classes = type(rule).__mro__
    key_owner = next(c for c in classes if "key" in vars(c))
    sql_owner = next(c for c in classes if "sql_key" in vars(c))
    return rule.sql_key if issubclass(sql_owner, key_owner) else None  # type: ignore[attr-defined]


def _waiting(applicants: Iterable[Applicant]) -> tuple[int, int]:
    first_time = replacement = 0
    for applicant in applicants:
        if applicant.first_time:
            first_time += 1
        else:
            replacement += 1
    return first_time, replacement


def plan_in_database(
    conn: Connection,
    kecamatan: str | None,
    queue_rules: Sequence[QueueRule],
    day: dt.date,
    rule_set_version: int,
    rule_set_hash: str,
) -> AllocationPlan | None:
    """``plan_allocation`` with the ordering done by the database; None if a rule cannot say its key in SQL.

    Only the first in line of each kecamatan (as many as it has blanks) are read;
    the rest are counted. Gives the same plan as ``plan_allocation`` on the same queue.
    """
    sql_keys = [_sql_key(rule) for rule in queue_rules]
    if None in sql_keys:
        return None
    order = _order(waiting_cards, sql_keys, day)
    stock = read_stock(conn, kecamatan)
    queues = _queue_counts(conn, kecamatan)
    plans = []
    for code in sorted(set(queues) | {k for k, n in stock.items() if n > 0}):
        blanks = stock.get(code, 0)
        chosen: tuple[Applicant, ...] = ()
        if blanks > 0 and code in queues:
            query = _APPLICANTS.where(waiting_cards.c.kecamatan == code).order_by(*order).limit(blanks)
            chosen = tuple(Applicant(*row) for row in conn.execute(query))
        first_time, replacement = queues.get(code, (0, 0))
        served_first = sum(a.first_time for a in chosen)
        plans.append(
            KecamatanPlan(code, blanks, chosen, first_time - served_first, replacement - (len(chosen) - served_first))
        )
    return AllocationPlan(rule_set_version, rule_set_hash, day, tuple(plans))


def queue_position(
    conn: Connection, card_id: int, kecamatan: str, queue_rules: Sequence[QueueRule], day: dt.date
) -> int | None:
    """A waiting card's 1-based place in its kecamatan's queue (None if it is not waiting).

    With SQL keys the database counts who is ahead (a row-value comparison on the same
    keys the plan orders by); otherwise the kecamatan's queue is sorted in Python.
    """
    sql_keys = [_sql_key(rule) for rule in queue_rules]
    # A key given as an ordering (``.desc()``) orders a plan but cannot be compared.
    if None in sql_keys or any(getattr(k, "modifier", None) is not None for k in _order(waiting_cards, sql_keys, day)):
        queue = order_queue(read_applicants(conn, kecamatan), queue_rules, day)
        return next((i for i, a in enumerate(queue, 1) if a.card_id == card_id), None)
    if conn.scalar(sa.select(waiting_cards.c.card_id).where(waiting_cards.c.card_id == card_id)) is None:
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
    return int(conn.scalar(ahead) or 0) + 1


def plan_split(blanks: int, demand: list[Demand], rule: SplitRule) -> dict[str, int]:
    """Shares of ``blanks`` per kecamatan; never above a kecamatan's unmet demand."""
    shares = {k: n for k, n in sorted(rule.split(blanks, demand).items()) if n}
    caps = {d.kecamatan: d.unmet for d in demand}
    over = [f"{k}: {n} > {caps.get(k, 0)}" for k, n in shares.items() if n < 0 or n > caps.get(k, 0)]
    if over or sum(shares.values()) > blanks:
        raise RuleSetError(
            f"split rule {rule.name}",
            [f"shared {sum(shares.values())} of {blanks} blanks, beyond unmet demand: {'; '.join(over) or '-'}"],
        )
    return shares


# -- inputs from the database -------------------------------------------------------

# The queue, from the table the database keeps of it (see ``schema.waiting_cards``).
_APPLICANTS = sa.select(
    waiting_cards.c.nik, waiting_cards.c.kecamatan, waiting_cards.c.birth_date, waiting_cards.c.had_ektp,
    waiting_cards.c.disaster_victim, waiting_cards.c.suket, waiting_cards.c.waiting_since, waiting_cards.c.card_id,
)


def _order(table: Any, sql_keys: Sequence[Any], day: dt.date) -> list[Any]:
    """What the queue is ordered by, on ``table`` (``waiting_cards`` or an alias of it):
    the rules' SQL keys, then waiting time, then NIK."""
    t = table.c
    columns = QueueColumns(t.nik, t.kecamatan, t.birth_date, t.had_ektp, t.disaster_victim, t.suket, t.waiting_since)
    return [*(sql_key(columns, day) for sql_key in sql_keys), t.waiting_since, t.nik]


def read_applicants(conn: Connection, kecamatan: str | None = None) -> list[Applicant]:
    """The queue: every card waiting for a blank (optionally in one kecamatan)."""
    query = _APPLICANTS if kecamatan is None else _APPLICANTS.where(waiting_cards.c.kecamatan == kecamatan)
    return [Applicant(*row) for row in conn.execute(query)]


def read_stock(conn: Connection, kecamatan: str | None = None) -> dict[str, int]:
    """Unreserved blanks per kecamatan."""
    query = sa.select(blank_stock.c.kecamatan, sa.func.sum(blank_stock.c.unallocated)).group_by(
        blank_stock.c.kecamatan
    )
    if kecamatan is not None:
        query = query.where(blank_stock.c.kecamatan == kecamatan)
    return {k: int(n) for k, n in conn.execute(query)}


def read_demand(conn: Connection) -> list[Demand]:
    """Per kecamatan: first-time and replacement applicants waiting, and blanks in stock."""
    counts = _queue_counts(conn)
    stock = read_stock(conn)
    return [Demand(k, *counts[k], stock.get(k, 0)) for k in sorted(counts)]


def _queue_counts(conn: Connection, kecamatan: str | None = None) -> dict[str, tuple[int, int]]:
    """First-time and replacement applicants in the queue, per kecamatan."""
    w = waiting_cards.c
    query = sa.select(w.kecamatan, w.had_ektp, sa.func.count()).group_by(w.kecamatan, w.had_ektp)
    if kecamatan is not None:
        query = query.where(w.kecamatan == kecamatan)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for code, had_ektp, count in conn.execute(query):
        counts[code][1 if had_ektp else 0] += int(count)
    return {code: (first, replacement) for code, (first, replacement) in counts.items()}


def record_run(conn: Connection, run_id: str, plan: AllocationPlan, kecamatan: str | None, actor: str, at: dt.datetime) -> None:
    """Keep what a run decided from, so that an auditor can re-run it exactly.

    The queue is kept for the kecamatan that had blanks to give; elsewhere the
    count of blanks (none) and of applicants waiting explains itself. Run it in the
    transaction the plan was made in, so that the queue kept is the one planned.
    """
    conn.execute(
        allocation_runs.insert().values(
            run_id=run_id, rule_set_version=plan.rule_set_version, day=plan.day, kecamatan=kecamatan,
            actor=actor, occurred_at=at,
        )
    )
    stock_rows = [
        {"run_id": run_id, "kecamatan": k.kecamatan, "blanks": k.blanks, "waiting": k.queue}
        for k in plan.kecamatan
    ]
    if stock_rows:
        conn.execute(allocation_stock.insert(), stock_rows)
    with_blanks = [k.kecamatan for k in plan.kecamatan if k.blanks > 0]
    if with_blanks:
        w = waiting_cards.c
        conn.execute(
            allocation_queue.insert().from_select(
                ["run_id", "card_id", "kecamatan", "birth_date", "had_ektp", "disaster_victim", "suket",
                 "waiting_since"],
                sa.select(
                    sa.literal(run_id, sa.String), w.card_id, w.kecamatan, w.birth_date, w.had_ektp,
                    w.disaster_victim, w.suket, w.waiting_since,
                ).where(w.kecamatan.in_(with_blanks)),
            )
        )
