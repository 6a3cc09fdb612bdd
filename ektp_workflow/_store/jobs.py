"""Bulk jobs, so that one interrupted by a crash or Ctrl-C resumes where it stopped."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .schema import bulk_jobs


def start(tx: Connection, job_id: str, trigger: str, selection: dict[str, Any], actor: str, at: dt.datetime) -> bool:
    """Record a job as running; return True if it had been started before (a resume)."""
    status = tx.scalar(sa.select(bulk_jobs.c.status).where(bulk_jobs.c.id == job_id))
    if status is not None:
        return True
    tx.execute(
        bulk_jobs.insert().values(
            id=job_id,
            trigger=trigger,
            selection=json.dumps(selection, sort_keys=True),
            actor=actor,
            status="running",
            started_at=at,
            finished_at=None,
            applied=0,
        )
    )
    return False


def running(tx: Connection, selection: dict[str, Any]) -> str | None:
    """The id of an unfinished job with this selection, if one was interrupted."""
    return tx.scalar(
        sa.select(bulk_jobs.c.id).where(
            bulk_jobs.c.selection == json.dumps(selection, sort_keys=True), bulk_jobs.c.status == "running"
        )
    )


def finish(tx: Connection, job_id: str, applied: int, at: dt.datetime) -> None:
    """Mark a job completed, adding the cards this run moved to what it had moved before."""
    tx.execute(
        bulk_jobs.update()
        .where(bulk_jobs.c.id == job_id)
        .values(status="completed", finished_at=at, applied=bulk_jobs.c.applied + applied)
    )
