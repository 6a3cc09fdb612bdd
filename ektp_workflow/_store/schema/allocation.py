"""Rule sets and their activations, allocation runs and what they saw, the queue, bulk jobs."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from .base import BigId, UTCDateTime, metadata
from .people import events

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
    Column("replacement", String(16), nullable=True),
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
    # The card's replacement category (``cards.replacement``), None for a first card.
    Column("replacement", String(16), nullable=True),
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
