"""NIKs a file repeats, found in bounded memory: the NIKs met so far, with their first
line, sit in a temporary table of the transaction instead of a dict."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .database import copy_rows
from .errors import ProblemList, RowProblem


class SeenNiks:
    """The NIKs met in one file, with the line each was first met on."""

    def __init__(self, conn: Connection, label: str | None = None) -> None:
        self.conn = conn
        self.name = f"seen_{(label or uuid.uuid4().hex[:12]).replace('-', '_')}"
        self.table = sa.table(self.name, sa.column("nik", sa.BigInteger), sa.column("line", sa.BigInteger))
        key = "INTEGER PRIMARY KEY" if conn.dialect.name == "sqlite" else "BIGINT PRIMARY KEY"  # SQLite: the rowid
        conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {self.name} (nik {key}, line BIGINT NOT NULL)")

    def first_lines(self, met: Sequence[tuple[int, str]], problems: ProblemList) -> list[int]:
        """Of ``(line, nik)`` pairs in line order, the lines whose NIK no earlier line had;
        each other line becomes a problem naming the line it repeats."""
        if not met:
            return []
        earlier = dict(self.conn.execute(
            sa.select(self.table.c.nik, self.table.c.line).where(self.table.c.nik.in_({int(nik) for _, nik in met}))
        ).all())
        first: list[tuple[int, int]] = []
        for line, nik in met:
            seen_on = earlier.setdefault(int(nik), line)
            if seen_on != line:
                problems.append(RowProblem(line, f"NIK {nik} already appears on line {seen_on}"))
            else:
                first.append((int(nik), line))
        copy_rows(self.conn, self.name, ("nik", "line"), first)
        return [line for _, line in first]

    def drop(self) -> None:
        self.conn.exec_driver_sql(f"DROP TABLE {self.name}")
