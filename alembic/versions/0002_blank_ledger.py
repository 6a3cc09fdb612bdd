"""Blank ledger: batches, per-kecamatan balances, entries, and the card's reserved blank.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "blank_batches",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("undistributed", sa.Integer(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.CheckConstraint("received > 0", name=op.f("ck_blank_batches_received_positive")),
        sa.CheckConstraint(
            "undistributed >= 0 AND undistributed <= received",
            name=op.f("ck_blank_batches_undistributed_range"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blank_batches")),
        sa.UniqueConstraint("reference", name=op.f("uq_blank_batches_reference")),
    )
    op.create_table(
        "blank_stock",
        sa.Column("batch_id", BigId, autoincrement=False),
        sa.Column("kecamatan", sa.String(8)),
        sa.Column("unallocated", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.Column("consumed", sa.Integer(), nullable=False),
        sa.Column("spoiled", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "unallocated >= 0 AND reserved >= 0 AND consumed >= 0 AND spoiled >= 0",
            name=op.f("ck_blank_stock_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["blank_batches.id"], name=op.f("fk_blank_stock_batch_id_blank_batches")
        ),
        sa.PrimaryKeyConstraint("batch_id", "kecamatan", name=op.f("pk_blank_stock")),
    )
    op.create_table(
        "blank_entries",
        sa.Column("seq", BigId, primary_key=True, autoincrement=True),
        sa.Column("batch_id", BigId, nullable=False),
        sa.Column("kecamatan", sa.String(8), nullable=True),
        sa.Column("movement", sa.String(16), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("card_id", BigId, nullable=True),
        sa.Column("card_version", sa.Integer(), nullable=True),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_blank_entries_quantity_positive")),
        sa.CheckConstraint(
            "movement IN ('received', 'distributed', 'reserved', 'released', 'consumed', 'spoiled')",
            name=op.f("ck_blank_entries_movement"),
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["blank_batches.id"], name=op.f("fk_blank_entries_batch_id_blank_batches")
        ),
        sa.ForeignKeyConstraint(["card_id"], ["cards.id"], name=op.f("fk_blank_entries_card_id_cards")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_blank_entries")),
    )
    op.create_index("ix_blank_entries_card_id", "blank_entries", ["card_id"])
    with op.batch_alter_table("cards") as batch:
        batch.add_column(sa.Column("blank_batch_id", BigId, nullable=True))
        batch.create_foreign_key(
            op.f("fk_cards_blank_batch_id_blank_batches"), "blank_batches", ["blank_batch_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("cards") as batch:
        batch.drop_constraint(op.f("fk_cards_blank_batch_id_blank_batches"), type_="foreignkey")
        batch.drop_column("blank_batch_id")
    op.drop_index("ix_blank_entries_card_id", table_name="blank_entries")
    op.drop_table("blank_entries")
    op.drop_table("blank_stock")
    op.drop_table("blank_batches")
