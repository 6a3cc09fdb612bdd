"""Why a card got a blank, or did not: the recorded allocation re-run on its recorded inputs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .. import clock
from ..allocation import QUEUE_STATE, order_queue, queue_position, read_stock
from ..errors import CardNotFound
from ..records import CARD_FROM
from ..rules import store
from ..rules.base import Applicant
from ..rules.registry import available_rules
from ..schema import allocation_queue, allocation_runs, allocation_stock, cards, events, residents


@dataclass(frozen=True)
class RunExplanation:
    """A card's place in one recorded allocation run, re-planned from its inputs."""

    run_id: str
    day: dt.date
    rule_set_version: int
    rule_set: str
    blanks: int
    waiting: int
    #: 1-based position in the kecamatan's queue; None when the queue was not kept (no blanks).
    position: int | None
    #: what the re-run gives, and what the events say happened.
    replanned: bool
    allocated: bool
    #: whether the card counted as a first-time applicant in this run.
    first_time: bool = True
    #: each queue rule's key for this card, in order.
    keys: dict[str, Any] = field(default_factory=dict)
    ahead_first_time: int = 0
    ahead_replacement: int = 0

    @property
    def agrees(self) -> bool:
        return self.replanned == self.allocated

    def reason(self) -> str:
        blanks = f"{self.blanks} blank{'' if self.blanks == 1 else 's'}"
        if self.blanks == 0:
            return f"no blank: the kecamatan had none to give ({self.waiting} applicants waiting)"
        ahead = f"{self.ahead_first_time} first-time and {self.ahead_replacement} replacement applicants ahead"
        if self.replanned:
            return f"got a blank: position {self.position} of {self.waiting}, within the {blanks} ({ahead})"
        return f"no blank: position {self.position} of {self.waiting}, beyond the {blanks} ({ahead})"


@dataclass(frozen=True)
class Explanation:
    """Everything an auditor needs to see why a card did or did not get a blank."""

    nik: str
    kecamatan: str
    state: str
    runs: list[RunExplanation]
    #: for a card still waiting: its position now under the active rules, and the
    #: unreserved blanks at its kecamatan now.
    position_now: int | None = None
    blanks_now: int | None = None
    rule_set_now: int | None = None


def explain(conn: Connection, nik: str) -> Explanation:
    """Re-run every recorded allocation that involved the card's kecamatan while it waited.

    :raises CardNotFound: no card for the NIK.
    """
    card = conn.execute(
        sa.select(cards.c.id, cards.c.state, cards.c.updated_at, residents.c.kecamatan)
        .select_from(CARD_FROM)
        .where(residents.c.nik == nik)
    ).first()
    if card is None:
        raise CardNotFound(nik)
    allocated_by = set(
        conn.scalars(
            sa.select(events.c.batch_id).where(events.c.card_id == card.id, events.c.trigger == "allocate")
        )
    )
    runs = [
        _explain_run(conn, run, card.id, run.run_id in allocated_by)
        for run in conn.execute(_runs_of(card.id)).all()
    ]
    if card.state != QUEUE_STATE:
        return Explanation(nik, card.kecamatan, card.state, runs)
    runs += _runs_without_blanks(conn, card.kecamatan, card.updated_at)
    runs.sort(key=lambda r: (r.day, r.run_id))
    active = store.active(conn)
    rules = [q.instantiate(available_rules()) for q in active.rule_set.queue]
    stock = read_stock(conn, card.kecamatan)
    position = queue_position(conn, card.id, card.kecamatan, rules, clock.now().date())
    return Explanation(
        nik, card.kecamatan, card.state, runs, position, stock.get(card.kecamatan, 0), active.version,
    )


def _runs_without_blanks(conn: Connection, kecamatan: str, since: dt.datetime) -> list[RunExplanation]:
    """Runs after the card joined the queue in which its kecamatan had no blank to give."""
    query = (
        sa.select(allocation_runs, allocation_stock.c.waiting)
        .join(allocation_stock, allocation_stock.c.run_id == allocation_runs.c.run_id)
        .where(
            allocation_stock.c.kecamatan == kecamatan, allocation_stock.c.blanks == 0,
            allocation_runs.c.occurred_at >= since,
        )
    )
    return [
        RunExplanation(run.run_id, run.day, run.rule_set_version, f"rule set version {run.rule_set_version}",
                       0, run.waiting, None, False, False)
        for run in conn.execute(query)
    ]


def _runs_of(card_id: int) -> sa.Select[Any]:
    # The runs whose kept queue held the card, in order.
    return (
        sa.select(allocation_runs, allocation_queue.c.kecamatan.label("queue_kecamatan"))
        .join(allocation_queue, allocation_queue.c.run_id == allocation_runs.c.run_id)
        .where(allocation_queue.c.card_id == card_id)
        .order_by(allocation_runs.c.occurred_at, allocation_runs.c.run_id)
    )


def rerun(conn: Connection, run_id: str, kecamatan: str) -> tuple[int, list[Applicant], Any]:
    """Order one kecamatan's queue of a recorded run again, from its recorded queue and rule set.

    Returns the blanks it had, its whole queue in order, and the rule set and run.
    """
    run = conn.execute(sa.select(allocation_runs).where(allocation_runs.c.run_id == run_id)).one()
    blanks = conn.scalar(
        sa.select(allocation_stock.c.blanks).where(
            allocation_stock.c.run_id == run_id, allocation_stock.c.kecamatan == kecamatan
        )
    )
    queue = conn.execute(
        sa.select(
            residents.c.nik, allocation_queue.c.kecamatan, allocation_queue.c.birth_date,
            allocation_queue.c.had_ektp, allocation_queue.c.disaster_victim, allocation_queue.c.suket,
            allocation_queue.c.waiting_since, allocation_queue.c.card_id,
        )
        .join(residents, residents.c.id == allocation_queue.c.card_id)
        .where(allocation_queue.c.run_id == run_id, allocation_queue.c.kecamatan == kecamatan)
    )
    stored = store.get(conn, run.rule_set_version)
    rules = [q.instantiate(available_rules()) for q in stored.rule_set.queue]
    ordered = order_queue([Applicant(*row) for row in queue], rules, run.day)
    return int(blanks or 0), ordered, (stored, rules, run)


def _explain_run(conn: Connection, run: Any, card_id: int, allocated: bool) -> RunExplanation:
    blanks, queue, (stored, rules, _) = rerun(conn, run.run_id, run.queue_kecamatan)
    index = next(i for i, a in enumerate(queue) if a.card_id == card_id)
    me, ahead = queue[index], queue[:index]
    keys = {q.rule: rule.key(me, run.day) for q, rule in zip(stored.rule_set.queue, rules)}
    return RunExplanation(
        run_id=run.run_id, day=run.day, rule_set_version=stored.version,
        rule_set=f"{stored.rule_set.name}: {stored.rule_set.describe()}",
        blanks=blanks, waiting=len(queue), position=index + 1,
        replanned=index < blanks, allocated=allocated, first_time=me.first_time,
        keys={k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in keys.items()},
        ahead_first_time=sum(a.first_time for a in ahead),
        ahead_replacement=sum(not a.first_time for a in ahead),
    )
