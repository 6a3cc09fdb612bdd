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
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .clock import now
from .schema import event_chain, events, lifecycles
from .states import Lifecycle

GENESIS = "0" * 64
#: The fields an event's hash covers, in encoding order.
HASHED_FIELDS = (
    "seq", "card_id", "version", "trigger", "from_state", "to_state", "actor", "reason",
    "occurred_at", "recorded_at", "lifecycle_hash", "idempotency_key", "rule_set_version", "batch_id",
)

_HEAD = sa.select(event_chain.c.last_seq, event_chain.c.last_hash).where(event_chain.c.id == 1)


def canonical(event: Mapping[str, Any]) -> bytes:
    """The bytes an event's hash covers: its fields in a fixed order, times as UTC."""
    values = [_plain(event.get(name)) for name in HASHED_FIELDS]
    return json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def chain_hash(previous: str, event: Mapping[str, Any]) -> str:
    """The hash of ``event`` following an event whose hash is ``previous``."""
    return hashlib.sha256(previous.encode("ascii") + b"\n" + canonical(event)).hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def append(conn: Connection, rows: Sequence[dict[str, Any]], lifecycle: Lifecycle) -> list[int]:
    """Number, chain and insert events in the caller's transaction; return their seqs.

    Each row holds every event column but ``seq``, ``recorded_at`` and ``hash``; its
    ``lifecycle_hash`` is ``lifecycle``'s, which is stored too if it is new.
    """
    if not rows:
        return []
    remember_lifecycle(conn, lifecycle)
    last_seq, last_hash = conn.execute(_HEAD.with_for_update()).one()
    written = now()
    for row in rows:
        last_seq += 1
        row["seq"], row["recorded_at"] = last_seq, written
        row["hash"] = last_hash = chain_hash(last_hash, row)
    conn.execute(events.insert(), list(rows))
    conn.execute(event_chain.update().where(event_chain.c.id == 1).values(last_seq=last_seq, last_hash=last_hash))
    return [row["seq"] for row in rows]


def head(conn: Connection) -> tuple[int, str]:
    """The chain head: the last sequence number and its hash (0 and the genesis hash if empty)."""
    return tuple(conn.execute(_HEAD).one())  # type: ignore[return-value]


_KNOWN_LIFECYCLE = sa.select(lifecycles.c.hash).where(lifecycles.c.hash == sa.bindparam("hash"))


def remember_lifecycle(conn: Connection, lifecycle: Lifecycle) -> None:
    """Store the lifecycle definition under its hash, once, so replay can use it later."""
    known = conn.scalar(_KNOWN_LIFECYCLE, {"hash": lifecycle.hash})
    if known is None:
        conn.execute(
            lifecycles.insert().values(
                hash=lifecycle.hash, name=lifecycle.name, definition=definition_json(lifecycle),
                first_used_at=now(),
            )
        )


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
