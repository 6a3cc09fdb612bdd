"""Reports for operators and heads of office: coverage, backlog and aging per kecamatan."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import clock
from .allocation import QUEUE_STATE, read_demand, read_stock
from .records import CARD_FROM
from .regions import name_of
from .schema import blank_batches, cards, events, residents

WAJIB_KTP_AGE = 17
EXCEPTIONAL = ("duplicate", "enroll_failed")
GONE = ("deceased", "moved")
#: States in which a card waits for someone to act, and whose age matters.
AGING_STATES = ("recorded", "prr", "deduplicated", "allocated", "printed", "duplicate", "enroll_failed")
#: Aging buckets in days: (label, upper bound exclusive); the last is "over six months".
AGE_BUCKETS = (("under 1 month", 30), ("1-3 months", 91), ("3-6 months", 182), ("over 6 months", None))



def _plain(row: Any) -> dict[str, Any]:
    return asdict(row)


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
        return {**_plain(self), "recorded_pct": self.recorded_pct}


_WAJIB, _RECORDED_ONCE = "_wajib", "_recorded_once"  # tallied beside the states


def coverage(conn: Connection, today: dt.date) -> list[CoverageRow]:
    """Per kecamatan, and a total row (kecamatan ``""``) last."""
    cutoff = _years_before(today, WAJIB_KTP_AGE)
    wajib = sa.case((residents.c.birth_date <= cutoff, 1), else_=0).label("wajib")
    query = (
        sa.select(residents.c.kecamatan, cards.c.state, wajib, sa.func.count())
        .select_from(CARD_FROM)
        .group_by(residents.c.kecamatan, cards.c.state, wajib)
    )
    tally: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for kecamatan, state, is_wajib, count in conn.execute(query):
        for key in (kecamatan, ""):
            tally[key][state] += count
            if is_wajib and state not in GONE:
                tally[key][_WAJIB] += count
                tally[key][_RECORDED_ONCE] += count if state != "unrecorded" else 0
    rows = [_coverage_row(k, t) for k, t in sorted(tally.items()) if k]
    return rows + [_coverage_row("", tally[""])] if rows else []


def _coverage_row(kecamatan: str, t: dict[str, int]) -> CoverageRow:
    living = sum(n for s, n in t.items() if s not in (*GONE, _WAJIB, _RECORDED_ONCE))
    return CoverageRow(
        kecamatan, name_of(kecamatan) if kecamatan else "total", living, t[_WAJIB], t[_RECORDED_ONCE],
        t["prr"], t[QUEUE_STATE], t["allocated"], t["printed"], t["collected"],
        sum(t[s] for s in EXCEPTIONAL), t["deceased"], t["moved"],
    )


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


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
        return _plain(self)


def backlog(conn: Connection, now: dt.datetime, window_days: int = 30) -> list[BacklogRow]:
    """Per kecamatan and a total row: applicants waiting, stock, and days the stock covers.

    The printing rate is the number of cards printed in the last ``window_days``.
    """
    waiting = {d.kecamatan: (d.first_time, d.replacement) for d in read_demand(conn)}
    stock = read_stock(conn)
    reserved = dict(conn.execute(
        sa.select(residents.c.kecamatan, sa.func.count()).select_from(CARD_FROM)
        .where(cards.c.state == "allocated").group_by(residents.c.kecamatan)
    ).all())
    printed = dict(conn.execute(
        sa.select(residents.c.kecamatan, sa.func.count())
        .select_from(events.join(residents, residents.c.id == events.c.card_id))
        .where(events.c.trigger == "print_card", events.c.occurred_at >= now - dt.timedelta(days=window_days))
        .group_by(residents.c.kecamatan)
    ).all())
    at_city = int(conn.scalar(sa.select(sa.func.coalesce(sa.func.sum(blank_batches.c.undistributed), 0))) or 0)
    codes = sorted(set(waiting) | set(stock) | set(reserved) | set(printed))
    rows = [
        _backlog_row(k, waiting.get(k, (0, 0)), stock.get(k, 0), reserved.get(k, 0), printed.get(k, 0), window_days)
        for k in codes
    ]
    total_waiting = (sum(r.first_time_waiting for r in rows), sum(r.replacement_waiting for r in rows))
    total = _backlog_row(
        "", total_waiting, sum(stock.values()) + at_city, sum(reserved.values()), sum(printed.values()), window_days
    )
    return rows + [total] if rows or at_city else []


def _backlog_row(
    kecamatan: str, waiting: tuple[int, int], stock: int, reserved: int, printed: int, window_days: int
) -> BacklogRow:
    rate = round(printed / window_days, 2)
    covered = round((stock + reserved) / rate, 1) if rate else None
    name = name_of(kecamatan) if kecamatan else "total"
    return BacklogRow(kecamatan, name, waiting[0], waiting[1], stock, reserved, rate, covered)


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
        data = _plain(self)
        data["buckets"] = dict(zip((label for label, _ in AGE_BUCKETS), self.buckets))
        return data


def aging(conn: Connection, now: dt.datetime) -> list[AgingRow]:
    """Per kecamatan and waiting state: time in the state so far (since the card's last event)."""
    query = (
        sa.select(residents.c.kecamatan, cards.c.state, cards.c.updated_at)
        .select_from(CARD_FROM)
        .where(cards.c.state.in_(AGING_STATES))
    )
    ages: dict[tuple[str, str], list[int]] = defaultdict(list)
    for kecamatan, state, since in conn.execute(query):
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
        kecamatan, name_of(kecamatan), state, len(days), float(statistics.median(days)), max(days),
        buckets[-1], tuple(buckets),
    )


class Reports:
    """The reports as integrators use them: ``Workflow.reports``. Read-only."""

    def __init__(self, workflow: Any) -> None:
        self._workflow = workflow

    def coverage(self, today: dt.date | None = None) -> list[CoverageRow]:
        """Per kecamatan (and a total row last): residents, wajib KTP, recorded %, card states."""
        with self._workflow._reading() as conn:
            return coverage(conn, today or clock.now().date())

    def backlog(self, now: dt.datetime | None = None) -> list[BacklogRow]:
        """Per kecamatan (and a total row last): who waits for a blank and how long stock lasts."""
        with self._workflow._reading() as conn:
            return backlog(conn, now or clock.now())

    def aging(self, now: dt.datetime | None = None) -> list[AgingRow]:
        """Per kecamatan and waiting state: how long cards have waited, over six months flagged."""
        with self._workflow._reading() as conn:
            return aging(conn, now or clock.now())

    def html(self, title: str = "e-KTP report") -> str:
        """One self-contained HTML page with the three reports as charts and the state diagram."""
        from .report_html import ReportData, render  # matplotlib loads only when a page is drawn

        now = clock.now()
        with self._workflow._reading() as conn:
            data = ReportData(
                title, now, coverage(conn, now.date()), backlog(conn, now), aging(conn, now), self._workflow.lifecycle
            )
        return render(data)
