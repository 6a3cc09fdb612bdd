"""Who gets a blank: a pure, deterministic planner.

The planner takes a snapshot of the queue (cards in ``deduplicated``), the blanks in
stock per kecamatan and the rule set, and returns the plan: per kecamatan, who gets
a blank in what order and who waits. The same inputs always give the same plan;
ties left by the rules are broken by waiting time, then NIK. No SQL here: the Store
reads the inputs (and, when every rule says its key in SQL, the first in line of each
kecamatan, for ``plan_from_first_in_line``); the allocation service writes the plan.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import RuleSetError
from ..i18n import _
from .base import Applicant, Demand, QueueRule, SplitRule


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
    #: chosen cards the run could not give their blank when it reached them, and why
    #: (one that left the queue meanwhile; a blank spoiled meanwhile): (NIK, reason).
    skipped: tuple[tuple[str, str], ...] = ()
    #: how many chosen cards were skipped (``skipped`` lists the first of them).
    skipped_count: int = 0
    #: the plan is that of a run interrupted earlier, which this one finished.
    resumed: bool = False

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


def sql_key_of(rule: QueueRule) -> Any:
    """The rule's ``sql_key``, if it says the same key as its ``key``: defined where ``key``
    is, or below. A subclass that overrides ``key`` alone must not inherit its parent's."""
    if not callable(getattr(rule, "sql_key", None)):
        return None
    classes = type(rule).__mro__
    key_owner = next(c for c in classes if "key" in vars(c))
    sql_owner = next(c for c in classes if "sql_key" in vars(c))
    return rule.sql_key if issubclass(sql_owner, key_owner) else None  # type: ignore[attr-defined]


def sql_keys_of(rules: Sequence[QueueRule]) -> list[Any] | None:
    """Each rule's ``sql_key``, or None if one of them cannot say its key in SQL."""
    keys = [sql_key_of(rule) for rule in rules]
    return None if None in keys else keys


def plan_from_first_in_line(
    waiting: Mapping[str, tuple[int, int]],
    stock: Mapping[str, int],
    first_in_line: Mapping[str, Sequence[Applicant]],
    day: dt.date,
    rule_set_version: int,
    rule_set_hash: str,
) -> AllocationPlan:
    """``plan_allocation`` from what the database ordered: the first-time and replacement
    applicants waiting per kecamatan, its blanks, and its first in line (as many as it has
    blanks, in queue order). Gives the plan ``plan_allocation`` gives on the whole queue."""
    plans = []
    for code in sorted(set(waiting) | {k for k, n in stock.items() if n > 0}):
        blanks = stock.get(code, 0)
        chosen = tuple(first_in_line.get(code, ()))[:blanks]
        first_time, replacement = waiting.get(code, (0, 0))
        served_first = sum(a.first_time for a in chosen)
        plans.append(
            KecamatanPlan(code, blanks, chosen, first_time - served_first, replacement - (len(chosen) - served_first))
        )
    return AllocationPlan(rule_set_version, rule_set_hash, day, tuple(plans))


def _waiting(applicants: Iterable[Applicant]) -> tuple[int, int]:
    first_time = replacement = 0
    for applicant in applicants:
        if applicant.first_time:
            first_time += 1
        else:
            replacement += 1
    return first_time, replacement


def plan_split(blanks: int, demand: list[Demand], rule: SplitRule) -> dict[str, int]:
    """Shares of ``blanks`` per kecamatan; never above a kecamatan's unmet demand."""
    shares = {k: n for k, n in sorted(rule.split(blanks, demand).items()) if n}
    caps = {d.kecamatan: d.unmet for d in demand}
    over = [f"{k}: {n} > {caps.get(k, 0)}" for k, n in shares.items() if n < 0 or n > caps.get(k, 0)]
    if over or sum(shares.values()) > blanks:
        problem = _("shared {shared} of {blanks} blanks, beyond unmet demand: {details}").format(
            shared=sum(shares.values()), blanks=blanks, details="; ".join(over) or "-"
        )
        raise RuleSetError(_("split rule {name}").format(name=rule.name), [problem])
    return shares
