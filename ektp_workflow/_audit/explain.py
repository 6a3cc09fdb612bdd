"""Why a card got a blank, or did not: the recorded allocation re-run on its recorded inputs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .. import clock
from .._services.allocation import queue_position, queue_rules
from .._store import cards, queue, rulesets, runs
from .._store.queue import RecordedRun
from .._store.store import Connection
from ..errors import CardNotFound
from ..i18n import _, ngettext
from ..records import QUEUE_STATE
from ..rules.base import Applicant, QueueRule
from ..rules.planner import order_queue
from ..rules.ruleset import RuleSet


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
    #: why a run that chose the card did not reserve its blank (the history shows it:
    #: it left the queue, or its blank was taken, before the run reached it).
    unapplied: str | None = None

    @property
    def agrees(self) -> bool:
        return self.replanned == self.allocated or (self.replanned and self.unapplied is not None)

    def reason(self) -> str:
        if self.replanned and not self.allocated and self.unapplied is not None:
            return _("chosen (position {position} of {waiting}), but not given its blank: {why}").format(
                position=self.position, waiting=self.waiting, why=self.unapplied
            )
        if self.blanks == 0:
            return ngettext(
                "no blank: the kecamatan had none to give ({waiting} applicant waiting)",
                "no blank: the kecamatan had none to give ({waiting} applicants waiting)",
                self.waiting,
            ).format(waiting=self.waiting)
        ahead = _("{first_time} first-time and {replacement} replacement applicants ahead").format(
            first_time=self.ahead_first_time, replacement=self.ahead_replacement
        )
        if self.replanned:
            message = ngettext(
                "got a blank: position {position} of {waiting}, within the {blanks} blank ({ahead})",
                "got a blank: position {position} of {waiting}, within the {blanks} blanks ({ahead})",
                self.blanks,
            )
        else:
            message = ngettext(
                "no blank: position {position} of {waiting}, beyond the {blanks} blank ({ahead})",
                "no blank: position {position} of {waiting}, beyond the {blanks} blanks ({ahead})",
                self.blanks,
            )
        return message.format(position=self.position, waiting=self.waiting, blanks=self.blanks, ahead=ahead)


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


def explain(tx: Connection, nik: str) -> Explanation:
    """Re-run every recorded allocation that involved the card's kecamatan while it waited.

    :raises CardNotFound: no card for the NIK.
    """
    card = cards.kecamatan_and_state(tx, nik)
    if card is None:
        raise CardNotFound(nik)
    allocated_by = queue.runs_that_allocated(tx, card.id)
    runs = [_explain_run(tx, run, card.id, run.run_id in allocated_by) for run in queue.runs_holding(tx, card.id)]
    if card.state != QUEUE_STATE:
        return Explanation(nik, card.kecamatan, card.state, runs)
    runs += [
        RunExplanation(
            run.run_id,
            run.day,
            run.rule_set_version,
            _("rule set version {version}").format(version=run.rule_set_version),
            0,
            run.waiting or 0,
            None,
            False,
            False,
        )
        for run in queue.runs_without_blanks(tx, card.kecamatan, card.updated_at)
    ]
    runs.sort(key=lambda r: (r.day, r.run_id))
    active = rulesets.active(tx)
    stock = queue.stock(tx, card.kecamatan)
    position = queue_position(tx, card.id, card.kecamatan, queue_rules(active.rule_set), clock.now().date())
    return Explanation(
        nik,
        card.kecamatan,
        card.state,
        runs,
        position,
        stock.get(card.kecamatan, 0),
        active.version,
    )


def rerun(tx: Connection, run: RecordedRun) -> tuple[int, list[Applicant], RuleSet, list[QueueRule]]:
    """Order one kecamatan's queue of a recorded run again, from its recorded queue and rule set.

    Returns the blanks it had, its whole queue in order, and the rule set and its queue rules.
    """
    blanks, recorded = queue.recorded_queue(tx, run.run_id, run.kecamatan)
    rule_set = rulesets.get(tx, run.rule_set_version).rule_set
    rules = queue_rules(rule_set)
    return blanks, order_queue(recorded, rules, run.day), rule_set, rules


def _explain_run(tx: Connection, run: RecordedRun, card_id: int, allocated: bool) -> RunExplanation:
    blanks, ordered, rule_set, rules = rerun(tx, run)
    index = next(i for i, a in enumerate(ordered) if a.card_id == card_id)
    me, ahead = ordered[index], ordered[:index]
    keys = {q.rule: rule.key(me, run.day) for q, rule in zip(rule_set.queue, rules, strict=True)}
    chosen = index < blanks
    return RunExplanation(
        run_id=run.run_id,
        day=run.day,
        rule_set_version=run.rule_set_version,
        rule_set=f"{rule_set.name}: {rule_set.describe()}",
        blanks=blanks,
        waiting=len(ordered),
        position=index + 1,
        replanned=chosen,
        allocated=allocated,
        unapplied=_unapplied(tx, run, card_id) if chosen and not allocated else None,
        first_time=me.first_time,
        keys={k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in keys.items()},
        ahead_first_time=sum(a.first_time for a in ahead),
        ahead_replacement=sum(not a.first_time for a in ahead),
    )


def _unapplied(tx: Connection, run: RecordedRun, card_id: int) -> str | None:
    """Why a run that chose the card did not give it its blank, as the history shows it;
    None if it does not (the run's events disagree with its plan)."""
    during = runs.window(tx, run.run_id)
    left = runs.left_queue(tx, run.run_id, during, card_id)
    if left is not None:
        return _("it left the queue before the run reached it (event {seq}: {trigger})").format(
            seq=left[0], trigger=left[1]
        )
    taken = runs.blanks_taken(tx, run.run_id, during, run.kecamatan)
    if taken:
        return ngettext(
            "{taken} blank of its kecamatan was spoiled or reserved by hand before the run reached it",
            "{taken} blanks of its kecamatan were spoiled or reserved by hand before the run reached it",
            taken,
        ).format(taken=taken)
    if runs.interrupted(tx, run.run_id):
        return _("the run was interrupted before it reached it; the next allocation finishes the run")
    return None
