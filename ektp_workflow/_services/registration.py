"""Registering residents: validated as a whole, written in chunks, all or nothing.

Every record is checked even after a problem is found, so that all bad lines are
reported at once; once there is a problem nothing more is written, and the
``InputFileError`` raised rolls back what was.

Memory stays flat whatever the size of the file: a NIK the file repeats is found in
the database, not in a dict. A NIK first met on an earlier line was either registered
by this import (the import notes the line of every resident it registers, see
``scratch.ImportLines``) or was known before it, in which case the import notes it,
with its line, in a temporary table of the transaction (``scratch.SeenNiks``); so is
every NIK met after the first bad line, when nothing more is written. Each
registration event records the import (its batch id) and the line.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal

from .._provenance import event_time, require_actor
from .._residents import RESIDENT_FIELDS, ValidResident, validate_resident
from .._store import eventlog, residents
from .._store.chunks import chunked
from .._store.residents import StoredResident
from .._store.scratch import ImportLines, SeenNiks
from .._store.store import Connection, Store
from ..errors import ProblemList, RowProblem, WorkflowError
from ..i18n import _
from ..records import REGISTER, Correction, Registration
from ..states import Lifecycle
from . import corrections
from .transitions import Transitions

Numbered = Iterable[tuple[int, Any]]
#: What a file always gives, and an import with updates always compares.
_ALWAYS = ("name", "kecamatan")


def register(
    store: Store,
    lifecycle: Lifecycle,
    numbered: Numbered,
    *,
    actor: str,
    at: dt.datetime | None = None,
    source: str = "residents",
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    update: bool = False,
) -> Registration:
    """See ``Workflow.register_numbered``."""
    actor, when = require_actor(actor), event_time(at)
    with store.transaction(dry_run=dry_run) as tx:
        done = _Import(tx, lifecycle, actor, when, source).run(
            numbered, progress, update and Transitions(store, lifecycle)
        )
    if dry_run:  # nothing was chained
        return Registration(done.added, done.unchanged, tuple(map(corrections.unwritten, done.corrections)))
    return done


class _Import:
    """One import of residents, in the caller's transaction."""

    def __init__(self, tx: Connection, lifecycle: Lifecycle, actor: str, at: dt.datetime, source: str) -> None:
        eventlog.lock_head(tx)  # every writer takes the chain head first: one lock order
        self.tx, self.lifecycle, self.actor, self.at, self.source = tx, lifecycle, actor, at, source
        self.origin = Path(source).name or source
        self.batch = f"registration-{uuid.uuid4().hex[:12]}"
        self.problems = ProblemList()
        self.seen = SeenNiks(tx, self.batch)
        self.lines = ImportLines(tx, self.batch)
        self.added = self.unchanged = 0
        #: with updates: the corrections the file asks for, ``(line, nik, changes)``, and
        #: the optional fields each line of the chunk gives.
        self.updates: list[tuple[int, str, dict[str, Any]]] | None = None
        self.given: dict[int, frozenset[str] | None] = {}

    def run(
        self, numbered: Numbered, progress: Callable[[int], None] | None, updating: Transitions | Literal[False]
    ) -> Registration:
        """Check and write every chunk; with updates, correct the residents whose data
        differ; refuse the whole file if any line is bad.

        :raises InputFileError: listing the bad lines (the first ``errors.MAX_PROBLEMS``) and their count.
        """
        if updating:
            self.updates = []
        for chunk in chunked(numbered):
            self._chunk(chunk)
            if progress is not None:
                progress(len(chunk))
        corrections = self._correct(updating) if updating and not self.problems else ()
        if self.problems:
            raise self.problems.error(self.source)
        self.seen.drop()
        self.lines.drop()
        return Registration(self.added, self.unchanged, corrections)

    def _correct(self, transitions: Transitions) -> tuple[Correction, ...]:
        """Apply the file's differences as corrections, each with its line as the reason."""
        done = []
        for line, nik, changes in self.updates or ():
            try:
                reason = f"line {line} of {self.origin}"  # kept in the history: not translated
                done.append(corrections.apply(self.tx, transitions, nik, changes, self.actor, reason, None, self.at))
            except WorkflowError as err:
                self.problems.append(RowProblem(line, _("NIK {nik}: {error}").format(nik=nik, error=err)))
        return tuple(done)

    def _chunk(self, chunk: list[tuple[int, Any]]) -> None:
        if self.updates is not None:  # the fields each line gives, for its corrections
            self.given = {line: getattr(item, "given", None) for line, item in chunk}
        valid = _first_in_chunk(_validate(chunk, self.problems, self.at.date()), self.problems)
        stored = residents.stored(self.tx, [r.nik for __, r in valid])
        # residents this import registered on an earlier line, by card id, with that line
        earlier = self.lines.lines_of(s.id for s in stored.values()) if stored and self.added else {}
        new, known = [], []
        for line, resident in valid:
            row = stored.get(resident.nik)
            if row is None:
                new.append((line, resident))
            elif row.id in earlier:
                self.problems.append(RowProblem(line, _repeated(resident.nik, earlier[row.id])))
            else:
                known.append((line, resident))
        if self.problems:  # nothing more is written: the temporary table remembers the new NIKs
            known += new
            new = []
        if known:
            self._compare(known, stored)
        if new:
            self._write(new)

    def _compare(self, known: list[tuple[int, ValidResident]], stored: dict[str, StoredResident]) -> None:
        """Residents known before the import: the first line of each must have their data."""
        firsts = set(self.seen.first_lines(sorted((line, r.nik) for line, r in known), self.problems))
        for line, resident in known:
            row = stored.get(resident.nik)
            if line not in firsts or row is None:
                continue
            if self.updates is None:
                self.unchanged += _unchanged(line, resident, row, self.problems)
                continue
            given = self.given.get(line)
            fields = [f for f in RESIDENT_FIELDS if f in _ALWAYS or given is None or f in given]
            changes = {
                f: getattr(resident, f)
                for f, value in zip(RESIDENT_FIELDS, row.data, strict=True)
                if f in fields and value != getattr(resident, f)
            }
            if changes:
                self.updates.append((line, resident.nik, changes))
            else:
                self.unchanged += 1

    def _write(self, new: list[tuple[int, ValidResident]]) -> None:
        lifecycle = self.lifecycle
        written = [r for __, r in new]
        ids = residents.insert(self.tx, written, self.at, lifecycle.initial)
        lines = [line for line, __ in new]
        reasons = [f"line {line} of {self.origin}" for line in lines]  # kept in the history: not translated
        self.lines.add(ids, lines)
        eventlog.append(
            self.tx,
            [
                eventlog.event_row(
                    i,
                    1,
                    REGISTER,
                    None,
                    lifecycle.initial,
                    self.actor,
                    reason,
                    self.at,
                    lifecycle.hash,
                    batch_id=self.batch,
                )
                for i, reason in zip(ids, reasons, strict=True)
            ],
            lifecycle,
        )
        eventlog.append_entries(self.tx, "resident", residents.entry_rows(ids, written, self.actor, reasons, self.at))
        self.added += len(new)


