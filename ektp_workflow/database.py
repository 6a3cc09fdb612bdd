"""Engines and schema migrations: the only way the schema is created or changed."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import re
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.compiler import SQLCompiler

from .errors import DatabaseBusy, DatabaseError, SchemaError, WorkflowError
from .schema import APPEND_ONLY, DERIVED, UTCDateTime, metadata

#: Used when neither ``--db`` nor ``EKTP_DATABASE_URL`` says otherwise.
DEFAULT_URL = "sqlite:///ektp.db"
URL_VARIABLE = "EKTP_DATABASE_URL"
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: Execution option marking a connection whose transactions only read.
READ_ONLY = "ektp_read_only"


def reading(connection: Connection) -> Connection:
    """The connection set for a long read: one consistent snapshot, no write lock held."""
    if connection.dialect.name == "postgresql":
        return connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    return connection.execution_options(**{READ_ONLY: True})


def default_url() -> str:
    """The database URL from ``EKTP_DATABASE_URL``, else a SQLite file ``ektp.db``."""
    return os.environ.get(URL_VARIABLE) or DEFAULT_URL


def create_engine(url: str | sa.URL, **kwargs: Any) -> Engine:
    """An engine with the settings ektp_workflow relies on.

    On SQLite: WAL journal, foreign keys on, a busy timeout, and ``BEGIN IMMEDIATE``
    for every transaction so two writers queue instead of failing on lock upgrade.

    :raises DatabaseError: the URL cannot be parsed or its driver is missing.
    """
    try:
        engine = sa.create_engine(url, **kwargs)
    except (sa.exc.ArgumentError, ImportError, sa.exc.NoSuchModuleError) as err:
        raise DatabaseError(f"cannot use database URL {url!s}: {err}") from err
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    memory = engine.url.database in (None, "", ":memory:")

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's BEGIN below start transactions, not the driver.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Readers (audits, exports) must not hold the write lock for their duration.
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def copy_rows(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Insert many rows through the driver: COPY on PostgreSQL, executemany on SQLite.

    Values are Python values; on SQLite times and dates are written as SQLAlchemy's
    types store them. Driver errors come out as SQLAlchemy's, like any statement's.
    """
    names = ", ".join(columns)
    if conn.dialect.name != "postgresql":
        values = _sqlite_rows(table, columns, rows)
        if values:
            conn.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})", values)
        return
    statement = f"COPY {table} ({names}) FROM STDIN"
    try:
        with conn.connection.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
            with cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
    except conn.dialect.loaded_dbapi.Error as err:
        raise _wrapped(statement, None, err, conn.dialect) from err


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
        takes two round trips, not four (see ``DriverStatement``). Where psycopg's prepared
        statements are turned off (``prepare_threshold=None``, as behind pgbouncer), psycopg
        begins the transaction itself, as usual.
        """
        if self.dialect.name == "sqlite":
            self._call("BEGIN IMMEDIATE", lambda: self.connection.execute("BEGIN IMMEDIATE"))
        elif self.dialect.name == "postgresql" and self.connection.prepare_threshold is not None:
            trips = _TRIPS.get(self.connection) or _TRIPS.setdefault(self.connection, _Trips())
            trips.start(self.connection)

    def commit(self) -> None:
        """Commit (nothing left to do if the last statement committed)."""
        try:
            self._call("COMMIT", self.connection.commit)
        finally:
            self._ended()

    def rollback(self) -> None:
        trips = self._trips()
        in_trips = trips is not None and trips.begin is not None
        try:
            self._call("ROLLBACK", lambda: _rollback_keeping_prepared(self.connection) if in_trips
                       else self.connection.rollback())
        finally:
            self._ended()

    def _trips(self) -> _Trips | None:
        return _TRIPS.get(self.connection) if self.dialect.name == "postgresql" else None

    def _ended(self) -> None:
        if (trips := self._trips()) is not None:
            trips.end(self.connection)

    def _call(self, what: str, call: Callable[[], Any]) -> None:
        try:
            call()
        except self.dialect.loaded_dbapi.Error as err:
            raise _wrapped(what, None, err, self.dialect) from err


def _wrapped(sql: str, arguments: Any, err: Exception, dialect: sa.Dialect) -> sa.exc.StatementError:
    # What SQLAlchemy raises for a driver error, so callers see one kind of error.
    return sa.exc.DBAPIError.instance(sql, arguments, err, dialect.loaded_dbapi.Error, dialect=dialect)


class DriverStatement:
    """A Core statement compiled once per dialect and run on the driver's own cursor.

    For the few statements every single transition runs: SQLAlchemy's execution costs
    about 15 µs a statement, the driver's about 1 µs, and a durable transition takes a
    few hundred. Values go in and come out converted by the statement's own column
    types, as SQLAlchemy converts them, and driver errors come out as SQLAlchemy's.
    The statement runs in the connection's current transaction (or savepoint).
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
            trips = _TRIPS.get(db.connection)
            if trips is not None and (trips.begin or (commit and trips.begin is not None)):
                return self._in_trip(db, compiled, arguments, trips, commit)
        sql = compiled.sql
        if compiled.expanding:
            sql, arguments = compiled.expand(arguments)
        cursor = db.connection.cursor()
        try:
            cursor.execute(sql, arguments)
        except db.dialect.loaded_dbapi.Error as err:
            cursor.close()
            raise _wrapped(sql, arguments, err, db.dialect) from err
        return cursor

    def _in_trip(
        self, db: Driver, compiled: _Compiled, arguments: dict[str, Any], trips: _Trips, commit: bool,
        again: bool = False,
    ) -> Any:
        """On PostgreSQL: run it prepared on the connection, with the transaction's pending
        BEGIN before it and, if ``commit``, COMMIT after it, in one round trip (one simple
        query; psycopg binds the values on the client, quoted as literals).

        psycopg drops every statement prepared on a connection (DEALLOCATE ALL) when it
        resets its own, as after a ROLLBACK: a transaction's first statement that finds
        itself gone rolls back, prepares again and runs again; a later one (which cannot
        happen unless something else runs in between) raises ``DatabaseBusy``, which
        ``Workflow`` retries.
        """
        prepared = trips.prepared.get(self)
        if prepared is None:
            prepared = trips.prepared[self] = _prepare(db, self, compiled)
        name, names = prepared
        sql = f"EXECUTE {name}({', '.join(['%s'] * len(names))})" if names else f"EXECUTE {name}"
        begin, trips.begin = trips.begin, False
        cursor = _psycopg()[0](db.connection)
        try:
            cursor.execute(
                f"{trips.command + '; ' if begin else ''}{sql}{'; COMMIT' if commit else ''}",
                [arguments[n] for n in names],
            )
        except db.dialect.loaded_dbapi.Error as err:
            cursor.close()
            if getattr(err, "sqlstate", None) == _NOT_PREPARED:
                trips.prepared.clear()  # they all went together
                if begin and not again:  # nothing done yet: start over
                    db._call("ROLLBACK", db.connection.rollback)
                    trips.begin = True
                    return self._in_trip(db, compiled, arguments, trips, commit, again=True)
                raise DatabaseBusy(f"{name} was dropped from the connection; nothing was written") from err
            raise _wrapped(sql, arguments, err, db.dialect) from err
        if begin:
            cursor.nextset()  # past BEGIN's result to the statement's
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
        self, bind: Connection | Driver, params: dict[str, Any], make: Callable[[Iterable[Any]], Any] = tuple,
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
            process = (sqlite and _SQLITE_BIND.get(type(bind.type))) or bind.type.dialect_impl(
                dialect
            ).bind_processor(dialect)
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
                process = (sqlite and _SQLITE_RESULT.get(type(column.type))) or column.type.dialect_impl(
                    dialect
                ).result_processor(dialect, None)
                if process is not None:
                    results.append((i, process))
        self._compiled[dialect] = _Compiled(str(compiled), defaults, positions, binds, results, expanding)
        return self._compiled[dialect]


