"""The database schema as SQLAlchemy Core tables.

These tables are the model Alembic migrations are checked against; the schema itself
is only ever created or changed by the migrations in ``alembic/versions``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.types import TypeDecorator

#: The newest migration (``alembic/versions``): the schema this code reads and writes. A
#: test holds it to Alembic's head, so that opening a database needs no Alembic.
REVISION = "0007"

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always returned timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"timestamps must be timezone-aware, got {value!r}")
        utc = value.astimezone(dt.UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


residents = Table(
    "residents",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("nik", String(16), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    # The *current* kecamatan, dotted (16.71.05); may differ from the NIK's region.
    Column("kecamatan", String(8), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("sex", String(1), nullable=False),
    # True when the resident held an e-KTP before: their next card is a replacement.
    Column("had_ektp", Boolean, nullable=False),
    # Flags the 2020 circular's priority tiers read.
    Column("disaster_victim", Boolean, nullable=False, server_default=false()),
    Column("suket", Boolean, nullable=False, server_default=false()),
    Column("registered_at", UTCDateTime, nullable=False),
    CheckConstraint("sex IN ('F', 'M')", name="sex"),
)
Index("ix_residents_kecamatan", residents.c.kecamatan)

cards = Table(
    "cards",
    metadata,
    # One card per resident, sharing the resident's id.
    Column("id", BigId, ForeignKey("residents.id"), primary_key=True, autoincrement=False),
    Column("state", String(32), nullable=False),
    # Incremented by every event; the optimistic-concurrency check compares it.
    Column("version", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # The batch whose blank is reserved for this card; a card holds at most one.
    Column("blank_batch_id", BigId, ForeignKey("blank_batches.id"), nullable=True),
)
Index("ix_cards_state", cards.c.state)

events = Table(
    "events",
    metadata,
    # The global order of the history: replay and consumers follow it, never time.
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("card_id", BigId, ForeignKey("cards.id"), nullable=False),
    # The card's version after this event: 1 for its registration, then +1 each.
    Column("version", Integer, nullable=False),
    Column("trigger", String(40), nullable=False),
    Column("from_state", String(32), nullable=True),
    Column("to_state", String(32), nullable=False),
    Column("actor", Text, nullable=False),
    Column("reason", Text, nullable=True),
    # When it happened in the world (may be given by the caller) ...
    Column("occurred_at", UTCDateTime, nullable=False),
    # ... and when this system wrote it.
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("lifecycle_hash", String(64), nullable=False),
    Column("idempotency_key", Text, nullable=True, unique=True),
    # The rule set that decided, for events an allocation made ...
    Column("rule_set_version", Integer, nullable=True),
    # ... and the run (allocation, bulk job) the event belongs to.
    Column("batch_id", Text, nullable=True),
    # SHA-256 over the previous event's hash and this event's canonical encoding
    # (see chain.py): any edited, deleted, inserted or reordered row breaks it.
    Column("hash", String(64), nullable=False),
    UniqueConstraint("card_id", "version"),
)

# The head of the event chain: one row. Appending events locks it, which orders
# writers, so sequence numbers are gapless and commit in order (a feed reading
# "after seq N" never skips an event that commits later with a lower number).
event_chain = Table(
    "event_chain",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("last_hash", String(64), nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)

# Every lifecycle definition events were written under, by its hash: replay
# folds each event through the table it was written with.
lifecycles = Table(
    "lifecycles",
    metadata,
    Column("hash", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("definition", Text, nullable=False),
    Column("first_used_at", UTCDateTime, nullable=False),
)

blank_batches = Table(
    "blank_batches",
    metadata,
    Column("id", BigId, primary_key=True),
    # The shipment's reference, e.g. the Kemendagri delivery note.
    Column("reference", Text, nullable=False, unique=True),
    Column("received", Integer, nullable=False),
    Column("undistributed", Integer, nullable=False),
    Column("received_on", Date, nullable=False),
    # The request to the centre the shipment answers (``blank_requests.reference``), if any.
    Column("request", Text, nullable=True),
    CheckConstraint("received > 0", name="received_positive"),
    CheckConstraint("undistributed >= 0 AND undistributed <= received", name="undistributed_range"),
)

# Balances per batch and kecamatan, updated with every entry (see ledger.py).
blank_stock = Table(
    "blank_stock",
    metadata,
    Column("batch_id", BigId, ForeignKey("blank_batches.id"), primary_key=True, autoincrement=False),
    Column("kecamatan", String(8), primary_key=True),
    Column("unallocated", Integer, nullable=False),
    Column("reserved", Integer, nullable=False),
    Column("consumed", Integer, nullable=False),
    Column("spoiled", Integer, nullable=False),
    CheckConstraint(
        "unallocated >= 0 AND reserved >= 0 AND consumed >= 0 AND spoiled >= 0",
        name="not_negative",
    ),
)

# The ledger's entries are chained with the events (see chain.py): ``seq`` is the entry's
# place in the one sequence of the history, ``chain_hash`` its link. So are rule sets,
# their activations and allocation runs (``HISTORY``).
blank_entries = Table(
    "blank_entries",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=False),
    Column("batch_id", BigId, ForeignKey("blank_batches.id"), nullable=False),
    # None while the blanks are at the city, before distribution.
    Column("kecamatan", String(8), nullable=True),
    Column("movement", String(16), nullable=False),
    Column("quantity", Integer, nullable=False),
    # For reserved/released/consumed: the card and the version its event gave it.
    Column("card_id", BigId, ForeignKey("cards.id"), nullable=True),
    Column("card_version", Integer, nullable=True),
    Column("actor", Text, nullable=False),
    Column("reason", Text, nullable=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    # Filled by the writer, always (a missing hash fails verify).
    Column("chain_hash", String(64), nullable=True),
    # For a loan (lent, borrowed): the other kabupaten/kota and its document's reference.
    Column("counterpart", String(5), nullable=True),
    Column("counterpart_reference", Text, nullable=True),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    CheckConstraint(
        "movement IN ('received', 'distributed', 'reserved', 'released', 'consumed', 'spoiled', 'lent', 'borrowed')",
        name="movement",
    ),
)
Index("ix_blank_entries_card_id", blank_entries.c.card_id)

# The centre's quota of blanks a month (the latest entry for a month is in force), chained.
blank_quotas = Table(
    "blank_quotas",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    # The month, ``2026-12``.
    Column("month", String(7), nullable=False),
    Column("quantity", Integer, nullable=False),
    # The circular or letter that sets it.
    Column("reference", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("reason", Text, nullable=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("chain_hash", String(64), nullable=True),
    CheckConstraint("quantity >= 0", name="quantity_not_negative"),
)

# The city's requests for blanks to the centre, with the figures they were computed
# from (see _services/stock_request.py), chained.
blank_requests = Table(
    "blank_requests",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    # The request letter's reference.
    Column("reference", Text, nullable=False, unique=True),
    # The kabupaten/kota asking (``16.71``); None if its residents live in several.
    Column("region", String(5), nullable=True),
    # The months of need it covers, counted as 30 days each.
    Column("months", Integer, nullable=False),
    Column("waiting_first_time", Integer, nullable=False),
    Column("waiting_replacement", Integer, nullable=False),
    Column("in_prr", Integer, nullable=False),
    # Cards that left PRR for printing in the last ``window_days`` days: the measured rate.
    Column("left_prr", Integer, nullable=False),
    Column("window_days", Integer, nullable=False),
    Column("expected_from_prr", Integer, nullable=False),
    # The ledger's blanks consumed by printing and spoiled so far: the spoilage rate.
    Column("consumed", Integer, nullable=False),
    Column("spoiled", Integer, nullable=False),
    Column("needed", Integer, nullable=False),
    # Blanks not reserved for anyone, at the city and the kecamatan.
    Column("on_hand", Integer, nullable=False),
    # Blanks asked for by earlier requests and not received yet.
    Column("outstanding", Integer, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("actor", Text, nullable=False),
    Column("reason", Text, nullable=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("chain_hash", String(64), nullable=True),
    CheckConstraint("quantity >= 0", name="quantity_not_negative"),
)

# Immutable versions of the allocation rules, as operators wrote them.
rule_sets = Table(
    "rule_sets",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("name", Text, nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
    Column("text", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("seq", BigInteger, nullable=True),
    Column("chain_hash", String(64), nullable=True),
)
Index("uq_rule_sets_seq", rule_sets.c.seq, unique=True)

# Which version is active: the latest activation wins. Append-only.
rule_set_activations = Table(
    "rule_set_activations",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=False),
    Column("version", Integer, ForeignKey("rule_sets.version"), nullable=False),
    Column("action", String(16), nullable=False),
    Column("actor", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("chain_hash", String(64), nullable=True),
    CheckConstraint("action IN ('apply', 'rollback')", name="action"),
)

# What each allocation run decided from: kept so an auditor can re-run it exactly.
allocation_runs = Table(
    "allocation_runs",
    metadata,
    Column("run_id", String(40), primary_key=True),
    Column("rule_set_version", Integer, ForeignKey("rule_sets.version"), nullable=False),
    Column("day", Date, nullable=False),
    Column("kecamatan", String(8), nullable=True),
    Column("actor", Text, nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    # SHA-256 of what the run saw (its rows in allocation_stock and allocation_queue), so
    # that the chain covers the recorded inputs too.
    Column("inputs_hash", String(64), nullable=True),
    Column("seq", BigInteger, nullable=True),
    Column("chain_hash", String(64), nullable=True),
)
Index("uq_allocation_runs_seq", allocation_runs.c.seq, unique=True)

allocation_stock = Table(
    "allocation_stock",
    metadata,
    Column("run_id", String(40), ForeignKey("allocation_runs.run_id"), primary_key=True),
    Column("kecamatan", String(8), primary_key=True),
    Column("blanks", Integer, nullable=False),
    Column("waiting", Integer, nullable=False),
)

# The queue as the planner saw it, for the kecamatan that had blanks to give.
allocation_queue = Table(
    "allocation_queue",
    metadata,
    Column("run_id", String(40), ForeignKey("allocation_runs.run_id"), primary_key=True),
    Column("card_id", BigId, ForeignKey("cards.id"), primary_key=True, autoincrement=False),
    Column("kecamatan", String(8), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("had_ektp", Boolean, nullable=False),
    Column("disaster_victim", Boolean, nullable=False),
    Column("suket", Boolean, nullable=False),
    Column("waiting_since", UTCDateTime, nullable=False),
)

# The queue: every card waiting for a blank (in ``deduplicated``), with what the queue
# rules read of its resident. The database keeps it, by triggers on cards and residents
# (migration 0006), so that planning reads one kecamatan's range instead of joining
# every card of the city; no role writes it. On SQLite its rows are stored in
# kecamatan order (WITHOUT ROWID). A migration that rebuilds cards or residents
# (SQLite batch mode) drops the triggers and must create them again.
waiting_cards = Table(
    "waiting_cards",
    metadata,
    Column("kecamatan", String(8), primary_key=True),
    Column("card_id", BigId, ForeignKey("cards.id"), primary_key=True, autoincrement=False),
    Column("nik", String(16), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("had_ektp", Boolean, nullable=False),
    Column("disaster_victim", Boolean, nullable=False),
    Column("suket", Boolean, nullable=False),
    Column("waiting_since", UTCDateTime, nullable=False),
    UniqueConstraint("card_id"),
    sqlite_with_rowid=False,
)
Index("ix_waiting_cards_kecamatan_had_ektp", waiting_cards.c.kecamatan, waiting_cards.c.had_ektp)

# Bulk jobs, so that one interrupted by a crash or Ctrl-C resumes where it stopped.
bulk_jobs = Table(
    "bulk_jobs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("trigger", String(40), nullable=False),
    # What the job selects, as JSON: a state (and kecamatan, limit) or a file's hash.
    Column("selection", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("applied", Integer, nullable=False),
    CheckConstraint("status IN ('running', 'completed')", name="status"),
)
Index("ix_events_batch_id", events.c.batch_id)

#: Tables the database itself keeps append-only (triggers refuse UPDATE, DELETE, TRUNCATE).
APPEND_ONLY = (
    "blank_quotas",
    "blank_requests",
    "events",
    "blank_entries",
    "rule_sets",
    "rule_set_activations",
    "allocation_runs",
    "allocation_stock",
    "allocation_queue",
    "lifecycles",
)

#: Tables only the database's triggers write: roles may read them.
DERIVED = ("waiting_cards",)
