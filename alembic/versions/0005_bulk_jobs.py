"""Bulk jobs (resumable after a crash) and an index of events by batch.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bulk_jobs",
        sa.Column("id", sa.String(40)),
        sa.Column("trigger", sa.String(40), nullable=False),
        sa.Column("selection", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("applied", sa.Integer(), nullable=False),
        sa.CheckConstraint("status IN ('running', 'completed')", name=op.f("ck_bulk_jobs_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulk_jobs")),
    )
    # Plain CREATE INDEX: no table rebuild, so the append-only triggers on events stay.
    op.create_index("ix_events_batch_id", "events", ["batch_id"])


def downgrade() -> None:
    op.drop_index("ix_events_batch_id", table_name="events")
    op.drop_table("bulk_jobs")
