"""What the city asks the centre for: the need computed from the history, and what came.

The need covers ``months`` of 30 days: every applicant waiting for a blank, and the
cards expected to leave PRR for printing in that time at the rate measured over the
last 90 days (or since the first event, when the history is younger), at most the
cards in PRR. Printing spoils blanks at the rate the ledger shows (spoiled per blank
used), so the blanks needed are that many more. What the city holds unreserved, and
what earlier requests asked for and the centre has not sent yet, are subtracted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

from .._store import eventlog, requests
from .._store.chain import REQUEST_FIELDS
from .._store.store import Connection
from ..clock import WIB
from ..errors import StockError
from ..i18n import _
from ..records import QUEUE_STATE, RequestStatus, StockRequest

PRR_STATE = "prr"
WINDOW_DAYS = 90
DAYS_PER_MONTH = 30


def compute(conn: Connection, reference: str, months: int, now: dt.datetime) -> StockRequest:
    """The request ``reference`` for ``months`` as the snapshot ``conn`` sees the city now."""
    if not 1 <= months <= 24:
        raise StockError(_("a request covers 1 to 24 months, got {months}").format(months=months))
    since = now - dt.timedelta(days=WINDOW_DAYS)
    c = requests.counts(conn, PRR_STATE, QUEUE_STATE, since)
    window = WINDOW_DAYS
    if c.earliest is not None:  # a history younger than the window: measured over its age
        window = max(1, math.ceil((now - c.earliest) / dt.timedelta(days=1)))
    expected = min(c.in_prr, math.ceil(c.left_prr * DAYS_PER_MONTH * months / window))
    to_print = c.waiting_first_time + c.waiting_replacement + expected
    used = c.consumed + c.spoiled
    needed = math.ceil(to_print * used / c.consumed) if c.consumed else to_print
    return StockRequest(
        reference=reference,
        region=c.region,
        months=months,
        made_at=now,
        checkpoint=eventlog.head(conn),
        waiting_first_time=c.waiting_first_time,
        waiting_replacement=c.waiting_replacement,
        in_prr=c.in_prr,
        left_prr=c.left_prr,
        window_days=window,
        expected_from_prr=expected,
        consumed=c.consumed,
        spoiled=c.spoiled,
        needed=needed,
        on_hand=c.on_hand,
        outstanding=c.outstanding,
        quantity=max(0, needed - c.on_hand - c.outstanding),
        draft=True,
    )


def record(conn: Connection, request: StockRequest, actor: str, reason: str | None) -> StockRequest:
    """Chain ``request``; return it stamped with its own place in the chain (a checkpoint
    that covers the figures and the request)."""
    if requests.exists(conn, request.reference):
        raise StockError(
            _("request {reference!r} was already made: give the new letter's reference").format(
                reference=request.reference
            )
        )
    if request.quantity == 0:
        raise StockError(
            _(
                "nothing to request: {on_hand:,} blanks on hand and {outstanding:,} outstanding "
                "cover the {needed:,} needed"
            ).format(on_hand=request.on_hand, outstanding=request.outstanding, needed=request.needed)
        )
    figures = request.as_dict()
    row = {name: figures[name] for name in _RECORDED}
    requests.record(conn, {**row, "actor": actor, "reason": reason, "occurred_at": request.made_at})
    return dataclasses.replace(request, checkpoint=eventlog.head(conn), draft=False)  # the request is the head


#: The figures a request records: its chained fields from its reference to its quantity.
_RECORDED = REQUEST_FIELDS[1 : REQUEST_FIELDS.index("actor")]


def recorded(conn: Connection, reference: str) -> StockRequest:
    """A request as it was recorded, stamped with its own place in the chain."""
    row = requests.one(conn, reference)
    if row is None:
        raise StockError(
            _("no request {reference!r} was recorded: see ektp blanks requests").format(reference=reference)
        )
    figures = {name: row[name] for name in _RECORDED}
    return StockRequest(**figures, made_at=row["occurred_at"], checkpoint=(row["seq"], row["chain_hash"]))


def statuses(conn: Connection) -> list[RequestStatus]:
    """Every request, oldest first: asked, received and how long the centre took."""
    return [_status(answered) for answered in requests.answered(conn)]


def _status(answered: requests.Answered) -> RequestStatus:
    asked_on = answered.occurred_at.astimezone(WIB).date()
    first = complete = None
    received = 0
    for __, blanks, day in answered.batches:
        first = first if first is not None else (day - asked_on).days
        received += blanks
        if complete is None and received >= answered.requested:
            complete = (day - asked_on).days
    return RequestStatus(
        answered.reference,
        asked_on,
        answered.requested,
        answered.received,
        tuple(batch for batch, __, ___ in answered.batches),
        first,
        complete,
    )
