"""What the API takes and returns: immutable records of residents, cards, events and reports.

Plain values: nothing here reads or writes a database.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

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


# -- reports -------------------------------------------------------------------------------

#: Aging buckets in days: (label, upper bound exclusive); the last is "over six months".
AGE_BUCKETS = (("under 1 month", 30), ("1-3 months", 91), ("3-6 months", 182), ("over 6 months", None))


@dataclass(frozen=True)
class CoverageRow:
    """Recording coverage and where the cards stand, in one kecamatan (or the total)."""

    kecamatan: str
    name: str
    #: living residents (not deceased, not moved out).
    residents: int
    #: residents aged 17 or more, who must hold an e-KTP.
    wajib_ktp: int
    #: wajib KTP residents recorded at least once.
    recorded: int
    in_prr: int
    waiting_for_blank: int
    allocated: int
    printed: int
    collected: int
    exceptional: int
    deceased: int
    moved: int

    @property
    def recorded_pct(self) -> float:
        return round(100.0 * self.recorded / self.wajib_ktp, 1) if self.wajib_ktp else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "recorded_pct": self.recorded_pct}


@dataclass(frozen=True)
class BacklogRow:
    """Who waits for a blank, the blanks there are, and how long they last."""

    kecamatan: str
    name: str
    first_time_waiting: int
    replacement_waiting: int
    #: unreserved blanks at the kecamatan (for the total: also those still at the city).
    blanks_in_stock: int
    #: blanks reserved for cards not yet printed.
    reserved: int
    printed_per_day: float
    #: days of printing at the recent rate that the blanks cover; None without recent printing.
    days_covered: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AgingRow:
    """How long the cards in one waiting state of one kecamatan have waited."""

    kecamatan: str
    name: str
    state: str
    cards: int
    median_days: float
    max_days: int
    #: cards waiting more than six months in this state.
    over_six_months: int
    #: cards per bucket of AGE_BUCKETS, in order.
    buckets: tuple[int, ...]

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["buckets"] = dict(zip((label for label, _ in AGE_BUCKETS), self.buckets, strict=True))
        return data


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date | dt.datetime) else v for k, v in data.items()}


@dataclass(frozen=True)
class StockRow:
    """The blank stock of one kecamatan (or the city's total) as the public bulletin shows it."""

    kecamatan: str
    name: str
    #: blanks there, not reserved for anyone.
    in_stock: int
    #: blanks reserved for cards not yet printed.
    reserved: int
    printed_today: int
    first_time_waiting: int
    replacement_waiting: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StockBulletin:
    """The public announcement of blank stock: per kecamatan and in total, from one snapshot
    of the history, stamped with when it was made and the checkpoint it was made from."""

    made_at: dt.datetime
    #: the chain head (seq, hash) of the snapshot the figures come from.
    checkpoint: tuple[int, str]
    #: per kecamatan, then a total row (kecamatan ``""``) that counts the city's stock too.
    rows: list[StockRow]
    #: blanks still at the city, not yet distributed.
    at_city: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "made_at": self.made_at.isoformat(),
            "checkpoint": f"{self.checkpoint[0]}:{self.checkpoint[1]}",
            "at_city": self.at_city,
            "rows": [r.as_dict() for r in self.rows],
        }


@dataclass(frozen=True)
class StockRequest:
    """A request for blanks to the centre, with every figure it was computed from.

    blanks needed = (applicants waiting + cards expected from PRR) x (consumed + spoiled)
    / consumed, rounded up (the spoilage measured from the ledger; none measured: x 1);
    requested = blanks needed - on hand - outstanding, never below 0.
    """

    reference: str
    #: the kabupaten/kota asking (``16.71``); None when its residents live in several.
    region: str | None
    months: int
    made_at: dt.datetime
    #: the chain head (seq, hash) of the snapshot the figures come from.
    checkpoint: tuple[int, str]
    waiting_first_time: int
    waiting_replacement: int
    #: cards waiting for the centre's identity check (PRR).
    in_prr: int
    #: cards that left PRR for printing in the last ``window_days`` days.
    left_prr: int
    window_days: int
    #: left_prr / window_days x 30 days a month x months, at most in_prr, rounded up.
    expected_from_prr: int
    #: blanks printing consumed and spoiled so far (the ledger).
    consumed: int
    spoiled: int
    needed: int
    #: blanks not reserved for anyone: at the city and at the kecamatan.
    on_hand: int
    #: blanks asked for by earlier requests and not received yet.
    outstanding: int
    quantity: int
    #: computed, not recorded (a dry run): its letter is marked as a draft.
    draft: bool = False

    @property
    def spoilage_rate(self) -> float:
        """Spoiled blanks per blank used (0.047 is 4.7%); 0 when none was used yet."""
        used = self.consumed + self.spoiled
        return self.spoiled / used if used else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "made_at": self.made_at.isoformat(),
            "checkpoint": f"{self.checkpoint[0]}:{self.checkpoint[1]}",
            "spoilage_rate": round(self.spoilage_rate, 4),
        }


@dataclass(frozen=True)
class RequestStatus:
    """A recorded request and what the centre has sent against it so far."""

    reference: str
    requested_on: dt.date
    requested: int
    received: int
    #: the batches received against it, oldest first.
    batches: tuple[str, ...]
    #: days from the request to its first batch, and to the batch that completed it.
    first_after_days: int | None
    complete_after_days: int | None

    @property
    def outstanding(self) -> int:
        return max(0, self.requested - self.received)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "requested_on": self.requested_on.isoformat(), "outstanding": self.outstanding}
