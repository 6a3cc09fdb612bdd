"""Registering residents: validated as a whole, written in chunks, all or nothing."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import eventlog
from .database import copy_rows
from .errors import ProblemList, RowProblem, WorkflowError
from .records import REGISTER
from .residents import ResidentRecord, ValidResident, validate_resident
from .schema import residents
from .seen import SeenNiks
from .states import Lifecycle

CHUNK = 2000


@dataclass(frozen=True)
class Registration:
    """What a registration did."""

    #: residents newly registered, each with a card in the initial state.
    added: int
    #: residents already registered with the same data, left as they were.
    unchanged: int


def register_residents(
    conn: Connection,
    numbered: Iterable[tuple[int, ResidentRecord | RowProblem]],
    actor: str,
    at: dt.datetime,
    lifecycle: Lifecycle,
    source: str,
    progress: Callable[[int], None] | None = None,
) -> Registration:
    """Validate and write residents inside the caller's transaction.

    Every record is checked even after a problem is found, so that all bad lines are
    reported at once; once there is a problem nothing more is written and the
    ``InputFileError`` raised rolls back what was.

    Memory stays flat whatever the size of the file: the NIKs seen so far, with
    their lines, are kept in a temporary table of the transaction, not in memory.
    Each registration event records the import (its batch id) and the line.

    :raises InputFileError: listing the bad lines (the first ``MAX_PROBLEMS``) and their count.
    """
    eventlog.lock_head(conn)  # every writer takes the chain head first: one lock order
    problems = ProblemList()
    batch = f"registration-{uuid.uuid4().hex[:12]}"
    seen = SeenNiks(conn, batch)
    origin = Path(source).name or source
    added = unchanged = 0
    for chunk in _chunks(numbered):
        checked = _validate(chunk, problems, at.date())
        firsts = set(seen.first_lines([(line, r.nik) for line, r in checked], problems))
        valid = [(line, r) for line, r in checked if line in firsts]
        new = _not_yet_registered(conn, valid, problems)
        unchanged += len(valid) - len(new)
        if not problems and new:
            _insert(conn, new, actor, at, lifecycle, origin, batch)
            added += len(new)
        if progress is not None:
            progress(len(chunk))
    if problems:
        raise problems.error(source)
    seen.drop()
    return Registration(added, unchanged)


def _chunks(numbered: Iterable[Any]) -> Iterator[list[Any]]:
    iterator = iter(numbered)
    while chunk := list(itertools.islice(iterator, CHUNK)):
        yield chunk


def _validate(
    chunk: list[tuple[int, Any]], problems: ProblemList, today: dt.date
) -> list[tuple[int, ValidResident]]:
    valid = []
    for line, item in chunk:
        if isinstance(item, RowProblem):
            problems.append(item)
            continue
        try:
            valid.append((line, validate_resident(item, today)))
        except WorkflowError as err:
            problems.append(RowProblem(line, str(err)))
    return valid


_FIELDS = ("name", "kecamatan", "birth_date", "had_ektp", "disaster_victim", "suket")


def _not_yet_registered(
    conn: Connection, valid: list[tuple[int, ValidResident]], problems: ProblemList
) -> list[tuple[int, ValidResident]]:
    if not valid:
        return []
    query = sa.select(*(residents.c[f] for f in ("nik", *_FIELDS))).where(
        residents.c.nik.in_([v.nik for _, v in valid])
    )
    known = {row.nik: row for row in conn.execute(query)}
    new = []
    for line, resident in valid:
        stored = known.get(resident.nik)
        if stored is None:
            new.append((line, resident))
            continue
        differences = [
            f"{field} (stored {getattr(stored, field)!s}, file {getattr(resident, field)!s})"
            for field in _FIELDS
            if getattr(stored, field) != getattr(resident, field)
        ]
        if differences:
            problems.append(
                RowProblem(line, f"NIK {resident.nik} is already registered with a different {'; '.join(differences)}")
            )
    return new


def _insert(
    conn: Connection, new: list[tuple[int, ValidResident]], actor: str, at: dt.datetime, lifecycle: Lifecycle,
    origin: str, batch: str,
) -> None:
    ids = _new_ids(conn, len(new))
    copy_rows(conn, "residents", _RESIDENT_COLUMNS, [
        (i, r.nik, r.name, r.kecamatan, r.birth_date, r.sex, r.had_ektp, r.disaster_victim, r.suket, at)
        for i, (_, r) in zip(ids, new)
    ])
    copy_rows(conn, "cards", ("id", "state", "version", "updated_at"), [(i, lifecycle.initial, 1, at) for i in ids])
    eventlog.append(
        conn,
        [
            {
                "card_id": i, "version": 1, "trigger": REGISTER, "from_state": None,
                "to_state": lifecycle.initial, "actor": actor, "reason": f"line {line} of {origin}",
                "occurred_at": at, "lifecycle_hash": lifecycle.hash, "idempotency_key": None,
                "rule_set_version": None, "batch_id": batch,
            }
            for i, (line, _) in zip(ids, new)
        ],
        lifecycle,
    )


_RESIDENT_COLUMNS = (
    "id", "nik", "name", "kecamatan", "birth_date", "sex", "had_ektp", "disaster_victim", "suket", "registered_at",
)


def _new_ids(conn: Connection, count: int) -> list[int]:
    """``count`` fresh resident ids (each card shares its resident's id)."""
    if conn.dialect.name == "postgresql":
        return list(conn.scalars(
            sa.text("SELECT nextval(pg_get_serial_sequence('residents', 'id')) FROM generate_series(1, :n)"),
            {"n": count},
        ))
    # SQLite: the transaction holds the database's write lock, so no one else takes ids.
    last = conn.scalar(sa.select(sa.func.coalesce(sa.func.max(residents.c.id), 0)))
    return list(range(last + 1, last + 1 + count))
