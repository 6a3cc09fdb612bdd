"""Reprints: a card keeps its place in the queue, and its spoiled blank is on the ledger.

``cards.queued_at`` is when the card last joined the queue (``deduplicated``) by an
edge that does not keep its place (``keeps_place`` in the lifecycle): the queue's
``waiting_since`` is copied from it instead of from the card's last event time, so
that a card whose blank was spoiled in printing waits again where it stood. It is
filled as the queue had it: a waiting card's last event time, any other card's last
event into the queue (no earlier edge kept a place). The ledger gains two movements of a card's own blank:
``misprinted`` (reserved -> spoiled) and ``voided`` (consumed -> spoiled, the print
is void). SQLite cannot change a CHECK constraint in place: the ledger's table (which
no other refers to) is made again, its rows copied and its append-only triggers
made again.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
QUEUE_STATE = "deduplicated"
OLD_MOVEMENTS = ("received", "distributed", "reserved", "released", "consumed", "spoiled", "lent", "borrowed")
MOVEMENTS = (*OLD_MOVEMENTS, "misprinted", "voided")
COLUMNS = "kecamatan, card_id, nik, birth_date, had_ektp, disaster_victim, suket, waiting_since"
FROM_RESIDENT = (
    "SELECT r.kecamatan, r.id, r.nik, r.birth_date, r.had_ektp, r.disaster_victim, r.suket, NEW.{since} "
    "FROM residents r WHERE r.id = NEW.id{lock}"
)


def _triggers(since: str) -> dict[str, tuple[str, str, str]]:
    """The queue's triggers on cards (revision 0006's), copying ``waiting_since`` from the
    card's column ``since``."""
    resident = FROM_RESIDENT.replace("{since}", since)
    return {
        "waiting_cards_enter": (
            "UPDATE OF state ON cards",
            f"NEW.state = '{QUEUE_STATE}' AND OLD.state <> '{QUEUE_STATE}'",
            f"INSERT INTO waiting_cards ({COLUMNS}) {resident}",
        ),
        "waiting_cards_register": (
            "INSERT ON cards",
            f"NEW.state = '{QUEUE_STATE}'",
            f"INSERT INTO waiting_cards ({COLUMNS}) {resident}",
        ),
        "waiting_cards_since": (
            f"UPDATE OF {since} ON cards",
            f"OLD.state = '{QUEUE_STATE}' AND NEW.state = '{QUEUE_STATE}' AND NEW.{since} <> OLD.{since}",
            f"UPDATE waiting_cards SET waiting_since = NEW.{since} WHERE card_id = NEW.id",
        ),
    }


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column("cards", sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True))
    # A card waiting joined at its last event (as its queue row says); any other at its
    # last event into the queue, if it ever was there.
    op.execute(
        f"UPDATE cards SET queued_at = CASE WHEN state = '{QUEUE_STATE}' THEN updated_at ELSE "
        f"(SELECT max(e.occurred_at) FROM events e WHERE e.card_id = cards.id AND e.to_state = '{QUEUE_STATE}') END"
    )
    _replace_triggers(bind, _triggers("updated_at"), _triggers("queued_at"))
    op.execute(
        "UPDATE waiting_cards SET waiting_since = (SELECT c.queued_at FROM cards c WHERE c.id = waiting_cards.card_id)"
    )
    _ledger_movements(bind, MOVEMENTS)


def downgrade() -> None:
    bind = op.get_bind()
    used = bind.execute(
        sa.text("SELECT count(*) FROM blank_entries WHERE movement IN ('misprinted', 'voided')")
    ).scalar()
    if used:
        raise RuntimeError(
            f"{used} ledger entries record a card's spoiled blank, which revision 0010 cannot hold: "
            "restore a backup taken before 0011 instead"
        )
    # Events written since hold a lifecycle with edges that keep a card's place, which the
    # code of revision 0010 cannot read: its replay would refuse them.
    read = bind.execute(sa.text("SELECT count(*) FROM lifecycles WHERE definition LIKE '%keeps_place%'")).scalar()
    if read:
        raise RuntimeError(
            "events were written under a lifecycle whose edges keep a card's place in the queue, which "
            "revision 0010 cannot read: restore a backup taken before 0011 instead"
        )
    _ledger_movements(bind, OLD_MOVEMENTS)
    _replace_triggers(bind, _triggers("queued_at"), _triggers("updated_at"))
    op.execute(
        "UPDATE waiting_cards SET waiting_since = (SELECT c.updated_at FROM cards c WHERE c.id = waiting_cards.card_id)"
    )
    op.drop_column("cards", "queued_at")


