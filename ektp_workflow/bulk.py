"""Bulk transitions: many cards at once, set-based and chunked, resumable.

Each chunk is one transaction: the cards are read and locked, each one's edge is
looked up in the same lifecycle table the single path uses, its guards and effects
run (the same functions), then one UPDATE per (source, destination) moves the
chunk and its events are appended to the same hash chain. A job remembers its id
on every event it writes (``batch_id``): run the same command again after a crash
or Ctrl-C and it resumes, moving no card twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import eventlog
from .clock import now
from .database import DriverStatement
from .errors import ConcurrencyError, WorkflowError
from .guards import EFFECTS, GUARDS, FireContext
from .records import CARD_FROM
from .schema import bulk_jobs, cards, events, residents
from .states import Lifecycle

CHUNK = 2000
MAX_EXAMPLES = 100
Progress = Callable[[int], None]

_CARD_COLUMNS = (
    cards.c.id, cards.c.state, cards.c.version, cards.c.updated_at, cards.c.blank_batch_id,
    residents.c.nik, residents.c.kecamatan, residents.c.birth_date,
)


class LockedCard(NamedTuple):
    """A card read and locked for a chunk (a plain tuple: its fields are read per card)."""

    id: int
    state: str
    version: int
    updated_at: dt.datetime
    blank_batch_id: int | None
    nik: str
    kecamatan: str
    birth_date: dt.date


# A chunk's statements run on the driver (see DriverStatement): for a chunk of 2,000
# cards, SQLAlchemy's handling of rows and IN lists costs more than the database's work.
_MOVE = DriverStatement(
    cards.update()
    .where(cards.c.id.in_(sa.bindparam("ids", expanding=True)), cards.c.state == sa.bindparam("source"))
    .values(state=sa.bindparam("dest"), version=cards.c.version + 1, updated_at=sa.bindparam("at"))
)


class Target(NamedTuple):
    """One card to move: its NIK, the trigger and the reason to record (a plain tuple: a
    chunk of a file makes 2,000 of them; a chunk by state shares one, NIK left empty)."""

    nik: str
    trigger: str
    reason: str | None = None


@dataclass
class BulkResult:
    """What a bulk job did (or, in a dry run, would do)."""

    job_id: str
    dry_run: bool = False
    #: cards moved by this run, per trigger.
    applied: Counter[str] = field(default_factory=Counter)
    #: cards this job had already moved in an earlier, interrupted run.
    done_before: int = 0
    #: cards not moved, and the first of them with the reason.
    skipped: int = 0
    examples: list[tuple[str, str]] = field(default_factory=list)
    #: the job had been started before and was resumed.
    resumed: bool = False

    @property
    def total_applied(self) -> int:
        return sum(self.applied.values())

    def merge(self, part: BulkResult) -> None:
        """Add what one chunk did (counted apart, so that a retried chunk counts once)."""
        self.applied.update(part.applied)
        self.done_before += part.done_before
        self.skipped += part.skipped
        self.examples += part.examples[: MAX_EXAMPLES - len(self.examples)]

    def skip(self, nik: str, reason: str) -> None:
        self.skipped += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append((nik, reason))


class ChunkMover:
    """Moves one chunk of locked cards: edges from the table, guards, effects, events."""

    def __init__(self, conn: Connection, lifecycle: Lifecycle, actor: str, at: dt.datetime, job_id: str) -> None:
        self.conn, self.lifecycle, self.actor, self.at, self.job_id = conn, lifecycle, actor, at, job_id
        #: the last card time found not after ``at``: the cards of a chunk mostly share one
        #: time object (one per distinct text, see database._sqlite_utc_result), compared once.
        self._in_order: dt.datetime | None = None

    def move(self, planned: Iterable[tuple[LockedCard, Target]], result: BulkResult, dry_run: bool) -> None:
        moves: dict[tuple[str, str], list[int]] = defaultdict(list)
        rows: list[dict[str, Any]] = []
        applied: Counter[str] = Counter()
        for card, target in planned:
            edge = self._checked_edge(card, target, result)
            if edge is None:
                continue
            if not dry_run:
                for effect in edge.effects:
                    EFFECTS[effect](self._context(card, target))
                moves[(card.state, edge.dest)].append(card.id)
                rows.append(self._event(card, target, edge.dest))
            applied[target.trigger] += 1
        result.applied.update(applied)
        for (source, dest), ids in moves.items():
            self._update(source, dest, ids)
        eventlog.append(self.conn, rows, self.lifecycle)

    def _checked_edge(self, card: LockedCard, target: Target, result: BulkResult) -> Any:
        edge = self.lifecycle.transition(card.state, target.trigger)
        if edge is None:
            result.skip(card.nik, f"{target.trigger} is not allowed from {card.state}")
            return None
        if card.updated_at is not self._in_order:
            if self.at < card.updated_at:
                result.skip(card.nik, f"its last event ({card.updated_at.isoformat()}) is after {self.at.isoformat()}")
                return None
            self._in_order = card.updated_at
        for guard in edge.guards:
            refused = GUARDS[guard](self._context(card, target))
            if refused is not None:
                result.skip(card.nik, f"guard {guard}: {refused}")
                return None
        return edge

    def _context(self, card: LockedCard, target: Target) -> FireContext:
        return FireContext(
            self.conn, card.id, card.nik, card.kecamatan, card.birth_date, target.trigger,
            card.version + 1, self.actor, target.reason, self.at, card.blank_batch_id,
        )

    def _event(self, card: LockedCard, target: Target, dest: str) -> dict[str, Any]:
        return {
            "card_id": card.id, "version": card.version + 1, "trigger": target.trigger,
            "from_state": card.state, "to_state": dest, "actor": self.actor, "reason": target.reason,
            "occurred_at": self.at, "lifecycle_hash": self.lifecycle.hash, "idempotency_key": None,
            "rule_set_version": None, "batch_id": self.job_id,
        }

    def _update(self, source: str, dest: str, ids: list[int]) -> None:
        moved = _MOVE.rowcount(self.conn, {"ids": ids, "source": source, "dest": dest, "at": self.at})
        if moved != len(ids):
            raise ConcurrencyError(f"{len(ids) - moved} cards of the chunk", 0, None)


# -- jobs -----------------------------------------------------------------------------


def job_id_for(kind: str, content: bytes) -> str:
    """A job's id, derived from what it does: the same command finds the same job."""
    return f"{kind}-{hashlib.sha256(content).hexdigest()[:24]}"