def _first_in_chunk(checked: list[tuple[int, ValidResident]], problems: ProblemList) -> list[tuple[int, ValidResident]]:
    """The lines whose NIK no earlier line of the chunk has; the others are problems."""
    first_line: dict[str, int] = {}
    firsts = []
    for line, resident in checked:
        seen_on = first_line.setdefault(resident.nik, line)
        if seen_on != line:
            problems.append(RowProblem(line, _repeated(resident.nik, seen_on)))
        else:
            firsts.append((line, resident))
    return firsts


def _repeated(nik: str, first: int) -> str:
    return _("NIK {nik} already appears on line {line}").format(nik=nik, line=first)


def _validate(chunk: list[tuple[int, Any]], problems: ProblemList, today: dt.date) -> list[tuple[int, ValidResident]]:
    valid = []
    for line, item in chunk:
        if isinstance(item, RowProblem):
            problems.append(item)
            continue
        try:
            valid.append((line, validate_resident(item, today)))
        except WorkflowError as err:
            problems.append(RowProblem(line, str(err)))
    return valid


def _unchanged(line: int, resident: ValidResident, stored: StoredResident, problems: ProblemList) -> int:
    """1 if the registered resident has the file's data (unchanged); else a problem, and 0."""
    differences = [
        _("{field} (stored {stored!s}, file {file!s})").format(field=field, stored=value, file=getattr(resident, field))
        for field, value in zip(RESIDENT_FIELDS, stored.data, strict=True)
        if value != getattr(resident, field)
    ]
    if not differences:
        return 1
    message = _("NIK {nik} is already registered with a different {differences}")
    problems.append(RowProblem(line, message.format(nik=resident.nik, differences="; ".join(differences))))
    return 0
