"""Driver errors as the rest of the package sees them: ``ektp_workflow.errors``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from ..errors import ConnectionLost, DatabaseBusy, DatabaseError, WriteConflict
from ..i18n import _

# A statement prepared on a PostgreSQL connection was dropped (see ``roundtrips``).
NOT_PREPARED = "26000"
# ... or exists already on it.
ALREADY_PREPARED = "42P05"
# A write in a read-only transaction (an auditor's role, a hot standby), or one the role
# has no privilege for.
READ_ONLY = "25006"
NOT_PERMITTED = "42501"
# "cannot set transaction read-write mode during recovery": a write begun on a standby.
IN_RECOVERY = "0A000"
# Serialization failure, deadlock, lock not available (PostgreSQL SQLSTATEs).
_RETRYABLE_STATES = {"40001", "40P01", "55P03"}


@contextmanager
def translated_errors(what: str) -> Iterator[None]:
    """Turn the database's errors into ``DatabaseError`` (``DatabaseBusy`` when worth
    retrying, ``WriteConflict`` for a violated key or constraint)."""
    try:
        yield
    except (sa.exc.OperationalError, sa.exc.IntegrityError, sa.exc.DataError) as err:
        raise translated(err, what) from err
    except (sa.exc.InternalError, sa.exc.ProgrammingError, sa.exc.NotSupportedError) as err:
        state = sqlstate(err.orig)
        if state == IN_RECOVERY and "recovery" in str(err.orig):  # a standby: read-write refused
            state = READ_ONLY
        if state not in (READ_ONLY, NOT_PERMITTED):
            raise
        why = (
            _("may only read (an auditor's role, or a standby)")
            if state == READ_ONLY
            else _("is not permitted: {error}").format(error=err.orig)
        )
        raise DatabaseError(_("{what}: this connection {why}; nothing was written").format(what=what, why=why)) from err


def translated(err: sa.exc.DBAPIError, what: str) -> DatabaseError:
    """The ``DatabaseError`` to raise for ``err``."""
    if isinstance(err, sa.exc.IntegrityError):
        return WriteConflict(f"{what}: {err.orig}")
    if isinstance(err, sa.exc.DataError):  # a value the column cannot hold
        return DatabaseError(
            _("{what}: a value cannot be stored ({error}); nothing was written").format(what=what, error=err.orig)
        )
    if _busy(err):
        return DatabaseBusy(
            _("{what}: the database is busy ({error}); nothing was written").format(what=what, error=err.orig)
        )
    if _lost(err):
        return ConnectionLost(
            _(
                "{what}: the connection to the database was lost ({error}); the change under way "
                "may or may not have been written: check before running it again"
            ).format(what=what, error=str(err.orig).strip())
        )
    return DatabaseError(f"{what}: {err.orig}")


def wrapped(sql: str, arguments: Any, err: Exception, dialect: sa.Dialect) -> sa.exc.StatementError:
    """What SQLAlchemy raises for a driver error, so that a statement run on the driver
    fails as any statement does (and is translated as any is)."""
    return sa.exc.DBAPIError.instance(sql, arguments, err, dialect.loaded_dbapi.Error, dialect=dialect)


def sqlstate(err: BaseException | None) -> str | None:
    """The SQLSTATE of a PostgreSQL driver error (None for others)."""
    return getattr(err, "sqlstate", None)


# Admin shutdown, crash shutdown, cannot connect now; connection exceptions (class 08).
_LOST_STATES = {"57P01", "57P02", "57P03"}
_LOST_WORDS = (
    "server closed the connection",
    "connection refused",
    "could not connect",
    "terminating connection",
    "connection is closed",
    "consuming input failed",
    "the connection is lost",
    "is shutting down",
    "no connection to the server",
)


def _lost(err: sa.exc.DBAPIError) -> bool:
    state = sqlstate(err.orig) or ""
    text = str(err.orig).lower()
    return (
        err.connection_invalidated
        or state in _LOST_STATES
        or state.startswith("08")
        or any(words in text for words in _LOST_WORDS)
    )


def _busy(err: sa.exc.DBAPIError) -> bool:
    text = str(err.orig).lower()
    state = sqlstate(err.orig)
    return (
        "database is locked" in text or "database is busy" in text or (state is not None and state in _RETRYABLE_STATES)
    )
