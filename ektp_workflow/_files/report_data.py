"""What the HTML report shows: plain values, made from one snapshot of the history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..records import AgingRow, BacklogRow, CoverageRow, RequestStatus
from ..states import Lifecycle


@dataclass(frozen=True)
class Headline:
    """The figures a head of office reads first, for the whole city."""

    wajib_ktp: int
    #: wajib KTP residents recorded at least once.
    recorded: int
    coverage_pct: float
    first_time_waiting: int
    replacement_waiting: int
    #: blanks not reserved for anyone: at the city and at the kecamatan.
    in_stock: int

    @property
    def waiting(self) -> int:
        return self.first_time_waiting + self.replacement_waiting

    @property
    def needed(self) -> int:
        """Blanks the waiting cards need beyond the stock, never below 0."""
        return max(0, self.waiting - self.in_stock)


@dataclass(frozen=True)
class BlankFigures:
    """The blank ledger in totals, and the requests made to the centre."""

    received: int
    borrowed: int
    lent: int
    distributed: int
    #: blanks printing consumed (a print voided by a reprint counts as spoiled instead).
    consumed: int
    spoiled: int
    at_city: int
    at_kecamatan: int
    reserved: int
    requests: Sequence[RequestStatus]

    @property
    def in_stock(self) -> int:
        return self.at_city + self.at_kecamatan

    @property
    def requested(self) -> int:
        return sum(r.requested for r in self.requests)

    @property
    def outstanding(self) -> int:
        return sum(r.outstanding for r in self.requests)


#: What the monthly trends count, in the order shown.
TRENDS = ("recorded", "prr", "decided", "printed", "collected")


@dataclass(frozen=True)
class MonthRow:
    """Events of one month (``2026-11``): cards recorded (or recorded again), sent to PRR,
    decided at the centre (single identity or duplicate), printed and collected."""

    month: str
    recorded: int = 0
    prr: int = 0
    decided: int = 0
    printed: int = 0
    collected: int = 0

    def counts(self) -> tuple[int, ...]:
        """The counts in the order of ``TRENDS``."""
        return tuple(int(getattr(self, name)) for name in TRENDS)


@dataclass(frozen=True)
class ReportData:
    """What the page shows, all from one snapshot."""

    title: str
    #: when it was made, in the zone it is shown in.
    made_at: dt.datetime
    #: the chain head (seq, hash) of the snapshot.
    checkpoint: tuple[int, str]
    headline: Headline
    coverage: list[CoverageRow]
    backlog: list[BacklogRow]
    aging: list[AgingRow]
    blanks: BlankFigures
    trends: list[MonthRow]
    lifecycle: Lifecycle
    #: cards in each state now.
    states: Mapping[str, int]