class _Trips:
    """A PostgreSQL connection's transactions in two round trips (see ``Driver.begin``)."""

    __slots__ = ("autocommit", "begin", "command", "prepared")

    def __init__(self) -> None:
        #: None: not in such a transaction; True: its BEGIN goes with the next statement; False: sent.
        self.begin: bool | None = None
        #: the BEGIN to send, with the connection's isolation level, read-only and deferrable settings.
        self.command = "BEGIN"
        #: the connection's autocommit setting before the transaction, restored after it.
        self.autocommit = False
        #: the statements prepared on the connection: name, and bind names in parameter order.
        self.prepared: dict[DriverStatement, tuple[str, list[str]]] = {}

    def start(self, connection: Any) -> None:
        self.autocommit, self.command = connection.autocommit, _begin_command(connection)
        self.begin = True  # before autocommit changes: end() restores it from here on
        connection.autocommit = True  # psycopg sends no BEGIN of its own: the next statement does

    def end(self, connection: Any) -> None:
        if self.begin is None:
            return
        self.begin = None
        if not connection.closed and connection.autocommit != self.autocommit:
            connection.autocommit = self.autocommit


def _begin_command(connection: Any) -> str:
    """The BEGIN psycopg would send on ``connection``: its isolation level, read-only and
    deferrable settings (those the engine's ``isolation_level`` sets) included."""
    level, read_only, deferrable = connection.isolation_level, connection.read_only, connection.deferrable
    if level is None and read_only is None and deferrable is None:
        return "BEGIN"
    parts = ["BEGIN"]
    if level is not None:
        parts.append("ISOLATION LEVEL " + level.name.replace("_", " "))
    if read_only is not None:
        parts.append("READ ONLY" if read_only else "READ WRITE")
    if deferrable is not None:
        parts.append("DEFERRABLE" if deferrable else "NOT DEFERRABLE")
    return " ".join(parts)


