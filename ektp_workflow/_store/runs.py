"""What became of a recorded allocation run's choices, for ``audit explain``: a run
applies its plan chunk by chunk, and between chunks other writers may move a chosen
card out of the queue or take a blank from its kecamatan."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .schema import allocation_runs, blank_entries, bulk_jobs, events


def interrupted(tx: Connection, run_id: str) -> bool:
    """Whether the run stopped (a crash) before it reached all it chose."""
    return tx.scalar(sa.select(bulk_jobs.c.status).where(bulk_jobs.c.id == run_id)) == "running"


def window(tx: Connection, run_id: str) -> tuple[int, int]:
    """The seq of the run's entry and of its last event (its entry's if it wrote none):
    while it applied its plan."""
    start = tx.scalar(sa.select(allocation_runs.c.seq).where(allocation_runs.c.run_id == run_id)) or 0
    last = tx.scalar(sa.select(sa.func.max(events.c.seq)).where(events.c.batch_id == run_id))
    return int(start), int(last if last is not None else start)


def left_queue(tx: Connection, run_id: str, during: tuple[int, int], card_id: int) -> tuple[int, str] | None:
    """The card's first event by another hand ``during`` the run's ``window`` (seq,
    trigger): it left the queue before the run reached it. None if it had none."""
    start, last = during
    query = (
        sa.select(events.c.seq, events.c.trigger)
        .where(events.c.card_id == card_id, events.c.seq > start, events.c.seq <= last)
        .where(sa.or_(events.c.batch_id.is_(None), events.c.batch_id != run_id))
        .order_by(events.c.seq)
        .limit(1)
    )
    row = tx.execute(query).first()
    return None if row is None else (int(row[0]), str(row[1]))


def blanks_taken(tx: Connection, run_id: str, during: tuple[int, int], kecamatan: str) -> int:
    """Unreserved blanks of the kecamatan taken by others ``during`` the run's ``window``:
    spoiled, or reserved for a card the run did not allocate."""
    start, last = during
    by_run = sa.select(events.c.card_id).where(events.c.batch_id == run_id, events.c.trigger == "allocate")
    b = blank_entries.c
    query = sa.select(sa.func.coalesce(sa.func.sum(b.quantity), 0)).where(
        b.kecamatan == kecamatan,
        b.seq > start,
        b.seq <= last,
        sa.or_(b.movement == "spoiled", sa.and_(b.movement == "reserved", b.card_id.not_in(by_run))),
    )
    return int(tx.scalar(query) or 0)
