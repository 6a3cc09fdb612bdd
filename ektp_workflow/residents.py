"""Residents as they arrive: records, their validation, and the CSV reader."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from .csvfiles import read_table
from .errors import RowProblem, WorkflowError
from .nik import nik_parts
from .regions import kecamatan_of

REQUIRED_COLUMNS = ("nik", "name", "kecamatan")
OPTIONAL_COLUMNS = ("had_ektp", "birth_date", "disaster_victim", "suket")
_FLAGS = ("had_ektp", "disaster_victim", "suket")
MAX_NAME_LENGTH = 200
_TRUE = {"true", "yes", "y", "1", "ya"}
_FALSE = {"false", "no", "n", "0", "tidak", ""}
_BOOLEAN = _TRUE | _FALSE
_WRITTEN = {"true", "false", ""}  # the common spellings, already in lower case


@dataclass(frozen=True)
class ResidentRecord:
    """A resident to register, as given by a caller or a file row.

    :param kecamatan: the *current* kecamatan, ``16.71.05`` or ``167105``.
    :param had_ektp: the resident held an e-KTP before, so the next card is a
        replacement, not a first-time card.
    :param birth_date: optional; when given it must agree with the NIK and settles
        the century of the NIK's two-digit year.
    :param disaster_victim: lost their card or documents in a disaster (a priority tier).
    :param suket: holds a temporary certificate while waiting for the card.
    """

    nik: str
    name: str
    kecamatan: str
    had_ektp: bool = False
    birth_date: dt.date | None = None
    disaster_victim: bool = False
    suket: bool = False


class ValidResident(NamedTuple):
    """A resident record after validation, normalised for storage (a plain tuple:
    an import makes one per line)."""

    nik: str
    name: str
    kecamatan: str
    birth_date: dt.date
    sex: str
    had_ektp: bool
    disaster_victim: bool
    suket: bool


def validate_resident(record: ResidentRecord, today: dt.date | None = None) -> ValidResident:
    """Check a record and normalise it.

    :raises WorkflowError: ``InvalidNIK``, ``InvalidKecamatan`` or a plain
        ``WorkflowError`` for a missing or overlong name or a contradicting birth date.
    """
    nik, _, birth_date, sex = nik_parts(record.nik, today)
    name = " ".join(str(record.name).split())
    if not name:
        raise WorkflowError("name: must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise WorkflowError(f"name: {len(name)} characters, at most {MAX_NAME_LENGTH} allowed")
    if record.birth_date is not None:
        if record.birth_date.strftime("%d%m%y") != birth_date.strftime("%d%m%y"):
            raise WorkflowError(
                f"birth_date {record.birth_date.isoformat()} does not match the NIK's "
                f"date digits {nik[6:12]}"
            )
        birth_date = record.birth_date
    kecamatan = kecamatan_of(record.kecamatan).code
    return ValidResident(
        nik, name, kecamatan, birth_date, sex, bool(record.had_ektp), bool(record.disaster_victim),
        bool(record.suket),
    )


def read_residents_csv(path: str | Path) -> Iterator[tuple[int, ResidentRecord | RowProblem]]:
    """Read a residents file: header ``nik,name,kecamatan`` and optional columns.

    Optional: ``had_ektp``, ``disaster_victim``, ``suket`` (true/false, yes/no,
    ya/tidak, 1/0; empty is false) and ``birth_date`` (YYYY-MM-DD).

    Yields ``(line, record)`` for each row, or ``(line, problem)`` for a row that
    cannot be read, so that every bad line can be reported at once. Accepts a UTF-8
    BOM and comma, semicolon or tab as the separator.

    :raises InputFileError: the file cannot be opened or its header is wrong.
    """
    for line, row in read_table(path, REQUIRED_COLUMNS, OPTIONAL_COLUMNS):
        if isinstance(row, RowProblem):
            yield line, row
            continue
        record = _record(row)
        yield line, RowProblem(line, record) if isinstance(record, str) else record


def _record(row: dict[str, str]) -> ResidentRecord | str:
    """The row as a record, or what is wrong with it."""
    flags = []
    for flag in _FLAGS:
        text = row.get(flag, "")
        if text not in _WRITTEN:  # not as files mostly write it: try its lower case
            text = text.lower()
            if text not in _BOOLEAN:
                return f"{flag}: {row[flag]!r} is not true or false"
        flags.append(text in _TRUE)
    try:
        born = dt.date.fromisoformat(row["birth_date"]) if row.get("birth_date") else None
    except ValueError:
        return f"birth_date: {row['birth_date']!r} is not a date YYYY-MM-DD"
    had_ektp, disaster_victim, suket = flags
    return ResidentRecord(row["nik"], row["name"], row["kecamatan"], had_ektp, born, disaster_victim, suket)