def _rollback_keeping_prepared(connection: Any) -> None:
    """ROLLBACK straight through libpq: psycopg's ``rollback()`` would also drop every
    statement prepared on the connection (it sends DEALLOCATE ALL once it has prepared
    some of its own), and the next fire would prepare its two again."""
    pq = _psycopg()[1]
    if connection.pgconn.transaction_status == pq.TransactionStatus.IDLE:
        return
    result = connection.pgconn.exec_(b"ROLLBACK")
    if result.status != pq.ExecStatus.COMMAND_OK:
        connection.rollback()  # let psycopg say what is wrong


# By driver connection (a new connection after a reconnect starts with none prepared).
_TRIPS: weakref.WeakKeyDictionary[Any, _Trips] = weakref.WeakKeyDictionary()
_BIND = re.compile(r"%\((\w+)\)s")
# A statement prepared by DriverStatement exists already on the connection (SQLSTATE).
_ALREADY_PREPARED = "42P05"


@functools.cache
def _psycopg() -> tuple[Any, Any]:
    """psycopg's ClientCursor and pq, imported when first needed (SQLite needs neither)."""
    from psycopg import ClientCursor, pq

    return ClientCursor, pq


def _prepare(db: Driver, statement: DriverStatement, compiled: _Compiled) -> tuple[str, list[str]]:
    """PREPARE the statement on the connection; return its name and its bind names in
    parameter order ($1, $2, ...). The compiled SQL casts every bind (``%(seq)s::BIGINT``),
    which gives each parameter its type. The name is the SQL's hash: a statement found
    prepared already under it (a connection shared through a pooler) is the same statement."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    assert "%%" not in compiled.sql and not compiled.expanding, "not a statement to prepare"
    body = _BIND.sub(number, compiled.sql)
    name = f"ektp_{hashlib.sha256(body.encode()).hexdigest()[:20]}"
    sql = f"PREPARE {name} AS {body}"
    try:
        db.connection.execute(sql)
    except db.dialect.loaded_dbapi.Error as err:
        if getattr(err, "sqlstate", None) != _ALREADY_PREPARED:
            raise _wrapped(sql, None, err, db.dialect) from err
        if db.connection.pgconn.transaction_status != _psycopg()[1].TransactionStatus.IDLE:
            # it failed the transaction it ran in: again, knowing it is there
            _TRIPS[db.connection].prepared[statement] = (name, names)
            raise DatabaseBusy(f"{name} was prepared already; nothing was written") from err
    return name, names


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


def _sqlite_utc_bind(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"timestamps must be timezone-aware, got {value!r}")
    return _sqlite_time(value)


class _Recent(dict):  # type: ignore[type-arg]
    """Values made from their key on first use and kept, emptied when full: a hit costs a
    dict lookup, a miss one insert (no LRU bookkeeping). For times, which the rows of a
    chunk, a log read back, or one transition's statements share."""

    def __init__(self, make: Callable[[Any], Any], kept: int = 4096) -> None:
        super().__init__()
        self.make, self.kept = make, kept

    def __missing__(self, key: Any) -> Any:
        if len(self) >= self.kept:
            self.clear()
        value = self[key] = self.make(key)
        return value


# Times read, one object per text (datetimes are immutable: sharing one is safe; bulk
# relies on it to compare a chunk's shared time once). Dates parse faster than a lookup.
_TIMES_READ = _Recent(lambda text: dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc))


