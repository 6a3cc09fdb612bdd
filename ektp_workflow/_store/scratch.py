"""Temporary tables a file's checks keep their notes in, so that memory stays flat
whatever the size of the file: the NIKs met so far, and the lines an import registered."""

from __future__ import annotations

import bisect
import uuid
from array import array
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..errors import ProblemList, RowProblem
from ..i18n import _
from .driver import copy_rows


class SeenNiks:
    """The NIKs met in one file, with the line each was first met on."""

    def __init__(self, tx: Connection, label: str | None = None) -> None:
        self.tx = tx
        self.name = f"seen_{_label(label)}"
        self.table = sa.table(self.name, sa.column("nik", sa.BigInteger), sa.column("line", sa.BigInteger))
        key = "INTEGER PRIMARY KEY" if tx.dialect.name == "sqlite" else "BIGINT PRIMARY KEY"  # SQLite: the rowid
        tx.exec_driver_sql(f"CREATE TEMPORARY TABLE {self.name} (nik {key}, line BIGINT NOT NULL)")

    def first_lines(self, met: Sequence[tuple[int, str]], problems: ProblemList) -> list[int]:
        """Of ``(line, nik)`` pairs in line order, the lines whose NIK no earlier line had
        (noted here from now on); each other line becomes a problem naming the line it repeats."""
        if not met:
            return []
        earlier = dict(
            self.tx.execute(
                sa.select(self.table.c.nik, self.table.c.line).where(
                    self.table.c.nik.in_({int(nik) for _line, nik in met})
                )
            ).all()
        )
        first: list[tuple[int, int]] = []
        for line, nik in met:
            seen_on = earlier.setdefault(int(nik), line)
            if seen_on != line:
                problems.append(
                    RowProblem(line, _("NIK {nik} already appears on line {line}").format(nik=nik, line=seen_on))
                )
            else:
                first.append((int(nik), line))
        copy_rows(self.tx, self.name, ("nik", "line"), first)
        return [line for _nik, line in first]

    def drop(self) -> None:
        self.tx.exec_driver_sql(f"DROP TABLE {self.name}")


class ImportLines:
    """The file line of each resident an import registered, by card id.

    One row per chunk written: the chunk's lowest and highest card id, and its ids and
    lines as packed integer arrays. An import of a million lines keeps 500 rows here,
    written with one INSERT a chunk; looking lines up reads only the chunks whose range
    holds the ids asked for.
    """

    def __init__(self, tx: Connection, label: str | None = None) -> None:
        self.tx = tx
        name = f"lines_{_label(label)}"
        blob = "BLOB" if tx.dialect.name == "sqlite" else "BYTEA"
        tx.exec_driver_sql(
            f"CREATE TEMPORARY TABLE {name} (low BIGINT NOT NULL, high BIGINT NOT NULL, "
            f"ids {blob} NOT NULL, lines {blob} NOT NULL)"
        )
        self.table = sa.table(
            name,
            sa.column("low", sa.BigInteger),
            sa.column("high", sa.BigInteger),
            sa.column("ids", sa.LargeBinary),
            sa.column("lines", sa.LargeBinary),
        )

    def add(self, ids: Sequence[int], lines: Sequence[int]) -> None:
        """Note that the residents ``ids`` were registered from ``lines`` (in the same order)."""
        if ids:
            self.tx.execute(
                self.table.insert().values(
                    low=min(ids), high=max(ids), ids=array("q", ids).tobytes(), lines=array("q", lines).tobytes()
                )
            )

    def lines_of(self, ids: Iterable[int]) -> dict[int, int]:
        """The line each of ``ids`` was registered from, for those this import registered."""
        wanted = set(ids)
        if not wanted:
            return {}
        t = self.table.c
        ranges = self.tx.execute(sa.select(t.low, t.high).where(t.low <= max(wanted), t.high >= min(wanted)))
        ordered = sorted(wanted)
        holding = [low for low, high in ranges if _any_between(ordered, low, high)]
        if not holding:
            return {}
        found: dict[int, int] = {}
        for packed_ids, packed_lines in self.tx.execute(sa.select(t.ids, t.lines).where(t.low.in_(holding))):
            chunk_ids, chunk_lines = array("q"), array("q")
            chunk_ids.frombytes(packed_ids)
            chunk_lines.frombytes(packed_lines)
            found.update((i, line) for i, line in zip(chunk_ids, chunk_lines, strict=True) if i in wanted)
        return found

    def drop(self) -> None:
        self.tx.exec_driver_sql(f"DROP TABLE {self.table.name}")


def _any_between(ordered: list[int], low: int, high: int) -> bool:
    """Whether the sorted ``ordered`` holds a value from ``low`` to ``high``."""
    i = bisect.bisect_left(ordered, low)
    return i < len(ordered) and ordered[i] <= high


def _label(label: str | None) -> str:
    return (label or uuid.uuid4().hex[:12]).replace("-", "_")
