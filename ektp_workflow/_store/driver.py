"""Statements run on the DBAPI connection itself, for the paths where SQLAlchemy's
own work per statement would cost more than the database's."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.compiler import SQLCompiler

from . import roundtrips
from .errors import wrapped
from .times import SQLITE_BIND, SQLITE_RESULT, sqlite_rows


class Driver(NamedTuple):
    """A DBAPI connection in a transaction, with its dialect: what ``DriverStatement`` runs on."""

    connection: Any
    dialect: sa.Dialect
    #: the pool's dictionary for this connection (``Connection.info``): lives as long as it.
    info: dict[Any, Any]

    @classmethod
    def of(cls, bind: Connection | Driver) -> Driver:
        """The driver connection under a SQLAlchemy Connection (in its transaction)."""
        if isinstance(bind, Driver):
            return bind
        return cls(bind.connection.driver_connection, bind.dialect, bind.info)

    def begin(self) -> None:
        """Start a transaction: on SQLite ``BEGIN IMMEDIATE``, as every writing transaction.

        On PostgreSQL the BEGIN goes to the server with the transaction's first statement,
        and ``first(..., commit=True)`` sends the COMMIT with its last: a single transition
        takes two round trips, not four (see ``roundtrips``). Where psycopg's prepared
        statements are turned off (``prepare_threshold=None``, as behind pgbouncer), psycopg
        begins the transaction itself, as usual.
        """
        if self.dialect.name == "sqlite":
            roundtrips.call("BEGIN IMMEDIATE", lambda: self.connection.execute("BEGIN IMMEDIATE"), self.dialect)
        elif self.dialect.name == "postgresql" and self.connection.prepare_threshold is not None:
            roundtrips.start(self.connection)

    def commit(self) -> None:
        """Commit (nothing left to do if the last statement committed)."""
        try:
            roundtrips.call("COMMIT", self.connection.commit, self.dialect)
        finally:
            self._ended()

    def rollback(self) -> None:
        trips = self._trips()
        in_trips = trips is not None and trips.begin is not None
        rollback = self.connection.rollback
        try:
            roundtrips.call(
                "ROLLBACK",
                lambda: roundtrips.rollback_keeping_prepared(self.connection) if in_trips else rollback(),
                self.dialect,
            )
        finally:
            self._ended()

    def _trips(self) -> roundtrips.Trips | None:
        return roundtrips.trips_of(self.connection) if self.dialect.name == "postgresql" else None

    def _ended(self) -> None:
        if (trips := self._trips()) is not None:
            trips.end(self.connection)


class DriverStatement:
    """A Core statement compiled once per dialect and run on the driver's own cursor.

    For the few statements every single transition and every chunk runs: SQLAlchemy's
    execution costs about 15 µs a statement, the driver's about 1 µs. Values go in and
    come out converted by the statement's own column types, as SQLAlchemy converts them,
    and driver errors come out as SQLAlchemy's. The statement runs in the connection's
    current transaction (or savepoint).
    """

    def __init__(self, statement: sa.sql.ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[sa.Dialect, _Compiled] = {}

    def execute(self, bind: Connection | Driver, params: dict[str, Any], commit: bool = False) -> Any:
        """Run it with ``params`` (by bind name); return the driver's cursor.

        :param commit: it is the transaction's last statement, which may commit with it
            (on PostgreSQL in the same round trip, see ``Driver.begin``); the caller still
            calls ``Driver.commit``, which then has nothing left to do.
        """
        db = Driver.of(bind)
        compiled = self._compiled.get(db.dialect) or self._compile(db.dialect)
        if compiled.defaults:
            params = {**compiled.defaults, **params}
        arguments: Any
        if compiled.positions is not None:  # by position (SQLite's ?)
            arguments = [params[name] for name in compiled.positions]
            for i, process in compiled.binds:
                arguments[i] = process(arguments[i])
        else:  # by name (psycopg's %(name)s)
            arguments = dict(params) if compiled.binds else params
            for name, process in compiled.binds:
                arguments[name] = process(arguments[name])
            trips = roundtrips.trips_of(db.connection)
            if trips is not None and trips.takes(commit):
                if "%%" in compiled.sql or compiled.expanding:
                    raise ValueError("not a statement to prepare: it has an IN list or a literal %")
                return trips.run(db.connection, self, compiled.sql, arguments, commit, db.dialect)
        sql = compiled.sql
        if compiled.expanding:
            sql, arguments = compiled.expand(arguments)
        cursor = db.connection.cursor()
        try:
            cursor.execute(sql, arguments)
        except db.dialect.loaded_dbapi.Error as err:
            cursor.close()
            raise wrapped(sql, arguments, err, db.dialect) from err
        return cursor

    def first(self, bind: Connection | Driver, params: dict[str, Any], commit: bool = False) -> tuple[Any, ...] | None:
        """Run it and return its first row, values converted; None if it has none.

        :param commit: see ``execute``.
        """
        cursor = self.execute(bind, params, commit)
        row = cursor.fetchone()
        cursor.close()
        return None if row is None else _converted([row], self._compiled[bind.dialect].results, tuple)[0]

    def all(
        self,
        bind: Connection | Driver,
        params: dict[str, Any],
        make: Callable[[Iterable[Any]], Any] = tuple,
    ) -> list[Any]:
        """Run it and return all its rows, values converted, each made by ``make``
        (a tuple, or a named tuple's ``_make``)."""
        cursor = self.execute(bind, params)
        rows = cursor.fetchall()
        cursor.close()
        return _converted(rows, self._compiled[bind.dialect].results, make)

    def rowcount(self, bind: Connection | Driver, params: dict[str, Any]) -> int:
        """Run it (a change) and return how many rows it changed."""
        cursor = self.execute(bind, params)
        count: int = cursor.rowcount
        cursor.close()
        return count

    def _compile(self, dialect: sa.Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        sqlite = dialect.name == "sqlite"
        positions = list(compiled.positiontup or []) if compiled.positional else None
        binds: list[tuple[Any, Callable[[Any], Any]]] = []
        defaults = {}
        rendered = {name: bind for bind, name in compiled.bind_names.items()}  # a name used twice is one value
        expanding: dict[str, Callable[[Any], Any] | None] = {}
        for name, bind in rendered.items():
            if not bind.required:
                defaults[name] = bind.effective_value
            process = (sqlite and SQLITE_BIND.get(type(bind.type))) or bind.type.dialect_impl(dialect).bind_processor(
                dialect
            )
            if bind.expanding:  # an IN list: its items are converted when it is expanded
                expanding[name] = process
            elif process is not None:
                if positions is None:
                    binds.append((name, process))
                else:
                    binds += [(i, process) for i, at in enumerate(positions) if at == name]
        results = []
        if isinstance(self.statement, sa.Select):
            for i, column in enumerate(self.statement.selected_columns):
                process = (sqlite and SQLITE_RESULT.get(type(column.type))) or column.type.dialect_impl(
                    dialect
                ).result_processor(dialect, None)
                if process is not None:
                    results.append((i, process))
        self._compiled[dialect] = _Compiled(str(compiled), defaults, positions, binds, results, expanding)
        return self._compiled[dialect]


def copy_rows(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Insert many rows through the driver: COPY on PostgreSQL, executemany on SQLite.

    Values are Python values; on SQLite times and dates are written as SQLAlchemy's
    types store them. Driver errors come out as SQLAlchemy's, like any statement's.
    """
    names = ", ".join(columns)
    if conn.dialect.name != "postgresql":
        values = sqlite_rows(table, columns, rows)
        if values:
            conn.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})", values)
        return
    statement = f"COPY {table} ({names}) FROM STDIN"
    try:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    except conn.dialect.loaded_dbapi.Error as err:
        raise wrapped(statement, None, err, conn.dialect) from err


def _converted(
    rows: list[Any], results: list[tuple[int, Callable[[Any], Any]]], make: Callable[[Iterable[Any]], Any]
) -> list[Any]:
    """Driver rows with their values converted by the result converters, each made by ``make``."""
    if not results:
        return list(map(make, rows))
    converted = []
    for row in rows:
        values = list(row)
        for i, process in results:
            values[i] = process(values[i])
        converted.append(make(values))
    return converted


class _Compiled(NamedTuple):
    sql: str
    #: values of the binds the statement itself sets (``id = 1``).
    defaults: dict[str, Any]
    #: the bind names in parameter order, for a driver that takes them by position.
    positions: list[str] | None
    #: converters, by position (or by name where the driver takes names).
    binds: list[tuple[Any, Callable[[Any], Any]]]
    results: list[tuple[int, Callable[[Any], Any]]]
    #: the IN lists (``bindparam(..., expanding=True)``), by name, with their items' converter.
    expanding: dict[str, Callable[[Any], Any] | None]

    def expand(self, arguments: Any) -> tuple[str, Any]:
        """The SQL and arguments with each IN list written out, a parameter per item."""
        sql = self.sql
        if self.positions is not None:
            expanded: list[Any] = []
            for name, value in zip(self.positions, arguments, strict=True):
                if name not in self.expanding:
                    expanded.append(value)
                    continue
                items = _items(name, value, self.expanding[name])
                expanded += items
                sql = sql.replace(f"__[POSTCOMPILE_{name}]", ", ".join("?" * len(items)), 1)
            return sql, expanded
        named = {k: v for k, v in arguments.items() if k not in self.expanding}
        for name, process in self.expanding.items():
            items = _items(name, arguments[name], process)
            named.update({f"{name}_{i}": item for i, item in enumerate(items)})
            sql = sql.replace(f"__[POSTCOMPILE_{name}]", ", ".join(f"%({name}_{i})s" for i in range(len(items))))
        return sql, named


def _items(name: str, value: Any, process: Callable[[Any], Any] | None) -> list[Any]:
    items = list(value) if process is None else list(map(process, value))
    if not items:
        raise ValueError(f"the list {name!r} is empty: an IN list needs at least one item")
    return items