def _sqlite_utc_result(value: str | None) -> dt.datetime | None:
    return None if value is None else _TIMES_READ[value]  # type: ignore[no-any-return]


def _sqlite_date_result(value: str | None) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)


# On SQLite, one function for a type where SQLAlchemy chains two (the type's and the
# dialect's) and parses with a regular expression: same values, a few µs less each.
_SQLITE_BIND: dict[type, Callable[[Any], Any]] = {UTCDateTime: _sqlite_utc_bind}
_SQLITE_RESULT: dict[type, Callable[[Any], Any]] = {UTCDateTime: _sqlite_utc_result, sa.Date: _sqlite_date_result}


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
            for name, value in zip(self.positions, arguments):
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


def _sqlite_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """Rows with their times and dates as SQLite stores them: for a table of the schema,
    only the columns of those types are converted; for any other, every value is looked at."""
    known = metadata.tables.get(table)
    if known is None:
        return [tuple(map(_sqlite_value, row)) for row in rows]
    kinds = [getattr(known.c[name].type, "impl", known.c[name].type) for name in columns]
    convert = [(i, _sqlite_time if isinstance(kind, sa.DateTime) else dt.date.isoformat)
               for i, kind in enumerate(kinds) if isinstance(kind, (sa.DateTime, sa.Date))]
    if not convert:
        return [tuple(row) for row in rows]
    values = []
    for row in rows:
        text = list(row)
        for i, to_text in convert:
            if text[i] is not None:
                text[i] = to_text(text[i])
        values.append(tuple(text))
    return values


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return _sqlite_time(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _sqlite_time(value: dt.datetime) -> str:
    return utc_text(value, " ")  # as schema.UTCDateTime stores times on SQLite


def utc_text(value: dt.datetime, sep: str) -> str:
    """``value`` in UTC as ``YYYY-MM-DD{sep}HH:MM:SS.ffffff``: what ``strftime`` makes of
    ``%Y-%m-%d{sep}%H:%M:%S.%f``, faster (this runs for every stored time and every
    hashed event).

    Remembered for fixed-offset times (the rows of a chunk, and of a log read back, share
    their times; a single transition stores and hashes its two times several times);
    not for a zone with folds, whose times compare by wall clock: the two 01:30 of a
    night the clocks go back would share one text.
    """
    text = _TIMES_WRITTEN[value] if type(value.tzinfo) is dt.timezone else _utc_text(value)
    return text if sep == " " else text.replace(" ", sep, 1)


def _utc_text(value: dt.datetime) -> str:
    utc = value.astimezone(dt.timezone.utc)
    if utc.year < 1000:  # strftime does not pad these years; isoformat does
        return utc.strftime("%Y-%m-%d %H:%M:%S.%f")
    return utc.isoformat(" ", "microseconds")[:26]


# The texts of recent fixed-offset times, with " " between date and time.
_TIMES_WRITTEN = _Recent(_utc_text)


def migrations_path() -> Path:
    """Where the Alembic environment lives: inside the installed package, or the checkout."""
    package = Path(__file__).resolve().parent
    installed = package / "migrations"
    return installed if (installed / "env.py").exists() else package.parent / "alembic"


def _alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_path()))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def head_revision() -> str:
    """The newest migration this version of the package ships."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    if head is None:
        raise SchemaError(f"no migrations found in {migrations_path()}")
    return head


def current_revision(connection: Connection) -> str | None:
    """The migration the database is at, or None for a database without the schema."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Apply migrations up to ``revision``; return the revision the database is then at."""
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), revision)
    with engine.connect() as connection:
        return current_revision(connection)


def check_schema(connection: Connection) -> None:
    """Refuse to work on a database whose schema is not the one this code expects.

    :raises SchemaError: saying which revision is there and how to upgrade.
    """
    found = current_revision(connection)
    expected = head_revision()
    if found == expected:
        return
    if found is None:
        raise SchemaError(
            "the database has no ektp_workflow schema yet; run `ektp db upgrade` first"
        )
    raise SchemaError(
        f"the database schema is at revision {found}, this version needs {expected}; "
        "run `ektp db upgrade`"
    )


@contextmanager
def translate_errors(what: str) -> Iterator[None]:
    """Turn driver errors into ``DatabaseError`` (``DatabaseBusy`` when worth retrying)."""
    try:
        yield
    except sa.exc.OperationalError as err:
        raise translated(err, what) from err


