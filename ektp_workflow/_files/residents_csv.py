"""Residents files: ``nik,name,kecamatan`` and optional columns, read row by row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

from ..errors import RowProblem
from ..i18n import _
from ..records import ResidentRecord
from .csvfiles import read_table

REQUIRED_COLUMNS = ("nik", "name", "kecamatan")
OPTIONAL_COLUMNS = ("had_ektp", "birth_date", "disaster_victim", "suket")
_FLAGS = ("had_ektp", "disaster_victim", "suket")
_TRUE = {"true", "yes", "y", "1", "ya"}
_FALSE = {"false", "no", "n", "0", "tidak", ""}
_BOOLEAN = _TRUE | _FALSE
_WRITTEN = {"true", "false", ""}  # the common spellings, already in lower case


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
                return _("{column}: {value!r} is not true or false").format(column=flag, value=row[flag])
        flags.append(text in _TRUE)
    try:
        born = dt.date.fromisoformat(row["birth_date"]) if row.get("birth_date") else None
    except ValueError:
        return _("birth_date: {value!r} is not a date YYYY-MM-DD").format(value=row["birth_date"])
    had_ektp, disaster_victim, suket = flags
    given = frozenset(name for name in OPTIONAL_COLUMNS if name in row and (name != "birth_date" or born))
    return ResidentRecord(row["nik"], row["name"], row["kecamatan"], had_ektp, born, disaster_victim, suket, given)
