"""The exception tree: every error the library raises is a ``WorkflowError``.

Each exception carries the data it is about as attributes, so that integrators can
react to it without parsing the message.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

from .i18n import _, ngettext


class WorkflowError(Exception):
    """Base class of every error raised by ektp_workflow."""

    #: True when the same call may succeed if simply tried again.
    retryable: bool = False

    def __reduce__(self) -> tuple[object, ...]:
        # Subclasses take their data, not a message, so the default pickling (which
        # calls cls(*args)) fails; keep errors intact across processes (pools, queues).
        return (_rebuild, (type(self), self.args, self.__dict__))


def _rebuild(cls: type[WorkflowError], args: tuple[object, ...], state: dict[str, object]) -> WorkflowError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class DefinitionError(WorkflowError):
    """The lifecycle definition is invalid.

    :param source: the file or name the definition came from.
    :param problems: every problem found, each naming the key at fault.
    """

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = list(problems)
        listing = "; ".join(self.problems)
        super().__init__(_("invalid lifecycle definition {source}: {problems}").format(source=source, problems=listing))


class InvalidNIK(WorkflowError):
    """A NIK is malformed; ``part`` names the part at fault."""

    def __init__(self, nik: str, part: str, reason: str) -> None:
        self.nik = nik
        self.part = part
        self.reason = reason
        # ``part`` stays English (integrators compare it); the message shows it translated.
        message = _("invalid NIK {nik!r}: {part}: {reason}")
        super().__init__(message.format(nik=nik, part=_(part) if part else part, reason=reason))


class InvalidKecamatan(WorkflowError):
    """A kecamatan code is malformed or not in the official list."""

    def __init__(self, code: str, reason: str) -> None:
        self.code = code
        self.reason = reason
        super().__init__(_("invalid kecamatan {code!r}: {reason}").format(code=code, reason=reason))


class InvalidRegion(WorkflowError):
    """A kabupaten/kota code is malformed or not in the official list."""

    def __init__(self, code: str, reason: str) -> None:
        self.code = code
        self.reason = reason
        super().__init__(_("invalid kabupaten/kota {code!r}: {reason}").format(code=code, reason=reason))


class InvalidText(WorkflowError):
    """A text (name, actor, reason, reference) holds what cannot be stored or shown safely."""

    def __init__(self, what: str, value: str, reason: str) -> None:
        self.what = what
        self.value = value
        self.reason = reason
        shown = value if len(value) <= 60 else value[:57] + "..."
        # ``what`` stays English (callers mark it with ``N_``); the message shows it translated.
        message = _("invalid {what} {value!r}: {reason}")
        super().__init__(message.format(what=_(what) if what else what, value=shown, reason=reason))


class UnknownTrigger(WorkflowError):
    """The trigger is not part of the lifecycle."""

    def __init__(self, trigger: str, known: Sequence[str]) -> None:
        self.trigger = trigger
        self.known = list(known)
        message = _("unknown trigger {trigger!r}; expected one of: {known}")
        super().__init__(message.format(trigger=trigger, known=", ".join(self.known)))


class TransitionNotAllowed(WorkflowError):
    """The trigger cannot fire from the card's current state."""

    def __init__(self, trigger: str, state: str, allowed: Sequence[str] = (), message: str = "") -> None:
        self.trigger = trigger
        self.state = state
        self.allowed = list(allowed)
        if not message:
            if self.allowed:
                template = _("{trigger!r} is not allowed from state {state!r}; from {state!r} allowed: {allowed}")
            else:
                template = _("{trigger!r} is not allowed from state {state!r}")
            message = template.format(trigger=trigger, state=state, allowed=", ".join(self.allowed))
        super().__init__(message)


class GuardFailed(TransitionNotAllowed):
    """The trigger is allowed from the state, but a guard refused it."""

    def __init__(self, trigger: str, state: str, guard: str, reason: str) -> None:
        self.guard = guard
        self.reason = reason
        message = _("{trigger!r} refused from state {state!r} by guard {guard!r}: {reason}").format(
            trigger=trigger, state=state, guard=guard, reason=reason
        )
        super().__init__(trigger, state, message=message)


class CardNotFound(WorkflowError):
    """No card is registered for this NIK."""

    def __init__(self, nik: str) -> None:
        self.nik = nik
        super().__init__(_("no card registered for NIK {nik}").format(nik=nik))


class ConcurrencyError(WorkflowError):
    """The card changed since it was read (a stale version); retry with a fresh read."""

    retryable = True

    def __init__(self, nik: str, expected_version: int, actual_version: int | None) -> None:
        self.nik = nik
        self.expected_version = expected_version
        self.actual_version = actual_version
        message = _(
            "card {nik} changed concurrently: expected version {expected}, found {actual}; read it again and retry"
        )
        super().__init__(message.format(nik=nik, expected=expected_version, actual=actual_version))


