"""Tamper evidence: hash-chained events, append-only tables, stored lifecycles, allocation inputs.

Existing events are chained in sequence order. Then the database itself refuses
UPDATE and DELETE (and on PostgreSQL TRUNCATE) on the append-only tables.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
APPEND_ONLY = (
    "events", "blank_entries", "rule_sets", "rule_set_activations",
    "allocation_runs", "allocation_stock", "allocation_queue", "lifecycles",
)
GENESIS = "0" * 64
# A copy of eventlog.HASHED_FIELDS and its encoding as of this revision.
HASHED_FIELDS = (
    "seq", "card_id", "version", "trigger", "from_state", "to_state", "actor", "reason",
    "occurred_at", "recorded_at", "lifecycle_hash", "idempotency_key", "rule_set_version", "batch_id",
)


def _plain(value):  # type: ignore[no-untyped-def]
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def _chain_hash(previous: str, row) -> str:  # type: ignore[no-untyped-def]
    encoded = json.dumps([_plain(row[f]) for f in HASHED_FIELDS], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(previous.encode("ascii") + b"\n" + encoded.encode("utf-8")).hexdigest()


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("hash", sa.String(64), nullable=True))
    last_seq, last_hash = _chain_existing_events(bind)
    with op.batch_alter_table("events") as batch:
        batch.alter_column("hash", existing_type=sa.String(64), nullable=False)
    chain = op.create_table(
        "event_chain",
        sa.Column("id", sa.Integer(), autoincrement=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_event_chain_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_chain")),
    )
    op.bulk_insert(chain, [{"id": 1, "last_seq": last_seq, "last_hash": last_hash}])
    op.create_table(
        "lifecycles",
        sa.Column("hash", sa.String(64)),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("first_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("hash", name=op.f("pk_lifecycles")),
    )
    _create_allocation_tables()
    for table in APPEND_ONLY:
        _refuse_changes(bind.dialect.name, table)


def _chain_existing_events(bind) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    events = sa.table("events", *(sa.column(f) for f in (*HASHED_FIELDS, "hash")))
    previous, last_seq = GENESIS, 0
    rows = bind.execute(sa.select(events).order_by(events.c.seq)).mappings().all()
    for row in rows:
        previous, last_seq = _chain_hash(previous, row), row["seq"]
        bind.execute(events.update().where(events.c.seq == last_seq).values(hash=previous))
    return last_seq, previous


def _create_allocation_tables() -> None:
    op.create_table(
        "allocation_runs",
        sa.Column("run_id", sa.String(40)),
        sa.Column("rule_set_version", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kecamatan", sa.String(8), nullable=True),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_set_version"], ["rule_sets.version"], name=op.f("fk_allocation_runs_rule_set_version_rule_sets")
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_allocation_runs")),
    )
    op.create_table(
        "allocation_stock",
        sa.Column("run_id", sa.String(40)),
        sa.Column("kecamatan", sa.String(8)),
        sa.Column("blanks", sa.Integer(), nullable=False),
        sa.Column("waiting", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["allocation_runs.run_id"], name=op.f("fk_allocation_stock_run_id_allocation_runs")
        ),
        sa.PrimaryKeyConstraint("run_id", "kecamatan", name=op.f("pk_allocation_stock")),
    )
    op.create_table(
        "allocation_queue",
        sa.Column("run_id", sa.String(40)),
        sa.Column("card_id", BigId, autoincrement=False),
        sa.Column("kecamatan", sa.String(8), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("had_ektp", sa.Boolean(), nullable=False),
        sa.Column("disaster_victim", sa.Boolean(), nullable=False),
        sa.Column("suket", sa.Boolean(), nullable=False),
        sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["card_id"], ["cards.id"], name=op.f("fk_allocation_queue_card_id_cards")),
        sa.ForeignKeyConstraint(
            ["run_id"], ["allocation_runs.run_id"], name=op.f("fk_allocation_queue_run_id_allocation_runs")
        ),
        sa.PrimaryKeyConstraint("run_id", "card_id", name=op.f("pk_allocation_queue")),
    )


def _refuse_changes(dialect: str, table: str) -> None:
    if dialect == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION ektp_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP "
            "USING ERRCODE = 'insufficient_privilege'; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION ektp_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION ektp_refuse_change()"
        )
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {action} refused'); END"
        )


def _allow_changes(dialect: str, table: str) -> None:
    if dialect == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        return
    for action in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        _allow_changes(dialect, table)
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS ektp_refuse_change()")
    op.drop_table("allocation_queue")
    op.drop_table("allocation_stock")
    op.drop_table("allocation_runs")
    op.drop_table("lifecycles")
    op.drop_table("event_chain")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("hash")