def translated(err: sa.exc.OperationalError, what: str) -> DatabaseError:
    """The ``DatabaseError`` (``DatabaseBusy`` when worth retrying) to raise for ``err``."""
    if _busy(err):
        return DatabaseBusy(f"{what}: the database is busy ({err.orig}); nothing was written")
    return DatabaseError(f"{what}: {err.orig}")


# A statement prepared by DriverStatement was dropped (see DriverStatement._in_trip).
_NOT_PREPARED = "26000"
# Serialization failure, deadlock, lock not available (PostgreSQL SQLSTATEs).
_RETRYABLE_STATES = {"40001", "40P01", "55P03"}


def _busy(err: sa.exc.OperationalError) -> bool:
    text = str(err.orig).lower()
    return (
        "database is locked" in text
        or "database is busy" in text
        or getattr(err.orig, "sqlstate", None) in _RETRYABLE_STATES
    )


_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def grant_auditor(engine: Engine, role: str, password: str | None = None) -> list[str]:
    """Create (or update) a PostgreSQL login role that can read every table and change nothing.

    :returns: the statements run, for the operator's record.
    :raises WorkflowError: not PostgreSQL, or the role name is not a plain identifier.
    """
    def grants(quote: Callable[[str], str], schema: str) -> list[str]:
        return [
            f"ALTER ROLE {quote(role)} SET default_transaction_read_only = on",
            f"GRANT SELECT ON ALL TABLES IN SCHEMA {quote(schema)} TO {quote(role)}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {quote(schema)} GRANT SELECT ON TABLES TO {quote(role)}",
        ]

    return _grant(engine, role, password, grants, "grant-auditor")


def grant_application(engine: Engine, role: str, password: str | None = None) -> list[str]:
    """Create (or update) the PostgreSQL role the application runs as: it may read and add
    everything, change only current state, and delete nothing.

    The append-only tables (events, ledger entries, rule sets, ...) get SELECT and INSERT
    only: even without the triggers this role could not alter the history. The tables
    the database's own triggers keep (the queue) get SELECT only.

    :returns: the statements run. :raises WorkflowError: as ``grant_auditor``.
    """
    mutable = [t for t in metadata.tables if t not in APPEND_ONLY and t not in DERIVED]

    def grants(quote: Callable[[str], str], schema: str) -> list[str]:
        def listed(names: Iterable[str]) -> str:
            return ", ".join(f"{quote(schema)}.{quote(n)}" for n in sorted(names))

        return [
            f"GRANT SELECT, INSERT ON {listed(APPEND_ONLY)} TO {quote(role)}",
            f"GRANT SELECT, INSERT, UPDATE ON {listed(mutable)} TO {quote(role)}",
            f"GRANT SELECT ON {listed(DERIVED)} TO {quote(role)}",
            f"GRANT SELECT ON {quote(schema)}.alembic_version TO {quote(role)}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {quote(schema)} TO {quote(role)}",
        ]

    return _grant(engine, role, password, grants, "grant-app")


def _grant(
    engine: Engine, role: str, password: str | None,
    grants: Callable[[Callable[[str], str], str], list[str]], command: str,
) -> list[str]:
    if engine.dialect.name != "postgresql":
        raise WorkflowError(
            f"{command} needs PostgreSQL; on SQLite give auditors a copy of the file, "
            "or a URL opened read-only: sqlite:///file:ektp.db?mode=ro&uri=true"
        )
    if not _ROLE.match(role):
        raise WorkflowError(f"role {role!r}: expected lower-case letters, digits and _, starting with a letter")
    with engine.begin() as conn:
        database, schema = conn.execute(sa.text("SELECT current_database(), current_schema()")).one()
        exists = conn.scalar(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
        quote = conn.dialect.identifier_preparer.quote
        statements = [] if exists else [f"CREATE ROLE {quote(role)} LOGIN"]
        statements += [
            f"GRANT CONNECT ON DATABASE {quote(database)} TO {quote(role)}",
            f"GRANT USAGE ON SCHEMA {quote(schema)} TO {quote(role)}",
            *grants(quote, schema),
        ]
        for statement in statements:
            conn.exec_driver_sql(statement)
        if password:
            conn.execute(sa.text(f"ALTER ROLE {quote(role)} PASSWORD :p"), {"p": password})
            statements.append(f"ALTER ROLE {quote(role)} PASSWORD '***'")
    return statements
