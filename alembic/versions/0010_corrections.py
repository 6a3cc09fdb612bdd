"""Corrections of residents' data: resident_entries.evidence.

A correction is a resident entry (``corrected``) with the operator's reason and, if
any, the document it rests on. The evidence is hashed after the entry's other fields,
and only when present (``chain.LATER_FIELDS``), so every entry chained before keeps its
hash and every kept checkpoint stays valid.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: no table rebuild, the append-only triggers stay.
    op.add_column("resident_entries", sa.Column("evidence", sa.Text(), nullable=True))


def downgrade() -> None:
    bind = op.get_bind()
    cited = bind.execute(sa.text("SELECT count(*) FROM resident_entries WHERE evidence IS NOT NULL")).scalar()
    if cited:
        raise RuntimeError(
            f"{cited} resident entries cite evidence, which is part of their hash: going back to 0009 "
            "would break the chain; restore a backup taken before 0010 instead"
        )
    op.execute("ALTER TABLE resident_entries DROP COLUMN evidence")
