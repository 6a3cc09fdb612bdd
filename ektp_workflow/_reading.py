"""The workflow's reads: cards, their histories, lists of them and the event feed.

``Workflow`` inherits them; each is one line, the work is in ``_services.cards``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._services import cards

if TYPE_CHECKING:
    from ._store.store import Store
    from .records import Card, CardPage, Event
    from .states import Lifecycle


class Reading:
    """What a ``Workflow`` reads; each read is one snapshot and takes no write lock."""

    _store: Store
    lifecycle: Lifecycle

    def card(self, nik: str) -> Card:
        """The card of ``nik``.

        :raises InvalidNIK: the NIK is malformed.
        :raises CardNotFound: no card is registered for it.
        """
        return cards.card(self._store, nik)

    def history(self, nik: str) -> list[Event]:
        """Every event of the card of ``nik``, oldest first."""
        return cards.history(self._store, nik)

    def cards(
        self, *, state: str | None = None, kecamatan: str | None = None, after_nik: str | None = None, limit: int = 100
    ) -> list[Card]:
        """Cards by state and current kecamatan, in NIK order; page with ``after_nik``.

        :raises WorkflowError: the state is not part of the lifecycle.
        """
        return cards.listed(self._store, self.lifecycle, state, kecamatan, after_nik, limit)

    def list_cards(
        self,
        *,
        states: Sequence[str] = (),
        kecamatan: str | None = None,
        replacement: bool | None = None,
        waiting_longer_than: int | None = None,
        name: str | None = None,
        nik_prefix: str | None = None,
        order: str = "nik",
        after: str | None = None,
        limit: int = 50,
    ) -> CardPage:
        """A page of cards, from one snapshot, with the cursor of the next page.

        :param states: cards in any of these states (default: any state).
        :param kecamatan: in this current kecamatan (``16.71.05`` or ``167105``).
        :param replacement: True for replacements only (the resident held an e-KTP),
            False for first-time applicants only.
        :param waiting_longer_than: whose last event is more than this many days old.
        :param name: whose name holds this text, ignoring case, accents and extra spaces.
        :param nik_prefix: whose NIK starts with these digits.
        :param order: ``"nik"``; ``"waiting"``, longest in their state first; or ``"queue"``,
            the cards waiting for a blank in the order the active rules would give them
            one, kecamatan by kecamatan.
        :param after: the ``next`` of the page before (keyset paging: a card that changes
            meanwhile neither repeats nor hides another).
        :param limit: cards in a page, 1 to 10,000.
        :raises WorkflowError: an unknown state or order, a malformed kecamatan, prefix or
            cursor, or a queue cursor whose card no longer waits.
        """
        return cards.page(
            self._store,
            self.lifecycle,
            states=states,
            kecamatan=kecamatan,
            replacement=replacement,
            waiting_longer_than=waiting_longer_than,
            name=name,
            nik_prefix=nik_prefix,
            order=order,
            after=after,
            limit=limit,
        )

    def events_after(self, seq: int = 0, limit: int = 1000) -> list[Event]:
        """Events with a sequence number above ``seq``, in order: the feed to consume."""
        return cards.events_after(self._store, seq, limit)

    def counts(self) -> dict[str, dict[str, int]]:
        """Number of cards per current kecamatan and state."""
        return cards.counts(self._store)
