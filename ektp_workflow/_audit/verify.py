"""Verifying the hash chain of the event log, streaming."""

from __future__ import annotations

from dataclasses import dataclass, field

from .._store import eventlog, history
from .._store.chain import GENESIS, chain_hash_values
from .._store.history import Progress
from .._store.store import Connection

#: Problems a verification or a replay lists (all are found; the first are kept).
MAX_LISTED = 100


@dataclass(frozen=True)
class ChainProblem:
    """A place where the log is not what was written."""

    seq: int
    what: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.what}"


@dataclass
class Verification:
    """What ``verify`` found."""

    #: events re-hashed.
    checked: int = 0
    #: the last event read: (seq, hash).
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


def verify(tx: Connection, against: tuple[int, str] | None = None, progress: Progress | None = None) -> Verification:
    """Re-hash the whole log and check it against the chain head and a kept checkpoint.

    :param against: a checkpoint ``(seq, hash)`` kept outside the system.
    """
    report = Verification(chain_head=eventlog.head(tx))
    previous, previous_seq, seen_checkpoint = GENESIS, 0, False
    for row in history.hashed(tx, progress):
        if chain_hash_values(previous, row[:-1]) != row.hash:
            report.add(row.seq, _mismatch(previous_seq, row.seq))
        if against is not None and row.seq == against[0]:
            seen_checkpoint = True
            if row.hash != against[1]:
                report.add(
                    row.seq,
                    f"hash {row.hash} differs from the checkpoint kept, {against[1]}: history up to it was rewritten",
                )
        previous, previous_seq = row.hash, row.seq
        report.checked += 1
    report.last = (previous_seq, previous)
    _check_head(report)
    if against is not None and not seen_checkpoint:
        report.add(
            against[0], f"the checkpoint's event is missing (the log ends at seq {previous_seq}): events were deleted"
        )
    return report


def _mismatch(previous_seq: int, seq: int) -> str:
    if seq != previous_seq + 1:
        return f"follows seq {previous_seq}: events {previous_seq + 1}..{seq - 1} were deleted or renumbered"
    return "its hash does not match its content and the event before it: this row was edited, inserted or moved"


def _check_head(report: Verification) -> None:
    (head_seq, head_hash), (last_seq, last_hash) = report.chain_head, report.last
    if head_seq > last_seq:
        report.add(
            last_seq + 1, f"the chain head is at seq {head_seq} but the log ends at {last_seq}: its tail was deleted"
        )
    elif head_seq < last_seq:
        report.add(
            head_seq + 1, f"events after the chain head (seq {head_seq}) up to {last_seq} were added outside the engine"
        )
    elif head_hash != last_hash:
        report.add(last_seq, "the last event's hash differs from the chain head: the tail was rewritten")
