"""Bulk transitions: many cards at once, set-based and chunked, resumable.

Each chunk is one transaction: the cards are read and locked, each one's step is taken
from the same executor the single path uses (guards checked on the card, effects
applied), then one UPDATE per (source, destination) moves the chunk and its events are
appended to the same hash chain. A job remembers its id on every event it writes
(``batch_id``): run the same command again after a crash or Ctrl-C and it resumes,
moving no card twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from .._files import bulk_files
from .._files.bulk_files import Reader, Target
from .._files.csvfiles import content_hash
from .._provenance import event_time, require_actor
from .._store import cards, eventlog, jobs
from .._store import chunks as chunking
from .._store.cards import LockedCard
from .._store.scratch import SeenNiks
from .._store.store import Connection, Store
from ..clock import now
from ..errors import ProblemList, RowProblem, TransitionNotAllowed, UnknownTrigger, WorkflowError
from ..i18n import _
from ..nik import parse_nik
from ..records import BulkResult
from ..regions import kecamatan_of
from ..states import Lifecycle
from ..text import free
from .lifecycle import FireContext, executor_for, joins_queue

Progress = Callable[[int], None]


class BulkJobs:
    """Bulk jobs under one lifecycle: by state, from a file of NIKs, from the centre's results."""

    def __init__(self, store: Store, lifecycle: Lifecycle) -> None:
        self._store = store
        self.lifecycle = lifecycle

    def fire(
        self,
        trigger: str,
        *,
        actor: str,
        where_state: str | None = None,
        kecamatan: str | None = None,
        limit: int | None = None,
        niks_file: str | Path | None = None,
        reason: str | None = None,
        dry_run: bool = False,
        at: dt.datetime | None = None,
        progress: Progress | None = None,
    ) -> BulkResult:
        """See ``Workflow.bulk_fire``."""
        actor, when, reason = require_actor(actor), event_time(at), free(reason, _("reason"))
        if trigger == "allocate":
            raise WorkflowError(_("bulk allocate is not offered: `ektp allocate` reserves blanks in the rules' order"))
        if trigger not in self.lifecycle.triggers:
            raise UnknownTrigger(trigger, self.lifecycle.triggers)
        if (where_state is None) == (niks_file is None):
            raise WorkflowError(_("say which cards: a state (where_state) or a file of NIKs, not both"))
        run = _Run(actor, when, dry_run, progress)
        if niks_file is not None:
            read = bulk_files.nik_list(niks_file, trigger, reason)
            job = job_id_for("bulk", f"{trigger}:{content_hash(niks_file)}".encode())
            return self._from_file(job, niks_file, read, None, run)
        return self._by_state(trigger, str(where_state), kecamatan, limit, reason, run)

    def central_results(
        self, path: str | Path, *, actor: str, dry_run: bool = False, progress: Progress | None = None
    ) -> BulkResult:
        """See ``Workflow.import_central_results``."""
        actor = require_actor(actor)
        job = job_id_for("central", content_hash(path).encode())
        read = bulk_files.central_results(path)
        return self._from_file(job, path, read, bulk_files.CENTRAL_STATE, _Run(actor, now(), dry_run, progress))

    def _by_state(
        self, trigger: str, state: str, kecamatan: str | None, limit: int | None, reason: str | None, run: _Run
    ) -> BulkResult:
        if state not in self.lifecycle.states:
            states = ", ".join(self.lifecycle.states)
            raise WorkflowError(
                _("unknown state {state!r}; the states are: {states}").format(state=state, states=states)
            )
        if self.lifecycle.transition(state, trigger) is None:
            raise TransitionNotAllowed(trigger, state, self.lifecycle.triggers_from(state))
        code = kecamatan_of(kecamatan).code if kecamatan else None
        selection = {"trigger": trigger, "state": state, "kecamatan": code, "limit": limit}
        with self._store.transaction() as tx:
            job = jobs.running(tx, selection) or f"bulk-{uuid.uuid4().hex[:24]}"
            resumed = False if run.dry_run else jobs.start(tx, job, trigger, selection, run.actor, now())
            done = eventlog.count_of_batch(tx, job)
        result = BulkResult(job, run.dry_run, done_before=done, resumed=resumed)
        # one target for the chunk: moving a card reads its trigger and reason, not its NIK
        target = Target("", trigger, reason)
        remaining, after = (None if limit is None else max(0, limit - done)), 0
        while remaining is None or remaining > 0:
            size = chunking.CHUNK if remaining is None else min(chunking.CHUNK, remaining)

            def chunk(tx: Connection, after: int = after, size: int = size) -> tuple[list[LockedCard], BulkResult]:
                part = BulkResult(job, run.dry_run)
                eventlog.lock_head(tx)
                found = cards.in_state(tx, state, code, after, size)
                _Chunk(tx, self.lifecycle, run, job).move(zip(found, itertools.repeat(target)), part)
                return found, part

            rows, part = self._store.retrying(chunk)
            if not rows:
                break
            result.merge(part)
            after = rows[-1].id
            remaining = None if remaining is None else remaining - part.total_applied
            if run.progress is not None:
                run.progress(len(rows))
        return self._finish(result)

    def _from_file(self, job: str, path: str | Path, read: Reader, required_state: str | None, run: _Run) -> BulkResult:
        with self._store.scratch() as tx:
            check_file(tx, path, read)
        result = BulkResult(job, run.dry_run)
        if not run.dry_run:
            with self._store.transaction() as tx:
                result.resumed = jobs.start(tx, job, "file", {"file": str(path)}, run.actor, now())
        for chunk in chunking.chunked(read()):
            targets = cast("list[Target]", [t for __, t in chunk])  # the file was checked: no problems

            def move(tx: Connection, targets: list[Target] = targets) -> BulkResult:
                part = BulkResult(job, run.dry_run)
                eventlog.lock_head(tx)
                planned = _planned(tx, job, targets, required_state, part)
                _Chunk(tx, self.lifecycle, run, job).move(planned, part)
                return part

            result.merge(self._store.retrying(move))
            if run.progress is not None:
                run.progress(len(chunk))
        return self._finish(result)

    def _finish(self, result: BulkResult) -> BulkResult:
        if not result.dry_run:
            with self._store.transaction() as tx:
                jobs.finish(tx, result.job_id, result.total_applied, now())
        return result


