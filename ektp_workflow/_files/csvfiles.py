"""Reading the CSV files operators bring: dialect, encoding, header and line numbers."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

from ..errors import InputFileError, RowProblem
from ..i18n import _, ngettext

#: A row as a dict of its cells by (lower-case) column, or what is wrong with it.
Row = dict[str, str] | RowProblem


def read_table(path: str | Path, required: Sequence[str], optional: Sequence[str] = ()) -> Iterator[tuple[int, Row]]:
    """Yield ``(line, row)`` for each non-empty row; ``line`` is where the row starts.

    Accepts a UTF-8 BOM and comma, semicolon or tab separators; the header is matched
    without regard to case or surrounding spaces.

    :raises InputFileError: the file cannot be opened or decoded, or its header is wrong.
    """
    source = str(path)
    try:
        handle = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed below; opening is what may fail
    except OSError as err:
        raise InputFileError(source, [RowProblem(0, _("cannot open: {reason}").format(reason=err.strerror))]) from err
    with handle:
        try:
            yield from _rows(handle, source, required, optional)
        except UnicodeDecodeError as err:
            reason = _("not UTF-8 text (byte {byte}): save the file as UTF-8").format(byte=err.start)
            raise InputFileError(source, [RowProblem(0, reason)]) from err
        except csv.Error as err:
            reason = _("not a readable CSV file: {error}").format(error=err)
            raise InputFileError(source, [RowProblem(0, reason)]) from err


def content_hash(path: str | Path) -> str:
    """SHA-256 of the file's bytes: the same file, the same hash."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _rows(handle: TextIO, source: str, required: Sequence[str], optional: Sequence[str]) -> Iterator[tuple[int, Row]]:
    sample = handle.read(64 * 1024)
    handle.seek(0)
    reader = csv.reader(handle, dialect=_dialect(sample))
    header = [h.strip().lower() for h in next(reader, [])]
    _check_header(header, source, required, optional)
    line = reader.line_num
    width = len(header)
    for cells in reader:
        start, line = line + 1, reader.line_num
        if len(cells) != width:
            if not "".join(cells).strip():
                continue
            yield start, RowProblem(start, _width_problem(len(cells), width))
            continue
        values = list(map(str.strip, cells))
        if not any(values):
            continue
        nul = next((name for name, value in zip(header, values, strict=True) if "\x00" in value), None)
        if nul is not None:  # no PostgreSQL text can hold it
            yield start, RowProblem(start, _("{column}: contains a NUL byte").format(column=nul))
            continue
        yield start, dict(zip(header, values, strict=True))


def _width_problem(cells: int, width: int) -> str:
    return ngettext("{cells} cell, the header has {width}", "{cells} cells, the header has {width}", cells).format(
        cells=cells, width=width
    )


def _dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(sample.split("\n", 1)[0], delimiters=",;\t")
    except csv.Error:
        return csv.excel


def _check_header(header: list[str], source: str, required: Sequence[str], optional: Sequence[str]) -> None:
    problems = []
    missing = [c for c in required if c not in header]
    if missing:
        problems.append(_("header: missing column(s) {columns}").format(columns=", ".join(missing)))
    unknown = [c for c in header if c not in (*required, *optional)]
    if unknown:
        problems.append(_unknown_columns(unknown, required, optional))
    doubled = sorted({c for c in header if header.count(c) > 1})
    if doubled:
        problems.append(_("header: column(s) {columns} appear more than once").format(columns=", ".join(doubled)))
    if problems:
        raise InputFileError(source, [RowProblem(1, p) for p in problems])


def _unknown_columns(unknown: Sequence[str], required: Sequence[str], optional: Sequence[str]) -> str:
    names = {"unknown": ", ".join(map(repr, unknown)), "required": ", ".join(required)}
    if optional:
        return _("header: unknown column(s) {unknown}; expected {required} and optionally {optional}").format(
            optional=", ".join(optional), **names
        )
    return _("header: unknown column(s) {unknown}; expected {required}").format(**names)
