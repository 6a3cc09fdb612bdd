"""Sharing blanks between kecamatan, and what a share would do before it is made.

A split rule shares a batch by each kecamatan's unmet queue. Before anything moves, the
share is played through the planner: how many first-time and replacement applicants
it would serve there, and how long the last one served has waited, so that an
operator (``blanks distribute --dry-run``) and a rule change (``rules diff``) show who
a split favours.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from .._store import balances, ledger, queue, rulesets
from .._store.store import Connection
from ..clock import WIB
from ..errors import StockError
from ..i18n import _
from ..regions import kecamatan_of
from ..rules.base import Demand
from ..rules.planner import AllocationPlan, plan_split
from ..rules.registry import available_rules
from ..rules.ruleset import RuleSet
from . import allocation


@dataclass(frozen=True)
class ShareOutcome:
    """What a kecamatan's share would do: who it serves, and how long the last served waited."""

    kecamatan: str
    share: int
    #: unreserved blanks there before the share.
    in_stock: int
    first_time_served: int
    replacement_served: int
    #: days the last applicant served has waited so far (None: nobody would be served).
    last_served_waited_days: int | None


@dataclass(frozen=True)
class Distribution:
    """How a batch is (or would be) shared between kecamatan, and why."""

    reference: str
    #: undistributed blanks of the batch before sharing.
    available: int
    shares: dict[str, int]
    demand: list[Demand]
    rule_set_version: int
    split_rule: str
    #: per kecamatan with a queue or a share: what the next allocation would give there.
    outcomes: list[ShareOutcome]


def plan(tx: Connection, reference: str, counts: Mapping[str, int] | None, day: dt.date) -> Distribution:
    """The shares of batch ``reference``: ``counts`` if given, else the active split rule's.

    :raises StockError: no such batch, or a negative share.
    """
    available = ledger.undistributed(tx, reference)
    active = rulesets.active(tx)
    demand = queue.demand(tx)
    if counts is not None:
        shares = {kecamatan_of(code).code: n for code, n in counts.items()}
        if any(n < 0 for n in shares.values()):
            raise StockError(_("batch {reference}: shares must not be negative").format(reference=reference))
        split = "explicit counts"  # in the place of a rule's name (JSON's split_rule): not translated
    else:
        rule = active.rule_set.split.instantiate(available_rules())
        shares, split = plan_split(available, demand, rule), active.rule_set.split.rule
    outcomes = outcomes_of(allocation.planned(tx, None, day, added=shares), shares)
    return Distribution(reference, available, shares, demand, active.version, split, outcomes)


def undistributed_shares(tx: Connection, rule_set: RuleSet) -> dict[str, int]:
    """What the split rule of ``rule_set`` would give each kecamatan of every batch still at
    the city, batch by batch, oldest first (each share counting as stock for the next)."""
    rule = rule_set.split.instantiate(available_rules())
    demand = queue.demand(tx)
    total: dict[str, int] = {}
    for batch in balances.batches(tx):
        if batch.undistributed <= 0:
            continue
        shares = plan_split(batch.undistributed, demand, rule)
        for code, n in shares.items():
            total[code] = total.get(code, 0) + n
        demand = [
            Demand(d.kecamatan, d.first_time, d.replacement, d.in_stock + shares.get(d.kecamatan, 0)) for d in demand
        ]
    return total


def outcomes_of(plan: AllocationPlan, shares: Mapping[str, int]) -> list[ShareOutcome]:
    """Per kecamatan: its share, and what ``plan`` (made with the shares as stock) gives there."""
    outcomes = []
    for k in plan.kecamatan:
        share = shares.get(k.kecamatan, 0)
        waited = (plan.day - k.chosen[-1].waiting_since.astimezone(WIB).date()).days if k.chosen else None
        outcomes.append(ShareOutcome(k.kecamatan, share, k.blanks - share, k.served(True), k.served(False), waited))
    return outcomes
