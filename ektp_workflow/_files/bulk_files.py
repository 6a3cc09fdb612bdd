"""The files bulk jobs read: lists of NIKs, and the centre's de-duplication results."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

from ..errors import RowProblem
from ..i18n import _
from .csvfiles import read_table

#: The centre's result -> the trigger it fires on a card in ``prr``.
CENTRAL_RESULTS = {"single": "confirm_single", "duplicate": "flag_duplicate", "enroll_failure": "reject_enrollment"}
#: Cards the centre's results apply to.
CENTRAL_STATE = "prr"


class Target(NamedTuple):
    """One card to move: its NIK, the trigger and the reason to record (a plain tuple: a
    chunk of a file makes 2,000 of them; a chunk by state shares one, NIK left empty)."""

    nik: str
    trigger: str
    reason: str | None = None


#: Reads a file again from its start: ``(line, target)`` or ``(line, problem)`` per row.
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
                problem = _("result {value!r}: expected {expected}").format(
                    value=row["result"], expected=", ".join(CENTRAL_RESULTS)
                )
                yield line, RowProblem(line, problem)
                continue
            reference = f", reference {row['reference']}" if row.get("reference") else ""
            yield line, Target(row["nik"], trigger, f"central result: {row['result'].lower()}{reference}")

    return read
