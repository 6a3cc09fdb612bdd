"""How the CLI prints: aligned tables for people, JSON for programs."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

import click

from ..clock import WIB
from ..text import shown

#: The zone times are shown in, set once per command from --tz, --utc or --region.
_zone: dt.tzinfo = WIB


def use_zone(zone: dt.tzinfo) -> None:
    """Show times in ``zone`` from now on (the ``ektp`` group calls it for each command)."""
    global _zone
    _zone = zone


def when(at: dt.datetime | None) -> str:
    """A time as every command shows it: local (the zone in use), to the second, with
    its offset: ``2026-12-02 13:20:05+07:00`` (``+00:00`` with ``--utc``)."""
    if at is None:
        return ""
    return at.astimezone(_zone).isoformat(" ", "seconds")


def local(at: dt.datetime) -> dt.datetime:
    """A time given on the command line: one without a zone is in the zone in use."""
    return at.replace(tzinfo=_zone) if at.tzinfo is None else at


def csv_time(at: dt.datetime) -> str:
    """A time as a CSV file carries it, for a spreadsheet: ISO 8601 in the zone in use,
    to the second (``2026-12-02T13:20:05+07:00``)."""
    return at.astimezone(_zone).isoformat(timespec="seconds")


def iso(at: dt.datetime) -> str:
    """A time as JSON carries it: ISO 8601 in UTC, as stored, to the microsecond
    (whatever ``--tz``: a program compares times, it does not read them)."""
    return at.astimezone(dt.UTC).isoformat()


def _json_default(value: Any) -> str:
    return iso(value) if isinstance(value, dt.datetime) else str(value)


def emit_json(data: Any) -> None:
    """Print ``data`` as indented JSON (dates and times as ISO 8601 strings, times in UTC)."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=_json_default))


def spreadsheet_safe(value: str) -> str:
    """A CSV cell a spreadsheet shows as text: one that would start a formula (``=``,
    ``+``, ``-``, ``@``, a tab or a carriage return) gets a leading apostrophe."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def emit_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[int] = ()) -> None:
    """Print rows as a plain aligned table; columns listed in ``right`` align right."""
    text = [[str(h) for h in headers]] + [["" if v is None else shown(str(v)) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in text) for i in range(len(headers))]
    for n, row in enumerate(text):
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        click.echo("  ".join(cells).rstrip())
        if n == 0:
            click.echo("  ".join("-" * w for w in widths))


def write_file(path: str, text: str) -> Path:
    """Write ``text`` to ``path`` whole or not at all: into a temporary file beside it,
    then renamed over it, so that a full disk or an interruption leaves the old file.

    :raises click.FileError: the folder is missing or cannot be written (nothing written).
    """
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, target)
    except OSError as err:
        temporary.unlink(missing_ok=True)
        raise click.FileError(str(target), hint=err.strerror or str(err)) from err
    return target.resolve()


@contextlib.contextmanager
def output_file(path: str) -> Iterator[TextIO]:
    """A text stream to ``path`` written whole or not at all (``-``: standard output):
    into a temporary file beside it, renamed over it only when everything was written.

    :raises click.FileError: the folder is missing, cannot be written, or the disk is full.
    """
    if path == "-":
        yield sys.stdout
        return
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("w", encoding="utf-8", newline="") as stream:
            yield stream
        os.replace(temporary, target)
    except OSError as err:
        temporary.unlink(missing_ok=True)
        raise click.FileError(str(target), hint=err.strerror or str(err)) from err
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