@dataclass(frozen=True, slots=True)
class _Run:
    """Who runs a job, when its events happen, whether it writes, and how it reports."""

    actor: str
    at: dt.datetime
    dry_run: bool
    progress: Progress | None
    #: the rule set that decided the moves (an allocation run's), on their events.
    rule_set_version: int | None = None


class _Chunk:
    """Moves one chunk of locked cards: steps from the executor, guards, effects, events."""

    def __init__(self, tx: Connection, lifecycle: Lifecycle, run: _Run, job_id: str) -> None:
        self.tx, self.lifecycle, self.run, self.job_id = tx, lifecycle, run, job_id
        self.executor = executor_for(lifecycle)
        #: the last card time found not after the run's: the cards of a chunk mostly share
        #: one time object (one per distinct text, see ``_store.times``), compared once.
        self._in_order: dt.datetime | None = None

    def move(self, planned: Iterable[tuple[LockedCard, Target]], result: BulkResult) -> None:
        moves: dict[tuple[str, str, bool], list[int]] = defaultdict(list)
        rows: list[tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]] = []
        applied: Counter[str] = Counter()
        run, lifecycle_hash = self.run, self.lifecycle.hash
        for card, target in planned:
            step = self._checked_step(card, target, result)
            if step is None:
                continue
            if not run.dry_run:
                entries: list[tuple[str, dict[str, Any]]] = []
                if step.effects:
                    context = self._context(card, target)
                    step.apply(context)
                    entries = context.entries
                moves[(card.state, step.dest, joins_queue(step))].append(card.id)
                rows.append(
                    (
                        eventlog.event_row(
                            card.id,
                            card.version + 1,
                            target.trigger,
                            card.state,
                            step.dest,
                            run.actor,
                            target.reason,
                            run.at,
                            lifecycle_hash,
                            rule_set_version=run.rule_set_version,
                            batch_id=self.job_id,
                        ),
                        entries,
                    )
                )
            applied[target.trigger] += 1
        result.applied.update(applied)
        for (source, dest, joins), ids in moves.items():
            cards.move_chunk(self.tx, ids, source, dest, run.at, joins)
        eventlog.append_with_entries(self.tx, rows, self.lifecycle)

    def _checked_step(self, card: LockedCard, target: Target, result: BulkResult) -> Any:
        step = self.executor.find(card.state, target.trigger)
        if step is None:
            result.skip(
                card.nik, _("{trigger} is not allowed from {state}").format(trigger=target.trigger, state=card.state)
            )
            return None
        if card.updated_at is not self._in_order:
            if self.run.at < card.updated_at:
                last, at = card.updated_at.isoformat(), self.run.at.isoformat()
                result.skip(card.nik, _("its last event ({last}) is after {at}").format(last=last, at=at))
                return None
            self._in_order = card.updated_at
        if step.guards:
            refused = step.refusal(self._context(card, target))
            if refused is not None:
                result.skip(card.nik, _("guard {guard}: {reason}").format(guard=refused[0], reason=refused[1]))
                return None
        return step

    def _context(self, card: LockedCard, target: Target) -> FireContext:
        return FireContext(self.tx, card, target.trigger, self.run.actor, target.reason, self.run.at)


