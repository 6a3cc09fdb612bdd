"""Replaying the event log through the lifecycle table, and comparing with stored state."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .. import ledger
from ..records import REGISTER
from ..schema import cards, events, lifecycles, residents
from ..states import Lifecycle, lifecycle_from_dict
from .chain import MAX_PROBLEMS, Progress, stream_events

ALLOCATED = "allocated"


@dataclass
class Replay:
    """The state of every card after folding the events up to a point."""

    #: card id -> (state, version)
    cards: dict[int, tuple[str, int]] = field(default_factory=dict)
    last_seq: int = 0
    events: int = 0
    #: events the lifecycle table does not allow where they stand.
    problems: list[str] = field(default_factory=list)

    def counts(self, kecamatan_of: dict[int, str]) -> dict[str, dict[str, int]]:
        """Cards per kecamatan and state."""
        tally: Counter[tuple[str, str]] = Counter(
            (kecamatan_of.get(card, "?"), state) for card, (state, _) in self.cards.items()
        )
        result: dict[str, dict[str, int]] = {}
        for (kecamatan, state), count in sorted(tally.items()):
            result.setdefault(kecamatan, {})[state] = count
        return result


_COLUMNS = (
    events.c.seq, events.c.card_id, events.c.version, events.c.trigger, events.c.from_state,
    events.c.to_state, events.c.lifecycle_hash, events.c.recorded_at, events.c.occurred_at,
)


def replay(
    conn: Connection, until_seq: int | None = None, as_of: dt.datetime | None = None, by: str = "recorded",
    progress: Progress | None = None,
) -> Replay:
    """Fold events in sequence order, each through the lifecycle it was written under.

    :param until_seq: stop after this sequence number.
    :param as_of: only events recorded (``by="recorded"``, what the system showed then)
        or that occurred (``by="occurred"``) at or before this time.
    """
    tables = _Lifecycles(conn)
    result = Replay()
    time_column = "recorded_at" if by == "recorded" else "occurred_at"
    for row in stream_events(conn, _COLUMNS, until=until_seq, progress=progress):
        if as_of is not None and getattr(row, time_column) > as_of:
            continue
        problem = _step(result, row, tables.get(row.lifecycle_hash))
        if problem and len(result.problems) < MAX_PROBLEMS:
            result.problems.append(f"seq {row.seq}: {problem}")
        result.last_seq, result.events = row.seq, result.events + 1
    return result


def _step(result: Replay, row: sa.Row, lifecycle: Lifecycle | None) -> str | None:
    before = result.cards.get(row.card_id)
    result.cards[row.card_id] = (row.to_state, row.version)
    if row.trigger == REGISTER:
        if before is not None:
            return f"card {row.card_id} registered twice"
        return None if row.version == 1 else f"card {row.card_id} registered at version {row.version}"
    if before is None:
        return f"card {row.card_id}: {row.trigger} before the card was registered"
    state, version = before
    if (row.from_state, row.version) != (state, version + 1):
        return f"card {row.card_id}: event from {row.from_state} v{row.version} follows {state} v{version}"
    if lifecycle is None:
        return f"unknown lifecycle {row.lifecycle_hash[:12]}: the transition cannot be checked"
    edge = lifecycle.transition(state, row.trigger)
    if edge is None or edge.dest != row.to_state:
        return f"card {row.card_id}: {row.trigger} from {state} to {row.to_state} is not in the lifecycle"
    return None


class _Lifecycles:
    """Lifecycle tables by hash, loaded from the database as they are met."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._known: dict[str, Lifecycle | None] = {}

    def get(self, hash_: str) -> Lifecycle | None:
        if hash_ not in self._known:
            text = self._conn.scalar(sa.select(lifecycles.c.definition).where(lifecycles.c.hash == hash_))
            self._known[hash_] = _load(text) if text else None
        return self._known[hash_]


def _load(text: str) -> Lifecycle:
    data = json.loads(text)
    guards = {g for t in data["transitions"] for g in t["guards"]}
    effects = {e for t in data["transitions"] for e in t["effects"]}
    return lifecycle_from_dict(data, "stored lifecycle", guards, effects)


def kecamatan_by_card(conn: Connection) -> dict[int, str]:
    """Each card's current kecamatan."""
    return dict(conn.execute(sa.select(residents.c.id, residents.c.kecamatan)).all())


def compare(conn: Connection, folded: Replay) -> list[str]:
    """Where stored state differs from the replay: cards, the blanks they hold, the ledger."""
    mismatches = []
    stored = sa.select(cards.c.id, cards.c.state, cards.c.version, cards.c.blank_batch_id).order_by(cards.c.id)
    seen = 0
    for card_id, state, version, batch in conn.execute(stored):
        seen += 1
        replayed = folded.cards.get(card_id)
        if replayed != (state, version):
            mismatches.append(f"card {card_id}: stored {state} v{version}, replay gives {replayed}")
        elif (batch is not None) != (state == ALLOCATED):
            mismatches.append(f"card {card_id}: {state} but {'holds' if batch else 'holds no'} reserved blank")
    if seen != len(folded.cards):
        mismatches.append(f"{seen} cards stored, {len(folded.cards)} in the event log")
    return mismatches[:MAX_PROBLEMS] + ledger.conservation_problems(conn)
