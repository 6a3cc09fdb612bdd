"""Progress on stderr for long commands: only on a terminal, never with --quiet.

With a known total it is a bar with the count done of the total and the time left
(``verifying events  [#####-------]  41,000/100,000  00:00:07``); without one, a
running count with its rate.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

import click

from ..i18n import _, number

Advance = Callable[[int], None]


def _terminal(stream: TextIO) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())


@contextmanager
def progress(
    label: str, quiet: bool, total: int | Callable[[], int | None] | None = None, stream: TextIO | None = None
) -> Iterator[Advance]:
    """Yield ``advance(n)``: a bar with counts and time left when ``total`` is known,
    else a running count with its rate. ``total`` may be a function, called only when
    the progress is shown (counting costs a query or a pass over a file).

    Silent when ``quiet`` or when stderr is not a terminal (piped, redirected, in CI).
    """
    out = stream or sys.stderr
    if quiet or not _terminal(out):
        yield lambda n: None
        return
    if callable(total):
        total = total()
    if total:
        bar: click._termui_impl.ProgressBar[int]
        with click.progressbar(length=total, label=label, file=out, show_pos=True, show_eta=True) as bar:
            bar.format_pos = lambda: f"{number(min(bar.pos, total))}/{number(total)}"  # type: ignore[method-assign]
            yield bar.update
        return
    with _counter(label, out) as advance:
        yield advance


@contextmanager
def _counter(label: str, out: TextIO) -> Iterator[Advance]:
    done, started, shown = 0, time.monotonic(), 0.0

    def advance(n: int) -> None:
        nonlocal done, shown
        done += n
        now = time.monotonic()
        if now - shown >= 0.2:  # a terminal redrawn at most five times a second
            shown = now
            out.write(
                "\r"
                + _("{label}: {done:,} ({rate:,.0f}/s)").format(
                    label=label, done=done, rate=done / max(now - started, 1e-9)
                )
            )
            out.flush()

    yield advance
    if done:
        took = time.monotonic() - started
        out.write(
            "\r"
            + _("{label}: {done:,} done in {seconds:,.1f} s").format(label=label, done=done, seconds=took)
            + "\x1b[K\n"
        )
        out.flush()


def rows_in(path: str) -> int | None:
    """The number of data rows of a CSV file, for a progress bar: its lines but the
    header (a quoted line break counts twice); None if it cannot be read."""
    lines, last = 0, b"\n"
    try:
        with open(path, "rb") as stream:
            while block := stream.read(1 << 20):
                lines, last = lines + block.count(b"\n"), block[-1:]
    except OSError:
        return None
    return max(0, lines + (last != b"\n") - 1)


def stage(message: str, quiet: bool, stream: TextIO | None = None) -> None:
    """Say what a long command is doing now, on a terminal only."""
    out = stream or sys.stderr
    if not quiet and _terminal(out):
        out.write(message + "\n")
        out.flush()
