"""The files bulk jobs read: lists of NIKs, and the centre's de-duplication results."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy.engine import Connection

from .bulk import Target, chunks
from .csvfiles import read_table
from .errors import ProblemList, RowProblem, WorkflowError
from .nik import parse_nik
from .seen import SeenNiks

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


def check(conn: Connection, path: str | Path, read: Reader) -> int:
    """Read the whole file once; refuse it, listing its bad lines, if any line is wrong.

    Memory stays flat: the NIKs met so far sit in a temporary table of ``conn``'s
    transaction, and only the first bad lines are kept (all are counted).

    :returns: the number of targets.
    :raises InputFileError: bad NIKs, duplicate NIKs, unreadable rows.
    """
    problems = ProblemList()
    seen = SeenNiks(conn)
    count = 0
    for chunk in chunks(read()):
        met = []
        for line, item in chunk:
            if isinstance(item, RowProblem):
                problems.append(item)
                continue
            try:
                met.append((line, parse_nik(item.nik).value))
            except WorkflowError as err:
                problems.append(RowProblem(line, str(err)))
        seen.first_lines(met, problems)
        count += len(met)
    seen.drop()
    if problems:
        raise problems.error(str(path))
    return count
