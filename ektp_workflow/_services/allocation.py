"""Who gets a blank: the planner run on the Store's inputs, and the applier that writes its plan.

The planner (``rules.planner``) is pure. When every queue rule can say its key in SQL
(the built-ins can), the database orders each kecamatan's queue and only the first in
line are read; otherwise the whole queue is read and sorted in Python.

A run is a bulk job. Its plan is made and recorded (the queue and stock it decided
from, chained) in one transaction under the chain head; then ``allocate`` fires on
the chosen cards chunk by chunk, each chunk a transaction of its own through the one
executor, so no other writer waits longer than a chunk. A chosen card that left the
queue before its chunk (died, moved, released by hand), or whose blank was spoiled
meanwhile, is skipped and listed; ``audit explain`` says so. A run interrupted by a
crash is finished by the next ``allocate`` for the same kecamatan, from its recorded
plan, moving no card twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable, Mapping, Sequence

from .._files.bulk_files import Target
from .._provenance import require_actor
from .._store import eventlog, jobs, queue, rulesets
from .._store.store import Connection, Store
from ..clock import now
from ..records import BulkResult
from ..regions import kecamatan_of
from ..rules.base import QueueRule
from ..rules.planner import AllocationPlan, order_queue, plan_allocation, plan_from_first_in_line, sql_keys_of
from ..rules.registry import available_rules
from ..rules.ruleset import RuleSet
from ..states import Lifecycle
from .bulk import move_chunk


def plan(
    store: Store, *, kecamatan: str | None = None, rule_set: RuleSet | None = None, day: dt.date | None = None
) -> AllocationPlan:
    """See ``Workflow.plan_allocation``. Read in one snapshot, so that the chosen and the
    counts left waiting agree."""
    with store.reading() as tx:
        return planned(tx, kecamatan, day or now().date(), rule_set)


def allocate(
    store: Store,
    lifecycle: Lifecycle,
    *,
    actor: str,
    kecamatan: str | None = None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> AllocationPlan:
    """See ``Workflow.allocate``."""
    actor = require_actor(actor)
    if dry_run:
        return plan(store, kecamatan=kecamatan)
    code = kecamatan_of(kecamatan).code if kecamatan is not None else None
    made = store.retrying(lambda tx: _begun(tx, code, actor))
    assert made.run_id is not None
    run_id, reason = made.run_id, _REASON.format(version=made.rule_set_version)
    result = BulkResult(run_id)
    chosen = [a.nik for a in made.chosen()]
    for start in range(0, len(chosen), CHUNK):
        targets = [Target(nik, "allocate", reason) for nik in chosen[start : start + CHUNK]]

        def chunk(tx: Connection, targets: list[Target] = targets) -> BulkResult:
            eventlog.lock_head(tx)
            return move_chunk(tx, lifecycle, run_id, targets, actor, made.rule_set_version)

        result.merge(store.retrying(chunk))
        if progress is not None:
            progress(len(targets))
        store.let_others_write()
    store.retrying(lambda tx: jobs.finish(tx, run_id, result.total_applied, now()))
    return dataclasses.replace(made, skipped=tuple(result.examples), skipped_count=result.skipped)


#: Chosen cards given their blanks a transaction: each costs a guard and an effect
#: (about a millisecond), so a desk firing meanwhile waits half a second at most.
CHUNK = 500
#: The reason on a run's events (stored in the history: English, whatever the language).
_REASON = "allocation under rule set version {version}"
#: A run's selection, by which an interrupted one is found again.
_SELECTION = "allocation"


def _begun(tx: Connection, kecamatan: str | None, actor: str) -> AllocationPlan:
    """The plan of a run interrupted before (to finish it), or a new one, recorded."""
    eventlog.lock_head(tx)  # one run planned at a time, on a queue nobody changes meanwhile
    selection = {_SELECTION: kecamatan or "*"}
    interrupted = jobs.running(tx, selection)
    if interrupted is not None:
        return dataclasses.replace(recorded_plan(tx, interrupted), run_id=interrupted, resumed=True)
    made = planned(tx, kecamatan, now().date())
    run_id = f"allocation-{uuid.uuid4().hex[:12]}"
    queue.record_run(tx, run_id, made, kecamatan, actor, now())
    jobs.start(tx, run_id, "allocate", selection, actor, now())
    return dataclasses.replace(made, run_id=run_id)


def recorded_plan(tx: Connection, run_id: str) -> AllocationPlan:
    """A recorded run's plan, made again from the queue and stock it recorded."""
    run = queue.run(tx, run_id)
    rule_set = rulesets.get(tx, run.rule_set_version).rule_set
    stock, applicants = {}, []
    for kecamatan in queue.run_kecamatan(tx, run_id):
        stock[kecamatan], kept = queue.recorded_queue(tx, run_id, kecamatan)
        applicants += kept
    return plan_allocation(applicants, stock, queue_rules(rule_set), run.day, run.rule_set_version, rule_set.hash)


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
