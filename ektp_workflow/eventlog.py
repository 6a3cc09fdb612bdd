"""Appending to the event log: sequence numbers and the hash chain.

Each event's ``hash`` is SHA-256 over the previous event's hash and the event's
canonical encoding (a JSON array of its fields in a fixed order, times in UTC with
microseconds). Changing, removing, inserting or reordering any row changes every
hash after it, so ``audit verify`` finds the first bad row; an auditor who keeps a
checkpoint (a sequence number and its hash) outside the system can also detect a
rewritten history or a truncated tail.

Appending locks the single row of ``event_chain``: writers take turns, sequence
numbers are gapless, and they commit in order.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import operator
import weakref
from collections.abc import Mapping, Sequence
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .clock import now
from .database import Driver, DriverStatement, copy_rows, utc_text
from .schema import event_chain, events, lifecycles
from .states import Lifecycle

GENESIS = "0" * 64
#: The fields an event's hash covers, in encoding order.
HASHED_FIELDS = (
    "seq", "card_id", "version", "trigger", "from_state", "to_state", "actor", "reason",
    "occurred_at", "recorded_at", "lifecycle_hash", "idempotency_key", "rule_set_version", "batch_id",
)

_HEAD = sa.select(event_chain.c.last_seq, event_chain.c.last_hash).where(event_chain.c.id == 1)
# The statements every append runs go through the driver (see DriverStatement).
_LOCK_HEAD = DriverStatement(_HEAD.with_for_update())
_MOVE_HEAD = DriverStatement(
    event_chain.update()
    .where(event_chain.c.id == 1)
    .values(last_seq=sa.bindparam("seq"), last_hash=sa.bindparam("hash"))
)
_INSERT = DriverStatement(events.insert())
# Lifecycle hashes seen stored and committed, by engine (its dialect): lifecycles are
# append-only, so once stored they stay; checking again would cost a query per write.
_STORED: weakref.WeakKeyDictionary[sa.Dialect, set[str]] = weakref.WeakKeyDictionary()
# Under this key of a connection's ``info``: the lifecycle hashes its open transaction
# inserted. Found again in that transaction, they are not committed, so not known stored.
_PENDING = "ektp_workflow.pending_lifecycles"


def canonical(event: Mapping[str, Any]) -> bytes:
    """The bytes an event's hash covers: its fields in a fixed order, times as UTC."""
    return canonical_values([event.get(name) for name in HASHED_FIELDS])


def canonical_values(values: Sequence[Any]) -> bytes:
    """``canonical`` for the values of ``HASHED_FIELDS``, in that order."""
    plain = list(values)
    for i in _TIMES:  # no other field holds a time
        if isinstance(plain[i], dt.datetime):
            plain[i] = _utc_text(plain[i])
    return _encode_list(plain).encode("utf-8")


# What json.dumps(..., ensure_ascii=False, separators=(",", ":")) makes, built once.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
# For a list, what _ENCODER.encode makes, without building the C encoder on each call (as
# encode does: half its time for one event). No circular check: a list of plain values.
_LIST_ENCODER = c_make_encoder and c_make_encoder(
    None, _ENCODER.default, encode_basestring, None, ":", ",", False, False, True
)


def _encode_list(values: list[Any]) -> str:
    if _LIST_ENCODER is None:  # pragma: no cover - CPython has the C encoder
        return _ENCODER.encode(values)
    return "".join(_LIST_ENCODER(values, 0))


_HASHED = operator.itemgetter(*HASHED_FIELDS)
_TIMES = (HASHED_FIELDS.index("occurred_at"), HASHED_FIELDS.index("recorded_at"))
_REASON = HASHED_FIELDS.index("reason")
# The fields the events of one append mostly share: after seq, card_id and version, but the reason.
_SHARED_FIELDS = (*HASHED_FIELDS[3:_REASON], *HASHED_FIELDS[_REASON + 1:])
_SHARED = operator.itemgetter(*_SHARED_FIELDS)
_PLAIN = (str, type(None), dt.datetime)
_SHARED_TIMES = (_SHARED_FIELDS.index("occurred_at"), _SHARED_FIELDS.index("recorded_at"))


