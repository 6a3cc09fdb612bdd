"""Progress on stderr for long commands: only on a terminal, never with --quiet."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

import click

Advance = Callable[[int], None]


def _terminal(stream: TextIO) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())


@contextmanager
def progress(label: str, quiet: bool, total: int | None = None, stream: TextIO | None = None) -> Iterator[Advance]:
    """Yield ``advance(n)``: a bar when ``total`` is known, else a running count.

    Silent when ``quiet`` or when stderr is not a terminal (piped, redirected, in CI).
    """
    out = stream or sys.stderr
    if quiet or not _terminal(out):
        yield lambda n: None
        return
    if total:
        with click.progressbar(length=total, label=label, file=out, show_pos=True) as bar:
            yield bar.update
        return
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        out.write(f"\r{label}: {done:,}")
        out.flush()

    yield advance
    out.write(f"\r{label}: {done:,} done\n" if done else "")


def stage(message: str, quiet: bool, stream: TextIO | None = None) -> None:
    """Say what a long command is doing now, on a terminal only."""
    out = stream or sys.stderr
    if not quiet and _terminal(out):
        out.write(message + "\n")
        out.flush()
