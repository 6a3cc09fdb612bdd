"""Lists and search: residents.name_key, and residents indexed by kecamatan and NIK.

``name_key`` is the name as names are searched (accents taken off, case folded,
spaces collapsed: ``text.search_key``), so that a search by part of a name reads one
column instead of normalising every name; replay checks it against the name. The
index on residents' kecamatan becomes one on kecamatan and NIK, so that a kecamatan's
cards are listed in NIK order from the index.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

PAGE = 5000


def _search_key(value: str) -> str:
    """A copy of text.search_key as of this revision."""
    decomposed = unicodedata.normalize("NFKD", value)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c) and unicodedata.category(c) != "Cf")
    return " ".join(plain.casefold().replace("\u0131", "i").split())


_RESIDENTS = sa.table("residents", sa.column("id"), sa.column("name"), sa.column("name_key"))


def upgrade() -> None:
    # A plain ADD COLUMN (no table rebuild on SQLite: the queue's triggers stay).
    op.add_column("residents", sa.Column("name_key", sa.Text(), nullable=False, server_default=""))
    bind = op.get_bind()
    r = _RESIDENTS.c
    query = sa.select(r.id, r.name).order_by(r.id).limit(PAGE)
    update = _RESIDENTS.update().where(r.id == sa.bindparam("rid")).values(name_key=sa.bindparam("key"))
    after = 0
    while rows := bind.execute(query.where(r.id > after)).all():
        bind.execute(update, [{"rid": i, "key": _search_key(name)} for i, name in rows])
        after = rows[-1][0]
    op.drop_index("ix_residents_kecamatan", table_name="residents")
    op.create_index("ix_residents_kecamatan_nik", "residents", ["kecamatan", "nik"])


def downgrade() -> None:
    op.drop_index("ix_residents_kecamatan_nik", table_name="residents")
    op.create_index("ix_residents_kecamatan", "residents", ["kecamatan"])
    # ALTER TABLE ... DROP COLUMN on both (SQLite 3.35 and later): no rebuild, the triggers stay.
    op.execute("ALTER TABLE residents DROP COLUMN name_key")