def _fields_json(shared: Sequence[Any], start: int, stop: int) -> str:
    """``_SHARED`` values ``start`` to ``stop`` as they appear, comma-separated, inside the
    canonical JSON array (times converted where ``canonical_values`` converts them)."""
    encoded = []
    for i in range(start, stop):
        value = shared[i]
        if i in _SHARED_TIMES and isinstance(value, dt.datetime):
            value = _utc_text(value)
        encoded.append(_ENCODER.encode(value))
    return ",".join(encoded)


def chain_hash(previous: str, event: Mapping[str, Any]) -> str:
    """The hash of ``event`` following an event whose hash is ``previous``."""
    return hashlib.sha256(previous.encode("ascii") + b"\n" + canonical(event)).hexdigest()


def chain_hash_values(previous: str, values: Sequence[Any]) -> str:
    """``chain_hash`` for the values of ``HASHED_FIELDS``, in that order (a row read back)."""
    return hashlib.sha256(previous.encode("ascii") + b"\n" + canonical_values(values)).hexdigest()


def _utc_text(value: dt.datetime) -> str:
    return utc_text(value, "T") + "Z"


def append(
    conn: Connection | Driver, rows: Sequence[dict[str, Any]], lifecycle: Lifecycle,
    locked: tuple[int, str] | None = None, written: dt.datetime | None = None,
) -> list[int]:
    """Number, chain and insert events in the caller's transaction; return their seqs.

    Each row holds every event column but ``seq``, ``recorded_at`` and ``hash``; its
    ``lifecycle_hash`` is ``lifecycle``'s, which is stored too if it is new.

    :param locked: the head ``lock_head`` returned in this transaction, if nothing
        was appended since (saves reading it again).
    :param written: their ``recorded_at`` (default now).
    """
    if not rows:
        return []
    remember_lifecycle(conn, lifecycle)
    last_seq, last_hash = locked or lock_head(conn)
    last_seq, last_hash = chain(rows, last_seq, last_hash, written or now())
    _insert(conn, rows)
    _MOVE_HEAD.rowcount(conn, {"seq": last_seq, "hash": last_hash})
    return [row["seq"] for row in rows]


def chain(rows: Sequence[dict[str, Any]], last_seq: int, last_hash: str, written: dt.datetime) -> tuple[int, str]:
    """Give each row its ``seq``, ``recorded_at`` and ``hash``, following the head
    ``(last_seq, last_hash)``; return the new head. The hash is ``chain_hash``'s.

    The events of a chunk differ mostly in their integers and reason: the encoding of
    the fields they share is made once per distinct value (and type) and reused.
    """
    shared: dict[tuple[Any, ...], tuple[str, str]] = {}
    # The last key whose values are strings, None and times only: a key equal to it has
    # the same encoding (an equal number may be another type: 1, 1.0 and True).
    same_key: tuple[Any, ...] | None = None
    same_parts = ("", "")
    one = len(rows) == 1  # nothing to share: the plain encoding is cheaper
    fixed = type(written.tzinfo) is dt.timezone
    for row in rows:
        last_seq += 1
        row["seq"], row["recorded_at"] = last_seq, written
        card_id, version, reason = row["card_id"], row["version"], row["reason"]
        if one or type(card_id) is not int or type(version) is not int or not (reason is None or type(reason) is str):
            row["hash"] = last_hash = chain_hash_values(last_hash, _HASHED(row))
            continue
        key = _SHARED(row)
        if key == same_key:
            parts = same_parts
        elif fixed and type(row["occurred_at"].tzinfo) is dt.timezone:
            typed = (key, tuple(map(type, key)))  # 1, 1.0 and True are equal keys, not equal JSON
            parts = shared.get(typed)  # type: ignore[assignment]
            if parts is None:
                parts = shared[typed] = (_fields_json(key, 0, _REASON - 3), _fields_json(key, _REASON - 3, len(key)))
            if all(type(value) in _PLAIN for value in key):
                same_key, same_parts = key, parts
        else:  # a zone with folds compares by wall clock: equal keys for different instants
            row["hash"] = last_hash = chain_hash_values(last_hash, _HASHED(row))
            continue
        reason_json = "null" if reason is None else encode_basestring(reason)
        text = f"{last_hash}\n[{last_seq},{card_id},{version},{parts[0]},{reason_json},{parts[1]}]"
        row["hash"] = last_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return last_seq, last_hash


