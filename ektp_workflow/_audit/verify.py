"""Verifying the hash chain of the history, streaming: the events and, in the same
sequence, the ledger's entries, rule sets, their activations and allocation runs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .._store import eventlog, history, queue
from .._store.chain import ENTRY_FIELDS, GENESIS, chain_hash_values, entry_hash
from .._store.history import Entry, Progress
from .._store.store import Connection
from ..i18n import N_, _

#: Problems a verification or a replay lists (all are found; the first are kept).
MAX_LISTED = 100
_KINDS = {
    "blank_entry": N_("blank ledger entry"),
    "blank_quota": N_("monthly quota"),
    "blank_request": N_("request for blanks"),
    "resident": N_("resident data"),
    "rule_set": N_("rule-set version"),
    "rule_activation": N_("rule-set activation"),
    "allocation_run": N_("allocation run"),
    "replacement": N_("replacement"),
}


@dataclass(frozen=True)
class ChainProblem:
    """A place where the history is not what was written."""

    seq: int
    what: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.what}"


@dataclass
class Verification:
    """What ``verify`` found."""

    #: events re-hashed.
    checked: int = 0
    #: ledger, quota, request, rule and allocation entries re-hashed (chained with the events).
    entries: int = 0
    #: the last row of the history read: (seq, hash).
    last: tuple[int, str] = (0, GENESIS)
    #: the chain head the database keeps: (seq, hash).
    chain_head: tuple[int, str] = (0, GENESIS)
    problems: list[ChainProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, seq: int, what: str) -> None:
        if len(self.problems) < MAX_LISTED:
            self.problems.append(ChainProblem(seq, what))


@dataclass(frozen=True)
class Start:
    """Where a verification starts: the first seq of the history (1, or that of the
    schema's own entries, chained before any event) and the chain head kept."""

    first: int
    chain_head: tuple[int, str]
    head_missing: bool


@dataclass
class Part:
    """One range of the chain verified on its own (a worker's share)."""

    report: Verification
    seen_checkpoint: bool


def start(tx: Connection) -> Start:
    """Where the history in ``tx``'s snapshot starts, and its chain head."""
    lowest = history.first_entry_seq(tx)
    first = lowest if lowest is not None and lowest < 1 else 1
    try:
        return Start(first, eventlog.head(tx), False)
    except eventlog.HeadMissing:
        return Start(first, (0, GENESIS), True)


def verify(tx: Connection, against: tuple[int, str] | None = None, progress: Progress | None = None) -> Verification:
    """Re-hash the whole history and check it against the chain head and a kept checkpoint.

    :param against: a checkpoint ``(seq, hash)`` kept outside the system.
    """
    begun = start(tx)
    part = verify_part(tx, begun.first - 1, None, against, progress)
    return combined(tx, begun, [part], against)


def verify_part(
    tx: Connection, after: int, until: int | None, against: tuple[int, str] | None, progress: Progress | None = None
) -> Part:
    """Re-hash the rows of the chain with ``after < seq <= until`` (to the end if None),
    starting from the hash stored in the row before them: each range verifies on its
    own, and the seams are checked like any other link."""
    link = history.last_link(tx, after)
    walk = _Walk(tx, Verification(), against, link[0] if link else after)
    if link is not None:
        walk.previous = link[1]
    walk.run(after, until, progress)
    walk.report.last = (max(walk.previous_seq, 0), walk.previous)
    if until is None:  # the last range: the head in the same snapshot as the last rows
        try:
            walk.report.chain_head = eventlog.head(tx)
        except eventlog.HeadMissing:
            walk.report.chain_head = (0, GENESIS)
    return Part(walk.report, walk.seen_checkpoint)


def combined(tx: Connection, begun: Start, parts: list[Part], against: tuple[int, str] | None) -> Verification:
    """The verification of the whole history from its parts, in order, with the checks
    of the whole: rows outside the chain, the chain head, the kept checkpoint."""
    report = Verification(chain_head=parts[-1].report.chain_head if parts else begun.chain_head)
    if begun.head_missing:
        report.add(0, str(eventlog.HeadMissing()))
    for part in parts:
        report.checked += part.report.checked
        report.entries += part.report.entries
        for problem in part.report.problems:
            report.add(problem.seq, problem.what)
    report.last = parts[-1].report.last if parts else (0, GENESIS)
    for kind, count in history.unchained(tx).items():
        report.add(
            0,
            _("{count} {kind} row(s) have no place in the chain: written outside the engine").format(
                count=count, kind=_(_KINDS[kind])
            ),
        )
    if not begun.head_missing:
        _check_head(report)
    if against is not None and not any(part.seen_checkpoint for part in parts):
        report.add(
            against[0],
            _("the checkpoint's event is missing (the log ends at seq {last}): events were deleted").format(
                last=report.last[0]
            ),
        )
    return report


class _Walk:
    """The chain followed row by row, events and entries alike."""

    def __init__(self, tx: Connection, report: Verification, against: tuple[int, str] | None, before: int) -> None:
        self.tx, self.report, self.against = tx, report, against
        self.previous, self.previous_seq, self.seen_checkpoint = GENESIS, before, False

    def run(self, after: int, until: int | None, progress: Progress | None) -> None:
        """Follow the events and entries with ``after < seq <= until``, merged by seq."""
        pending = history.entries(self.tx, after, until)
        entry = next(pending, None)
        for row in history.hashed(self.tx, progress, after, until):
            while entry is not None and entry.seq < row.seq:
                entry = self.entry(entry, pending)
            self.step(row.seq, chain_hash_values(self.previous, row[:-1]), row.hash, "")
            self.report.checked += 1
        while entry is not None:
            entry = self.entry(entry, pending)
        if progress is not None and self.report.entries:
            progress(self.report.entries)  # the chain's other rows: the bar's total is the head's seq

    def entry(self, entry: Entry, pending: Iterator[Entry]) -> Entry | None:
        """Check one entry; return the next."""
        label = _(_KINDS[entry.kind]) + ": "
        self.step(entry.seq, entry_hash(self.previous, entry.kind, entry.values), entry.chain_hash, label)
        if entry.kind == "allocation_run":
            self._inputs(entry)
        self.report.entries += 1
        return next(pending, None)

    def step(self, seq: int, computed: str, stored: str | None, label: str) -> None:
        if stored is None:  # the rest is checked as if it were there
            self.report.add(seq, label + _("it has no chain hash: it was written outside the engine"))
            stored = computed
        elif computed != stored:
            self.report.add(seq, label + _mismatch(self.previous_seq, seq))
        if self.against is not None and seq == self.against[0]:
            self.seen_checkpoint = True
            if stored != self.against[1]:
                self.report.add(
                    seq,
                    _("hash {stored} differs from the checkpoint kept, {kept}: history up to it was rewritten").format(
                        stored=stored, kept=self.against[1]
                    ),
                )
        self.previous, self.previous_seq = stored, seq

    def _inputs(self, entry: Entry) -> None:
        run_id, recorded = _field(entry, "run_id"), _field(entry, "inputs_hash")
        if queue.recorded_inputs_hash(self.tx, run_id) != recorded:
            self.report.add(
                entry.seq, _("allocation run {run_id}: its recorded queue or stock was changed").format(run_id=run_id)
            )


def _field(entry: Entry, name: str) -> Any:
    return entry.values[ENTRY_FIELDS[entry.kind].index(name)]


def _mismatch(previous_seq: int, seq: int) -> str:
    if seq != previous_seq + 1:
        return _("follows seq {previous}: events {first}..{last} were deleted or renumbered").format(
            previous=previous_seq, first=previous_seq + 1, last=seq - 1
        )
    return _("its hash does not match its content and the event before it: this row was edited, inserted or moved")


def _check_head(report: Verification) -> None:
    (head_seq, head_hash), (last_seq, last_hash) = report.chain_head, report.last
    if head_seq > last_seq:
        report.add(
            last_seq + 1,
            _("the chain head is at seq {head} but the log ends at {last}: its tail was deleted").format(
                head=head_seq, last=last_seq
            ),
        )
    elif head_seq < last_seq:
        report.add(
            head_seq + 1,
            _("events after the chain head (seq {head}) up to {last} were added outside the engine").format(
                head=head_seq, last=last_seq
            ),
        )
    elif head_hash != last_hash:
        report.add(last_seq, _("the last event's hash differs from the chain head: the tail was rewritten"))
