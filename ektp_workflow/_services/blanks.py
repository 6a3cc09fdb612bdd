"""The blank stock as integrators and operators use it: ``Workflow.blanks``."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from .. import text
from .._provenance import require_actor
from .._store import balances, eventlog, ledger, quotas
from .._store.store import Store
from ..clock import WIB, now
from ..errors import StockError
from ..i18n import _
from ..records import RequestStatus, StockRequest
from ..regions import kabupaten_kota_of, kecamatan_of
from . import distribution, stock_request
from .distribution import Distribution

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class QuotaUse:
    """A month's quota of blanks from the centre, and the blanks used that month."""

    month: str
    #: None: no quota was set for the month.
    quota: int | None
    reference: str | None
    #: blanks consumed by printing or spoiled in the month (WIB).
    used: int

    @property
    def over(self) -> int:
        """Blanks used beyond the quota (0 within it, or without one)."""
        return max(0, self.used - self.quota) if self.quota is not None else 0


#: The most blanks one movement may count (national procurement is about 25 million a year).
MOST = 100_000_000


def _reference(reference: str | None, what: str = "reference") -> str:
    return text.reference(reference, what)


def _count(count: int, what: str, least: int = 1) -> int:
    if not least <= count <= MOST:
        raise StockError(
            _("{what}: the count must be from {least} to {most:,}, got {count:,}").format(
                what=what, least=least, most=MOST, count=count
            )
        )
    return count


def _not_after_today(day: dt.date | None, at: dt.datetime) -> dt.date:
    today = at.astimezone(WIB).date()
    if day is not None and day > today:
        raise StockError(_("received on {day}: that is after today ({today})").format(day=day, today=today))
    return day or today


