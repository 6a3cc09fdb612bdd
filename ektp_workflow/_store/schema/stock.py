"""The blank stock: batches, balances, the ledger's entries, quotas and requests."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from .base import BigId, UTCDateTime, metadata

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

#: Every movement of blanks a ledger entry can record (see ``ledger``).
MOVEMENTS = (
    "received",
    "distributed",
    "reserved",
    "released",
    "consumed",
    "spoiled",
    "lent",
    "borrowed",
    "misprinted",
    "voided",
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
    # For reserved/released/consumed/misprinted/voided: the card and the version its event gave it.
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
        f"movement IN ({', '.join(repr(m) for m in MOVEMENTS)})",
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
