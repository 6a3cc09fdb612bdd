"""What the reports return: coverage, backlog, aging, the stock bulletin and the requests
for blanks (importable from ``ektp_workflow.records`` too).

Plain values: nothing here reads or writes a database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from .i18n import N_

#: Aging buckets in days: (label, upper bound exclusive); the last is "over six months".
#: The labels are English (JSON keys); people see them translated, ``_(label)``.
AGE_BUCKETS = (
    (N_("under 1 month"), 30),
    (N_("1-3 months"), 91),
    (N_("3-6 months"), 182),
    (N_("over 6 months"), None),
)


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
            "made_at": self.made_at.astimezone(dt.UTC).isoformat(),
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
            "made_at": self.made_at.astimezone(dt.UTC).isoformat(),
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
