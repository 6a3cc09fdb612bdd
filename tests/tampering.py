"""What an insider with full access to the database can do to the history, for tests."""

from __future__ import annotations

import sqlalchemy as sa

from ektp_workflow._store import history
from ektp_workflow._store.chain import GENESIS, chain_hash_values, entry_hash
from ektp_workflow._store.eventlog import ENTRY_TABLES
from ektp_workflow._store.schema import APPEND_ONLY


def unprotect(engine: sa.Engine, *tables: str) -> None:
    """Switch the append-only triggers of ``tables`` (default: all) off."""
    with engine.begin() as conn:
        for table in tables or APPEND_ONLY:
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            else:
                for action in ("update", "delete"):
                    conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_{action}")


def row_hashes(conn: sa.Connection) -> dict[int, str]:
    """The stored hash of every event and entry, by sequence number."""
    found = {row.seq: row.hash for row in history.hashed(conn)}
    found.update((entry.seq, entry.chain_hash) for entry in history.entries(conn))
    return found


def rewrite_chain(engine: sa.Engine) -> None:
    """Re-hash every row, events and entries, as one who knows the encoding can: the
    history is consistent in itself again, and only a kept checkpoint shows it changed."""
    with engine.begin() as conn:
        rows = [(row.seq, "event", tuple(row[:-1])) for row in history.hashed(conn)]
        rows += [(entry.seq, entry.kind, entry.values) for entry in history.entries(conn)]
        previous = GENESIS
        for seq, kind, values in sorted(rows, key=lambda r: r[0]):
            if kind == "event":
                previous = chain_hash_values(previous, values)
                conn.execute(sa.text("UPDATE events SET hash = :h WHERE seq = :s"), {"h": previous, "s": seq})
            else:
                previous = entry_hash(previous, kind, values)
                table = ENTRY_TABLES[kind].name
                conn.execute(sa.text(f"UPDATE {table} SET chain_hash = :h WHERE seq = :s"), {"h": previous, "s": seq})
        conn.execute(sa.text("UPDATE event_chain SET last_hash = :h"), {"h": previous})