_COLUMNS = tuple(c.name for c in events.columns)


def _insert(conn: Connection | Driver, rows: Sequence[dict[str, Any]]) -> None:
    """Insert events through the driver: a few one by one, many at once (COPY on PostgreSQL)."""
    if len(rows) < 50:
        for row in rows:
            _INSERT.rowcount(conn, row)
    else:
        assert isinstance(conn, Connection), "many events are appended on a Connection"
        copy_rows(conn, "events", _COLUMNS, map(_ROW, rows))


_ROW = operator.itemgetter(*_COLUMNS)


def lock_head(conn: Connection | Driver) -> tuple[int, str]:
    """Take the chain-head lock now, before any card: every writer takes it first, so
    writers never wait for each other in a cycle (no deadlocks), and an allocation run
    plans and writes as one step. Returns the head (sequence number, hash)."""
    head = _LOCK_HEAD.first(conn, {})
    assert head is not None  # the migration writes the one row
    return head  # type: ignore[return-value]


def head(conn: Connection) -> tuple[int, str]:
    """The chain head: the last sequence number and its hash (0 and the genesis hash if empty)."""
    return tuple(conn.execute(_HEAD).one())  # type: ignore[return-value]


_KNOWN_LIFECYCLE = DriverStatement(sa.select(lifecycles.c.hash).where(lifecycles.c.hash == sa.bindparam("hash")))
_STORE_LIFECYCLE = DriverStatement(lifecycles.insert())


def remember_lifecycle(conn: Connection | Driver, lifecycle: Lifecycle) -> None:
    """Store the lifecycle definition under its hash, once, so replay can use it later."""
    dialect = conn.dialect
    if lifecycle.hash in _STORED.get(dialect, ()):
        return
    db = Driver.of(conn)
    if _KNOWN_LIFECYCLE.first(db, {"hash": lifecycle.hash}) is not None:
        if lifecycle.hash not in db.info.get(_PENDING, ()):  # committed by an earlier transaction
            _STORED.setdefault(dialect, set()).add(lifecycle.hash)
        return
    _STORE_LIFECYCLE.rowcount(db, {
        "hash": lifecycle.hash, "name": lifecycle.name, "definition": definition_json(lifecycle),
        "first_used_at": now(),
    })
    db.info.setdefault(_PENDING, set()).add(lifecycle.hash)


def stored_lifecycle(db: Driver) -> bool:
    """Whether the connection's open transaction stored a lifecycle definition."""
    return bool(db.info.get(_PENDING))


def transaction_started(db: Driver) -> None:
    """Forget what an earlier transaction on the connection left pending: one that ended
    without ``transaction_ended`` (a caller's, rolled back) must not count as stored."""
    db.info.pop(_PENDING, None)


def transaction_ended(db: Driver, committed: bool) -> None:
    """Tell the lifecycle cache that the connection's transaction ended: the lifecycles it
    stored are now stored for good, or not at all. (Where this is not called, as for a
    caller's own transaction, they are only looked up again.)"""
    pending = db.info.pop(_PENDING, None)
    if pending and committed:
        _STORED.setdefault(db.dialect, set()).update(pending)


def definition_json(lifecycle: Lifecycle) -> str:
    """The lifecycle as JSON data that ``lifecycle_from_dict`` reads back."""
    data = {
        "name": lifecycle.name,
        "initial": lifecycle.initial,
        "states": {
            n: {"label": s.label, "siak": s.siak, "exceptional": s.exceptional, "terminal": s.terminal}
            for n, s in lifecycle.states.items()
        },
        "transitions": [
            {"trigger": t.trigger, "source": t.source, "dest": t.dest, "guards": list(t.guards),
             "effects": list(t.effects), "help": t.help}
            for t in lifecycle.transitions
        ],
    }
    return json.dumps(data, sort_keys=True)
