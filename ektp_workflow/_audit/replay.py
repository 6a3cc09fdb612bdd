"""Replaying the event log through the lifecycle table, and comparing with stored state.

Replay reads the log in sequence order, page by page, as plain driver tuples, and
keeps each card's state and version in two arrays indexed by card id: memory is a
few bytes per card, whatever the length of the log.
"""

from __future__ import annotations

import datetime as dt
import json
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._store import balances, history, lifecycles, projections
from .._store.history import Progress
from .._store.store import Connection
from ..i18n import _, ngettext
from ..records import QUEUE_STATE, REGISTER
from ..states import Lifecycle, lifecycle_from_dict
from .verify import MAX_LISTED

ALLOCATED = "allocated"


class CardStates(Mapping[int, tuple[str, int]]):
    """Each card's ``(state, version)`` by card id, compact: two arrays indexed by id."""

    def __init__(self) -> None:
        self._names: list[str] = [""]  # code 0: no card
        self._codes: dict[str, int] = {}
        self._states = array("H")
        self._versions = array("q")
        self._count = 0

    def code(self, state: str) -> int:
        """The small integer standing for ``state``."""
        code = self._codes.get(state)
        if code is None:
            code = self._codes[state] = len(self._names)
            self._names.append(state)
        return code

    def reserve(self, card_id: int) -> None:
        """Make room for ids up to ``card_id``."""
        missing = card_id + 1 - len(self._states)
        if missing > 0:
            grow = max(missing, len(self._states) // 2, 1024)
            self._states.extend(array("H", bytes(2 * grow)))
            self._versions.extend(array("q", bytes(8 * grow)))

    def __getitem__(self, card_id: int) -> tuple[str, int]:
        if 0 <= card_id < len(self._states) and self._states[card_id]:
            return self._names[self._states[card_id]], self._versions[card_id]
        raise KeyError(card_id)

    def __iter__(self) -> Iterator[int]:
        return (card_id for card_id, code in enumerate(self._states) if code)

    def __len__(self) -> int:
        return self._count


@dataclass
class Replay:
    """The state of every card after folding the events up to a point."""

    #: card id -> (state, version)
    cards: CardStates = field(default_factory=CardStates)
    last_seq: int = 0
    events: int = 0
    #: events the lifecycle table does not allow where they stand.
    problems: list[str] = field(default_factory=list)
    #: where stored state differs from it (when compared, see ``compare``).
    mismatches: list[str] = field(default_factory=list)
    #: the edges into the queue, ``(lifecycle hash, trigger, source)``, by which a card
    #: keeps its place, in the lifecycles the events were written under.
    keeps_place: frozenset[tuple[str, str, str]] = frozenset()

    def problem(self, seq: int, what: str) -> None:
        """Note an event the lifecycle table does not allow where it stands (the first 100)."""
        if len(self.problems) < MAX_LISTED:
            self.problems.append(f"seq {seq}: {what}")

    def counts(self, conn: Connection) -> dict[str, dict[str, int]]:
        """Cards per kecamatan (where the resident lives now) and state; ``?`` for a card
        whose resident is missing (a damaged database)."""
        tally: dict[tuple[str, str], int] = {}

        def add(kecamatan: str, card_id: int) -> None:
            key = (kecamatan, self.cards[card_id][0])
            tally[key] = tally.get(key, 0) + 1

        # Residents and folded cards, both in id order, merged.
        folded = iter(self.cards)
        card = next(folded, None)
        for batch in history.resident_kecamatan(conn):
            for resident_id, kecamatan in batch:
                while card is not None and card < resident_id:
                    add("?", card)
                    card = next(folded, None)
                if card == resident_id:
                    add(kecamatan, card)
                    card = next(folded, None)
        while card is not None:
            add("?", card)
            card = next(folded, None)
        result: dict[str, dict[str, int]] = {}
        for (kecamatan, state), count in sorted(tally.items()):
            result.setdefault(kecamatan, {})[state] = count
        return result


def replay(
    conn: Connection,
    until_seq: int | None = None,
    as_of: dt.datetime | None = None,
    by: str = "recorded",
    progress: Progress | None = None,
) -> Replay:
    """Fold events in sequence order, each through the lifecycle it was written under.

    :param until_seq: stop after this sequence number.
    :param as_of: only events recorded (``by="recorded"``, what the system showed then)
        or that occurred (``by="occurred"``) at or before this time.
    """
    result = Replay()
    tables = _Lifecycles(conn)
    covered = 0
    for batch in history.transitions(conn, until_seq, as_of, by):
        _fold(result, tables, batch)
        if progress is not None:  # sequence numbers covered, events skipped by ``as_of`` included
            progress(batch[-1][0] - covered)
            covered = batch[-1][0]
    result.keeps_place = frozenset(tables.keeping)
    return result


def _fold(result: Replay, tables: _Lifecycles, rows: Sequence[tuple[Any, ...]]) -> None:
    """Fold a page of events (never empty) into ``result``: the inner loop, in one function for speed."""
    states = result.cards
    codes, names = states._codes, states._names
    states.reserve(max(row[1] for row in rows))
    state_of, version_of = states._states, states._versions
    lifecycle_hash, edges = None, None
    for seq, card_id, version, trigger, from_state, to_state, row_hash in rows:
        before, previous = state_of[card_id], version_of[card_id]
        code = codes.get(to_state) or states.code(to_state)
        state_of[card_id], version_of[card_id] = code, version
        if trigger == REGISTER:
            if before:
                result.problem(seq, _("card {card_id} registered twice").format(card_id=card_id))
            else:
                states._count += 1
                if version != 1:
                    result.problem(
                        seq,
                        _("card {card_id} registered at version {version}").format(card_id=card_id, version=version),
                    )
            continue
        if not before:
            states._count += 1
            result.problem(
                seq,
                _("card {card_id}: {trigger} before the card was registered").format(card_id=card_id, trigger=trigger),
            )
            continue
        state = names[before]
        if from_state != state or version != previous + 1:
            result.problem(seq, _out_of_order(card_id, from_state, version, state, previous))
            continue
        if row_hash != lifecycle_hash:
            lifecycle_hash, edges = row_hash, tables.edges(row_hash)
        if edges is None:
            if tables.first_unchecked(row_hash):
                result.problem(
                    seq, _("{why}: its events cannot be checked (this is the first)").format(why=tables.why(row_hash))
                )
        elif (state, trigger, to_state) not in edges:
            result.problem(seq, _not_an_edge(card_id, trigger, state, to_state))
    result.last_seq = rows[-1][0]
    result.events += len(rows)


def _out_of_order(card_id: int, from_state: str, version: int, state: str, previous: int) -> str:
    return _("card {card_id}: event from {from_state} v{version} follows {state} v{previous}").format(
        card_id=card_id, from_state=from_state, version=version, state=state, previous=previous
    )


def _not_an_edge(card_id: int, trigger: str, state: str, to_state: str) -> str:
    return _("card {card_id}: {trigger} from {state} to {to_state} is not in the lifecycle").format(
        card_id=card_id, trigger=trigger, state=state, to_state=to_state
    )


class _Lifecycles:
    """Lifecycle tables by hash, loaded from the database as they are met."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._known: dict[str, frozenset[tuple[str, str, str]] | None] = {}
        #: why a lifecycle's events cannot be checked, by its hash; and those reported.
        self._unusable: dict[str, str] = {}
        self._reported: set[str] = set()
        #: the edges into the queue that keep a card's place, in every lifecycle met.
        self.keeping: set[tuple[str, str, str]] = set()

    def edges(self, hash_: str) -> frozenset[tuple[str, str, str]] | None:
        """Every allowed ``(state, trigger, destination)`` of the lifecycle, or None if it is
        unknown or its stored definition does not hash to its key (it was altered)."""
        if hash_ not in self._known:
            text = lifecycles.definition(self._conn, hash_)
            lifecycle = _load(text) if text else None
            if lifecycle is None:
                self._unusable[hash_] = _("unknown lifecycle {hash}").format(hash=hash_[:12])
            elif lifecycle.hash != hash_:
                self._unusable[hash_] = _(
                    "lifecycle {hash} was altered: its stored definition hashes to {stored_hash}"
                ).format(hash=hash_[:12], stored_hash=lifecycle.hash[:12])
                lifecycle = None
            self._known[hash_] = _edges(lifecycle) if lifecycle is not None else None
            if lifecycle is not None:
                self.keeping |= {(hash_, t.trigger, t.source) for t in lifecycle.transitions if t.keeps_place}
        return self._known[hash_]

    def why(self, hash_: str) -> str:
        return self._unusable[hash_]

    def first_unchecked(self, hash_: str) -> bool:
        """Whether this is the first event met under an unusable lifecycle (reported once)."""
        if hash_ in self._reported:
            return False
        self._reported.add(hash_)
        return True


def _edges(lifecycle: Lifecycle) -> frozenset[tuple[str, str, str]]:
    return frozenset((t.source, t.trigger, t.dest) for t in lifecycle.transitions)


def _load(text: str) -> Lifecycle:
    data = json.loads(text)
    guards = {g for t in data["transitions"] for g in t["guards"]}
    effects = {e for t in data["transitions"] for e in t["effects"]}
    return lifecycle_from_dict(data, _("stored lifecycle"), guards, effects)


def compare(conn: Connection, folded: Replay) -> list[str]:
    """Where stored state differs from the replay: cards, the blanks they hold, the ledger,
    and every other projection of the history (residents, card times, the queue)."""
    mismatches: list[str] = []
    seen = 0
    for batch in history.stored_cards(conn):
        for card_id, state, version, batch_id in batch:
            seen += 1
            replayed = folded.cards.get(card_id)
            if len(mismatches) >= MAX_LISTED:
                continue
            if replayed != (state, version):
                mismatches.append(
                    _("card {card_id}: stored {state} v{version}, replay gives {replayed}").format(
                        card_id=card_id, state=state, version=version, replayed=replayed
                    )
                )
            elif (batch_id is not None) != (state == ALLOCATED):
                mismatches.append(_holding(card_id, state, batch_id is not None))
    if seen != len(folded.cards):
        mismatches.append(
            ngettext(
                "{stored} card stored, {logged} in the event log",
                "{stored} cards stored, {logged} in the event log",
                seen,
            ).format(stored=seen, logged=len(folded.cards))
        )
    return (
        mismatches
        + balances.conservation_problems(conn)
        + projections.problems(conn, QUEUE_STATE, ALLOCATED, folded.keeps_place, MAX_LISTED)
    )


def _holding(card_id: int, state: str, holds: bool) -> str:
    """A card whose state and reserved blank disagree."""
    if holds:
        return _("card {card_id}: {state} but holds a reserved blank").format(card_id=card_id, state=state)
    return _("card {card_id}: {state} but holds no reserved blank").format(card_id=card_id, state=state)
