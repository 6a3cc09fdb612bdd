"""How the CLI prints: aligned tables for people, JSON for programs."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from ..text import shown


def emit_json(data: Any) -> None:
    """Print ``data`` as indented JSON (dates as ISO 8601 strings)."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


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
