"""Baselines: the same work in raw SQL through the plain driver, on the same database.

Each floor does what the engine must do at least (the same rows written, the same
rows read, the same hashing) and nothing else: no validation, no lifecycle, no ORM.
Since residents' data is chained (migration 0008), that includes a resident entry
written for each resident registered, read and hashed by verify, and folded and
compared with the residents table by replay.
"""

from __future__ import annotations

import csv
import datetime as dt
import sqlite3
import time
from typing import Any

import sqlalchemy as sa

from ektp_workflow._store.chain import ENTRY_FIELDS, GENESIS, HASHED_FIELDS, chain_hash, entry_hash

CHUNK = 2000
HASH = "0" * 64
EVENT_COLUMNS = (
    "seq",
    "card_id",
    "version",
    "trigger",
    "from_state",
    "to_state",
    "actor",
    "reason",
    "occurred_at",
    "recorded_at",
    "lifecycle_hash",
    "idempotency_key",
    "rule_set_version",
    "batch_id",
    "hash",
)


def driver(url: str) -> Any:
    """A plain DB-API connection: sqlite3 with the engine's PRAGMAs (WAL, default
    synchronous, foreign keys), or psycopg; transactions as the driver makes them."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        conn = sqlite3.connect(str(parsed.database))
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=30000"):
            conn.execute(f"PRAGMA {pragma}")
        return conn
    import psycopg

    return psycopg.connect(parsed.set(drivername="postgresql").render_as_string(hide_password=False))


def _placeholders(conn: Any, count: int) -> str:
    mark = "?" if conn.__class__.__module__.startswith("sqlite3") else "%s"
    return ", ".join([mark] * count)


def _is_pg(conn: Any) -> bool:
    return not conn.__class__.__module__.startswith("sqlite3")


def import_csv(url: str, path: str) -> tuple[int, float]:
    """CSV rows straight into residents, cards and a registration event each."""
    conn = driver(url)
    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    count = 0
    cursor = conn.cursor()
    cursor.execute("SELECT coalesce(max(id), 0) FROM residents")
    next_id = cursor.fetchone()[0] + 1
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        chunk: list[list[str]] = []
        for row in reader:
            chunk.append(row)
            if len(chunk) == CHUNK:
                next_id = _insert_people(conn, cursor, chunk, next_id, now)
                count += len(chunk)
                chunk = []
        if chunk:
            next_id = _insert_people(conn, cursor, chunk, next_id, now)
            count += len(chunk)
    conn.commit()
    return count, time.perf_counter() - started


def _insert_people(conn: Any, cursor: Any, rows: list[list[str]], next_id: int, now: dt.datetime) -> int:
    ids = range(next_id, next_id + len(rows))
    people = [(i, r[0], r[1], r[2], dt.date(1990, 1, 1), "M", r[3] == "true", now) for i, r in zip(ids, rows)]
    cursor.executemany(
        f"INSERT INTO residents (id, nik, name, kecamatan, birth_date, sex, had_ektp, registered_at) "
        f"VALUES ({_placeholders(conn, 8)})",
        people,
    )
    cursor.executemany(
        "INSERT INTO resident_entries (seq, resident_id, change, nik, name, kecamatan, birth_date, sex, had_ektp, "
        f"disaster_victim, suket, actor, reason, occurred_at, chain_hash) VALUES ({_placeholders(conn, 15)})",
        [(i, i, "registered", *p[1:7], False, False, "bench", None, now, HASH) for i, p in zip(ids, people)],
    )
    cursor.executemany(
        f"INSERT INTO cards (id, state, version, updated_at) VALUES ({_placeholders(conn, 4)})",
        [(i, "unrecorded", 1, now) for i in ids],
    )
    cursor.executemany(
        f"INSERT INTO events (seq, card_id, version, trigger, from_state, to_state, actor, reason, occurred_at, "
        f"recorded_at, lifecycle_hash, hash) VALUES ({_placeholders(conn, 12)})",
        [(i, i, 1, "register", None, "unrecorded", "bench", None, now, now, HASH, HASH) for i in ids],
    )
    return next_id + len(rows)


def bulk_update(url: str, source: str, dest: str, trigger: str) -> tuple[int, float]:
    """Per chunk: one UPDATE of the cards and their events inserted (COPY on PostgreSQL)."""
    conn = driver(url)
    cursor = conn.cursor()
    now = dt.datetime.now(dt.UTC)
    started, moved, after = time.perf_counter(), 0, 0
    cursor.execute("SELECT coalesce(max(seq), 0) FROM events")
    seq = cursor.fetchone()[0]
    while True:
        cursor.execute(
            f"SELECT id, version FROM cards WHERE state = {_placeholders(conn, 1)} AND id > {_placeholders(conn, 1)} "
            f"ORDER BY id LIMIT {CHUNK}",
            (source, after),
        )
        rows = cursor.fetchall()
        if not rows:
            break
        ids = [r[0] for r in rows]
        cursor.execute(
            f"UPDATE cards SET state = {_placeholders(conn, 1)}, version = version + 1, updated_at = "
            f"{_placeholders(conn, 1)} WHERE id IN ({_placeholders(conn, len(ids))})",
            (dest, now, *ids),
        )
        events = []
        for card_id, version in rows:
            seq += 1
            events.append(
                (
                    seq,
                    card_id,
                    version + 1,
                    trigger,
                    source,
                    dest,
                    "bench",
                    None,
                    now,
                    now,
                    HASH,
                    None,
                    None,
                    None,
                    HASH,
                )
            )
        _insert_events(conn, cursor, events)
        conn.commit()
        moved += len(rows)
        after = ids[-1]
    return moved, time.perf_counter() - started


def _insert_events(conn: Any, cursor: Any, events: list[tuple[Any, ...]]) -> None:
    if _is_pg(conn):
        with cursor.copy(f"COPY events ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
            for row in events:
                copy.write_row(row)
        return
    cursor.executemany(f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({_placeholders(conn, 15)})", events)


def single_commits(url: str, source: str, dest: str, trigger: str, count: int) -> tuple[int, float]:
    """One card per durable transaction: UPDATE the card, INSERT its event, COMMIT.

    The cards are those ``Workflow.cards(state=source, limit=count)`` lists, in its
    (NIK) order, so that both sides write the same pages in the same order.
    """
    conn = driver(url)
    cursor = conn.cursor()
    cursor.execute(
        "SELECT cards.id, cards.version FROM cards JOIN residents ON residents.id = cards.id "
        f"WHERE cards.state = {_placeholders(conn, 1)} ORDER BY residents.nik LIMIT {count}",
        (source,),
    )
    rows = cursor.fetchall()
    cursor.execute("SELECT coalesce(max(seq), 0) FROM events")
    seq = cursor.fetchone()[0]
    conn.commit()
    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    for card_id, version in rows:
        seq += 1
        cursor.execute(
            f"UPDATE cards SET state = {_placeholders(conn, 1)}, version = version + 1, updated_at = "
            f"{_placeholders(conn, 1)} WHERE id = {_placeholders(conn, 1)} AND version = {_placeholders(conn, 1)}",
            (dest, now, card_id, version),
        )
        cursor.execute(
            f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({_placeholders(conn, 15)})",
            (seq, card_id, version + 1, trigger, source, dest, "bench", None, now, now, HASH, None, None, None, HASH),
        )
        conn.commit()
    return len(rows), time.perf_counter() - started


_ENTRY = ENTRY_FIELDS["resident"]


def read_and_hash(url: str) -> tuple[int, float]:
    """A sequential read of the whole event table and of the residents' entries, hashing
    each row as verify does; the count is of events."""
    conn = driver(url)
    cursor = conn.cursor()
    started = time.perf_counter()
    cursor.execute(f"SELECT {', '.join(HASHED_FIELDS)} FROM events ORDER BY seq")
    previous, count = GENESIS, 0
    while rows := cursor.fetchmany(5000):
        for row in rows:
            previous = chain_hash(previous, dict(zip(HASHED_FIELDS, row)))
            count += 1
    cursor.execute(f"SELECT {', '.join(_ENTRY)} FROM resident_entries ORDER BY seq")
    while rows := cursor.fetchmany(5000):
        for row in rows:
            previous = entry_hash(previous, "resident", row)
    conn.rollback()
    return count, time.perf_counter() - started


_DATA = ("nik", "name", "kecamatan", "birth_date", "sex", "had_ektp", "disaster_victim", "suket")


def read_and_fold(url: str) -> tuple[int, float]:
    """A sequential read of the event table, folding each card's latest state, compared
    with the cards table; and of the residents' entries, folding each resident's latest
    data, compared with the residents table. The count is of events."""
    conn = driver(url)
    cursor = conn.cursor()
    started = time.perf_counter()
    cursor.execute("SELECT seq, card_id, version, to_state FROM events ORDER BY seq")
    states: dict[int, tuple[str, int]] = {}
    count = 0
    while rows := cursor.fetchmany(5000):
        for _, card_id, version, state in rows:
            states[card_id] = (state, version)
            count += 1
    cursor.execute("SELECT id, state, version FROM cards ORDER BY id")
    differ = 0
    while rows := cursor.fetchmany(5000):
        for card_id, state, version in rows:
            differ += states.get(card_id) != (state, version)
    cursor.execute(f"SELECT resident_id, {', '.join(_DATA)} FROM resident_entries ORDER BY seq")
    data: dict[int, tuple[Any, ...]] = {}
    while rows := cursor.fetchmany(5000):
        for row in rows:
            data[row[0]] = tuple(row[1:])
    cursor.execute(f"SELECT id, {', '.join(_DATA)} FROM residents ORDER BY id")
    while rows := cursor.fetchmany(5000):
        for row in rows:
            differ += data.get(row[0]) != tuple(row[1:])
    conn.rollback()
    assert differ == 0, f"{differ} projections differ from the history"
    return count, time.perf_counter() - started
