"""The Store: one database, its transactions, and the one place errors are translated."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..errors import DatabaseBusy, SchemaError
from ..i18n import _
from . import lifecycles
from .driver import Driver
from .engine import create_engine, reading, refuse_missing_sqlite_file
from .errors import translated, translated_errors
from .schema import REVISION
from .settings import default_url

__all__ = ["BUSY_RETRIES", "Connection", "Driver", "Store", "Tx"]

#: The handle a transaction gives the Store's functions: a SQLAlchemy Connection, or on
#: the driver path (``Store.on_driver``) the DBAPI connection itself.
Tx = Connection | Driver
#: Attempts at a transaction that finds the database busy (SQLite locked, a deadlock).
BUSY_RETRIES = 4
T = TypeVar("T")


#: How long a long job leaves the chain head free between its transactions.
WRITER_GAP = 0.1


class Store:
    """One database: transactions, read-only readings, scratch work, retries, the driver path.

    On an Engine every transaction is the Store's own; on a caller's Connection each is
    a SAVEPOINT of the caller's transaction, which the caller commits or rolls back.
    Driver errors leave as ``ektp_workflow.errors``: ``DatabaseBusy`` (worth retrying),
    ``WriteConflict`` (a key or constraint) or ``DatabaseError``.
    """

    def __init__(self, bind: Engine | Connection) -> None:
        self._engine = bind if isinstance(bind, Engine) else None
        self._connection = bind if isinstance(bind, Connection) else None
        self._owns_engine = False

    @classmethod
    def open(cls, target: str | sa.URL | Engine | Connection | None = None) -> Store:
        """A Store on a URL (default ``EKTP_DATABASE_URL`` or ``sqlite:///ektp.db``; a
        SQLite file must exist), an Engine or a Connection.

        :raises SchemaError: the SQLite file does not exist (opening it would create it).
        """
        if isinstance(target, Engine | Connection):
            return cls(target)
        url = target or default_url()
        refuse_missing_sqlite_file(url)
        store = cls(create_engine(url))
        store._owns_engine = True
        return store

    def close(self) -> None:
        """Release the engine if this Store created it."""
        if self._owns_engine and self._engine is not None:
            self._engine.dispose()

    @property
    def owns_transactions(self) -> bool:
        """Whether transactions are the Store's own (on an Engine), not savepoints of a caller's."""
        return self._engine is not None

    @contextmanager
    def transaction(self, *, dry_run: bool = False, read_only: bool = False) -> Iterator[Connection]:
        """One transaction, or a SAVEPOINT in the caller's.

        :param dry_run: roll back at the end instead of committing (for checks that write).
        :param read_only: one snapshot, no write lock (see ``reading``).
        """
        with translated_errors(_("database error")):
            if self._connection is not None:
                savepoint = self._connection.begin_nested()
                try:
                    yield self._connection
                except BaseException:
                    savepoint.rollback()
                    raise
                if dry_run:
                    savepoint.rollback()
                else:
                    savepoint.commit()
                return
            assert self._engine is not None  # one of the two is always set
            with self._engine.connect() as plain:
                conn = reading(plain) if read_only else plain
                db, committed = Driver.of(conn), False
                lifecycles.transaction_started(db)
                try:
                    with conn.begin() as outer:
                        yield conn
                        if dry_run:
                            outer.rollback()
                    committed = not dry_run
                finally:
                    lifecycles.transaction_ended(db, committed)

    def reading(self, snapshot: str | None = None) -> AbstractContextManager[Connection]:
        """A read-only transaction with one consistent snapshot, no write lock (audits, reports).

        :param snapshot: a snapshot another transaction shares (``shared_reading``): this
            one sees exactly what that one sees (PostgreSQL).
        """
        if snapshot is None:
            return self.transaction(read_only=True)
        return self._joined(snapshot)

    @contextmanager
    def _joined(self, snapshot: str) -> Iterator[Connection]:
        if not re.fullmatch(r"[0-9A-Fa-f-]+", snapshot):
            raise ValueError(f"not a snapshot id: {snapshot!r}")
        with self.transaction(read_only=True) as conn:
            conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")  # checked above: hex and dashes
            yield conn

    @contextmanager
    def shared_reading(self) -> Iterator[tuple[Connection, str | None]]:
        """A reading transaction whose snapshot other processes can join, with the id they
        join it by (``reading(snapshot=...)``), valid while it lasts. On PostgreSQL the
        exported snapshot; on SQLite None: each reader has a snapshot of its own (rows
        already in the chain never change, so readers of a fixed range agree)."""
        with self.reading() as conn:
            if conn.dialect.name == "postgresql":
                yield conn, str(conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar())
            else:
                yield conn, None

    def let_others_write(self) -> None:
        """Between the transactions of a long job, a moment with the chain head free: a
        desk waiting for it takes it, and one firing several changes in a row gets them
        in (on SQLite its busy handler polls, sleeping up to 100 ms, and would otherwise
        lose the race to the job's next transaction every time; on PostgreSQL a desk
        waiting gets the head first, but its next change would wait a whole chunk)."""
        if self._engine is not None:  # a caller's own transaction: the caller decides
            time.sleep(WRITER_GAP)

    def worker_url(self) -> str | None:
        """The URL another process opens this database with (its password included), or
        None when none can: a Store on a caller's connection, an in-memory SQLite."""
        if self._engine is None:
            return None
        url = self._engine.url
        if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
            return None
        return url.render_as_string(hide_password=False)

    def scratch(self) -> AbstractContextManager[Connection]:
        """A transaction that writes temporary tables only: on SQLite, whose temporary tables
        live outside the database file, it takes no write lock."""
        bind = self._engine if self._engine is not None else self._connection
        assert bind is not None
        return self.transaction(read_only=bind.dialect.name == "sqlite")

    def retrying(self, work: Callable[[Connection], T], dry_run: bool = False) -> T:
        """Run ``work`` in a transaction; if the database was busy, try again (a few times).

        Only on a Store that owns its transactions: a caller's transaction that failed is
        the caller's to retry.

        :param dry_run: roll the transaction back at the end (``transaction``'s).
        """
        return self._retried(lambda: self._in_transaction(work, dry_run))

    def on_driver(self, work: Callable[[Driver], T]) -> T:
        """Run ``work`` in a transaction on a pooled driver connection, without a SQLAlchemy
        Connection (for single transitions, where SQLAlchemy's own work would cost more
        than the database's); retried as ``retrying`` is. Needs ``owns_transactions``."""
        return self._retried(lambda: self._driver_transaction(work))

    def check_schema(self) -> None:
        """Refuse to work on a database whose schema is not the one this code expects.

        :raises SchemaError: saying which revision is there and how to upgrade.
        """
        with self.reading() as conn:
            found = _stored_revision(conn)
        if found == REVISION:
            return
        if found is None:
            raise SchemaError(_("the database has no ektp_workflow schema yet; run `ektp db upgrade` first"))
        raise SchemaError(
            _("the database schema is at revision {found}, this version needs {needed}; run `ektp db upgrade`").format(
                found=found, needed=REVISION
            )
        )

    def _in_transaction(self, work: Callable[[Connection], T], dry_run: bool = False) -> T:
        with self.transaction(dry_run=dry_run) as conn:
            return work(conn)

    def _retried(self, attempt: Callable[[], T]) -> T:
        for tries in range(BUSY_RETRIES):
            try:
                return attempt()
            except DatabaseBusy:
                if self._connection is not None or tries == BUSY_RETRIES - 1:
                    raise
                time.sleep(0.05 * 4**tries)
        raise AssertionError("unreachable")

    def _driver_transaction(self, work: Callable[[Driver], T]) -> T:
        # Plain try blocks, no context managers: this runs once per single transition.
        assert self._engine is not None, "the driver path needs a Store that owns its transactions"
        try:
            pooled = self._engine.raw_connection()
            try:
                db, committed = Driver(pooled.driver_connection, self._engine.dialect, pooled.info), False
                lifecycles.transaction_started(db)
                try:
                    db.begin()
                    result = work(db)
                    db.commit()
                    committed = True
                    return result
                except sa.exc.DBAPIError as err:
                    orig: Any = err.orig
                    if self._engine.dialect.is_disconnect(orig, pooled.dbapi_connection, None):
                        pooled.invalidate(err)  # a dead connection does not go back to the pool
                    else:
                        db.rollback()
                    raise
                except BaseException:
                    db.rollback()
                    raise
                finally:
                    lifecycles.transaction_ended(db, committed)
            finally:
                pooled.close()
        except (sa.exc.OperationalError, sa.exc.IntegrityError) as err:
            raise translated(err, _("database error")) from err


def _stored_revision(conn: Connection) -> str | None:
    """The migration the database is at, read without Alembic (which takes a tenth of a
    second to load); None for a database without the schema."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    found = list(conn.scalars(sa.text("SELECT version_num FROM alembic_version")))
    return ", ".join(sorted(found)) or None
