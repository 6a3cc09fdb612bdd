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
from .records import CARD_FROM
from .rules.base import Applicant, Demand, QueueRule, SplitRule
from .schema import allocation_queue, allocation_runs, allocation_stock, blank_stock, cards, residents

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
    #: applicants who wait, in queue order.
    waiting: tuple[Applicant, ...]

    def served(self, first_time: bool) -> int:
        return sum(a.first_time == first_time for a in self.chosen)

    def left_waiting(self, first_time: bool) -> int:
        return sum(a.first_time == first_time for a in self.waiting)

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

    def position(self, nik: str) -> tuple[KecamatanPlan, int] | None:
        """Where a NIK stands: its kecamatan plan and its 1-based queue position."""
        for plan in self.kecamatan:
            for index, applicant in enumerate(plan.chosen + plan.waiting, 1):
                if applicant.nik == nik:
                    return plan, index
        return None


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
        queue = sorted(by_kecamatan.get(kecamatan, []), key=_queue_key(queue_rules, day))
        blanks = stock.get(kecamatan, 0)
        plans.append(KecamatanPlan(kecamatan, blanks, tuple(queue[:blanks]), tuple(queue[blanks:])))
    return AllocationPlan(rule_set_version, rule_set_hash, day, tuple(plans))


def _queue_key(rules: Sequence[QueueRule], day: dt.date) -> Any:
    def key(applicant: Applicant) -> tuple[Any, ...]:
        return (*(rule.key(applicant, day) for rule in rules), applicant.waiting_since, applicant.nik)

    return key


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

_APPLICANTS = (
    sa.select(
        residents.c.nik, residents.c.kecamatan, residents.c.birth_date, residents.c.had_ektp,
        residents.c.disaster_victim, residents.c.suket, cards.c.updated_at, cards.c.id,
    )
    .select_from(CARD_FROM)
    .where(cards.c.state == QUEUE_STATE)
)


def read_applicants(conn: Connection, kecamatan: str | None = None) -> list[Applicant]:
    """The queue: every card waiting for a blank (optionally in one kecamatan)."""
    query = _APPLICANTS if kecamatan is None else _APPLICANTS.where(residents.c.kecamatan == kecamatan)
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
    query = (
        sa.select(residents.c.kecamatan, residents.c.had_ektp, sa.func.count())
        .select_from(CARD_FROM)
        .where(cards.c.state == QUEUE_STATE)
        .group_by(residents.c.kecamatan, residents.c.had_ektp)
    )
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for kecamatan, had_ektp, count in conn.execute(query):
        counts[kecamatan][1 if had_ektp else 0] += int(count)
    stock = read_stock(conn)
    return [Demand(k, counts[k][0], counts[k][1], stock.get(k, 0)) for k in sorted(counts)]


def record_run(conn: Connection, run_id: str, plan: AllocationPlan, kecamatan: str | None, actor: str, at: dt.datetime) -> None:
    """Keep what a run decided from, so that an auditor can re-run it exactly.

    The queue is kept for the kecamatan that had blanks to give; elsewhere the
    count of blanks (none) and of applicants waiting explains itself.
    """
    conn.execute(
        allocation_runs.insert().values(
            run_id=run_id, rule_set_version=plan.rule_set_version, day=plan.day, kecamatan=kecamatan,
            actor=actor, occurred_at=at,
        )
    )
    stock_rows = [
        {"run_id": run_id, "kecamatan": k.kecamatan, "blanks": k.blanks, "waiting": len(k.chosen) + len(k.waiting)}
        for k in plan.kecamatan
    ]
    if stock_rows:
        conn.execute(allocation_stock.insert(), stock_rows)
    queue_rows = [
        {"run_id": run_id, "card_id": a.card_id, "kecamatan": a.kecamatan, "birth_date": a.birth_date,
         "had_ektp": a.had_ektp, "disaster_victim": a.disaster_victim, "suket": a.suket,
         "waiting_since": a.waiting_since}
        for k in plan.kecamatan if k.blanks > 0
        for a in (*k.chosen, *k.waiting)
    ]
    if queue_rows:
        conn.execute(allocation_queue.insert(), queue_rows)
