"""One chain for everything that changes: ledger entries, rule sets, their activations and
allocation runs take places in the events' sequence, each with a chain hash; an
allocation run also keeps the hash of its recorded inputs. Blanks can be lent to and
borrowed from another kabupaten/kota (ledger movements naming the counterpart and its
document); the centre's monthly quotas and the city's requests to the centre (with the
figures they were computed from) are kept, chained too, and a batch can name the request
it answers.

Existing entries are chained in the order they happened (then by kind and key): after
the last event, or, in a database without events, just before where the first event
will go (so that events still start at seq 1; a fresh database has the default rule set
and its activation at seq -1 and 0). The append-only triggers of the four tables are
dropped while their rows are numbered, then made again.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

GENESIS = "0" * 64
# A copy of chain.ENTRY_FIELDS and its encoding as of this revision.
ENTRY_FIELDS = {
    "blank_entry": (
        "seq", "batch_id", "reference", "received_on", "kecamatan", "movement", "quantity", "card_id",
        "card_version", "actor", "reason", "occurred_at", "counterpart", "counterpart_reference", "request",
    ),
    "rule_set": ("seq", "version", "name", "hash", "text", "created_at", "created_by"),
    "rule_activation": ("seq", "version", "action", "actor", "reason", "occurred_at"),
    "allocation_run": ("seq", "run_id", "rule_set_version", "day", "kecamatan", "actor", "occurred_at", "inputs_hash"),
}
TABLES = {
    "blank_entry": ("blank_entries", "seq", "occurred_at"),
    "rule_set": ("rule_sets", "version", "created_at"),
    "rule_activation": ("rule_set_activations", "seq", "occurred_at"),
    "allocation_run": ("allocation_runs", "run_id", "occurred_at"),
}
# Made by this revision, append-only too.
NEW_TABLES = ("blank_quotas", "blank_requests")
KEPT = ("kecamatan", "card_id", "birth_date", "had_ektp", "disaster_victim", "suket", "waiting_since")
# Old keys of the renumbered tables move out of the way first.
AWAY = 10**15


def _plain(value):  # type: ignore[no-untyped-def]
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _encoded(values) -> bytes:  # type: ignore[no-untyped-def]
    return json.dumps([_plain(v) for v in values], ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _entry_hash(previous: str, kind: str, values) -> str:  # type: ignore[no-untyped-def]
    return hashlib.sha256(previous.encode("ascii") + b"\n" + _encoded([kind, *values])).hexdigest()


MOVEMENTS = ("received", "distributed", "reserved", "released", "consumed", "spoiled", "lent", "borrowed")


def upgrade() -> None:
    bind = op.get_bind()
    for table, _, _ in TABLES.values():
        _allow_changes(bind.dialect.name, table)
    _ledger_with_loans(bind)
    op.add_column("blank_batches", sa.Column("request", sa.Text(), nullable=True))
    _requests_table()
    op.create_table(
        "blank_quotas",
        sa.Column("seq", sa.BigInteger(), autoincrement=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("chain_hash", sa.String(64), nullable=True),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_blank_quotas_quantity_not_negative")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_blank_quotas")),
    )
    op.add_column("rule_set_activations", sa.Column("chain_hash", sa.String(64), nullable=True))
    for table in ("rule_sets", "allocation_runs"):
        op.add_column(table, sa.Column("seq", sa.BigInteger(), nullable=True))
        op.add_column(table, sa.Column("chain_hash", sa.String(64), nullable=True))
    op.add_column("allocation_runs", sa.Column("inputs_hash", sa.String(64), nullable=True))
    _chain_existing(bind)
    op.create_index("uq_rule_sets_seq", "rule_sets", ["seq"], unique=True)
    op.create_index("uq_allocation_runs_seq", "allocation_runs", ["seq"], unique=True)
    for table in (*(t for t, _, _ in TABLES.values()), *NEW_TABLES):
        _refuse_changes(bind.dialect.name, table)


def _requests_table() -> None:
    figures = (
        "months", "waiting_first_time", "waiting_replacement", "in_prr", "left_prr", "window_days",
        "expected_from_prr", "consumed", "spoiled", "needed", "on_hand", "outstanding", "quantity",
    )
    op.create_table(
        "blank_requests",
        sa.Column("seq", sa.BigInteger(), autoincrement=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("region", sa.String(5), nullable=True),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in figures),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("chain_hash", sa.String(64), nullable=True),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_blank_requests_quantity_not_negative")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_blank_requests")),
        sa.UniqueConstraint("reference", name=op.f("uq_blank_requests_reference")),
    )


def _ledger_with_loans(bind) -> None:  # type: ignore[no-untyped-def]
    """The ledger's entries gain a chain hash, the counterpart of a loan and its document,
    and the movements 'lent' and 'borrowed'. SQLite cannot change a CHECK constraint in
    place: the table (which no other refers to) is made again and its rows copied."""
    movement = f"movement IN ({', '.join(repr(m) for m in MOVEMENTS)})"
    added = ("chain_hash", "counterpart", "counterpart_reference")
    if bind.dialect.name == "postgresql":
        op.add_column("blank_entries", sa.Column("chain_hash", sa.String(64), nullable=True))
        op.add_column("blank_entries", sa.Column("counterpart", sa.String(5), nullable=True))
        op.add_column("blank_entries", sa.Column("counterpart_reference", sa.Text(), nullable=True))
        op.drop_constraint(op.f("ck_blank_entries_movement"), "blank_entries", type_="check")
        op.create_check_constraint(op.f("ck_blank_entries_movement"), "blank_entries", movement)
        return
    columns = "seq, batch_id, kecamatan, movement, quantity, card_id, card_version, actor, reason, occurred_at"
    op.create_table(
        "blank_entries_new",
        sa.Column("seq", sa.Integer(), autoincrement=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("kecamatan", sa.String(8), nullable=True),
        sa.Column("movement", sa.String(16), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("card_id", sa.Integer(), nullable=True),
        sa.Column("card_version", sa.Integer(), nullable=True),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        *(sa.Column(name, sa.Text() if name == "counterpart_reference" else sa.String(64 if name == "chain_hash" else 5), nullable=True) for name in added),
        sa.CheckConstraint("quantity > 0", name="ck_blank_entries_quantity_positive"),
        sa.CheckConstraint(movement, name="ck_blank_entries_movement"),
        sa.ForeignKeyConstraint(["batch_id"], ["blank_batches.id"], name="fk_blank_entries_batch_id_blank_batches"),
        sa.ForeignKeyConstraint(["card_id"], ["cards.id"], name="fk_blank_entries_card_id_cards"),
        sa.PrimaryKeyConstraint("seq", name="pk_blank_entries"),
    )
    op.execute(f"INSERT INTO blank_entries_new ({columns}) SELECT {columns} FROM blank_entries")
    op.drop_index("ix_blank_entries_card_id", "blank_entries")
    op.drop_table("blank_entries")
    op.rename_table("blank_entries_new", "blank_entries")
    op.create_index("ix_blank_entries_card_id", "blank_entries", ["card_id"])


def _chain_existing(bind) -> None:  # type: ignore[no-untyped-def]
    _record_inputs(bind)
    found = []
    for kind, (table, key, time) in TABLES.items():
        for row in _rows(bind, kind):
            found.append((_plain(row[time]), list(TABLES).index(kind), row[key], kind, row))
    found.sort(key=lambda item: item[:3])
    last_seq, last_hash = bind.execute(sa.text("SELECT last_seq, last_hash FROM event_chain WHERE id = 1")).one()
    if last_seq == 0:  # no events yet: the entries go before the first event's place, seq 1
        last_seq = -len(found)
    for table in ("blank_entries", "rule_set_activations"):
        bind.execute(sa.text(f"UPDATE {table} SET seq = seq + {AWAY}"))
    for _, _, key, kind, row in found:
        last_seq += 1
        values = [last_seq, *(row[f] for f in ENTRY_FIELDS[kind][1:])]
        last_hash = _entry_hash(last_hash, kind, values)
        _number(bind, kind, key, last_seq, last_hash)
    bind.execute(sa.text("UPDATE event_chain SET last_seq = :s, last_hash = :h WHERE id = 1"), {"s": last_seq, "h": last_hash})


# The columns the entries' hashes cover, with the types that read them back as the
# engine does (times and dates as objects, flags as booleans).
TYPES = {
    "occurred_at": sa.DateTime(), "created_at": sa.DateTime(), "received_on": sa.Date(), "day": sa.Date(),
    "birth_date": sa.Date(), "waiting_since": sa.DateTime(), "had_ektp": sa.Boolean(),
    "disaster_victim": sa.Boolean(), "suket": sa.Boolean(),
}


def _table(name: str, *columns: str) -> sa.TableClause:
    return sa.table(name, *(sa.column(c, TYPES.get(c)) for c in columns))


def _rows(bind, kind: str) -> list:  # type: ignore[no-untyped-def,type-arg]
    if kind != "blank_entry":
        table = _table(TABLES[kind][0], *ENTRY_FIELDS[kind])
        return [dict(row._mapping) for row in bind.execute(sa.select(table))]
    of_batch = ("reference", "received_on", "request")
    entries = _table("blank_entries", *(f for f in ENTRY_FIELDS[kind] if f not in of_batch))
    batches = _table("blank_batches", "id", "reference", "received_on")
    e, b = entries.c, batches.c
    received = e.movement.in_(("received", "borrowed"))
    query = sa.select(
        *(e[f] for f in ("seq", "batch_id")),
        sa.case((received, b.reference)).label("reference"),
        sa.case((received, b.received_on)).label("received_on"),
        sa.null().label("request"),  # no batch answered a request before this revision
        *(e[f] for f in ENTRY_FIELDS[kind][4:] if f not in of_batch),
    ).select_from(entries.outerjoin(batches, b.id == e.batch_id))
    return [dict(row._mapping) for row in bind.execute(query)]


def _number(bind, kind: str, key, seq: int, chain_hash: str) -> None:  # type: ignore[no-untyped-def]
    table, column, _ = TABLES[kind]
    old = key + AWAY if column == "seq" else key
    bind.execute(
        sa.text(f"UPDATE {table} SET seq = :seq, chain_hash = :hash WHERE {column} = :key"),
        {"seq": seq, "hash": chain_hash, "key": old},
    )


def _record_inputs(bind) -> None:  # type: ignore[no-untyped-def]
    runs = [run_id for (run_id,) in bind.execute(sa.text("SELECT run_id FROM allocation_runs"))]
    for run_id in runs:
        digest = hashlib.sha256()
        stock = bind.execute(
            sa.text("SELECT kecamatan, blanks, waiting FROM allocation_stock WHERE run_id = :r ORDER BY kecamatan"),
            {"r": run_id},
        )
        for line in stock:
            digest.update(_encoded(["stock", *line]) + b"\n")
        kept = _table("allocation_queue", "run_id", *KEPT)
        queue = bind.execute(
            sa.select(*(kept.c[f] for f in KEPT)).where(kept.c.run_id == run_id).order_by(kept.c.kecamatan, kept.c.card_id)
        )
        for waiting in queue:
            digest.update(_encoded(["queue", *waiting]) + b"\n")
        bind.execute(
            sa.text("UPDATE allocation_runs SET inputs_hash = :h WHERE run_id = :r"), {"h": digest.hexdigest(), "r": run_id}
        )


def _refuse_changes(dialect: str, table: str) -> None:
    if dialect == "postgresql":
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
    """Back to revision 0006, for a database whose history holds nothing this revision
    chained beyond the schema's own two entries: 0006 chains events alone, so entries
    between events would break its chain (and quotas, requests and loans would be lost)."""
    bind = op.get_bind()
    chained = [
        table
        for table in ("blank_entries", "rule_sets", "rule_set_activations", "allocation_runs", *NEW_TABLES)
        if bind.execute(sa.text(f"SELECT 1 FROM {table} WHERE seq >= 1 LIMIT 1")).first() is not None
    ]
    if chained:
        raise RuntimeError(
            f"the history chains entries of {', '.join(chained)} with its events: going back to 0006 would "
            "break the chain and lose them; restore a backup taken at 0006 instead"
        )
    for table in (*(t for t, _, _ in TABLES.values()), *NEW_TABLES):
        _allow_changes(bind.dialect.name, table)
    for table in NEW_TABLES:
        op.drop_table(table)
    op.drop_index("uq_allocation_runs_seq", "allocation_runs")
    op.drop_index("uq_rule_sets_seq", "rule_sets")
    # Entries leave the chain: the head goes back to the last event.
    last = bind.execute(sa.text("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")).first()
    bind.execute(
        sa.text("UPDATE event_chain SET last_seq = :s, last_hash = :h WHERE id = 1"),
        {"s": last[0] if last else 0, "h": last[1] if last else GENESIS},
    )
    # ALTER TABLE ... DROP COLUMN, also on SQLite (3.35 and later): no table is rebuilt,
    # so the tables that refer to these keep their rows.
    for table, columns in {
        "allocation_runs": ("inputs_hash", "chain_hash", "seq"),
        "rule_sets": ("chain_hash", "seq"),
        "rule_set_activations": ("chain_hash",),
        "blank_batches": ("request",),
    }.items():
        for column in columns:
            op.drop_column(table, column)
    _ledger_without_loans(bind)
    for table, _, _ in TABLES.values():
        _refuse_changes(bind.dialect.name, table)


def _ledger_without_loans(bind) -> None:  # type: ignore[no-untyped-def]
    old = ("received", "distributed", "reserved", "released", "consumed", "spoiled")
    movement = f"movement IN ({', '.join(repr(m) for m in old)})"
    if bind.dialect.name == "postgresql":
        op.drop_constraint(op.f("ck_blank_entries_movement"), "blank_entries", type_="check")
        op.create_check_constraint(op.f("ck_blank_entries_movement"), "blank_entries", movement)
        for column in ("counterpart_reference", "counterpart", "chain_hash"):
            op.drop_column("blank_entries", column)
        return
    columns = "seq, batch_id, kecamatan, movement, quantity, card_id, card_version, actor, reason, occurred_at"
    op.execute(
        "CREATE TABLE blank_entries_old (seq INTEGER NOT NULL, batch_id INTEGER NOT NULL, kecamatan VARCHAR(8), "
        "movement VARCHAR(16) NOT NULL, quantity INTEGER NOT NULL, card_id INTEGER, card_version INTEGER, "
        "actor TEXT NOT NULL, reason TEXT, occurred_at DATETIME NOT NULL, "
        "CONSTRAINT pk_blank_entries PRIMARY KEY (seq), "
        "CONSTRAINT ck_blank_entries_quantity_positive CHECK (quantity > 0), "
        f"CONSTRAINT ck_blank_entries_movement CHECK ({movement}), "
        "CONSTRAINT fk_blank_entries_batch_id_blank_batches FOREIGN KEY(batch_id) REFERENCES blank_batches (id), "
        "CONSTRAINT fk_blank_entries_card_id_cards FOREIGN KEY(card_id) REFERENCES cards (id))"
    )
    op.execute(f"INSERT INTO blank_entries_old ({columns}) SELECT {columns} FROM blank_entries")
    op.drop_index("ix_blank_entries_card_id", "blank_entries")
    op.drop_table("blank_entries")
    op.rename_table("blank_entries_old", "blank_entries")
    op.create_index("ix_blank_entries_card_id", "blank_entries", ["card_id"])
