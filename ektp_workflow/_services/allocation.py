"""Who gets a blank: the planner run on the Store's inputs, and the applier that writes its plan.

The planner (``rules.planner``) is pure. When every queue rule can say its key in SQL
(the built-ins can), the database orders each kecamatan's queue and only the first in
line are read; otherwise the whole queue is read and sorted in Python. Writing a plan
fires ``allocate`` on every chosen card in one transaction that holds the chain head
throughout, so the plan written is the plan made.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Mapping, Sequence

from .._provenance import require_actor
from .._store import eventlog, queue, rulesets
from .._store.store import Connection, Store
from ..clock import now
from ..records import FireRequest
from ..regions import kecamatan_of
from ..rules.base import QueueRule
from ..rules.planner import AllocationPlan, order_queue, plan_allocation, plan_from_first_in_line, sql_keys_of
from ..rules.registry import available_rules
from ..rules.ruleset import RuleSet
from .transitions import Transitions


def plan(
    store: Store, *, kecamatan: str | None = None, rule_set: RuleSet | None = None, day: dt.date | None = None
) -> AllocationPlan:
    """See ``Workflow.plan_allocation``. Read in one snapshot, so that the chosen and the
    counts left waiting agree."""
    with store.reading() as tx:
        return planned(tx, kecamatan, day or now().date(), rule_set)


def allocate(
    store: Store, transitions: Transitions, *, actor: str, kecamatan: str | None = None, dry_run: bool = False
) -> AllocationPlan:
    """See ``Workflow.allocate``."""
    actor = require_actor(actor)
    if dry_run:
        return plan(store, kecamatan=kecamatan)

    def work(tx: Connection) -> AllocationPlan:
        eventlog.lock_head(tx)  # one run at a time, and a plan nobody changes under it
        made = planned(tx, kecamatan, now().date())
        run_id = f"allocation-{uuid.uuid4().hex[:12]}"
        queue.record_run(tx, run_id, made, kecamatan and kecamatan_of(kecamatan).code, actor, now())
        reason = f"allocation under rule set version {made.rule_set_version}"
        for applicant in made.chosen():
            request = FireRequest(applicant.nik, "allocate", reason)
            transitions.apply(tx, request, actor, None, made.rule_set_version, run_id)
        return dataclasses.replace(made, run_id=run_id)

    return store.retrying(work)


def queue_rules(rule_set: RuleSet) -> list[QueueRule]:
    """The rule set's queue rules, made from the installed rules."""
    rules = available_rules()
    return [q.instantiate(rules) for q in rule_set.queue]


def plan_in_database(
    tx: Connection,
    kecamatan: str | None,
    rules: Sequence[QueueRule],
    day: dt.date,
    version: int,
    rule_set_hash: str,
    stock: Mapping[str, int] | None = None,
) -> AllocationPlan | None:
    """``plan_allocation`` with the ordering done by the database; None if a rule cannot
    say its key in SQL. Only the first in line of each kecamatan (as many as it has
    blanks) are read; the rest are counted.

    :param stock: unreserved blanks per kecamatan to plan with (default: those there now).
    """
    sql_keys = sql_keys_of(rules)
    if sql_keys is None:
        return None
    stock = queue.stock(tx, kecamatan) if stock is None else stock
    waiting = queue.waiting_counts(tx, kecamatan)
    first = {
        code: queue.first_in_line(tx, code, sql_keys, day, blanks)
        for code, blanks in stock.items()
        if blanks > 0 and code in waiting
    }
    return plan_from_first_in_line(waiting, stock, first, day, version, rule_set_hash)


def queue_position(
    tx: Connection, card_id: int, kecamatan: str, rules: Sequence[QueueRule], day: dt.date
) -> int | None:
    """A waiting card's 1-based place in its kecamatan's queue (None if it is not waiting).

    With SQL keys the database counts who is ahead; otherwise (or with a key given as an
    ordering, which cannot be compared) the kecamatan's queue is sorted in Python.
    """
    sql_keys = sql_keys_of(rules)
    if sql_keys is None or not queue.comparable(sql_keys, day):
        ordered = order_queue(queue.applicants(tx, kecamatan), rules, day)
        return next((i for i, a in enumerate(ordered, 1) if a.card_id == card_id), None)
    return queue.position(tx, card_id, kecamatan, sql_keys, day)


def planned(
    tx: Connection,
    kecamatan: str | None,
    day: dt.date,
    rule_set: RuleSet | None = None,
    added: Mapping[str, int] | None = None,
) -> AllocationPlan:
    """The plan under the active rule set (or ``rule_set``, planned as version 0), with the
    unreserved stock there now plus ``added`` (blanks a distribution would bring)."""
    code = kecamatan_of(kecamatan).code if kecamatan is not None else None
    stored = rulesets.active(tx)
    chosen = rule_set or stored.rule_set
    version = stored.version if rule_set is None else 0
    rules = queue_rules(chosen)
    stock = queue.stock(tx, code)
    for place, n in (added or {}).items():
        if code is None or place == code:
            stock[place] = stock.get(place, 0) + n
    return plan_in_database(tx, code, rules, day, version, chosen.hash, stock) or plan_allocation(
        queue.applicants(tx, code), stock, rules, day, version, chosen.hash
    )