def _replace_triggers(bind, old: dict, new: dict) -> None:  # type: ignore[no-untyped-def,type-arg]
    postgresql, schema = bind.dialect.name == "postgresql", ""
    if postgresql:
        schema = bind.dialect.identifier_preparer.quote(bind.execute(sa.text("SELECT current_schema()")).scalar())
    for name, (event, _, _) in old.items():
        if postgresql:
            op.execute(f"DROP TRIGGER {name} ON cards")
            op.execute(f"DROP FUNCTION {name}()")
        else:
            op.execute(f"DROP TRIGGER {name}")
    for name, (event, condition, statement) in new.items():
        if postgresql:
            op.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql "
                f"SECURITY DEFINER SET search_path = {schema}, pg_temp "
                f"AS $$ BEGIN {statement.format(lock=' FOR SHARE OF r')}; RETURN NULL; END $$"
            )
            op.execute(f"REVOKE EXECUTE ON FUNCTION {name}() FROM PUBLIC")
            op.execute(
                f"CREATE TRIGGER {name} AFTER {event} FOR EACH ROW WHEN ({condition}) EXECUTE FUNCTION {name}()"
            )
        else:
            op.execute(f"CREATE TRIGGER {name} AFTER {event} WHEN {condition} BEGIN {statement.format(lock='')}; END")


def _ledger_movements(bind, movements: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    check = f"movement IN ({', '.join(repr(m) for m in movements)})"
    if bind.dialect.name == "postgresql":
        op.drop_constraint(op.f("ck_blank_entries_movement"), "blank_entries", type_="check")
        op.create_check_constraint(op.f("ck_blank_entries_movement"), "blank_entries", check)
        return
    columns = (
        "seq, batch_id, kecamatan, movement, quantity, card_id, card_version, actor, reason, occurred_at, "
        "chain_hash, counterpart, counterpart_reference"
    )
    op.create_table(
        "blank_entries_new",
        sa.Column("seq", BigId, autoincrement=False),
        sa.Column("batch_id", BigId, nullable=False),
        sa.Column("kecamatan", sa.String(8), nullable=True),
        sa.Column("movement", sa.String(16), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("card_id", BigId, nullable=True),
        sa.Column("card_version", sa.Integer(), nullable=True),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("chain_hash", sa.String(64), nullable=True),
        sa.Column("counterpart", sa.String(5), nullable=True),
        sa.Column("counterpart_reference", sa.Text(), nullable=True),
        sa.CheckConstraint("quantity > 0", name="ck_blank_entries_quantity_positive"),
        sa.CheckConstraint(check, name="ck_blank_entries_movement"),
        sa.ForeignKeyConstraint(["batch_id"], ["blank_batches.id"], name="fk_blank_entries_batch_id_blank_batches"),
        sa.ForeignKeyConstraint(["card_id"], ["cards.id"], name="fk_blank_entries_card_id_cards"),
        sa.PrimaryKeyConstraint("seq", name="pk_blank_entries"),
    )
    op.execute(f"INSERT INTO blank_entries_new ({columns}) SELECT {columns} FROM blank_entries")
    op.drop_index("ix_blank_entries_card_id", "blank_entries")
    op.drop_table("blank_entries")  # its append-only triggers go with it
    op.rename_table("blank_entries_new", "blank_entries")
    op.create_index("ix_blank_entries_card_id", "blank_entries", ["card_id"])
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER blank_entries_no_{action.lower()} BEFORE {action} ON blank_entries "
            f"BEGIN SELECT RAISE(ABORT, 'blank_entries is append-only: {action} refused'); END"
        )
