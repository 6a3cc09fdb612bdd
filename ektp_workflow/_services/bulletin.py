"""The public stock bulletin: what each kecamatan has, has printed today and owes.

Provinces ask kabupaten/kota to announce their blank stock daily, so that nobody can
be told there are no blanks (and asked for a fee). The bulletin is made from one
snapshot of the history and carries its checkpoint: anyone holding it can later have
it checked against the chained history.
"""

from __future__ import annotations

import datetime as dt

from .._store import eventlog, queue
from .._store import reports as counted
from .._store.store import Connection
from ..clock import WIB
from ..records import StockBulletin, StockRow
from ..regions import name_of
from .printing import VOIDING


def stock_bulletin(tx: Connection, now: dt.datetime) -> StockBulletin:
    """Per kecamatan and in total: blanks in stock, reserved, printed today (since
    midnight in ``now``'s zone), and who waits: first-time and replacement applicants."""
    midnight = dt.datetime.combine(now.date(), dt.time(), now.tzinfo or WIB)
    stock = queue.stock(tx)
    reserved = counted.reserved_by_kecamatan(tx)
    printed = counted.events_since_by_kecamatan(tx, "print_card", midnight, undone_by=VOIDING)
    waiting = queue.waiting_counts(tx)
    at_city = counted.undistributed(tx)
    codes = sorted(set(stock) | set(reserved) | set(printed) | set(waiting))
    rows = [
        StockRow(
            code,
            name_of(code),
            stock.get(code, 0),
            reserved.get(code, 0),
            printed.get(code, 0),
            *waiting.get(code, (0, 0)),
        )
        for code in codes
    ]
    total = StockRow(
        "",
        "total",
        sum(r.in_stock for r in rows) + at_city,
        sum(r.reserved for r in rows),
        sum(r.printed_today for r in rows),
        sum(r.first_time_waiting for r in rows),
        sum(r.replacement_waiting for r in rows),
    )
    return StockBulletin(now, eventlog.head(tx), [*rows, total], at_city)
