"""The blank stock as integrators and operators use it: ``Workflow.blanks``."""

from __future__ import annotations

import datetime as dt

from .._provenance import require_actor
from .._store import balances, ledger
from .._store.store import Store
from ..clock import now
from ..errors import StockError
from ..regions import kecamatan_of
from . import distribution
from .distribution import Distribution


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
    ) -> None:
        """Record a batch of ``count`` blanks shipped to the city by Kemendagri.

        :raises StockError: the count is not positive or the reference was used before.
        """
        by = self._movement(actor, reason)
        with self._store.transaction() as conn:
            ledger.receive(conn, reference.strip(), count, received_on or by.at.date(), by)

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
            plan = distribution.plan(conn, reference, counts, by.at.date())
            if not dry_run and plan.shares:
                ledger.distribute(conn, reference, plan.shares, by)
        return plan

    def spoil(self, kecamatan: str, count: int, *, actor: str, reason: str) -> None:
        """Record unreserved blanks at a kecamatan ruined in printing.

        :raises StockError: more than the unreserved stock there, or no reason.
        """
        if not reason or not reason.strip():
            raise StockError("spoiling blanks needs a reason (e.g. 'printer jam, 3 cards')")
        by = self._movement(actor, reason)
        with self._store.transaction() as conn:
            ledger.spoil(conn, kecamatan_of(kecamatan).code, count, by)

    def batches(self) -> list[balances.Batch]:
        """Every batch received, oldest first."""
        with self._store.reading() as conn:
            return balances.batches(conn)

    def stock(self) -> list[balances.StockLine]:
        """Blanks per batch: undistributed at the city, and per kecamatan by status."""
        with self._store.reading() as conn:
            return balances.stock(conn)

    def problems(self) -> list[str]:
        """Every way the balances disagree with the ledger entries or the cards; [] when sound."""
        with self._store.reading() as conn:
            return balances.conservation_problems(conn)

    def _movement(self, actor: str, reason: str | None) -> ledger.Movement:
        return ledger.Movement(require_actor(actor), now(), reason)