def move_chunk(
    tx: Connection,
    lifecycle: Lifecycle,
    job: str,
    targets: list[Target],
    actor: str,
    rule_set_version: int | None = None,
) -> BulkResult:
    """Move one chunk of cards by NIK (the caller holds the chain head), as a bulk job's
    chunk does: each through the executor, guards and effects, one event each; cards
    this job moved before are counted, not moved again; the refused are skipped."""
    result = BulkResult(job, False)
    run = _Run(actor, now(), False, None, rule_set_version)
    _Chunk(tx, lifecycle, run, job).move(_planned(tx, job, targets, None, result), result)
    return result


def _planned(
    tx: Connection, job: str, targets: list[Target], required_state: str | None, result: BulkResult
) -> list[tuple[LockedCard, Target]]:
    niks = [parse_nik(t.nik).value for t in targets]  # the file was checked: all parse
    found = cards.for_niks(tx, niks)
    done = cards.moved_by(tx, job, [card.id for card in found.values()])
    planned = []
    for nik, target in zip(niks, targets, strict=True):
        card = found.get(nik)
        if card is None:
            result.skip(target.nik, _("no card registered for this NIK"))
        elif card.id in done:
            result.done_before += 1
        elif required_state is not None and card.state != required_state:
            result.skip(
                card.nik,
                _("not in {required_state} (it is {state}): not applied").format(
                    required_state=required_state, state=card.state
                ),
            )
        else:
            planned.append((card, target))
    return planned


def check_file(tx: Connection, path: str | Path, read: Reader) -> int:
    """Read the whole file once; refuse it, listing its bad lines, if any line is wrong.

    Memory stays flat: the NIKs met so far sit in a temporary table of ``tx``'s
    transaction, and only the first bad lines are kept (all are counted).

    :returns: the number of targets.
    :raises InputFileError: bad NIKs, duplicate NIKs, unreadable rows.
    """
    problems = ProblemList()
    seen = SeenNiks(tx)
    count = 0
    for chunk in chunking.chunked(read()):
        met = []
        for line, item in chunk:
            if isinstance(item, RowProblem):
                problems.append(item)
                continue
            try:
                met.append((line, parse_nik(item.nik).value))
            except WorkflowError as err:
                problems.append(RowProblem(line, str(err)))
        seen.first_lines(met, problems)
        count += len(met)
    seen.drop()
    if problems:
        raise problems.error(str(path))
    return count


def job_id_for(kind: str, content: bytes) -> str:
    """A job's id, derived from what it does: the same command finds the same job."""
    return f"{kind}-{hashlib.sha256(content).hexdigest()[:24]}"
