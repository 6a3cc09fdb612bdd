"""The database schema as SQLAlchemy Core tables.

These tables are the model Alembic migrations are checked against; the schema itself
is only ever created or changed by the migrations in ``alembic/versions``.
"""

from .allocation import (
    allocation_queue,
    allocation_runs,
    allocation_stock,
    bulk_jobs,
    rule_set_activations,
    rule_sets,
    waiting_cards,
)
from .base import REVISION, BigId, UTCDateTime, metadata
from .people import (
    REPLACEMENT_CATEGORIES,
    cards,
    event_chain,
    events,
    lifecycles,
    replacements,
    resident_entries,
    residents,
)
from .stock import blank_batches, blank_entries, blank_quotas, blank_requests, blank_stock

#: Tables the database itself keeps append-only (triggers refuse UPDATE, DELETE, TRUNCATE).
APPEND_ONLY = (
    "resident_entries",
    "replacements",
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

__all__ = [
    "APPEND_ONLY",
    "DERIVED",
    "REPLACEMENT_CATEGORIES",
    "REVISION",
    "BigId",
    "UTCDateTime",
    "allocation_queue",
    "allocation_runs",
    "allocation_stock",
    "blank_batches",
    "blank_entries",
    "blank_quotas",
    "blank_requests",
    "blank_stock",
    "bulk_jobs",
    "cards",
    "event_chain",
    "events",
    "lifecycles",
    "metadata",
    "replacements",
    "resident_entries",
    "residents",
    "rule_set_activations",
    "rule_sets",
    "waiting_cards",
]
