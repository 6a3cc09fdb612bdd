"""Allocation rules: rule-set versions and activations, resident flags, event provenance.

A fresh database starts with rule set version 1, the default (ektp_workflow/rules/default.toml).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# A copy, not an import: a migration must keep meaning what it meant when written.
DEFAULT_RULE_SET = '# The rule set a fresh database starts with: the Palembang 2017 seed case.\n# Blanks go to kecamatan in proportion to who is waiting there, and within a\n# kecamatan first to residents who have never had an e-KTP, then longest waiting.\nname = "first-time applicants first"\n\n[split]\nrule = "proportional_to_queue"\n\n[[queue]]\nrule = "first_time_first"\n\n[[queue]]\nrule = "longest_waiting_first"\n'
DEFAULT_RULE_SET_HASH = "d74541a9d5d1a41e5f64bdfb51ea44f6a45c8b3fa6b5bbc4dcbf5696c40c36f9"


def upgrade() -> None:
    with op.batch_alter_table("residents") as batch:
        batch.add_column(sa.Column("disaster_victim", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("suket", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("rule_set_version", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("batch_id", sa.Text(), nullable=True))
    rule_sets = op.create_table(
        "rule_sets",
        sa.Column("version", sa.Integer(), autoincrement=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_rule_sets")),
        sa.UniqueConstraint("hash", name=op.f("uq_rule_sets_hash")),
    )
    activations = op.create_table(
        "rule_set_activations",
        sa.Column("seq", BigId, primary_key=True, autoincrement=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("action IN ('apply', 'rollback')", name=op.f("ck_rule_set_activations_action")),
        sa.ForeignKeyConstraint(
            ["version"], ["rule_sets.version"], name=op.f("fk_rule_set_activations_version_rule_sets")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_rule_set_activations")),
    )
    now = dt.datetime.now(dt.timezone.utc)
    if op.get_bind().dialect.name == "sqlite":
        now = now.replace(tzinfo=None)
    op.bulk_insert(
        rule_sets,
        [{"version": 1, "name": "first-time applicants first", "hash": DEFAULT_RULE_SET_HASH,
          "text": DEFAULT_RULE_SET, "created_at": now, "created_by": "ektp_workflow"}],
    )
    op.bulk_insert(
        activations,
        [{"version": 1, "action": "apply", "actor": "ektp_workflow",
          "reason": "default rule set of a new database", "occurred_at": now}],
    )


def downgrade() -> None:
    op.drop_table("rule_set_activations")
    op.drop_table("rule_sets")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("batch_id")
        batch.drop_column("rule_set_version")
    with op.batch_alter_table("residents") as batch:
        batch.drop_column("suket")
        batch.drop_column("disaster_victim")
