"""Registering residents: validated as a whole, written in chunks, all or nothing."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import eventlog
from .errors import InputFileError, RowProblem, WorkflowError
from .records import REGISTER
from .residents import ResidentRecord, ValidResident, validate_resident
from .schema import events, residents
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
    reported at once; if there is a problem the ``InputFileError`` raised rolls back
    everything written.

    Memory stays flat whatever the size of the file: a NIK seen on an earlier line is
    found in the database, where that line's resident was written in this same
    transaction (its registration event carries this import's batch id and the line);
    within a chunk, by a dict of the chunk's NIKs.

    :raises InputFileError: listing every bad line.
    """
    problems: list[RowProblem] = []
    batch = f"registration-{uuid.uuid4().hex[:12]}"
    added = unchanged = 0
    for chunk in _chunks(numbered):
        valid = _validate(chunk, problems, at.date())
        new, same = _not_yet_registered(conn, valid, batch, problems)
        if new:
            _insert(conn, new, actor, at, lifecycle, source, batch)
            added += len(new)
        unchanged += same
        if progress is not None:
            progress(len(chunk))
    if problems:
        raise InputFileError(source, sorted(problems, key=lambda p: p.line))
    return Registration(added, unchanged)


def _chunks(numbered: Iterable[Any]) -> Iterator[list[Any]]:
    iterator = iter(numbered)
    while chunk := list(itertools.islice(iterator, CHUNK)):
        yield chunk


def _validate(
    chunk: list[tuple[int, Any]], problems: list[RowProblem], today: dt.date
) -> list[tuple[int, ValidResident]]:
    valid = []
    seen: dict[str, int] = {}
    for line, item in chunk:
        if isinstance(item, RowProblem):
            problems.append(item)
            continue
        try:
            resident = validate_resident(item, today)
        except WorkflowError as err:
            problems.append(RowProblem(line, str(err)))
            continue
        first = seen.setdefault(resident.nik, line)
        if first != line:
            problems.append(RowProblem(line, f"NIK {resident.nik} already appears on line {first}"))
            continue
        valid.append((line, resident))
    return valid


_FIELDS = ("name", "kecamatan", "birth_date", "had_ektp", "disaster_victim", "suket")


def _not_yet_registered(
    conn: Connection, valid: list[tuple[int, ValidResident]], batch: str, problems: list[RowProblem]
) -> tuple[list[tuple[int, ValidResident]], int]:
    """The residents to add, and how many are already registered with the same data."""
    if not valid:
        return [], 0
    registration = events.alias("registration")
    query = (
        sa.select(*(residents.c[f] for f in ("nik", *_FIELDS)), registration.c.batch_id, registration.c.reason)
        .outerjoin(registration, sa.and_(registration.c.card_id == residents.c.id, registration.c.version == 1))
        .where(residents.c.nik.in_([v.nik for _, v in valid]))
    )
    known = {row.nik: row for row in conn.execute(query)}
    new, same = [], 0
    for line, resident in valid:
        stored = known.get(resident.nik)
        if stored is None:
            new.append((line, resident))
        elif stored.batch_id == batch:
            problems.append(RowProblem(line, f"NIK {resident.nik} already appears on {stored.reason}"))
        elif differences := [
            f"{field} (stored {getattr(stored, field)!s}, file {getattr(resident, field)!s})"
            for field in _FIELDS
            if getattr(stored, field) != getattr(resident, field)
        ]:
            problems.append(
                RowProblem(line, f"NIK {resident.nik} is already registered with a different {'; '.join(differences)}")
            )
        else:
            same += 1
    return new, same


def _insert(
    conn: Connection, new: list[tuple[int, ValidResident]], actor: str, at: dt.datetime, lifecycle: Lifecycle,
    source: str, batch: str,
) -> None:
    ids = _new_ids(conn, len(new))
    sqlite = conn.dialect.name == "sqlite"
    # Through the driver (COPY on PostgreSQL), values as SQLAlchemy's types store them.
    when = eventlog.sqlite_time(at) if sqlite else at
    _write(conn, "residents", _RESIDENT_COLUMNS, [
        (i, r.nik, r.name, r.kecamatan, r.birth_date.isoformat() if sqlite else r.birth_date, r.sex,
         r.had_ektp, r.disaster_victim, r.suket, when)
        for i, (_, r) in zip(ids, new)
    ])
    _write(conn, "cards", ("id", "state", "version", "updated_at"), [(i, lifecycle.initial, 1, when) for i in ids])
    eventlog.append(
        conn,
        [
            {
                "card_id": i, "version": 1, "trigger": REGISTER, "from_state": None,
                "to_state": lifecycle.initial, "actor": actor, "reason": f"line {line} of {source}",
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


def _write(conn: Connection, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" * len(columns))
    conn.exec_driver_sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
