"""The queue as a table the database keeps: waiting_cards.

Every card in ``deduplicated`` has one row, with what the queue rules read of its
resident. Triggers on cards and residents keep it exact whatever writes them (single
fires, bulk jobs, a migration): a card entering the state adds its row, leaving it
removes the row, and a resident's changed flags or kecamatan follow at once. Planning
then reads a kecamatan's range of this table instead of joining every card of the city.

On PostgreSQL the trigger functions run as their owner (SECURITY DEFINER) with the
search path fixed to this schema (and pg_temp last), and no role may call them
directly: the application role only reads the table, and can neither redirect the
functions to tables of its own nor attach them to its own tables.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
QUEUE_STATE = "deduplicated"
COLUMNS = "kecamatan, card_id, nik, birth_date, had_ektp, disaster_victim, suket, waiting_since"
# {lock}: on PostgreSQL the resident row is read FOR SHARE, so that a change to it by a
# concurrent transaction is either waited for and seen, or made after this row exists.
FROM_RESIDENT = (
    "SELECT r.kecamatan, r.id, r.nik, r.birth_date, r.had_ektp, r.disaster_victim, r.suket, NEW.updated_at "
    "FROM residents r WHERE r.id = NEW.id{lock}"
)
FOLLOW_RESIDENT = (
    "UPDATE waiting_cards SET kecamatan = NEW.kecamatan, nik = NEW.nik, birth_date = NEW.birth_date, "
    "had_ektp = NEW.had_ektp, disaster_victim = NEW.disaster_victim, suket = NEW.suket WHERE card_id = NEW.id"
)
RESIDENT_COLUMNS = "nik, kecamatan, birth_date, had_ektp, disaster_victim, suket"

# name: (event, condition, statement); NEW and OLD as in both dialects' row triggers.
TRIGGERS = {
    "waiting_cards_enter": (
        "UPDATE OF state ON cards",
        f"NEW.state = '{QUEUE_STATE}' AND OLD.state <> '{QUEUE_STATE}'",
        f"INSERT INTO waiting_cards ({COLUMNS}) {FROM_RESIDENT}",
    ),
    "waiting_cards_register": (
        "INSERT ON cards",
        f"NEW.state = '{QUEUE_STATE}'",
        f"INSERT INTO waiting_cards ({COLUMNS}) {FROM_RESIDENT}",
    ),
    "waiting_cards_leave": (
        "UPDATE OF state ON cards",
        f"OLD.state = '{QUEUE_STATE}' AND NEW.state <> '{QUEUE_STATE}'",
        "DELETE FROM waiting_cards WHERE card_id = OLD.id",
    ),
    "waiting_cards_since": (
        "UPDATE OF updated_at ON cards",
        f"OLD.state = '{QUEUE_STATE}' AND NEW.state = '{QUEUE_STATE}' AND NEW.updated_at <> OLD.updated_at",
        "UPDATE waiting_cards SET waiting_since = NEW.updated_at WHERE card_id = NEW.id",
    ),
    "waiting_cards_resident": (
        f"UPDATE OF {RESIDENT_COLUMNS} ON residents",
        " OR ".join(f"NEW.{c} <> OLD.{c}" for c in RESIDENT_COLUMNS.split(", ")),
        FOLLOW_RESIDENT,
    ),
}


def upgrade() -> None:
    op.create_table(
        "waiting_cards",
        sa.Column("kecamatan", sa.String(8)),
        sa.Column("card_id", BigId, autoincrement=False),
        sa.Column("nik", sa.String(16), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("had_ektp", sa.Boolean(), nullable=False),
        sa.Column("disaster_victim", sa.Boolean(), nullable=False),
        sa.Column("suket", sa.Boolean(), nullable=False),
        sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["card_id"], ["cards.id"], name=op.f("fk_waiting_cards_card_id_cards")),
        sa.PrimaryKeyConstraint("kecamatan", "card_id", name=op.f("pk_waiting_cards")),
        sa.UniqueConstraint("card_id", name=op.f("uq_waiting_cards_card_id")),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_waiting_cards_kecamatan_had_ektp", "waiting_cards", ["kecamatan", "had_ektp"])
    op.execute(
        f"INSERT INTO waiting_cards ({COLUMNS}) "
        "SELECT r.kecamatan, r.id, r.nik, r.birth_date, r.had_ektp, r.disaster_victim, r.suket, c.updated_at "
        f"FROM cards c JOIN residents r ON r.id = c.id WHERE c.state = '{QUEUE_STATE}'"
    )
    bind = op.get_bind()
    postgresql, schema = bind.dialect.name == "postgresql", ""
    if postgresql:
        # The tables' schema, then pg_temp last: a temporary table of the caller's
        # cannot stand in for them in a function that runs as its owner.
        schema = bind.dialect.identifier_preparer.quote(bind.execute(sa.text("SELECT current_schema()")).scalar())
    for name, (event, condition, statement) in TRIGGERS.items():
        if postgresql:
            op.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql "
                f"SECURITY DEFINER SET search_path = {schema}, pg_temp "
                f"AS $$ BEGIN {statement.format(lock=' FOR SHARE OF r')}; RETURN NULL; END $$"
            )
            # Firing a trigger needs no EXECUTE; without this any role could attach the
            # function to a table of its own and have it write the queue as its owner.
            op.execute(f"REVOKE EXECUTE ON FUNCTION {name}() FROM PUBLIC")
            op.execute(
                f"CREATE TRIGGER {name} AFTER {event} FOR EACH ROW WHEN ({condition}) EXECUTE FUNCTION {name}()"
            )
        else:
            op.execute(f"CREATE TRIGGER {name} AFTER {event} WHEN {condition} BEGIN {statement.format(lock='')}; END")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, (event, _, _) in TRIGGERS.items():
        table = event.rsplit(" ", 1)[1]
        if postgresql:
            op.execute(f"DROP TRIGGER {name} ON {table}")
            op.execute(f"DROP FUNCTION {name}()")
        else:
            op.execute(f"DROP TRIGGER {name}")
    op.drop_index("ix_waiting_cards_kecamatan_had_ektp", table_name="waiting_cards")
    op.drop_table("waiting_cards")
