"""Registering residents: validated as a whole, written in chunks, all or nothing."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import eventlog
from .database import DriverStatement, copy_rows
from .errors import ProblemList, RowProblem, WorkflowError
from .records import REGISTER
from .residents import ResidentRecord, ValidResident, validate_resident
from .schema import events, residents
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

    Memory stays flat whatever the size of the file: a NIK the file repeats is found
    in the database, not in a dict. A NIK first met on an earlier line was either
    registered by this import (its registration event names the line) or was known
    before it, in which case the import notes it, with its line, in a temporary table
    of the transaction; so is every NIK met after the first bad line, when nothing
    more is written. Each registration event records the import (its batch id) and
    the line.

    :raises InputFileError: listing the bad lines (the first ``MAX_PROBLEMS``) and their count.
    """
    eventlog.lock_head(conn)  # every writer takes the chain head first: one lock order
    problems = ProblemList()
    batch = f"registration-{uuid.uuid4().hex[:12]}"
    seen = SeenNiks(conn, batch)
    origin = Path(source).name or source
    added = unchanged = 0
    for chunk in _chunks(numbered):
        valid = _first_in_chunk(_validate(chunk, problems, at.date()), problems)
        stored = _stored(conn, [r.nik for _, r in valid], batch if added else None)
        new, known = [], []
        for line, resident in valid:
            row = stored.get(resident.nik)
            if row is None:
                new.append((line, resident))
            elif row.first_line is not None:  # registered by this import, on an earlier line
                problems.append(RowProblem(line, f"NIK {resident.nik} already appears on line {row.first_line}"))
            else:
                known.append((line, resident))
        if problems:  # nothing more is written: the temporary table remembers the new NIKs
            known += new
            new = []
        if known:
            firsts = set(seen.first_lines(sorted((line, r.nik) for line, r in known), problems))
            for line, resident in known:
                row = stored.get(resident.nik)
                if line in firsts and row is not None:
                    unchanged += _compare(line, resident, row, problems)
        if new:
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


def _first_in_chunk(
    checked: list[tuple[int, ValidResident]], problems: ProblemList
) -> list[tuple[int, ValidResident]]:
    """The lines whose NIK no earlier line of the chunk has; the others are problems."""
    first_line: dict[str, int] = {}
    firsts = []
    for line, resident in checked:
        seen_on = first_line.setdefault(resident.nik, line)
        if seen_on != line:
            problems.append(RowProblem(line, f"NIK {resident.nik} already appears on line {seen_on}"))
        else:
            firsts.append((line, resident))
    return firsts


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
_LINE = re.compile(r"line (\d+) of ")


class _Stored(NamedTuple):
    """A registered resident's data, and the line of this import that registered it."""

    data: tuple[Any, ...]
    first_line: int | None


_STORED = DriverStatement(
    sa.select(residents.c.id, residents.c.nik, *(residents.c[f] for f in _FIELDS))
    .where(residents.c.nik.in_(sa.bindparam("niks", expanding=True)))
)
_REGISTERED_BY = DriverStatement(
    sa.select(events.c.card_id, events.c.reason).where(
        events.c.card_id.in_(sa.bindparam("ids", expanding=True)), events.c.version == 1,
        events.c.batch_id == sa.bindparam("batch"),
    )
)


def _stored(conn: Connection, niks: list[str], batch: str | None) -> dict[str, _Stored]:
    """The residents already registered under these NIKs, by NIK, with the line that
    registered each in import ``batch`` (None: the import has registered no one yet)."""
    if not niks:
        return {}
    rows = _STORED.all(conn, {"niks": niks})
    if not rows:
        return {}
    if batch is None:  # a file of residents all known already (a re-import) asks no more
        return {row[1]: _Stored(row[2:], None) for row in rows}
    lines = {
        card_id: int(match.group(1))
        for card_id, reason in _REGISTERED_BY.all(conn, {"ids": [row[0] for row in rows], "batch": batch})
        if (match := _LINE.match(reason or ""))
    }
    return {row[1]: _Stored(row[2:], lines.get(row[0])) for row in rows}


def _compare(line: int, resident: ValidResident, stored: _Stored, problems: ProblemList) -> int:
    """1 if the registered resident has the file's data (unchanged); else a problem, and 0."""
    differences = [
        f"{field} (stored {value!s}, file {getattr(resident, field)!s})"
        for field, value in zip(_FIELDS, stored.data)
        if value != getattr(resident, field)
    ]
    if not differences:
        return 1
    problems.append(
        RowProblem(line, f"NIK {resident.nik} is already registered with a different {'; '.join(differences)}")
    )
    return 0


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
                "to_state": lifecycle.initial, "actor": actor, "reason": _reason(line, origin),
                "occurred_at": at, "lifecycle_hash": lifecycle.hash, "idempotency_key": None,
                "rule_set_version": None, "batch_id": batch,
            }
            for i, (line, _) in zip(ids, new)
        ],
        lifecycle,
    )


def _reason(line: int, origin: str) -> str:
    """A registration event's reason: where the resident came from (``_LINE`` reads it)."""
    return f"line {line} of {origin}"


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
