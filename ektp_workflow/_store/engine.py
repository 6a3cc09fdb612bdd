"""Engines with the settings the Store relies on, and connections set for reading."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..errors import DatabaseError, SchemaError
from ..i18n import _

SQLITE_BUSY_TIMEOUT_MS = 30_000
#: Execution option marking a connection whose transactions only read.
READ_ONLY = "ektp_read_only"


def create_engine(url: str | sa.URL, **kwargs: Any) -> Engine:
    """An engine with the settings ektp_workflow relies on.

    On SQLite: WAL journal, foreign keys on, a busy timeout, and ``BEGIN IMMEDIATE``
    for every transaction so two writers queue instead of failing on lock upgrade.

    :raises DatabaseError: the URL cannot be parsed or its driver is missing.
    """
    try:
        # No ping before each use (a round trip): a connection found lost invalidates the
        # pool's older ones, so after a failover one call fails (ConnectionLost) and the
        # next reaches the new primary.
        engine = sa.create_engine(url, **kwargs)
    except ImportError as err:  # the dialect's driver is not installed
        raise DatabaseError(_cannot_use(_shown(url), _missing_driver(err))) from err
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as err:
        raise DatabaseError(_cannot_use(_shown(url), str(err))) from err
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _shown(url: str | sa.URL) -> str:
    """The URL without its password."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return str(url)


def _cannot_use(url: str, why: str) -> str:
    return _("cannot use database URL {url}: {why}").format(url=url, why=why)


def _missing_driver(err: ImportError) -> str:
    if err.name in ("psycopg", "psycopg2"):
        return _(
            "the PostgreSQL driver ({driver}) is not installed: "
            "pip install 'ektp_workflow[postgresql]' (or pip install 'psycopg[binary]')"
        ).format(driver=err.name)
    return _("its driver is not installed ({error})").format(error=err)


def refuse_missing_sqlite_file(url: str | sa.URL) -> None:
    """Opening a missing SQLite file would create an empty one as a side effect.

    :raises SchemaError: the URL names a SQLite file that does not exist.
    :raises DatabaseError: the URL cannot be parsed.
    """
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as err:
        raise DatabaseError(_cannot_use(str(url), str(err))) from err
    file = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if file and file != ":memory:" and not file.startswith("file:") and not Path(file).exists():
        raise SchemaError(_("no database file {file}; create it with `ektp db upgrade`").format(file=file))


def reading(connection: Connection) -> Connection:
    """The connection set for a long read: one consistent snapshot, no write lock held."""
    if connection.dialect.name == "postgresql":
        return connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    return connection.execution_options(**{READ_ONLY: True})


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
