"""Residents' data in the chained history: resident_entries.

Every version of a resident's data is an entry chained with the events (registered,
set by an effect, and later corrected); the residents table becomes their projection,
which replay checks. The residents a database already holds get a ``baseline`` entry
each, in id order after the chain head: their data as found, the actor who registered
them and the time they were registered. Kept checkpoints stay valid: the chain only
grows.

Going back to 0007 drops the entries; it is refused once anything was appended after
them (the chain would have a hole), as restoring a backup is then the way back.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# A copy of chain.RESIDENT_ENTRY_FIELDS and the entries' encoding as of this revision.
FIELDS = (
    "seq", "resident_id", "change", "nik", "name", "kecamatan", "birth_date", "sex", "had_ektp",
    "disaster_victim", "suket", "actor", "reason", "occurred_at",
)
DATA = ("nik", "name", "kecamatan", "birth_date", "sex", "had_ektp", "disaster_victim", "suket")
PAGE = 5000


def _plain(value):  # type: ignore[no-untyped-def]
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _entry_hash(previous: str, values) -> str:  # type: ignore[no-untyped-def]
    encoded = json.dumps(["resident", *(_plain(v) for v in values)], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(previous.encode("ascii") + b"\n" + encoded.encode("utf-8")).hexdigest()


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "resident_entries",
        sa.Column("seq", sa.BigInteger(), autoincrement=False),
        sa.Column("resident_id", BigId, nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("nik", sa.String(16), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kecamatan", sa.String(8), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(1), nullable=False),
        sa.Column("had_ektp", sa.Boolean(), nullable=False),
        sa.Column("disaster_victim", sa.Boolean(), nullable=False),
        sa.Column("suket", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("chain_hash", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(["resident_id"], ["residents.id"], name=op.f("fk_resident_entries_resident_id_residents")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_resident_entries")),
    )
    op.create_index("ix_resident_entries_resident_id_seq", "resident_entries", ["resident_id", "seq"])
    _baseline(bind)
    _refuse_changes(bind.dialect.name)


# The types that read values back as the engine does (dates, times and flags as objects).
TYPES = {
    "birth_date": sa.Date(), "had_ektp": sa.Boolean(), "disaster_victim": sa.Boolean(), "suket": sa.Boolean(),
    "registered_at": sa.DateTime(), "occurred_at": sa.DateTime(),
}
_RESIDENTS = sa.table("residents", *(sa.column(name, TYPES.get(name)) for name in ("id", *DATA, "registered_at")))
_EVENTS = sa.table("events", sa.column("card_id"), sa.column("version"), sa.column("actor"))
_ENTRIES = sa.table("resident_entries", *(sa.column(name, TYPES.get(name)) for name in (*FIELDS, "chain_hash")))


def _baseline(bind) -> None:  # type: ignore[no-untyped-def]
    """A baseline entry for every resident, in id order, chained after the head."""
    last_seq, last_hash = bind.execute(sa.text("SELECT last_seq, last_hash FROM event_chain WHERE id = 1")).one()
    r, e = _RESIDENTS.c, _EVENTS.c
    query = (
        sa.select(r.id, *(r[name] for name in DATA), sa.func.coalesce(e.actor, "unknown"), r.registered_at)
        .select_from(_RESIDENTS.outerjoin(_EVENTS, sa.and_(e.card_id == r.id, e.version == 1)))
        .order_by(r.id)
        .limit(PAGE)
    )
    after = 0
    while True:
        rows = bind.execute(query.where(r.id > after)).all()
        if not rows:
            break
        entries = []
        for resident_id, *data, actor, registered_at in rows:
            last_seq += 1
            values = [last_seq, resident_id, "baseline", *data, actor, "as found when the history began to cover it", registered_at]
            last_hash = _entry_hash(last_hash, values)
            entries.append({**dict(zip(FIELDS, values)), "chain_hash": last_hash})
        bind.execute(_ENTRIES.insert(), entries)
        after = rows[-1][0]
    bind.execute(sa.text("UPDATE event_chain SET last_seq = :s, last_hash = :h WHERE id = 1"), {"s": last_seq, "h": last_hash})


def _refuse_changes(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute(
            "CREATE TRIGGER resident_entries_append_only BEFORE UPDATE OR DELETE ON resident_entries "
            "FOR EACH ROW EXECUTE FUNCTION ektp_refuse_change()"
        )
        op.execute(
            "CREATE TRIGGER resident_entries_no_truncate BEFORE TRUNCATE ON resident_entries "
            "FOR EACH STATEMENT EXECUTE FUNCTION ektp_refuse_change()"
        )
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER resident_entries_no_{action.lower()} BEFORE {action} ON resident_entries "
            f"BEGIN SELECT RAISE(ABORT, 'resident_entries is append-only: {action} refused'); END"
        )


def downgrade() -> None:
    bind = op.get_bind()
    first = bind.execute(sa.text("SELECT min(seq) FROM resident_entries")).scalar()
    last_seq = bind.execute(sa.text("SELECT last_seq FROM event_chain WHERE id = 1")).scalar()
    count = bind.execute(sa.text("SELECT count(*) FROM resident_entries")).scalar()
    if first is not None:
        if last_seq - first + 1 != count:
            raise RuntimeError(
                "the history grew after its resident entries: going back to 0007 would leave a hole in the "
                "chain; restore a backup taken at 0007 instead"
            )
        before = _row_before(bind, first)
        bind.execute(
            sa.text("UPDATE event_chain SET last_seq = :s, last_hash = :h WHERE id = 1"),
            {"s": first - 1, "h": before},
        )
    op.drop_table("resident_entries")  # its triggers and index go with it


def _row_before(bind, seq: int) -> str:  # type: ignore[no-untyped-def]
    """The hash of the event or entry at ``seq - 1`` (the genesis hash if there is none)."""
    tables = (
        ("events", "hash"), ("blank_entries", "chain_hash"), ("blank_quotas", "chain_hash"),
        ("blank_requests", "chain_hash"), ("rule_sets", "chain_hash"), ("rule_set_activations", "chain_hash"),
        ("allocation_runs", "chain_hash"),
    )
    for table, column in tables:
        found = bind.execute(sa.text(f"SELECT {column} FROM {table} WHERE seq = :s"), {"s": seq - 1}).scalar()
        if found is not None:
            return str(found)
    return "0" * 64
