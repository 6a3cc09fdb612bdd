"""What the API takes and returns: immutable records of residents, cards, events and reports.

Plain values: nothing here reads or writes a database.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

# The reports' records are kept in their own module, and importable from here as before.
from .report_records import AGE_BUCKETS as AGE_BUCKETS
from .report_records import AgingRow as AgingRow
from .report_records import BacklogRow as BacklogRow
from .report_records import CoverageRow as CoverageRow
from .report_records import RequestStatus as RequestStatus
from .report_records import StockBulletin as StockBulletin
from .report_records import StockRequest as StockRequest
from .report_records import StockRow as StockRow

#: The trigger recorded on the event that creates a card in the initial state.
REGISTER = "register"
#: The state whose cards wait for a blank.
QUEUE_STATE = "deduplicated"


@dataclass(frozen=True)
class ResidentRecord:
    """A resident to register, as given by a caller or a file row.

    :param kecamatan: the *current* kecamatan, ``16.71.05`` or ``167105``.
    :param had_ektp: the resident held an e-KTP before, so the next card is a
        replacement, not a first-time card.
    :param birth_date: optional; when given it must agree with the NIK and settles
        the century of the NIK's two-digit year.
    :param disaster_victim: lost their card or documents in a disaster (a priority tier).
    :param suket: holds a temporary certificate while waiting for the card.
    :param given: the optional fields the source gave (a file's columns; a birth date only
        where the row has one), None for all: an import with updates corrects only these.
    """

    nik: str
    name: str
    kecamatan: str
    had_ektp: bool = False
    birth_date: dt.date | None = None
    disaster_victim: bool = False
    suket: bool = False
    given: frozenset[str] | None = None


@dataclass(frozen=True)
class Registration:
    """What a registration did."""

    #: residents newly registered, each with a card in the initial state.
    added: int
    #: residents already registered with the same data, left as they were.
    unchanged: int
    #: residents already registered whose data the import corrected (with updates).
    corrections: tuple[Correction, ...] = ()


@dataclass(frozen=True)
class FireRequest:
    """One transition to apply with ``Workflow.fire_many``."""

    nik: str
    trigger: str
    reason: str | None = None
    at: dt.datetime | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Card:
    """A resident's card: who it is for and where it stands."""

    nik: str
    name: str
    #: the resident's current kecamatan, dotted (``16.71.05``).
    kecamatan: str
    birth_date: dt.date
    sex: str
    #: True when the resident held an e-KTP before (their card is a replacement).
    had_ektp: bool
    state: str
    #: incremented by every event; pass it back as ``expected_version``.
    version: int
    #: when the card's last event happened.
    updated_at: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (dates as ISO 8601 strings)."""
        return _jsonable(asdict(self))


@dataclass(frozen=True)
class ResidentVersion:
    """One version of a resident's data in the chained history (a resident entry)."""

    seq: int
    #: ``registered``, ``baseline``, ``holder`` (a collected card) or ``corrected``.
    change: str
    occurred_at: dt.datetime
    actor: str
    reason: str | None
    evidence: str | None
    #: all of the resident's data after this change.
    data: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (dates as ISO 8601 strings)."""
        return {**_jsonable({k: v for k, v in asdict(self).items() if k != "data"}), "data": _jsonable(self.data)}


@dataclass(frozen=True)
class Correction:
    """A resident's data corrected: one chained resident entry, and what followed from it."""

    nik: str
    #: each field that changed: (before, after).
    changes: dict[str, tuple[Any, Any]]
    reason: str
    #: the document the correction rests on, if any.
    evidence: str | None
    #: the correction's place in the chained history (0 in a dry run).
    seq: int
    #: the event that released a blank reserved at the old kecamatan, if any.
    released: Event | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (dates as ISO 8601 strings)."""
        changes = {k: _jsonable({"before": a, "after": b}) for k, (a, b) in self.changes.items()}
        released = None if self.released is None else self.released.as_dict()
        return {**asdict(self), "changes": changes, "released": released}


@dataclass(frozen=True)
class CardPage:
    """A page of a list of cards, and where the next one starts."""

    cards: list[Card]
    #: pass it back as ``after`` for the next page; None when this page is the last.
    next: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {"cards": [card.as_dict() for card in self.cards], "next": self.next}


@dataclass(frozen=True)
class Event:
    """One entry of the append-only history."""

    seq: int
    nik: str
    #: the card's version after this event.
    version: int
    trigger: str
    #: None for the event that registered the card.
    from_state: str | None
    to_state: str
    actor: str
    reason: str | None
    occurred_at: dt.datetime
    recorded_at: dt.datetime
    lifecycle_hash: str
    idempotency_key: str | None
    #: the rule-set version that decided (allocation events), else None.
    rule_set_version: int | None
    #: the run the event belongs to (an allocation, a bulk job), else None.
    batch_id: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (times as ISO 8601 strings)."""
        return _jsonable(asdict(self))


#: Examples of skipped cards a ``BulkResult`` keeps (all are counted).
MAX_EXAMPLES = 100


@dataclass
class BulkResult:
    """What a bulk job did (or, in a dry run, would do)."""

    job_id: str
    dry_run: bool = False
    #: cards moved by this run, per trigger.
    applied: Counter[str] = field(default_factory=Counter)
    #: cards this job had already moved in an earlier, interrupted run.
    done_before: int = 0
    #: cards not moved, and the first of them with the reason.
    skipped: int = 0
    examples: list[tuple[str, str]] = field(default_factory=list)
    #: the job had been started before and was resumed.
    resumed: bool = False

    @property
    def total_applied(self) -> int:
        return sum(self.applied.values())

    def merge(self, part: BulkResult) -> None:
        """Add what one chunk did (counted apart, so that a retried chunk counts once)."""
        self.applied.update(part.applied)
        self.done_before += part.done_before
        self.skipped += part.skipped
        self.examples += part.examples[: MAX_EXAMPLES - len(self.examples)]

    def skip(self, nik: str, reason: str) -> None:
        self.skipped += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append((nik, reason))


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date | dt.datetime) else v for k, v in data.items()}
