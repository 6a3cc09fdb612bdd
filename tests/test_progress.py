"""Progress on a terminal: a bar with counts and time left when the total is known, a
running count with its rate when not; nothing when piped or quiet."""

from __future__ import annotations

import io

from ektp_workflow.cli.progress import progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_known_total_shows_the_count_done_of_the_total_and_the_time_left() -> None:
    terminal = _Terminal()
    with progress("verifying events", False, total=100_000, stream=terminal) as advance:
        for _step in range(10):
            advance(10_000)
    shown = terminal.getvalue()
    assert "verifying events" in shown and "100,000/100,000" in shown and "#" in shown
    assert "50,000/100,000" in shown or "40,000/100,000" in shown or "60,000/100,000" in shown


def test_an_unknown_total_shows_a_running_count_and_what_it_took() -> None:
    terminal = _Terminal()
    with progress("reading residents.csv", False, stream=terminal) as advance:
        advance(1_500)
    assert "reading residents.csv: 1,500 done in" in terminal.getvalue()


def test_nothing_when_piped_or_quiet() -> None:
    piped, quiet = io.StringIO(), _Terminal()
    for stream, silent in ((piped, False), (quiet, True)):
        with progress("x", silent, total=10, stream=stream) as advance:
            advance(10)
    assert piped.getvalue() == quiet.getvalue() == ""


def test_a_total_given_as_a_function_is_counted_only_when_shown(tmp_path) -> None:
    from ektp_workflow.cli.progress import rows_in

    calls = []

    def total() -> int:
        calls.append(1)
        return 3

    with progress("x", False, total=total, stream=io.StringIO()) as advance:
        advance(3)
    assert calls == []
    with progress("x", False, total=total, stream=_Terminal()) as advance:
        advance(3)
    assert calls == [1]
    path = tmp_path / "f.csv"
    path.write_bytes(b"nik,name\n1,a\n2,b")
    assert rows_in(str(path)) == 2
    path.write_bytes(b"nik,name\n1,a\n2,b\n")
    assert rows_in(str(path)) == 2
    path.write_bytes(b"")
    assert rows_in(str(path)) == 0
    assert rows_in(str(tmp_path / "missing.csv")) is None
