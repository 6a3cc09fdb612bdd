"""Residents and their cards as registration writes them, and the flags effects change."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .._residents import RESIDENT_FIELDS, ValidResident
from ..records import ResidentVersion
from ..text import search_key
from .driver import DriverStatement, copy_rows
from .schema import resident_entries, residents


class StoredResident(NamedTuple):
    """A registered resident: the card's id and the data compared on a re-import
    (``RESIDENT_FIELDS``, in order)."""

    id: int
    data: tuple[Any, ...]


#: A resident's data as a resident entry keeps it, whole (a ``ValidResident``'s fields).
DATA = ValidResident._fields
_RESIDENT_COLUMNS = ("id", *DATA, "registered_at", "name_key")

_STORED = DriverStatement(
    sa.select(residents.c.id, residents.c.nik, *(residents.c[f] for f in RESIDENT_FIELDS)).where(
        residents.c.nik.in_(sa.bindparam("niks", expanding=True))
    )
)


def stored(tx: Connection, niks: list[str]) -> dict[str, StoredResident]:
    """The residents already registered under these NIKs, by NIK."""
    if not niks:
        return {}
    return {row[1]: StoredResident(row[0], tuple(row[2:])) for row in _STORED.all(tx, {"niks": niks})}


def insert(tx: Connection, new: Sequence[ValidResident], at: dt.datetime, initial_state: str) -> list[int]:
    """Register residents, each with a card in ``initial_state`` at version 1; return
    their ids (each card shares its resident's id), in order."""
    ids = _new_ids(tx, len(new))
    copy_rows(
        tx,
        "residents",
        _RESIDENT_COLUMNS,
        [
            (
                i,
                r.nik,
                r.name,
                r.kecamatan,
                r.birth_date,
                r.sex,
                r.had_ektp,
                r.disaster_victim,
                r.suket,
                at,
                search_key(r.name),
            )
            for i, r in zip(ids, new, strict=True)
        ],
    )
    copy_rows(tx, "cards", ("id", "state", "version", "updated_at"), [(i, initial_state, 1, at) for i in ids])
    return ids


def entry_rows(
    ids: Sequence[int], new: Sequence[ValidResident], actor: str, reasons: Sequence[str | None], at: dt.datetime
) -> list[dict[str, Any]]:
    """The ``registered`` resident entries (``eventlog.append_entries``) of residents
    ``insert`` just wrote."""
    keys = ("resident_id", "change", *DATA, "actor", "reason", "occurred_at", "evidence")
    return [
        dict(zip(keys, (i, "registered", *r, actor, reason, at, None), strict=True))
        for i, r, reason in zip(ids, new, reasons, strict=True)
    ]


_DATA = DriverStatement(sa.select(*(residents.c[name] for name in DATA)).where(residents.c.id == sa.bindparam("id")))


def mark_ektp_holder(
    tx: Connection, card_id: int, actor: str, reason: str | None, at: dt.datetime
) -> dict[str, Any] | None:
    """The resident of this card now holds an e-KTP: a later card is a replacement.
    Returns the resident entry to append (None if they held one already)."""
    data = data_of(tx, card_id)
    assert data is not None, f"card {card_id} has no resident"
    if data["had_ektp"]:
        return None
    tx.execute(residents.update().where(residents.c.id == card_id).values(had_ektp=True))
    changed = {**data, "had_ektp": True}
    return _entry(card_id, "holder", changed, actor, reason, at)


def versions(tx: Connection, nik: str) -> list[ResidentVersion]:
    """Every resident entry of the resident of ``nik``, oldest first."""
    e = resident_entries.c
    query = (
        sa.select(e.seq, e.change, e.occurred_at, e.actor, e.reason, e.evidence, *(e[name] for name in DATA))
        .join(residents, residents.c.id == e.resident_id)
        .where(residents.c.nik == nik)
        .order_by(e.seq)
    )
    return [
        ResidentVersion(row[0], row[1], row[2], row[3], row[4], row[5], dict(zip(DATA, row[6:], strict=True)))
        for row in tx.execute(query)
    ]


def became_holder(tx: Connection, card_id: int) -> bool:
    """Whether the resident became an e-KTP holder here (a ``holder`` entry: a collected card)."""
    e = resident_entries.c
    query = sa.select(e.seq).where(e.resident_id == card_id, e.change == "holder").limit(1)
    return tx.scalar(query) is not None


def data_of(tx: Connection, card_id: int) -> dict[str, Any] | None:
    """The resident's data (``DATA``) as stored, or None."""
    row = _DATA.first(tx, {"id": card_id})
    return None if row is None else dict(zip(DATA, row, strict=True))


def correct(
    tx: Connection,
    card_id: int,
    data: dict[str, Any],
    actor: str,
    reason: str,
    evidence: str | None,
    at: dt.datetime,
) -> dict[str, Any]:
    """Store the resident's corrected data (every field of ``DATA``); return the
    ``corrected`` resident entry to append."""
    values = {name: data[name] for name in DATA if name != "nik"}
    tx.execute(residents.update().where(residents.c.id == card_id).values(**values, name_key=search_key(data["name"])))
    return {**_entry(card_id, "corrected", data, actor, reason, at), "evidence": evidence}


def _entry(
    card_id: int, change: str, data: dict[str, Any], actor: str, reason: str | None, at: dt.datetime
) -> dict[str, Any]:
    return {
        "resident_id": card_id,
        "change": change,
        **{name: data[name] for name in DATA},
        "actor": actor,
        "reason": reason,
        "occurred_at": at,
        "evidence": None,
    }


def _new_ids(tx: Connection, count: int) -> list[int]:
    """``count`` fresh resident ids, increasing."""
    if tx.dialect.name == "postgresql":
        return list(
            tx.scalars(
                sa.text("SELECT nextval(pg_get_serial_sequence('residents', 'id')) FROM generate_series(1, :n)"),
                {"n": count},
            )
        )
    # SQLite: the transaction holds the database's write lock, so no one else takes ids.
    last = tx.scalar(sa.select(sa.func.coalesce(sa.func.max(residents.c.id), 0))) or 0
    return list(range(last + 1, last + 1 + count))
