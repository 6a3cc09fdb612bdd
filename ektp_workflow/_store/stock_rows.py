"""The rows the blank ledger moves: who moves blanks (``Movement``), an entry as the chain
takes it, a batch found by its reference, and the stock of the kecamatan offices.
``ledger`` makes the movements of them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..errors import StockError
from ..i18n import _
from .schema import blank_batches, blank_stock, cards


@dataclass(frozen=True)
class Movement:
    """Who moves blanks, when and why: the part every entry shares."""

    actor: str
    at: dt.datetime
    reason: str | None = None


def unallocated_at(conn: Connection, kecamatan: str) -> int:
    """Blanks at a kecamatan that are not reserved for any card."""
    total = conn.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(blank_stock.c.unallocated), 0)).where(
            blank_stock.c.kecamatan == kecamatan
        )
    )
    return int(total or 0)


def hold_blank(conn: Connection, card_id: int, batch_id: int) -> None:
    held = conn.execute(
        cards.update().where(cards.c.id == card_id, cards.c.blank_batch_id.is_(None)).values(blank_batch_id=batch_id)
    ).rowcount
    if held != 1:
        raise StockError(_("card {card_id} already holds a reserved blank").format(card_id=card_id))


def batch_by_reference(conn: Connection, reference: str) -> tuple[int, int]:
    row = conn.execute(
        sa.select(blank_batches.c.id, blank_batches.c.undistributed).where(blank_batches.c.reference == reference)
    ).first()
    if row is None:
        raise StockError(_("no batch with reference {reference!r}").format(reference=reference))
    return int(row.id), int(row.undistributed)


def batches_with_stock(conn: Connection, kecamatan: str) -> list[int]:
    return list(
        conn.scalars(
            sa.select(blank_stock.c.batch_id)
            .where(blank_stock.c.kecamatan == kecamatan, blank_stock.c.unallocated > 0)
            .order_by(blank_stock.c.batch_id)
        )
    )


def add_stock(conn: Connection, batch_id: int, kecamatan: str, count: int) -> None:
    updated = conn.execute(
        blank_stock.update()
        .where(blank_stock.c.batch_id == batch_id, blank_stock.c.kecamatan == kecamatan)
        .values(unallocated=blank_stock.c.unallocated + count)
    ).rowcount
    if updated == 0:
        conn.execute(
            blank_stock.insert().values(
                batch_id=batch_id, kecamatan=kecamatan, unallocated=count, reserved=0, consumed=0, spoiled=0
            )
        )


def entry(
    batch_id: int,
    kecamatan: str | None,
    movement: str,
    quantity: int,
    by: Movement,
    card_id: int | None = None,
    card_version: int | None = None,
) -> dict[str, Any]:
    """A ledger entry as ``eventlog.append_entries`` takes it (the batch's reference and
    day of receipt only on the entry that received it)."""
    return {
        "batch_id": batch_id,
        "reference": None,
        "received_on": None,
        "kecamatan": kecamatan,
        "movement": movement,
        "quantity": quantity,
        "card_id": card_id,
        "card_version": card_version,
        "actor": by.actor,
        "reason": by.reason,
        "occurred_at": by.at,
        "counterpart": None,
        "counterpart_reference": None,
        "request": None,
    }
