"""Residents, their data's versions, cards, the events and the chain head, lifecycles."""

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
    false,
)

from .base import BigId, UTCDateTime, metadata

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
    # The name as names are searched (``text.search_key``): derived, checked by replay.
    Column("name_key", Text, nullable=False, server_default=""),
    CheckConstraint("sex IN ('F', 'M')", name="sex"),
)
Index("ix_residents_kecamatan_nik", residents.c.kecamatan, residents.c.nik)

# Every version of a resident's data, chained with the events (see chain.py): registered,
# set by an effect (``holder``: a collected card makes the resident an e-KTP holder),
# ``corrected`` by an operator (with a reason and, if any, evidence), or found when the
# history began to cover it (``baseline``, migration 0008). The residents
# table is their projection: each row is its resident's latest entry.
resident_entries = Table(
    "resident_entries",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("resident_id", BigId, ForeignKey("residents.id"), nullable=False),
    Column("change", String(16), nullable=False),
    Column("nik", String(16), nullable=False),
    Column("name", Text, nullable=False),
    Column("kecamatan", String(8), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("sex", String(1), nullable=False),
    Column("had_ektp", Boolean, nullable=False),
    Column("disaster_victim", Boolean, nullable=False),
    Column("suket", Boolean, nullable=False),
    Column("actor", Text, nullable=False),
    Column("reason", Text, nullable=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("chain_hash", String(64), nullable=True),
    # The document a correction rests on (a KK, a court order, a birth certificate), if any.
    Column("evidence", Text, nullable=True),
)
Index("ix_resident_entries_resident_id_seq", resident_entries.c.resident_id, resident_entries.c.seq)

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
    # When it last joined the queue by an edge that does not keep its place (the time
    # its place there runs from); None until it first joins.
    Column("queued_at", UTCDateTime, nullable=True),
    # Why its resident needs a new card, from the last ``replace`` (``replacements``):
    # lost, damaged or data_change; None for a first card.
    Column("replacement", String(16), nullable=True),
)
Index("ix_cards_state", cards.c.state)

#: Why a resident who held an e-KTP needs another.
REPLACEMENT_CATEGORIES = ("lost", "damaged", "data_change")

# Every replacement, chained: its category and what it rests on, made with its
# ``replace`` event (the card and the version that event gave it).
replacements = Table(
    "replacements",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=False),
    Column("card_id", BigId, ForeignKey("cards.id"), nullable=False),
    Column("card_version", Integer, nullable=False),
    Column("category", String(16), nullable=False),
    # lost: the police report; damaged: the receipt for the surrendered card, if any.
    Column("reference", Text, nullable=True),
    # The old card was handed in (required for damaged).
    Column("surrendered", Boolean, nullable=False),
    # data_change: the correction (its resident entry's seq) that made a new card needed.
    Column("correction_seq", BigId, nullable=True),
    Column("actor", Text, nullable=False),
    Column("reason", Text, nullable=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("chain_hash", String(64), nullable=True),
    CheckConstraint(f"category IN ({', '.join(repr(c) for c in REPLACEMENT_CATEGORIES)})", name="category"),
)
Index("ix_replacements_card_id", replacements.c.card_id)

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
