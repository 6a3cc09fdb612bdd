"""The files bulk jobs read: lists of NIKs, and the centre's de-duplication results."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from .bulk import Target
from .csvfiles import read_table
from .errors import InputFileError, RowProblem, WorkflowError
from .nik import parse_nik

#: The centre's result -> the trigger it fires on a card in ``prr``.
CENTRAL_RESULTS = {"single": "confirm_single", "duplicate": "flag_duplicate", "enroll_failure": "reject_enrollment"}
#: Cards the centre's results apply to.
CENTRAL_STATE = "prr"

Reader = Callable[[], Iterator[tuple[int, Target | RowProblem]]]


def nik_list(path: str | Path, trigger: str, reason: str | None) -> Reader:
    """Targets from a file with a ``nik`` column and an optional ``reason`` column."""

    def read() -> Iterator[tuple[int, Target | RowProblem]]:
        for line, row in read_table(path, ("nik",), ("reason",)):
            if isinstance(row, RowProblem):
                yield line, row
            else:
                yield line, Target(row["nik"], trigger, row.get("reason") or reason)

    return read


def central_results(path: str | Path) -> Reader:
    """Targets from the centre's file ``nik,result[,reference]``."""

    def read() -> Iterator[tuple[int, Target | RowProblem]]:
        for line, row in read_table(path, ("nik", "result"), ("reference",)):
            if isinstance(row, RowProblem):
                yield line, row
                continue
            trigger = CENTRAL_RESULTS.get(row["result"].lower())
            if trigger is None:
                yield line, RowProblem(line, f"result {row['result']!r}: expected {', '.join(CENTRAL_RESULTS)}")
                continue
            reference = f", reference {row['reference']}" if row.get("reference") else ""
            yield line, Target(row["nik"], trigger, f"central result: {row['result'].lower()}{reference}")

    return read


def check(path: str | Path, read: Reader) -> int:
    """Read the whole file once; refuse it, listing every bad line, if any line is wrong.

    :returns: the number of targets.
    :raises InputFileError: bad NIKs, duplicate NIKs, unreadable rows.
    """
    problems: list[RowProblem] = []
    seen: dict[int, int] = {}
    count = 0
    for line, item in read():
        if isinstance(item, RowProblem):
            problems.append(item)
            continue
        try:
            nik = parse_nik(item.nik).value
        except WorkflowError as err:
            problems.append(RowProblem(line, str(err)))
            continue
        first = seen.setdefault(int(nik), line)
        if first != line:
            problems.append(RowProblem(line, f"NIK {nik} already appears on line {first}"))
        count += 1
    if problems:
        raise InputFileError(str(path), problems)
    return count
