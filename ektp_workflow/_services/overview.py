"""The figures the HTML report adds to coverage, backlog and aging: the headline, the
blanks, the monthly trends and the cards in each state, from the caller's snapshot."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from .._files.report_data import BlankFigures, Headline, MonthRow, ReportData
from .._store import eventlog, overview, queue
from .._store import reports as counted
from .._store.store import Connection
from ..records import QUEUE_STATE, AgingRow, BacklogRow, CoverageRow
from ..states import Lifecycle
from .stock_request import statuses

#: The centre's decision on a PRR: a single identity, or a duplicate.
_DECIDED = (QUEUE_STATE, "duplicate")


def page_data(
    tx: Connection,
    title: str,
    now: dt.datetime,
    lifecycle: Lifecycle,
    coverage: list[CoverageRow],
    backlog: list[BacklogRow],
    aging: list[AgingRow],
) -> ReportData:
    """What the page shows, with coverage, backlog and aging made in the same snapshot ``tx``."""
    offset = now.utcoffset() or dt.timedelta()
    return ReportData(
        title=title,
        made_at=now,
        checkpoint=eventlog.head(tx),
        headline=headline(coverage, backlog),
        coverage=coverage,
        backlog=backlog,
        aging=aging,
        blanks=blanks(tx),
        trends=trends(tx, lifecycle, int(offset.total_seconds()) // 60),
        lifecycle=lifecycle,
        states=states(tx),
    )


def headline(coverage: list[CoverageRow], backlog: list[BacklogRow]) -> Headline:
    """The city's figures from the total rows of coverage and backlog (zeros without them)."""
    city = next((r for r in coverage if not r.kecamatan), None)
    waiting = next((r for r in backlog if not r.kecamatan), None)
    return Headline(
        city.wajib_ktp if city else 0,
        city.recorded if city else 0,
        city.recorded_pct if city else 0.0,
        waiting.first_time_waiting if waiting else 0,
        waiting.replacement_waiting if waiting else 0,
        waiting.blanks_in_stock if waiting else 0,
    )


def blanks(tx: Connection) -> BlankFigures:
    """The ledger's totals per movement, the stock now and the requests to the centre."""
    moved = Counter(overview.blanks_by_movement(tx))
    return BlankFigures(
        received=moved["received"],
        borrowed=moved["borrowed"],
        lent=moved["lent"],
        distributed=moved["distributed"],
        consumed=moved["consumed"] - moved["voided"],
        spoiled=moved["spoiled"] + moved["misprinted"] + moved["voided"],
        at_city=counted.undistributed(tx),
        at_kecamatan=sum(queue.stock(tx).values()),
        reserved=sum(counted.reserved_by_kecamatan(tx).values()),
        requests=statuses(tx),
    )


def trends(tx: Connection, lifecycle: Lifecycle, offset_minutes: int) -> list[MonthRow]:
    """Per month (at UTC + ``offset_minutes``), from the first to the last with any of
    them: cards recorded, sent to PRR, decided, printed and collected, counted by the
    state each event reached (decided: a PRR's exit to the queue or to ``duplicate``)."""
    decided = {(t.trigger, t.dest) for t in lifecycle.transitions if t.source == "prr" and t.dest in _DECIDED}
    reached = {"recorded": "recorded", "prr": "prr", "printed": "printed", "collected": "collected"}
    months: dict[str, Counter[str]] = {}
    for month, trigger, state, count in overview.events_by_month(tx, offset_minutes):
        kind = "decided" if (trigger, state) in decided else reached.get(state)
        if kind is not None:
            months.setdefault(month, Counter())[kind] += count
    return [MonthRow(month, **months.get(month, Counter())) for month in _every_month(sorted(months))]


def _every_month(months: list[str]) -> list[str]:
    if not months:
        return []
    year, month = map(int, months[0].split("-"))
    every = []
    while (label := f"{year:04d}-{month:02d}") <= months[-1]:
        every.append(label)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return every


def states(tx: Connection) -> dict[str, int]:
    """Cards in each state now."""
    count: Counter[str] = Counter()
    for _kecamatan, state, _old, n in counted.cards_by_kecamatan_state_and_age(tx, dt.date.min):
        count[state] += n
    return dict(count)
