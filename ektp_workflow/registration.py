"""Registering residents: validated as a whole, written in chunks, all or nothing."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import eventlog
from .errors import InputFileError, RowProblem, WorkflowError
from .records import REGISTER
from .residents import ResidentRecord, ValidResident, validate_resident
from .schema import residents
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

    :raises InputFileError: listing every bad line.
    """
    problems: list[RowProblem] = []
    seen: dict[int, int] = {}
    added = unchanged = 0
    for chunk in _chunks(numbered):
        valid = _validate(chunk, seen, problems, at.date())
        new = _not_yet_registered(conn, valid, problems)
        unchanged += len(valid) - len(new)
        if not problems and new:
            _insert(conn, [v for _, v in new], actor, at, lifecycle)
            added += len(new)
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
    chunk: list[tuple[int, Any]], seen: dict[int, int], problems: list[RowProblem], today: dt.date
) -> list[tuple[int, ValidResident]]:
    valid = []
    for line, item in chunk:
        if isinstance(item, RowProblem):
            problems.append(item)
            continue
        try:
            resident = validate_resident(item, today)
        except WorkflowError as err:
            problems.append(RowProblem(line, str(err)))
            continue
        first = seen.setdefault(int(resident.nik), line)
        if first != line:
            problems.append(RowProblem(line, f"NIK {resident.nik} already appears on line {first}"))
            continue
        valid.append((line, resident))
    return valid


def _not_yet_registered(
    conn: Connection, valid: list[tuple[int, ValidResident]], problems: list[RowProblem]
) -> list[tuple[int, ValidResident]]:
    if not valid:
        return []
    query = sa.select(
        residents.c.nik, residents.c.name, residents.c.kecamatan, residents.c.birth_date,
        residents.c.had_ektp, residents.c.disaster_victim, residents.c.suket,
    ).where(residents.c.nik.in_([v.nik for _, v in valid]))
    known = {row.nik: row for row in conn.execute(query)}
    new = []
    for line, resident in valid:
        stored = known.get(resident.nik)
        if stored is None:
            new.append((line, resident))
            continue
        differences = [
            f"{field} (stored {getattr(stored, field)!s}, file {getattr(resident, field)!s})"
            for field in ("name", "kecamatan", "birth_date", "had_ektp", "disaster_victim", "suket")
            if getattr(stored, field) != getattr(resident, field)
        ]
        if differences:
            problems.append(
                RowProblem(line, f"NIK {resident.nik} is already registered with a different {'; '.join(differences)}")
            )
    return new


def _insert(
    conn: Connection, new: list[ValidResident], actor: str, at: dt.datetime, lifecycle: Lifecycle
) -> None:
    ids = _new_ids(conn, len(new))
    sqlite = conn.dialect.name == "sqlite"
    # Through the driver (COPY on PostgreSQL), values as SQLAlchemy's types store them.
    when = eventlog.sqlite_time(at) if sqlite else at
    _write(conn, "residents", _RESIDENT_COLUMNS, [
        (i, r.nik, r.name, r.kecamatan, r.birth_date.isoformat() if sqlite else r.birth_date, r.sex,
         r.had_ektp, r.disaster_victim, r.suket, when)
        for i, r in zip(ids, new)
    ])
    _write(conn, "cards", ("id", "state", "version", "updated_at"), [(i, lifecycle.initial, 1, when) for i in ids])
    eventlog.append(
        conn,
        [
            {
                "card_id": i, "version": 1, "trigger": REGISTER, "from_state": None,
                "to_state": lifecycle.initial, "actor": actor, "reason": None, "occurred_at": at,
                "lifecycle_hash": lifecycle.hash, "idempotency_key": None, "rule_set_version": None,
                "batch_id": None,
            }
            for i in ids
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
