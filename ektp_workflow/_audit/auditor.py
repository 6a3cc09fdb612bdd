"""The audit API: ``Workflow.audit``. Read-only: nothing here writes."""

from __future__ import annotations

import datetime as dt
from typing import TextIO

from .._services import cards
from .._store import eventlog, residents
from .._store.history import Progress
from .._store.store import Store
from ..errors import CardNotFound, InvalidTime
from ..i18n import _
from ..nik import lookup_key, parse_nik
from ..records import Event, ResidentVersion
from . import explain, export, replay, verify

#: Nothing this system records happened before it.
EARLIEST_YEAR = 1900


class Auditor:
    """Verify, replay, explain and export, each in one consistent read-only snapshot."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def checkpoint(self) -> tuple[int, str]:
        """The chain head (sequence number, hash), for an auditor to keep outside the system."""
        with self._store.reading() as conn:
            return eventlog.head(conn)

    def verify(
        self, against: tuple[int, str] | None = None, progress: Progress | None = None, jobs: int = 1
    ) -> verify.Verification:
        """Re-hash the log; compare with the chain head and a kept checkpoint ``(seq, hash)``.

        :param progress: called with the number of rows of the chain read, page by page.
        :param jobs: verify in this many processes at once, each a range of the chain
            (one where the chain is short, or the Store is on a caller's connection).
        """
        if jobs > 1:
            from .parallel import verify_in_parallel

            return verify_in_parallel(self._store, jobs, against, progress)
        with self._store.reading() as conn:
            return verify.verify(conn, against, progress)

    def replay(
        self,
        *,
        until_seq: int | None = None,
        as_of: dt.datetime | None = None,
        by: str = "recorded",
        progress: Progress | None = None,
        compare: bool = False,
    ) -> tuple[replay.Replay, dict[str, dict[str, int]]]:
        """Fold the log up to a point; return the fold and the card counts per kecamatan and state.

        :param as_of: timezone-aware; ``by`` says whether it bounds the time events were
            recorded (what the system showed then) or the time they occurred.
        :param compare: also compare the whole fold with every stored projection, in the
            same snapshot (``Replay.mismatches``); only for a replay to the head.
        :raises ValueError: ``by`` is neither ``recorded`` nor ``occurred``, or a
            comparison was asked of a replay that stops before the head.
        """
        if by not in ("recorded", "occurred"):
            raise ValueError(_("by must be 'recorded' or 'occurred', not {by!r}").format(by=by))
        if as_of is not None and as_of.year < EARLIEST_YEAR:
            raise InvalidTime(
                _("--as-of {as_of}: a replay goes back to {year} at the earliest").format(
                    as_of=as_of.isoformat(), year=EARLIEST_YEAR
                )
            )
        if compare and (until_seq is not None or as_of is not None):
            raise ValueError(_("only a replay to the head can be compared with stored state"))
        with self._store.reading() as conn:
            folded = replay.replay(conn, until_seq, as_of, by, progress)
            if compare:
                folded.mismatches = replay.compare(conn, folded)
            return folded, folded.counts(conn)

    def compare(self) -> list[str]:
        """Fold the whole log and list every way stored state (cards, blanks, ledger) differs."""
        with self._store.reading() as conn:
            folded = replay.replay(conn)
            return folded.problems + replay.compare(conn, folded)

    def history(self, nik: str) -> list[Event]:
        """Every event of a card, with actor, reason, times and rule-set version."""
        return cards.history(self._store, nik)

    def resident_history(self, nik: str) -> list[ResidentVersion]:
        """Every version of the resident's data, oldest first: as registered, then each
        correction (with its reason and evidence) and each change an effect made."""
        value = lookup_key(nik)
        with self._store.reading() as conn:
            found = residents.versions(conn, value)
        if not found:
            raise CardNotFound(parse_nik(value).value)
        return found

    def explain(self, nik: str) -> explain.Explanation:
        """Why the card got a blank or not, from every recorded allocation it waited in."""
        value = parse_nik(nik).value
        with self._store.reading() as conn:
            return explain.explain(conn, value)

    def export(
        self,
        out: TextIO,
        fmt: str = "jsonl",
        from_seq: int = 0,
        unmasked: bool = False,
        progress: Progress | None = None,
    ) -> int:
        """Write the event log to ``out`` as JSON lines or CSV; return the number of events."""
        with self._store.reading() as conn:
            return export.export(conn, out, fmt, from_seq, unmasked, progress)
