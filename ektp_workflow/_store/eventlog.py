"""The one history writer: every path (single fire, bulk, registration, allocation, the
centre's results) builds its events with ``event_row`` and appends them here, and the
ledger, the rule book and the allocation runs append their entries here too.

Appending locks the single row of ``event_chain``: writers take turns, sequence
numbers are gapless across events and entries, and they commit in order. Each row is
numbered and chained (``chain``) following the head, inserted, and the head moves.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..clock import now
from ..errors import ConcurrencyError, DatabaseError
from ..i18n import _
from ..records import Event
from ..states import Lifecycle
from . import lifecycles
from .chain import chain, chain_entries
from .driver import Driver, DriverStatement, copy_rows
from .schema import (
    allocation_runs,
    blank_entries,
    blank_quotas,
    blank_requests,
    cards,
    event_chain,
    events,
    replacements,
    resident_entries,
    residents,
    rule_set_activations,
    rule_sets,
)

#: Where each kind of entry is stored.
ENTRY_TABLES = {
    "blank_entry": blank_entries,
    "blank_quota": blank_quotas,
    "blank_request": blank_requests,
    "resident": resident_entries,
    "rule_set": rule_sets,
    "rule_activation": rule_set_activations,
    "allocation_run": allocation_runs,
    "replacement": replacements,
}

#: Below this many events an append inserts them one by one; from it, at once (COPY).
MANY = 50


def event_row(
    card_id: int,
    version: int,
    trigger: str,
    from_state: str | None,
    to_state: str,
    actor: str,
    reason: str | None,
    occurred_at: dt.datetime,
    lifecycle_hash: str,
    idempotency_key: str | None = None,
    rule_set_version: int | None = None,
    batch_id: str | None = None,
) -> dict[str, Any]:
    """An event as ``append`` takes it: every column but ``seq``, ``recorded_at`` and
    ``hash``, which the append gives it."""
    return {
        "card_id": card_id,
        "version": version,
        "trigger": trigger,
        "from_state": from_state,
        "to_state": to_state,
        "actor": actor,
        "reason": reason,
        "occurred_at": occurred_at,
        "lifecycle_hash": lifecycle_hash,
        "idempotency_key": idempotency_key,
        "rule_set_version": rule_set_version,
        "batch_id": batch_id,
    }


def append(
    tx: Connection | Driver,
    rows: Sequence[dict[str, Any]],
    lifecycle: Lifecycle,
    locked: tuple[int, str] | None = None,
    written: dt.datetime | None = None,
) -> list[int]:
    """Number, chain and insert events (each made by ``event_row`` under ``lifecycle``,
    which is stored too if it is new) in the caller's transaction; return their seqs.

    :param locked: the head ``lock_head`` returned in this transaction, if nothing
        was appended since (saves reading it again).
    :param written: their ``recorded_at`` (default now).
    """
    if not rows:
        return []
    lifecycles.remember(tx, lifecycle)
    last_seq, last_hash = locked or lock_head(tx)
    last_seq, last_hash = chain(rows, last_seq, last_hash, written or now())
    _insert(tx, rows)
    _MOVE_HEAD.rowcount(tx, {"seq": last_seq, "hash": last_hash})
    return [row["seq"] for row in rows]


def append_entries(
    tx: Connection | Driver, kind: str, rows: Sequence[dict[str, Any]], locked: tuple[int, str] | None = None
) -> tuple[int, str] | None:
    """Number, chain and insert entries of ``kind`` (each with the columns of its table,
    and a blank entry with its batch's ``reference``, ``received_on`` and ``request``
    too) in the caller's transaction; return the new head (None if ``rows`` is empty).

    :param locked: the head, if this transaction holds it and appended nothing since.
    """
    if not rows:
        return locked
    last_seq, last_hash = chain_entries(kind, rows, *(locked or lock_head(tx)))
    _insert_entries(tx, kind, rows)
    _MOVE_HEAD.rowcount(tx, {"seq": last_seq, "hash": last_hash})
    return last_seq, last_hash


def _insert_entries(tx: Connection | Driver, kind: str, rows: Sequence[dict[str, Any]]) -> None:
    insert, columns = _INSERT_ENTRY[kind]
    if len(rows) < MANY or not isinstance(tx, Connection):
        for row in rows:
            insert.rowcount(tx, {name: row[name] for name in columns})
    else:
        copy_rows(tx, ENTRY_TABLES[kind].name, columns, map(operator.itemgetter(*columns), rows))


def append_with_entries(
    tx: Connection, moves: Sequence[tuple[dict[str, Any], Sequence[tuple[str, dict[str, Any]]]]], lifecycle: Lifecycle
) -> None:
    """Events of a chunk, each followed in the chain by the ``(kind, row)`` entries its
    effects made, as a single transition chains them; inserted table by table, the head
    moved once."""
    if not any(entries for _event, entries in moves):
        append(tx, [event for event, _entries in moves], lifecycle)
        return
    lifecycles.remember(tx, lifecycle)
    last_seq, last_hash = lock_head(tx)
    written, by_kind = now(), defaultdict(list)
    for event, entries in moves:
        last_seq, last_hash = chain([event], last_seq, last_hash, written)
        for kind, row in entries:
            last_seq, last_hash = chain_entries(kind, [row], last_seq, last_hash)
            by_kind[kind].append(row)
    _insert(tx, [event for event, _entries in moves])
    for kind, rows in by_kind.items():
        _insert_entries(tx, kind, rows)
    _MOVE_HEAD.rowcount(tx, {"seq": last_seq, "hash": last_hash})


def append_kinds(
    tx: Connection | Driver, entries: Sequence[tuple[str, dict[str, Any]]], locked: tuple[int, str] | None = None
) -> None:
    """Append ``(kind, row)`` entries in their order, each run of one kind at once."""
    start = 0
    while start < len(entries):
        kind, end = entries[start][0], start + 1
        while end < len(entries) and entries[end][0] == kind:
            end += 1
        locked = append_entries(tx, kind, [row for _kind, row in entries[start:end]], locked)
        start = end


def move_card_and_append(
    db: Driver,
    nik: str,
    old_version: int,
    event: dict[str, Any],
    lifecycle: Lifecycle,
    locked: tuple[int, str],
    written: dt.datetime,
    commit: bool,
    entries: Sequence[tuple[str, dict[str, Any]]] = (),
    joins_queue: bool = False,
) -> None:
    """A single transition: move the card (from ``old_version`` to the event's state and
    version), append its one event after the head ``locked``, then the entries its
    effects made (``(kind, row)``: ledger entries, resident data). With ``joins_queue``
    the card's place in the queue runs from the event (``cards.queued_at``).

    On PostgreSQL the card's UPDATE, the event's INSERT and the head's UPDATE are one
    statement (data-modifying CTEs), one round trip instead of three; with ``commit`` it
    is the transaction's last and carries the COMMIT (see ``roundtrips``), unless this
    transaction stored the lifecycle: a fire refused after it must leave nothing.

    :raises ConcurrencyError: the card was not at ``old_version`` (only a writer that
        ignores the card's lock gets here); nothing is written.
    """
    move = {
        "card_id": event["card_id"],
        "old_version": old_version,
        "state": event["to_state"],
        "updated_at": event["occurred_at"],
    }
    if db.dialect.name == "postgresql":
        lifecycles.remember(db, lifecycle)
        chain([event], locked[0], locked[1], written)
        last = commit and not entries and not lifecycles.stored_by_this_transaction(db)
        statement = _MOVE_AND_APPEND[joins_queue]
        moved = statement.first(db, {**event, **move}, commit=last)[0]  # type: ignore[index]
    else:
        moved = _MOVE_CARD[joins_queue].rowcount(db, {**move, "version": event["version"]})
        if moved == 1:
            append(db, [event], lifecycle, locked, written)
    if moved != 1:
        raise ConcurrencyError(nik, old_version, None)
    if entries:
        append_kinds(db, entries, (event["seq"], event["hash"]))


def lock_head(tx: Connection | Driver) -> tuple[int, str]:
    """Take the chain-head lock now, before any card: every writer takes it first, so
    writers never wait for each other in a cycle (no deadlocks), and an allocation run
    plans and writes as one step. Returns the head (sequence number, hash)."""
    locked = _LOCK_HEAD.first(tx, {})
    if locked is None:  # the migration writes the one row
        raise HeadMissing()
    return locked[0], locked[1]


def head(tx: Connection | Driver) -> tuple[int, str]:
    """The chain head: the last sequence number and its hash (0 and the genesis hash if empty).

    :raises HeadMissing: the head's row is gone (a damaged or tampered database).
    """
    found = _READ_HEAD.first(tx, {})
    if found is None:
        raise HeadMissing()
    return found[0], found[1]


class HeadMissing(DatabaseError):
    """The chain head's row (``event_chain``) is missing: nothing can be appended."""

    def __init__(self) -> None:
        super().__init__(
            _(
                "the chain head (the one row of table event_chain) is missing: the database was damaged or "
                "tampered with; nothing can be written until it is restored from a backup"
            )
        )


def written(event: dict[str, Any], nik: str) -> Event:
    """The ``Event`` an appended row (with its ``seq``, ``recorded_at`` and ``hash``) is, as
    read back: times in UTC."""
    occurred, recorded = event["occurred_at"], event["recorded_at"]
    utc = occurred.astimezone(dt.UTC)
    return Event(
        event["seq"],
        nik,
        event["version"],
        event["trigger"],
        event["from_state"],
        event["to_state"],
        event["actor"],
        event["reason"],
        utc,
        utc if recorded is occurred else recorded.astimezone(dt.UTC),
        event["lifecycle_hash"],
        event["idempotency_key"],
        event["rule_set_version"],
        event["batch_id"],
    )


# -- reading events back ---------------------------------------------------------------

EVENT_COLUMNS = (
    events.c.seq,
    residents.c.nik,
    events.c.version,
    events.c.trigger,
    events.c.from_state,
    events.c.to_state,
    events.c.actor,
    events.c.reason,
    events.c.occurred_at,
    events.c.recorded_at,
    events.c.lifecycle_hash,
    events.c.idempotency_key,
    events.c.rule_set_version,
    events.c.batch_id,
)
EVENT_FROM = events.join(residents, events.c.card_id == residents.c.id)
_EVENTS = sa.select(*EVENT_COLUMNS).select_from(EVENT_FROM).order_by(events.c.seq)


def with_key(tx: Connection, key: str) -> Event | None:
    """The event written with this idempotency key, if any."""
    row = tx.execute(_EVENTS.where(events.c.idempotency_key == key)).first()
    return None if row is None else _event(row)


def of_card(tx: Connection, nik: str) -> list[Event]:
    """Every event of the card of ``nik``, oldest first."""
    return [_event(row) for row in tx.execute(_EVENTS.where(residents.c.nik == nik))]


def after(tx: Connection, seq: int, limit: int) -> list[Event]:
    """Events with a sequence number above ``seq``, in order, at most ``limit``."""
    return [_event(row) for row in tx.execute(_EVENTS.where(events.c.seq > seq).limit(limit))]


def _event(row: Any) -> Event:
    return Event(*row)


def count_of_batch(tx: Connection, batch_id: str) -> int:
    """Events a run (a bulk job) has written so far."""
    return int(tx.scalar(sa.select(sa.func.count()).select_from(events).where(events.c.batch_id == batch_id)) or 0)


# -- statements --------------------------------------------------------------------------

_HEAD = sa.select(event_chain.c.last_seq, event_chain.c.last_hash).where(event_chain.c.id == 1)
# The statements every append runs go through the driver (see DriverStatement).
_LOCK_HEAD = DriverStatement(_HEAD.with_for_update())
_READ_HEAD = DriverStatement(_HEAD)
_MOVE_HEAD = DriverStatement(
    event_chain.update()
    .where(event_chain.c.id == 1)
    .values(last_seq=sa.bindparam("seq"), last_hash=sa.bindparam("hash"))
)
_INSERT = DriverStatement(events.insert())
_COLUMNS = tuple(c.name for c in events.columns)
_ROW = operator.itemgetter(*_COLUMNS)


def _card_move(joins_queue: bool) -> sa.Update:
    moved = (
        cards.update()
        .where(cards.c.id == sa.bindparam("card_id"), cards.c.version == sa.bindparam("old_version"))
        .values(state=sa.bindparam("state"), version=sa.bindparam("version"), updated_at=sa.bindparam("updated_at"))
    )
    return moved.values(queued_at=sa.bindparam("updated_at")) if joins_queue else moved


#: The card's UPDATE, by whether the card joins the queue (its place runs from the event).
_MOVE_CARD = {joins: DriverStatement(_card_move(joins)) for joins in (False, True)}
_INSERT_ENTRY = {
    kind: (DriverStatement(table.insert()), tuple(c.name for c in table.columns))
    for kind, table in ENTRY_TABLES.items()
}


def _move_and_append(joins_queue: bool) -> sa.Select[Any]:
    """For PostgreSQL: the card's UPDATE, its event's INSERT and the chain head's UPDATE as
    one statement. Returns how many cards moved (0 or 1); when none did, nothing else is
    written either."""
    moved = _card_move(joins_queue).returning(cards.c.id).cte("moved")
    values = [moved.c.id if c.name == "card_id" else sa.bindparam(c.name, type_=c.type) for c in events.columns]
    logged = (
        events.insert()
        .from_select([c.name for c in events.columns], sa.select(*values))
        .returning(events.c.seq)
        .cte("logged")
    )
    moved_head = (
        event_chain.update()
        .where(event_chain.c.id == 1, sa.exists(sa.select(logged.c.seq)))
        .values(last_seq=sa.bindparam("seq"), last_hash=sa.bindparam("hash"))
        .cte("head")
    )
    return sa.select(sa.func.count()).select_from(moved).add_cte(moved_head)


_MOVE_AND_APPEND = {joins: DriverStatement(_move_and_append(joins)) for joins in (False, True)}


def _insert(tx: Connection | Driver, rows: Sequence[dict[str, Any]]) -> None:
    """Insert events through the driver: a few one by one, many at once (COPY on PostgreSQL)."""
    if len(rows) < MANY:
        for row in rows:
            _INSERT.rowcount(tx, row)
    else:
        assert isinstance(tx, Connection), "many events are appended on a Connection"
        copy_rows(tx, "events", _COLUMNS, map(_ROW, rows))
