"""Lifecycle definitions stored under their hash, so that replay folds every event
through the table it was written with.

A process remembers which hashes the database holds (they are append-only: once
stored, they stay), so that a write does not look one up every time. A hash stored
by a transaction still open is not held yet: if that transaction rolls back, the next
write must store it again.
"""

from __future__ import annotations

import json
import weakref

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..clock import now
from ..states import Lifecycle
from .driver import Driver, DriverStatement
from .schema import lifecycles

# Lifecycle hashes seen stored and committed, by engine (its dialect).
_STORED: weakref.WeakKeyDictionary[sa.Dialect, set[str]] = weakref.WeakKeyDictionary()
# Under this key of a connection's ``info``: the lifecycle hashes its open transaction
# inserted. Found again in that transaction, they are not committed, so not known stored.
_PENDING = "ektp_workflow.pending_lifecycles"

_KNOWN = DriverStatement(sa.select(lifecycles.c.hash).where(lifecycles.c.hash == sa.bindparam("hash")))
_STORE = DriverStatement(lifecycles.insert())


def remember(tx: Connection | Driver, lifecycle: Lifecycle) -> None:
    """Store the lifecycle definition under its hash, once, so replay can use it later."""
    dialect = tx.dialect
    if lifecycle.hash in _STORED.get(dialect, ()):
        return
    db = Driver.of(tx)
    if _KNOWN.first(db, {"hash": lifecycle.hash}) is not None:
        if lifecycle.hash not in db.info.get(_PENDING, ()):  # committed by an earlier transaction
            _STORED.setdefault(dialect, set()).add(lifecycle.hash)
        return
    _STORE.rowcount(
        db,
        {
            "hash": lifecycle.hash,
            "name": lifecycle.name,
            "definition": definition_json(lifecycle),
            "first_used_at": now(),
        },
    )
    db.info.setdefault(_PENDING, set()).add(lifecycle.hash)


def stored_by_this_transaction(db: Driver) -> bool:
    """Whether the connection's open transaction stored a lifecycle definition."""
    return bool(db.info.get(_PENDING))


def transaction_started(db: Driver) -> None:
    """Forget what an earlier transaction on the connection left pending: one that ended
    without ``transaction_ended`` (a caller's, rolled back) must not count as stored."""
    db.info.pop(_PENDING, None)


def transaction_ended(db: Driver, committed: bool) -> None:
    """The connection's transaction ended: the lifecycles it stored are now stored for
    good, or not at all. (Where this is not called, as for a caller's own transaction,
    they are only looked up again.)"""
    pending = db.info.pop(_PENDING, None)
    if pending and committed:
        _STORED.setdefault(db.dialect, set()).update(pending)


def definition(tx: Connection, hash_: str) -> str | None:
    """The stored definition (JSON) of the lifecycle with this hash, or None."""
    return tx.scalar(sa.select(lifecycles.c.definition).where(lifecycles.c.hash == hash_))


def definition_json(lifecycle: Lifecycle) -> str:
    """The lifecycle as JSON data that ``states.lifecycle_from_dict`` reads back."""
    data = {
        "name": lifecycle.name,
        "initial": lifecycle.initial,
        "states": {
            n: {"label": s.label, "siak": s.siak, "exceptional": s.exceptional, "terminal": s.terminal}
            for n, s in lifecycle.states.items()
        },
        "transitions": [
            {
                "trigger": t.trigger,
                "source": t.source,
                "dest": t.dest,
                "guards": list(t.guards),
                "effects": list(t.effects),
                "help": t.help,
                **({"keeps_place": True} if t.keeps_place else {}),
            }
            for t in lifecycle.transitions
        ],
    }
    return json.dumps(data, sort_keys=True)
