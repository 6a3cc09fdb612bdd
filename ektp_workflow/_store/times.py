"""How times and dates are stored: as SQLAlchemy's types store them, converted faster.

Every stored time and every hashed event converts a time to text; a chunk of a bulk
job, a log read back and a single transition share a few distinct times, so the text
of recent times (and the time of recent texts) is remembered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from .schema import UTCDateTime, metadata


class _Recent(dict):  # type: ignore[type-arg]
    """Values made from their key on first use and kept, emptied when full: a hit costs a
    dict lookup, a miss one insert (no LRU bookkeeping)."""

    def __init__(self, make: Callable[[Any], Any], kept: int = 4096) -> None:
        super().__init__()
        self.make, self.kept = make, kept

    def __missing__(self, key: Any) -> Any:
        if len(self) >= self.kept:
            self.clear()
        value = self[key] = self.make(key)
        return value


def utc_text(value: dt.datetime, sep: str) -> str:
    """``value`` in UTC as ``YYYY-MM-DD{sep}HH:MM:SS.ffffff``: what ``strftime`` makes of
    ``%Y-%m-%d{sep}%H:%M:%S.%f``, faster (this runs for every stored time and every
    hashed event).

    Remembered for fixed-offset times; not for a zone with folds, whose times compare
    by wall clock: the two 01:30 of a night the clocks go back would share one text.
    """
    text = _TIMES_WRITTEN[value] if type(value.tzinfo) is dt.timezone else _utc_text(value)
    return text if sep == " " else text.replace(" ", sep, 1)


def _utc_text(value: dt.datetime) -> str:
    utc = value.astimezone(dt.UTC)
    if utc.year < 1000:  # strftime does not pad these years; isoformat does
        return utc.strftime("%Y-%m-%d %H:%M:%S.%f")
    return utc.isoformat(" ", "microseconds")[:26]


# The texts of recent fixed-offset times, with " " between date and time.
_TIMES_WRITTEN = _Recent(_utc_text)
# Times read, one object per text (datetimes are immutable: sharing one is safe; bulk
# relies on it to compare a chunk's shared time once). Dates parse faster than a lookup.
_TIMES_READ = _Recent(lambda text: dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC))
#: The ISO texts of dates (birth dates repeat: a city's residents share a few tens of
#: thousands; ``isoformat`` formats through printf, ten times a lookup).
DATE_TEXTS = _Recent(dt.date.isoformat, kept=65536)


def _sqlite_time(value: dt.datetime) -> str:
    return utc_text(value, " ")  # as schema.UTCDateTime stores times on SQLite


def _sqlite_utc_bind(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"timestamps must be timezone-aware, got {value!r}")
    return _sqlite_time(value)


def _sqlite_utc_result(value: str | None) -> dt.datetime | None:
    return None if value is None else _TIMES_READ[value]


def _sqlite_date_result(value: str | None) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)


# On SQLite, one function for a type where SQLAlchemy chains two (the type's and the
# dialect's) and parses with a regular expression: same values, a few µs less each.
SQLITE_BIND: dict[type, Callable[[Any], Any]] = {UTCDateTime: _sqlite_utc_bind}
SQLITE_RESULT: dict[type, Callable[[Any], Any]] = {UTCDateTime: _sqlite_utc_result, sa.Date: _sqlite_date_result}


def sqlite_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """Rows with their times and dates as SQLite stores them: for a table of the schema,
    only the columns of those types are converted; for any other, every value is looked at."""
    known = metadata.tables.get(table)
    if known is None:
        return [tuple(map(_sqlite_value, row)) for row in rows]
    kinds = [getattr(known.c[name].type, "impl", known.c[name].type) for name in columns]
    convert = [
        (i, _sqlite_time if isinstance(kind, sa.DateTime) else DATE_TEXTS.__getitem__)
        for i, kind in enumerate(kinds)
        if isinstance(kind, sa.DateTime | sa.Date)
    ]
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