class IdempotencyConflict(WorkflowError):
    """An idempotency key was reused for a different request."""

    def __init__(self, key: str, recorded: str, requested: str) -> None:
        self.key = key
        self.recorded = recorded
        self.requested = requested
        message = _("idempotency key {key!r} was already used for {recorded}, not {requested}")
        super().__init__(message.format(key=key, recorded=recorded, requested=requested))


class InvalidTime(WorkflowError):
    """An event time is impossible, e.g. earlier than the card's last event."""


class MissingActor(WorkflowError):
    """A change was requested without saying who makes it."""

    def __init__(self) -> None:
        super().__init__(_("every change needs an actor (who is making it)"))


class SchemaError(WorkflowError):
    """The database schema is missing or not at the version this code expects."""


class DatabaseError(WorkflowError):
    """The database failed in a way the library could not handle."""


class DatabaseBusy(DatabaseError):
    """The database was locked or busy, or chose this transaction as a deadlock victim;
    nothing was written, and the same call may succeed if tried again."""

    retryable = True


class ConnectionLost(DatabaseError):
    """The connection to the database was lost, or the server is shutting down or became
    a standby (a failover). A change under way may or may not have been committed: retry
    it with the same idempotency key, or look (``card history``) before running it again.
    A multi-host URL with ``target_session_attrs=read-write`` reaches the new primary."""

    retryable = True


class WriteConflict(DatabaseError):
    """A write the database refused because it conflicts with a row already there (a
    unique key, a foreign key or a check); nothing of the transaction was written."""


class ResidentConflict(WorkflowError):
    """A resident is already registered with different data."""

    def __init__(self, nik: str, differences: Sequence[str]) -> None:
        self.nik = nik
        self.differences = list(differences)
        message = _("NIK {nik} is already registered with different {fields}")
        super().__init__(message.format(nik=nik, fields=", ".join(self.differences)))


@dataclass(frozen=True)
class RowProblem:
    """One bad row of an input file."""

    line: int
    reason: str

    def __str__(self) -> str:
        return _("line {line}: {reason}").format(line=self.line, reason=self.reason)


class InputFileError(WorkflowError):
    """An input file was refused whole.

    ``problems`` lists its bad lines in line order: all of them, or for a file with
    very many, the first ``MAX_PROBLEMS``; ``count`` is how many there are in all.
    """

    def __init__(self, source: str, problems: Sequence[RowProblem], count: int | None = None) -> None:
        self.source = source
        self.problems = list(problems)
        self.count = len(self.problems) if count is None else count
        listing = "\n".join(f"  {p}" for p in self.problems[:200])
        more = "\n  " + _("... and {count:,} more").format(count=self.count - 200) if self.count > 200 else ""
        heading = ngettext(
            "{source}: refused, nothing written; {count:,} bad line:",
            "{source}: refused, nothing written; {count:,} bad lines:",
            self.count,
        )
        super().__init__(heading.format(source=source, count=self.count) + f"\n{listing}{more}")


#: Bad lines an ``InputFileError`` keeps (the first, by line); the rest are counted.
MAX_PROBLEMS = 1000


class ProblemList:
    """The bad lines of a file as they are found, in bounded memory: the ``keep``
    lowest-numbered are kept, and all are counted."""

    def __init__(self, keep: int = MAX_PROBLEMS) -> None:
        self.keep = keep
        self.count = 0
        self._heap: list[tuple[int, int, RowProblem]] = []  # (-line, order): the highest line on top

    def append(self, problem: RowProblem) -> None:
        self.count += 1
        entry = (-problem.line, -self.count, problem)
        if len(self._heap) < self.keep:
            heapq.heappush(self._heap, entry)
        elif entry > self._heap[0]:  # a lower line than the highest kept
            heapq.heapreplace(self._heap, entry)

    def __bool__(self) -> bool:
        return self.count > 0

    def error(self, source: str) -> InputFileError:
        """The error refusing the file: the kept lines in line order, and the count."""
        kept = sorted(self._heap, key=lambda entry: (-entry[0], -entry[1]))
        return InputFileError(source, [problem for _line, _order, problem in kept], self.count)


class StockError(WorkflowError):
    """A movement of blank cards is impossible: not enough stock, unknown batch, ..."""


class RuleSetError(WorkflowError):
    """A rule set is invalid; ``problems`` name the file, the key and what is expected."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = list(problems)
        listing = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(_("invalid rule set {source}:").format(source=source) + f"\n{listing}")


class DiagramError(WorkflowError):
    """A diagram cannot be drawn here (a drawing program is missing)."""
