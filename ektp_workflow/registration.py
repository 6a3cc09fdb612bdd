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
from .schema import cards, residents
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
    ids = conn.execute(
        residents.insert().returning(residents.c.id, sort_by_parameter_order=True),
        [
            {
                "nik": r.nik, "name": r.name, "kecamatan": r.kecamatan, "birth_date": r.birth_date,
                "sex": r.sex, "had_ektp": r.had_ektp, "disaster_victim": r.disaster_victim,
                "suket": r.suket, "registered_at": at,
            }
            for r in new
        ],
    ).scalars().all()
    conn.execute(
        cards.insert(),
        [{"id": i, "state": lifecycle.initial, "version": 1, "updated_at": at} for i in ids],
    )
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
