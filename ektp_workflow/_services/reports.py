"""Reports for operators and heads of office: coverage, backlog and aging per kecamatan."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from typing import TYPE_CHECKING

from .. import clock
from .._store import queue
from .._store import reports as counted
from .._store.store import Connection, Store
from ..i18n import _
from ..records import AGE_BUCKETS, QUEUE_STATE, AgingRow, BacklogRow, CoverageRow, StockBulletin
from ..regions import name_of
from ..states import Lifecycle
from .bulletin import stock_bulletin
from .printing import VOIDING

if TYPE_CHECKING:
    from .replacements import ReplacementCount

WAJIB_KTP_AGE = 17
EXCEPTIONAL = ("duplicate", "enroll_failed")
GONE = ("deceased", "moved")
#: States in which a card waits for someone to act, and whose age matters.
AGING_STATES = ("recorded", "prr", "deduplicated", "allocated", "printed", "duplicate", "enroll_failed")
_WAJIB, _RECORDED_ONCE = "_wajib", "_recorded_once"  # tallied beside the states


class Reports:
    """The reports as integrators use them: ``Workflow.reports``. Read-only, each in one snapshot."""

    def __init__(self, store: Store, lifecycle: Lifecycle) -> None:
        self._store = store
        self._lifecycle = lifecycle

    def coverage(self, today: dt.date | None = None) -> list[CoverageRow]:
        """Per kecamatan (and a total row last): residents, wajib KTP, recorded %, card states."""
        with self._store.reading() as tx:
            return coverage(tx, today or clock.now().date())

    def backlog(self, now: dt.datetime | None = None) -> list[BacklogRow]:
        """Per kecamatan (and a total row last): who waits for a blank and how long stock lasts."""
        with self._store.reading() as tx:
            return backlog(tx, now or clock.now())

    def aging(self, now: dt.datetime | None = None) -> list[AgingRow]:
        """Per kecamatan and waiting state: how long cards have waited, over six months flagged."""
        with self._store.reading() as tx:
            return aging(tx, now or clock.now())

    def stock(self, now: dt.datetime | None = None) -> StockBulletin:
        """The public stock bulletin: per kecamatan, blanks in stock, reserved, printed today
        and who waits; from one snapshot, with its checkpoint."""
        with self._store.reading() as tx:
            return stock_bulletin(tx, now or clock.now())

    def replacements(self, since: dt.date | None = None) -> list[ReplacementCount]:
        """Per kecamatan: replacements waiting for a blank by category (``unknown`` where the
        history does not say), and those made (``replace``) since the day ``since`` (WIB)."""
        from .replacements import counts

        start = None if since is None else dt.datetime.combine(since, dt.time(), clock.WIB)
        with self._store.reading() as tx:
            return counts(tx, start)

    def stock_page(self, bulletin: StockBulletin) -> str:
        """A stock bulletin as one printable page in Indonesian."""
        from .._files.stock_page import render_html

        return render_html(bulletin)

    def stock_csv(self, bulletin: StockBulletin) -> str:
        """A stock bulletin as CSV, each row stamped with its time and checkpoint."""
        from .._files.stock_page import render_csv

        return render_csv(bulletin)

    def html(self, title: str | None = None, zone: dt.tzinfo | None = None) -> str:
        """One self-contained, printable HTML page for the head of office: headline figures,
        coverage, backlog and aging per kecamatan, blanks, monthly trends, the state diagram
        and the checkpoint it was made from; in the language in use.

        :param title: the page's title (default "e-KTP report", in the language in use).
        :param zone: the zone times are shown and months counted in (default WIB).
        """
        from .._files.report_page import render  # matplotlib loads only when a page is drawn
        from .overview import page_data

        made = clock.now()
        now = made.astimezone(zone or clock.WIB)
        with self._store.reading() as tx:  # the figures' day is the offices' (as ektp report coverage's)
            rows = coverage(tx, made.date()), backlog(tx, now), aging(tx, now)
            data = page_data(tx, title or _("e-KTP report"), now, self._lifecycle, *rows)
        return render(data)


def coverage(tx: Connection, today: dt.date) -> list[CoverageRow]:
    """Per kecamatan, and a total row (kecamatan ``""``) last."""
    tally: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for kecamatan, state, is_wajib, count in counted.cards_by_kecamatan_state_and_age(
        tx, _years_before(today, WAJIB_KTP_AGE)
    ):
        for key in (kecamatan, ""):
            tally[key][state] += count
            if is_wajib and state not in GONE:
                tally[key][_WAJIB] += count
                tally[key][_RECORDED_ONCE] += count if state != "unrecorded" else 0
    rows = [_coverage_row(k, t) for k, t in sorted(tally.items()) if k]
    return [*rows, _coverage_row("", tally[""])] if rows else []


def _coverage_row(kecamatan: str, t: dict[str, int]) -> CoverageRow:
    living = sum(n for s, n in t.items() if s not in (*GONE, _WAJIB, _RECORDED_ONCE))
    return CoverageRow(
        kecamatan,
        name_of(kecamatan) if kecamatan else "total",
        living,
        t[_WAJIB],
        t[_RECORDED_ONCE],
        t["prr"],
        t[QUEUE_STATE],
        t["allocated"],
        t["printed"],
        t["collected"],
        sum(t[s] for s in EXCEPTIONAL),
        t["deceased"],
        t["moved"],
    )


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def backlog(tx: Connection, now: dt.datetime, window_days: int = 30) -> list[BacklogRow]:
    """Per kecamatan and a total row: applicants waiting, stock, and days the stock covers.

    The printing rate is the number of cards printed in the last ``window_days``.
    """
    waiting = {d.kecamatan: (d.first_time, d.replacement) for d in queue.demand(tx)}
    stock = queue.stock(tx)
    reserved = counted.cards_in_state_by_kecamatan(tx, "allocated")
    since = now - dt.timedelta(days=window_days)
    printed = counted.events_since_by_kecamatan(tx, "print_card", since, undone_by=VOIDING)
    at_city = counted.undistributed(tx)
    codes = sorted(set(waiting) | set(stock) | set(reserved) | set(printed))
    rows = [
        _backlog_row(k, waiting.get(k, (0, 0)), stock.get(k, 0), reserved.get(k, 0), printed.get(k, 0), window_days)
        for k in codes
    ]
    total_waiting = (sum(r.first_time_waiting for r in rows), sum(r.replacement_waiting for r in rows))
    total = _backlog_row(
        "", total_waiting, sum(stock.values()) + at_city, sum(reserved.values()), sum(printed.values()), window_days
    )
    return [*rows, total] if rows or at_city else []


def _backlog_row(
    kecamatan: str, waiting: tuple[int, int], stock: int, reserved: int, printed: int, window_days: int
) -> BacklogRow:
    rate = round(printed / window_days, 2)
    covered = round((stock + reserved) / rate, 1) if rate else None
    name = name_of(kecamatan) if kecamatan else "total"
    return BacklogRow(kecamatan, name, waiting[0], waiting[1], stock, reserved, rate, covered)


def aging(tx: Connection, now: dt.datetime) -> list[AgingRow]:
    """Per kecamatan and waiting state: time in the state so far (since the card's last event)."""
    ages: dict[tuple[str, str], list[int]] = defaultdict(list)
    for kecamatan, state, since in counted.waiting_since(tx, AGING_STATES):
        ages[(kecamatan, state)].append(max(0, (now - since).days))
    order = {s: i for i, s in enumerate(AGING_STATES)}
    return [
        _aging_row(kecamatan, state, days)
        for (kecamatan, state), days in sorted(ages.items(), key=lambda kv: (kv[0][0], order[kv[0][1]]))
    ]


def _aging_row(kecamatan: str, state: str, days: list[int]) -> AgingRow:
    buckets = [0] * len(AGE_BUCKETS)
    for age in days:
        buckets[next(i for i, (_, upper) in enumerate(AGE_BUCKETS) if upper is None or age < upper)] += 1
    return AgingRow(
        kecamatan,
        name_of(kecamatan),
        state,
        len(days),
        float(statistics.median(days)),
        max(days),
        buckets[-1],
        tuple(buckets),
    )
