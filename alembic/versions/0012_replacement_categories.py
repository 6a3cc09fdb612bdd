"""Replacements with a reason: the replacements table, and the category beside the card.

Every ``replace`` is chained with a replacement entry: its category (lost, damaged,
data_change) and what it rests on (the police report; the old card surrendered; the
correction that changed the data). ``cards.replacement`` is the category of the last
one, and the queue (``waiting_cards``) copies it for the rules, as each allocation run
keeps it with the queue it saw (``allocation_queue``). Replacements made before this
revision have no category (None): the history did not say why. On PostgreSQL, roles
that may read or add events may do the same with replacements.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
QUEUE_STATE = "deduplicated"
OLD_COLUMNS = "kecamatan, card_id, nik, birth_date, had_ektp, disaster_victim, suket, waiting_since"
OLD_FROM = "SELECT r.kecamatan, r.id, r.nik, r.birth_date, r.had_ektp, r.disaster_victim, r.suket, NEW.queued_at"
NEW_COLUMNS = f"{OLD_COLUMNS}, replacement"
NEW_FROM = f"{OLD_FROM}, NEW.replacement"
RESIDENT = " FROM residents r WHERE r.id = NEW.id{lock}"


def _entering(columns: str, selected: str) -> dict[str, tuple[str, str, str]]:
    """The two triggers that add a card's queue row (revision 0011's, with these columns)."""
    insert = f"INSERT INTO waiting_cards ({columns}) {selected}{RESIDENT}"
    return {
        "waiting_cards_enter": (
            "UPDATE OF state ON cards",
            f"NEW.state = '{QUEUE_STATE}' AND OLD.state <> '{QUEUE_STATE}'",
            insert,
        ),
        "waiting_cards_register": ("INSERT ON cards", f"NEW.state = '{QUEUE_STATE}'", insert),
    }


# A waiting card's category changed in place (by SQL outside the engine): the row follows.
FOLLOW = {
    "waiting_cards_replacement": (
        "UPDATE OF replacement ON cards",
        f"OLD.state = '{QUEUE_STATE}' AND NEW.state = '{QUEUE_STATE}'",
        "UPDATE waiting_cards SET replacement = NEW.replacement WHERE card_id = NEW.id",
    )
}


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "replacements",
        sa.Column("seq", BigId, autoincrement=False),
        sa.Column("card_id", BigId, nullable=False),
        sa.Column("card_version", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("surrendered", sa.Boolean(), nullable=False),
        sa.Column("correction_seq", BigId, nullable=True),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("chain_hash", sa.String(64), nullable=True),
        sa.CheckConstraint(
            "category IN ('lost', 'damaged', 'data_change')", name=op.f("ck_replacements_category")
        ),
        sa.ForeignKeyConstraint(["card_id"], ["cards.id"], name=op.f("fk_replacements_card_id_cards")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_replacements")),
    )
    op.create_index("ix_replacements_card_id", "replacements", ["card_id"])
    _refuse_changes(bind.dialect.name)
    _grant_as_events(bind)
    # Plain ADD COLUMNs: no table rebuild, every trigger stays.
    op.add_column("cards", sa.Column("replacement", sa.String(16), nullable=True))
    op.add_column("waiting_cards", sa.Column("replacement", sa.String(16), nullable=True))
    op.add_column("allocation_queue", sa.Column("replacement", sa.String(16), nullable=True))
    _replace_triggers(bind, _entering(OLD_COLUMNS, OLD_FROM), {**_entering(NEW_COLUMNS, NEW_FROM), **FOLLOW})


def downgrade() -> None:
    bind = op.get_bind()
    made = bind.execute(sa.text("SELECT count(*) FROM replacements")).scalar()
    if made:
        raise RuntimeError(
            f"{made} replacements are chained with the events: going back to 0011 would break the chain; "
            "restore a backup taken before 0012 instead"
        )
    using = bind.execute(sa.text("SELECT count(*) FROM rule_sets WHERE text LIKE '%replacement_reason%'")).scalar()
    if using:
        raise RuntimeError(
            f"{using} stored rule sets use the rule replacement_reason, which the code of revision 0011 does "
            "not know (it could neither allocate nor roll back): restore a backup taken before 0012 instead"
        )
    _replace_triggers(bind, {**_entering(NEW_COLUMNS, NEW_FROM), **FOLLOW}, _entering(OLD_COLUMNS, OLD_FROM))
    for table in ("allocation_queue", "waiting_cards", "cards"):
        if bind.dialect.name == "postgresql":
            op.drop_column(table, "replacement")
        else:  # a plain DROP COLUMN keeps the triggers (alembic's batch mode would rebuild the table)
            op.execute(f"ALTER TABLE {table} DROP COLUMN replacement")
    op.drop_table("replacements")  # its triggers and index go with it


def _grant_as_events(bind) -> None:  # type: ignore[no-untyped-def]
    """On PostgreSQL, a role that may read or add events (the application's, an
    auditor's: ``ektp db grant-app``, ``grant-auditor``) may do the same with
    replacements, so that an upgrade does not lock the running application out of them."""
    if bind.dialect.name != "postgresql":
        return
    grants = bind.execute(
        sa.text(
            "SELECT DISTINCT grantee, privilege_type FROM information_schema.role_table_grants "
            "WHERE table_schema = current_schema() AND table_name = 'events' "
            "AND privilege_type IN ('SELECT', 'INSERT') AND grantee <> current_user"
        )
    ).all()
    quote = bind.dialect.identifier_preparer.quote
    for grantee, privilege in grants:
        op.execute(f"GRANT {privilege} ON replacements TO {quote(grantee)}")


def _refuse_changes(dialect: str) -> None:
    """Append-only, as every table of the history (revision 0007's triggers)."""
    if dialect == "postgresql":
        op.execute(
            "CREATE TRIGGER replacements_append_only BEFORE UPDATE OR DELETE ON replacements "
            "FOR EACH ROW EXECUTE FUNCTION ektp_refuse_change()"
        )
        op.execute(
            "CREATE TRIGGER replacements_no_truncate BEFORE TRUNCATE ON replacements "
            "FOR EACH STATEMENT EXECUTE FUNCTION ektp_refuse_change()"
        )
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER replacements_no_{action.lower()} BEFORE {action} ON replacements "
            f"BEGIN SELECT RAISE(ABORT, 'replacements is append-only: {action} refused'); END"
        )


def _replace_triggers(bind, old: dict, new: dict) -> None:  # type: ignore[no-untyped-def,type-arg]
    postgresql, schema = bind.dialect.name == "postgresql", ""
    if postgresql:
        schema = bind.dialect.identifier_preparer.quote(bind.execute(sa.text("SELECT current_schema()")).scalar())
    for name in old:
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