def start_job(conn: Connection, job_id: str, trigger: str, selection: dict[str, Any], actor: str) -> bool:
    """Record a job as running; return True if it had been started before (a resume)."""
    status = conn.scalar(sa.select(bulk_jobs.c.status).where(bulk_jobs.c.id == job_id))
    if status is not None:
        return True
    conn.execute(
        bulk_jobs.insert().values(
            id=job_id, trigger=trigger, selection=json.dumps(selection, sort_keys=True), actor=actor,
            status="running", started_at=now(), finished_at=None, applied=0,
        )
    )
    return False


def running_job(conn: Connection, selection: dict[str, Any]) -> str | None:
    """The id of an unfinished job with this selection, if one was interrupted."""
    return conn.scalar(
        sa.select(bulk_jobs.c.id).where(
            bulk_jobs.c.selection == json.dumps(selection, sort_keys=True), bulk_jobs.c.status == "running"
        )
    )


def new_state_job_id() -> str:
    return f"bulk-{uuid.uuid4().hex[:24]}"


def finish_job(conn: Connection, job_id: str, applied: int) -> None:
    conn.execute(
        bulk_jobs.update().where(bulk_jobs.c.id == job_id).values(
            status="completed", finished_at=now(), applied=bulk_jobs.c.applied + applied
        )
    )


def count_done(conn: Connection, job_id: str) -> int:
    """Events a job has written so far."""
    return int(conn.scalar(sa.select(sa.func.count()).select_from(events).where(events.c.batch_id == job_id)) or 0)


# -- selections -------------------------------------------------------------------------


def _in_state(*where: sa.ColumnElement[bool]) -> DriverStatement:
    return DriverStatement(
        sa.select(*_CARD_COLUMNS).select_from(CARD_FROM)
        .where(cards.c.state == sa.bindparam("state"), cards.c.id > sa.bindparam("after"), *where)
        .order_by(cards.c.id).limit(sa.bindparam("size", type_=sa.Integer)).with_for_update(of=cards)
    )


_IN_STATE = _in_state()
_IN_STATE_AND_KECAMATAN = _in_state(residents.c.kecamatan == sa.bindparam("kecamatan"))


def cards_in_state(conn: Connection, state: str, kecamatan: str | None, after_id: int, limit: int) -> list[LockedCard]:
    """The next cards in ``state`` (optionally in one kecamatan) by id, locked for the chunk."""
    params = {"state": state, "after": after_id, "size": limit}
    if kecamatan is None:
        return _IN_STATE.all(conn, params, LockedCard._make)
    return _IN_STATE_AND_KECAMATAN.all(conn, {**params, "kecamatan": kecamatan}, LockedCard._make)


_FOR_NIKS = DriverStatement(
    sa.select(*_CARD_COLUMNS).select_from(CARD_FROM)
    .where(residents.c.nik.in_(sa.bindparam("niks", expanding=True))).with_for_update(of=cards)
)
_MOVED_BY = DriverStatement(
    sa.select(events.c.card_id)
    .where(events.c.batch_id == sa.bindparam("job"), events.c.card_id.in_(sa.bindparam("ids", expanding=True)))
)


def cards_for(conn: Connection, niks: list[str]) -> dict[str, LockedCard]:
    """The cards of these NIKs, locked, by NIK."""
    if not niks:
        return {}
    return {card.nik: card for card in _FOR_NIKS.all(conn, {"niks": niks}, LockedCard._make)}


def moved_by(conn: Connection, job_id: str, card_ids: list[int]) -> set[int]:
    """Which of these cards the job has already moved."""
    if not card_ids:
        return set()
    return {card_id for (card_id,) in _MOVED_BY.all(conn, {"job": job_id, "ids": card_ids})}


def chunks(items: Iterable[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def refuse_allocate(trigger: str) -> None:
    if trigger == "allocate":
        raise WorkflowError("bulk allocate is not offered: `ektp allocate` reserves blanks in the rules' order")