class Blanks:
    """Receive, distribute, spoil and count blank cards; every movement is a ledger entry."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def receive(
        self,
        reference: str,
        count: int,
        *,
        actor: str,
        received_on: dt.date | None = None,
        reason: str | None = None,
        request: str | None = None,
    ) -> None:
        """Record a batch of ``count`` blanks shipped to the city by Kemendagri.

        :param request: the reference of the request (``request``) the batch answers.
        :raises StockError: the count is not from 1 to ``MOST``, the reference was used
            before, or no such request was made.
        :raises InvalidText: the reference is empty, too long or holds a control character.
        """
        batch = _reference(reference, _("batch reference"))
        _count(count, _("batch {batch}").format(batch=batch))
        by = self._movement(actor, reason)
        day = _not_after_today(received_on, by.at)
        answers = _reference(request, _("request reference")) if request is not None else None
        with self._store.transaction() as conn:
            ledger.receive(conn, batch, count, day, by, answers)

    def distribute(
        self,
        reference: str,
        *,
        actor: str,
        counts: dict[str, int] | None = None,
        dry_run: bool = False,
        reason: str | None = None,
    ) -> Distribution:
        """Share a batch's undistributed blanks between kecamatan.

        :param counts: explicit shares ``{"16.71.05": 300}``; by default the active rule
            set's split rule decides from each kecamatan's unmet queue.
        :param dry_run: compute the shares and write nothing.
        :raises StockError: the batch is unknown or too small for ``counts``.
        """
        by = self._movement(actor, reason)
        with self._store.reading() if dry_run else self._store.transaction() as conn:
            if not dry_run:  # planned under the head's lock: no allocation moves the queue meanwhile
                eventlog.lock_head(conn)
            plan = distribution.plan(conn, reference, counts, by.at.date())
            if not dry_run and plan.shares:
                ledger.distribute(conn, reference, plan.shares, by)
        return plan

    def spoil(self, kecamatan: str, count: int, *, actor: str, reason: str) -> None:
        """Record unreserved blanks at a kecamatan ruined in printing.

        :raises StockError: more than the unreserved stock there, or no reason.
        """
        if not reason or not reason.strip():
            raise StockError(_("spoiling blanks needs a reason (e.g. 'printer jam, 3 cards')"))
        _count(count, _("spoil at {kecamatan}").format(kecamatan=kecamatan))
        by = self._movement(actor, reason)
        with self._store.transaction() as conn:
            ledger.spoil(conn, kecamatan_of(kecamatan).code, count, by)

    def lend(self, count: int, *, to: str, reference: str, actor: str, reason: str | None = None) -> None:
        """Lend ``count`` blanks still at the city to the kabupaten/kota ``to`` (``16.07``),
        from the oldest batches first; ``reference`` is the loan's document.

        :raises StockError: not that many blanks at the city, or no reference.
        :raises InvalidRegion: ``to`` is not an official kabupaten/kota code.
        """
        counterpart, document = kabupaten_kota_of(to), _reference(reference, _("loan document"))
        _count(count, _("lend to {kabupaten_kota}").format(kabupaten_kota=counterpart))
        by = self._movement(actor, reason)
        with self._store.transaction() as conn:
            ledger.lend(conn, count, counterpart, document, by)

    def borrow(
        self,
        count: int,
        *,
        lender: str,
        reference: str,
        actor: str,
        received_on: dt.date | None = None,
        reason: str | None = None,
    ) -> None:
        """Record ``count`` blanks lent to the city by the kabupaten/kota ``lender``, as a
        batch whose reference is the lender's document (``reference``).

        :raises StockError: the count is not positive, or the reference was used before.
        :raises InvalidRegion: ``lender`` is not an official kabupaten/kota code.
        """
        counterpart, document = kabupaten_kota_of(lender), _reference(reference, _("loan document"))
        _count(count, _("borrow from {kabupaten_kota}").format(kabupaten_kota=counterpart))
        by = self._movement(actor, reason)
        day = _not_after_today(received_on, by.at)
        with self._store.transaction() as conn:
            ledger.borrow(conn, document, count, day, counterpart, by)

    def set_quota(self, month: str, count: int, *, reference: str, actor: str, reason: str | None = None) -> None:
        """Record the centre's quota of blanks for ``month`` (``2026-12``); a later quota for
        the same month replaces it (both stay in the history).

        :raises StockError: the month is not ``YYYY-MM``, the count is negative, or no reference.
        """
        if not _MONTH.match(month) or not 2000 <= int(month[:4]) <= 2100:
            raise StockError(
                _("month {month!r}: expected YYYY-MM from 2000-01 to 2100-12, e.g. 2026-12").format(month=month)
            )
        _count(count, _("quota for {month}").format(month=month), least=0)
        document = _reference(reference, _("quota reference"))
        by = self._movement(actor, reason)
        with self._store.transaction() as conn:
            quotas.set_quota(conn, month, count, document, by.actor, by.reason, by.at)

    def request(
        self, months: int = 3, *, reference: str, actor: str, dry_run: bool = False, reason: str | None = None
    ) -> StockRequest:
        """Compute what to ask the centre for to cover ``months`` and, unless ``dry_run``,
        record the request under ``reference`` (its letter) with every figure.

        :raises StockError: no reference, one used before, months outside 1 to 24, or
            nothing to request (recorded requests only).
        """
        by = self._movement(actor, reason)
        document = (
            reference.strip() if dry_run and not reference.strip() else _reference(reference, _("request reference"))
        )
        with self._store.reading() if dry_run else self._store.transaction() as conn:
            if not dry_run:  # two requests at once must not both count what neither has asked for
                eventlog.lock_head(conn)
            computed = stock_request.compute(conn, document, months, by.at)
            if dry_run:
                return computed
            return stock_request.record(conn, computed, by.actor, by.reason)

    def requested(self, reference: str) -> StockRequest:
        """A recorded request with its figures, to print its letter again.

        :raises StockError: no such request.
        """
        with self._store.reading() as conn:
            return stock_request.recorded(conn, reference.strip())

    def request_page(self, request: StockRequest) -> str:
        """The request as a printable letter in Indonesian, with its computation (HTML)."""
        from .._files.request_page import render_html

        return render_html(request)

    def request_csv(self, request: StockRequest) -> str:
        """The request's computation as CSV, a row per line."""
        from .._files.request_page import render_csv

        return render_csv(request)

    def requests(self) -> list[RequestStatus]:
        """Every request made, oldest first, with the blanks received against it and the lead time."""
        with self._store.reading() as conn:
            return stock_request.statuses(conn)

    def quotas(self) -> list[QuotaUse]:
        """Per month with a quota or with use: the quota in force, the blanks used (printed or
        spoiled) and whether the use went beyond it."""
        with self._store.reading() as conn:
            set_, used = quotas.in_force(conn), quotas.used_by_month(conn)
        uses = []
        for month in sorted(set(set_) | set(used)):
            quota, reference = set_.get(month, (None, None))
            uses.append(QuotaUse(month, quota, reference, used.get(month, 0)))
        return uses

    def batches(self) -> list[balances.Batch]:
        """Every batch received, oldest first."""
        with self._store.reading() as conn:
            return balances.batches(conn)

    def loans(self) -> list[balances.Loan]:
        """Every loan to or from another kabupaten/kota, oldest first."""
        with self._store.reading() as conn:
            return balances.loans(conn)

    def spoilage(self, *, kecamatan: str | None = None, since: dt.date | None = None) -> list[balances.Spoiled]:
        """Every entry that spoiled blanks, oldest first, each with the card whose blank it
        was (None for unreserved blanks spoiled at once: ``spoil``).

        :param kecamatan: at this kecamatan only.
        :param since: from this day (WIB) on.
        :raises WorkflowError: the kecamatan is malformed or unknown.
        """
        code = None if kecamatan is None else kecamatan_of(kecamatan).code
        start = None if since is None else dt.datetime.combine(since, dt.time(), WIB)
        with self._store.reading() as conn:
            return balances.spoilage(conn, code, start)

    def stock(self) -> list[balances.StockLine]:
        """Blanks per batch: undistributed at the city, and per kecamatan by status."""
        with self._store.reading() as conn:
            return balances.stock(conn)

    def problems(self) -> list[str]:
        """Every way the balances disagree with the ledger entries or the cards; [] when sound."""
        with self._store.reading() as conn:
            return balances.conservation_problems(conn)

    def _movement(self, actor: str, reason: str | None) -> ledger.Movement:
        return ledger.Movement(require_actor(actor), now(), text.free(reason, _("reason")))
