"""PostgreSQL transactions in two round trips, for single transitions.

psycopg sends ``BEGIN`` on its own before a transaction's first statement and
``COMMIT`` on its own after the last: four round trips for a transition of two
statements. Here the ``BEGIN`` goes with the first statement and the ``COMMIT`` with
the last, as one simple query each (``BEGIN; EXECUTE ...`` and ``EXECUTE ...;
COMMIT``). The statements are prepared once per connection (``PREPARE ektp_<hash>``)
and psycopg binds their values on the client, quoted as literals.

psycopg drops every statement prepared on a connection (``DEALLOCATE ALL``) when it
resets its own, as after its ``rollback()``: a rollback here goes straight through
libpq instead, and a transaction's first statement that finds itself gone rolls back,
prepares again and runs again.
"""

from __future__ import annotations

import functools
import hashlib
import re
import weakref
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from ..errors import DatabaseBusy
from ..i18n import _
from .errors import ALREADY_PREPARED, NOT_PREPARED, sqlstate, wrapped

_BIND = re.compile(r"%\((\w+)\)s")


class Trips:
    """One PostgreSQL connection's two-round-trip state."""

    __slots__ = ("autocommit", "begin", "command", "prepared")

    def __init__(self) -> None:
        #: None: not in such a transaction; True: its BEGIN goes with the next statement; False: sent.
        self.begin: bool | None = None
        #: the BEGIN to send, with the connection's isolation level, read-only and deferrable settings.
        self.command = "BEGIN"
        #: the connection's autocommit setting before the transaction, restored after it.
        self.autocommit = False
        #: the statements prepared on the connection, by statement: name, and bind names in order.
        self.prepared: dict[Any, tuple[str, list[str]]] = {}

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

    def takes(self, commit: bool) -> bool:
        """Whether the next statement goes this way: it carries the BEGIN, or the COMMIT."""
        return bool(self.begin) or (commit and self.begin is not None)

    def run(
        self,
        connection: Any,
        statement: Any,
        sql: str,
        arguments: dict[str, Any],
        commit: bool,
        dialect: sa.Dialect,
        again: bool = False,
    ) -> Any:
        """Run ``statement`` (compiled to ``sql``) prepared, with the pending BEGIN before it
        and, if ``commit``, COMMIT after it, in one round trip; return the cursor.

        A transaction's first statement that finds the prepared statements gone starts
        over; a later one (which cannot happen unless something else ran in between)
        raises ``DatabaseBusy``, which the Store retries.
        """
        prepared = self.prepared.get(statement)
        if prepared is None:
            prepared = self.prepared[statement] = self._prepare(connection, statement, sql, dialect)
        name, names = prepared
        execute = f"EXECUTE {name}({', '.join(['%s'] * len(names))})" if names else f"EXECUTE {name}"
        begin, self.begin = self.begin, False
        cursor = _psycopg()[0](connection)
        try:
            cursor.execute(
                f"{self.command + '; ' if begin else ''}{execute}{'; COMMIT' if commit else ''}",
                [arguments[n] for n in names],
            )
        except dialect.loaded_dbapi.Error as err:
            cursor.close()
            if sqlstate(err) == NOT_PREPARED:
                self.prepared.clear()  # they all went together
                if begin and not again:  # nothing done yet: start over
                    call("ROLLBACK", connection.rollback, dialect)
                    self.begin = True
                    return self.run(connection, statement, sql, arguments, commit, dialect, again=True)
                raise DatabaseBusy(
                    _("{name} was dropped from the connection; nothing was written").format(name=name)
                ) from err
            raise wrapped(execute, arguments, err, dialect) from err
        if begin:
            cursor.nextset()  # past BEGIN's result to the statement's
        return cursor

    def _prepare(self, connection: Any, statement: Any, sql: str, dialect: sa.Dialect) -> tuple[str, list[str]]:
        """PREPARE ``sql`` on the connection; return its name and bind names in parameter
        order ($1, $2, ...). The compiled SQL casts every bind (``%(seq)s::BIGINT``), which
        gives each parameter its type. The name is the SQL's hash: a statement found
        prepared already under it (a connection shared through a pooler) is the same one."""
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match.group(1) not in names:
                names.append(match.group(1))
            return f"${names.index(match.group(1)) + 1}"

        body = _BIND.sub(number, sql)
        name = f"ektp_{hashlib.sha256(body.encode()).hexdigest()[:20]}"
        prepare = f"PREPARE {name} AS {body}"
        try:
            connection.execute(prepare)
        except dialect.loaded_dbapi.Error as err:
            if sqlstate(err) != ALREADY_PREPARED:
                raise wrapped(prepare, None, err, dialect) from err
            if connection.pgconn.transaction_status != _psycopg()[1].TransactionStatus.IDLE:
                # it failed the transaction it ran in: again, knowing it is there
                self.prepared[statement] = (name, names)
                raise DatabaseBusy(_("{name} was prepared already; nothing was written").format(name=name)) from err
        return name, names


def trips_of(connection: Any) -> Trips | None:
    """The connection's two-round-trip state, if a transaction ever started that way on it."""
    return _TRIPS.get(connection)


def start(connection: Any) -> None:
    """Start a transaction whose BEGIN goes with its first statement."""
    trips = _TRIPS.get(connection) or _TRIPS.setdefault(connection, Trips())
    trips.start(connection)


def rollback_keeping_prepared(connection: Any) -> None:
    """ROLLBACK straight through libpq: psycopg's ``rollback()`` would also drop every
    statement prepared on the connection, and the next fire would prepare its two again."""
    pq = _psycopg()[1]
    if connection.pgconn.transaction_status == pq.TransactionStatus.IDLE:
        return
    result = connection.pgconn.exec_(b"ROLLBACK")
    if result.status != pq.ExecStatus.COMMAND_OK:
        connection.rollback()  # let psycopg say what is wrong


def call(what: str, work: Callable[[], Any], dialect: sa.Dialect) -> None:
    """Run a driver call (BEGIN, COMMIT, ROLLBACK), its errors raised as SQLAlchemy's."""
    try:
        work()
    except dialect.loaded_dbapi.Error as err:
        raise wrapped(what, None, err, dialect) from err


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


# By driver connection (a new connection after a reconnect starts with none prepared).
_TRIPS: weakref.WeakKeyDictionary[Any, Trips] = weakref.WeakKeyDictionary()


@functools.cache
def _psycopg() -> tuple[Any, Any]:
    """psycopg's ClientCursor and pq, imported when first needed (SQLite needs neither)."""
    from psycopg import ClientCursor, pq

    return ClientCursor, pq
